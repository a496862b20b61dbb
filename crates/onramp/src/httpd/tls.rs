//! TLS of the HTTP endpoints: the certificate chain and key are read from their PEM files at
//! start and again on every SIGHUP. The acceptor asks a resolver for the pair at each handshake,
//! and the resolver holds it in an `ArcSwap`, so a reload changes what new connections are
//! offered while open connections (which finished their handshake) carry on untouched. A reload
//! that fails (missing file, key not matching the certificate) keeps the pair in use.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// The certificate and key currently offered, and where they are read from.
#[derive(Debug)]
pub struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    current: ArcSwap<CertifiedKey>,
}

impl TlsFiles {
    /// Read the pair now (a start-up error if it cannot be).
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Arc<Self>> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let pair = read_pair(cert, key)?;
        Ok(Arc::new(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: ArcSwap::from_pointee(pair),
        }))
    }

    /// Read the files again and offer the new pair to new connections.
    pub fn reload(&self) -> anyhow::Result<()> {
        let pair = read_pair(&self.cert, &self.key)?;
        self.current.store(Arc::new(pair));
        Ok(())
    }

    /// An acceptor speaking HTTP/1.1 (ALPN) with whatever pair is current at each handshake.
    pub fn acceptor(self: &Arc<Self>) -> TlsAcceptor {
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsAcceptor::from(Arc::new(config))
    }
}

#[derive(Debug)]
struct Resolver(Arc<TlsFiles>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current.load_full())
    }
}

fn read_pair(cert: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let what = || {
        format!(
            "cannot load TLS certificate {} and key {}",
            cert.display(),
            key.display()
        )
    };
    let certs = {
        let mut r = io::BufReader::new(std::fs::File::open(cert).with_context(what)?);
        rustls_pemfile::certs(&mut r)
            .collect::<Result<Vec<_>, _>>()
            .with_context(what)?
    };
    if certs.is_empty() {
        return Err(anyhow::anyhow!("no certificate in the file")).with_context(what);
    }
    let key = {
        let mut r = io::BufReader::new(std::fs::File::open(key).with_context(what)?);
        rustls_pemfile::private_key(&mut r)
            .with_context(what)?
            .context("no private key in the file")
            .with_context(what)?
    };
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(certs, key, &provider).with_context(what)
}

/// Reload `files` on every SIGHUP until the process ends; each outcome is logged. Without TLS a
/// SIGHUP is logged and ignored (it does not end the process).
pub async fn reload_on_sighup(files: Option<Arc<TlsFiles>>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP; the TLS certificate will not be reloaded");
        return;
    };
    while hup.recv().await.is_some() {
        let Some(files) = &files else {
            tracing::info!("SIGHUP: no TLS certificate to reload");
            continue;
        };
        match files.reload() {
            Ok(()) => tracing::info!(
                cert = %files.cert.display(),
                "reloaded the TLS certificate and key (SIGHUP)"
            ),
            Err(e) => tracing::error!(
                error = %format!("{e:#}"),
                "TLS reload failed; still serving the previous certificate"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let c = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, c.cert.pem()).unwrap();
        std::fs::write(&key, c.key_pair.serialize_pem()).unwrap();
        (cert, key, c.cert.der().to_vec())
    }

    fn offered(files: &TlsFiles) -> Vec<u8> {
        files.current.load().cert[0].as_ref().to_vec()
    }

    #[test]
    fn a_reload_offers_the_new_pair_and_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, first) = write_pair(dir.path(), "a.test");
        let files = TlsFiles::load(&cert, &key).unwrap();
        assert_eq!(offered(&files), first);
        let (_, _, second) = write_pair(dir.path(), "b.test");
        files.reload().unwrap();
        assert_eq!(offered(&files), second);
        // A key that does not match the certificate is refused; the pair in use stays.
        let other = rcgen::generate_simple_self_signed(vec!["c.test".into()]).unwrap();
        std::fs::write(&key, other.key_pair.serialize_pem()).unwrap();
        let e = files.reload().unwrap_err();
        assert!(format!("{e:#}").contains("cannot load TLS"), "{e:#}");
        std::fs::write(&cert, "not a certificate").unwrap();
        assert!(files.reload().is_err());
        assert_eq!(offered(&files), second);
    }
}
