//! A listener's origins: the table with weights, roles and live health per edge, the bind form,
//! and the changes (bind, weight, take out, put back, unbind). GAAP sets a listener's origins as
//! a whole (`BindListenerRealServers`), so every change sends the listener's set as stored with
//! the one change made; the model keeps the IDs, health and connections of what stays.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use http::{HeaderMap, StatusCode};
use maud::{html, Markup};
use onramp_core::{Binding, FailoverRole, Listener, State as Model};
use serde_json::{json, Value};

use super::allowed;
use super::listener::detail_page;
use crate::auth::{change, Authed};
use crate::charts::Range;
use crate::exec::{self, Field};
use crate::layout::{csrf, field, form_error, health_badge, select, Entry};
use crate::{Console, Shared};

/// The weight an origin taken out gets back (the bind form's default).
const PUT_BACK_WEIGHT: u32 = 10;

const BIND_FIELDS: &[Field] = &[
    ("origin", "RealServerId"),
    ("port", "RealServerPort"),
    ("weight", "RealServerWeight"),
    ("role", "RealServerFailoverRole"),
];

/// The item of `RealServerBindSet` that keeps `b` as it is.
fn item(st: &Model, b: &Binding) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("RealServerId".into(), json!(b.origin_id));
    m.insert("RealServerPort".into(), json!(b.port));
    let address = st.origins.get(&b.origin_id).map(|o| o.address.clone());
    m.insert("RealServerIP".into(), json!(address.unwrap_or_default()));
    m.insert("RealServerWeight".into(), json!(b.weight));
    if b.role != FailoverRole::None {
        m.insert("RealServerFailoverRole".into(), json!(b.role.as_str()));
    }
    m
}

fn health_cell(c: &Console, st: &Model, l: &Listener, b: &Binding) -> Markup {
    let state = c.api.binding_state(st, Some(l), b);
    let per_edge = c.api.health.binding_by_edge(&b.id);
    html! {
        @if per_edge.is_empty() || !c.api.binding_monitored(st, Some(l), b) {
            (health_badge(state, state.name()))
        } @else {
            @for (edge, h) in &per_edge {
                @let s = if h.healthy { onramp_api::summary::BindingState::Healthy } else { onramp_api::summary::BindingState::Unhealthy };
                div.edge-health {
                    (health_badge(s, s.name()))
                    @if !edge.is_empty() { span.muted { " on " (edge) } }
                    @if let Some(rtt) = h.rtt_micros { span.muted { " · " (format!("{:.2}", rtt as f64 / 1000.0)) " ms" } }
                    @if !h.down.is_empty() { div.small.muted { "down: " (h.down.join(", ")) } }
                }
            }
        }
    }
}

/// The origins panel of listener `l`, with its bind form in state `e`.
pub fn panel(c: &Console, a: &Authed, st: &Model, l: &Listener, e: &Entry) -> Markup {
    if let Err(m) = allowed(c, a, st, "gaap:DescribeListenerRealServers", &[&l.id]) {
        return html! { section.panel #origins { div.panel-head { h2 { "Origins" } } p.notice { (m) } } };
    }
    let list: Vec<&Binding> = st.bindings_of(&l.id).collect();
    let base = format!("/console/listeners/{}/origins", l.id);
    html! {
        section.panel #origins data-live {
            div.panel-head { h2 { "Origins" } span.muted { "weights, roles and health as the edges see them" } }
            table.list {
                thead { tr { th { "Origin" } th { "Address" } th.num { "Weight" } th { "Role" } th { "Health" } th { "" } } }
                tbody {
                    @for b in &list {
                        @let o = st.origin(a.account(), &b.origin_id);
                        tr #{ "binding-" (b.id) } data-origin=(b.origin_id) data-weight=(b.weight) {
                            td { strong { (o.map_or(b.origin_id.as_str(), |o| o.name.as_str())) } div.small.muted { code { (b.origin_id) } } }
                            td { code { (o.map_or("", |o| o.address.as_str())) ":" (b.port) } }
                            td.num {
                                form.inline method="post" action={ (base) "/" (b.id) } {
                                    (csrf(a))
                                    input type="hidden" name="action" value="weight";
                                    input.weight type="number" name="weight" value=(b.weight) min="0" max="100" aria-label="weight";
                                    button.small type="submit" { "Set" }
                                }
                            }
                            td { @match b.role { FailoverRole::Master => "primary", FailoverRole::Slave => "backup", FailoverRole::None => "—" } }
                            td { (health_cell(c, st, l, b)) @if b.weight == 0 { div.small.muted { "taken out (weight 0)" } } }
                            td.row-actions {
                                form.inline method="post" action={ (base) "/" (b.id) } {
                                    (csrf(a))
                                    @if b.weight == 0 {
                                        input type="hidden" name="action" value="in";
                                        button.small.take-in type="submit" { "Put back" }
                                    } @else {
                                        input type="hidden" name="action" value="out";
                                        button.small.take-out type="submit" { "Take out" }
                                    }
                                }
                                form.inline method="post" action={ (base) "/" (b.id) } data-confirm="Unbind this origin from the listener?" {
                                    (csrf(a))
                                    input type="hidden" name="action" value="unbind";
                                    button.small.danger type="submit" { "Unbind" }
                                }
                            }
                        }
                    }
                    @if list.is_empty() { tr { td colspan="6" .muted { "No origin bound: bind one below." } } }
                }
            }
        }
        (bind_form(a, st, l, e, &base))
    }
}

fn bind_form(a: &Authed, st: &Model, l: &Listener, e: &Entry, base: &str) -> Markup {
    let project = st.listener_project(l);
    let mut origins: Vec<(String, String)> = st
        .origins_in_project(a.account(), project)
        .filter(|o| o.kind == l.origin_kind && !o.banned)
        .map(|o| (o.id.clone(), format!("{} · {}", o.name, o.address)))
        .collect();
    origins.sort_by(|x, y| x.1.cmp(&y.1));
    let roles = [
        ("master".to_string(), "primary".to_string()),
        ("slave".to_string(), "backup".to_string()),
    ];
    html! {
        div.split {
            form.panel.create #bind-origin method="post" action=(base) {
                div.panel-head { h2 { "Bind an origin" } }
                (csrf(a))
                (form_error(e))
                @if origins.is_empty() {
                    p.muted { "No origin of project " (project) " yet: register one on the right." }
                } @else {
                    div.grid {
                        (select(e, "origin", "Origin", &origins, ""))
                        (field(e, "port", "Origin port", "number", "", "where the origin listens"))
                        (field(e, "weight", "Weight", "number", "10", "0–100; 0 takes no new connections"))
                        @if l.failover { (select(e, "role", "Role", &roles, "master")) }
                    }
                    div.actions { button.primary #bind-origin-submit type="submit" { "Bind origin" } }
                }
            }
            form.panel.create #register-origin method="post" action="/console/origins" {
                div.panel-head { h2 { "Register an origin" } }
                (csrf(a))
                input type="hidden" name="project" value=(project);
                input type="hidden" name="back" value={ "/console/listeners/" (l.id) };
                div.grid {
                    (field(&Entry::default(), "name", "Name", "text", "", ""))
                    (field(&Entry::default(), "addresses", "Address", "text", "", if l.origin_kind == onramp_core::OriginKind::Domain { "a domain name" } else { "an IPv4 or IPv6 address" }))
                }
                div.actions { button #register-origin-submit type="submit" { "Register" } }
            }
        }
    }
}

/// A change of a listener's origins: the whole set to send, what to say when it is done, and
/// the form that asked (to show a refusal on).
struct Change<'a> {
    listener: &'a str,
    items: Vec<Value>,
    done: String,
    entry: Entry,
    fields: &'a [Field],
}

/// Send the listener's origins and come back to its page.
async fn send(c: &Console, a: &Authed, ext: &http::Extensions, ch: Change<'_>) -> Response {
    let p = json!({"ListenerId": ch.listener, "RealServerBindSet": ch.items});
    match exec::gaap(c, a, ext, "BindListenerRealServers", p).await {
        Ok(_) => exec::done(
            c,
            a,
            ch.done,
            &format!("/console/listeners/{}", ch.listener),
        ),
        Err(err) => {
            let mut e = ch.entry;
            exec::refuse(&mut e, &err, ch.fields);
            detail_page(c, a, ch.listener, Range::Hour, &e, StatusCode::BAD_REQUEST)
        }
    }
}

/// The listener's bindings as stored, as items (`None`: no such listener of the account).
fn current(
    c: &Console,
    a: &Authed,
    listener: &str,
) -> Option<Vec<(Binding, serde_json::Map<String, Value>)>> {
    let st = c.api.control.state();
    st.listener(a.account(), listener)?;
    Some(
        st.bindings_of(listener)
            .map(|b| (b.clone(), item(&st, b)))
            .collect(),
    )
}

pub async fn bind(
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
    let Some(now) = current(&c, &a, &id) else {
        return crate::layout::not_found(&a, crate::layout::Nav::Accelerators, "Listener", &id);
    };
    let origin = form.get("origin").cloned().unwrap_or_default();
    let address = c
        .api
        .control
        .state()
        .origin(a.account(), &origin)
        .map(|o| o.address.clone());
    let mut new = super::accelerators::params(&form, BIND_FIELDS);
    new.insert("RealServerIP".into(), json!(address.unwrap_or_default()));
    let mut items: Vec<Value> = now.into_iter().map(|(_, m)| Value::Object(m)).collect();
    items.push(Value::Object(new));
    let e = Entry {
        values: form,
        ..Default::default()
    };
    let ch = Change {
        listener: &id,
        items,
        done: format!("Origin {origin} is being bound."),
        entry: e,
        fields: BIND_FIELDS,
    };
    send(&c, &a, &ext, ch).await
}

pub async fn change_binding(
    State(c): State<Shared>,
    ext: http::Extensions,
    headers: HeaderMap,
    Path((id, binding)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let a = match change(&c, &headers, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let Some(now) = current(&c, &a, &id) else {
        return crate::layout::not_found(&a, crate::layout::Nav::Accelerators, "Listener", &id);
    };
    if !now.iter().any(|(b, _)| b.id == binding) {
        return crate::layout::not_found(&a, crate::layout::Nav::Accelerators, "Binding", &binding);
    }
    let action = form.get("action").map(String::as_str).unwrap_or("");
    let weight: Value = match action {
        "out" => json!(0),
        "in" => json!(PUT_BACK_WEIGHT),
        "weight" => json!(form.get("weight").map(|w| w.trim()).unwrap_or("")),
        _ => Value::Null,
    };
    let mut items = Vec::new();
    for (b, mut m) in now {
        if b.id == binding {
            if action == "unbind" {
                continue;
            }
            m.insert("RealServerWeight".into(), weight.clone());
        }
        items.push(Value::Object(m));
    }
    let done = match action {
        "out" => "The origin is taken out (weight 0): it gets no new connections.".to_string(),
        "in" => format!("The origin is back in (weight {PUT_BACK_WEIGHT})."),
        "unbind" => "The origin is being unbound.".into(),
        _ => format!("The weight is now {weight}."),
    };
    // A refusal is about this row, not about the bind form's fields.
    let ch = Change {
        listener: &id,
        items,
        done,
        entry: Entry::default(),
        fields: &[],
    };
    send(&c, &a, &ext, ch).await
}
