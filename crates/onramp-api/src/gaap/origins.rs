//! Real-server (origin) actions and the L4 listener bindings.
//!
//! Owns AddRealServers, DescribeRealServers, ModifyRealServerName, RemoveRealServers,
//! DescribeListenerRealServers and DescribeRealServersStatus (binding itself is in `bindings.rs`).
//! The rules (an address once per project, a bound origin stays) are `onramp_ops::origins`.

use std::collections::HashSet;

use onramp_core::{validate, Dialect, Origin, OriginKind, State};
use onramp_ops::origins::NewOrigins;
use onramp_ops::Plan;
use serde_json::{json, Map, Value};

use super::{commit, obj, page, tags, tags_match, views};
use crate::tencent::{Ctx, Params, TcError, TcResult};
use crate::Api;

/// Most addresses one AddRealServers call may register.
const MAX_ADD: usize = 100;
/// Longest `RealServerName`, in characters.
const NAME_MAX: usize = 64;
/// Most tags on one origin.
const MAX_TAGS: usize = 50;

/// A required integer within `[lo, hi]`.
fn required_int(p: &Params, k: &str, lo: i64, hi: i64) -> TcResult<i64> {
    p.int_in(k, lo, hi)?.ok_or_else(|| TcError::missing(k))
}

/// A required, non-empty list of strings; `shown` is its full name in errors.
fn required_list(p: &Params, k: &str, shown: &str) -> TcResult<Vec<String>> {
    if !p.has(k) {
        return Err(TcError::missing(shown));
    }
    let v = p.strs(k)?;
    if v.is_empty() {
        return Err(TcError::value(shown, "must list at least one item"));
    }
    Ok(v)
}

/// A required list of IDs without repeats, in first-seen order.
fn id_set(p: &Params, k: &str) -> TcResult<Vec<String>> {
    let mut seen = HashSet::new();
    Ok(required_list(p, k, k)?
        .into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect())
}

fn real_server_name(p: &Params) -> TcResult<String> {
    let name = p.str_req("RealServerName")?;
    validate::text("RealServerName", &name, 1, NAME_MAX)?;
    Ok(name)
}

fn origin_not_found(id: &str) -> TcError {
    TcError::not_found("RealServerId", id)
}

/// The account's origins, oldest first (ties by ID), so listings are stable across calls.
/// The account's origins of `project` (-1: every project), oldest first. One project is found
/// through the per-project index.
fn sorted_origins<'a>(st: &'a State, account: &str, project: i64) -> Vec<&'a Origin> {
    let mut v: Vec<&Origin> = match project {
        -1 => st
            .origins
            .values()
            .filter(|o| o.account_id == account)
            .collect(),
        p => st.origins_in_project(account, p).collect(),
    };
    v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    v
}

pub async fn add_real_servers(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let project = required_int(&p, "ProjectId", 0, i64::MAX)?;
    let raw = required_list(&p, "RealServerIP", "RealServerIP")?;
    if raw.len() > MAX_ADD {
        return Err(TcError::value(
            "RealServerIP",
            format!("at most {MAX_ADD} addresses per call, got {}", raw.len()),
        ));
    }
    let name = real_server_name(&p)?;
    let tag_set = tags(&p, MAX_TAGS)?;
    let addresses = normalised_addresses(&raw)?;
    let req = NewOrigins {
        project_id: project,
        name: &name,
        tags: &tag_set,
        created_by: Dialect::Gaap,
        addresses: &addresses,
    };
    let created = commit(ctx, |cx, st, ids| {
        Ok(onramp_ops::origins::add(cx, st, ids, &req)?.into())
    })
    .await?;
    let created = created
        .into_iter()
        .map(|o| json!({"RealServerId": o.id, "RealServerIP": o.address}))
        .collect();
    Ok(obj(vec![("RealServerSet", Value::Array(created))]))
}

fn duplicate_rs(message: String) -> TcError {
    TcError::new("InvalidParameterValue.DuplicateRS", message)
}

/// Validate and normalise every `RealServerIP.N`; an address listed twice is a duplicate.
fn normalised_addresses(raw: &[String]) -> TcResult<Vec<(String, OriginKind)>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let (address, kind) = validate::origin_address(&format!("RealServerIP.{i}"), s)?;
        if !seen.insert(address.clone()) {
            let msg = format!("The real server {address} is listed twice (RealServerIP.{i}).");
            return Err(duplicate_rs(msg));
        }
        out.push((address, kind));
    }
    Ok(out)
}

/// One entry of `Filters`: the field it tests and the accepted values (OR).
struct OriginFilter {
    by_name: bool,
    values: Vec<String>,
}

impl OriginFilter {
    fn matches(&self, o: &Origin) -> bool {
        let have = if self.by_name { &o.name } else { &o.address };
        self.values.iter().any(|v| v == have)
    }
}

fn origin_filters(p: &Params) -> TcResult<Vec<OriginFilter>> {
    let items = p.objects("Filters", &["Name", "Values"])?;
    let mut out = Vec::with_capacity(items.len());
    for (i, f) in items.iter().enumerate() {
        let by_name = match f.nonempty("Name")?.as_str() {
            "RealServerName" => true,
            "RealServerIP" => false,
            other => {
                let why = format!("unknown filter '{other}'; use RealServerName or RealServerIP");
                return Err(TcError::value(&format!("Filters.{i}.Name"), why));
            }
        };
        let mut values = required_list(f, "Values", &format!("Filters.{i}.Values"))?;
        if !by_name {
            // Addresses are stored normalised; compare like with like.
            values = values.into_iter().map(normalised_or_raw).collect();
        }
        out.push(OriginFilter { by_name, values });
    }
    Ok(out)
}

/// The normalised form of an address, or the text itself if it is not one.
pub(super) fn normalised_or_raw(s: String) -> String {
    validate::origin_address("", &s)
        .map(|(a, _)| a)
        .unwrap_or(s)
}

pub async fn describe_real_servers(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let project = required_int(&p, "ProjectId", -1, i64::MAX)?;
    let search = p
        .str_opt("SearchValue")?
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    let filters = origin_filters(&p)?;
    let want_tags = tags(&p, 5)?;
    let (offset, limit) = p.page(50)?;
    let st = ctx.api.control.state();
    let mut matching = sorted_origins(&st, &ctx.account.id, project);
    matching.retain(|o| {
        search.as_deref().is_none_or(|s| o.address.contains(s))
            && filters.iter().all(|f| f.matches(o))
            && tags_match(&o.tags, &want_tags)
    });
    // Only the page is rendered.
    let (total, items) = page(matching, offset, limit);
    let items = items.into_iter().map(views::real_server_info).collect();
    Ok(obj(vec![
        ("RealServerSet", Value::Array(items)),
        ("TotalCount", json!(total)),
    ]))
}

pub async fn modify_real_server_name(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("RealServerId")?;
    let name = real_server_name(&p)?;
    commit(ctx, |cx, st, _| {
        Ok(Plan::new(
            onramp_ops::origins::rename(cx, st, &id, &name)?,
            (),
        ))
    })
    .await?;
    Ok(Map::new())
}

pub async fn remove_real_servers(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let wanted = id_set(&p, "RealServerIds")?;
    commit(ctx, |cx, st, _| {
        Ok(Plan::new(onramp_ops::origins::remove(cx, st, &wanted)?, ()))
    })
    .await?;
    Ok(Map::new())
}

pub async fn describe_listener_real_servers(
    ctx: &Ctx<'_>,
    p: Params,
) -> TcResult<Map<String, Value>> {
    let listener_id = p.nonempty("ListenerId")?;
    let st = ctx.api.control.state();
    listener_real_servers(ctx.api, &st, &ctx.account.id, &listener_id)
}

fn listener_real_servers(
    api: &Api,
    st: &State,
    account: &str,
    listener_id: &str,
) -> TcResult<Map<String, Value>> {
    let l = st
        .listener(account, listener_id)
        .ok_or_else(|| TcError::not_found("ListenerId", listener_id))?;
    // The origins that can be bound: those of the listener's project (proxy or group), of the
    // listener's kind, not banned. Indexed by project, so the cost follows the project's size,
    // not the store's.
    let mut in_project: Vec<&Origin> = st
        .origins_in_project(account, st.listener_project(l))
        .filter(|o| o.kind == l.origin_kind && !o.banned)
        .collect();
    in_project.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let candidates: Vec<Value> = in_project.into_iter().map(views::real_server).collect();
    // Same order as the listener's own RealServerSet (DescribeTCP/UDPListeners).
    let bound: Vec<Value> = st
        .bindings_of(&l.id)
        .map(|b| views::bind_real_server(api, st, l, b))
        .collect();
    Ok(obj(vec![
        ("TotalCount", json!(candidates.len())),
        ("RealServerSet", Value::Array(candidates)),
        ("BindRealServerTotalCount", json!(bound.len())),
        ("BindRealServerSet", Value::Array(bound)),
    ]))
}

pub async fn describe_real_servers_status(
    ctx: &Ctx<'_>,
    p: Params,
) -> TcResult<Map<String, Value>> {
    let wanted = id_set(&p, "RealServerIds")?;
    let st = ctx.api.control.state();
    let set = wanted
        .iter()
        .map(|id| bind_status(&st, &ctx.account.id, id))
        .collect::<TcResult<Vec<Value>>>()?;
    Ok(obj(vec![
        ("TotalCount", json!(set.len())),
        ("RealServerStatusSet", Value::Array(set)),
    ]))
}

/// RealServerStatus of one origin: bound or not, and the owner of the first listener using it.
fn bind_status(st: &State, account: &str, id: &str) -> TcResult<Value> {
    st.origin(account, id).ok_or_else(|| origin_not_found(id))?;
    let bound = st.bindings_of_origin(id).next().is_some();
    let owner = st
        .bindings_of_origin(id)
        .filter_map(|b| st.listeners.get(&b.listener_id))
        .min_by(|a, b| a.id.cmp(&b.id));
    let proxy = owner.and_then(|l| l.owner.accelerator()).unwrap_or("");
    let group = owner.and_then(|l| l.owner.group()).unwrap_or("");
    Ok(
        json!({"RealServerId": id, "BindStatus": i64::from(bound), "ProxyId": proxy, "GroupId": group}),
    )
}

#[cfg(test)]
#[path = "origins_tests.rs"]
pub(super) mod tests;
