//! Health state: the rise/fall machine and jittered check intervals.
//!
//! A backend that is up goes down after `fall` consecutive failed checks; a backend that is down
//! comes back after `rise` consecutive successful checks. A result that agrees with the current
//! state resets the opposite streak, so a single flap never flips the state. Passive signals
//! (a failed connect) can mark a backend down at once with [`HealthMachine::mark_down`].

use crate::hash::mix64;

/// The rise/fall state machine of one checked address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthMachine {
    rise: u32,
    fall: u32,
    healthy: bool,
    /// Consecutive results that disagree with the current state.
    streak: u32,
}

impl HealthMachine {
    /// A machine needing `rise` successes to come up and `fall` failures to go down
    /// (0 is treated as 1).
    pub fn new(rise: u32, fall: u32, initially_healthy: bool) -> Self {
        Self {
            rise: rise.max(1),
            fall: fall.max(1),
            healthy: initially_healthy,
            streak: 0,
        }
    }

    /// The current state.
    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// Record one check result. Returns `Some(new_state)` when the state flips.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success == self.healthy {
            self.streak = 0;
            return None;
        }
        self.streak = self.streak.saturating_add(1);
        let needed = if self.healthy { self.fall } else { self.rise };
        if self.streak >= needed {
            self.healthy = success;
            self.streak = 0;
            Some(success)
        } else {
            None
        }
    }

    /// Passive failure (e.g. a refused connect): mark down immediately. Returns `Some(false)`
    /// if the backend was up; when already down it restarts the rise streak and returns `None`.
    pub fn mark_down(&mut self) -> Option<bool> {
        self.streak = 0;
        if self.healthy {
            self.healthy = false;
            Some(false)
        } else {
            None
        }
    }
}

/// `base_ms` moved by a deterministic jitter of at most ±10 % derived from `seed`, so that checks
/// of many backends (seeded by, say, a key hash plus a counter) do not fire in lockstep.
pub fn jittered_interval_ms(base_ms: u64, seed: u64) -> u64 {
    let span = base_ms / 10;
    let width = span.saturating_mul(2).saturating_add(1);
    let offset = mix64(seed) % width;
    (base_ms - span).saturating_add(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_after_fall_failures_and_rises_after_rise_successes() {
        let mut h = HealthMachine::new(2, 3, true);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), Some(false));
        assert!(!h.healthy());
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), Some(true));
        assert!(h.healthy());
    }

    #[test]
    fn streaks_reset_on_the_other_result() {
        let mut h = HealthMachine::new(2, 2, true);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None);
        assert!(h.healthy());
        assert_eq!(h.record(false), Some(false));
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), None);
        assert!(!h.healthy());
        assert_eq!(h.record(true), Some(true));
    }

    #[test]
    fn zero_thresholds_mean_one() {
        let mut h = HealthMachine::new(0, 0, false);
        assert_eq!(h.record(true), Some(true));
        assert_eq!(h.record(false), Some(false));
    }

    #[test]
    fn mark_down_is_immediate_and_resets_rise() {
        let mut h = HealthMachine::new(2, 5, true);
        assert_eq!(h.mark_down(), Some(false));
        assert_eq!(h.mark_down(), None);
        assert_eq!(h.record(true), None);
        assert_eq!(h.mark_down(), None);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), Some(true));
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..1_000 {
            let v = jittered_interval_ms(10_000, seed);
            assert!((9_000..=11_000).contains(&v), "{v}");
            seen.insert(v);
        }
        assert!(seen.len() > 100);
        assert_eq!(jittered_interval_ms(5, 42), 5);
        assert_eq!(jittered_interval_ms(0, 42), 0);
        assert_eq!(
            jittered_interval_ms(1_000, 7),
            jittered_interval_ms(1_000, 7)
        );
        assert!(jittered_interval_ms(u64::MAX, 3) >= u64::MAX - u64::MAX / 10);
    }
}
