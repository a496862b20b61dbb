//! GAAP (Global Application Acceleration Platform) API 2018-05-29, layer 4.
//!
//! One module per resource family; each action is `async fn(&Ctx, Params) -> TcResult<Map>`.
//! An action decodes its parameters (stateless), runs an operation of `onramp_ops` through
//! `commit` (the rules of the model, the task record with `TaskId` = `RequestId` as terraform
//! expects), and encodes the outcome; `errors` maps every `OpError` to GAAP's codes.

mod bindings;
pub(crate) mod errors;
mod groups;
mod listener_params;
mod listeners;
mod misc;
mod origins;
mod proxies;
mod stats;
pub mod views;

use onramp_core::State;
use onramp_ops::ids::Ids;
use onramp_ops::{Call, Cx, OpError, Plan};
use serde_json::{Map, Value};

use crate::tencent::{Ctx, Params, TcError, TcResult};

/// Every action this dialect answers, with the parameters it accepts.
macro_rules! actions {
    ($($name:literal => $f:path [$($p:literal),*]),* $(,)?) => {
        const ACTIONS: &[&str] = &[$($name),*];

        /// Run `action` with its raw parameter object.
        pub async fn dispatch(ctx: &Ctx<'_>, action: &str, params: Value) -> TcResult<Map<String, Value>> {
            match action {
                $($name => $f(ctx, Params::new(params, &[$($p),*])?).await,)*
                _ => Err(TcError::new("InvalidAction", format!("The action `{action}` does not exist."))),
            }
        }
    };
}

actions! {
    "CreateProxy" => proxies::create_proxy ["ProjectId", "ProxyName", "AccessRegion", "Bandwidth", "Concurrent", "RealServerRegion", "ClientToken", "GroupId", "TagSet", "ClonedProxyId", "BillingType", "IPAddressVersion", "NetworkType", "PackageType", "Http3Supported"],
    "DescribeProxies" => proxies::describe_proxies ["InstanceIds", "Offset", "Limit", "Filters", "ProxyIds", "TagSet", "Independent", "Order", "OrderField"],
    "DescribeProxyDetail" => proxies::describe_proxy_detail ["ProxyId"],
    "DescribeProxiesStatus" => proxies::describe_proxies_status ["InstanceIds", "ProxyIds"],
    "ModifyProxiesAttribute" => proxies::modify_proxies_attribute ["InstanceIds", "ProxyIds", "ProxyName", "ClientToken"],
    "ModifyProxyConfiguration" => proxies::modify_proxy_configuration ["InstanceId", "ProxyId", "Bandwidth", "Concurrent", "ClientToken", "BillingType"],
    "OpenProxies" => proxies::open_proxies ["InstanceIds", "ProxyIds", "ClientToken"],
    "CloseProxies" => proxies::close_proxies ["InstanceIds", "ProxyIds", "ClientToken"],
    "DestroyProxies" => proxies::destroy_proxies ["Force", "InstanceIds", "ClientToken", "ProxyIds"],
    "CheckProxyCreate" => proxies::check_proxy_create ["AccessRegion", "RealServerRegion", "Bandwidth", "Concurrent", "GroupId", "IPAddressVersion", "NetworkType", "PackageType", "Http3Supported"],
    "CreateProxyGroup" => groups::create_proxy_group ["ProjectId", "GroupName", "RealServerRegion", "TagSet", "AccessRegionSet", "IPAddressVersion", "PackageType", "Http3Supported"],
    "DescribeProxyGroupList" => groups::describe_proxy_group_list ["Offset", "Limit", "ProjectId", "Filters", "TagSet"],
    "DescribeProxyGroupDetails" => groups::describe_proxy_group_details ["GroupId"],
    "ModifyProxyGroupAttribute" => groups::modify_proxy_group_attribute ["GroupId", "GroupName", "ProjectId"],
    "DeleteProxyGroup" => groups::delete_proxy_group ["GroupId", "Force"],
    "OpenProxyGroup" => groups::open_proxy_group ["GroupId"],
    "CloseProxyGroup" => groups::close_proxy_group ["GroupId"],
    "CreateTCPListeners" => listeners::create_tcp ["ListenerName", "Ports", "Scheduler", "HealthCheck", "RealServerType", "ProxyId", "GroupId", "DelayLoop", "ConnectTimeout", "RealServerPorts", "ClientIPMethod", "FailoverSwitch", "HealthyThreshold", "UnhealthyThreshold", "SessionPersist", "MaxConnections"],
    "CreateUDPListeners" => listeners::create_udp ["ListenerName", "Ports", "Scheduler", "RealServerType", "ProxyId", "GroupId", "RealServerPorts", "DelayLoop", "ConnectTimeout", "HealthyThreshold", "UnhealthyThreshold", "FailoverSwitch", "HealthCheck", "CheckType", "CheckPort", "ContextType", "SendContext", "RecvContext", "SessionPersist", "MaxConnections", "ClientIPMethod"],
    "DescribeTCPListeners" => listeners::describe_tcp ["ProxyId", "ListenerId", "ListenerName", "Port", "Offset", "Limit", "GroupId", "SearchValue"],
    "DescribeUDPListeners" => listeners::describe_udp ["ProxyId", "ListenerId", "ListenerName", "Port", "Offset", "Limit", "GroupId", "SearchValue"],
    "ModifyTCPListenerAttribute" => listeners::modify_tcp ["ListenerId", "GroupId", "ProxyId", "ListenerName", "Scheduler", "DelayLoop", "ConnectTimeout", "HealthCheck", "FailoverSwitch", "HealthyThreshold", "UnhealthyThreshold", "SessionPersist", "MaxConnections", "ClientIPMethod"],
    "ModifyUDPListenerAttribute" => listeners::modify_udp ["ListenerId", "GroupId", "ProxyId", "ListenerName", "Scheduler", "DelayLoop", "ConnectTimeout", "HealthyThreshold", "UnhealthyThreshold", "FailoverSwitch", "HealthCheck", "CheckType", "CheckPort", "ContextType", "SendContext", "RecvContext", "SessionPersist", "MaxConnections", "ClientIPMethod"],
    "DeleteListeners" => listeners::delete_listeners ["ListenerIds", "Force", "GroupId", "ProxyId"],
    "AddRealServers" => origins::add_real_servers ["ProjectId", "RealServerIP", "RealServerName", "TagSet"],
    "DescribeRealServers" => origins::describe_real_servers ["ProjectId", "SearchValue", "Offset", "Limit", "TagSet", "Filters"],
    "ModifyRealServerName" => origins::modify_real_server_name ["RealServerName", "RealServerId"],
    "RemoveRealServers" => origins::remove_real_servers ["RealServerIds"],
    "BindListenerRealServers" => bindings::bind_listener_real_servers ["ListenerId", "RealServerBindSet"],
    "DescribeListenerRealServers" => origins::describe_listener_real_servers ["ListenerId"],
    "DescribeRealServersStatus" => origins::describe_real_servers_status ["RealServerIds"],
    "DescribeListenerStatistics" => stats::describe_listener_statistics ["ListenerId", "StartTime", "EndTime", "MetricNames", "Granularity"],
    "DescribeProxyStatistics" => stats::describe_proxy_statistics ["ProxyId", "StartTime", "EndTime", "MetricNames", "Granularity", "Isp"],
    "DescribeRealServerStatistics" => stats::describe_real_server_statistics ["RealServerId", "ListenerId", "RuleId", "WithinTime", "StartTime", "EndTime", "Granularity"],
    "DescribeTaskStatus" => misc::describe_task_status ["TaskId"],
    "DescribeAccessRegions" => misc::describe_access_regions [],
    "DescribeDestRegions" => misc::describe_dest_regions ["QualityType"],
    "DescribeResourcesByTag" => misc::describe_resources_by_tag ["TagKey", "TagValue", "ResourceType"],
}

pub fn is_action(name: &str) -> bool {
    ACTIONS.contains(&name)
}

/// Run an operation through the one commit path (`onramp_ops::commit`: the task record, whose
/// `TaskId` is this call's `RequestId`, and the store's conflicts) and answer its refusal in
/// GAAP's codes.
pub async fn commit<R>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&Cx, &State, &mut Ids) -> Result<Plan<R>, OpError>,
) -> TcResult<R> {
    commit_ops(ctx, f)
        .await
        .map_err(|e| errors::tc(e, &ctx.action))
}

/// `commit`, leaving the refusal typed for an action that names something its own way.
pub async fn commit_ops<R>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&Cx, &State, &mut Ids) -> Result<Plan<R>, OpError>,
) -> Result<R, OpError> {
    let call = Call {
        account: &ctx.account.id,
        now: ctx.now,
        task_id: &ctx.request_id,
        action: &ctx.action,
    };
    onramp_ops::commit(&ctx.api.control, &call, f)
        .await
        .map(|(_, out)| out)
}

/// Build a response object from key/value pairs.
pub fn obj(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Proxy IDs from `ProxyIds` or the legacy `InstanceIds` (not both).
pub fn proxy_ids(p: &Params) -> TcResult<Vec<String>> {
    let new = p.strs("ProxyIds")?;
    let legacy = p.strs("InstanceIds")?;
    if !new.is_empty() && !legacy.is_empty() {
        return Err(TcError::conflict("ProxyIds", "InstanceIds"));
    }
    Ok(if new.is_empty() { legacy } else { new })
}

/// Decode a `TagSet` (list of TagPair) with at most `max` items.
pub fn tags(p: &Params, max: usize) -> TcResult<Vec<onramp_core::Tag>> {
    let items = p.objects("TagSet", &["TagKey", "TagValue"])?;
    if items.len() > max {
        return Err(TcError::value("TagSet", format!("at most {max} tags")));
    }
    items
        .iter()
        .map(|t| {
            let key = t.nonempty("TagKey")?;
            let value = t.str_req("TagValue")?;
            onramp_core::validate::text("TagSet.TagKey", &key, 1, 128)?;
            onramp_core::validate::text("TagSet.TagValue", &value, 0, 256)?;
            Ok(onramp_core::Tag { key, value })
        })
        .collect()
}

/// Whether a resource's tags match ANY of the filter tags (empty filter matches all).
pub fn tags_match(have: &[onramp_core::Tag], want: &[onramp_core::Tag]) -> bool {
    want.is_empty() || want.iter().any(|w| have.contains(w))
}

/// A page of `items` and the total.
pub fn page<T>(items: Vec<T>, offset: usize, limit: usize) -> (usize, Vec<T>) {
    let total = items.len();
    (total, items.into_iter().skip(offset).take(limit).collect())
}
