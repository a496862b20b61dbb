//! The overview: what exists and in which state, the edges and regions with what they applied,
//! the traffic now and over the last hour, and what needs attention.

use axum::extract::State;
use axum::response::Response;
use http::HeaderMap;
use maud::{html, Markup, PreEscaped};
use onramp_api::summary::{BindingState, EdgeView};
use onramp_api::{now_millis, now_secs};
use onramp_chart::si;
use onramp_ops::status::Phase;

use super::{owner_name, Visible};
use crate::auth::{session, Authed};
use crate::charts::{self, Range};
use crate::layout::{ago, health_badge, page, phase_badge, Nav};
use crate::{Console, Shared};

/// Counts of the resources the key may see.
#[derive(Default)]
struct Counts {
    accelerators: Vec<(Phase, usize)>,
    listeners: Vec<(Phase, usize)>,
    origins: Vec<(BindingState, usize)>,
    listener_ids: Vec<String>,
    /// Listeners not running, and bound origins not healthy: (listener id, name, what).
    attention: Vec<(String, String, Markup)>,
}

fn bump<T: PartialEq + Copy>(v: &mut Vec<(T, usize)>, k: T) {
    match v.iter_mut().find(|(x, _)| *x == k) {
        Some(e) => e.1 += 1,
        None => v.push((k, 1)),
    }
}

fn counts(c: &Console, a: &Authed) -> Counts {
    let api = &c.api;
    let st = api.control.state();
    let vis = Visible::new(c, a, &st, "gaap:DescribeProxies");
    let mut out = Counts::default();
    for acc in st.accelerators_of_account(a.account()) {
        if !vis.shows(&acc.id) {
            continue;
        }
        bump(&mut out.accelerators, api.accelerator_phase(acc));
        for l in st.served_listeners(acc) {
            let phase = api.listener_phase(l);
            bump(&mut out.listeners, phase);
            out.listener_ids.push(l.id.clone());
            if !phase.is_settled() {
                out.attention
                    .push((l.id.clone(), l.name.clone(), phase_badge(phase)));
            }
            for b in st.bindings_of(&l.id) {
                let h = api.binding_state(&st, Some(l), b);
                bump(&mut out.origins, h);
                if h == BindingState::Unhealthy {
                    let origin = st
                        .origin(a.account(), &b.origin_id)
                        .map_or(b.origin_id.as_str(), |o| o.address.as_str());
                    let what = html! { (health_badge(h, "unhealthy")) " " code { (origin) ":" (b.port) } " on " (owner_name(&st, a.account(), &l.owner)) };
                    out.attention.push((l.id.clone(), l.name.clone(), what));
                }
            }
        }
    }
    out.listener_ids.sort();
    out.listener_ids.dedup();
    out
}

fn card<T: Copy>(
    title: &str,
    href: &str,
    items: &[(T, usize)],
    badge: impl Fn(T) -> Markup,
) -> Markup {
    let total: usize = items.iter().map(|(_, n)| n).sum();
    html! {
        a.card href=(href) {
            div.card-title { (title) }
            div.card-value { (total) }
            div.card-detail {
                @for (k, n) in items { span.count { (badge(*k)) " " (n) } }
                @if items.is_empty() { span.muted { "none yet" } }
            }
        }
    }
}

/// The edges serving the account's regions. Their listener counts cover every account, so they
/// are left out here (`onramp status` on the admin port has them).
fn edges_table(edges: &[EdgeView], now: i64) -> Markup {
    html! {
        table.list #edges {
            thead { tr { th { "Edge" } th { "Region" } th { "State" } th.num { "Applied revision" } th { "Last seen" } } }
            tbody {
                @for e in edges {
                    tr data-edge=(e.name) {
                        td { strong { (e.name) } }
                        td { (e.region) }
                        td { @if e.live { span.badge.ok { "live" } } @else { span.badge.bad { "lost" } } }
                        td.num { (e.applied_revision) }
                        td { (ago(e.last_seen_ms, now)) }
                    }
                }
                @if edges.is_empty() { tr { td colspan="5" .muted { "No edge has reported yet." } } }
            }
        }
    }
}

fn render(c: &Console, a: &Authed) -> Response {
    let api = &c.api;
    let s = onramp_api::summary::summary(api, Some(a.account()));
    let n = counts(c, a);
    let now_s = now_secs();
    let traffic = charts::now(api, &n.listener_ids, now_s);
    let chart = charts::charts(api, &n.listener_ids, Range::Hour, now_s, "account").bandwidth;
    let regions: Vec<String> = s.regions.iter().map(|r| r.region.clone()).collect();
    let body = html! {
        div #summary data-live {
            div.cards {
                (card("Accelerators", "/console/accelerators", &n.accelerators, crate::layout::phase_badge))
                (card("Listeners", "/console/accelerators", &n.listeners, crate::layout::phase_badge))
                (card("Bound origins", "/console/origins", &n.origins, |h| health_badge(h, h.name())))
                div.card {
                    div.card-title { "Traffic, last minute" }
                    div.card-value #traffic-in { (si(traffic.bits_in + traffic.bits_out, "bit/s")) }
                    div.card-detail {
                        span.count { "in " (si(traffic.bits_in, "bit/s")) }
                        span.count { "out " (si(traffic.bits_out, "bit/s")) }
                        span.count { (si(traffic.new_conns, "")) " new connections" }
                    }
                }
            }
            section.panel {
                div.panel-head { h2 { "Bandwidth, last hour" } span.muted { "all listeners of the account, per minute" } }
                div.chart { (PreEscaped(chart)) }
            }
            div.split {
                section.panel {
                    div.panel-head { h2 { "Needs attention" } }
                    @if n.attention.is_empty() {
                        p.muted #attention-none { "Every listener is running and every checked origin is healthy." }
                    } @else {
                        ul.attention {
                            @for (id, name, what) in &n.attention {
                                li { a href={ "/console/listeners/" (id) } { (name) } " " (what) }
                            }
                        }
                    }
                }
                section.panel {
                    div.panel-head { h2 { "Regions" } }
                    p { @for r in &regions { span.badge.region { (r) } " " } }
                    p.muted.small { "Store revision " (s.revision) ", applied by every edge " (s.applied_revision) "." }
                }
            }
            section.panel {
                div.panel-head { h2 { "Edges" } span.muted { "where listeners are served" } }
                (edges_table(&s.edges, now_millis()))
            }
        }
    };
    page(a, Nav::Overview, "Overview", &[], body)
}

pub async fn view(State(c): State<Shared>, headers: HeaderMap) -> Response {
    match session(&c, &headers, "/console/") {
        Ok(a) => render(&c, &a),
        Err(r) => *r,
    }
}
