//! Statistics actions, answered from the edge's per-minute series: DescribeListenerStatistics,
//! DescribeProxyStatistics, DescribeRealServerStatistics.
//!
//! Per bucket of `Granularity` seconds: bandwidth is the average in Mbps, packets the average per
//! second, `Concurrent` the peak; buckets in the future are `null`, as are metrics the edge does
//! not measure (`Latency`, `PacketLoss`, HTTP metrics).

use onramp_core::health::{merge_minutes, MinuteSample};
use serde_json::{json, Map, Value};

use super::obj;
use crate::tencent::{Ctx, Params, TcError, TcResult};
use crate::{now_secs, parse_plain_datetime};

const DAY: i64 = 86_400;

/// StartTime/EndTime as unix seconds, checked.
fn window(p: &Params) -> TcResult<(i64, i64)> {
    let parse = |k: &str| -> TcResult<i64> {
        let s = p.nonempty(k)?;
        parse_plain_datetime(&s).ok_or_else(|| {
            TcError::value(k, format!("'{s}' is not a time like 2020-08-19 00:00:00"))
        })
    };
    let (start, end) = (parse("StartTime")?, parse("EndTime")?);
    if end <= start {
        return Err(TcError::value("EndTime", "must be later than StartTime"));
    }
    if end - start > 90 * DAY {
        return Err(TcError::value(
            "EndTime",
            "the window can span at most 90 days",
        ));
    }
    Ok((start, end))
}

/// Granularity from `allowed`, at least the minimum for the window's length (`rules`: (span, min)).
fn granularity(p: &Params, allowed: &[i64], rules: &[(i64, i64)], span: i64) -> TcResult<i64> {
    let g = p.i64_req("Granularity")?;
    if !allowed.contains(&g) {
        let list: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
        return Err(TcError::value(
            "Granularity",
            format!("must be one of {}", list.join(", ")),
        ));
    }
    let min = rules
        .iter()
        .find(|(max_span, _)| span <= *max_span)
        .map(|(_, m)| *m)
        .unwrap_or(86_400);
    if g < min {
        return Err(TcError::value(
            "Granularity",
            format!("must be at least {min} for a window of {span} s"),
        ));
    }
    Ok(g)
}

fn metric_names(p: &Params, allowed: &[&str]) -> TcResult<Vec<String>> {
    let names = p.strs("MetricNames")?;
    if names.is_empty() {
        return Err(TcError::missing("MetricNames"));
    }
    if let Some(bad) = names.iter().find(|n| !allowed.contains(&n.as_str())) {
        return Err(TcError::value(
            "MetricNames",
            format!("unknown metric '{bad}'; use {}", allowed.join(", ")),
        ));
    }
    Ok(names)
}

fn value(metric: &str, mins: &[&MinuteSample], g: i64) -> Option<f64> {
    let sum = |f: fn(&MinuteSample) -> u64| mins.iter().map(|m| f(m)).sum::<u64>() as f64;
    let gf = g as f64;
    Some(match metric {
        "InBandwidth" => sum(|m| m.bytes_in) * 8.0 / 1e6 / gf,
        "OutBandwidth" => sum(|m| m.bytes_out) * 8.0 / 1e6 / gf,
        "InPackets" => sum(|m| m.packets_in) / gf,
        "OutPackets" => sum(|m| m.packets_out) / gf,
        "Concurrent" => mins.iter().map(|m| m.peak_conns).max().unwrap_or(0) as f64,
        _ => return None,
    })
}

/// One series per metric over `[start, end]` in buckets of `g` seconds.
fn series(samples: &[MinuteSample], names: &[String], start: i64, end: i64, g: i64) -> Vec<Value> {
    let first = start - start.rem_euclid(g);
    let now = now_secs();
    names
        .iter()
        .map(|name| {
            let mut data = Vec::new();
            let mut t = first;
            while t <= end {
                let mins: Vec<&MinuteSample> = samples
                    .iter()
                    .filter(|m| m.minute >= t && m.minute < t + g)
                    .collect();
                let v = if t > now { None } else { value(name, &mins, g) };
                data.push(json!({"Time": t, "Data": v}));
                t += g;
            }
            json!({"MetricName": name, "MetricData": data})
        })
        .collect()
}

const LISTENER_METRICS: &[&str] = &[
    "InBandwidth",
    "OutBandwidth",
    "Concurrent",
    "InPackets",
    "OutPackets",
];

pub async fn describe_listener_statistics(
    ctx: &Ctx<'_>,
    p: Params,
) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("ListenerId")?;
    let (start, end) = window(&p)?;
    let names = metric_names(&p, LISTENER_METRICS)?;
    let g = granularity(
        &p,
        &[300, 3600, 86_400],
        &[(DAY, 300), (7 * DAY, 3600)],
        end - start,
    )?;
    if ctx
        .api
        .control
        .state()
        .listener(&ctx.account.id, &id)
        .is_none()
    {
        return Err(TcError::not_found("ListenerId", &id));
    }
    let samples = ctx.api.health.listener_series(&id, start - g, end + g);
    Ok(obj(vec![(
        "StatisticsData",
        json!(series(&samples, &names, start, end, g)),
    )]))
}

pub async fn describe_proxy_statistics(ctx: &Ctx<'_>, p: Params) -> TcResult<Map<String, Value>> {
    let id = p.nonempty("ProxyId")?;
    let (start, end) = window(&p)?;
    let mut allowed = LISTENER_METRICS.to_vec();
    allowed.extend([
        "Latency",
        "PacketLoss",
        "HttpQPS",
        "HttpQPSPercent",
        "HttpsQPS",
        "HttpsQPSPercent",
    ]);
    let names = metric_names(&p, &allowed)?;
    let g = granularity(
        &p,
        &[60, 300, 3600, 86_400],
        &[(3 * DAY, 60), (7 * DAY, 300), (30 * DAY, 3600)],
        end - start,
    )?;
    p.one_of("Isp", &["CMCC", "CUCC", "CTCC"])?;
    let listener_ids: Vec<String> = {
        let st = ctx.api.control.state();
        let acc = st
            .accelerator(&ctx.account.id, &id)
            .ok_or_else(|| TcError::not_found("ProxyId", &id))?;
        st.served_listeners(acc).map(|l| l.id.clone()).collect()
    };
    let all = listener_ids
        .iter()
        .map(|l| ctx.api.health.listener_series(l, start - g, end + g))
        .collect();
    Ok(obj(vec![(
        "StatisticsData",
        json!(series(&merge_minutes(all), &names, start, end, g)),
    )]))
}

/// The health window: WithinTime hours back from now, or StartTime/EndTime.
fn health_window(p: &Params) -> TcResult<(i64, i64)> {
    if p.has("StartTime") || p.has("EndTime") {
        return window(p);
    }
    let hours = match p.i64_opt("WithinTime")? {
        None => 1,
        Some(h @ (1 | 3 | 6 | 12 | 24)) => h,
        Some(h) => {
            return Err(TcError::value(
                "WithinTime",
                format!("must be 1, 3, 6, 12 or 24, got {h}"),
            ))
        }
    };
    let now = now_secs();
    Ok((now - hours * 3600, now))
}

pub async fn describe_real_server_statistics(
    ctx: &Ctx<'_>,
    p: Params,
) -> TcResult<Map<String, Value>> {
    let rs = p.nonempty("RealServerId")?;
    let (start, end) = health_window(&p)?;
    let g = match p.i64_opt("Granularity")? {
        None => 300,
        Some(g @ (60 | 300)) => g,
        Some(g) => {
            return Err(TcError::value(
                "Granularity",
                format!("must be 60 or 300, got {g}"),
            ))
        }
    };
    if p.has("RuleId") {
        return Err(TcError::new(
            "UnsupportedOperation",
            "Layer-7 rules do not exist here; use ListenerId.",
        ));
    }
    let listener = p.nonempty("ListenerId")?;
    let binding_ids: Vec<String> = {
        let st = ctx.api.control.state();
        st.origin(&ctx.account.id, &rs)
            .ok_or_else(|| TcError::not_found("RealServerId", &rs))?;
        st.listener(&ctx.account.id, &listener)
            .ok_or_else(|| TcError::not_found("ListenerId", &listener))?;
        st.bindings_of(&listener)
            .filter(|b| b.origin_id == rs)
            .map(|b| b.id.clone())
            .collect()
    };
    if binding_ids.is_empty() {
        return Err(TcError::new(
            "ResourceNotFound",
            format!("RealServerId({rs}) is not bound to ListenerId({listener})."),
        ));
    }
    let points: Vec<(i64, f64)> = binding_ids
        .iter()
        .flat_map(|b| ctx.api.health.binding_series(b, start - g, end + g))
        .collect();
    let first = start - start.rem_euclid(g);
    let mut data = Vec::new();
    let mut t = first;
    while t <= end {
        let v = points
            .iter()
            .filter(|(m, _)| *m >= t && *m < t + g)
            .map(|(_, v)| *v)
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v))));
        data.push(json!({"Time": t, "Data": v}));
        t += g;
    }
    Ok(obj(vec![
        ("StatisticsData", json!(data)),
        ("RsStatisticsData", json!([])),
    ]))
}
