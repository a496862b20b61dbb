//! Real-server (origin) actions and the L4 listener bindings.
//!
//! Owns AddRealServers, DescribeRealServers, ModifyRealServerName, RemoveRealServers,
//! BindListenerRealServers, DescribeListenerRealServers and DescribeRealServersStatus.
//! An origin's address is unique within a project of an account (checked here to name the
//! offending entry, and enforced by the store against racing writers). Binding replaces a
//! listener's whole set; a pair (origin, port) that stays keeps its binding ID, so the edges only
//! see what really changed.

use std::collections::{BTreeMap, HashSet};

use onramp_core::{
    ids, validate, Binding, Dialect, EndpointGroup, FailoverRole, Kind, Listener, ListenerChange,
    Op, Origin, OriginKind, Record, State, Tag,
};
use serde_json::{json, Map, Value};

use super::{commit, obj, page, tags, tags_match, views};
use crate::tencent::{Ctx, Params, TcError, TcResult};
use crate::Api;

/// Most addresses one AddRealServers call may register.
const MAX_ADD: usize = 100;
/// Longest `RealServerName`, in characters.
const NAME_MAX: usize = 64;
/// Most origins one listener may have bound.
const MAX_BOUND: usize = 255;
/// Most tags on one origin.
const MAX_TAGS: usize = 50;
const BIND_KEYS: &[&str] = &[
    "RealServerId",
    "RealServerPort",
    "RealServerIP",
    "RealServerWeight",
    "RealServerFailoverRole",
];

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
    validate::length("RealServerName", &name, 1, NAME_MAX)?;
    Ok(name)
}

fn origin_not_found(id: &str) -> TcError {
    TcError::not_found("RealServerId", id)
}

/// The account's origins, oldest first (ties by ID), so listings are stable across calls.
fn sorted_origins<'a>(st: &'a State, account: &str) -> Vec<&'a Origin> {
    let mut v: Vec<&Origin> = st
        .origins
        .values()
        .filter(|o| o.account_id == account)
        .collect();
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
    let (_, created) = commit(ctx, |st| {
        new_origins(ctx, st, project, &name, &tag_set, &addresses)
    })
    .await?;
    Ok(obj(vec![("RealServerSet", Value::Array(created))]))
}

/// One origin per address, refused if the address is already registered in the project.
fn new_origins(
    ctx: &Ctx<'_>,
    st: &State,
    project: i64,
    name: &str,
    tag_set: &[Tag],
    addresses: &[(String, OriginKind)],
) -> TcResult<(Vec<Op>, Vec<Value>)> {
    let (mut ops, mut out, mut taken) = (Vec::new(), Vec::new(), HashSet::new());
    for (address, kind) in addresses {
        if st
            .origin_by_address(&ctx.account.id, project, address)
            .is_some()
        {
            let msg = format!("The real server {address} already exists in project {project}.");
            return Err(duplicate_rs(msg));
        }
        let id = fresh_origin_id(st, &taken);
        taken.insert(id.clone());
        out.push(json!({"RealServerId": id, "RealServerIP": address}));
        ops.push(Op::Put(Record::Origin(Origin {
            id,
            account_id: ctx.account.id.clone(),
            created_by: Dialect::Gaap,
            project_id: project,
            name: name.to_string(),
            address: address.clone(),
            kind: *kind,
            tags: tag_set.to_vec(),
            created_at: ctx.now,
            updated_at: ctx.now,
            ..Default::default()
        })));
    }
    Ok((ops, out))
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

/// A random `rs-…` ID not used by any stored origin nor earlier in this batch.
fn fresh_origin_id(st: &State, taken: &HashSet<String>) -> String {
    loop {
        let id = ids::short(ids::ORIGIN);
        if !st.origins.contains_key(&id) && !taken.contains(&id) {
            return id;
        }
    }
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
fn normalised_or_raw(s: String) -> String {
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
    let matching: Vec<Value> = sorted_origins(&st, &ctx.account.id)
        .into_iter()
        .filter(|o| project == -1 || o.project_id == project)
        .filter(|o| search.as_deref().is_none_or(|s| o.address.contains(s)))
        .filter(|o| filters.iter().all(|f| f.matches(o)))
        .filter(|o| tags_match(&o.tags, &want_tags))
        .map(views::real_server_info)
        .collect();
    let (total, items) = page(matching, offset, limit);
    Ok(obj(vec![
        ("RealServerSet", Value::Array(items)),
        ("TotalCount", json!(total)),
    ]))
}

pub async fn modify_real_server_name(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("RealServerId")?;
    let name = real_server_name(&p)?;
    commit(ctx, |st| {
        let mut o = st
            .origin(&ctx.account.id, &id)
            .ok_or_else(|| origin_not_found(&id))?
            .clone();
        o.name = name;
        o.updated_at = ctx.now;
        Ok((vec![Op::Put(Record::Origin(o))], ()))
    })
    .await?;
    Ok(Map::new())
}

pub async fn remove_real_servers(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let wanted = id_set(&p, "RealServerIds")?;
    commit(ctx, |st| {
        if let Some(missing) = wanted.iter().find(|id| st.origin(&ctx.account.id, id).is_none()) {
            return Err(origin_not_found(missing));
        }
        for id in &wanted {
            if let Some(b) = st.bindings_of_origin(id).next() {
                return Err(TcError::new(
                    "FailedOperation.RealServerAlreadyBound",
                    format!("The real server {id} is bound to listener {}; unbind it before removing it.", b.listener_id),
                ));
            }
        }
        Ok((wanted.iter().map(|id| Op::Delete(Kind::Origin, id.clone())).collect(), ()))
    })
    .await?;
    Ok(Map::new())
}

/// One validated entry of `RealServerBindSet`.
struct Want {
    origin_id: String,
    port: u16,
    weight: u32,
    role: FailoverRole,
}

pub async fn bind_listener_real_servers(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let listener_id = p.nonempty("ListenerId")?;
    let items = p.objects("RealServerBindSet", BIND_KEYS)?;
    commit(ctx, |st| {
        let l = st
            .listener(&ctx.account.id, &listener_id)
            .ok_or_else(|| TcError::not_found("ListenerId", &listener_id))?;
        if items.len() > MAX_BOUND {
            return Err(TcError::new(
                "FailedOperation.LimitRealServerNum",
                format!(
                    "A listener can have at most {MAX_BOUND} bound real servers; {} were given.",
                    items.len()
                ),
            ));
        }
        let mut seen = HashSet::new();
        let mut wants = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let w = bind_item(ctx, st, l, i, item)?;
            if !seen.insert((w.origin_id.clone(), w.port)) {
                let why = format!(
                    "real server {} is listed more than once on port {}",
                    w.origin_id, w.port
                );
                return Err(TcError::value(&format!("RealServerBindSet.{i}"), why));
            }
            wants.push(w);
        }
        Ok((bind_ops(ctx, st, l, wants), ()))
    })
    .await?;
    Ok(Map::new())
}

/// Validate entry `i` against the listener and the account's origins.
fn bind_item(ctx: &Ctx<'_>, st: &State, l: &Listener, i: usize, item: &Params) -> TcResult<Want> {
    let field = |k: &str| format!("RealServerBindSet.{i}.{k}");
    let origin_id = item.nonempty("RealServerId")?;
    let port = validate::port(&field("RealServerPort"), item.i64_req("RealServerPort")?)?;
    let ip = item.nonempty("RealServerIP")?;
    let weight = item.int_in("RealServerWeight", 0, 100)?.unwrap_or(1) as u32;
    let role = item.one_of("RealServerFailoverRole", &["master", "slave"])?;
    let o = st.origin(&ctx.account.id, &origin_id).ok_or_else(|| {
        let msg = format!(
            "The real server {origin_id} ({}) does not belong to this account.",
            field("RealServerId")
        );
        TcError::new("InvalidParameterValue.RealServerNotBelong", msg)
    })?;
    check_fits(l, o, i, &ip)?;
    let role = match (l.failover, role.as_deref()) {
        (false, _) => FailoverRole::None,
        (true, Some("slave")) => FailoverRole::Slave,
        (true, _) => FailoverRole::Master,
    };
    Ok(Want {
        origin_id,
        port,
        weight,
        role,
    })
}

/// Whether origin `o`, named by entry `i` with address `ip`, may be bound to listener `l`.
fn check_fits(l: &Listener, o: &Origin, i: usize, ip: &str) -> TcResult<()> {
    let field = |k: &str| format!("RealServerBindSet.{i}.{k}");
    if normalised_or_raw(ip.to_string()) != o.address {
        let why = format!("'{ip}' is not the address of {} ({})", o.id, o.address);
        return Err(TcError::value(&field("RealServerIP"), why));
    }
    if o.kind != l.origin_kind {
        let (have, want) = (o.kind.as_str(), l.origin_kind.as_str());
        let why = format!(
            "{} is a {have} real server but listener {} binds {want}",
            o.id, l.id
        );
        return Err(TcError::value(&field("RealServerId"), why));
    }
    if o.banned {
        let msg = format!(
            "The real server {} ({}) is on the ban blacklist.",
            o.id, o.address
        );
        return Err(TcError::new("InvalidParameterValue.HitBanBlacklist", msg));
    }
    Ok(())
}

/// The ops that turn the listener's bindings into `wants`, and mark it as adjusting origins.
fn bind_ops(ctx: &Ctx<'_>, st: &State, l: &Listener, wants: Vec<Want>) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut current: BTreeMap<(String, u16), &Binding> = BTreeMap::new();
    for b in st.bindings_of(&l.id) {
        if current.insert((b.origin_id.clone(), b.port), b).is_some() {
            // A second binding of the same pair can only be a leftover; keep one.
            ops.push(Op::Delete(Kind::Binding, b.id.clone()));
        }
    }
    let mut group: Option<String> = None;
    for w in wants {
        match current.remove(&(w.origin_id.clone(), w.port)) {
            Some(b) if b.weight == w.weight && b.role == w.role => {}
            Some(b) => {
                let mut b = b.clone();
                b.weight = w.weight;
                b.role = w.role;
                ops.push(Op::Put(Record::Binding(b)));
            }
            None => {
                let eg = match &group {
                    Some(g) => g.clone(),
                    None => group.insert(implicit_group(ctx, st, l, &mut ops)).clone(),
                };
                ops.push(Op::Put(Record::Binding(new_binding(ctx, l, eg, w))));
            }
        }
    }
    ops.extend(
        current
            .into_values()
            .map(|b| Op::Delete(Kind::Binding, b.id.clone())),
    );
    let mut l = l.clone();
    l.change = ListenerChange::Origins;
    l.updated_at = ctx.now;
    ops.push(Op::Put(Record::Listener(l)));
    ops
}

fn new_binding(ctx: &Ctx<'_>, l: &Listener, endpoint_group_id: String, w: Want) -> Binding {
    Binding {
        id: ids::uuid(),
        account_id: ctx.account.id.clone(),
        listener_id: l.id.clone(),
        endpoint_group_id,
        origin_id: w.origin_id,
        port: w.port,
        weight: w.weight,
        role: w.role,
        created_at: ctx.now,
        ..Default::default()
    }
}

/// The listener's implicit endpoint group, created (pushed to `ops`) if it has none yet.
fn implicit_group(ctx: &Ctx<'_>, st: &State, l: &Listener, ops: &mut Vec<Op>) -> String {
    if let Some(e) = st.endpoint_groups_of(&l.id).find(|e| e.implicit) {
        return e.id.clone();
    }
    let region = l
        .owner
        .accelerator()
        .and_then(|a| st.accelerator(&ctx.account.id, a))
        .map(|a| a.access_region.clone());
    let eg = EndpointGroup {
        id: ids::uuid(),
        account_id: ctx.account.id.clone(),
        listener_id: l.id.clone(),
        region: region.unwrap_or_default(),
        traffic_dial: 100,
        implicit: true,
        created_at: ctx.now,
        updated_at: ctx.now,
        ..Default::default()
    };
    let id = eg.id.clone();
    ops.push(Op::Put(Record::EndpointGroup(eg)));
    id
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
    let candidates: Vec<Value> = sorted_origins(st, account)
        .into_iter()
        .filter(|o| o.kind == l.origin_kind && !o.banned)
        .map(views::real_server)
        .collect();
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
