//! Secrets at rest: a `Store` decorator that seals API secret keys on the way in and opens them
//! on the way out, so `State`, the dialects and everything above the store see plain secrets
//! while the database (and any copy or backup of it) holds only sealed ones.
//!
//! Sealed format: `sealed:v1:<master-key-id>:<base64(nonce ‖ ciphertext ‖ tag)>`, ChaCha20-Poly1305
//! with a fresh random 96-bit nonce per seal. The associated data is the field's name and the
//! key record's `secret_id`, so a sealed secret moved to another record (or from the previous to
//! the current field) does not open.
//!
//! The master keys come from `MasterKeys`: a keyring read from the key file. When a record names
//! a key the ring does not hold (another process rotated the master key), the file is read again
//! before giving up; before sealing, it is read again too, so a rotation made while this process
//! runs is followed at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use onramp_core::{ApiKey, AuditEntry, AuditFilter, Millis, Op, Record};
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};

use crate::keyring::{self, Keyring, MasterKey};
use crate::{Changes, Loaded, Store, StoreError, WriteTx};

const PREFIX: &str = "sealed:v1:";
const FIELD_SECRET: &str = "secret_key";
const FIELD_PREVIOUS: &str = "previous_secret_key";

/// Whether a stored secret is sealed (in any version).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with("sealed:")
}

/// The master key id a sealed secret names.
pub fn sealed_key_id(stored: &str) -> Option<&str> {
    stored.strip_prefix(PREFIX)?.split(':').next()
}

fn aad(field: &str, secret_id: &str) -> String {
    format!("onramp:{field}:{secret_id}")
}

fn aead_key(key: &MasterKey) -> Result<LessSafeKey, StoreError> {
    UnboundKey::new(&CHACHA20_POLY1305, key.bytes())
        .map(LessSafeKey::new)
        .map_err(|_| StoreError::Secret("the master key is not a ChaCha20-Poly1305 key".into()))
}

/// Seal `plain` with `key`, bound to (`field`, `secret_id`).
pub fn seal(
    key: &MasterKey,
    field: &str,
    secret_id: &str,
    plain: &str,
) -> Result<String, StoreError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut buf = plain.as_bytes().to_vec();
    aead_key(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(field, secret_id).as_bytes()),
            &mut buf,
        )
        .map_err(|_| StoreError::Secret("sealing a secret failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(format!("{PREFIX}{}:{}", key.id(), B64.encode(out)))
}

/// Why a sealed secret did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// It names a master key the ring does not hold.
    UnknownKey(String),
    /// Not in the sealed format this version writes.
    Malformed,
    /// The key is known but the data does not authenticate: altered, or moved from another record.
    Rejected(String),
}

/// Open a sealed secret bound to (`field`, `secret_id`).
pub fn open(
    ring: &Keyring,
    field: &str,
    secret_id: &str,
    sealed: &str,
) -> Result<String, OpenError> {
    let rest = sealed.strip_prefix(PREFIX).ok_or(OpenError::Malformed)?;
    let (id, data) = rest.split_once(':').ok_or(OpenError::Malformed)?;
    let key = ring
        .get(id)
        .ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
    let mut buf = B64.decode(data).map_err(|_| OpenError::Malformed)?;
    if buf.len() < NONCE_LEN {
        return Err(OpenError::Malformed);
    }
    let mut body = buf.split_off(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = buf.try_into().map_err(|_| OpenError::Malformed)?;
    let lsk = aead_key(key).map_err(|_| OpenError::Rejected(id.to_string()))?;
    let plain = lsk
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(field, secret_id).as_bytes()),
            &mut body,
        )
        .map_err(|_| OpenError::Rejected(id.to_string()))?;
    String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Malformed)
}

/// The master keys a `SealedStore` uses: a keyring, read from a file that may be read again.
pub struct MasterKeys {
    path: Option<PathBuf>,
    ring: RwLock<Arc<Keyring>>,
}

impl MasterKeys {
    /// Keys that live only in memory (tests, tools).
    pub fn in_memory(ring: Keyring) -> Self {
        Self {
            path: None,
            ring: RwLock::new(Arc::new(ring)),
        }
    }

    /// Keys read from `path` (already read into `ring`), re-read when needed.
    pub fn from_file(path: &Path, ring: Keyring) -> Self {
        Self {
            path: Some(path.to_path_buf()),
            ring: RwLock::new(Arc::new(ring)),
        }
    }

    pub fn ring(&self) -> Arc<Keyring> {
        self.ring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Read the key file again (a no-op for in-memory keys); returns the ring now in use.
    pub fn reload(&self) -> Result<Arc<Keyring>, StoreError> {
        let Some(path) = &self.path else {
            return Ok(self.ring());
        };
        let ring = Arc::new(keyring::read(path).map_err(|e| StoreError::Secret(e.to_string()))?);
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = ring.clone();
        Ok(ring)
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(p) => format!("the master key file {}", p.display()),
            None => "the keyring in memory".into(),
        }
    }
}

/// A store whose `Record::Key` secrets are sealed at rest.
pub struct SealedStore {
    inner: Arc<dyn Store>,
    keys: Arc<MasterKeys>,
}

fn seal_key(k: &mut ApiKey, key: &MasterKey) -> Result<(), StoreError> {
    for (field, value) in [
        (FIELD_SECRET, &mut k.secret_key),
        (FIELD_PREVIOUS, &mut k.previous_secret_key),
    ] {
        if value.is_empty() {
            continue;
        }
        if is_sealed(value) {
            return Err(StoreError::Secret(format!(
                "key {}: a {field} that already looks sealed is not stored",
                k.secret_id
            )));
        }
        *value = seal(key, field, &k.secret_id, value)?;
    }
    Ok(())
}

fn open_key(k: &mut ApiKey, ring: &Keyring) -> Result<(), (String, OpenError)> {
    for (field, value) in [
        (FIELD_SECRET, &mut k.secret_key),
        (FIELD_PREVIOUS, &mut k.previous_secret_key),
    ] {
        // Plain secrets (a store written before sealing) are read as they are and sealed by
        // `seal_plain_secrets` at start.
        if is_sealed(value) {
            *value = open(ring, field, &k.secret_id, value).map_err(|e| (field.to_string(), e))?;
        }
    }
    Ok(())
}

/// Why a record's secret did not open: (secret id, field, reason).
type OpenFailure = (String, String, OpenError);

fn open_all<'a>(
    records: impl IntoIterator<Item = &'a mut Record>,
    ring: &Keyring,
) -> Result<(), OpenFailure> {
    for r in records {
        if let Record::Key(k) = r {
            let id = k.secret_id.clone();
            open_key(k, ring).map_err(|(field, e)| (id, field, e))?;
        }
    }
    Ok(())
}

/// Every master key id the secrets of `records` are sealed with.
pub fn sealed_key_ids(records: &[Record]) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Key(k) => Some([&k.secret_key, &k.previous_secret_key]),
            _ => None,
        })
        .flatten()
        .filter_map(|s| sealed_key_id(s).map(str::to_string))
        .collect()
}

fn key_has_plain(k: &ApiKey) -> bool {
    [&k.secret_key, &k.previous_secret_key]
        .iter()
        .any(|s| !s.is_empty() && !is_sealed(s))
}

/// Whether any secret of `records` is stored in plain text.
pub fn has_plain_secrets(records: &[Record]) -> bool {
    records
        .iter()
        .any(|r| matches!(r, Record::Key(k) if key_has_plain(k)))
}

impl SealedStore {
    pub fn new(inner: Arc<dyn Store>, keys: Arc<MasterKeys>) -> Self {
        Self { inner, keys }
    }

    /// The store underneath, which holds the sealed form.
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    pub fn keys(&self) -> &Arc<MasterKeys> {
        &self.keys
    }

    /// Seal the secrets a store written before sealing holds in plain text, in one commit.
    /// Returns how many key records were sealed.
    pub async fn seal_plain_secrets(&self) -> Result<usize, StoreError> {
        let raw = self.inner.load().await?;
        let ring = self.keys.ring();
        let mut plain = Vec::new();
        for r in raw.records {
            let Record::Key(mut k) = r else { continue };
            if !key_has_plain(&k) {
                continue;
            }
            // A record mixing a plain and a sealed field is opened first.
            open_key(&mut k, &ring).map_err(|(f, e)| self.open_error(&k.secret_id, &f, e))?;
            plain.push(Op::Put(Record::Key(k)));
        }
        if plain.is_empty() {
            return Ok(0);
        }
        self.commit(&plain).await?;
        Ok(plain.len())
    }

    fn open_error(&self, secret_id: &str, field: &str, e: OpenError) -> StoreError {
        let file = self.keys.describe();
        StoreError::Secret(match e {
            OpenError::UnknownKey(id) => format!(
                "the {field} of key {secret_id} is sealed with master key {id}, which {file} does not hold \
                 (it holds {}): start with the master key file this store was sealed with (--master-key)",
                self.keys.ring().ids().join(", ")
            ),
            OpenError::Rejected(id) => format!(
                "the {field} of key {secret_id} does not open with master key {id} of {file}: \
                 the sealed data was altered or moved from another key record"
            ),
            OpenError::Malformed => {
                format!("the {field} of key {secret_id} is not in a sealed format this version reads")
            }
        })
    }
}

impl SealedStore {
    /// Open the secrets of the records `each` finds in `data`, reading the key file again once
    /// when one names a key the ring does not hold (another process may have rotated the
    /// master key). The outer error is the key file's; the inner one the record's.
    fn open_records<T: ?Sized>(
        &self,
        data: &mut T,
        each: fn(&mut T) -> Vec<&mut Record>,
    ) -> Result<Result<(), OpenFailure>, StoreError> {
        // Secrets are opened in place; one that opened is plain and is skipped on a second pass.
        let result = open_all(each(data), &self.keys.ring());
        let Err((_, _, OpenError::UnknownKey(_))) = result else {
            return Ok(result);
        };
        let ring = self.keys.reload()?;
        tracing::info!(
            current = ring.current().id(),
            "read the master key file again"
        );
        Ok(open_all(each(data), &ring))
    }
}

fn put_records(batches: &mut [crate::Batch]) -> Vec<&mut Record> {
    batches
        .iter_mut()
        .flat_map(|b| b.ops.iter_mut())
        .filter_map(|op| match op {
            Op::Put(r) => Some(r),
            Op::Delete(..) => None,
        })
        .collect()
}

/// A write through the decorator: its key records are sealed as it commits.
struct SealedTx {
    inner: Box<dyn WriteTx>,
    keys: Arc<MasterKeys>,
}

#[async_trait]
impl WriteTx for SealedTx {
    fn base(&self) -> u64 {
        self.inner.base()
    }

    async fn commit(self: Box<Self>, ops: &[Op]) -> Result<u64, StoreError> {
        if !ops.iter().any(|op| matches!(op, Op::Put(Record::Key(_)))) {
            return self.inner.commit(ops).await;
        }
        // Seal with the newest current key, even if another process rotated it just now.
        let ring = self.keys.reload()?;
        let mut sealed = ops.to_vec();
        for op in &mut sealed {
            if let Op::Put(Record::Key(k)) = op {
                seal_key(k, ring.current())?;
            }
        }
        self.inner.commit(&sealed).await
    }

    async fn rollback(self: Box<Self>) {
        self.inner.rollback().await
    }
}

#[async_trait]
impl Store for SealedStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        let mut loaded = self.inner.load().await?;
        self.open_records(&mut loaded.records, |r| r.iter_mut().collect())?
            .map_err(|(id, field, e)| self.open_error(&id, &field, e))?;
        Ok(loaded)
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        self.inner.revision().await
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, StoreError> {
        Ok(Box::new(SealedTx {
            inner: self.inner.begin().await?,
            keys: self.keys.clone(),
        }))
    }

    /// The change log holds sealed secrets too; they are opened here. A batch sealed with a
    /// master key the file no longer holds (a rotation finished since) is "too old": the
    /// records themselves were sealed again, so a full load opens them.
    async fn changes_since(&self, rev: u64) -> Result<Changes, StoreError> {
        let mut changes = self.inner.changes_since(rev).await?;
        let Changes::Batches(batches) = &mut changes else {
            return Ok(changes);
        };
        match self.open_records(batches.as_mut_slice(), put_records)? {
            Ok(()) => Ok(changes),
            Err((_, _, OpenError::UnknownKey(_))) => Ok(Changes::TooOld),
            Err((id, field, e)) => Err(self.open_error(&id, &field, e)),
        }
    }

    async fn wait_revision(&self, after: u64, max: Duration) -> Result<u64, StoreError> {
        self.inner.wait_revision(after, max).await
    }

    async fn forget_changes(&self, through: u64) -> Result<(), StoreError> {
        self.inner.forget_changes(through).await
    }

    async fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.inner.try_lease(name, holder, ttl).await
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        self.inner.append_audit(entries).await
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit(filter).await
    }

    async fn prune_audit(&self, before: Millis) -> Result<u64, StoreError> {
        self.inner.prune_audit(before).await
    }
}

#[cfg(test)]
#[path = "sealed_tests.rs"]
mod tests;
