//! Load balancers: create an order, list them (filters, search, order, paging), rename or give a
//! domain prefix, delete (with their listeners), and the price inquiry (onramp has no billing: 0).
//! Every accelerator of the account is a load balancer here, whichever dialect made it.

use onramp_core::{Accelerator, Dedication, Exposure, State};
use onramp_ops::balancers;
use onramp_ops::Plan;
use serde_json::{json, Value};

use super::codes::{self, value};
use super::dto::{self, In};
use super::views::{self, domain, load_balancer};
use super::{commit, obj, Answer, Style};
use crate::tencent::{Ctx, TcError};

pub async fn create(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, dto::ORDER)?;
    let region = super::region(ctx.api)?;
    let mut order = dto::order(&i, &ctx.api.access_addresses(&region))?;
    order.region = region;
    let (ids, task) = commit(ctx, |cx, st, new| balancers::create(cx, st, new, &order)).await?;
    let mut out = obj(vec![(s.name("loadBalancerIds"), json!(ids))]);
    // v2 answers the IDs only (the creation is synchronous there); 3.0 adds its task.
    if s == Style::V3 {
        out.extend([s.task(task)]);
    }
    Ok(out)
}

/// What `DescribeBmLoadBalancers` / `DescribeLoadBalancers` filter by.
struct Query {
    ids: Vec<String>,
    exposure: Option<Exposure>,
    name: Option<String>,
    domain: Option<String>,
    vips: Vec<String>,
    search: Option<String>,
    project: Option<i64>,
    dedication: Option<Dedication>,
    forwarding: Option<String>,
    vpc: Option<String>,
    /// A configuration ID (3.0 `ConfId`): onramp keeps no load balancer configurations.
    conf: bool,
}

const DESCRIBE: &[&str] = &[
    "loadBalancerIds",
    "loadBalancerType",
    "loadBalancerName",
    "domain",
    "loadBalancerVips",
    "offset",
    "limit",
    "searchKey",
    "orderBy",
    "orderType",
    "projectId",
    "exclusive",
    "tgwSetType",
    "unVpcId",
];

fn query(i: &In) -> Result<Query, TcError> {
    let domain = i.text("domain")?;
    if let Some(d) = &domain {
        let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
        if d.is_empty() || d.len() > 60 || !d.bytes().all(ok) {
            return Err(TcError::value(
                &i.k("domain"),
                "must be 1-60 of a-z, 0-9, '.', '-'",
            ));
        }
    }
    let forwarding =
        i.p.one_of(&i.k("tgwSetType"), &["fullnat", "tunnel", "dnat"])?;
    let conf = match i.s {
        Style::V2 => false,
        Style::V3 => {
            i.p.one_of("QueryType", &["CONFLIST", "CONFID"])?;
            i.text("ConfId")?.is_some_and(|c| !c.is_empty())
        }
    };
    Ok(Query {
        ids: i.list("loadBalancerIds")?,
        exposure: i.word("loadBalancerType", codes::EXPOSURE)?,
        name: i.text("loadBalancerName")?,
        domain,
        vips: i.list("loadBalancerVips")?,
        search: i.text("searchKey")?.filter(|s| !s.is_empty()),
        project: i.int("projectId", 0, i64::MAX)?,
        dedication: i
            .int("exclusive", 0, 4)?
            .and_then(|n| value(codes::DEDICATION, &n)),
        forwarding,
        vpc: i.text("unVpcId")?,
        conf,
    })
}

impl Query {
    fn matches(&self, a: &Accelerator, vips: &[String]) -> bool {
        let n = &a.network;
        let d = domain(a);
        let search =
            |s: &str| a.name.contains(s) || d.contains(s) || vips.iter().any(|v| v.contains(s));
        !self.conf
            && (self.ids.is_empty() || self.ids.contains(&a.id))
            && self.exposure.is_none_or(|e| e == n.exposure)
            && self.name.as_deref().is_none_or(|x| x == a.name)
            && self.domain.as_deref().is_none_or(|x| x == d)
            && (self.vips.is_empty() || self.vips.iter().any(|v| vips.contains(v)))
            && self.search.as_deref().is_none_or(search)
            && self.project.is_none_or(|p| p == a.project_id)
            && self.dedication.is_none_or(|x| x == n.dedication)
            && self
                .forwarding
                .as_deref()
                .is_none_or(|f| f == codes::FORWARDING)
            && self.vpc.as_deref().is_none_or(|v| v == n.vpc_id)
    }
}

/// The sort key `orderBy` names (creation time by default), ties by ID.
fn sort(items: &mut [&Accelerator], by: Option<&str>, desc: bool) {
    let key = |a: &Accelerator| match by {
        Some("loadBalancerName") => a.name.clone(),
        Some("domain") => domain(a),
        Some("loadBalancerType") => codes::word(codes::EXPOSURE, &a.network.exposure).to_string(),
        _ => format!("{:020}", a.created_at),
    };
    items.sort_by(|a, b| (key(a), &a.id).cmp(&(key(b), &b.id)));
    if desc {
        items.reverse();
    }
}

pub fn describe(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let mut allowed = DESCRIBE.to_vec();
    if s == Style::V3 {
        allowed.extend(["QueryType", "ConfId"]);
    }
    let i = In::new(p, s, &allowed)?;
    let q = query(&i)?;
    let (offset, limit) = i.page(100)?;
    let order_by = i.p.one_of(
        &i.k("orderBy"),
        &[
            "loadBalancerName",
            "createTime",
            "domain",
            "loadBalancerType",
        ],
    )?;
    let desc = i.int("orderType", 0, 1)? == Some(1);
    let st = ctx.api.control.state();
    // The VIPs are per region: look each region's up once.
    let mut vips: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut items: Vec<&Accelerator> = accelerators(&st, &ctx.account.id)
        .filter(|a| {
            let v = vips
                .entry(a.access_region.clone())
                .or_insert_with(|| views::vips(ctx.api, a));
            q.matches(a, v)
        })
        .collect();
    sort(&mut items, order_by.as_deref(), desc);
    let total = items.len();
    let set: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|a| load_balancer(ctx.api, a, s))
        .collect();
    Ok(obj(vec![
        (s.name("loadBalancerSet"), Value::Array(set)),
        (s.name("totalCount"), json!(total)),
    ]))
}

/// The account's accelerators, in ID order.
pub fn accelerators<'a>(
    st: &'a State,
    account: &'a str,
) -> impl Iterator<Item = &'a Accelerator> + 'a {
    st.accelerators
        .values()
        .filter(move |a| a.account_id == account)
}

pub async fn modify(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(
        p,
        s,
        &["loadBalancerId", "loadBalancerName", "domainPrefix"],
    )?;
    let id = i.required("loadBalancerId")?;
    let name = dto::lb_name(&i)?;
    let prefix = dto::domain_prefix(&i)?;
    let ((), task) = commit(ctx, |cx, st, _| {
        let ops = balancers::modify(cx, st, &id, name.as_deref(), prefix.as_deref())?;
        Ok(Plan::new(ops, ()))
    })
    .await?;
    Ok(obj(vec![s.task(task)]))
}

pub async fn delete(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId"])?;
    let id = i.required("loadBalancerId")?;
    let ((), task) = commit(ctx, |cx, st, _| {
        Ok(Plan::new(balancers::delete(cx, st, &id)?, ()))
    })
    .await?;
    Ok(obj(vec![s.task(task)]))
}

/// `ModifyLoadBalancerChargeMode` (3.0): the billing recorded, and new bandwidth caps for the
/// listeners named; answered at once (no task).
pub async fn charge_mode(ctx: &Ctx<'_>, p: Value, s: Style) -> Answer {
    let i = In::new(p, s, &["loadBalancerId", "payMode", "listeners"])?;
    let id = i.required("loadBalancerId")?;
    let billing = i
        .word("payMode", codes::BILLING)?
        .ok_or_else(|| TcError::missing(&i.k("payMode")))?;
    let caps = i
        .objects("listeners", &["listenerId", "protocol", "bandwidth"])?
        .iter()
        .map(|l| {
            l.p.one_of(&l.k("protocol"), &["tcp", "udp", "http", "https"])?;
            let mbps = l.required_int("bandwidth", 0, 1000)? as u64;
            Ok((l.required("listenerId")?, mbps))
        })
        .collect::<Result<Vec<_>, TcError>>()?;
    commit(ctx, |cx, st, _| {
        Ok(Plan::new(
            balancers::charge(cx, st, &id, billing, &caps)?,
            (),
        ))
    })
    .await?;
    Ok(obj(vec![]))
}

/// `InquiryBmLBPrice`: onramp bills nothing, so every load balancer costs 0.
pub fn price(p: Value) -> Answer {
    let i = In::new(p, Style::V2, &["loadBalancerType", "goodsNum", "payMode"])?;
    i.word("loadBalancerType", codes::EXPOSURE)?;
    i.int("goodsNum", 1, balancers::MAX_PER_ORDER as i64)?;
    i.word("payMode", codes::BILLING)?;
    Ok(obj(vec![("price".into(), json!(0))]))
}
