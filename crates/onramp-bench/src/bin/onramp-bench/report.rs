//! Results: every figure the scenarios measure, its unit and direction, onramp's target, the
//! table printed at the end (per system the median and, in brackets, the range of the
//! repetitions; onramp's ratio to the better peer; target met or missed), `results.json` and
//! `details.json` (every sample, the spread in percent, notes and the machine).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use onramp_bench::stats::{median, spread_pct};
use serde_json::{json, Value};

use crate::systems::System;

/// What onramp should reach for a figure.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    None,
    /// onramp ≥ f × the better peer (higher is better) or ≤ f × it (lower is better).
    Peer(f64),
    /// Same, against nginx only (UDP: HAProxy has none).
    Nginx(f64),
    AtMost(f64),
    AtLeast(f64),
}

pub struct Metric {
    pub id: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
    pub higher: bool,
    pub target: Target,
}

pub const fn m(
    id: &'static str,
    title: &'static str,
    unit: &'static str,
    higher: bool,
    target: Target,
) -> Metric {
    Metric {
        id,
        title,
        unit,
        higher,
        target,
    }
}

pub const METRICS: &[Metric] = &[
    m(
        "tcp_bulk_1_stream",
        "1. TCP bulk, 1 stream",
        "Gbit/s",
        true,
        Target::Peer(1.5),
    ),
    m(
        "tcp_bulk_1_stream_cpu",
        "1. TCP bulk, 1 stream: proxy CPU",
        "CPU-s/GB",
        false,
        Target::Peer(0.3),
    ),
    m(
        "tcp_bulk_1_stream_cpu_user",
        "1. TCP bulk, 1 stream: of which user space",
        "CPU-s/GB",
        false,
        Target::None,
    ),
    m(
        "tcp_bulk_1_stream_core",
        "1. TCP bulk, 1 stream: proxy core busy (with softirq)",
        "CPU-s/GB",
        false,
        Target::None,
    ),
    m(
        "tcp_bulk_8_streams",
        "1. TCP bulk, 8 streams",
        "Gbit/s",
        true,
        Target::Peer(1.5),
    ),
    m(
        "tcp_bulk_8_streams_cpu",
        "1. TCP bulk, 8 streams: proxy CPU",
        "CPU-s/GB",
        false,
        Target::Peer(0.3),
    ),
    m(
        "tcp_bulk_8_streams_cpu_user",
        "1. TCP bulk, 8 streams: of which user space",
        "CPU-s/GB",
        false,
        Target::None,
    ),
    m(
        "tcp_bulk_8_streams_core",
        "1. TCP bulk, 8 streams: proxy core busy (with softirq)",
        "CPU-s/GB",
        false,
        Target::None,
    ),
    m(
        "tcp_bulk_8_fixed",
        "1. TCP bulk, 8 streams offered 8 × 1 Gbit/s",
        "Gbit/s",
        true,
        Target::None,
    ),
    m(
        "tcp_bulk_8_fixed_cpu",
        "1. TCP bulk, 8 × 1 Gbit/s: proxy CPU",
        "CPU-s/GB",
        false,
        Target::None,
    ),
    m(
        "tcp_bulk_8_fixed_cpu_user",
        "1. TCP bulk, 8 × 1 Gbit/s: of which user space",
        "CPU-s/GB",
        false,
        Target::None,
    ),
    m(
        "conn_rate",
        "2. New connections",
        "conn/s",
        true,
        Target::None,
    ),
    m(
        "conn_rate_failures",
        "2. New connections: failures",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "conn_rate_cpu",
        "2. New connections: proxy CPU",
        "µs/conn",
        false,
        Target::Peer(0.8),
    ),
    m(
        "conn_rate_cpu_user",
        "2. New connections: of which user space",
        "µs/conn",
        false,
        Target::None,
    ),
    m(
        "conn_rate_core",
        "2. New connections: proxy core busy (with softirq)",
        "µs/conn",
        false,
        Target::None,
    ),
    m(
        "latency_p50",
        "3. Ping-pong latency p50",
        "µs",
        false,
        Target::Peer(1.0),
    ),
    m(
        "latency_p99",
        "3. Ping-pong latency p99",
        "µs",
        false,
        Target::Peer(1.0),
    ),
    m(
        "latency_cpu",
        "3. Ping-pong: proxy CPU",
        "% of a core",
        false,
        Target::None,
    ),
    m(
        "udp_pingpong_p50",
        "3. UDP ping-pong latency p50",
        "µs",
        false,
        Target::None,
    ),
    m(
        "udp_pingpong_p99",
        "3. UDP ping-pong latency p99",
        "µs",
        false,
        Target::None,
    ),
    m(
        "udp_pingpong_cpu",
        "3. UDP ping-pong: proxy CPU",
        "% of a core",
        false,
        Target::None,
    ),
    m(
        "udp_rate",
        "4. UDP exchanges",
        "exch/s",
        true,
        Target::Nginx(1.5),
    ),
    m("udp_p99", "4. UDP exchange p99", "µs", false, Target::None),
    m(
        "udp_cpu",
        "4. UDP: proxy CPU",
        "µs/exch",
        false,
        Target::Nginx(0.5),
    ),
    m(
        "udp_cpu_user",
        "4. UDP: of which user space",
        "µs/exch",
        false,
        Target::None,
    ),
    m(
        "udp_core",
        "4. UDP: proxy core busy (with softirq)",
        "µs/exch",
        false,
        Target::None,
    ),
    m(
        "udp_lost",
        "4. UDP: lost exchanges",
        "count",
        false,
        Target::None,
    ),
    m(
        "idle_memory",
        "5. Memory per idle connection",
        "KiB/conn",
        false,
        Target::AtMost(2.4),
    ),
    m(
        "idle_failures",
        "5. Idle connections not opened",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "api_rps",
        "6. API DescribeListenerRealServers",
        "req/s",
        true,
        Target::AtLeast(5000.0),
    ),
    m("api_p99", "6. API p99", "ms", false, Target::AtMost(10.0)),
    m(
        "converge_p50",
        "7. Convergence p50",
        "ms",
        false,
        Target::None,
    ),
    m(
        "converge_p99",
        "7. Convergence p99",
        "ms",
        false,
        Target::AtMost(100.0),
    ),
    m(
        "failover_failed",
        "8. Failover: failed client connections begun after the kill",
        "count",
        false,
        Target::AtMost(0.0),
    ),
    m(
        "failover_in_flight",
        "8. Failover: connections under way on the killed origin (lost)",
        "count",
        false,
        Target::None,
    ),
    m(
        "failover_time",
        "8. Failover: time until no connection goes to the dead origin",
        "ms",
        false,
        Target::None,
    ),
];

/// Every figure: the comparison scenarios, then the hardening ones (onramp only).
fn all() -> impl Iterator<Item = &'static Metric> {
    METRICS
        .iter()
        .chain(crate::attack::METRICS)
        .chain(crate::soak::METRICS)
}

pub fn metric(id: &str) -> &'static Metric {
    all()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("unknown metric {id}"))
}

/// Everything measured in this run.
#[derive(Default)]
pub struct Results {
    samples: BTreeMap<(&'static str, System), Vec<f64>>,
    pub notes: Vec<String>,
    pub extra: BTreeMap<String, Value>,
}

impl Results {
    pub fn add(&mut self, id: &'static str, system: System, value: f64) {
        let _ = metric(id);
        println!(
            "    {:<26} {:<8} {:>12} {}",
            id,
            system.name(),
            fmt_num(value),
            metric(id).unit
        );
        self.samples.entry((id, system)).or_default().push(value);
    }

    pub fn note(&mut self, text: impl Into<String>) {
        let t = text.into();
        println!("  note: {t}");
        self.notes.push(t);
    }

    /// (median, lowest, highest, repetitions) of figure `id` on system `s`.
    pub fn range(&self, id: &str, s: System) -> Option<(f64, f64, f64, usize)> {
        let v = self.samples_of(id, s)?;
        let m = median(v);
        if !m.is_finite() {
            return None;
        }
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((m, lo, hi, v.len()))
    }

    /// The figures measured in this run, in the table's order.
    pub fn figures(&self) -> Vec<&'static str> {
        all()
            .map(|m| m.id)
            .filter(|id| self.samples.keys().any(|(i, _)| i == id))
            .collect()
    }

    pub fn med(&self, id: &str, s: System) -> Option<f64> {
        self.samples_of(id, s).map(median).filter(|x| x.is_finite())
    }

    /// Every sample of figure `id` for `s` (one per repetition).
    pub fn samples_of(&self, id: &str, s: System) -> Option<&[f64]> {
        self.samples
            .iter()
            .find(|((i, sys), _)| *i == id && *sys == s)
            .map(|(_, v)| v.as_slice())
    }

    fn best_peer(&self, m: &Metric, nginx_only: bool) -> Option<f64> {
        let peers: Vec<f64> = [System::Haproxy, System::Nginx]
            .into_iter()
            .filter(|s| !nginx_only || *s == System::Nginx)
            .filter_map(|s| self.med(m.id, s))
            .collect();
        if peers.is_empty() {
            return None;
        }
        Some(if m.higher {
            peers.iter().copied().fold(f64::MIN, f64::max)
        } else {
            peers.iter().copied().fold(f64::MAX, f64::min)
        })
    }

    /// (ratio to the better peer, target text, met?) for onramp.
    fn verdict(&self, m: &Metric) -> (Option<f64>, String, Option<bool>) {
        let on = self.med(m.id, System::Onramp);
        let peer = self.best_peer(m, false);
        let ratio = match (on, peer) {
            (Some(o), Some(p)) if p != 0.0 => Some(o / p),
            _ => None,
        };
        let cmp = |v: f64, limit: f64| if m.higher { v >= limit } else { v <= limit };
        let sign = if m.higher { "≥" } else { "≤" };
        match m.target {
            Target::None => (ratio, String::new(), None),
            Target::Peer(f) => (ratio, format!("{sign} {f}× peer"), ratio.map(|r| cmp(r, f))),
            Target::Nginx(f) => {
                let r = match (on, self.best_peer(m, true)) {
                    (Some(o), Some(p)) if p != 0.0 => Some(o / p),
                    _ => None,
                };
                (
                    ratio.or(r),
                    format!("{sign} {f}× nginx"),
                    r.map(|r| cmp(r, f)),
                )
            }
            Target::AtMost(x) => (ratio, format!("≤ {x}"), on.map(|o| o <= x)),
            Target::AtLeast(x) => (ratio, format!("≥ {x}"), on.map(|o| o >= x)),
        }
    }

    /// The table, as Markdown (also readable on a terminal).
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| scenario | unit | direct | onramp | haproxy | nginx | onramp / better peer | onramp target |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for m in all() {
            let cells: Vec<String> = System::ALL.iter().map(|s| self.cell(m.id, *s)).collect();
            if cells.iter().all(|c| c == "—") {
                continue;
            }
            let (ratio, target, met) = self.verdict(m);
            let ratio = ratio.map_or("—".into(), |r| format!("{r:.2}×"));
            let verdict = match met {
                Some(true) => format!("{target}: met"),
                Some(false) => format!("{target}: **missed**"),
                None if target.is_empty() => String::new(),
                None => format!("{target}: n/a"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                m.title, m.unit, cells[0], cells[1], cells[2], cells[3], ratio, verdict
            );
        }
        if let Some(t) = crate::latency::table(self) {
            let _ = write!(out, "\n{t}");
        }
        out
    }

    /// One cell: the median and, with several repetitions, their range; "—" for none.
    pub fn cell(&self, id: &str, s: System) -> String {
        match self.samples_of(id, s) {
            Some(v) if v.len() > 1 => {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!("{} ({}–{})", fmt_num(median(v)), fmt_num(lo), fmt_num(hi))
            }
            Some(v) => fmt_num(median(v)),
            None => "—".into(),
        }
    }

    /// Targets onramp misses, one line each.
    pub fn misses(&self) -> Vec<String> {
        let mut out: Vec<String> = all()
            .filter_map(|m| {
                let (ratio, target, met) = self.verdict(m);
                (met == Some(false)).then(|| {
                    format!(
                        "{} ({}): onramp {} {}{}; target {}",
                        m.title,
                        m.id,
                        fmt_num(self.med(m.id, System::Onramp).unwrap_or(f64::NAN)),
                        m.unit,
                        ratio.map_or(String::new(), |r| format!(", {r:.2}× the better peer")),
                        target
                    )
                })
            })
            .collect();
        out.extend(crate::latency::misses(self));
        out
    }

    /// `results.json`: one object per (figure, system) with the median.
    pub fn results_json(&self) -> Value {
        let list: Vec<Value> = self
            .samples
            .iter()
            .filter(|(_, v)| median(v).is_finite())
            .map(|((id, s), v)| {
                let m = metric(id);
                json!({"scenario": id, "system": s.name(), "value": round(median(v)),
                       "unit": m.unit, "better": if m.higher { "higher" } else { "lower" }})
            })
            .collect();
        Value::Array(list)
    }

    pub fn details_json(&self, machine: Value) -> Value {
        let samples: Vec<Value> = self
            .samples
            .iter()
            .map(|((id, s), v)| {
                json!({"scenario": id, "system": s.name(), "samples": v,
                       "median": round(median(v)), "spread_pct": round(spread_pct(v))})
            })
            .collect();
        json!({"machine": machine, "samples": samples, "notes": self.notes,
               "misses": self.misses(), "extra": self.extra})
    }

    pub fn write(&self, dir: &Path, machine: Value) -> anyhow::Result<()> {
        std::fs::write(
            dir.join("results.json"),
            serde_json::to_string_pretty(&self.results_json())?,
        )?;
        std::fs::write(
            dir.join("details.json"),
            serde_json::to_string_pretty(&self.details_json(machine))?,
        )?;
        std::fs::write(dir.join("table.md"), self.table())?;
        Ok(())
    }
}

fn round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let digits = 4 - (x.abs().max(1e-9).log10().floor() as i32);
    let f = 10f64.powi(digits.clamp(0, 9));
    (x * f).round() / f
}

pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let a = x.abs();
    if a >= 10_000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{x:.3}")
    }
}
