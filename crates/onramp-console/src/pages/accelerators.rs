//! Accelerators: the list with a create form (GAAP `CreateProxy`), one accelerator with its
//! listeners, charts and a create-listener form, and its deletion (`DestroyProxies`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use http::{HeaderMap, StatusCode};
use maud::{html, Markup, PreEscaped};
use onramp_api::now_secs;
use onramp_core::{Accelerator, State as Model};
use serde_json::{json, Map, Value};

use super::{allowed, Visible};
use crate::auth::{change, session, Authed};
use crate::charts::{self, Range};
use crate::exec::{self, Field};
use crate::layout::{csrf, field, form_error, page_status, phase_badge, select, when, Entry, Nav};
use crate::session::token;
use crate::{Console, Shared};

const CREATE_FIELDS: &[Field] = &[
    ("name", "ProxyName"),
    ("access_region", "AccessRegion"),
    ("origin_region", "RealServerRegion"),
    ("bandwidth", "Bandwidth"),
    ("concurrent", "Concurrent"),
    ("project", "ProjectId"),
];

/// The form's fields as GAAP parameters: empty fields are left out (the API says what is
/// missing), the rest go as typed (the API reads numbers from strings and names a bad one).
pub fn params(form: &HashMap<String, String>, fields: &[Field]) -> Map<String, Value> {
    let mut p = Map::new();
    for (f, param) in fields {
        if let Some(v) = form.get(*f).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            p.insert(param.to_string(), json!(v));
        }
    }
    p
}

fn regions(c: &Console) -> Vec<(String, String)> {
    c.api
        .cfg
        .regions
        .iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect()
}

fn create_form(c: &Console, a: &Authed, e: &Entry) -> Markup {
    let regions = regions(c);
    let first = regions.first().map(|r| r.0.clone()).unwrap_or_default();
    html! {
        form.panel.create #create-accelerator method="post" action="/console/accelerators" {
            div.panel-head { h2 { "Create an accelerator" } span.muted { "its listeners are served by the edges of the access region" } }
            (csrf(a))
            input type="hidden" name="client_token" value=(e.value("client_token", &token()[..32]));
            (form_error(e))
            div.grid {
                (field(e, "name", "Name", "text", "", "up to 30 characters"))
                (select(e, "access_region", "Access region", &regions, &first))
                (select(e, "origin_region", "Origin region", &regions, &first))
                (field(e, "bandwidth", "Bandwidth limit (Mbit/s)", "number", "100", "shared by all its listeners"))
                (field(e, "concurrent", "Connections (×10,000)", "number", "2", "concurrent connections it may hold"))
                (field(e, "project", "Project", "number", "0", "origins are bound within a project"))
            }
            div.actions { button.primary #create-accelerator-submit type="submit" { "Create accelerator" } }
        }
    }
}

fn listeners_of(st: &Model, acc: &Accelerator) -> usize {
    st.served_listeners(acc).count()
}

fn list_page(c: &Console, a: &Authed, e: &Entry, status: StatusCode) -> Response {
    let st = c.api.control.state();
    let vis = Visible::new(c, a, &st, "gaap:DescribeProxies");
    let rows: Vec<&Accelerator> = st
        .accelerators_of_account(a.account())
        .filter(|x| vis.shows(&x.id))
        .collect();
    let body = html! {
        @if !vis.whole() { p.notice { "This key may list only some accelerators; the others are not shown." } }
        section.panel #accelerators data-live {
            table.list {
                thead { tr { th { "Name" } th { "ID" } th { "Status" } th { "Regions" } th.num { "Listeners" } th.num { "Bandwidth" } th { "Created" } } }
                tbody {
                    @for x in &rows {
                        tr data-id=(x.id) {
                            td { a href={ "/console/accelerators/" (x.id) } { strong { (x.name) } } }
                            td { code { (x.id) } }
                            td { (phase_badge(c.api.accelerator_phase(x))) }
                            td { (x.access_region) " → " (x.origin_region) }
                            td.num { (listeners_of(&st, x)) }
                            td.num { @if x.bandwidth_mbps == 0 { "unlimited" } @else { (x.bandwidth_mbps) " Mbit/s" } }
                            td { (when(x.created_at)) }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="7" .muted { "No accelerator yet: create one below." } } }
                }
            }
        }
        (create_form(c, a, e))
    };
    drop(st);
    page_status(status, a, Nav::Accelerators, "Accelerators", &[], body)
}

pub async fn list(State(c): State<Shared>, headers: HeaderMap) -> Response {
    match session(&c, &headers, "/console/accelerators") {
        Ok(a) => list_page(&c, &a, &Entry::default(), StatusCode::OK),
        Err(r) => *r,
    }
}

pub async fn create(
    State(c): State<Shared>,
    ext: http::Extensions,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let a = match change(&c, &headers, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut p = params(&form, CREATE_FIELDS);
    if let Some(t) = form.get("client_token") {
        p.insert("ClientToken".into(), json!(t));
    }
    match exec::gaap(&c, &a, &ext, "CreateProxy", Value::Object(p)).await {
        Ok(out) => {
            let id = out["InstanceId"].as_str().unwrap_or_default();
            let msg =
                format!("Accelerator {id} is being created; it runs once the edges applied it.");
            exec::done(&c, &a, msg, &format!("/console/accelerators/{id}"))
        }
        Err(err) => {
            let e = exec::refused(form, &err, CREATE_FIELDS);
            list_page(&c, &a, &e, StatusCode::BAD_REQUEST)
        }
    }
}

fn detail_page(
    c: &Console,
    a: &Authed,
    id: &str,
    range: Range,
    e: &Entry,
    status: StatusCode,
) -> Response {
    let st = c.api.control.state();
    let Some(acc) = st.accelerator(a.account(), id) else {
        return crate::layout::not_found(a, Nav::Accelerators, "Accelerator", id);
    };
    if let Err(m) = allowed(c, a, &st, "gaap:DescribeProxyDetail", &[id]) {
        return crate::layout::forbidden(a, Nav::Accelerators, &m);
    }
    let listeners: Vec<_> = st.served_listeners(acc).collect();
    let ids: Vec<String> = listeners.iter().map(|l| l.id.clone()).collect();
    let charts = allowed(c, a, &st, "gaap:DescribeProxyStatistics", &[id])
        .map(|()| charts::charts(&c.api, &ids, range, now_secs(), &acc.name));
    let udp = listeners
        .iter()
        .any(|l| l.protocol == onramp_core::Protocol::Udp);
    let rows = super::listener::rows(c, a, &st, &listeners);
    let body = html! {
        section.panel #accelerator-state data-live {
            div.panel-head { h2 { "Status" } (phase_badge(c.api.accelerator_phase(acc))) }
            dl.facts.row {
                div { dt { "ID" } dd { code { (acc.id) } } }
                div { dt { "Access address" } dd { code { (c.api.access_addresses(&acc.access_region).join(", ")) } } }
                div { dt { "Regions" } dd { (acc.access_region) " → " (acc.origin_region) } }
                div { dt { "Bandwidth limit" } dd { @if acc.bandwidth_mbps == 0 { "unlimited" } @else { (acc.bandwidth_mbps) " Mbit/s" } } }
                div { dt { "Connections" } dd { (acc.concurrent * 10_000) } }
                div { dt { "Project" } dd { (acc.project_id) } }
                div { dt { "Created" } dd { (when(acc.created_at)) } }
            }
        }
        section.panel #listeners data-live {
            div.panel-head { h2 { "Listeners" } }
            (rows)
        }
        (super::listener::create_form(c, a, acc, e))
        (charts_panel(charts.as_ref().map_err(Clone::clone), range, &format!("/console/accelerators/{id}"), udp))
        form.danger method="post" action={ "/console/accelerators/" (id) "/delete" }
            data-confirm={ "Delete accelerator " (acc.name) " with its listeners and their bindings?" } {
            (csrf(a))
            button.danger #delete-accelerator type="submit" { "Delete accelerator" }
            span.muted { " Its listeners and their bindings go with it; its origins stay." }
        }
    };
    let title = acc.name.clone();
    drop(st);
    let crumbs = [("Accelerators", "/console/accelerators".to_string())];
    page_status(status, a, Nav::Accelerators, &title, &crumbs, body)
}

/// The traffic charts with the 1 h / 24 h switch (packets only where UDP listeners are), or
/// why the key may not see them.
pub fn charts_panel(
    ch: Result<&charts::Charts, String>,
    range: Range,
    base: &str,
    udp: bool,
) -> Markup {
    let tab = |r: Range, text: &str| {
        html! { a.tab.active[r == range] href={ (base) "?range=" (r.query()) } { (text) } }
    };
    html! {
        section.panel #charts data-live {
            div.panel-head {
                h2 { "Traffic" }
                div.tabs { (tab(Range::Hour, "1 hour")) (tab(Range::Day, "24 hours")) }
            }
            @match ch {
                Err(m) => p.notice { (m) },
                Ok(ch) => div.charts {
                    figure.chart #chart-connections { figcaption { "Connections" } (PreEscaped(&ch.connections)) }
                    figure.chart #chart-bandwidth { figcaption { "Bandwidth" } (PreEscaped(&ch.bandwidth)) }
                    @if udp { figure.chart #chart-packets { figcaption { "Packets" } (PreEscaped(&ch.packets)) } }
                },
            }
        }
    }
}

pub async fn detail(
    State(c): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = format!("/console/accelerators/{id}");
    match session(&c, &headers, &path) {
        Ok(a) => {
            let range = Range::parse(q.get("range").map(String::as_str));
            detail_page(&c, &a, &id, range, &Entry::default(), StatusCode::OK)
        }
        Err(r) => *r,
    }
}

/// Show the accelerator page again with `e` on its create-listener form.
pub fn detail_with(c: &Console, a: &Authed, id: &str, e: &Entry) -> Response {
    detail_page(c, a, id, Range::Hour, e, StatusCode::BAD_REQUEST)
}

pub async fn delete(
    State(c): State<Shared>,
    ext: http::Extensions,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let a = match change(&c, &headers, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let p = json!({"ProxyIds": [id], "Force": 1});
    let refused = match exec::gaap(&c, &a, &ext, "DestroyProxies", p).await {
        Ok(out)
            if out["InvalidStatusInstanceSet"]
                .as_array()
                .is_some_and(|v| !v.is_empty()) =>
        {
            Some(format!(
                "Accelerator {id} cannot be deleted in its present state."
            ))
        }
        Ok(_) => None,
        Err(e) => Some(exec::words(&e)),
    };
    match refused {
        None => exec::done(
            &c,
            &a,
            format!("Accelerator {id} is being deleted."),
            "/console/accelerators",
        ),
        Some(m) => {
            let e = Entry {
                error: Some(m),
                ..Default::default()
            };
            detail_with(&c, &a, &id, &e)
        }
    }
}
