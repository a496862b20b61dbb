//! Backends of an L4 listener: bind and unbind instances (by origin ID or by IP address), list
//! them with the edge's health (`Alive`/`Dead`), change one's weight, port or probe port. The
//! rules are `onramp_ops::backends`.

use onramp_ops::backends::{self, Change, NewBackend, Target};
use onramp_ops::Plan;
use serde_json::Value;

use super::dto::{any_target, In, MAX_ITEMS};
use super::views::{backend, instance_id};
use super::{commit, obj, Answer, Style};
use crate::tencent::{Ctx, TcError};

pub use super::dto::Form;

/// The parameters of a bind or unbind: v2 names the form by its action, 3.0 by `BindType`.
fn read(
    p: Value,
    s: Style,
    form: Option<Form>,
    item_keys: &[&str],
) -> Result<(In, Form, Vec<In>), super::Refusal> {
    let list = match form {
        Some(f @ Form::VmIp) if s == Style::V2 => ("vmList", f),
        Some(f) => ("backends", f),
        None => ("backends", Form::Instance),
    };
    let mut allowed = vec!["loadBalancerId", "listenerId", list.0];
    if form.is_none() {
        allowed.push("BindType");
    }
    let i = In::new(p, s, &allowed)?;
    let form = match form {
        Some(f) => f,
        None => Form::of_bind_type(&i)?,
    };
    let mut keys = item_keys.to_vec();
    keys.push(form.field());
    let items = i.objects(list.0, &keys)?;
    if items.is_empty() {
        return Err(TcError::missing(&i.k(list.0)).into());
    }
    if items.len() > MAX_ITEMS {
        let why = format!("at most {MAX_ITEMS} backends");
        return Err(TcError::value(&i.k(list.0), why).into());
    }
    Ok((i, form, items))
}

fn port(item: &In, key: &str) -> Result<u16, TcError> {
    Ok(item.required_int(key, 1, 65535)? as u16)
}

fn target(item: &In, form: Form) -> Result<Target, TcError> {
    let key = item.k(form.field());
    form.target(&key, item.required(form.field())?)
}

pub async fn bind(ctx: &Ctx<'_>, p: Value, s: Style, form: Option<Form>) -> Answer {
    let (i, form, items) = read(p, s, form, &["port", "probePort", "weight"])?;
    let (lb, listener) = (i.required("loadBalancerId")?, i.required("listenerId")?);
    let new = items
        .iter()
        .map(|item| {
            Ok(NewBackend {
                target: target(item, form)?,
                port: port(item, "port")?,
                weight: item.required_int("weight", 0, 100)? as u32,
                probe_port: item.int("probePort", 1, 65535)?.map(|v| v as u16),
            })
        })
        .collect::<Result<Vec<_>, TcError>>()?;
    let ((), task) = commit(ctx, |cx, st, ids| {
        Ok(Plan::new(
            backends::add(cx, st, ids, &lb, &listener, new)?,
            (),
        ))
    })
    .await?;
    Ok(obj(vec![s.task(task)]))
}

pub async fn unbind(ctx: &Ctx<'_>, p: Value, s: Style, form: Option<Form>) -> Answer {
    let (i, form, items) = read(p, s, form, &["port"])?;
    let (lb, listener) = (i.required("loadBalancerId")?, i.required("listenerId")?);
    let pairs = items
        .iter()
        .map(|item| Ok((target(item, form)?, port(item, "port")?)))
        .collect::<Result<Vec<_>, TcError>>()?;
    let ((), task) = commit(ctx, |cx, st, _| {
        Ok(Plan::new(
            backends::remove(cx, st, &lb, &listener, &pairs)?,
            (),
        ))
    })
    .await?;
    Ok(obj(vec![s.task(task)]))
}

pub fn describe(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId", "listenerId", "backends"])?;
    let (lb, id) = (i.required("loadBalancerId")?, i.required("listenerId")?);
    let filters = i
        .objects("backends", &["port", "instanceId"])?
        .iter()
        .map(|f| Ok((f.int("port", 1, 65535)?, f.text("instanceId")?)))
        .collect::<Result<Vec<_>, TcError>>()?;
    let st = ctx.api.control.state();
    let cx_account = &ctx.account.id;
    if st.accelerator(cx_account, &lb).is_none() && st.group(cx_account, &lb).is_none() {
        return Err(onramp_ops::OpError::NotFound(onramp_ops::Res::Accelerator, lb).into());
    }
    let l = st
        .listener(cx_account, &id)
        .filter(|l| l.owner.id() == lb)
        .ok_or_else(|| onramp_ops::OpError::NotFound(onramp_ops::Res::Listener, id.clone()))?;
    let mut bound: Vec<_> = st
        .bindings_of(&l.id)
        .filter_map(|b| st.origins.get(&b.origin_id).map(|o| (b, o)))
        .filter(|(b, o)| {
            filters.is_empty()
                || filters.iter().any(|(port, inst)| {
                    port.is_none_or(|p| p == i64::from(b.port))
                        && inst.as_ref().is_none_or(|x| {
                            *x == o.id || *x == o.address || *x == instance_id(b, o)
                        })
                })
        })
        .collect();
    bound.sort_by(|(a, x), (b, y)| (&x.address, a.port, &a.id).cmp(&(&y.address, b.port, &b.id)));
    let set: Vec<Value> = bound
        .into_iter()
        .map(|(b, o)| s.view(&backend(ctx.api, &st, l, b, o)))
        .collect();
    let key = match s {
        Style::V2 => "data".to_string(),
        Style::V3 => "BackendSet".to_string(),
    };
    Ok(obj(vec![(key, Value::Array(set))]))
}

/// The one backend a `Modify…` action names: v2 by `instanceId` alone (an address or an ID),
/// 3.0 with its `BindType`.
fn one(p: Value, s: Style, keys: &[&str]) -> Result<(In, Target, u16), super::Refusal> {
    let mut allowed = vec!["loadBalancerId", "listenerId", "instanceId", "port"];
    allowed.extend_from_slice(keys);
    if s == Style::V3 {
        allowed.push("BindType");
    }
    let i = In::new(p, s, &allowed)?;
    let raw = i.required("instanceId")?;
    let t = match s {
        Style::V2 => any_target(raw),
        Style::V3 => Form::of_bind_type(&i)?.target(&i.k("instanceId"), raw)?,
    };
    let port = port(&i, "port")?;
    Ok((i, t, port))
}

async fn change(
    ctx: &Ctx<'_>,
    i: &In,
    t: &Target,
    port: u16,
    c: Change,
) -> Result<u64, super::Refusal> {
    let (lb, listener) = (i.required("loadBalancerId")?, i.required("listenerId")?);
    let ((), task) = commit(ctx, |cx, st, _| {
        Ok(Plan::new(
            backends::change(cx, st, &lb, &listener, (t, port), c)?,
            (),
        ))
    })
    .await?;
    Ok(task)
}

pub async fn weight(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let (i, t, port) = one(p, s, &["weight"])?;
    let w = i.required_int("weight", 0, 100)? as u32;
    let task = change(ctx, &i, &t, port, Change::Weight(w)).await?;
    // v2 answers this one synchronously, without a task.
    Ok(match s {
        Style::V2 => obj(vec![]),
        Style::V3 => obj(vec![s.task(task)]),
    })
}

pub async fn port_change(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let (i, t, port_now) = one(p, s, &["newPort"])?;
    let new = port(&i, "newPort")?;
    let task = change(ctx, &i, &t, port_now, Change::Port(new)).await?;
    Ok(obj(vec![s.task(task)]))
}

pub async fn probe_port(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let (i, t, port_now) = one(p, s, &["probePort"])?;
    let probe = port(&i, "probePort")?;
    let task = change(ctx, &i, &t, port_now, Change::ProbePort(probe)).await?;
    Ok(obj(vec![s.task(task)]))
}
