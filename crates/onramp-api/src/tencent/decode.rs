//! Decoding and verification of API 3.0 requests: TC3-HMAC-SHA256 (POST JSON, GET query, POST
//! form) and the older HmacSHA1/HmacSHA256 (v1, with a nonce), into an authenticated `Call`.

use bytes::Bytes;
use http::request::Parts;
use http::Method;
use onramp_auth::{tc3, v1};
use serde_json::{Map, Value};

use super::{Call, Service, TcError, TcResult, GAAP_VERSION};
use crate::caller::{verify_any, Caller};
use crate::Api;

/// Parameters every v1 request carries beside the action's own.
const COMMON_V1: &[&str] = &[
    "Action",
    "Version",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Region",
    "Token",
    "Language",
    "RequestClient",
];

/// Decode the request and verify its signature, version and action.
pub(super) fn authenticate(api: &Api, parts: &Parts, body: &Bytes) -> TcResult<Call> {
    if parts.method != Method::GET && parts.method != Method::POST {
        return Err(TcError::new(
            "UnsupportedProtocol",
            format!(
                "HTTP method {} is not supported; use GET or POST.",
                parts.method
            ),
        ));
    }
    let call = if header_str(parts, "authorization").is_some() {
        decode_tc3(api, parts, body)?
    } else {
        decode_v1(api, parts, body)?
    };
    let version = match call.service() {
        Service::Gaap => GAAP_VERSION,
        Service::Bmlb => crate::bm::VERSION,
    };
    if call.version != version {
        return Err(TcError::new(
            "NoSuchVersion",
            format!(
                "The API version `{}` does not exist; {} uses {version}.",
                call.version,
                call.service().name()
            ),
        ));
    }
    let known = match call.service() {
        Service::Gaap => crate::gaap::is_action(&call.action),
        Service::Bmlb => crate::bm::v3::is_action(&call.action),
    };
    if !known {
        return Err(TcError::new(
            "InvalidAction",
            format!("The action `{}` does not exist.", call.action),
        ));
    }
    Ok(call)
}

/// The service a TC3 credential scope names: `gaap` or `bmlb`, nothing else.
fn scoped_service(name: &str) -> TcResult<Service> {
    match name {
        "gaap" => Ok(Service::Gaap),
        "bmlb" => Ok(Service::Bmlb),
        other => Err(TcError::new(
            "AuthFailure.InvalidAuthorization",
            format!("The credential scope names the service `{other}`; this endpoint serves gaap and bmlb."),
        )),
    }
}

fn header_str<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn host(parts: &Parts) -> &str {
    header_str(parts, "host").unwrap_or("")
}

fn query_pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

fn unflatten(pairs: &[(String, String)]) -> TcResult<Value> {
    onramp_auth::params::unflatten(pairs).map_err(|e| TcError::invalid("parameters", e))
}

/// The caller behind a SecretId and the secrets that may sign for it, or the documented failure.
fn key_caller(api: &Api, secret_id: &str) -> TcResult<(Caller, Vec<String>)> {
    crate::caller::lookup(api, secret_id).map_err(|_| {
        TcError::new(
            "AuthFailure.SecretIdNotFound",
            format!("The SecretId `{secret_id}` does not exist or is disabled."),
        )
    })
}

fn check_timestamp(api: &Api, ts: i64) -> TcResult<()> {
    if !crate::caller::timestamp_ok(api, ts) {
        return Err(TcError::new(
            "AuthFailure.SignatureExpire",
            format!(
                "The request timestamp {ts} is more than {} seconds away from the server time.",
                api.cfg.replay_window_secs
            ),
        ));
    }
    Ok(())
}

fn signature_failure() -> TcError {
    TcError::new(
        "AuthFailure.SignatureFailure",
        "The provided credentials could not be validated: the signature does not match.",
    )
}

fn decode_tc3(api: &Api, parts: &Parts, body: &Bytes) -> TcResult<Call> {
    let auth_header = header_str(parts, "authorization").unwrap_or("");
    let auth = tc3::parse_authorization(auth_header).map_err(|e| {
        TcError::new(
            "AuthFailure.InvalidAuthorization",
            format!("The Authorization header is invalid: {e}."),
        )
    })?;
    let action = header_str(parts, "x-tc-action")
        .ok_or_else(|| TcError::missing("X-TC-Action"))?
        .to_string();
    let version = header_str(parts, "x-tc-version")
        .ok_or_else(|| TcError::missing("X-TC-Version"))?
        .to_string();
    let ts_text =
        header_str(parts, "x-tc-timestamp").ok_or_else(|| TcError::missing("X-TC-Timestamp"))?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| TcError::invalid("X-TC-Timestamp", "must be unix seconds"))?;
    let (caller, secrets) = key_caller(api, &auth.secret_id)?;
    check_timestamp(api, ts)?;
    let service = scoped_service(&auth.service)?;
    tc3::check_scope(&auth, ts, &auth.service).map_err(|e| {
        TcError::new(
            "AuthFailure.InvalidAuthorization",
            format!("The credential scope does not match the timestamp: {e}."),
        )
    })?;
    let mut headers = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let v = parts
            .headers
            .get(name.as_str())
            .ok_or_else(signature_failure)?;
        headers.push((
            name.clone(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        ));
    }
    let unsigned = header_str(parts, "x-tc-content-sha256") == Some("UNSIGNED-PAYLOAD");
    let payload_hash = tc3::payload_hash(if unsigned { b"UNSIGNED-PAYLOAD" } else { body });
    let raw_query = parts.uri.query().unwrap_or("");
    let req = tc3::Tc3Request {
        method: parts.method.as_str(),
        canonical_uri: "/",
        canonical_query: if parts.method == Method::GET {
            raw_query
        } else {
            ""
        },
        headers: &headers,
        payload_hash,
        timestamp: ts,
        service: &auth.service,
    };
    if !verify_any(&secrets, |k| {
        tc3::verify_hex(&tc3::sign(k, &req), &auth.signature)
    }) {
        return Err(signature_failure());
    }
    let params = tc3_params(parts, body, raw_query)?;
    let once_key = format!("{}:{action}", auth.signature.to_ascii_lowercase());
    Ok(Call {
        action,
        version,
        params,
        caller,
        service: Some(service),
        // The SDK signs only `content-type;host`: the action header is not covered, so the same
        // body signed in the same second for another action is another request.
        signature: Some((once_key, ts)),
    })
}

fn tc3_params(parts: &Parts, body: &Bytes, raw_query: &str) -> TcResult<Value> {
    if parts.method == Method::GET {
        return unflatten(&query_pairs(raw_query));
    }
    let ct = header_str(parts, "content-type").unwrap_or("");
    if ct.starts_with("application/x-www-form-urlencoded") {
        return unflatten(&query_pairs(&String::from_utf8_lossy(body)));
    }
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(TcError::invalid("body", "the JSON body must be an object")),
        Err(e) => Err(TcError::invalid(
            "body",
            format!("the body is not valid JSON ({e})"),
        )),
    }
}

fn decode_v1(api: &Api, parts: &Parts, body: &Bytes) -> TcResult<Call> {
    let pairs = if parts.method == Method::GET {
        query_pairs(parts.uri.query().unwrap_or(""))
    } else {
        query_pairs(&String::from_utf8_lossy(body))
    };
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let signature = get("Signature").ok_or_else(|| {
        TcError::new(
            "AuthFailure.InvalidAuthorization",
            "The request has neither an Authorization header nor a Signature parameter.",
        )
    })?;
    let secret_id = get("SecretId").ok_or_else(|| TcError::missing("SecretId"))?;
    let action = get("Action")
        .ok_or_else(|| TcError::missing("Action"))?
        .to_string();
    let version = get("Version")
        .ok_or_else(|| TcError::missing("Version"))?
        .to_string();
    let ts: i64 = get("Timestamp")
        .ok_or_else(|| TcError::missing("Timestamp"))?
        .parse()
        .map_err(|_| TcError::invalid("Timestamp", "must be unix seconds"))?;
    let nonce: u64 = get("Nonce")
        .ok_or_else(|| TcError::missing("Nonce"))?
        .parse()
        .map_err(|_| TcError::invalid("Nonce", "must be a positive integer"))?;
    let (caller, secrets) = key_caller(api, secret_id)?;
    check_timestamp(api, ts)?;
    let method = v1::V1Method::from_param(get("SignatureMethod"));
    let to_sign = v1::string_to_sign(parts.method.as_str(), host(parts), parts.uri.path(), &pairs);
    if !verify_any(&secrets, |k| v1::verify(method, k, &to_sign, signature)) {
        return Err(signature_failure());
    }
    api.check_nonce(&caller.account.id, secret_id, nonce, ts)
        .map_err(|_| {
            TcError::new(
                "AuthFailure.SignatureExpire",
                "The Nonce was already used inside the replay window.",
            )
        })?;
    let own: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !COMMON_V1.contains(&k.as_str()))
        .cloned()
        .collect();
    let params = unflatten(&own)?;
    // A v1 signature names no service: the version does.
    let service = (version == crate::bm::VERSION).then_some(Service::Bmlb);
    Ok(Call {
        action,
        version,
        params,
        caller,
        service,
        signature: None,
    })
}
