//! `onramp`: one binary, several roles. `onramp serve` runs the control plane API, the local edge
//! and the embedded store in one process.
#![forbid(unsafe_code)]

mod admin;
mod admin_audit;
mod admin_http;
mod bootstrap;
mod config;
mod edge;
mod httpd;
mod logging;
mod secrets;
mod serve;
mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "onramp",
    version,
    about = "A self-hosted layer-4 global accelerator driven by cloud APIs"
)]
struct Cli {
    /// Log lines as text or as one JSON object per line (every role)
    #[arg(long, global = true, env = "ONRAMP_LOG_FORMAT", value_enum, default_value_t = logging::Format::Text)]
    log_format: logging::Format,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run everything in one process: API, local edge, embedded SQLite store.
    Serve(Box<config::ServeArgs>),
    /// A control node: the APIs and the reconciler over a shared store (PostgreSQL), no data plane.
    Control(Box<config::ServeArgs>),
    /// An edge: the data plane only, configured by control nodes over HTTP; never opens the store.
    Edge(Box<edge::EdgeArgs>),
    /// Operator commands on the store: accounts, keys, status.
    Admin(admin::AdminArgs),
    /// Ask a running node for its edges, regions, listeners per state and origins per health.
    Status(status::StatusArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap formats usage errors itself; --help and --version exit 0.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => run(serve::serve(*args)),
        Command::Control(args) => run(serve::control(*args)),
        Command::Edge(args) => run(edge::run(*args)),
        Command::Admin(args) => run(admin::run(args)),
        Command::Status(args) => run(status::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onramp: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(fut)
}
