//! The edge's HTTP client to one control node: one kept-alive HTTP/1.1 connection (TLS for
//! `https://` URLs, verified against the system's roots or `--control-ca`), the edge token on
//! every request, a deadline on every request, and errors that say what went wrong.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Why a request to a control node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {0}: {1}")]
    Connect(String, String),
    #[error("{0} did not answer within {1:?}")]
    Timeout(String, Duration),
    #[error("{0} refused the edge token (401): {1}")]
    Unauthorized(String, String),
    #[error("{0} does not know this edge (409): it registers again")]
    NotRegistered(String),
    #[error("{0} answered {1}: {2}")]
    Status(String, StatusCode, String),
    #[error("{0} sent a bad answer: {1}")]
    Decode(String, String),
}

/// A control node's base URL, parsed once.
#[derive(Debug, Clone)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    /// Path prefix before `/edge/v1` (usually empty).
    base: String,
    /// As given, for messages.
    shown: String,
}

fn parse(url: &str) -> anyhow::Result<Target> {
    let uri: Uri = url
        .parse()
        .map_err(|e| anyhow::anyhow!("--control '{url}' is not a URL: {e}"))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => anyhow::bail!("--control '{url}' must start with http:// or https://"),
    };
    let host = uri
        .host()
        .ok_or_else(|| anyhow::anyhow!("--control '{url}' has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok(Target {
        https,
        host,
        port,
        base: uri.path().trim_end_matches('/').to_string(),
        shown: url.trim_end_matches('/').to_string(),
    })
}

/// The roots `https://` control URLs are verified against: the file's certificates, or the
/// system's.
pub fn tls_config(ca: Option<&std::path::Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read --control-ca {}: {e}", path.display()))?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert =
                    cert.map_err(|e| anyhow::anyhow!("--control-ca {}: {e}", path.display()))?;
                roots.add(cert)?;
            }
            if roots.is_empty() {
                anyhow::bail!("--control-ca {} holds no certificate", path.display());
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// A client of one control node.
pub struct ControlClient {
    target: Target,
    token: String,
    tls: Arc<rustls::ClientConfig>,
    conn: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl ControlClient {
    pub fn new(url: &str, token: &str, tls: Arc<rustls::ClientConfig>) -> anyhow::Result<Self> {
        Ok(Self {
            target: parse(url)?,
            token: token.to_string(),
            tls,
            conn: Mutex::new(None),
        })
    }

    /// The URL as given.
    pub fn url(&self) -> &str {
        &self.target.shown
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let t = &self.target;
        let fail = |e: &dyn std::fmt::Display| ClientError::Connect(t.shown.clone(), e.to_string());
        let tcp = TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(|e| fail(&e))?;
        let _ = tcp.set_nodelay(true);
        if !t.https {
            let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| fail(&e))?;
            tokio::spawn(conn);
            return Ok(send);
        }
        let name = rustls::pki_types::ServerName::try_from(t.host.clone()).map_err(|e| fail(&e))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| fail(&e))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| fail(&e))?;
        tokio::spawn(conn);
        Ok(send)
    }

    /// One request, on the kept connection (made again when it broke), within `deadline`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        deadline: Duration,
    ) -> Result<Bytes, ClientError> {
        let shown = self.target.shown.clone();
        let work = async {
            let mut conn = self.conn.lock().await;
            let mut send = match conn.take() {
                Some(s) if !s.is_closed() => s,
                _ => self.connect().await?,
            };
            send.ready()
                .await
                .map_err(|e| ClientError::Connect(shown.clone(), e.to_string()))?;
            let req = Request::builder()
                .method(method)
                .uri(format!("{}{path}", self.target.base))
                .header(
                    http::header::HOST,
                    format!("{}:{}", self.target.host, self.target.port),
                )
                .header(
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", self.token),
                )
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| ClientError::Connect(shown.clone(), e.to_string()))?;
            let resp = send
                .send_request(req)
                .await
                .map_err(|e| ClientError::Connect(shown.clone(), e.to_string()))?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| ClientError::Connect(shown.clone(), e.to_string()))?
                .to_bytes();
            *conn = Some(send);
            Ok::<_, ClientError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(deadline, work)
            .await
            .map_err(|_| ClientError::Timeout(shown.clone(), deadline))??;
        let text = || {
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(300)
                .collect::<String>()
        };
        match status {
            StatusCode::OK => Ok(bytes),
            StatusCode::UNAUTHORIZED => Err(ClientError::Unauthorized(shown, text())),
            StatusCode::CONFLICT => Err(ClientError::NotRegistered(shown)),
            s => Err(ClientError::Status(shown, s, text())),
        }
    }

    /// POST `body` as JSON to `path`, decode the answer.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        deadline: Duration,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::Decode(self.target.shown.clone(), e.to_string()))?;
        let answer = self.send(Method::POST, path, bytes, deadline).await?;
        self.decode(&answer)
    }

    /// GET `path_and_query`, decode the answer.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        deadline: Duration,
    ) -> Result<T, ClientError> {
        let answer = self
            .send(Method::GET, path_and_query, Vec::new(), deadline)
            .await?;
        self.decode(&answer)
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, ClientError> {
        serde_json::from_slice(bytes)
            .map_err(|e| ClientError::Decode(self.target.shown.clone(), e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let t = parse("https://control.example:8443/").unwrap();
        assert!(t.https && t.host == "control.example" && t.port == 8443 && t.base.is_empty());
        let t = parse("http://[::1]:7080/onramp").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.base.as_str()),
            ("::1", 7080, "/onramp")
        );
        assert_eq!(parse("http://127.0.0.1").unwrap().port, 80);
        for bad in ["ftp://x", "127.0.0.1:7080", "http://"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
