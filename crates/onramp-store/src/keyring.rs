//! The master key file: a small keyring (the current key, and during a rotation the previous
//! one) that seals API secret keys at rest.
//!
//! The file is JSON, mode 0600, always replaced atomically (temporary file, `fsync`, rename):
//! `{"version":1,"current":"mk-…","keys":[{"id":"mk-…","key":"<base64 of 32 bytes>"}]}`.
//! A key's id is a fingerprint of the key itself, so a sealed secret names the key it needs and
//! a key file that does not hold it is recognised as the wrong one, before any decryption.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// A key file that cannot be read, parsed or written; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("master key file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("master key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One 256-bit master key and its fingerprint id.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    id: String,
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl MasterKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            id: fingerprint(&bytes),
            bytes,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

fn fingerprint(bytes: &[u8; 32]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"onramp master key id\0");
    ctx.update(bytes);
    format!("mk-{}", hex::encode(&ctx.finish().as_ref()[..8]))
}

/// The current key (which seals) and older ones (which still open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    current: MasterKey,
    older: Vec<MasterKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKey {
    id: String,
    key: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRing {
    version: u32,
    current: String,
    keys: Vec<FileKey>,
}

impl Keyring {
    pub fn new(current: MasterKey) -> Self {
        Self {
            current,
            older: Vec::new(),
        }
    }

    pub fn generate() -> Self {
        Self::new(MasterKey::generate())
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The key with this id, current or older.
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == id)
    }

    /// Every key id, the current one first.
    pub fn ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .map(|k| k.id.as_str())
            .collect()
    }

    /// This ring with `next` as the current key and every key of this ring kept to open.
    pub fn rotated_to(&self, next: MasterKey) -> Self {
        let mut older = vec![self.current.clone()];
        older.extend(self.older.iter().cloned());
        older.retain(|k| k.id != next.id);
        Self {
            current: next,
            older,
        }
    }

    /// This ring without its older keys.
    pub fn current_only(&self) -> Self {
        Self::new(self.current.clone())
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let keys = std::iter::once(&self.current)
            .chain(&self.older)
            .map(|k| FileKey {
                id: k.id.clone(),
                key: B64.encode(k.bytes),
            })
            .collect();
        let ring = FileRing {
            version: 1,
            current: self.current.id.clone(),
            keys,
        };
        let mut text = serde_json::to_string_pretty(&ring).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parse a file's text; the error says what is wrong (without any key material).
    pub fn parse(text: &str) -> Result<Self, String> {
        let ring: FileRing =
            serde_json::from_str(text).map_err(|e| format!("not a master key file ({e})"))?;
        if ring.version != 1 {
            return Err(format!("unsupported version {}", ring.version));
        }
        let mut keys = Vec::with_capacity(ring.keys.len());
        for k in ring.keys {
            let bytes: [u8; 32] = B64
                .decode(k.key.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("key {} is not 32 bytes of base64", k.id))?;
            let key = MasterKey::from_bytes(bytes);
            if key.id != k.id {
                return Err(format!(
                    "key {} does not match its id (the file was edited or damaged)",
                    k.id
                ));
            }
            keys.push(key);
        }
        let pos = keys
            .iter()
            .position(|k| k.id == ring.current)
            .ok_or_else(|| format!("the current key {} is not in the file", ring.current))?;
        let current = keys.remove(pos);
        Ok(Self {
            current,
            older: keys,
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyringError + '_ {
    move |source| KeyringError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Read the key file at `path`. A file others may read is used, with a warning.
pub fn read(path: &Path) -> Result<Keyring, KeyringError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let ring = Keyring::parse(&text).map_err(|reason| KeyringError::Invalid {
        path: path.to_path_buf(),
        reason,
    })?;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the master key file is readable by others; chmod 600 it");
        }
    }
    Ok(ring)
}

fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

fn sync_parent(path: &Path) {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// Replace the key file with `ring`, atomically and with mode 0600.
pub fn write(path: &Path, ring: &Keyring) -> Result<(), KeyringError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, &ring.to_text()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_parent(path);
    Ok(())
}

/// Create the key file with a fresh key, unless it exists (then the existing one is read, so
/// two processes starting together agree on one key). Returns the ring and whether it was made.
pub fn create_or_read(path: &Path) -> Result<(Keyring, bool), KeyringError> {
    let ring = Keyring::generate();
    match write_new(path, &ring.to_text()) {
        Ok(()) => {
            sync_parent(path);
            Ok((ring, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((read(path)?, false)),
        Err(e) => Err(io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_keeps_keys_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (ring, made) = create_or_read(&path).unwrap();
        assert!(made);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, made) = create_or_read(&path).unwrap();
        assert!(!made, "an existing file is never replaced");
        assert_eq!(again, ring);
        let rotated = ring.rotated_to(MasterKey::generate());
        write(&path, &rotated).unwrap();
        let read_back = read(&path).unwrap();
        assert_eq!(read_back, rotated);
        assert_eq!(read_back.ids().len(), 2);
        assert!(read_back.get(ring.current().id()).is_some());
        assert_eq!(rotated.current_only().ids(), [rotated.current().id()]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn damaged_files_are_refused_with_a_reason() {
        assert!(Keyring::parse("hello")
            .unwrap_err()
            .contains("not a master key file"));
        let text = Keyring::generate().to_text();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut edited = v.clone();
        edited["keys"][0]["key"] = B64.encode([7u8; 32]).into();
        let e = Keyring::parse(&edited.to_string()).unwrap_err();
        assert!(e.contains("does not match its id"), "{e}");
        let mut short = v.clone();
        short["keys"][0]["key"] = "AAAA".into();
        assert!(Keyring::parse(&short.to_string())
            .unwrap_err()
            .contains("32 bytes"));
        let mut no_current = v;
        no_current["current"] = "mk-0000".into();
        assert!(Keyring::parse(&no_current.to_string())
            .unwrap_err()
            .contains("not in the file"));
    }
}
