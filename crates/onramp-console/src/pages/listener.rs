//! Listeners: the create form of an accelerator (GAAP `CreateTCPListeners` /
//! `CreateUDPListeners`), a listener's page (status, settings in words, origins with live health,
//! charts) and its deletion (`DeleteListeners`). Binding changes are in `bindings`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Form;
use http::{HeaderMap, StatusCode};
use maud::{html, Markup};
use onramp_api::now_secs;
use onramp_api::summary::BindingState;
use onramp_core::{Accelerator, Listener, Protocol, State as Model};
use serde_json::{json, Value};

use super::accelerators::{charts_panel, detail_with, params};
use super::{allowed, bindings, owner_name, words};
use crate::auth::{change, session, Authed};
use crate::charts::{self, Range};
use crate::exec::{self, Field};
use crate::layout::{csrf, field, form_error, page_status, phase_badge, select, when, Entry, Nav};
use crate::{Console, Shared};

pub use bindings::{bind, change_binding};

const CREATE_FIELDS: &[Field] = &[
    ("name", "ListenerName"),
    ("port", "Ports"),
    ("scheduler", "Scheduler"),
    ("origin_type", "RealServerType"),
    ("health", "HealthCheck"),
    ("interval", "DelayLoop"),
    ("timeout", "ConnectTimeout"),
    ("healthy", "HealthyThreshold"),
    ("unhealthy", "UnhealthyThreshold"),
    ("client_ip", "ClientIPMethod"),
    ("persist", "SessionPersist"),
];

fn opts(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(v, t)| (v.to_string(), t.to_string()))
        .collect()
}

/// The create-listener form of accelerator `acc`.
pub fn create_form(_c: &Console, a: &Authed, acc: &Accelerator, e: &Entry) -> Markup {
    html! {
        form.panel.create #create-listener method="post" action={ "/console/accelerators/" (acc.id) "/listeners" } {
            div.panel-head { h2 { "Add a listener" } }
            (csrf(a))
            (form_error(e))
            div.grid {
                (field(e, "name", "Name", "text", "", "up to 64 characters"))
                (select(e, "protocol", "Protocol", &opts(&[("TCP", "TCP"), ("UDP", "UDP")]), "TCP"))
                (field(e, "port", "Port", "number", "", "1–65535, on the access address"))
                (select(e, "scheduler", "Scheduling", &opts(&[("rr", "round robin"), ("wrr", "weighted round robin"), ("lc", "least connections"), ("lrtt", "lowest round-trip time")]), "wrr"))
                (select(e, "origin_type", "Origins are", &opts(&[("IP", "IP addresses"), ("DOMAIN", "domain names")]), "IP"))
                (select(e, "health", "Health check", &opts(&[("1", "on"), ("0", "off")]), "1"))
                (field(e, "interval", "Check every (s)", "number", "5", "5–300"))
                (field(e, "timeout", "Check timeout (s)", "number", "2", "2–60, below the interval"))
                (field(e, "healthy", "Back after passed checks", "number", "2", "1–10"))
                (field(e, "unhealthy", "Out after failed checks", "number", "2", "1–10"))
                (select(e, "client_ip", "Client address", &opts(&[("", "not passed"), ("1", "PROXY protocol v1"), ("2", "PROXY protocol v2")]), ""))
                (field(e, "persist", "Session persistence (s)", "number", "0", "0 = off"))
            }
            div.actions { button.primary #create-listener-submit type="submit" { "Add listener" } }
        }
    }
}

/// The listeners table of an accelerator.
pub fn rows(c: &Console, a: &Authed, st: &Model, listeners: &[&Listener]) -> Markup {
    let now = now_secs();
    html! {
        table.list {
            thead { tr { th { "Name" } th { "Protocol" } th.num { "Port" } th { "Scheduling" } th { "Status" } th { "Origins" } th.num { "Connections" } } }
            tbody {
                @for l in listeners {
                    @let visible = allowed(c, a, st, describe_op(l), &[&l.id]).is_ok();
                    @if visible {
                        @let (healthy, total) = health_counts(c, st, l);
                        tr data-id=(l.id) {
                            td { a href={ "/console/listeners/" (l.id) } { strong { (l.name) } } }
                            td { (l.protocol.upper()) }
                            td.num { (l.first_port()) }
                            td { (l.scheduler.as_str()) }
                            td { (phase_badge(c.api.listener_phase(l))) }
                            td { (healthy) " healthy of " (total) }
                            td.num { (charts::now(&c.api, std::slice::from_ref(&l.id), now).connections) }
                        }
                    }
                }
                @if listeners.is_empty() { tr { td colspan="7" .muted { "No listener yet: add one below." } } }
            }
        }
    }
}

fn health_counts(c: &Console, st: &Model, l: &Listener) -> (usize, usize) {
    let all: Vec<BindingState> = st
        .bindings_of(&l.id)
        .map(|b| c.api.binding_state(st, Some(l), b))
        .collect();
    let up = all
        .iter()
        .filter(|h| matches!(h, BindingState::Healthy | BindingState::Unmonitored))
        .count();
    (up, all.len())
}

/// The GAAP read a listener's page corresponds to.
pub fn describe_op(l: &Listener) -> &'static str {
    match l.protocol {
        Protocol::Tcp => "gaap:DescribeTCPListeners",
        Protocol::Udp => "gaap:DescribeUDPListeners",
    }
}

pub async fn create(
    State(c): State<Shared>,
    ext: http::Extensions,
    headers: HeaderMap,
    Path(acc): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let a = match change(&c, &headers, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut p = params(&form, CREATE_FIELDS);
    if let Some(port) = p.remove("Ports") {
        p.insert("Ports".into(), json!([port]));
    }
    p.insert("ProxyId".into(), json!(acc));
    let action = match form.get("protocol").map(String::as_str) {
        Some("UDP") => {
            // A UDP listener's check is the port probe; GAAP takes no HealthCheck=0 for it.
            if p.get("HealthCheck") == Some(&json!("0")) {
                p.remove("HealthCheck");
            }
            "CreateUDPListeners"
        }
        _ => "CreateTCPListeners",
    };
    match exec::gaap(&c, &a, &ext, action, Value::Object(p)).await {
        Ok(out) => {
            let id = out["ListenerIds"][0].as_str().unwrap_or_default();
            let msg = format!("Listener {id} is being created; it runs once the edges opened it.");
            exec::done(&c, &a, msg, &format!("/console/listeners/{id}"))
        }
        Err(err) => {
            let e = exec::refused(form, &err, CREATE_FIELDS);
            detail_with(&c, &a, &acc, &e)
        }
    }
}

/// A listener's page; `e` is the state of its bind form.
pub fn detail_page(
    c: &Console,
    a: &Authed,
    id: &str,
    range: Range,
    e: &Entry,
    status: StatusCode,
) -> Response {
    let st = c.api.control.state();
    let Some(l) = st.listener(a.account(), id) else {
        return crate::layout::not_found(a, Nav::Accelerators, "Listener", id);
    };
    if let Err(m) = allowed(c, a, &st, describe_op(l), &[id]) {
        return crate::layout::forbidden(a, Nav::Accelerators, &m);
    }
    let owner = owner_name(&st, a.account(), &l.owner);
    let owner_href = format!("/console/accelerators/{}", l.owner.id());
    let charts = allowed(c, a, &st, "gaap:DescribeListenerStatistics", &[id]).map(|()| {
        charts::charts(
            &c.api,
            std::slice::from_ref(&l.id),
            range,
            now_secs(),
            &l.name,
        )
    });
    // Where clients reach it: the live edges of its accelerator's region (a group's listener:
    // the node's own address).
    let region = match &l.owner {
        onramp_core::Owner::Accelerator(id) => {
            st.accelerators.get(id).map(|a| a.access_region.clone())
        }
        onramp_core::Owner::Group(_) => None,
    };
    let address = c
        .api
        .access_addresses(region.as_deref().unwrap_or_default())
        .join(", ");
    let failure = c.api.health.listener_failure(&l.id);
    let origins = bindings::panel(c, a, &st, l, e);
    let body = html! {
        div.split {
            section.panel #listener-state data-live {
                div.panel-head { h2 { "Status" } (phase_badge(c.api.listener_phase(l))) }
                @if let Some(f) = &failure { p.form-error { "The edge could not open it: " (f) } }
                dl.facts {
                    dt { "ID" } dd { code { (l.id) } }
                    dt { "Accelerator" } dd { a href=(owner_href) { (owner) } }
                    dt { "Address" } dd { code { (address) ":" (l.first_port()) } " " (l.protocol.upper()) }
                    dt { "Created" } dd { (when(l.created_at)) }
                }
            }
            section.panel #settings {
                div.panel-head { h2 { "Settings" } }
                ul.words { @for s in words::settings(l, &address) { li { (s) } } }
            }
        }
        (origins)
        (charts_panel(charts.as_ref().map_err(Clone::clone), range, &format!("/console/listeners/{id}"), l.protocol == Protocol::Udp))
        form.danger method="post" action={ "/console/listeners/" (id) "/delete" }
            data-confirm={ "Delete listener " (l.name) " and its bindings?" } {
            (csrf(a))
            button.danger #delete-listener type="submit" { "Delete listener" }
            span.muted { " Its bindings go with it; the origins stay." }
        }
    };
    let title = l.name.clone();
    let crumbs = [
        ("Accelerators", "/console/accelerators".to_string()),
        (owner.as_str(), owner_href.clone()),
    ];
    let resp = page_status(status, a, Nav::Accelerators, &title, &crumbs, body);
    drop(st);
    resp
}

pub async fn detail(
    State(c): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match session(&c, &headers, &format!("/console/listeners/{id}")) {
        Ok(a) => {
            let range = Range::parse(q.get("range").map(String::as_str));
            let mut e = Entry::default();
            if let Some(o) = q.get("origin") {
                e.values.insert("origin".into(), o.clone());
            }
            detail_page(&c, &a, &id, range, &e, StatusCode::OK)
        }
        Err(r) => *r,
    }
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
    let owner = c
        .api
        .control
        .state()
        .listener(a.account(), &id)
        .map(|l| l.owner.id().to_string());
    let p = json!({"ListenerIds": [id], "Force": 1});
    let refused = match exec::gaap(&c, &a, &ext, "DeleteListeners", p).await {
        Ok(out)
            if out["OperationSucceedListenerSet"]
                .as_array()
                .is_some_and(|v| !v.is_empty()) =>
        {
            None
        }
        Ok(_) => Some(format!("Listener {id} could not be deleted.")),
        Err(e) => Some(exec::words(&e)),
    };
    match (refused, owner) {
        (None, owner) => {
            let to = owner.map_or("/console/accelerators".into(), |o| {
                format!("/console/accelerators/{o}")
            });
            exec::done(&c, &a, format!("Listener {id} is being deleted."), &to)
        }
        (Some(m), _) => {
            let e = Entry {
                error: Some(m),
                ..Default::default()
            };
            detail_page(&c, &a, &id, Range::Hour, &e, StatusCode::BAD_REQUEST)
        }
    }
}
