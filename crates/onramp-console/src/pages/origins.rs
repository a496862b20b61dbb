//! Origins: the account's origins with where each is bound, registering new ones (GAAP
//! `AddRealServers`) and removing unbound ones (`RemoveRealServers`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Form;
use http::{HeaderMap, StatusCode};
use maud::html;
use onramp_core::Origin;
use serde_json::{json, Map, Value};

use super::Visible;
use crate::auth::{change, session, Authed};
use crate::exec::{self, Field};
use crate::layout::{csrf, field, form_error, page_status, when, Entry, Nav};
use crate::{Console, Shared};

const ADD_FIELDS: &[Field] = &[
    ("name", "RealServerName"),
    ("addresses", "RealServerIP"),
    ("project", "ProjectId"),
];

fn list_page(c: &Console, a: &Authed, e: &Entry, status: StatusCode) -> Response {
    let st = c.api.control.state();
    let vis = Visible::new(c, a, &st, "gaap:DescribeRealServers");
    let mut rows: Vec<&Origin> = st
        .origins_of_account(a.account())
        .filter(|o| vis.shows(&o.id))
        .collect();
    rows.sort_by(|x, y| (x.project_id, &x.address).cmp(&(y.project_id, &y.address)));
    let body = html! {
        @if !vis.whole() { p.notice { "This key may list only some origins; the others are not shown." } }
        section.panel #origins-list data-live {
            table.list {
                thead { tr { th { "Name" } th { "Address" } th { "Kind" } th.num { "Project" } th { "Bound to" } th { "Registered" } th { "" } } }
                tbody {
                    @for o in &rows {
                        tr data-id=(o.id) {
                            td { strong { (o.name) } div.small.muted { code { (o.id) } } }
                            td { code { (o.address) } @if o.banned { " " span.badge.bad { "banned" } } }
                            td { (o.kind.as_str()) }
                            td.num { (o.project_id) }
                            td {
                                @for b in st.bindings_of_origin(&o.id) {
                                    @if let Some(l) = st.listener(a.account(), &b.listener_id) {
                                        a.chip href={ "/console/listeners/" (l.id) } { (l.name) " :" (b.port) }
                                    }
                                }
                            }
                            td { (when(o.created_at)) }
                            td.row-actions {
                                form.inline method="post" action={ "/console/origins/" (o.id) "/delete" }
                                    data-confirm={ "Remove origin " (o.address) "?" } {
                                    (csrf(a))
                                    button.small.danger type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="7" .muted { "No origin yet: register one below." } } }
                }
            }
        }
        form.panel.create #add-origin method="post" action="/console/origins" {
            div.panel-head { h2 { "Register origins" } span.muted { "IP addresses or domain names, one per line or comma-separated" } }
            (csrf(a))
            (form_error(e))
            div.grid {
                (field(e, "name", "Name", "text", "", "up to 64 characters"))
                (field(e, "addresses", "Addresses", "text", "", "e.g. 10.0.0.21, 10.0.0.22"))
                (field(e, "project", "Project", "number", "0", "the accelerators' project that binds them"))
            }
            div.actions { button.primary #add-origin-submit type="submit" { "Register" } }
        }
    };
    drop(st);
    page_status(status, a, Nav::Origins, "Origins", &[], body)
}

pub async fn list(
    State(c): State<Shared>,
    headers: HeaderMap,
    Query(_q): Query<HashMap<String, String>>,
) -> Response {
    match session(&c, &headers, "/console/origins") {
        Ok(a) => list_page(&c, &a, &Entry::default(), StatusCode::OK),
        Err(r) => *r,
    }
}

/// A page to go back to after registering (a listener's page), if it is one of ours.
fn back(form: &HashMap<String, String>) -> Option<String> {
    form.get("back")
        .filter(|b| b.starts_with("/console/listeners/") && !b.contains("//") && !b.contains('?'))
        .cloned()
}

pub async fn add(
    State(c): State<Shared>,
    ext: http::Extensions,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let a = match change(&c, &headers, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut p: Map<String, Value> = super::accelerators::params(&form, ADD_FIELDS);
    if let Some(Value::String(list)) = p.remove("RealServerIP") {
        let items: Vec<&str> = list
            .split(|ch: char| ch == ',' || ch.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        p.insert("RealServerIP".into(), json!(items));
    }
    let back = back(&form);
    match exec::gaap(&c, &a, &ext, "AddRealServers", Value::Object(p)).await {
        Ok(out) => {
            let ids: Vec<String> = out["RealServerSet"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["RealServerId"].as_str().map(str::to_string))
                .collect();
            let to = match (back, ids.first()) {
                (Some(b), Some(id)) => format!("{b}?origin={id}"),
                _ => "/console/origins".into(),
            };
            exec::done(&c, &a, format!("Registered {}.", ids.join(", ")), &to)
        }
        Err(err) => {
            let e = exec::refused(form, &err, ADD_FIELDS);
            list_page(&c, &a, &e, StatusCode::BAD_REQUEST)
        }
    }
}

pub async fn remove(
    State(c): State<Shared>,
    ext: http::Extensions,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let a = match change(&c, &headers, &form) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match exec::gaap(
        &c,
        &a,
        &ext,
        "RemoveRealServers",
        json!({"RealServerIds": [id]}),
    )
    .await
    {
        Ok(_) => exec::done(&c, &a, format!("Removed origin {id}."), "/console/origins"),
        Err(err) => {
            let e = Entry {
                error: Some(exec::words(&err)),
                ..Default::default()
            };
            list_page(&c, &a, &e, StatusCode::BAD_REQUEST)
        }
    }
}
