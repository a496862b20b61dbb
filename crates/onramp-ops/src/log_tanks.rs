//! Log tanks (Huawei `logtank`): where a listener's access log goes.
//!
//! Rules:
//! - a log tank belongs to one listener of the caller's (`NotFound` otherwise), and a listener
//!   has at most one (`Exists`); `log_group_id` and `log_stream_id` are 1–64 characters.
//! - it is stored on the listener (`Listener::log_tank`), so the snapshot tells the edges to
//!   write an access-log line for each connection and UDP flow of that listener.
//! - deletion order: the reference orders no log tank before its listener, so a log tank goes
//!   with its listener when the listener is deleted; deleting the log tank first is not needed.
//!
//! Every change marks the listener as reconfigured, so it reports the change until applied.

use onramp_core::{validate, Listener, ListenerChange, LogTank, Op, State};

use crate::endpoints::touched;
use crate::ids::Ids;
use crate::{Cx, OpError, Res};

/// The LTS log group and stream a log tank writes to.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub log_group_id: String,
    pub log_stream_id: String,
}

fn check(t: &Target) -> Result<(), OpError> {
    validate::length("log_group_id", &t.log_group_id, 1, 64)?;
    validate::length("log_stream_id", &t.log_stream_id, 1, 64)?;
    Ok(())
}

/// The caller's listener holding log tank `id`.
pub fn find<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a Listener, OpError> {
    st.log_tank_listener(&cx.account, id)
        .ok_or_else(|| OpError::NotFound(Res::LogTank, id.to_string()))
}

fn with_tank(cx: &Cx, l: &Listener, t: Option<LogTank>) -> Vec<Op> {
    let mut l = l.clone();
    l.log_tank = t;
    vec![touched(cx, &l, ListenerChange::Config)]
}

/// Give listener `listener_id` a log tank; returns its id.
pub fn create(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    listener_id: &str,
    t: &Target,
) -> Result<(Vec<Op>, String), OpError> {
    let l = st
        .listener(&cx.account, listener_id)
        .ok_or_else(|| OpError::NotFound(Res::Listener, listener_id.to_string()))?;
    if l.log_tank.is_some() {
        return Err(OpError::Exists {
            res: Res::LogTank,
            of: format!("listener {}", l.id),
        });
    }
    check(t)?;
    let tank = LogTank {
        id: ids.uuid(),
        log_group_id: t.log_group_id.clone(),
        log_stream_id: t.log_stream_id.clone(),
        created_at: cx.now,
        updated_at: cx.now,
    };
    let id = tank.id.clone();
    Ok((with_tank(cx, l, Some(tank)), id))
}

/// Point log tank `id` at another log group and stream.
pub fn update(cx: &Cx, st: &State, id: &str, t: &Target) -> Result<Vec<Op>, OpError> {
    let l = find(cx, st, id)?;
    check(t)?;
    let mut tank = l.log_tank.clone().unwrap_or_default();
    tank.log_group_id = t.log_group_id.clone();
    tank.log_stream_id = t.log_stream_id.clone();
    tank.updated_at = cx.now;
    Ok(with_tank(cx, l, Some(tank)))
}

/// Remove log tank `id`: its listener stops writing access-log lines.
pub fn delete(cx: &Cx, st: &State, id: &str) -> Result<Vec<Op>, OpError> {
    let l = find(cx, st, id)?;
    Ok(with_tank(cx, l, None))
}

#[cfg(test)]
#[path = "log_tanks_tests.rs"]
mod tests;
