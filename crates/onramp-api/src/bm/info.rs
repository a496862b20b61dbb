//! Tasks and cross-cutting reads: a task's status (0 done, 1 failed, 2 in progress: true to what
//! the edges applied), which load balancers an instance is bound to, and a load balancer's
//! listener ports.

use std::collections::BTreeMap;

use onramp_core::{Accelerator, Binding, Listener, Origin, State, Task};
use onramp_ops::status::{self, TaskPhase};
use onramp_ops::{OpError, Res};
use serde_json::{json, Value};

use super::codes::{self, word};
use super::dto::In;
use super::views::{instance_id, port_info as port_view};
use super::{listed, obj, Answer, Style};
use crate::tencent::Ctx;
use crate::Api;

fn task_status(api: &Api, t: &Task) -> u8 {
    match status::task(t, api.control.applied_revision()) {
        TaskPhase::Settled => 0,
        TaskPhase::Failed => 1,
        TaskPhase::Running => 2,
    }
}

/// v2 `requestId` (the task number) or 3.0 `TaskId` (the number as a string, or a task id of
/// another dialect: a GAAP `TaskId` is its `RequestId`).
pub fn task_result(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let st = ctx.api.control.state();
    let account = &ctx.account.id;
    let (task, id) = match s {
        Style::V2 => {
            let i = In::new(p, s, &["requestId"])?;
            let n = i.required_int("requestId", 0, i64::MAX)?;
            (st.task_by_number(account, n as u64), n.to_string())
        }
        Style::V3 => {
            let i = In::new(p, s, &["TaskId"])?;
            let id = i.required("TaskId")?;
            let by_number = id
                .parse::<u64>()
                .ok()
                .and_then(|n| st.task_by_number(account, n));
            (by_number.or_else(|| st.task(account, &id)), id)
        }
    };
    let task = task.ok_or(OpError::NotFound(Res::Task, id))?;
    let status = task_status(ctx.api, task);
    Ok(match s {
        Style::V2 => obj(vec![("data".into(), json!({ "status": status }))]),
        Style::V3 => obj(vec![("Status".into(), json!(status))]),
    })
}

/// An instance's bindings on one listener.
type Bound<'a> = Vec<(&'a Binding, &'a Origin)>;

/// The account's origins an instance ID or an address names.
fn origins<'a>(st: &'a State, account: &str, wanted: &[String]) -> Vec<&'a Origin> {
    st.origins
        .values()
        .filter(|o| {
            o.account_id == account && (wanted.contains(&o.id) || wanted.contains(&o.address))
        })
        .collect()
}

/// `DescribeBmBindInfo` / `DescribeDevicesBindInfo`: for each load balancer with a listener an
/// instance is bound to, those listeners and the instance's bound ports.
pub fn bind_info(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let allowed: &[&str] = match s {
        Style::V2 => &["vpcId", "unVpcId", "instanceIds"],
        Style::V3 => &["unVpcId", "instanceIds"],
    };
    let i = In::new(p, s, allowed)?;
    let wanted = i.required_list("instanceIds", 1000)?;
    let vpc = match s {
        Style::V2 => i.text("unVpcId")?,
        Style::V3 => Some(i.required("unVpcId")?),
    };
    // onramp has no numeric network IDs: a v2 `vpcId` other than 0 matches nothing.
    let numeric = if s == Style::V2 {
        i.int("vpcId", 0, i64::MAX)?
    } else {
        None
    };
    let st = ctx.api.control.state();
    let account = &ctx.account.id;
    let mut by_lb: BTreeMap<&str, BTreeMap<&str, Bound>> = BTreeMap::new();
    for o in origins(&st, account, &wanted) {
        for b in st.bindings_of_origin(&o.id) {
            let Some(l) = st.listeners.get(&b.listener_id) else {
                continue;
            };
            let Some(lb) = l.owner.accelerator() else {
                continue;
            };
            by_lb
                .entry(lb)
                .or_default()
                .entry(&l.id)
                .or_default()
                .push((b, o));
        }
    }
    let set: Vec<Value> = by_lb
        .into_iter()
        .filter_map(|(lb, listeners)| st.accelerator(account, lb).map(|a| (a, listeners)))
        .filter(|(a, _)| vpc.as_deref().is_none_or(|v| v == a.network.vpc_id))
        .filter(|_| numeric.is_none_or(|n| n == 0))
        .map(|(a, listeners)| bound_lb(ctx, &st, a, listeners, s))
        .collect();
    Ok(listed(s, "loadBalancerSet", set))
}

fn bound_lb(
    ctx: &Ctx<'_>,
    st: &State,
    a: &Accelerator,
    listeners: BTreeMap<&str, Bound>,
    s: Style,
) -> Value {
    let l4: Vec<Value> = listeners
        .into_iter()
        .filter_map(|(id, bs)| st.listeners.get(id).map(|l| bound_listener(l, &bs, s)))
        .collect();
    let vip = super::views::vips(ctx.api, a)
        .into_iter()
        .next()
        .unwrap_or_default();
    let exclusive = word(codes::DEDICATION, &a.network.dedication);
    match s {
        Style::V2 => json!({
            "loadBalancerId": a.id, "appId": ctx.account.app_id, "projectId": a.project_id,
            "vpcId": 0, "unVpcId": a.network.vpc_id, "vip": vip, "tgwSetType": codes::FORWARDING,
            "exclusive": exclusive, "L4ListenerSet": l4, "L7ListenerSet": [],
        }),
        Style::V3 => json!({
            "LoadBalancerId": a.id, "AppId": ctx.account.app_id, "ProjectId": a.project_id,
            "VpcId": a.network.vpc_id, "Vip": vip, "TgwSetType": codes::FORWARDING,
            "Exclusive": exclusive, "L4ListenerSet": l4, "L7ListenerSet": [],
        }),
    }
}

fn bound_listener(l: &Listener, bs: &[(&Binding, &Origin)], s: Style) -> Value {
    match s {
        Style::V2 => {
            let rs: Vec<Value> = bs
                .iter()
                .map(|(b, o)| json!({"instanceId": instance_id(b, o), "rsPort": b.port}))
                .collect();
            json!({"listenerId": l.id, "listenerName": l.name, "protocol": l.protocol.lower(),
                   "loadBalancerPort": l.first_port(), "rsList": rs})
        }
        Style::V3 => {
            let rs: Vec<Value> = bs
                .iter()
                .map(|(b, o)| json!({"InstanceId": instance_id(b, o), "Port": b.port}))
                .collect();
            json!({"ListenerId": l.id, "Protocol": l.protocol.lower(),
                   "LoadBalancerPort": l.first_port(), "BackendSet": rs})
        }
    }
}

/// `DescribeBmVportInfo` / `DescribeLoadBalancerPortInfo`: every listener port of a load
/// balancer (all layer 4 here), with the lowest bound origin port.
pub fn port_info(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId"])?;
    let lb = i.required("loadBalancerId")?;
    let st = ctx.api.control.state();
    if st.accelerator(&ctx.account.id, &lb).is_none() {
        return Err(OpError::NotFound(Res::Accelerator, lb).into());
    }
    let set: Vec<Value> = super::listeners::of_lb(&st, &lb)
        .into_iter()
        .map(|l| s.view(&port_view(ctx.api, &st, l)))
        .collect();
    Ok(listed(s, "listenerSet", set))
}
