//! Traffic charts and "traffic now", from the per-minute series the GAAP statistics actions
//! answer from (`HealthSource::listener_series`), summed over an accelerator's listeners.
//!
//! Over the last hour a point is a minute; over a day, five minutes. Connections are the new
//! ones per minute (TCP connections accepted, UDP flows made) and the most open at once in the
//! bucket, bandwidth the average bits per second, packets the average per second (UDP
//! datagrams; TCP has none).

use onramp_api::Api;
use onramp_chart::{TimeChart, Unit};
use onramp_core::health::{merge_minutes, MinuteSample};

/// The span a chart covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Hour,
    Day,
}

impl Range {
    /// `?range=24h` is a day; anything else an hour.
    pub fn parse(q: Option<&str>) -> Self {
        match q {
            Some("24h") => Range::Day,
            _ => Range::Hour,
        }
    }

    pub fn secs(self) -> i64 {
        match self {
            Range::Hour => 3600,
            Range::Day => 86_400,
        }
    }

    fn bucket(self) -> i64 {
        match self {
            Range::Hour => 60,
            Range::Day => 300,
        }
    }

    pub fn query(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
        }
    }
}

/// The minutes of `listeners` summed, over `[from, to)`.
pub fn minutes(api: &Api, listeners: &[String], from: i64, to: i64) -> Vec<MinuteSample> {
    merge_minutes(
        listeners
            .iter()
            .map(|id| api.health.listener_series(id, from, to))
            .collect(),
    )
}

/// The three charts of a listener or an accelerator, as SVG.
pub struct Charts {
    pub connections: String,
    pub bandwidth: String,
    pub packets: String,
}

type Points = Vec<(i64, Option<f64>)>;

/// Bucket the minutes: for each bucket, `f` of the minutes in it.
fn buckets(
    mins: &[MinuteSample],
    first: i64,
    now: i64,
    g: i64,
    f: impl Fn(&[&MinuteSample]) -> f64,
) -> Points {
    let mut out = Vec::new();
    let mut t = first;
    while t <= now {
        let inside: Vec<&MinuteSample> = mins
            .iter()
            .filter(|m| m.minute >= t && m.minute < t + g)
            .collect();
        out.push((t, Some(f(&inside))));
        t += g;
    }
    out
}

pub fn charts(api: &Api, listeners: &[String], range: Range, now: i64, what: &str) -> Charts {
    let g = range.bucket();
    let from = now - range.secs();
    let first = from - from.rem_euclid(g);
    let mins = minutes(api, listeners, first, now + 60);
    let gf = g as f64;
    let sum = |f: fn(&MinuteSample) -> u64| {
        move |ms: &[&MinuteSample]| ms.iter().map(|m| f(m)).sum::<u64>() as f64
    };
    let per_sec = |f: fn(&MinuteSample) -> u64| move |ms: &[&MinuteSample]| sum(f)(ms) / gf;
    let bits = |f: fn(&MinuteSample) -> u64| move |ms: &[&MinuteSample]| sum(f)(ms) * 8.0 / gf;
    let peak = buckets(&mins, first, now, g, |ms| {
        ms.iter().map(|m| m.peak_conns).max().unwrap_or(0) as f64
    });
    let minutes_per_bucket = gf / 60.0;
    let new = buckets(&mins, first, now, g, move |ms| {
        ms.iter().map(|m| m.new_conns).sum::<u64>() as f64 / minutes_per_bucket
    });
    let span = range.query();
    Charts {
        connections: TimeChart::new(
            format!("{what}: connections, {span}"),
            Unit::Count,
            from,
            now,
        )
        .series("new per minute", new)
        .series("open (peak)", peak)
        .svg(),
        bandwidth: TimeChart::new(format!("{what}: bandwidth, {span}"), Unit::Bits, from, now)
            .series("in", buckets(&mins, first, now, g, bits(|m| m.bytes_in)))
            .series("out", buckets(&mins, first, now, g, bits(|m| m.bytes_out)))
            .svg(),
        packets: TimeChart::new(format!("{what}: packets, {span}"), Unit::PerSec, from, now)
            .series(
                "in",
                buckets(&mins, first, now, g, per_sec(|m| m.packets_in)),
            )
            .series(
                "out",
                buckets(&mins, first, now, g, per_sec(|m| m.packets_out)),
            )
            .svg(),
    }
}

/// Traffic over the last 60 s: bits per second in and out, new connections, and the most
/// connections open at once this minute.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Now {
    pub bits_in: f64,
    pub bits_out: f64,
    pub new_conns: f64,
    pub connections: u64,
}

pub fn now(api: &Api, listeners: &[String], now: i64) -> Now {
    let this = now - now.rem_euclid(60);
    let mins = minutes(api, listeners, this - 60, this + 60);
    // The part of the previous minute that is still inside the last 60 s.
    let share = (60 - (now - this)) as f64 / 60.0;
    let mut out = Now::default();
    for m in &mins {
        let w = if m.minute == this { 1.0 } else { share };
        out.bits_in += m.bytes_in as f64 * 8.0 * w / 60.0;
        out.bits_out += m.bytes_out as f64 * 8.0 * w / 60.0;
        out.new_conns += m.new_conns as f64 * w;
        if m.minute == this {
            out.connections = m.peak_conns;
        }
    }
    out
}
