//! Huawei GA tag reads on accelerators (`ga-accelerators`) and listeners (`ga-listeners`):
//! `ShowResourceTags`, `ListTags` (every key with its values), the two queries sent as POST,
//! `ListResourcesByTag` and `CountResourcesByTag`, and the writes `CreateTags` / `DeleteTags`.
//!
//! A filter's `tags` must all be on a resource (a key with an empty `values` matches any value,
//! else any of the values); a `matches` item `{"key": "resource_name", "value"}` keeps resources
//! whose name contains the value. `limit` 1–1000 (default 1000), `offset` from 0.

use std::collections::{BTreeMap, BTreeSet};

use http::StatusCode;
use onramp_core::{State, Tag};
use serde::Deserialize;
use serde_json::{json, Value};

use super::query::limit_offset;
use super::views::tags;
use super::{HwCtx, HwError, HwResult};

/// A resource that carries tags.
struct Tagged<'a> {
    id: &'a str,
    name: &'a str,
    tags: &'a [Tag],
}

/// The account's resources of `resource_type`, oldest first.
fn resources<'a>(
    ctx: &HwCtx<'_>,
    st: &'a State,
    resource_type: &str,
) -> Result<Vec<Tagged<'a>>, HwError> {
    let account = ctx.account.id.as_str();
    let mut out: Vec<(i64, Tagged<'a>)> = match resource_type {
        "ga-accelerators" => st
            .accelerators
            .values()
            .filter(|a| a.account_id == account)
            .map(|a| {
                (
                    a.created_at,
                    Tagged {
                        id: &a.id,
                        name: &a.name,
                        tags: &a.tags,
                    },
                )
            })
            .collect(),
        "ga-listeners" => st
            .listeners
            .values()
            .filter(|l| l.account_id == account)
            .map(|l| {
                (
                    l.created_at,
                    Tagged {
                        id: &l.id,
                        name: &l.name,
                        tags: &l.tags,
                    },
                )
            })
            .collect(),
        _ => {
            return Err(HwError::invalid(
                "resource_type",
                "must be ga-accelerators or ga-listeners",
            ))
        }
    };
    out.sort_by(|a, b| (a.0, a.1.id).cmp(&(b.0, b.1.id)));
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

pub fn show(ctx: &HwCtx<'_>, resource_type: &str, id: &str) -> HwResult {
    let st = ctx.api.control.state();
    let all = resources(ctx, &st, resource_type)?;
    let r = all
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| HwError::not_found(&format!("{resource_type} {id}")))?;
    Ok((StatusCode::OK, json!({"tags": tags(r.tags)})))
}

pub fn list(ctx: &HwCtx<'_>, resource_type: &str, raw_query: &str) -> HwResult {
    let (limit, offset) = limit_offset(raw_query)?;
    let st = ctx.api.control.state();
    let mut keys: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in resources(ctx, &st, resource_type)? {
        for t in r.tags {
            keys.entry(&t.key).or_default().insert(&t.value);
        }
    }
    let total = keys.len();
    let page: Vec<Value> = keys
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(k, vs)| json!({"key": k, "values": vs}))
        .collect();
    Ok((StatusCode::OK, json!({"tags": page, "total_count": total})))
}

/// `ListResourcesByTagRequestBody` (also the body of `CountResourcesByTag`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagFilter {
    #[serde(default)]
    pub tags: Vec<TagValues>,
    #[serde(default)]
    pub matches: Vec<Match>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagValues {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    pub key: String,
    pub value: String,
}

impl TagFilter {
    /// Decode and check a filter body; an empty body filters nothing.
    pub fn parse(body: &[u8]) -> Result<Self, HwError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let f: TagFilter = super::dto::decode(body)?;
        super::dto::keys_present_and_unique(f.tags.iter().map(|t| t.key.as_str()))?;
        if let Some(m) = f.matches.iter().find(|m| m.key != "resource_name") {
            return Err(HwError::invalid(
                "matches.key",
                format!("{:?} is not resource_name", m.key),
            ));
        }
        Ok(f)
    }

    fn keeps(&self, r: &Tagged<'_>) -> bool {
        let has = |want: &TagValues| {
            r.tags.iter().any(|t| {
                t.key == want.key && (want.values.is_empty() || want.values.contains(&t.value))
            })
        };
        self.tags.iter().all(has) && self.matches.iter().all(|m| r.name.contains(&m.value))
    }
}

pub fn filter(ctx: &HwCtx<'_>, resource_type: &str, raw_query: &str, body: &[u8]) -> HwResult {
    let (limit, offset) = limit_offset(raw_query)?;
    let f = TagFilter::parse(body)?;
    let st = ctx.api.control.state();
    let found: Vec<Tagged<'_>> = resources(ctx, &st, resource_type)?
        .into_iter()
        .filter(|r| f.keeps(r))
        .collect();
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| json!({"resource_id": r.id, "resource_name": r.name, "tags": tags(r.tags)}))
        .collect();
    Ok((
        StatusCode::OK,
        json!({"resources": page, "total_count": found.len()}),
    ))
}

pub fn count(ctx: &HwCtx<'_>, resource_type: &str, body: &[u8]) -> HwResult {
    let f = TagFilter::parse(body)?;
    let st = ctx.api.control.state();
    let n = resources(ctx, &st, resource_type)?
        .iter()
        .filter(|r| f.keeps(r))
        .count();
    Ok((StatusCode::OK, json!({ "total_count": n })))
}

/// The model's kind of a tags path's `resource_type`.
fn tagged(resource_type: &str) -> Result<onramp_ops::tags::Tagged, HwError> {
    match resource_type {
        "ga-accelerators" => Ok(onramp_ops::tags::Tagged::Accelerator),
        "ga-listeners" => Ok(onramp_ops::tags::Tagged::Listener),
        _ => Err(HwError::invalid(
            "resource_type",
            "must be ga-accelerators or ga-listeners",
        )),
    }
}

/// `CreateTags`: add tags (a key already there takes the new value); 204.
pub async fn create(ctx: &HwCtx<'_>, resource_type: &str, id: &str, body: &[u8]) -> HwResult {
    let kind = tagged(resource_type)?;
    let req: super::dto::CreateTags = super::dto::decode(body)?;
    req.check()?;
    let add = super::accelerators::model_tags(Some(&req.tags));
    super::commit(ctx, |cx, st, _| {
        onramp_ops::tags::add(cx, st, kind, id, &add).map(|ops| onramp_ops::Plan::new(ops, ()))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

/// `DeleteTags` (a DELETE with a JSON body): remove tags by key; 204.
pub async fn delete(ctx: &HwCtx<'_>, resource_type: &str, id: &str, body: &[u8]) -> HwResult {
    let kind = tagged(resource_type)?;
    let req: super::dto::DeleteTags = super::dto::decode(body)?;
    req.check()?;
    let keys: Vec<String> = req.tags.into_iter().map(|t| t.key).collect();
    super::commit(ctx, |cx, st, _| {
        onramp_ops::tags::remove(cx, st, kind, id, &keys).map(|ops| onramp_ops::Plan::new(ops, ()))
    })
    .await?;
    Ok((StatusCode::NO_CONTENT, Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged<'a>(name: &'a str, tags: &'a [Tag]) -> Tagged<'a> {
        Tagged {
            id: "x",
            name,
            tags,
        }
    }

    #[test]
    fn filter_needs_every_key_and_any_of_its_values() {
        let t = [
            Tag {
                key: "env".into(),
                value: "prod".into(),
            },
            Tag {
                key: "team".into(),
                value: "net".into(),
            },
        ];
        let r = tagged("web-1", &t);
        let f = |body: &str| TagFilter::parse(body.as_bytes()).unwrap().keeps(&r);
        assert!(f(""));
        assert!(f(r#"{"tags": [{"key": "env", "values": []}]}"#));
        assert!(f(
            r#"{"tags": [{"key": "env", "values": ["dev", "prod"]}, {"key": "team", "values": []}]}"#
        ));
        assert!(!f(r#"{"tags": [{"key": "env", "values": ["dev"]}]}"#));
        assert!(!f(
            r#"{"tags": [{"key": "env", "values": []}, {"key": "owner", "values": []}]}"#
        ));
        assert!(f(
            r#"{"matches": [{"key": "resource_name", "value": "web"}]}"#
        ));
        assert!(!f(
            r#"{"matches": [{"key": "resource_name", "value": "db"}]}"#
        ));
    }

    #[test]
    fn bad_filters_are_refused_with_their_codes() {
        for (body, code) in [
            ("{", "GA.9001"),
            (r#"{"tag": []}"#, "GA.9001"),
            (r#"{"tags": [{"key": "a"}]}"#, "GA.9001"),
            (r#"{"tags": [{"key": "a", "values": "b"}]}"#, "GA.9001"),
            (r#"{"matches": [{"key": "id", "value": "b"}]}"#, "GA.9001"),
            (r#"{"tags": [{"key": "", "values": []}]}"#, "GA.9109"),
            (
                r#"{"tags": [{"key": "a", "values": []}, {"key": "a", "values": []}]}"#,
                "GA.9107",
            ),
        ] {
            let e = TagFilter::parse(body.as_bytes()).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code),
                (400, code),
                "{body}: {}",
                e.message
            );
        }
    }
}
