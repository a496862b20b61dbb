//! Time series behind the statistics actions: per-listener traffic and per-binding health in
//! one-minute buckets, kept for 24 hours. A sampler turns the cumulative counters into deltas
//! every second; reads add the not-yet-sampled part of the current minute, so a query right after
//! traffic sees all of it. Only minutes with something in them take memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use onramp_core::health::MinuteSample;

use crate::metrics::Counters;

const KEEP_SECS: i64 = 24 * 3600;

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn minute_of(t: i64) -> i64 {
    t - t.rem_euclid(60)
}

/// Cumulative counter values at the last sample.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
struct Seen {
    bytes_in: u64,
    bytes_out: u64,
    packets_in: u64,
    packets_out: u64,
    /// TCP connections accepted plus UDP flows made.
    opened: u64,
}

fn read(c: &Counters) -> Seen {
    Seen {
        bytes_in: c.bytes_in.load(Relaxed),
        bytes_out: c.bytes_out.load(Relaxed),
        packets_in: c.packets_in.load(Relaxed),
        packets_out: c.packets_out.load(Relaxed),
        opened: c.conns_total.load(Relaxed) + c.flows_total.load(Relaxed),
    }
}

#[derive(Default)]
struct Series {
    seen: Seen,
    minutes: BTreeMap<i64, MinuteSample>,
}

impl Series {
    fn bucket(&mut self, minute: i64) -> &mut MinuteSample {
        self.minutes.entry(minute).or_insert(MinuteSample {
            minute,
            ..Default::default()
        })
    }

    fn add_delta(&mut self, now: Seen, minute: i64, conns: u64) {
        let d = delta(self.seen, now);
        self.seen = now;
        // A quiet listener takes no memory for the minute (a day of empty minutes for each of
        // 100,000s of listeners would).
        if d == Seen::default() && conns == 0 && !self.minutes.contains_key(&minute) {
            return;
        }
        let b = self.bucket(minute);
        b.bytes_in += d.bytes_in;
        b.bytes_out += d.bytes_out;
        b.packets_in += d.packets_in;
        b.packets_out += d.packets_out;
        b.new_conns += d.opened;
        b.peak_conns = b.peak_conns.max(conns);
    }
}

/// `map[id]`, made empty when missing; the key is copied only then (this runs every second
/// for every listener and binding).
fn slot<'a, V: Default>(map: &'a mut HashMap<String, V>, id: &str) -> &'a mut V {
    if !map.contains_key(id) {
        map.insert(id.to_string(), V::default());
    }
    map.get_mut(id).expect("inserted above")
}

fn delta(a: Seen, b: Seen) -> Seen {
    Seen {
        bytes_in: b.bytes_in.saturating_sub(a.bytes_in),
        bytes_out: b.bytes_out.saturating_sub(a.bytes_out),
        packets_in: b.packets_in.saturating_sub(a.packets_in),
        packets_out: b.packets_out.saturating_sub(a.packets_out),
        opened: b.opened.saturating_sub(a.opened),
    }
}

#[derive(Default)]
pub struct Stats {
    listeners: Mutex<HashMap<String, Series>>,
    bindings: Mutex<HashMap<String, BTreeMap<i64, f64>>>,
}

impl Stats {
    /// Fold the counters' growth since the last sample into the current minute.
    pub fn sample(
        &self,
        counters: &HashMap<String, std::sync::Arc<Counters>>,
        health: &[(String, bool)],
        now: i64,
    ) {
        let minute = minute_of(now);
        let mut ls = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        for (id, c) in counters {
            let conns = c.conns_open.load(Relaxed).max(c.flows.load(Relaxed));
            // Counters of a listener start at zero when it opens, so a new series starts there too:
            // traffic before the first sample is counted.
            let s = slot(&mut ls, id);
            s.add_delta(read(c), minute, conns);
            while s
                .minutes
                .first_key_value()
                .is_some_and(|(m, _)| *m < now - KEEP_SECS)
            {
                s.minutes.pop_first();
            }
        }
        ls.retain(|id, _| counters.contains_key(id));
        drop(ls);
        let mut bs = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        for (id, healthy) in health {
            let m = slot(&mut bs, id);
            let v = m.entry(minute).or_insert(1.0);
            if !healthy {
                *v = 0.0;
            }
            while m
                .first_key_value()
                .is_some_and(|(k, _)| *k < now - KEEP_SECS)
            {
                m.pop_first();
            }
        }
        // A set, not a scan of `health` per series: this runs every second on the data plane's
        // thread, and with 150,000 bindings a scan per entry took the thread for good.
        let live: std::collections::HashSet<&str> =
            health.iter().map(|(h, _)| h.as_str()).collect();
        bs.retain(|id, _| live.contains(id.as_str()));
    }

    /// Minutes of `listener` in `[from, to)`, including the unsampled part of the current one.
    pub fn listener(
        &self,
        id: &str,
        counters: Option<&Counters>,
        from: i64,
        to: i64,
    ) -> Vec<MinuteSample> {
        let ls = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        let Some(s) = ls.get(id) else {
            return Vec::new();
        };
        let mut out: Vec<MinuteSample> = s.minutes.range(from..to).map(|(_, v)| *v).collect();
        let now_min = minute_of(unix_now());
        if let (Some(c), true) = (counters, (from..to).contains(&now_min)) {
            let d = delta(s.seen, read(c));
            let pos = out.iter().position(|b| b.minute == now_min);
            let b = match pos {
                Some(i) => &mut out[i],
                None => {
                    out.push(MinuteSample {
                        minute: now_min,
                        ..Default::default()
                    });
                    let last = out.len() - 1;
                    &mut out[last]
                }
            };
            b.bytes_in += d.bytes_in;
            b.bytes_out += d.bytes_out;
            b.packets_in += d.packets_in;
            b.packets_out += d.packets_out;
            b.new_conns += d.opened;
            b.peak_conns = b
                .peak_conns
                .max(c.conns_open.load(Relaxed).max(c.flows.load(Relaxed)));
        }
        out
    }

    /// Every listener's minutes from `from` on with something in them, by listener.
    pub fn listeners_since(&self, from: i64) -> Vec<(String, Vec<MinuteSample>)> {
        let ls = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        ls.iter()
            .filter_map(|(id, s)| {
                let busy: Vec<MinuteSample> = s
                    .minutes
                    .range(from..)
                    .map(|(_, v)| *v)
                    .filter(|v| {
                        *v != MinuteSample {
                            minute: v.minute,
                            ..Default::default()
                        }
                    })
                    .collect();
                (!busy.is_empty()).then(|| (id.clone(), busy))
            })
            .collect()
    }

    /// Every binding's per-minute health from `from` on that `sent` (the last point sent, by
    /// binding) does not have yet: a later minute, or the same minute with another value.
    /// Filtered in place, so a report in a minute where nothing changed copies nothing.
    pub fn bindings_since(
        &self,
        from: i64,
        sent: &HashMap<String, (i64, f64)>,
    ) -> Vec<(String, Vec<(i64, f64)>)> {
        let bs = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        bs.iter()
            .filter_map(|(id, m)| {
                let last = sent.get(id);
                let fresh = |(k, v): (&i64, &f64)| {
                    last.is_none_or(|l| l.0 < *k || (l.0 == *k && l.1 != *v))
                };
                let points: Vec<(i64, f64)> = m
                    .range(from..)
                    .filter(|p| fresh(*p))
                    .map(|(k, v)| (*k, *v))
                    .collect();
                (!points.is_empty()).then(|| (id.clone(), points))
            })
            .collect()
    }

    pub fn binding(&self, id: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
        let bs = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        bs.get(id)
            .map(|m| m.range(from..to).map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }
}
