//! A TC3-HMAC-SHA256 signed GAAP API 3.0 client (`POST /` with a JSON body over a kept-alive
//! connection), used by the orchestrator to configure onramp and by the load tool's `api`
//! subcommand. Signing comes from `onramp-auth` (the same canonicalisation the SDKs use).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use onramp_auth::tc3;
use serde_json::Value;

use crate::http1::{Conn, Response};

/// GAAP API version.
pub const VERSION: &str = "2018-05-29";

/// Key pair and endpoint.
#[derive(Clone)]
pub struct Key {
    /// `host:port` of the API (also the signed `Host` header).
    pub host: String,
    pub secret_id: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("host", &self.host)
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// The request head (without `Content-Length`) of a signed `POST /` for `action`.
pub fn signed_head(key: &Key, action: &str, body: &[u8]) -> String {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let headers = [
        ("content-type".to_string(), "application/json".to_string()),
        ("host".to_string(), key.host.clone()),
    ];
    let req = tc3::Tc3Request {
        method: "POST",
        canonical_uri: "/",
        canonical_query: "",
        headers: &headers,
        payload_hash: tc3::payload_hash(body),
        timestamp: ts,
        service: "gaap",
    };
    let auth = tc3::authorization_header(&key.secret_id, &key.secret_key, &req);
    format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-TC-Action: {action}\r\n\
         X-TC-Version: {VERSION}\r\nX-TC-Timestamp: {ts}\r\nX-TC-Region: local\r\n\
         Authorization: {auth}\r\n",
        key.host
    )
}

/// A GAAP client on one kept-alive connection (reconnects once when the connection dropped).
pub struct Client {
    pub key: Key,
    conn: Option<Conn>,
}

impl Client {
    pub fn new(key: Key) -> Self {
        Self { key, conn: None }
    }

    async fn send(&mut self, action: &str, body: &[u8]) -> std::io::Result<Response> {
        if self.conn.is_none() {
            self.conn = Some(Conn::connect(&self.key.host).await?);
        }
        let head = signed_head(&self.key, action, body);
        let conn = self.conn.as_mut().expect("connected above");
        let r = conn.round_trip(&head, body).await;
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    /// Call `action` with `params`; returns the `Response` object, or an error carrying the
    /// API's error code and message.
    pub async fn call(&mut self, action: &str, params: Value) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(&params)?;
        let resp = match self.send(action, &body).await {
            Ok(r) => r,
            Err(_) => self
                .send(action, &body)
                .await
                .with_context(|| format!("{action}: API not reachable at {}", self.key.host))?,
        };
        if resp.status != 200 {
            bail!("{action}: HTTP {}", resp.status);
        }
        let mut v: Value = serde_json::from_slice(&resp.body)
            .with_context(|| format!("{action}: answer is not JSON"))?;
        let r = v
            .get_mut("Response")
            .map(Value::take)
            .ok_or_else(|| anyhow!("{action}: no Response object"))?;
        if let Some(e) = r.get("Error") {
            bail!(
                "{action}: {} {}",
                e["Code"].as_str().unwrap_or("?"),
                e["Message"].as_str().unwrap_or("")
            );
        }
        Ok(r)
    }
}
