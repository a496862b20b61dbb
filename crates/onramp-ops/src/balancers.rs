//! Load balancers (BM): accelerators ordered in batches with their network attributes, renamed
//! or given a domain prefix, switched to another billing with new listener caps, deleted with
//! everything they hold; the listeners of a load balancer.
//!
//! Rules: at most `MAX_PER_ORDER` in one order and the account's accelerator quota; a public
//! load balancer has a domain whose first label (by default its ID) no other load balancer has,
//! an internal one has none; a load balancer takes at most `MAX_LISTENERS` listeners (and the
//! operator's listener quota); listeners named in a change or a deletion must be the load
//! balancer's; deleting a load balancer or a listener takes its listeners' bindings with it.

use onramp_core::{
    Accelerator, Billing, Dialect, Exposure, Listener, ListenerChange, Network, Op, Owner, Record,
    State,
};

use crate::commit::Plan;
use crate::ids::Ids;
use crate::listeners::{self, ListenerPatch};
use crate::{accelerators, Cx, OpError};

/// Most load balancers one order makes.
pub const MAX_PER_ORDER: usize = 20;
/// Most listeners one load balancer takes.
pub const MAX_LISTENERS: usize = 50;

/// An order of `count` load balancers that share their settings.
#[derive(Debug, Clone, Default)]
pub struct NewBalancers {
    pub count: usize,
    pub project_id: i64,
    /// The region whose edges serve them (the dialect's choice: where onramp runs).
    pub region: String,
    /// `IPv4` or `IPv6`.
    pub ip_version: String,
    /// The domain prefix is ignored (each gets its ID); the rest is recorded as given.
    pub network: Network,
}

/// Create the load balancers of an order; the outcome is their IDs, in order.
pub fn create(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    spec: &NewBalancers,
) -> Result<Plan<Vec<String>>, OpError> {
    if spec.count == 0 || spec.count > MAX_PER_ORDER {
        return Err(OpError::Quota {
            what: "load balancers in one order",
            limit: MAX_PER_ORDER,
            given: spec.count,
        });
    }
    crate::quotas::accelerators(cx, st, spec.count)?;
    if spec.region.is_empty() {
        return Err(OpError::Missing("access_region"));
    }
    let mut ops = Vec::with_capacity(spec.count);
    let mut out = Vec::with_capacity(spec.count);
    for _ in 0..spec.count {
        let base = accelerators::base(cx, st, ids, Dialect::Bm);
        let domain_prefix = match spec.network.exposure {
            Exposure::Public => base.id.clone(),
            Exposure::Internal => String::new(),
        };
        let a = Accelerator {
            name: base.id.clone(),
            project_id: spec.project_id,
            access_region: spec.region.clone(),
            origin_region: spec.region.clone(),
            ip_version: spec.ip_version.clone(),
            network: Network {
                domain_prefix,
                ..spec.network.clone()
            },
            ..base
        };
        out.push(a.id.clone());
        ops.push(Op::Put(Record::Accelerator(a)));
    }
    Ok(Plan::new(ops, out))
}

/// Rename load balancer `id` or change its domain prefix (`None` keeps the value).
pub fn modify(
    cx: &Cx,
    st: &State,
    id: &str,
    name: Option<&str>,
    domain_prefix: Option<&str>,
) -> Result<Vec<Op>, OpError> {
    let mut a = accelerators::find(cx, st, id)?.clone();
    if let Some(n) = name {
        a.name = n.to_string();
    }
    if let Some(p) = domain_prefix {
        if a.network.exposure == Exposure::Internal {
            return Err(OpError::invalid(
                "domain_prefix",
                "an internal load balancer has no domain",
            ));
        }
        // Domains are global: no other load balancer of any account may hold the prefix.
        if st
            .accelerators
            .values()
            .any(|o| o.id != a.id && o.network.domain_prefix == p)
        {
            return Err(OpError::Duplicate {
                what: "domain prefix",
                value: p.to_string(),
                in_request: false,
            });
        }
        a.network.domain_prefix = p.to_string();
    }
    accelerators::touch(cx, &mut a);
    Ok(vec![Op::Put(Record::Accelerator(a))])
}

/// Switch load balancer `id` to `billing`, with new bandwidth caps (Mbps) for some of its
/// listeners (all or none: each must be the load balancer's).
pub fn charge(
    cx: &Cx,
    st: &State,
    id: &str,
    billing: Billing,
    caps: &[(String, u64)],
) -> Result<Vec<Op>, OpError> {
    let mut a = accelerators::find(cx, st, id)?.clone();
    a.network.billing = billing;
    accelerators::touch(cx, &mut a);
    let mut ops = vec![Op::Put(Record::Accelerator(a))];
    for (listener, mbps) in caps {
        let mut l = listeners::find(cx, st, listener, Some(id))?.clone();
        l.bandwidth_mbps = *mbps;
        l.change = ListenerChange::Config;
        l.updated_at = cx.now;
        ops.push(Op::Put(Record::Listener(l)));
    }
    Ok(ops)
}

/// Delete load balancer `id` with its listeners and their bindings.
pub fn delete(cx: &Cx, st: &State, id: &str) -> Result<Vec<Op>, OpError> {
    let a = accelerators::find(cx, st, id)?;
    Ok(accelerators::cascade(st, &a.id))
}

/// Create `specs` on load balancer `lb` (each with its implicit endpoint group); returns the
/// ops and the new listeners' IDs, in order.
pub fn create_listeners(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    lb: &str,
    specs: Vec<Listener>,
) -> Result<(Vec<Op>, Vec<String>), OpError> {
    let a = accelerators::find(cx, st, lb)?;
    let given = st.listeners_of(&a.id).count() + specs.len();
    if given > MAX_LISTENERS {
        return Err(OpError::Quota {
            what: "listeners",
            limit: MAX_LISTENERS,
            given,
        });
    }
    let owner = Owner::Accelerator(a.id.clone());
    listeners::create(cx, st, ids, &owner, Dialect::Bm, specs)
}

/// Change listener `id` of load balancer `lb`, whatever its protocol.
pub fn modify_listener(
    cx: &Cx,
    st: &State,
    lb: &str,
    id: &str,
    patch: &ListenerPatch,
) -> Result<Vec<Op>, OpError> {
    accelerators::find(cx, st, lb)?;
    listeners::modify(cx, st, id, Some(lb), None, patch)
}

/// Delete listeners `ids` of load balancer `lb` (all or none), with their bindings.
pub fn delete_listeners(cx: &Cx, st: &State, lb: &str, ids: &[String]) -> Result<Vec<Op>, OpError> {
    accelerators::find(cx, st, lb)?;
    let mut ops = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for id in ids {
        let l = listeners::find(cx, st, id, Some(lb))?;
        if !seen.contains(&l.id.as_str()) {
            seen.push(&l.id);
            ops.extend(listeners::cascade(st, l));
        }
    }
    Ok(ops)
}

#[cfg(test)]
#[path = "balancers_tests.rs"]
mod tests;
