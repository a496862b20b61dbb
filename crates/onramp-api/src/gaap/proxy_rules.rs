//! Input rules shared by the proxy and proxy-group actions: regions, bandwidth and concurrency
//! ranges, names, ID lists, filters and tenant-scoped lookups for the reads.

use onramp_core::{validate, Accelerator, AcceleratorGroup, State};

use crate::tencent::{Params, TcError, TcResult};
use crate::Api;

/// Largest accepted bandwidth cap, Mbps.
pub const MAX_BANDWIDTH: i64 = 100_000;
/// Largest accepted concurrency cap, in units of 10,000 connections.
pub const MAX_CONCURRENT: i64 = 1_000;
pub const IP_VERSIONS: &[&str] = &["IPv4", "IPv6"];
pub const NETWORK_TYPES: &[&str] = &["normal", "cn2", "triple"];
pub const PACKAGE_TYPES: &[&str] = &["Thunder", "Accelerator", "CrossBorder"];
/// Most IDs one call may name.
pub const MAX_IDS: usize = 100;

pub fn bandwidth(field: &str, v: i64) -> TcResult<u64> {
    if !(1..=MAX_BANDWIDTH).contains(&v) {
        return Err(TcError::new(
            "InvalidParameterValue.InvalidBandwidth",
            format!("The value of `{field}` must be between 1 and {MAX_BANDWIDTH} Mbps, got {v}."),
        ));
    }
    Ok(v.unsigned_abs())
}

pub fn concurrent(field: &str, v: i64) -> TcResult<u64> {
    if !(1..=MAX_CONCURRENT).contains(&v) {
        return Err(TcError::new(
            "InvalidParameterValue.InvalidConcurrency",
            format!("The value of `{field}` must be between 1 and {MAX_CONCURRENT} (x10,000 connections), got {v}."),
        ));
    }
    Ok(v.unsigned_abs())
}

/// A known access region.
pub fn access_region(api: &Api, field: &str, id: &str) -> TcResult<String> {
    match api.region(id) {
        Some(r) => Ok(r.id),
        None => Err(TcError::new(
            "InvalidParameterValue.UnknownAccessRegion",
            format!("The value of `{field}` is not a known access region: '{id}'."),
        )),
    }
}

/// A known destination (origin) region.
pub fn dest_region(api: &Api, field: &str, id: &str) -> TcResult<String> {
    match api.region(id) {
        Some(r) => Ok(r.id),
        None => Err(TcError::new(
            "InvalidParameterValue.UnknownDestRegion",
            format!("The value of `{field}` is not a known origin region: '{id}'."),
        )),
    }
}

/// A required name of 1 to `max` characters.
pub fn name(p: &Params, field: &str, max: usize) -> TcResult<String> {
    let s = p.str_req(field)?;
    validate::text(field, &s, 1, max)?;
    Ok(s)
}

/// An optional project ID (0 is the default project; negative IDs do not exist).
pub fn project(p: &Params, field: &str) -> TcResult<Option<i64>> {
    match p.i64_opt(field)? {
        Some(v) if v < 0 => Err(TcError::value(
            field,
            format!("must be 0 or a positive project ID, got {v}"),
        )),
        v => Ok(v),
    }
}

/// `ClientToken`: at most 64 printable ASCII characters; empty means none.
pub fn client_token(p: &Params) -> TcResult<Option<String>> {
    let Some(t) = p.str_opt("ClientToken")? else {
        return Ok(None);
    };
    if t.len() > 64 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TcError::value(
            "ClientToken",
            "must be at most 64 printable ASCII characters",
        ));
    }
    Ok(Some(t).filter(|t| !t.is_empty()))
}

/// `ProxyIds` (or legacy `InstanceIds`): required, at most 100, duplicates dropped.
pub fn required_ids(p: &Params) -> TcResult<Vec<String>> {
    let ids = crate::gaap::proxy_ids(p)?;
    if ids.is_empty() {
        return Err(TcError::missing("ProxyIds"));
    }
    bounded_ids(ids)
}

/// At most 100 IDs, duplicates dropped, order kept.
pub fn bounded_ids(ids: Vec<String>) -> TcResult<Vec<String>> {
    if ids.len() > MAX_IDS {
        return Err(TcError::value(
            "ProxyIds",
            format!("at most {MAX_IDS} IDs, got {}", ids.len()),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The caller's proxy, or `ResourceNotFound` (another account's proxy does not exist for it).
pub fn proxy<'a>(st: &'a State, account: &str, id: &str) -> TcResult<&'a Accelerator> {
    st.accelerator(account, id)
        .ok_or_else(|| TcError::not_found("ProxyId", id))
}

/// The caller's group, or `ResourceNotFound`.
pub fn group<'a>(st: &'a State, account: &str, id: &str) -> TcResult<&'a AcceleratorGroup> {
    st.group(account, id)
        .ok_or_else(|| TcError::not_found("GroupId", id))
}

/// One decoded `Filter`.
#[derive(Debug, Clone)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// `Filters`: at most `max` filters named from `names`, each with 1 to 5 values.
pub fn filters(p: &Params, names: &[&str], max: usize) -> TcResult<Vec<Filter>> {
    let items = p.objects("Filters", &["Name", "Values"])?;
    if items.len() > max {
        return Err(TcError::value(
            "Filters",
            format!("at most {max} filters, got {}", items.len()),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, f) in items.iter().enumerate() {
        let name = f.nonempty("Name")?;
        if !names.contains(&name.as_str()) {
            let why = format!("must be one of {}, got '{name}'", names.join(", "));
            return Err(TcError::value(&format!("Filters.{i}.Name"), why));
        }
        let values = f.strs("Values")?;
        if values.is_empty() || values.len() > 5 {
            let why = format!("must hold 1 to 5 values, got {}", values.len());
            return Err(TcError::value(&format!("Filters.{i}.Values"), why));
        }
        out.push(Filter { name, values });
    }
    Ok(out)
}
