//! `onramp-store-bench`: what one write costs as the store grows, in process, without the API
//! or the edge: `State::apply`, a SQL commit, `Control::write` (lock, catch-up, commit, apply)
//! and a node following another's commit (`Control::refresh`: the change log's batch applied),
//! beside a full load (what following cost before the change feed), at a small store and at
//! 100,000 listeners with 1,000,000 origins (and as many bindings). SQLite always, PostgreSQL
//! when `ONRAMP_TEST_POSTGRES_URL` is set (a private schema, dropped afterwards).
//!
//! `cargo run --release -p onramp-bench --bin onramp-store-bench -- [--listeners N] [--per K]`
#![forbid(unsafe_code)]

mod model;
mod runs;

use std::path::PathBuf;

use clap::Parser;
use serde_json::json;

use crate::model::Size;

#[derive(Parser)]
#[command(
    name = "onramp-store-bench",
    about = "Cost of one write as the store grows"
)]
struct Cli {
    /// Listeners in the large store.
    #[arg(long, default_value_t = 100_000)]
    listeners: usize,
    /// Origins (and bindings) per listener.
    #[arg(long, default_value_t = 10)]
    per: usize,
    /// Listeners in the small store.
    #[arg(long, default_value_t = 100)]
    small: usize,
    /// Measured writes per figure (State::apply takes ten times as many).
    #[arg(long, default_value_t = 300)]
    samples: usize,
    /// Where the SQLite files go (removed after each size).
    #[arg(long, default_value = "target/store-bench")]
    dir: PathBuf,
    /// Results as JSON.
    #[arg(long, default_value = "target/store-bench/results.json")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::fs::create_dir_all(&cli.dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for listeners in [cli.small, cli.listeners] {
        let size = Size {
            listeners,
            per: cli.per,
        };
        println!(
            "== {} listeners, {} origins, {} bindings ({} records)",
            size.listeners,
            size.origins(),
            size.origins(),
            size.records()
        );
        let state = runs::state(size, cli.samples * 10);
        println!("{}", state.line());
        let mut stores = Vec::new();
        let sqlite = rt.block_on(runs::sqlite(size, cli.samples, &cli.dir))?;
        println!("{}", sqlite.lines());
        stores.push(sqlite.json());
        if let Some(pg) = rt.block_on(runs::postgres(size, cli.samples))? {
            println!("{}", pg.lines());
            stores.push(pg.json());
        }
        results.push(json!({
            "listeners": size.listeners,
            "origins": size.origins(),
            "bindings": size.origins(),
            "state": state.json(),
            "stores": stores,
        }));
    }
    std::fs::write(&cli.out, serde_json::to_string_pretty(&results)?)?;
    println!("wrote {}", cli.out.display());
    Ok(())
}
