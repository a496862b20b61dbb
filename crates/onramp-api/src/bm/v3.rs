//! API 3.0 of the `bmlb` service (version 2018-06-25), on the Tencent API 3.0 transport
//! (`crate::tencent`, which authenticates, limits, runs signed writes once and audits, as for
//! GAAP): the action table and its answers in the 3.0 envelope.

use serde_json::{Map, Value};

use super::{backends, balancers, errors, info, layer7, listeners, Refusal, Style};
use crate::tencent::{Ctx, TcResult};

/// Every layer-4 action of `bmlb` 2018-06-25.
pub const ACTIONS: &[&str] = &[
    "CreateLoadBalancers",
    "DescribeLoadBalancers",
    "ModifyLoadBalancer",
    "DeleteLoadBalancer",
    "CreateL4Listeners",
    "DescribeL4Listeners",
    "DescribeL4ListenerInfo",
    "ModifyL4Listener",
    "DeleteListeners",
    "BindL4Backends",
    "UnbindL4Backends",
    "DescribeL4Backends",
    "ModifyL4BackendWeight",
    "ModifyL4BackendPort",
    "ModifyL4BackendProbePort",
    "DescribeLoadBalancerTaskResult",
    "DescribeDevicesBindInfo",
    "DescribeLoadBalancerPortInfo",
    "ModifyLoadBalancerChargeMode",
];

/// Whether `bmlb` has this action (layer-4, or one it refuses as outside layer 4).
pub fn is_action(name: &str) -> bool {
    ACTIONS.contains(&name) || layer7::V3.contains(&name)
}

/// Run `action` with its raw parameter object.
pub async fn dispatch(ctx: &Ctx<'_>, action: &str, p: Value) -> TcResult<Map<String, Value>> {
    const S: Style = Style::V3;
    let answer = match action {
        "CreateLoadBalancers" => balancers::create(ctx, p, S).await,
        "DescribeLoadBalancers" => balancers::describe(ctx, p, S),
        "ModifyLoadBalancer" => balancers::modify(ctx, p, S).await,
        "DeleteLoadBalancer" => balancers::delete(ctx, p, S).await,
        "CreateL4Listeners" => listeners::create(ctx, p, S).await,
        "DescribeL4Listeners" => listeners::describe(ctx, p, S),
        "DescribeL4ListenerInfo" => listeners::info(ctx, p, S),
        "ModifyL4Listener" => listeners::modify(ctx, p, S).await,
        "DeleteListeners" => listeners::delete(ctx, p, S).await,
        "BindL4Backends" => backends::bind(ctx, p, S, None).await,
        "UnbindL4Backends" => backends::unbind(ctx, p, S, None).await,
        "DescribeL4Backends" => backends::describe(ctx, p, S),
        "ModifyL4BackendWeight" => backends::weight(ctx, p, S).await,
        "ModifyL4BackendPort" => backends::port_change(ctx, p, S).await,
        "ModifyL4BackendProbePort" => backends::probe_port(ctx, p, S).await,
        "DescribeLoadBalancerTaskResult" => info::task_result(ctx, p, S),
        "DescribeDevicesBindInfo" => info::bind_info(ctx, p, S),
        "DescribeLoadBalancerPortInfo" => info::port_info(ctx, p, S),
        "ModifyLoadBalancerChargeMode" => balancers::charge_mode(ctx, p, S).await,
        a if layer7::V3.contains(&a) => Err(Refusal::Layer7(a.to_string())),
        a => Err(Refusal::NoAction(a.to_string())),
    };
    answer.map_err(errors::v3)
}
