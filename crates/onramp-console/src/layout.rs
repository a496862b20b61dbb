//! The page around every console view, and the small pieces pages share: status and health
//! badges, form fields with their errors, times written for people.

use std::collections::HashMap;

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use onramp_api::summary::BindingState;
use onramp_ops::status::Phase;

use crate::auth::Authed;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The console's sections, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Accelerators,
    Origins,
}

const LOGO: &str = "<svg viewBox=\"0 0 24 24\" width=\"22\" height=\"22\" aria-hidden=\"true\">\
<circle cx=\"12\" cy=\"12\" r=\"11\" fill=\"#2563eb\"/>\
<path d=\"M5 15 C9 15 10 9 14 9 L19 9\" stroke=\"#fff\" stroke-width=\"2.2\" fill=\"none\" stroke-linecap=\"round\"/>\
<path d=\"M16 6 L19 9 L16 12\" stroke=\"#fff\" stroke-width=\"2.2\" fill=\"none\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/></svg>";

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · onramp" }
            link rel="stylesheet" href={ "/console/assets/console.css?v=" (VERSION) };
            script src={ "/console/assets/console.js?v=" (VERSION) } defer {}
        }
    }
}

/// A whole document: `<!DOCTYPE html><html lang="en">` around head and body.
fn document(title: &str, body: Markup) -> Markup {
    html! { (DOCTYPE) html lang="en" { (head(title)) (body) } }
}

fn html_response(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A page of a logged-in operator.
pub fn page(
    a: &Authed,
    nav: Nav,
    title: &str,
    crumbs: &[(&str, String)],
    body: Markup,
) -> Response {
    page_status(StatusCode::OK, a, nav, title, crumbs, body)
}

pub fn page_status(
    status: StatusCode,
    a: &Authed,
    nav: Nav,
    title: &str,
    crumbs: &[(&str, String)],
    body: Markup,
) -> Response {
    let link = |n: Nav, href: &str, text: &str| {
        html! { a.active[n == nav] href=(href) { (text) } }
    };
    let acc = &a.caller.account;
    let markup = document(
        title,
        html! {
            body {
                header.top {
                    a.brand href="/console/" { (PreEscaped(LOGO)) span { "onramp" } }
                    nav {
                        (link(Nav::Overview, "/console/", "Overview"))
                        (link(Nav::Accelerators, "/console/accelerators", "Accelerators"))
                        (link(Nav::Origins, "/console/origins", "Origins"))
                    }
                    div.who {
                        span.account title={ "account " (acc.id) } { (acc.name) }
                        span.key title="the key this session signed in with" { (a.caller.key_id) }
                        form method="post" action="/console/logout" {
                            (csrf(a))
                            button.link #logout type="submit" { "Log out" }
                        }
                    }
                }
                main {
                    @if !crumbs.is_empty() {
                        div.crumbs {
                            @for (text, href) in crumbs { a href=(href) { (text) } span.sep { "›" } }
                        }
                    }
                    h1 { (title) }
                    @if let Some(f) = &a.flash { p.flash role="status" { (f) } }
                    (body)
                }
                footer {
                    span { "onramp " (VERSION) }
                    span.muted { "live parts refresh every 5 s · last " span #refreshed { "now" } }
                }
            }
        },
    );
    html_response(status, markup)
}

/// A page without a session (login, errors before one).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = document(
        title,
        html! {
            body.bare {
                div.bare-logo { (PreEscaped(LOGO)) span { "onramp" } }
                main.narrow { (body) }
            }
        },
    );
    html_response(status, markup)
}

/// A resource of another account, or none at all: the same answer.
pub fn not_found(a: &Authed, nav: Nav, what: &str, id: &str) -> Response {
    page_status(
        StatusCode::NOT_FOUND,
        a,
        nav,
        "Not found",
        &[],
        html! { p { (what) " " code { (id) } " does not exist in this account." } },
    )
}

/// The key's policy refuses this view.
pub fn forbidden(a: &Authed, nav: Nav, message: &str) -> Response {
    page_status(
        StatusCode::FORBIDDEN,
        a,
        nav,
        "Not allowed",
        &[],
        html! { p.form-error { (message) } },
    )
}

/// The session's CSRF token, in every form that changes something.
pub fn csrf(a: &Authed) -> Markup {
    html! { input type="hidden" name="csrf" value=(a.csrf); }
}

pub fn phase_badge(p: Phase) -> Markup {
    let class = match p {
        Phase::Running => "ok",
        Phase::Closed => "off",
        Phase::Failed => "bad",
        Phase::Deleting => "off",
        _ => "busy",
    };
    html! { span class={ "badge " (class) } data-state=(p.name()) { (p.name()) } }
}

pub fn health_badge(h: BindingState, text: &str) -> Markup {
    let class = match h {
        BindingState::Healthy => "ok",
        BindingState::Unhealthy => "bad",
        BindingState::Initial => "busy",
        BindingState::Unmonitored => "off",
    };
    html! { span class={ "badge " (class) } data-health=(h.name()) { (text) } }
}

/// "4 s ago", "3 min ago", "2 h ago".
pub fn ago(ms: i64, now_ms: i64) -> String {
    let s = (now_ms - ms).max(0) / 1000;
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A date and time in UTC, to the minute.
pub fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// What a form was filled with, and what the API said about it.
#[derive(Debug, Default, Clone)]
pub struct Entry {
    pub values: HashMap<String, String>,
    /// Errors by form field.
    pub errors: HashMap<&'static str, String>,
    /// An error that names no field of the form.
    pub error: Option<String>,
}

impl Entry {
    pub fn value<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.values.get(name).map(String::as_str).unwrap_or(default)
    }
}

/// A labelled input with the error the API gave for it, if any.
pub fn field(
    e: &Entry,
    name: &'static str,
    label: &str,
    kind: &str,
    default: &str,
    hint: &str,
) -> Markup {
    let err = e.errors.get(name);
    html! {
        div.field.invalid[err.is_some()] {
            label for={ "f-" (name) } { (label) }
            input id={ "f-" (name) } type=(kind) name=(name) value=(e.value(name, default))
                aria-invalid=[err.map(|_| "true")] autofocus[err.is_some()];
            @if let Some(m) = err { span.field-error role="alert" data-field=(name) { (m) } }
            @else if !hint.is_empty() { span.hint { (hint) } }
        }
    }
}

/// A labelled select of `(value, text)` options.
pub fn select(
    e: &Entry,
    name: &'static str,
    label: &str,
    options: &[(String, String)],
    default: &str,
) -> Markup {
    let err = e.errors.get(name);
    let chosen = e.value(name, default);
    html! {
        div.field.invalid[err.is_some()] {
            label for={ "f-" (name) } { (label) }
            select id={ "f-" (name) } name=(name) {
                @for (v, t) in options { option value=(v) selected[v == chosen] { (t) } }
            }
            @if let Some(m) = err { span.field-error role="alert" data-field=(name) { (m) } }
        }
    }
}

/// The error of a form that names none of its fields.
pub fn form_error(e: &Entry) -> Markup {
    html! { @if let Some(m) = &e.error { p.form-error role="alert" { (m) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_like_people_say_them() {
        assert_eq!(ago(1_000, 5_500), "4 s ago");
        assert_eq!(ago(0, 190_000), "3 min ago");
        assert_eq!(ago(0, 7_300_000), "2 h ago");
        assert_eq!(ago(10, 0), "0 s ago");
        assert_eq!(when(1_700_000_000_000), "2023-11-14 22:13 UTC");
    }
}
