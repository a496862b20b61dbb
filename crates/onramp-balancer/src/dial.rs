//! Traffic dials: splitting new connections across a listener's endpoint groups.
//!
//! Each group has a dial (0–100); a new connection or flow goes to group `i` with share
//! `dial_i / Σ dial`, and a group with dial 0 gets none. The choice is a pure function of a
//! ticket: a counter that increases by one per connection gives the exact proportions over every
//! `Σ dial` consecutive tickets; a client hash gives every connection of a client the same
//! group (source affinity).

/// The group for `ticket` among groups with these dials, or `None` when every dial is 0.
///
/// Over any `Σ dials` consecutive tickets, group `i` is chosen exactly `dials[i]` times.
pub fn pick_group(dials: &[u32], ticket: u64) -> Option<usize> {
    let total: u64 = dials.iter().map(|&d| u64::from(d)).sum();
    if total == 0 {
        return None;
    }
    let mut slot = ticket % total;
    for (i, &d) in dials.iter().enumerate() {
        let d = u64::from(d);
        if slot < d {
            return Some(i);
        }
        slot -= d;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_tickets_split_exactly_by_dial() {
        let dials = [30, 70, 0];
        let mut counts = [0u32; 3];
        for t in 1_000..1_100 {
            counts[pick_group(&dials, t).unwrap()] += 1;
        }
        assert_eq!(counts, [30, 70, 0]);
    }

    #[test]
    fn all_dials_zero_is_no_group() {
        assert_eq!(pick_group(&[0, 0], 7), None);
        assert_eq!(pick_group(&[], 7), None);
    }

    #[test]
    fn a_single_group_takes_everything_whatever_its_dial() {
        for t in [0, 1, u64::MAX] {
            assert_eq!(pick_group(&[5], t), Some(0));
        }
    }

    #[test]
    fn the_same_ticket_gives_the_same_group() {
        let dials = [50, 50];
        for t in [3u64, 99, 12_345, u64::MAX - 1] {
            assert_eq!(pick_group(&dials, t), pick_group(&dials, t));
        }
    }
}
