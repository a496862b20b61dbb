//! The operation table of Huawei GA v1: the 49 operations of the SDK's `GaClient`, each found by
//! method and path shape and named as the SDK names it (`CreateAccelerator`, …); policies name
//! them `huawei:<Name>`.
//!
//! A route carries the path parameters it matched, percent-decoded, in path order. Every
//! operation is answered; an unknown path gets the "no such API" 404 `APIG.0101`.

use http::Method;

macro_rules! operations {
    ($($op:ident),* $(,)?) => {
        /// A Huawei GA v1 operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op { $($op),* }

        impl Op {
            /// Every operation, in catalogue order.
            #[cfg(test)]
            pub const ALL: &'static [Op] = &[$(Op::$op),*];

            /// The operation's name (the SDK's, in CamelCase), as policies name it.
            pub fn name(self) -> &'static str {
                match self { $(Op::$op => stringify!($op)),* }
            }
        }
    };
}

operations!(
    CreateAccelerator,
    ListAccelerators,
    ShowAccelerator,
    UpdateAccelerator,
    DeleteAccelerator,
    CreateListener,
    ListListeners,
    ShowListener,
    UpdateListener,
    DeleteListener,
    CreateEndpointGroup,
    ListEndpointGroups,
    ShowEndpointGroup,
    UpdateEndpointGroup,
    DeleteEndpointGroup,
    CreateEndpoint,
    ListEndpoints,
    ShowEndpoint,
    UpdateEndpoint,
    DeleteEndpoint,
    CreateHealthCheck,
    ListHealthChecks,
    ShowHealthCheck,
    UpdateHealthCheck,
    DeleteHealthCheck,
    CreateIpGroup,
    ListIpGroups,
    ShowIpGroup,
    UpdateIpGroup,
    DeleteIpGroup,
    AddIpGroupIp,
    RemoveIpGroupIp,
    AssociateListener,
    DisassociateListener,
    CreateLogtank,
    ListLogtanks,
    ShowLogtank,
    UpdateLogtank,
    DeleteLogtank,
    CreateTags,
    DeleteTags,
    ShowResourceTags,
    ListTags,
    ListResourcesByTag,
    CountResourcesByTag,
    ListRegions,
    ListAllPops,
    ListByoipPools,
    ListTenantQuotas,
);

impl Op {
    /// Whether the operation only reads (GETs, and the two tag queries sent as POST): reads are
    /// neither audited nor remembered by the execute-once memory.
    pub fn is_read(self) -> bool {
        use Op::*;
        let name = self.name();
        name.starts_with("List") || name.starts_with("Show") || matches!(self, CountResourcesByTag)
    }

    /// Whether the answer's body carries `request_id` (the SDK's response models of these three
    /// have no such field; the `X-Request-Id` header is always sent).
    pub fn body_has_request_id(self) -> bool {
        !matches!(
            self,
            Op::ListResourcesByTag | Op::ListAllPops | Op::ListTenantQuotas
        )
    }
}

/// A matched request: the operation and its path parameters, decoded, in path order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub op: Op,
    pub params: Vec<String>,
}

impl Route {
    /// The path parameter at `i` (empty if the route has fewer).
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    /// The route of a request by method and path; `None` for a path no operation has.
    pub fn of(method: &Method, path: &str) -> Option<Route> {
        let segs: Vec<String> = path
            .strip_prefix('/')?
            .split('/')
            .map(super::decode)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        if s.first() != Some(&"v1") || s[1..].iter().any(|p| p.is_empty()) {
            return None;
        }
        let (op, params) = shape(method, &s[1..])?;
        Some(Route {
            op,
            params: params.into_iter().map(str::to_string).collect(),
        })
    }
}

/// Resources with the same five CRUD operations on `/v1/<collection>[/{id}]`.
const CRUD: &[(&str, [Op; 5])] = {
    use Op::*;
    &[
        (
            "accelerators",
            [
                CreateAccelerator,
                ListAccelerators,
                ShowAccelerator,
                UpdateAccelerator,
                DeleteAccelerator,
            ],
        ),
        (
            "listeners",
            [
                CreateListener,
                ListListeners,
                ShowListener,
                UpdateListener,
                DeleteListener,
            ],
        ),
        (
            "endpoint-groups",
            [
                CreateEndpointGroup,
                ListEndpointGroups,
                ShowEndpointGroup,
                UpdateEndpointGroup,
                DeleteEndpointGroup,
            ],
        ),
        (
            "health-checks",
            [
                CreateHealthCheck,
                ListHealthChecks,
                ShowHealthCheck,
                UpdateHealthCheck,
                DeleteHealthCheck,
            ],
        ),
        (
            "ip-groups",
            [
                CreateIpGroup,
                ListIpGroups,
                ShowIpGroup,
                UpdateIpGroup,
                DeleteIpGroup,
            ],
        ),
        (
            "logtanks",
            [
                CreateLogtank,
                ListLogtanks,
                ShowLogtank,
                UpdateLogtank,
                DeleteLogtank,
            ],
        ),
    ]
};

/// The five CRUD operations by method: on the collection, then on one item.
fn crud(method: &Method, ops: &[Op; 5], item: bool) -> Option<Op> {
    let [create, list, show, update, delete] = *ops;
    Some(match (item, method.as_str()) {
        (false, "POST") => create,
        (false, "GET") => list,
        (true, "GET") => show,
        (true, "PUT") => update,
        (true, "DELETE") => delete,
        _ => return None,
    })
}

/// The operation of the path segments after `v1`, with its parameters.
fn shape<'a>(method: &Method, s: &[&'a str]) -> Option<(Op, Vec<&'a str>)> {
    use Op::*;
    let m = method.as_str();
    if let Some((_, ops)) = CRUD.iter().find(|(c, _)| Some(c) == s.first()) {
        match s {
            [_] => return crud(method, ops, false).map(|op| (op, vec![])),
            [_, id] => return crud(method, ops, true).map(|op| (op, vec![*id])),
            _ => {}
        }
    }
    let found = match (m, s) {
        ("POST", ["endpoint-groups", g, "endpoints"]) => (CreateEndpoint, vec![*g]),
        ("GET", ["endpoint-groups", g, "endpoints"]) => (ListEndpoints, vec![*g]),
        ("GET", ["endpoint-groups", g, "endpoints", e]) => (ShowEndpoint, vec![*g, *e]),
        ("PUT", ["endpoint-groups", g, "endpoints", e]) => (UpdateEndpoint, vec![*g, *e]),
        ("DELETE", ["endpoint-groups", g, "endpoints", e]) => (DeleteEndpoint, vec![*g, *e]),
        ("POST", ["ip-groups", g, "add-ips"]) => (AddIpGroupIp, vec![*g]),
        ("POST", ["ip-groups", g, "remove-ips"]) => (RemoveIpGroupIp, vec![*g]),
        ("POST", ["ip-groups", g, "associate-listener"]) => (AssociateListener, vec![*g]),
        ("POST", ["ip-groups", g, "disassociate-listener"]) => (DisassociateListener, vec![*g]),
        ("GET", ["regions"]) => (ListRegions, vec![]),
        ("GET", ["pops"]) => (ListAllPops, vec![]),
        ("GET", ["byoip-pools"]) => (ListByoipPools, vec![]),
        ("GET", [domain, "ga", "quotas"]) => (ListTenantQuotas, vec![*domain]),
        ("POST", [t, "resource-instances", "filter"]) => (ListResourcesByTag, vec![*t]),
        ("POST", [t, "resource-instances", "count"]) => (CountResourcesByTag, vec![*t]),
        ("GET", [t, "tags"]) => (ListTags, vec![*t]),
        ("GET", [t, id, "tags"]) => (ShowResourceTags, vec![*t, *id]),
        ("POST", [t, id, "tags", "create"]) => (CreateTags, vec![*t, *id]),
        ("DELETE", [t, id, "tags", "delete"]) => (DeleteTags, vec![*t, *id]),
        _ => return None,
    };
    Some(found)
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
