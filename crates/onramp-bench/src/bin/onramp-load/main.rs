//! `onramp-load`: the benchmark's own load tool and origins.
//!
//! Every subcommand runs on one current-thread tokio runtime (the orchestrator pins the whole
//! process to one CPU with `taskset`), is bounded in time and count, talks to 127.0.0.0/8
//! only, and prints one JSON object on stdout when done (`idle` prints it once the
//! connections are open, then waits).
#![forbid(unsafe_code)]

mod api;
mod client;
mod connrate;
mod echo;
mod flood;
mod idle;
mod pingpong;
mod slowheader;
mod spin_relay;
mod splice_relay;
mod udp;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "onramp-load",
    about = "Load generator and echo origins of the onramp benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// TCP and UDP echo origins (until killed, or --seconds).
    Echo(echo::Args),
    /// N concurrent clients: connect, send 64 B, receive 64 B, close; for D seconds.
    Connrate(connrate::Args),
    /// One persistent connection (or UDP socket), M round trips of 64 B; p50/p99 in µs.
    Pingpong(pingpong::Args),
    /// 64 UDP flows of 64-byte request/response datagrams for D seconds.
    Udp(udp::Args),
    /// Open N connections (one echo each), hold them until stdin closes or a deadline.
    Idle(idle::Args),
    /// Signed (TC3) DescribeListenerRealServers over kept-alive connections for D seconds.
    Api(api::Args),
    /// A bare blocking splice relay: the floor of TCP relaying on this machine, not a product.
    SpliceRelay(splice_relay::Args),
    /// A relay that never sleeps (one thread, zero-timeout poll): the latency floor, not a product.
    SpinRelay(spin_relay::Args),
    /// UDP flood: F one-datagram flows from distinct loopback sources at R new flows/s.
    Flood(flood::Args),
    /// Slow-header HTTP connections: a request head trickled one byte at a time, never ended.
    Slowheader(slowheader::Args),
    /// A normal client at fixed rates: signed API call, TCP round trip, UDP round trip.
    Client(client::Args),
}

/// Errors counted by cause.
#[derive(Default)]
pub struct ErrorCount {
    pub count: u64,
    pub kinds: BTreeMap<String, u64>,
}

impl ErrorCount {
    pub fn add(&mut self, cause: String) {
        self.count += 1;
        *self.kinds.entry(cause).or_default() += 1;
    }
}

/// Raise this process's open-file soft limit to its hard limit (the flood and the slow-header
/// connections must not be limited by the load tool's own descriptors).
fn raise_nofile() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Refuse any address outside 127.0.0.0/8: the benchmark never sends a packet elsewhere.
pub fn loopback(addr: &SocketAddr) -> anyhow::Result<()> {
    match addr {
        SocketAddr::V4(a) if a.ip().is_loopback() => Ok(()),
        _ => anyhow::bail!("{addr} is not in 127.0.0.0/8"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    raise_nofile();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("onramp-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Echo(a) => echo::run(a).await,
            Command::Connrate(a) => connrate::run(a).await,
            Command::Pingpong(a) => pingpong::run(a),
            Command::Udp(a) => udp::run(a).await,
            Command::Idle(a) => idle::run(a).await,
            Command::Api(a) => api::run(a).await,
            Command::SpliceRelay(a) => splice_relay::run(a),
            Command::SpinRelay(a) => spin_relay::run(a),
            Command::Flood(a) => flood::run(a).await,
            Command::Slowheader(a) => slowheader::run(a).await,
            Command::Client(a) => client::run(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onramp-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}
