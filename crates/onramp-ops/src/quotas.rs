//! The operator's quotas (`onramp_core::Quotas`, set by `onramp serve --quota-*`): accelerators
//! per account, listeners per accelerator, endpoints per endpoint group. Every operation that
//! adds one of these asks here first, whatever dialect called it; past the quota it is
//! `OpError::Quota`.

use onramp_core::State;

use crate::{Cx, OpError};

fn within(what: &'static str, have: usize, adding: usize, limit: usize) -> Result<(), OpError> {
    let given = have + adding;
    if adding > 0 && given > limit {
        return Err(OpError::Quota { what, limit, given });
    }
    Ok(())
}

/// Whether the caller may hold `adding` more accelerators.
pub fn accelerators(cx: &Cx, st: &State, adding: usize) -> Result<(), OpError> {
    let have = st.accelerators_of_account(&cx.account).count();
    within("accelerators", have, adding, cx.quotas.accelerators)
}

/// Whether accelerator (or group) `owner_id` may hold `adding` more listeners.
pub fn listeners(cx: &Cx, st: &State, owner_id: &str, adding: usize) -> Result<(), OpError> {
    let have = st.listeners_of(owner_id).count();
    within("listeners", have, adding, cx.quotas.listeners)
}

/// Whether endpoint group `group_id` may hold `adding` more endpoints (bindings).
pub fn endpoints(cx: &Cx, st: &State, group_id: &str, adding: usize) -> Result<(), OpError> {
    let have = st.bindings_of_group(group_id).count();
    within("endpoints", have, adding, cx.quotas.endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_state::{accelerator as running_accelerator, cx};

    #[test]
    fn the_quota_counts_what_exists_and_what_is_added() {
        let mut st = State::default();
        let mut c = cx();
        c.quotas.accelerators = 2;
        assert!(accelerators(&c, &st, 2).is_ok());
        running_accelerator(&mut st);
        assert!(accelerators(&c, &st, 1).is_ok());
        match accelerators(&c, &st, 2) {
            Err(OpError::Quota { what, limit, given }) => {
                assert_eq!((what, limit, given), ("accelerators", 2, 3))
            }
            other => panic!("{other:?}"),
        }
        // Nothing added: never refused, even over a lowered quota.
        c.quotas.accelerators = 0;
        assert!(accelerators(&c, &st, 0).is_ok());
    }
}
