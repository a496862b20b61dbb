//! IP address groups (Huawei `ip_group`) and the access control of listeners that use them.
//!
//! Rules: every block is a valid CIDR (`acl::Cidr`: IPv4 or IPv6, no host bits) and is in a
//! group once; at most 50 groups per account, 200 blocks per group, 10 listeners per group (the
//! service's fixed quotas); a listener uses at most one group, WHITE or BLACK; a group still used
//! by a listener cannot be deleted (disassociate first). Association is kept on the listener
//! (`Listener.access`), so deleting a listener drops it with nothing left behind. Each change
//! also writes the group, so the group reports pending until the edges applied it.

use std::collections::HashSet;

use onramp_core::acl::{AccessKind, Cidr};
use onramp_core::{AccessControl, IpEntry, IpGroup, Kind, ListenerChange, Op, Record, State};

use crate::ids::Ids;
use crate::{Cx, OpError, Plan, Res};

/// Groups one account may hold.
pub const MAX_GROUPS: usize = 50;
/// Blocks one group may hold.
pub const MAX_BLOCKS: usize = 200;
/// Listeners one group may serve.
pub const MAX_LISTENERS: usize = 10;

/// A block a request gives: its CIDR text and description.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewBlock {
    pub cidr: String,
    pub description: String,
}

/// The caller's IP address group `id`.
pub fn find<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a IpGroup, OpError> {
    st.ip_group(&cx.account, id)
        .ok_or_else(|| OpError::NotFound(Res::IpGroup, id.to_string()))
}

/// `blocks` as entries to add to `existing`: each parsed, none twice, none already there, the
/// total within `MAX_BLOCKS`. `field` names the list (`ip_list`).
fn entries(
    cx: &Cx,
    field: &str,
    existing: &[IpEntry],
    blocks: &[NewBlock],
) -> Result<Vec<IpEntry>, OpError> {
    let have: HashSet<Cidr> = existing
        .iter()
        .filter_map(|e| Cidr::parse("cidr", &e.cidr).ok())
        .collect();
    let mut seen = HashSet::with_capacity(blocks.len());
    let mut out = Vec::with_capacity(blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        let c = Cidr::parse(&format!("{field}[{i}].cidr"), &b.cidr)?;
        if !seen.insert(c) || have.contains(&c) {
            return Err(OpError::Duplicate {
                what: "cidr",
                value: b.cidr.clone(),
                in_request: !have.contains(&c),
            });
        }
        out.push(IpEntry {
            cidr: b.cidr.clone(),
            description: b.description.clone(),
            created_at: cx.now,
        });
    }
    let total = existing.len() + out.len();
    if total > MAX_BLOCKS {
        return Err(OpError::Quota {
            what: "cidr blocks per ip group",
            limit: MAX_BLOCKS,
            given: total,
        });
    }
    Ok(out)
}

/// A new group; its ID.
pub fn create(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    name: &str,
    description: &str,
    blocks: &[NewBlock],
) -> Result<Plan<String>, OpError> {
    let held = st.ip_groups_of_account(&cx.account).count();
    if held >= MAX_GROUPS {
        return Err(OpError::Quota {
            what: "ip groups",
            limit: MAX_GROUPS,
            given: held + 1,
        });
    }
    let g = IpGroup {
        id: ids.uuid(),
        account_id: cx.account.clone(),
        name: name.to_string(),
        description: description.to_string(),
        entries: entries(cx, "ip_list", &[], blocks)?,
        created_at: cx.now,
        updated_at: cx.now,
        revision: 0,
    };
    let id = g.id.clone();
    Ok(Plan::new(vec![Op::Put(Record::IpGroup(g))], id))
}

fn put(cx: &Cx, mut g: IpGroup) -> Op {
    g.updated_at = cx.now;
    Op::Put(Record::IpGroup(g))
}

/// Rename or redescribe group `id` (`None` keeps the value).
pub fn update(
    cx: &Cx,
    st: &State,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Vec<Op>, OpError> {
    let mut g = find(cx, st, id)?.clone();
    if let Some(n) = name {
        g.name = n.to_string();
    }
    if let Some(d) = description {
        g.description = d.to_string();
    }
    Ok(vec![put(cx, g)])
}

/// Delete group `id`; refused while a listener uses it.
pub fn delete(cx: &Cx, st: &State, id: &str) -> Result<Vec<Op>, OpError> {
    let g = find(cx, st, id)?;
    if let Some(l) = st.listeners_of_ip_group(&g.id).next() {
        return Err(OpError::StillBound {
            res: Res::IpGroup,
            id: g.id.clone(),
            listener: l.id.clone(),
        });
    }
    Ok(vec![Op::Delete(Kind::IpGroup, g.id.clone())])
}

/// Add `blocks` to group `id`.
pub fn add_blocks(cx: &Cx, st: &State, id: &str, blocks: &[NewBlock]) -> Result<Vec<Op>, OpError> {
    let mut g = find(cx, st, id)?.clone();
    let new = entries(cx, "ip_list", &g.entries, blocks)?;
    g.entries.extend(new);
    Ok(vec![put(cx, g)])
}

/// Remove `cidrs` from group `id`; each must be in it (compared as blocks, so `10.0.0.1` and
/// `10.0.0.1/32` are the same).
pub fn remove_blocks(cx: &Cx, st: &State, id: &str, cidrs: &[String]) -> Result<Vec<Op>, OpError> {
    let mut g = find(cx, st, id)?.clone();
    let mut gone = HashSet::with_capacity(cidrs.len());
    for (i, s) in cidrs.iter().enumerate() {
        let c = Cidr::parse(&format!("ip_list[{i}]"), s)?;
        let held = g
            .entries
            .iter()
            .any(|e| Cidr::parse("cidr", &e.cidr).is_ok_and(|x| x == c));
        if !held {
            return Err(OpError::invalid(
                &format!("ip_list[{i}]"),
                format!("{s} is not in ip group {}", g.id),
            ));
        }
        gone.insert(c);
    }
    g.entries
        .retain(|e| Cidr::parse("cidr", &e.cidr).map_or(true, |c| !gone.contains(&c)));
    Ok(vec![put(cx, g)])
}

/// Make listener `listener_id` admit (WHITE) or refuse (BLACK) the blocks of group `id`. A
/// listener already using this group changes its kind; one using another group is refused.
pub fn associate(
    cx: &Cx,
    st: &State,
    id: &str,
    listener_id: &str,
    kind: AccessKind,
) -> Result<Vec<Op>, OpError> {
    let g = find(cx, st, id)?;
    let mut l = st
        .listener(&cx.account, listener_id)
        .ok_or_else(|| OpError::NotFound(Res::Listener, listener_id.to_string()))?
        .clone();
    match &l.access {
        Some(a) if a.ip_group_id != g.id => {
            return Err(OpError::StillBound {
                res: Res::IpGroup,
                id: a.ip_group_id.clone(),
                listener: l.id.clone(),
            })
        }
        Some(_) => {}
        None => {
            let n = st.listeners_of_ip_group(&g.id).count();
            if n >= MAX_LISTENERS {
                return Err(OpError::Quota {
                    what: "listeners per ip group",
                    limit: MAX_LISTENERS,
                    given: n + 1,
                });
            }
        }
    }
    l.access = Some(AccessControl {
        ip_group_id: g.id.clone(),
        kind,
    });
    l.change = ListenerChange::Config;
    l.updated_at = cx.now;
    Ok(vec![Op::Put(Record::Listener(l)), put(cx, g.clone())])
}

/// Stop listener `listener_id` using group `id`; it must be using it.
pub fn disassociate(cx: &Cx, st: &State, id: &str, listener_id: &str) -> Result<Vec<Op>, OpError> {
    let g = find(cx, st, id)?;
    let mut l = st
        .listener(&cx.account, listener_id)
        .ok_or_else(|| OpError::NotFound(Res::Listener, listener_id.to_string()))?
        .clone();
    if l.access.as_ref().is_none_or(|a| a.ip_group_id != g.id) {
        return Err(OpError::invalid(
            "listener_id",
            format!("listener {} is not associated with ip group {}", l.id, g.id),
        ));
    }
    l.access = None;
    l.change = ListenerChange::Config;
    l.updated_at = cx.now;
    Ok(vec![Op::Put(Record::Listener(l)), put(cx, g.clone())])
}

#[cfg(test)]
#[path = "ip_groups_tests.rs"]
mod tests;
