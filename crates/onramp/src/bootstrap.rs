//! First start: create the root account and its key, and write `credentials.json` (mode 0600).
//!
//! `ONRAMP_ROOT_SECRET_ID` / `ONRAMP_ROOT_SECRET_KEY`, when set on first start, become the root
//! key. The secret is never printed; only the file's path is.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use onramp_control::Control;
use onramp_core::{ids, Account, ApiKey, Op, Record};
use rand::Rng;
use serde::Serialize;

#[derive(Serialize)]
struct Credentials<'a> {
    secret_id: &'a str,
    secret_key: &'a str,
    domain_id: &'a str,
    app_id: u64,
    uin: &'a str,
    account_id: &'a str,
}

pub fn random_text(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Create the root account on an empty store. Returns whether it did.
pub async fn ensure_root(control: &Control, data_dir: &Path, now: i64) -> anyhow::Result<bool> {
    if !control.state().accounts.is_empty() {
        return Ok(false);
    }
    let app_id: u64 = rand::thread_rng().gen_range(1_250_000_000..1_259_999_999);
    let account = Account {
        id: app_id.to_string(),
        name: "root".into(),
        app_id,
        uin: app_id.to_string(),
        domain_id: ids::hex32(),
        created_at: now,
        revision: 0,
    };
    let key = ApiKey {
        secret_id: env_nonempty("ONRAMP_ROOT_SECRET_ID")
            .unwrap_or_else(|| format!("AKID{}", random_text(32))),
        secret_key: env_nonempty("ONRAMP_ROOT_SECRET_KEY").unwrap_or_else(|| random_text(32)),
        account_id: account.id.clone(),
        enabled: true,
        allowed_actions: Vec::new(),
        policy: None,
        created_at: now,
        ..Default::default()
    };
    let ops = vec![
        Op::Put(Record::Account(account.clone())),
        Op::Put(Record::Key(key.clone())),
    ];
    control
        .write(|_| Ok::<_, ()>((ops, ())))
        .await
        .map_err(|e| anyhow::anyhow!("creating the root account: {e}"))?;
    let creds = Credentials {
        secret_id: &key.secret_id,
        secret_key: &key.secret_key,
        domain_id: &account.domain_id,
        app_id,
        uin: &account.uin,
        account_id: &account.id,
    };
    let path = data_dir.join("credentials.json");
    write_private(&path, &serde_json::to_vec_pretty(&creds)?)?;
    Ok(true)
}

/// Write a file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
