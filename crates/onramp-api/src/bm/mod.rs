//! Tencent BM (Black Stone) load balancer, layer 4, in its two wire forms: the legacy API v2
//! (`/v2/index.php`, `v2`) and API 3.0 (service `bmlb`, version 2018-06-25, on the same transport
//! as GAAP: `v3`). Both decode their parameters into the same typed requests (`dto`, read in the
//! request's `Style`), run the same operations of `onramp_ops` (`balancers`, `backends`,
//! `listeners`), and encode the outcome and every refusal in their own shapes (`views`,
//! `errors`).
//!
//! A load balancer is an accelerator of the one model (any dialect's accelerator is one), its
//! L4 listeners are listeners, an instance is an origin: by ID (`BindType` 0, the `…Rs`
//! actions) one onramp knows, or by address (`BindType` 1, `vmIp`), whose origin is found or
//! made. Every write is a task; its number is the v2 `requestId` and (as a string) the 3.0
//! `TaskId`. Layer 7, certificates and traffic mirrors are refused (`layer7`).

mod backends;
mod balancers;
mod codes;
pub mod dto;
mod errors;
mod info;
mod layer7;
mod listeners;
pub mod v2;
pub mod v3;
mod views;

use serde::Serialize;
use serde_json::{Map, Value};

use onramp_core::State;
use onramp_ops::ids::Ids;
use onramp_ops::{OpError, Plan};

pub use errors::Refusal;
pub use v2::{handle, BmError};

use crate::tencent::{Ctx, Params, TcError};
use crate::Api;

/// API 3.0 version of the `bmlb` service.
pub const VERSION: &str = "2018-06-25";

/// Which wire form a request came in: names are v2's camelCase or 3.0's PascalCase, task ids
/// integers or strings, some collections named apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    V2,
    V3,
}

/// v2 names that 3.0 spells other than by capitalising them.
const RENAMED: &[(&str, &str)] = &[
    ("listeners", "ListenerSet"),
    ("backends", "BackendSet"),
    ("vmList", "BackendSet"),
    ("unVpcId", "VpcId"),
    ("unSubnetId", "SubnetId"),
    ("rsPort", "Port"),
    ("vmIp", "InstanceId"),
];

impl Style {
    /// The parameter or field `v2` (its v2 spelling) in this style.
    pub fn name(self, v2: &str) -> String {
        match self {
            Style::V2 => v2.to_string(),
            Style::V3 => pascal(v2),
        }
    }

    /// Wrap `params` refusing keys other than `allowed` (v2 spellings).
    pub fn params(self, params: Value, allowed: &[&str]) -> Result<Params, TcError> {
        let names: Vec<String> = allowed.iter().map(|n| self.name(n)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Params::new(params, &names)
    }

    /// A view in this style: v2's camelCase keys as they are, 3.0's capitalised.
    pub fn view<T: Serialize>(self, v: &T) -> Value {
        let v = serde_json::to_value(v).unwrap_or(Value::Null);
        match self {
            Style::V2 => v,
            Style::V3 => pascal_keys(v),
        }
    }

    /// The task id of a write: v2 `requestId` (integer), 3.0 `TaskId` (string).
    pub fn task(self, number: u64) -> (String, Value) {
        match self {
            Style::V2 => ("requestId".into(), Value::from(number)),
            Style::V3 => ("TaskId".into(), Value::String(number.to_string())),
        }
    }
}

fn pascal(v2: &str) -> String {
    if let Some((_, v3)) = RENAMED.iter().find(|(a, _)| *a == v2) {
        return (*v3).to_string();
    }
    let mut c = v2.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn pascal_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (pascal(&k), pascal_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(pascal_keys).collect()),
        other => other,
    }
}

/// What an action answers (the fields beside the envelope), or why it refuses.
pub type Answer = Result<Map<String, Value>, Refusal>;

/// Build an answer from key/value pairs.
pub fn obj(pairs: Vec<(String, Value)>) -> Map<String, Value> {
    pairs.into_iter().collect()
}

/// A listing answer: the set under `v2`'s name in this style, and in v2 its `totalCount`.
pub fn listed(s: Style, v2: &str, set: Vec<Value>) -> Map<String, Value> {
    let mut out = Map::new();
    if s == Style::V2 {
        out.insert("totalCount".into(), Value::from(set.len()));
    }
    out.insert(s.name(v2), Value::Array(set));
    out
}

/// Run an operation of the model through the one commit path; the outcome and the number of
/// the task the write became (0 when nothing changed).
pub async fn commit<R>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&onramp_ops::Cx, &State, &mut Ids) -> Result<Plan<R>, OpError>,
) -> Result<(R, u64), Refusal> {
    let call = onramp_ops::Call {
        account: &ctx.account.id,
        now: ctx.now,
        task_id: &ctx.request_id,
        action: &ctx.action,
    };
    let (_, out) = onramp_ops::commit(&ctx.api.control, &call, f).await?;
    let st = ctx.api.control.state();
    let number = st
        .task(&ctx.account.id, &ctx.request_id)
        .map_or(0, |t| t.number);
    Ok((out, number))
}

/// The region whose edges serve the load balancers this endpoint makes. The one place BM picks
/// it: the first region of the node (in `serve`, its only one; on a control node, the first of
/// the regions the edges registered), whatever `Region` the request names (BM has no placement
/// of its own: place an accelerator in another region through GAAP's `AccessRegion`).
pub fn region(api: &Api) -> Result<String, TcError> {
    api.home_region().ok_or_else(|| {
        TcError::new(
            "ResourceUnavailable",
            "no edge has registered a region yet: start an `onramp edge` before creating load balancers",
        )
    })
}
