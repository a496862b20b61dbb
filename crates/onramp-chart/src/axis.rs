//! Scales: nice tick steps over a value range, values with SI prefixes, times of day.

use std::fmt::Write;

/// What a value counts, for its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A plain count (connections).
    Count,
    /// Bits per second.
    Bits,
    /// Per second (packets/s, requests/s).
    PerSec,
    /// A unit written after the number (`µs`, `Gbit/s`, `KiB`), no prefix added.
    Plain(&'static str),
}

impl Unit {
    /// `v` as a label: `1.2k`, `3.4 Mbit/s`, `120/s`, `64.0 µs`.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Count => si(v, ""),
            Unit::Bits => si(v, "bit/s"),
            Unit::PerSec => si(v, "/s"),
            Unit::Plain(u) => {
                let mut s = short(v);
                if !u.is_empty() {
                    s.push(' ');
                    s.push_str(u);
                }
                s
            }
        }
    }
}

/// `v` with an SI prefix (k, M, G, T) and `unit` after it.
pub fn si(v: f64, unit: &str) -> String {
    let (scaled, prefix) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .iter()
        .find(|(f, _)| v.abs() >= *f)
        .map_or((v, ""), |(f, p)| (v / f, *p));
    let sep = if unit.is_empty() || unit.starts_with('/') {
        ""
    } else {
        " "
    };
    format!("{}{sep}{prefix}{unit}", short(scaled))
}

/// A number in at most three significant digits, without a trailing `.0` for integers.
fn short(v: f64) -> String {
    let a = v.abs();
    let s = if a == 0.0 || (a >= 100.0 && a.fract().abs() < 1e-9) || a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A step of 1, 2, 2.5 or 5 × 10ⁿ that divides `[0, max]` into about `n` parts, and the top of
/// the scale (a multiple of the step at or above `max`).
pub(crate) fn nice(max: f64, n: usize) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (1.0, n as f64);
    }
    let rough = max / n as f64;
    let mag = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * mag);
    let top = (max / step).ceil() * step;
    (step, top.max(step))
}

/// `HH:MM` (UTC) of unix seconds `t`.
pub(crate) fn clock(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    let mut out = String::new();
    let _ = write!(out, "{:02}:{:02}", s / 3600, (s % 3600) / 60);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_cover_the_range() {
        assert_eq!(nice(0.0, 4), (1.0, 4.0));
        assert_eq!(nice(7.0, 4), (2.0, 8.0));
        assert_eq!(nice(100.0, 4), (25.0, 100.0));
        assert_eq!(nice(1234.0, 4), (500.0, 1500.0));
        let (step, top) = nice(0.034, 4);
        assert!((step - 0.01).abs() < 1e-12 && (top - 0.04).abs() < 1e-12);
    }

    #[test]
    fn values_read_like_an_operator_writes_them() {
        assert_eq!(si(0.0, ""), "0");
        assert_eq!(si(1500.0, ""), "1.5k");
        assert_eq!(si(12_100_000_000.0, "bit/s"), "12.1 Gbit/s");
        assert_eq!(si(250.0, "/s"), "250/s");
        assert_eq!(Unit::Plain("µs").format(64.04), "64 µs");
        assert_eq!(Unit::Plain("CPU-s/GB").format(0.2381), "0.238 CPU-s/GB");
        assert_eq!(Unit::Count.format(3.0), "3");
        assert_eq!(clock(1_700_000_000), "22:13");
    }
}
