//! `DescribeBmListeners`: the L4 listeners of a load balancer (an accelerator of any dialect).

use onramp_core::{ClientIpMethod, Listener, PayloadFormat, Protocol};
use serde_json::{json, Value};

use super::{BmCtx, BmError, BmResult};
use crate::plain_datetime;

fn view(ctx: &BmCtx<'_>, l: &Listener) -> Value {
    let h = &l.health;
    let input_type = match (h.custom, h.payload_format) {
        (false, _) => "",
        (true, PayloadFormat::Text) => "text",
        (true, PayloadFormat::Hex) => "hexadecimal",
    };
    json!({
        "listenerId": l.id,
        "listenerName": l.name,
        "protocol": l.protocol.lower(),
        "loadBalancerPort": l.first_port(),
        "bandwidth": l.bandwidth_mbps,
        "listenerType": "L4Listener",
        "sessionExpire": l.session_persist_secs,
        "healthSwitch": i64::from(h.enabled),
        "timeOut": h.timeout_secs,
        "intervalTime": h.interval_secs,
        "healthNum": h.healthy_threshold,
        "unhealthNum": h.unhealthy_threshold,
        "customHealthSwitch": i64::from(h.custom && l.protocol == Protocol::Tcp),
        "inputType": input_type,
        "lineSeparatorType": h.line_separator.code(),
        "healthRequest": h.send,
        "healthResponse": h.expect,
        "toaFlag": i64::from(l.client_ip == ClientIpMethod::Toa),
        // 1 only once the edges serve it (not while changing, nor when its port was taken).
        "status": i64::from(ctx.api.listener_phase(l).is_settled()),
        "addTimestamp": plain_datetime(l.created_at),
    })
}

pub fn describe_bm_listeners(ctx: &BmCtx<'_>) -> BmResult {
    let lb = ctx.req("loadBalancerId")?;
    let wanted = ctx.list("listenerIds");
    let st = ctx.api.control.state();
    if st.accelerator(&ctx.account.id, lb).is_none() && st.group(&ctx.account.id, lb).is_none() {
        return Err(BmError::no_lb(lb));
    }
    let mut items: Vec<&Listener> = st
        .listeners_of(lb)
        .filter(|l| wanted.is_empty() || wanted.contains(&l.id))
        .collect();
    items.sort_by(|a, b| {
        (a.first_port(), a.protocol, &a.id).cmp(&(b.first_port(), b.protocol, &b.id))
    });
    let set: Vec<Value> = items.iter().map(|l| view(ctx, l)).collect();
    let mut m = serde_json::Map::new();
    m.insert("totalCount".into(), json!(set.len()));
    m.insert("listenerSet".into(), json!(set));
    Ok(m)
}
