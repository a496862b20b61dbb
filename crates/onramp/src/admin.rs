//! `onramp admin …`: operator commands that work on the store directly (accounts, keys, key
//! rotations, the audit log, status). A running `serve` picks their writes up within a second (it
//! follows the store's revision). Every command that writes records itself in the audit log
//! (dialect "admin", source "local").

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use onramp_control::Control;
use onramp_core::policy::Policy;
use onramp_core::{ids, Account, ApiKey, AuditEntry, Op, Record};
use onramp_store::sealed::SealedStore;
use serde_json::json;

use crate::bootstrap::random_text;
use crate::secrets;

#[derive(Args)]
pub struct AdminArgs {
    /// Data directory of the store [default: ./onramp-data]
    #[arg(long, env = "ONRAMP_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Store URL (overrides --data-dir)
    #[arg(long, env = "ONRAMP_STORE", global = true)]
    store: Option<String>,
    /// Master key file of the store [default: DATA_DIR/master.key]
    #[arg(long, env = "ONRAMP_MASTER_KEY", global = true)]
    master_key: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account with its first key; prints the key as JSON.
    CreateAccount {
        #[arg(long, default_value = "tenant")]
        name: String,
    },
    /// Create another key for an account; --actions or --policy limits what it may do.
    CreateKey {
        #[arg(long)]
        account: String,
        /// Comma-separated operation names this key may call (`DescribeProxies`, `gaap:Describe*`,
        /// `huawei:ShowListener`, `bm:DescribeBmListeners`; default: all)
        #[arg(long, value_delimiter = ',', conflicts_with = "policy")]
        actions: Vec<String>,
        /// A policy document (JSON text, or @FILE): statements of effect, actions, resources
        #[arg(long)]
        policy: Option<String>,
    },
    /// Replace a key's policy (--policy JSON or @FILE), or lift every limit (--clear).
    SetPolicy {
        #[arg(long)]
        secret_id: String,
        #[arg(long, required_unless_present = "clear")]
        policy: Option<String>,
        #[arg(long, conflicts_with = "policy")]
        clear: bool,
    },
    /// Disable a key.
    DisableKey {
        #[arg(long)]
        secret_id: String,
    },
    /// Give a key a new secret (printed as JSON); the old one keeps signing for --grace seconds.
    RotateKey {
        #[arg(long)]
        secret_id: String,
        /// Seconds the old secret stays valid; 0 = refused at once
        #[arg(long, default_value_t = 86_400)]
        grace: u64,
    },
    /// Seal every secret with a new master key, then drop the old key from the key file.
    RotateMasterKey,
    /// List the audit log, newest first (a table, or JSON lines with --json).
    Audit(crate::admin_audit::AuditArgs),
    /// Print the store's revision and resource counts.
    Status,
}

struct Opened {
    store: Arc<SealedStore>,
    control: Arc<Control>,
    master_key: PathBuf,
}

async fn open(args: &AdminArgs) -> anyhow::Result<Opened> {
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("./onramp-data"));
    let url = match &args.store {
        Some(u) => u.clone(),
        None => {
            if !dir.join("onramp.db").exists() {
                bail!(
                    "no store at {} (run `onramp serve` first or pass --store)",
                    dir.display()
                );
            }
            format!("sqlite://{}", dir.join("onramp.db").display())
        }
    };
    let master_key = args
        .master_key
        .clone()
        .unwrap_or_else(|| dir.join("master.key"));
    let store = secrets::open_store(&url, &master_key).await?;
    let control = Control::open(store.clone())
        .await
        .context("loading the store")?;
    Ok(Opened {
        store,
        control,
        master_key,
    })
}

/// The audit entry of an admin command that wrote.
fn audited(operation: &str, account_id: &str, resource_ids: Vec<String>, now: i64) -> AuditEntry {
    AuditEntry {
        time: now,
        account_id: account_id.to_string(),
        key_id: String::new(),
        dialect: "admin".into(),
        operation: operation.into(),
        resource_ids,
        request_id: ids::uuid(),
        source: "local".into(),
        outcome: "ok".into(),
    }
}

fn new_key(account: &str, policy: Option<Policy>, now: i64) -> ApiKey {
    ApiKey {
        secret_id: format!("AKID{}", random_text(32)),
        secret_key: random_text(32),
        account_id: account.to_string(),
        enabled: true,
        allowed_actions: Vec::new(),
        policy,
        created_at: now,
        ..Default::default()
    }
}

fn key_json(k: &ApiKey) -> serde_json::Value {
    let policy = k.effective_policy().map(|p| p.into_owned());
    json!({"account_id": k.account_id, "secret_id": k.secret_id, "secret_key": k.secret_key, "policy": policy})
}

/// A policy from `--policy` (JSON text or `@FILE`) or `--actions`.
fn policy_arg(text: Option<&str>, actions: &[String]) -> anyhow::Result<Option<Policy>> {
    let Some(text) = text else {
        return Ok((!actions.is_empty()).then(|| Policy::allow_actions(actions)));
    };
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the policy file {path}"))?,
        None => text.to_string(),
    };
    Ok(Some(Policy::parse(&text).context("invalid --policy")?))
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let opened = open(&args).await?;
    let control = opened.control.clone();
    let now = onramp_api::now_millis();
    let write = |ops: Vec<Op>| {
        let c = control.clone();
        async move {
            c.write(|_| Ok::<_, ()>((ops, ())))
                .await
                .map_err(|e| anyhow::anyhow!("writing to the store: {e}"))
        }
    };
    match args.command {
        AdminCommand::CreateAccount { name } => {
            let app_id: u64 = 1_260_000_000 + (now as u64 % 700_000_000);
            let account = Account {
                id: app_id.to_string(),
                name,
                app_id,
                uin: app_id.to_string(),
                domain_id: ids::hex32(),
                created_at: now,
                revision: 0,
            };
            if control.state().accounts.contains_key(&account.id) {
                bail!("account id {} is taken; retry", account.id);
            }
            let key = new_key(&account.id, None, now);
            write(vec![
                Op::Put(Record::Account(account.clone())),
                Op::Put(Record::Key(key.clone())),
            ])
            .await?;
            control.audit(audited(
                "create-account",
                &account.id,
                vec![account.id.clone(), key.secret_id.clone()],
                now,
            ));
            let mut out = key_json(&key);
            out["domain_id"] = json!(account.domain_id);
            out["app_id"] = json!(app_id);
            println!("{out}");
        }
        AdminCommand::CreateKey {
            account,
            actions,
            policy,
        } => {
            let policy = policy_arg(policy.as_deref(), &actions)?;
            if !control.state().accounts.contains_key(&account) {
                bail!("no account {account}");
            }
            let key = new_key(&account, policy, now);
            write(vec![Op::Put(Record::Key(key.clone()))]).await?;
            control.audit(audited(
                "create-key",
                &account,
                vec![key.secret_id.clone()],
                now,
            ));
            println!("{}", key_json(&key));
        }
        AdminCommand::SetPolicy {
            secret_id,
            policy,
            clear,
        } => {
            let policy = if clear {
                None
            } else {
                policy_arg(policy.as_deref(), &[])?
            };
            let Some(mut key) = control.state().keys.get(&secret_id).cloned() else {
                bail!("no key {secret_id}")
            };
            key.policy = policy;
            key.allowed_actions.clear();
            write(vec![Op::Put(Record::Key(key.clone()))]).await?;
            control.audit(audited(
                "set-policy",
                &key.account_id,
                vec![secret_id.clone()],
                now,
            ));
            println!("{}", json!({"secret_id": secret_id, "policy": key.policy}));
        }
        AdminCommand::DisableKey { secret_id } => {
            let Some(mut key) = control.state().keys.get(&secret_id).cloned() else {
                bail!("no key {secret_id}")
            };
            key.enabled = false;
            let account = key.account_id.clone();
            write(vec![Op::Put(Record::Key(key))]).await?;
            control.audit(audited(
                "disable-key",
                &account,
                vec![secret_id.clone()],
                now,
            ));
            println!("{}", json!({"secret_id": secret_id, "enabled": false}));
        }
        AdminCommand::RotateKey { secret_id, grace } => {
            let key = secrets::rotate_key(&control, &secret_id, grace, now).await?;
            control.audit(audited("rotate-key", &key.account_id, vec![secret_id], now));
            let mut out = key_json(&key);
            out["previous_valid_until"] = json!(key.previous_valid_until);
            println!("{out}");
        }
        AdminCommand::RotateMasterKey => {
            let (old, new) =
                secrets::rotate_master_key(&control, &opened.store, &opened.master_key).await?;
            control.audit(audited("rotate-master-key", "", vec![new.clone()], now));
            println!(
                "{}",
                json!({"master_key": opened.master_key.display().to_string(), "previous": old, "current": new})
            );
        }
        AdminCommand::Audit(a) => crate::admin_audit::run(&*opened.store, a).await?,
        AdminCommand::Status => {
            let st = control.state();
            println!(
                "{}",
                json!({
                    "revision": st.revision, "accounts": st.accounts.len(), "keys": st.keys.len(),
                    "accelerators": st.accelerators.len(), "groups": st.groups.len(), "listeners": st.listeners.len(),
                    "origins": st.origins.len(), "bindings": st.bindings.len(), "tasks": st.tasks.len(),
                })
            );
        }
    }
    control.flush_audit().await;
    Ok(())
}
