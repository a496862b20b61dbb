//! Tencent BM load balancer legacy API v2 (`/v2/index.php`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::Api;

pub async fn handle(State(_api): State<Arc<Api>>, _req: Request) -> Response {
    (StatusCode::OK, "{}").into_response()
}
