//! Scenario 3, latency: ping-pong over one TCP connection and over one UDP flow (64 bytes, one
//! request outstanding), with the proxy's CPU during each (% of one core), and the latency-mode
//! table: every system, the busy-polling variants and the spinning floor relay side by side, with
//! the goals of `--busy-poll` (TCP p50 ≤ HAProxy `busy-polling`, p99 ≤ 0.8 × it; UDP p50 and p99
//! ≤ 0.8 × nginx).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use serde_json::json;

use crate::ctx::Ctx;
use crate::dataplane::load;
use crate::report::{fmt_num, Results};
use crate::systems::{Running, System};

/// TCP, then UDP when the system relays it.
pub fn run(ctx: &Ctx, run: &mut Running, res: &mut Results) -> anyhow::Result<()> {
    let ids = ["latency_p50", "latency_p99", "latency_cpu"];
    pingpong(ctx, run, run.endpoints.echo, false, ids, res)?;
    if let Some(udp) = run.endpoints.udp {
        let ids = ["udp_pingpong_p50", "udp_pingpong_p99", "udp_pingpong_cpu"];
        pingpong(ctx, run, udp, true, ids, res)?;
    }
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn pingpong(
    ctx: &Ctx,
    run: &mut Running,
    target: SocketAddr,
    udp: bool,
    ids: [&'static str; 3],
    res: &mut Results,
) -> anyhow::Result<()> {
    let mut args = vec![
        "pingpong".to_string(),
        "--addr".into(),
        target.to_string(),
        "--count".into(),
        ctx.plan.pingpong_count.to_string(),
    ];
    if udp {
        args.push("--udp".into());
    }
    let load_before = loadavg();
    let c0 = run.cpu_use(ctx.ticks);
    let t0 = Instant::now();
    let v = load(ctx, &args, Duration::from_secs(150))?;
    let cpu = run.cpu_use(ctx.ticks) - c0;
    let secs = t0.elapsed().as_secs_f64();
    let num = |k: &str| v[k].as_f64().ok_or_else(|| anyhow!("no {k} in {v}"));
    res.add(ids[0], run.system, num("p50_us")?);
    res.add(ids[1], run.system, num("p99_us")?);
    if run.system != System::Direct {
        res.add(ids[2], run.system, cpu.all / secs * 100.0);
    }
    // The machine's load beside each run: a spinning proxy competes with whatever else runs.
    let key = format!("latency/{}/{}", ids[0], run.system.name());
    let e = res.extra.entry(key).or_insert_with(|| json!([]));
    if let Some(a) = e.as_array_mut() {
        a.push(
            json!({"loadavg_before": load_before, "loadavg_after": loadavg(),
                      "seconds": secs, "report": v}),
        );
    }
    Ok(())
}

/// A goal of the latency mode: onramp `--busy-poll`'s figure ≤ `factor` × `against`'s.
struct Goal {
    id: &'static str,
    what: &'static str,
    against: System,
    factor: f64,
}

const GOALS: [Goal; 4] = [
    Goal {
        id: "latency_p50",
        what: "TCP ping-pong p50",
        against: System::HaproxyBusy,
        factor: 1.0,
    },
    Goal {
        id: "latency_p99",
        what: "TCP ping-pong p99",
        against: System::HaproxyBusy,
        factor: 0.8,
    },
    Goal {
        id: "udp_pingpong_p50",
        what: "UDP ping-pong p50",
        against: System::Nginx,
        factor: 0.8,
    },
    Goal {
        id: "udp_pingpong_p99",
        what: "UDP ping-pong p99",
        against: System::Nginx,
        factor: 0.8,
    },
];

/// (onramp-busy, reference, met?) of a goal, when both were measured.
fn verdict(res: &Results, g: &Goal) -> Option<(f64, f64, bool)> {
    let on = res.med(g.id, System::OnrampBusy)?;
    let other = res.med(g.id, g.against)?;
    Some((on, other, on <= g.factor * other))
}

/// The latency-mode table (Markdown), when the latency scenario ran.
pub fn table(res: &Results) -> Option<String> {
    let cols = [
        "latency_p50",
        "latency_p99",
        "latency_cpu",
        "udp_pingpong_p50",
        "udp_pingpong_p99",
        "udp_pingpong_cpu",
    ];
    let rows: Vec<System> = System::EVERY
        .into_iter()
        .filter(|s| cols.iter().any(|c| res.samples_of(c, *s).is_some()))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut out = String::from(
        "| latency mode | TCP p50 (µs) | TCP p99 (µs) | TCP: proxy CPU (% of a core) \
         | UDP p50 (µs) | UDP p99 (µs) | UDP: proxy CPU (% of a core) |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for s in rows {
        let cells: Vec<String> = cols.iter().map(|c| res.cell(c, s)).collect();
        let _ = writeln!(out, "| {} | {} |", s.name(), cells.join(" | "));
    }
    let mut goals = String::new();
    for g in &GOALS {
        if let Some((on, other, met)) = verdict(res, g) {
            let _ = writeln!(
                goals,
                "| {} | {} µs | {} µs ({}) | {:.2}× | ≤ {}×: {} |",
                g.what,
                fmt_num(on),
                fmt_num(other),
                g.against.name(),
                on / other,
                g.factor,
                if met { "met" } else { "**missed**" }
            );
        }
    }
    if !goals.is_empty() {
        out.push_str(
            "\n| goal of `--busy-poll` | onramp-busy | reference | ratio | target |\n\
             |---|---|---|---|---|\n",
        );
        out.push_str(&goals);
    }
    Some(out)
}

/// The latency-mode goals missed, one line each.
pub fn misses(res: &Results) -> Vec<String> {
    GOALS
        .iter()
        .filter_map(|g| {
            let (on, other, met) = verdict(res, g)?;
            (!met).then(|| {
                format!(
                    "latency mode, {}: onramp-busy {} µs, {} {} µs ({:.2}×); target ≤ {}×",
                    g.what,
                    fmt_num(on),
                    g.against.name(),
                    fmt_num(other),
                    on / other,
                    g.factor
                )
            })
        })
        .collect()
}
