//! Test support: an `Api` over a temporary SQLite store, for the unit tests of every module.

use std::sync::Arc;

use crate::{Api, ApiConfig};

/// A fresh `Api` over its own store (kept alive by the returned directory) and no edge health.
pub(crate) async fn temp_api(cfg: ApiConfig) -> (Arc<Api>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        onramp_store_sql::SqlStore::sqlite(&dir.path().join("db"))
            .await
            .unwrap(),
    );
    let control = onramp_control::Control::open(store).await.unwrap();
    let api = Api::new(control, Arc::new(onramp_core::health::NoHealth), cfg);
    (api, dir)
}
