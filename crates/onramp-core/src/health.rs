//! Health as the data plane observes it, read by the API to report statuses.
//!
//! The edge implements `HealthSource`; the API asks it per binding. Without an edge (or before
//! the first check) the answer is `None`, and the dialects report the documented "normal/initial"
//! state rather than inventing results.

/// What the edge knows of one binding (origin + port on a listener).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindingHealth {
    /// The binding can take traffic (at least one resolved address is up).
    pub healthy: bool,
    /// Resolved addresses that are down, as `ip:port`.
    pub down: Vec<String>,
    /// Last measured round-trip time of a health check, microseconds.
    pub rtt_micros: Option<u64>,
    /// The domain did not resolve.
    pub resolve_failed: bool,
}

/// Traffic of one listener in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinuteSample {
    /// Unix seconds of the minute's start.
    pub minute: i64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    /// Most connections (TCP) or flows (UDP) open at once.
    pub peak_conns: u64,
    /// Connections accepted (TCP) and flows made (UDP) in the minute.
    pub new_conns: u64,
}

/// Per-minute samples of several listeners summed minute by minute, oldest first (an
/// accelerator's traffic is its listeners').
pub fn merge_minutes(all: Vec<Vec<MinuteSample>>) -> Vec<MinuteSample> {
    let mut by_minute: std::collections::BTreeMap<i64, MinuteSample> = Default::default();
    for s in all.into_iter().flatten() {
        let m = by_minute.entry(s.minute).or_insert(MinuteSample {
            minute: s.minute,
            ..Default::default()
        });
        m.bytes_in += s.bytes_in;
        m.bytes_out += s.bytes_out;
        m.packets_in += s.packets_in;
        m.packets_out += s.packets_out;
        m.peak_conns += s.peak_conns;
        m.new_conns += s.new_conns;
    }
    by_minute.into_values().collect()
}

/// One edge as the control plane knows it: where it serves, what it applied, when it last
/// reported. An edge that has not reported for a while is not `live` and holds no status back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EdgeInfo {
    pub name: String,
    pub region: String,
    /// The store revision whose configuration it serves.
    pub applied_revision: u64,
    /// Unix milliseconds of its last report.
    pub last_seen_ms: i64,
    pub live: bool,
    /// Listeners it has open.
    pub listeners_open: usize,
    /// Listeners it could not open (their port could not be bound).
    pub listeners_failed: usize,
}

pub trait HealthSource: Send + Sync {
    fn binding(&self, binding_id: &str) -> Option<BindingHealth>;
    /// The binding's health as each edge that checks it sees it (edge name, health), for views
    /// that show health per edge; by default the one answer of `binding`, from an unnamed edge.
    fn binding_by_edge(&self, binding_id: &str) -> Vec<(String, BindingHealth)> {
        self.binding(binding_id)
            .map(|h| vec![(String::new(), h)])
            .unwrap_or_default()
    }
    /// The edges serving this control plane (none known: empty).
    fn edges(&self) -> Vec<EdgeInfo> {
        Vec::new()
    }
    /// Why a listener could not open on the edge (its port could not be bound), if so.
    fn listener_failure(&self, _listener_id: &str) -> Option<String> {
        None
    }
    /// Per-minute traffic of a listener with `from <= minute < to` (unix seconds), oldest first.
    fn listener_series(&self, _listener_id: &str, _from: i64, _to: i64) -> Vec<MinuteSample> {
        Vec::new()
    }
    /// Per-minute health of a binding (1.0 healthy all minute, 0.0 down at some point), oldest first.
    fn binding_series(&self, _binding_id: &str, _from: i64, _to: i64) -> Vec<(i64, f64)> {
        Vec::new()
    }
}

/// No edge attached: nothing is known.
pub struct NoHealth;

impl HealthSource for NoHealth {
    fn binding(&self, _: &str) -> Option<BindingHealth> {
        None
    }
}

/// The start of the minute of `t` (unix seconds).
pub fn minute_of(t: i64) -> i64 {
    t - t.rem_euclid(60)
}

/// What a binding's health series says of a minute: 1.0 healthy all minute, 0.0 down at some
/// point in it, `None` nothing known (the binding was not there).
pub type HealthPoint = (i64, Option<f64>);

/// Health points by binding, as an edge reports them.
pub type BindingPoints = Vec<(String, Vec<HealthPoint>)>;

/// The per-minute health of one binding, kept as change points: a point `(minute, v)` says
/// that every minute from `minute` on has `v`, until the next point. A binding that never
/// changes costs one point a day instead of 1,440, and telling someone else what changed
/// (an edge's report to a control node) is telling them the points written since.
///
/// A minute's value is the lowest state seen in it (down at any moment makes it 0.0); a
/// change written at minute `m` may leave a point at `m + 60` (what the minutes after `m` start
/// from). Points are only ever upserted, never removed but by age, so a receiver that upserts
/// the same points holds the same series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthSeries {
    points: Vec<HealthPoint>,
}

impl HealthSeries {
    /// The value in effect at `minute`.
    fn at(&self, minute: i64) -> Option<f64> {
        let i = self.points.partition_point(|p| p.0 <= minute);
        i.checked_sub(1).and_then(|i| self.points[i].1)
    }

    /// Set the value from `minute` on (replacing a point at that minute).
    pub fn upsert(&mut self, minute: i64, v: Option<f64>) {
        match self.points.binary_search_by_key(&minute, |p| p.0) {
            Ok(i) => self.points[i].1 = v,
            Err(i) => self.points.insert(i, (minute, v)),
        }
    }

    /// The binding's state became `state` at `now` (unix seconds; `None`: the binding is gone).
    /// Returns the points written, for whoever follows this series.
    pub fn observe(&mut self, now: i64, state: Option<bool>) -> Vec<HealthPoint> {
        let m = minute_of(now);
        let s = state.map(|h| if h { 1.0 } else { 0.0 });
        let mut written = Vec::new();
        let cur = self.at(m);
        // The lowest state seen in the minute; "nothing known" gives way to any state.
        let this = match (cur, s) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if this != cur {
            self.upsert(m, this);
            written.push((m, this));
        }
        if self.at(m + 60) != s {
            self.upsert(m + 60, s);
            written.push((m + 60, s));
        }
        written
    }

    /// Nothing is known from `minute` on: the one who told this series went away then (a
    /// receiver's copy; the points after it are dropped).
    pub fn cut(&mut self, minute: i64) {
        self.points
            .truncate(self.points.partition_point(|p| p.0 <= minute));
        if self.at(minute).is_some() {
            self.upsert(minute, None);
        }
    }

    /// Forget the points superseded before `oldest` (the one in effect then stays, so readers
    /// cap their `from` at the window themselves). True when nothing is left to show: the
    /// series can go.
    pub fn prune(&mut self, oldest: i64) -> bool {
        let keep = self.points.partition_point(|p| p.0 <= oldest);
        if keep > 1 {
            self.points.drain(..keep - 1);
        }
        if let [(m, None)] = self.points[..] {
            if m <= oldest {
                self.points.clear();
            }
        }
        self.points.is_empty()
    }

    /// Every minute with `from <= minute < to` and a known value, oldest first.
    pub fn minutes(&self, from: i64, to: i64) -> Vec<(i64, f64)> {
        let Some(first) = self.points.first() else {
            return Vec::new();
        };
        let mut t = minute_of(from + 59).max(first.0);
        let mut out = Vec::new();
        let mut i = self.points.partition_point(|p| p.0 <= t);
        let mut v = i.checked_sub(1).and_then(|i| self.points[i].1);
        while t < to {
            while self.points.get(i).is_some_and(|p| p.0 <= t) {
                v = self.points[i].1;
                i += 1;
            }
            if let Some(v) = v {
                out.push((t, v));
            } else if i == self.points.len() {
                break;
            }
            t += 60;
        }
        out
    }

    pub fn points(&self) -> &[HealthPoint] {
        &self.points
    }
}

#[cfg(test)]
mod series_tests {
    use super::*;

    // A minute boundary (1,800,000,000 is a multiple of 60).
    const M: i64 = 1_800_000_000;

    #[test]
    fn a_steady_binding_is_one_point_read_minute_by_minute() {
        let mut s = HealthSeries::default();
        assert_eq!(s.observe(M + 5, Some(true)), [(M, Some(1.0))]);
        assert_eq!(s.points().len(), 1);
        assert_eq!(
            s.minutes(M, M + 180),
            [(M, 1.0), (M + 60, 1.0), (M + 120, 1.0)]
        );
        assert_eq!(
            s.minutes(M + 1, M + 120),
            [(M + 60, 1.0)],
            "whole minutes from `from`"
        );
        assert!(
            s.minutes(M - 600, M).is_empty(),
            "nothing before the first point"
        );
    }

    #[test]
    fn down_at_any_moment_marks_the_minute_and_recovery_starts_the_next() {
        let mut s = HealthSeries::default();
        s.observe(M, Some(true));
        s.observe(M + 70, Some(false));
        s.observe(M + 80, Some(true));
        assert_eq!(
            s.minutes(M, M + 240),
            [(M, 1.0), (M + 60, 0.0), (M + 120, 1.0), (M + 180, 1.0)]
        );
        // Down again in the same minute: the recovery point moves on with it.
        s.observe(M + 90, Some(false));
        assert_eq!(s.minutes(M + 60, M + 180), [(M + 60, 0.0), (M + 120, 0.0)]);
        s.observe(M + 130, Some(true));
        assert_eq!(
            s.minutes(M + 120, M + 240),
            [(M + 120, 0.0), (M + 180, 1.0)]
        );
    }

    #[test]
    fn a_gone_binding_stops_its_series_and_ages_out() {
        let mut s = HealthSeries::default();
        s.observe(M, Some(true));
        s.observe(M + 130, None);
        assert_eq!(
            s.minutes(M, M + 600),
            [(M, 1.0), (M + 60, 1.0), (M + 120, 1.0)]
        );
        // Back within the minute it went: nothing is lost.
        s.observe(M + 140, Some(true));
        assert_eq!(
            s.minutes(M + 120, M + 240),
            [(M + 120, 1.0), (M + 180, 1.0)]
        );
        s.observe(M + 200, None);
        assert!(!s.prune(M + 120), "still within the window");
        assert_eq!(
            s.points().len(),
            3,
            "nothing in effect after M + 120 was dropped"
        );
        assert_eq!(
            s.minutes(M + 120, M + 600),
            [(M + 120, 1.0), (M + 180, 1.0)]
        );
        assert!(s.prune(M + 86_400), "a day after it went, nothing is left");
    }

    #[test]
    fn a_follower_upserting_the_written_points_holds_the_same_series() {
        let mut s = HealthSeries::default();
        let mut follower = HealthSeries::default();
        for (t, st) in [
            (M, Some(true)),
            (M + 61, Some(false)),
            (M + 62, Some(true)),
            (M + 65, None),
            (M + 66, Some(false)),
            (M + 300, Some(true)),
        ] {
            for (m, v) in s.observe(t, st) {
                follower.upsert(m, v);
            }
        }
        assert_eq!(follower.minutes(M, M + 600), s.minutes(M, M + 600));
        assert_eq!(s.minutes(M + 60, M + 360)[0], (M + 60, 0.0));
    }
}
