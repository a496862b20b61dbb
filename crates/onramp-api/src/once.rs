//! A signed write runs once: the first request with a given (account, signature) runs and its
//! answer is kept; a repeat inside the signature's validity window gets that same answer
//! (same body, same RequestId) and changes nothing. A repeat that arrives while the first is
//! still running waits for it.
//!
//! Only TC3 and Huawei signatures need this (they carry no nonce); v1/v2 requests are refused
//! on a reused nonce instead.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::response::Parts;
use onramp_auth::once::Seen;
use tokio::sync::watch;

use crate::{now_secs, Api};

/// A kept answer.
#[derive(Debug)]
pub struct Kept {
    parts: Parts,
    body: Bytes,
}

impl Kept {
    fn response(&self) -> Response {
        let mut parts = self.parts.clone();
        parts.extensions = Default::default();
        Response::from_parts(parts, Body::from(self.body.clone()))
    }
}

/// What the memory holds per signed write: filled when the first execution ends.
pub type Slot = watch::Receiver<Option<Arc<Kept>>>;

/// The first execution of a signed write; `finish` keeps its answer. Dropped unfinished
/// (the request was cancelled), it forgets the write so a retry runs.
pub struct First<'a> {
    api: &'a Api,
    account: String,
    signature: String,
    tx: Option<watch::Sender<Option<Arc<Kept>>>>,
}

impl First<'_> {
    /// Answer `resp` to the repeats waiting now and, when `keep` (the write was carried out), to
    /// every repeat inside the window. A refused write is forgotten: it changed nothing, so the
    /// same request may run again (a client that fixes the cause and retries at once).
    pub async fn finish(mut self, resp: Response, keep: bool) -> Response {
        let (parts, body) = resp.into_parts();
        // Our answers are built from whole buffers: collecting them does not wait.
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let kept = Arc::new(Kept { parts, body });
        if let Some(tx) = self.tx.take() {
            tx.send_replace(Some(kept.clone()));
        }
        if !keep {
            self.api.forget_signed(&self.account, &self.signature);
        }
        kept.response()
    }
}

impl Drop for First<'_> {
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.api.forget_signed(&self.account, &self.signature);
        }
    }
}

/// Run-or-repeat decision for a signed write.
pub enum Once<'a> {
    First(First<'a>),
    Repeat(Response),
}

impl Api {
    /// Decide whether the write signed with `signature` at `timestamp` runs now or repeats.
    pub async fn once(&self, account: &str, signature: &str, timestamp: i64) -> Once<'_> {
        loop {
            let (tx, rx) = watch::channel(None);
            let seen = self.signed.lock().unwrap_or_else(|p| p.into_inner()).check(
                account,
                signature,
                timestamp,
                now_secs(),
                || rx,
            );
            let mut slot = match seen {
                Seen::First => {
                    return Once::First(First {
                        api: self,
                        account: account.to_string(),
                        signature: signature.to_string(),
                        tx: Some(tx),
                    })
                }
                Seen::Repeat(slot) => slot,
            };
            let waited = slot.wait_for(Option::is_some).await.map(|k| k.clone());
            match waited {
                Ok(Some(kept)) => return Once::Repeat(kept.response()),
                // The first was cancelled before it answered: it forgot the write; try again.
                _ => continue,
            }
        }
    }

    fn forget_signed(&self, account: &str, signature: &str) {
        self.signed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget(account, signature);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn api() -> (Arc<Api>, tempfile::TempDir) {
        crate::test_support::temp_api(crate::ApiConfig::default()).await
    }

    fn answer(text: &'static str) -> Response {
        Response::builder()
            .header("x-kept", text)
            .body(Body::from(text))
            .unwrap()
    }

    async fn text(resp: Response) -> (String, String) {
        let h = resp.headers()["x-kept"].to_str().unwrap().to_string();
        let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (h, String::from_utf8(b.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_repeat_waits_for_the_first_answer() {
        let (api, _dir) = api().await;
        let ts = now_secs();
        let Once::First(first) = api.once("acct", "sig", ts).await else {
            panic!("the first request must run");
        };
        let api2 = api.clone();
        let repeat = tokio::spawn(async move {
            match api2.once("acct", "sig", ts).await {
                Once::Repeat(r) => text(r).await,
                Once::First(_) => panic!("a repeat must not run"),
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!repeat.is_finished(), "the repeat must wait for the first");
        let resp = first.finish(answer("one"), true).await;
        assert_eq!(text(resp).await, ("one".into(), "one".into()));
        assert_eq!(repeat.await.unwrap(), ("one".into(), "one".into()));
        // Another account with the same signature runs on its own.
        assert!(matches!(api.once("other", "sig", ts).await, Once::First(_)));
    }

    #[tokio::test]
    async fn a_cancelled_first_lets_the_retry_run() {
        let (api, _dir) = api().await;
        let ts = now_secs();
        let Once::First(first) = api.once("acct", "sig", ts).await else {
            panic!("the first request must run");
        };
        drop(first);
        let Once::First(retry) = api.once("acct", "sig", ts).await else {
            panic!("a cancelled first must not leave a kept answer");
        };
        let _ = retry.finish(answer("two"), true).await;
        let Once::Repeat(r) = api.once("acct", "sig", ts).await else {
            panic!("the retry's answer must be kept");
        };
        assert_eq!(text(r).await.1, "two");
    }

    #[tokio::test]
    async fn a_refused_write_is_not_kept() {
        let (api, _dir) = api().await;
        let ts = now_secs();
        let Once::First(first) = api.once("acct", "sig", ts).await else {
            panic!("the first request must run");
        };
        let _ = first.finish(answer("refused"), false).await;
        assert!(matches!(api.once("acct", "sig", ts).await, Once::First(_)));
    }
}
