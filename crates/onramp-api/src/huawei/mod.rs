//! Huawei Cloud GA v1 (`/v1/…`), SDK-HMAC-SHA256 signed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::Api;

pub async fn handle(State(_api): State<Arc<Api>>, _req: Request) -> Response {
    not_found().await
}

pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}
