//! Secrets at rest in the binary: the master key file, the sealed store every role opens, and
//! the two rotations (`onramp admin rotate-master-key`, `onramp admin rotate-key`).
//!
//! The master key file is made on first start only when the store holds no sealed secret: a
//! missing or wrong file for a sealed store is a start-up error naming the file, never a silent
//! fresh key that would make every stored key unusable.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use onramp_control::Control;
use onramp_core::{ApiKey, Millis, Op, Record};
use onramp_store::keyring::{self, MasterKey};
use onramp_store::sealed::{sealed_key_ids, MasterKeys, SealedStore};

/// Open the store at `url` with its secrets sealed under the key file `master_key`.
pub async fn open_store(url: &str, master_key: &Path) -> anyhow::Result<Arc<SealedStore>> {
    let inner = crate::serve::open_backend(url).await?;
    let ring = if master_key.exists() {
        keyring::read(master_key)?
    } else {
        let raw = inner.load().await.context("reading the store")?;
        let ids = sealed_key_ids(&raw.records);
        if !ids.is_empty() {
            bail!(
                "the master key file {} does not exist, but the store holds secrets sealed with master key {}: \
                 pass --master-key (or ONRAMP_MASTER_KEY) with the file this store was sealed with",
                master_key.display(),
                ids.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        let (ring, made) = keyring::create_or_read(master_key)?;
        if made {
            tracing::info!(path = %master_key.display(), key = ring.current().id(), "created the master key file");
        }
        ring
    };
    let keys = Arc::new(MasterKeys::from_file(master_key, ring));
    let store = Arc::new(SealedStore::new(inner, keys));
    let sealed = store
        .seal_plain_secrets()
        .await
        .context("sealing the plain secrets of the store")?;
    if sealed > 0 {
        tracing::info!(keys = sealed, "sealed plain secret keys found in the store");
    }
    Ok(store)
}

/// Seal every secret with a new master key, then drop the old keys from the file. A running
/// server reads the file again when it meets the new key id, so it keeps working throughout.
/// Returns the old and new key ids.
pub async fn rotate_master_key(
    control: &Control,
    store: &SealedStore,
    path: &Path,
) -> anyhow::Result<(String, String)> {
    let old = keyring::read(path)?;
    let next = old.rotated_to(MasterKey::generate());
    let new_id = next.current().id().to_string();
    // 1. The file holds the new key as current and the old ones to open with.
    keyring::write(path, &next)?;
    store.keys().reload()?;
    // 2. Re-seal every secret in one commit; check, since another process may have sealed a
    //    secret with the old key while this ran.
    let mut resealed = false;
    for _ in 0..3 {
        control
            .write(|s| {
                let ops = s.keys.values().cloned().map(|k| Op::Put(Record::Key(k)));
                Ok::<_, ()>((ops.collect(), ()))
            })
            .await
            .map_err(|e| anyhow::anyhow!("re-sealing the secrets: {e}"))?;
        let raw = store.inner().load().await?;
        if sealed_key_ids(&raw.records).iter().all(|id| *id == new_id) {
            // The change log still holds the old seals: drop it up to here (followers behind
            // this revision load the whole store).
            store.inner().forget_changes(raw.revision).await?;
            resealed = true;
            break;
        }
    }
    if !resealed {
        bail!(
            "secrets kept being sealed with an old master key while rotating; {} still holds both keys, \
             run rotate-master-key again",
            path.display()
        );
    }
    // 3. Only the new key remains.
    keyring::write(path, &next.current_only())?;
    Ok((old.current().id().to_string(), new_id))
}

/// Give a key a new secret; the former one keeps signing for `grace_secs` (0 = not at all).
pub async fn rotate_key(
    control: &Control,
    secret_id: &str,
    grace_secs: u64,
    now: Millis,
) -> anyhow::Result<ApiKey> {
    let new_secret = crate::bootstrap::random_text(32);
    let until =
        now.saturating_add(i64::try_from(grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX));
    let (_, key) = control
        .write(|s| {
            let Some(k) = s.keys.get(secret_id) else {
                return Err(format!("no key {secret_id}"));
            };
            let mut k = k.clone();
            if grace_secs == 0 {
                k.previous_secret_key.clear();
                k.previous_valid_until = 0;
            } else {
                k.previous_secret_key = std::mem::take(&mut k.secret_key);
                k.previous_valid_until = until;
            }
            k.secret_key = new_secret;
            Ok((vec![Op::Put(Record::Key(k.clone()))], k))
        })
        .await
        .map_err(|e| match e {
            onramp_control::WriteError::Rejected(msg) => anyhow::anyhow!(msg),
            onramp_control::WriteError::Store(e) => anyhow::anyhow!("writing to the store: {e}"),
        })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_store::Store;

    async fn open(dir: &Path) -> anyhow::Result<(Arc<SealedStore>, Arc<Control>)> {
        let url = format!("sqlite://{}", dir.join("onramp.db").display());
        let store = open_store(&url, &dir.join("master.key")).await?;
        let control = Control::open(store.clone()).await?;
        Ok((store, control))
    }

    fn key(secret: &str) -> Op {
        Op::Put(Record::Key(ApiKey {
            secret_id: "AKIDt".into(),
            secret_key: secret.into(),
            account_id: "a".into(),
            enabled: true,
            ..Default::default()
        }))
    }

    #[tokio::test]
    async fn first_start_makes_the_key_file_and_a_missing_one_is_refused_later() {
        let dir = tempfile::tempdir().unwrap();
        let (_, control) = open(dir.path()).await.unwrap();
        control
            .write(|_| Ok::<_, ()>((vec![key("s")], ())))
            .await
            .unwrap();
        std::fs::remove_file(dir.path().join("master.key")).unwrap();
        let e = open(dir.path()).await.err().expect("refused");
        let msg = format!("{e:#}");
        assert!(
            msg.contains("master.key") && msg.contains("does not exist"),
            "{msg}"
        );
        assert!(
            !dir.path().join("master.key").exists(),
            "no fresh key was made"
        );
    }

    #[tokio::test]
    async fn master_key_rotation_reseals_and_drops_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let (store, control) = open(dir.path()).await.unwrap();
        control
            .write(|_| Ok::<_, ()>((vec![key("s")], ())))
            .await
            .unwrap();
        let path = dir.path().join("master.key");
        let (old, new) = rotate_master_key(&control, &store, &path).await.unwrap();
        assert_ne!(old, new);
        let ring = keyring::read(&path).unwrap();
        assert_eq!(ring.ids(), [new.as_str()]);
        let (_, reopened) = open(dir.path()).await.unwrap();
        assert_eq!(reopened.state().keys["AKIDt"].secret_key, "s");
        // No seal with the old key is left in the change log either.
        let rev = store.revision().await.unwrap();
        for from in 0..=rev {
            if let onramp_store::Changes::Batches(b) =
                store.inner().changes_since(from).await.unwrap()
            {
                assert!(!format!("{b:?}").contains(&old), "an old seal after {from}");
            }
        }
    }

    #[tokio::test]
    async fn key_rotation_keeps_the_old_secret_for_the_grace_only() {
        let dir = tempfile::tempdir().unwrap();
        let (_, control) = open(dir.path()).await.unwrap();
        control
            .write(|_| Ok::<_, ()>((vec![key("s")], ())))
            .await
            .unwrap();
        let k = rotate_key(&control, "AKIDt", 60, 1_000).await.unwrap();
        assert_eq!(
            k.secrets_at(1_000).collect::<Vec<_>>(),
            [k.secret_key.as_str(), "s"]
        );
        assert_eq!(k.secrets_at(61_000).count(), 1);
        let k2 = rotate_key(&control, "AKIDt", 0, 2_000).await.unwrap();
        assert_eq!(
            k2.secrets_at(2_000).collect::<Vec<_>>(),
            [k2.secret_key.as_str()]
        );
        assert!(k2.previous_secret_key.is_empty());
        assert!(rotate_key(&control, "AKIDnone", 0, 0).await.is_err());
    }
}
