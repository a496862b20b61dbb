//! Health checks of endpoint groups (Huawei `health_check`): one per group, every setting
//! checked against the model's ranges (`port` 1–65535, `interval` and `timeout` 1–60 s,
//! `max_retries` 1–10). A change puts the group back and marks its listener reconfigured, so
//! the edge restarts the group's checks.

use onramp_core::{
    validate, EndpointGroup, GroupHealthCheck, ListenerChange, Op, Protocol, Record, State,
};

use crate::endpoints::{find, touched};
use crate::ids::Ids;
use crate::{Cx, OpError, Res};

/// The settings of a group's health check (`None` in an update: unchanged).
#[derive(Debug, Clone, Default)]
pub struct CheckPatch {
    pub protocol: Option<Protocol>,
    pub port: Option<u16>,
    pub interval_secs: Option<u32>,
    pub timeout_secs: Option<u32>,
    pub max_retries: Option<u32>,
    pub enabled: Option<bool>,
}

fn patch_check(h: &mut GroupHealthCheck, p: &CheckPatch) -> Result<(), OpError> {
    h.protocol = p.protocol.unwrap_or(h.protocol);
    h.port = p.port.unwrap_or(h.port);
    h.interval_secs = p.interval_secs.unwrap_or(h.interval_secs);
    h.timeout_secs = p.timeout_secs.unwrap_or(h.timeout_secs);
    h.max_retries = p.max_retries.unwrap_or(h.max_retries);
    h.enabled = p.enabled.unwrap_or(h.enabled);
    if h.port == 0 {
        return Err(OpError::Missing("health.port"));
    }
    validate::range("health.interval", h.interval_secs.into(), 1, 60)?;
    validate::range("health.timeout", h.timeout_secs.into(), 1, 60)?;
    validate::range("health.max_retries", h.max_retries.into(), 1, 10)?;
    Ok(())
}

/// The group holding health check `id`, among the caller's.
pub fn find_check<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a EndpointGroup, OpError> {
    st.check_group(&cx.account, id)
        .ok_or_else(|| OpError::NotFound(Res::HealthCheck, id.to_string()))
}

/// The group put back with its new check, and its listener marked as reconfigured.
fn with_check(cx: &Cx, st: &State, mut e: EndpointGroup, h: Option<GroupHealthCheck>) -> Vec<Op> {
    e.health_check = h;
    e.updated_at = cx.now;
    let mut ops = Vec::with_capacity(2);
    if let Some(l) = st.listeners.get(&e.listener_id) {
        ops.push(touched(cx, l, ListenerChange::Config));
    }
    ops.push(Op::Put(Record::EndpointGroup(e)));
    ops
}

/// Give group `group_id` its health check (every setting of `p` is required).
pub fn create_check(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    group_id: &str,
    p: &CheckPatch,
) -> Result<(Vec<Op>, String), OpError> {
    let e = find(cx, st, group_id)?;
    if e.health_check.is_some() {
        return Err(OpError::Exists {
            res: Res::HealthCheck,
            of: format!("endpoint_group {}", e.id),
        });
    }
    let mut h = GroupHealthCheck {
        id: ids.uuid(),
        created_at: cx.now,
        updated_at: cx.now,
        ..Default::default()
    };
    patch_check(&mut h, p)?;
    let id = h.id.clone();
    Ok((with_check(cx, st, e.clone(), Some(h)), id))
}

pub fn update_check(cx: &Cx, st: &State, id: &str, p: &CheckPatch) -> Result<Vec<Op>, OpError> {
    let e = find_check(cx, st, id)?;
    let mut h = e.health_check.clone().unwrap_or_default();
    patch_check(&mut h, p)?;
    h.updated_at = cx.now;
    Ok(with_check(cx, st, e.clone(), Some(h)))
}

pub fn delete_check(cx: &Cx, st: &State, id: &str) -> Result<Vec<Op>, OpError> {
    let e = find_check(cx, st, id)?;
    Ok(with_check(cx, st, e.clone(), None))
}
