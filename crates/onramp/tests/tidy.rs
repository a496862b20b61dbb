//! Tidy checks: architecture invariants that must hold for the whole source tree.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()
}

#[test]
fn only_store_crates_use_sqlx() {
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("onramp-store-") {
            continue;
        }
        let m = manifest(&dir);
        let deps = m.split("[dev-dependencies]").next().unwrap_or("");
        assert!(
            !deps.contains("sqlx"),
            "{name} must not depend on sqlx: only store crates contain SQL"
        );
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(!text.contains("sqlx::"), "{} uses sqlx", f.display());
        }
    }
}

#[test]
fn every_crate_forbids_unsafe_and_documents_modules() {
    for dir in crate_dirs() {
        let lib = ["src/lib.rs", "src/main.rs"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
            .unwrap();
        let text = std::fs::read_to_string(&lib).unwrap();
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "{} must forbid unsafe code",
            lib.display()
        );
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let is_test = f
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("tests"));
            assert!(
                is_test || text.starts_with("//!"),
                "{} needs a //! module doc",
                f.display()
            );
        }
    }
}

#[test]
fn only_the_binary_picks_a_store_backend() {
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        // The benchmark harness is a binary of its own (`onramp-store-bench` opens stores).
        if name == "onramp" || name == "onramp-bench" || name.starts_with("onramp-store-") {
            continue;
        }
        let m = manifest(&dir);
        let deps = m.split("[dev-dependencies]").next().unwrap_or("");
        assert!(
            !deps.contains("onramp-store-sql"),
            "{name} must not depend on a store backend"
        );
    }
}

#[test]
fn the_data_plane_never_depends_on_the_control_plane() {
    let edge = root().join("crates/onramp-edge");
    for crate_dir in [edge.clone(), root().join("crates/onramp-balancer")] {
        let m = manifest(&crate_dir);
        let deps = m.split("[dev-dependencies]").next().unwrap_or("");
        for banned in [
            "onramp-store",
            "onramp-api",
            "onramp-control",
            "sqlx",
            "axum",
        ] {
            assert!(
                !deps.contains(banned),
                "{} must not depend on {banned}: the data plane never awaits the store or the API",
                crate_dir.display()
            );
        }
    }
}

/// Architecture Invariant: an edge never opens the store. `onramp edge` reaches the control
/// plane only through `onramp-sync`; the edge protocol's client side names no store either.
#[test]
fn the_edge_role_never_touches_the_store() {
    let edge = std::fs::read_to_string(root().join("crates/onramp/src/edge.rs")).unwrap();
    for needle in [
        "open_store",
        "open_backend",
        "Control::open",
        "onramp_store",
        "SqlStore",
    ] {
        assert!(
            !edge.contains(needle),
            "edge.rs uses `{needle}`: an edge never opens the store"
        );
    }
    for f in ["client.rs", "remote.rs", "report.rs", "state_dir.rs"] {
        let text = std::fs::read_to_string(root().join("crates/onramp-sync/src").join(f)).unwrap();
        for needle in ["onramp_store", "Control::open", "SqlStore"] {
            assert!(!text.contains(needle), "onramp-sync/{f} uses `{needle}`");
        }
    }
}

/// Architecture Invariant: one authentication and authorization step for every dialect. Only
/// `onramp-api/src/caller.rs` looks keys up, reads their secrets or policies, or checks the
/// timestamp window; each dialect calls it, so a limit on a key holds in every dialect.
#[test]
fn only_the_caller_step_reads_keys() {
    let api = root().join("crates/onramp-api/src");
    let mut files = Vec::new();
    rust_files(&api, &mut files);
    for f in files {
        if f.ends_with("caller.rs")
            || f.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("test"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for needle in [
            ".key(",
            "secret_key",
            "allowed_actions",
            "effective_policy",
            "replay::timestamp_ok",
        ] {
            assert!(
                !text.contains(needle),
                "{} uses `{needle}`: keys, secrets, policies and the timestamp window belong to caller.rs",
                f.display()
            );
        }
    }
}

/// The rules of the model live in one place, `onramp-ops`: a dialect decodes its request into an
/// operation and encodes the outcome, and never builds the records of a write nor writes itself.
#[test]
fn only_the_operations_layer_builds_writes() {
    let api = root().join("crates/onramp-api/src");
    let mut files = Vec::new();
    rust_files(&api, &mut files);
    assert!(!files.is_empty());
    for f in files {
        if f.file_name()
            .is_some_and(|n| n.to_string_lossy().contains("test"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for needle in ["Op::Put", "Op::Delete", "control.write(", "WriteError"] {
            assert!(
                !text.contains(needle),
                "{} uses `{needle}`: writes are planned by onramp-ops and committed by onramp_ops::commit",
                f.display()
            );
        }
    }
    let ops = manifest(&root().join("crates/onramp-ops"));
    let deps = ops.split("[dev-dependencies]").next().unwrap_or("");
    assert!(
        !deps.contains("onramp-api") && !deps.contains("axum") && !deps.contains("serde_json"),
        "onramp-ops knows no dialect nor wire format"
    );
}

/// The console is a client of the same steps as the APIs: it never reads keys or secrets itself
/// (login and sessions go through `caller::login` / `caller::resume`), never builds the records
/// of a write nor writes (its changes are GAAP actions run through `tencent::execute`), and does
/// not depend on the store or the edge.
#[test]
fn the_console_goes_through_the_caller_step_and_the_operations() {
    let dir = root().join("crates/onramp-console");
    let mut files = Vec::new();
    rust_files(&dir.join("src"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        if f.file_name()
            .is_some_and(|n| n.to_string_lossy().contains("test"))
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for needle in [
            "Op::Put",
            "Op::Delete",
            ".write(",
            "onramp_ops::commit",
            ".key(",
            "secrets_at",
            "effective_policy",
            ".keys.get(",
            ".keys.values(",
        ] {
            assert!(
                !text.contains(needle),
                "{} uses `{needle}`: the console changes the model through the GAAP actions and \
                 checks keys through the caller step",
                f.display()
            );
        }
    }
    let m = manifest(&dir);
    let deps = m.split("[dev-dependencies]").next().unwrap_or("");
    for banned in ["onramp-store", "onramp-control", "onramp-edge"] {
        assert!(
            !deps.contains(banned),
            "onramp-console must not depend on {banned}"
        );
    }
}

#[test]
fn backend_specific_sql_lives_in_the_dialect_table() {
    let dir = root().join("crates/onramp-store-sql/src");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    for f in files {
        if f.file_name().is_some_and(|n| n == "dialect.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for only_one in [
            "BEGIN IMMEDIATE",
            "FOR UPDATE",
            "PRAGMA",
            "pg_notify",
            "julianday",
            "clock_timestamp",
            "generate_series",
            "INSERT OR ",
            "ISOLATION LEVEL",
        ] {
            assert!(
                !code.contains(only_one),
                "{} has backend-specific SQL ({only_one}): put it in dialect.rs",
                f.display()
            );
        }
    }
}
