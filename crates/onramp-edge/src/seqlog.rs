//! What was written lately, numbered in order, for followers that each remember the number
//! they have reached (an edge's reports to each control node): a follower asks for what came
//! after its number and is told when the log no longer holds all of it.

use std::collections::VecDeque;

/// Entries a log keeps at most; past that the older half goes.
pub(crate) const MAX: usize = 200_000;

pub(crate) struct SeqLog<T> {
    items: VecDeque<T>,
    /// The number of the next entry written.
    next: u64,
}

impl<T> Default for SeqLog<T> {
    fn default() -> Self {
        Self {
            items: VecDeque::new(),
            next: 0,
        }
    }
}

impl<T> SeqLog<T> {
    pub fn push(&mut self, t: T) {
        self.items.push_back(t);
        self.next += 1;
        if self.items.len() > MAX {
            self.items.drain(..MAX / 2);
        }
    }

    /// The number the next entry gets: a follower that has read everything asks from here.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// The entries numbered `since` and after, oldest first; `None` when the log no longer
    /// holds them all (the follower must start over from everything).
    pub fn since(&self, since: u64) -> Option<impl Iterator<Item = &T>> {
        let first = self.next - self.items.len() as u64;
        if since < first || since > self.next {
            return None;
        }
        Some(self.items.iter().skip((since - first) as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follower_reads_what_came_after_its_number_until_the_log_drops_it() {
        let mut log = SeqLog::default();
        log.push("a");
        let at = log.next();
        log.push("b");
        log.push("c");
        assert_eq!(log.since(at).unwrap().collect::<Vec<_>>(), [&"b", &"c"]);
        assert_eq!(log.since(log.next()).unwrap().count(), 0);
        for _ in 0..MAX {
            log.push("x");
        }
        assert!(log.since(at).is_none(), "dropped: start over");
        assert_eq!(log.since(log.next() - 2).unwrap().count(), 2);
    }
}
