//! L4 listeners of a load balancer: create, list (all, or by ID), find by name or bound instance,
//! modify, delete. The rules are `onramp_ops::balancers` and `onramp_ops::listeners`.

use onramp_core::{Listener, State};
use onramp_ops::balancers;
use onramp_ops::Plan;
use serde_json::{json, Value};

use super::dto::{self, In};
use super::views::{instance_id, listener};
use super::{commit, listed, obj, Answer, Refusal, Style};
use crate::tencent::Ctx;

pub async fn create(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId", "listeners"])?;
    let lb = i.required("loadBalancerId")?;
    let specs = dto::listener_specs(&i)?;
    let (ids, task) = commit(ctx, |cx, st, new| {
        Ok(balancers::create_listeners(cx, st, new, &lb, specs)?.into())
    })
    .await?;
    let mut out = obj(vec![s.task(task)]);
    // Beyond the documented answer (the task only): the new IDs, in v2's untyped JSON where an
    // extra field costs a client nothing (the 3.0 SDK's typed models warn about unknown ones).
    if s == Style::V2 {
        out.insert("listenerIds".into(), json!(ids));
    }
    Ok(out)
}

/// The load balancer `lb` (an accelerator or a GAAP proxy group) of the caller.
fn owner_exists(ctx: &Ctx<'_>, st: &State, lb: &str) -> Result<(), Refusal> {
    let account = &ctx.account.id;
    if st.accelerator(account, lb).is_none() && st.group(account, lb).is_none() {
        return Err(onramp_ops::OpError::NotFound(onramp_ops::Res::Accelerator, lb.into()).into());
    }
    Ok(())
}

/// The listeners of `lb`, by port then protocol.
pub(super) fn of_lb<'a>(st: &'a State, lb: &str) -> Vec<&'a Listener> {
    let mut items: Vec<&Listener> = st.listeners_of(lb).collect();
    items.sort_by(|a, b| {
        (a.first_port(), a.protocol, &a.id).cmp(&(b.first_port(), b.protocol, &b.id))
    });
    items
}

pub fn describe(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId", "listenerIds"])?;
    let lb = i.required("loadBalancerId")?;
    let wanted = i.list("listenerIds")?;
    let st = ctx.api.control.state();
    owner_exists(ctx, &st, &lb)?;
    let set: Vec<Value> = of_lb(&st, &lb)
        .into_iter()
        .filter(|l| wanted.is_empty() || wanted.contains(&l.id))
        .map(|l| s.view(&listener(ctx.api, l)))
        .collect();
    Ok(listed(s, "listenerSet", set))
}

/// `DescribeBmListenerInfo` / `DescribeL4ListenerInfo`: listeners whose name contains `searchKey`
/// and (when `instanceIds` is given) that have one of those instances bound, by ID or address.
pub fn info(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId", "searchKey", "instanceIds"])?;
    let lb = i.required("loadBalancerId")?;
    let search = i.text("searchKey")?.unwrap_or_default();
    let instances = i.list("instanceIds")?;
    let st = ctx.api.control.state();
    owner_exists(ctx, &st, &lb)?;
    let bound = |l: &Listener| {
        st.bindings_of(&l.id).any(|b| {
            st.origins.get(&b.origin_id).is_some_and(|o| {
                instances.contains(&o.id)
                    || instances.contains(&o.address)
                    || instances.contains(&instance_id(b, o))
            })
        })
    };
    let set: Vec<Value> = of_lb(&st, &lb)
        .into_iter()
        .filter(|l| l.name.contains(&search) && (instances.is_empty() || bound(l)))
        .map(|l| s.view(&listener(ctx.api, l)))
        .collect();
    Ok(obj(vec![(s.name("listenerSet"), Value::Array(set))]))
}

pub async fn modify(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let mut allowed = vec!["loadBalancerId", "listenerId"];
    allowed.extend_from_slice(dto::LISTENER_SETTINGS);
    if s == Style::V3 {
        allowed.push("BalanceMode");
    }
    let i = In::new(p, s, &allowed)?;
    let lb = i.required("loadBalancerId")?;
    let id = i.required("listenerId")?;
    let patch = dto::listener_patch(&i)?;
    let ((), task) = commit(ctx, |cx, st, _| {
        Ok(Plan::new(
            balancers::modify_listener(cx, st, &lb, &id, &patch)?,
            (),
        ))
    })
    .await?;
    Ok(obj(vec![s.task(task)]))
}

pub async fn delete(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId", "listenerIds"])?;
    let lb = i.required("loadBalancerId")?;
    let ids = i.required_list("listenerIds", balancers::MAX_LISTENERS)?;
    let ((), task) = commit(ctx, |cx, st, _| {
        Ok(Plan::new(
            balancers::delete_listeners(cx, st, &lb, &ids)?,
            (),
        ))
    })
    .await?;
    Ok(obj(vec![s.task(task)]))
}
