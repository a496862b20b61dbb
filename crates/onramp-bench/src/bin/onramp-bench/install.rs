//! Installing the peers and tools when they are missing: Debian packages through
//! `apt-get install -y` (running `apt-get update` first only if the install fails). Installing
//! does not start them here (the container refuses service starts); if a package did start a
//! system service anyway, the harness reports it and leaves it alone (it did not start it).

use std::path::Path;
use std::process::Command;

use crate::ctx::which;

/// (package, file that shows it is installed).
const NEEDED: &[(&str, &str)] = &[
    ("haproxy", "/usr/sbin/haproxy"),
    ("nginx-light", "/usr/sbin/nginx"),
    (
        "libnginx-mod-stream",
        "/usr/lib/nginx/modules/ngx_stream_module.so",
    ),
    ("iperf3", "/usr/bin/iperf3"),
];

fn apt(args: &[&str]) -> bool {
    println!("  $ apt-get {}", args.join(" "));
    Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Install what is missing; `linux-perf` is optional (only the failover time needs it).
pub fn ensure() -> anyhow::Result<()> {
    let missing: Vec<&str> = NEEDED
        .iter()
        .filter(|(_, f)| !Path::new(f).exists())
        .map(|(p, _)| *p)
        .collect();
    if !missing.is_empty() {
        println!("installing: {}", missing.join(" "));
        let mut args = vec!["install", "-y", "-q"];
        args.extend(&missing);
        let installed = apt(&args) || (apt(&["update", "-q"]) && apt(&args));
        if !installed {
            anyhow::bail!(
                "could not install {} (run as root, or install them yourself)",
                missing.join(" ")
            );
        }
    }
    if which("perf").is_none() {
        println!("perf is missing; trying linux-perf (optional)");
        if !apt(&["install", "-y", "-q", "linux-perf"]) {
            let _ = apt(&["update", "-q"]) && apt(&["install", "-y", "-q", "linux-perf"]);
        }
    }
    Ok(())
}

/// Versions of the peers and tools, for the report.
pub fn versions() -> serde_json::Value {
    let run = |prog: &str, arg: &str| -> String {
        let Some(p) = which(prog) else {
            return "missing".into();
        };
        Command::new(p)
            .arg(arg)
            .output()
            .map(|o| {
                let t = if o.stdout.is_empty() {
                    o.stderr
                } else {
                    o.stdout
                };
                String::from_utf8_lossy(&t)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default()
    };
    serde_json::json!({
        "haproxy": run("haproxy", "-v"),
        "nginx": run("nginx", "-v"),
        "iperf3": run("iperf3", "--version"),
        "perf": run("perf", "--version"),
    })
}
