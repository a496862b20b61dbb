//! Changes. A form becomes the parameters of the GAAP action it corresponds to, which runs
//! in-process through the same steps as a signed API request (`onramp_api::tencent::Request`:
//! the key's policy, the rate limit, the action's own decoding and checks, `onramp-ops`, the
//! audit log, here with dialect `console`). A refusal comes back in the API's words; when its
//! message names one of the form's parameters, the page shows it next to that field.

use axum::extract::ConnectInfo;
use onramp_api::tencent::{Request, TcError};
use serde_json::{Map, Value};

use crate::auth::Authed;
use crate::layout::Entry;
use crate::Console;

/// A form field and the GAAP parameter it fills.
pub type Field = (&'static str, &'static str);

/// Codes whose message names no parameter, and the parameter they are about.
const CODE_PARAMS: &[(&str, &str)] = &[
    ("InvalidParameterValue.DuplicatedListenerPort", "Ports"),
    ("InvalidParameterValue.InvalidListenerPort", "Ports"),
    ("InvalidParameterValue.DuplicateRS", "RealServerIP"),
];

/// The form field the error is about, if it names one.
pub fn field_of(e: &TcError, fields: &[Field]) -> Option<&'static str> {
    if let Some((_, p)) = CODE_PARAMS.iter().find(|(c, _)| *c == e.code) {
        return fields.iter().find(|(_, q)| q == p).map(|(f, _)| *f);
    }
    fields
        .iter()
        .find(|(_, p)| names(&e.message, p))
        .map(|(f, _)| *f)
}

/// Whether `message` names parameter `p`: `` `P` ``, `` `X.0.P` ``, `P(id)`.
fn names(message: &str, p: &str) -> bool {
    message.match_indices(p).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + p.len()..].chars().next();
        matches!(before, None | Some('`' | '.' | ' ')) && matches!(after, Some('`' | '(' | '.'))
    })
}

/// The API's words for a refusal: its message, then its code.
pub fn words(e: &TcError) -> String {
    format!("{} ({})", e.message, e.code)
}

/// Run GAAP `action` with `params` as the session's caller.
pub async fn gaap(
    c: &Console,
    a: &Authed,
    ext: &http::Extensions,
    action: &str,
    params: Value,
) -> Result<Map<String, Value>, TcError> {
    let source = ext
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |ci| ci.0.to_string());
    let request_id = onramp_core::ids::uuid();
    let req = Request {
        caller: &a.caller,
        action,
        params: &params,
        request_id: &request_id,
        source: &source,
        dialect: "console",
    };
    onramp_api::tencent::execute(&c.api, &req).await
}

/// A change made: leave `message` for the next page and go to `to` (post, redirect, get).
pub fn done(c: &Console, a: &Authed, message: String, to: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    c.sessions.flash(&a.token, message);
    axum::response::Redirect::to(to).into_response()
}

/// The form `values` again, with `e` on it.
pub fn refused(
    values: std::collections::HashMap<String, String>,
    e: &TcError,
    fields: &[Field],
) -> Entry {
    let mut entry = Entry {
        values,
        ..Default::default()
    };
    refuse(&mut entry, e, fields);
    entry
}

/// `e` put on the form `entry` (next to its field, or above the form).
pub fn refuse(entry: &mut Entry, e: &TcError, fields: &[Field]) {
    match field_of(e, fields) {
        Some(f) => {
            entry.errors.insert(f, words(e));
        }
        None => entry.error = Some(words(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_find_the_field_they_name() {
        let fields: &[Field] = &[
            ("name", "ListenerName"),
            ("port", "Ports"),
            ("origin_port", "RealServerPort"),
            ("interval", "DelayLoop"),
        ];
        let e = TcError::value("ListenerName", "at most 64 characters");
        assert_eq!(field_of(&e, fields), Some("name"));
        let e = TcError::value("RealServerBindSet.0.RealServerPort", "must be 1-65535");
        assert_eq!(field_of(&e, fields), Some("origin_port"));
        let e = TcError::new(
            "InvalidParameterValue.DuplicatedListenerPort",
            "The TCP port 80 is already used by listener listener-1.",
        );
        assert_eq!(field_of(&e, fields), Some("port"));
        let e = TcError::value("ConnectTimeout", "must be less than the interval");
        assert_eq!(field_of(&e, fields), None, "not a field of this form");
        let e = TcError::not_found("ProxyId", "link-1");
        assert_eq!(field_of(&e, fields), None);
        // A parameter whose name is inside another word is not named.
        assert!(!names("The value of `MyPorts` is invalid", "Ports"));
        assert!(names("The value of `Ports.0` is invalid", "Ports"));
    }
}
