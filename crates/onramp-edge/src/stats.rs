//! Time series behind the statistics actions: per-listener traffic in one-minute buckets and
//! per-binding health as change points (`HealthSeries`), kept for 24 hours. A sampler turns the
//! cumulative counters into deltas every second; reads add the not-yet-sampled part of the
//! current minute, so a query right after traffic sees all of it. Only minutes with something
//! in them take memory, and health costs nothing until it changes: each change is written when
//! it happens, with a sequence number, so a report carries the points written since the last
//! one a control node acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use onramp_core::health::{minute_of, BindingPoints, HealthPoint, HealthSeries, MinuteSample};

use crate::metrics::Counters;
use crate::seqlog::SeqLog;

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

/// Per-binding health series, and the points written lately, numbered for reports.
#[derive(Default)]
struct Bindings {
    series: HashMap<String, HealthSeries>,
    log: SeqLog<(String, HealthPoint)>,
    /// The minute of the last sweep of aged-out series.
    swept: i64,
}

fn group(points: impl Iterator<Item = (String, HealthPoint)>) -> BindingPoints {
    let mut by: HashMap<String, Vec<HealthPoint>> = HashMap::new();
    for (id, p) in points {
        by.entry(id).or_default().push(p);
    }
    by.into_iter().collect()
}

#[derive(Default)]
pub struct Stats {
    listeners: Mutex<HashMap<String, Series>>,
    bindings: Mutex<Bindings>,
}

impl Stats {
    /// A binding's health became `state` at `now` (`None`: the binding is gone).
    pub fn health_changed(&self, id: &str, state: Option<bool>, now: i64) {
        let mut bs = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        let b = &mut *bs;
        for p in slot(&mut b.series, id).observe(now, state) {
            b.log.push((id.to_string(), p));
        }
    }

    /// The health points written from sequence number `since` on (`None`, or older than the
    /// log: every point of every series), and the number to ask from next time.
    pub fn binding_points(&self, since: Option<u64>) -> (BindingPoints, u64) {
        let bs = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        let points = match since.and_then(|s| bs.log.since(s)) {
            Some(fresh) => group(fresh.map(|(id, p)| (id.clone(), *p))),
            None => bs
                .series
                .iter()
                .map(|(id, s)| (id.clone(), s.points().to_vec()))
                .collect(),
        };
        (points, bs.log.next())
    }

    /// Fold the counters' growth since the last sample into the current minute; once a minute,
    /// drop the health series that aged out.
    pub fn sample(&self, counters: &HashMap<String, std::sync::Arc<Counters>>, now: i64) {
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
        if bs.swept != minute {
            bs.swept = minute;
            bs.series.retain(|_, s| !s.prune(now - KEEP_SECS));
        }
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

    /// A binding's health minute by minute in `[from, to)`, within the last 24 hours and up
    /// to the current minute.
    pub fn binding(&self, id: &str, from: i64, to: i64, now: i64) -> Vec<(i64, f64)> {
        let bs = self.bindings.lock().unwrap_or_else(|p| p.into_inner());
        bs.series
            .get(id)
            .map(|s| s.minutes(from.max(now - KEEP_SECS), to.min(minute_of(now) + 60)))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A minute boundary (1,800,000,000 is a multiple of 60).
    const T: i64 = 1_800_000_000;

    #[test]
    fn health_points_are_logged_as_they_change_and_followed_by_sequence() {
        let s = Stats::default();
        s.health_changed("b1", Some(true), T);
        s.health_changed("b2", Some(true), T);
        let (all, next) = s.binding_points(None);
        assert_eq!(all.len(), 2);
        assert_eq!(s.binding_points(Some(next)).0, vec![], "nothing since");
        s.health_changed("b1", Some(false), T + 61);
        let (since, next2) = s.binding_points(Some(next));
        assert_eq!(since, vec![("b1".to_string(), vec![(T + 60, Some(0.0))])]);
        assert!(next2 > next);
        // Steady for an hour: no point, and the minutes read back from the change points.
        let read = s.binding("b2", T, T + 3600, T + 3599);
        assert_eq!(read.len(), 60);
        assert_eq!(
            s.binding("b1", T, T + 180, T + 119),
            [(T, 1.0), (T + 60, 0.0)]
        );
    }

    #[test]
    fn a_follower_behind_the_log_gets_every_series() {
        let s = Stats::default();
        for i in 0..(crate::seqlog::MAX + 10) {
            s.health_changed(&format!("b{i}"), Some(true), T);
        }
        let (points, _) = s.binding_points(Some(0));
        assert_eq!(
            points.len(),
            crate::seqlog::MAX + 10,
            "the log dropped its start: everything"
        );
    }
}
