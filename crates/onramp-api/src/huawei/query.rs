//! Query strings of the Huawei list operations, typed and checked (400 `GA.9001` naming the
//! parameter), and marker paging over a stable order (created_at, then id).
//!
//! `limit` is 1–2000 (default 500); `marker` is the id of the last item of the previous page
//! (1–36 characters, and it must be in the list); `page_reverse=true` pages backwards from the
//! marker: the items before it. `page_info.next_marker` is the id to pass next, `null` on the last
//! page. Parameters an operation does not take are ignored, as the SDK never sends them.

use serde_json::{json, Value};

use super::views::ConfigStatus;
use super::HwError;

/// The query of a list operation. Empty filter values count as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub limit: usize,
    pub marker: Option<String>,
    pub reverse: bool,
    pub id: Option<String>,
    pub name: Option<String>,
    pub status: Option<ConfigStatus>,
    pub accelerator_id: Option<String>,
    pub listener_id: Option<String>,
    pub endpoint_group_id: Option<String>,
    pub enterprise_project_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_ids: Vec<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            limit: 500,
            marker: None,
            reverse: false,
            id: None,
            name: None,
            status: None,
            accelerator_id: None,
            listener_id: None,
            endpoint_group_id: None,
            enterprise_project_id: None,
            resource_type: None,
            resource_ids: Vec::new(),
        }
    }
}

/// A filter value of at most `max` characters; empty = no filter.
fn bounded(name: &str, v: String, max: usize) -> Result<Option<String>, HwError> {
    if v.chars().count() > max {
        return Err(HwError::invalid(
            name,
            format!("must be 0-{max} characters"),
        ));
    }
    Ok((!v.is_empty()).then_some(v))
}

impl ListQuery {
    /// Parse `raw`, taking only the parameters in `takes`.
    pub fn parse(raw: &str, takes: &[&str]) -> Result<Self, HwError> {
        let mut q = ListQuery::default();
        for (k, v) in form_urlencoded::parse(raw.as_bytes()).into_owned() {
            if !takes.contains(&k.as_str()) {
                continue;
            }
            match k.as_str() {
                "limit" => {
                    q.limit = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=2000).contains(n))
                        .ok_or_else(|| HwError::invalid("limit", "must be an integer 1-2000"))?
                }
                "marker" => {
                    if v.is_empty() || v.chars().count() > 36 {
                        return Err(HwError::invalid("marker", "must be 1-36 characters"));
                    }
                    q.marker = Some(v)
                }
                "page_reverse" => {
                    q.reverse = match v.as_str() {
                        "true" | "True" => true,
                        "false" | "False" => false,
                        _ => return Err(HwError::invalid("page_reverse", "must be true or false")),
                    }
                }
                "status" => {
                    q.status = Some(ConfigStatus::parse(&v).ok_or_else(|| {
                        HwError::invalid(
                            "status",
                            "must be one of ACTIVE, PENDING, ERROR, DELETING",
                        )
                    })?)
                }
                "resource_type" => {
                    if v != "LISTENER" {
                        return Err(HwError::invalid("resource_type", "must be LISTENER"));
                    }
                    q.resource_type = Some(v)
                }
                "resource_ids" => q.resource_ids.extend(bounded("resource_ids", v, 36)?),
                "id" => q.id = bounded("id", v, 36)?,
                "name" => q.name = bounded("name", v, 64)?,
                "accelerator_id" => q.accelerator_id = bounded("accelerator_id", v, 36)?,
                "listener_id" => q.listener_id = bounded("listener_id", v, 36)?,
                "endpoint_group_id" => q.endpoint_group_id = bounded("endpoint_group_id", v, 36)?,
                "enterprise_project_id" => {
                    q.enterprise_project_id = bounded("enterprise_project_id", v, 36)?
                }
                _ => {}
            }
        }
        Ok(q)
    }

    /// Whether `id` passes the `id` filter.
    pub fn id_ok(&self, id: &str) -> bool {
        self.id.as_deref().is_none_or(|v| v == id)
    }

    /// Whether `name` passes the `name` filter (exact match).
    pub fn name_ok(&self, name: &str) -> bool {
        self.name.as_deref().is_none_or(|v| v == name)
    }

    /// Whether `status` passes the `status` filter.
    pub fn status_ok(&self, status: ConfigStatus) -> bool {
        self.status.is_none_or(|v| v == status)
    }

    /// The page of `items` (already in list order) this query asks for, and the next marker.
    pub fn page<'a, T>(
        &self,
        items: &'a [T],
        id: impl Fn(&T) -> &str,
    ) -> Result<(&'a [T], Option<String>), HwError> {
        let window = match self.marker.as_deref() {
            None => items,
            Some(m) => {
                let i = items.iter().position(|x| id(x) == m).ok_or_else(|| {
                    HwError::invalid("marker", format!("{m} is not an item of this list"))
                })?;
                if self.reverse {
                    &items[..i]
                } else {
                    &items[i + 1..]
                }
            }
        };
        let page = if self.reverse {
            &window[window.len().saturating_sub(self.limit)..]
        } else {
            &window[..window.len().min(self.limit)]
        };
        let next = match (window.len() > page.len(), self.reverse) {
            (false, _) => None,
            (true, false) => page.last().map(|x| id(x).to_string()),
            (true, true) => page.first().map(|x| id(x).to_string()),
        };
        Ok((page, next))
    }
}

/// A list answer: `{key: items, "page_info": {"next_marker", "current_count"}}`.
pub fn listed(key: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let count = items.len();
    json!({key: items, "page_info": {"next_marker": next, "current_count": count}})
}

/// `limit` (1–1000, default 1000) and `offset` (≥ 0, default 0) of the tag operations.
pub fn limit_offset(raw: &str) -> Result<(usize, usize), HwError> {
    let (mut limit, mut offset) = (1000, 0);
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        match &*k {
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| HwError::invalid("limit", "must be an integer 1-1000"))?
            }
            "offset" => {
                offset = v
                    .parse()
                    .map_err(|_| HwError::invalid("offset", "must be an integer 0 or more"))?
            }
            _ => {}
        }
    }
    Ok((limit, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["limit", "marker", "page_reverse", "id", "name", "status"];

    fn code(r: Result<ListQuery, HwError>) -> (u16, &'static str, String) {
        let e = r.unwrap_err();
        (e.status.as_u16(), e.code, e.message)
    }

    #[test]
    fn bad_values_are_ga_9001_naming_the_parameter() {
        for (raw, field) in [
            ("limit=0", "limit"),
            ("limit=2001", "limit"),
            ("limit=x", "limit"),
            ("marker=", "marker"),
            (&format!("marker={}", "m".repeat(37)), "marker"),
            ("page_reverse=yes", "page_reverse"),
            ("status=RUNNING", "status"),
            (&format!("name={}", "n".repeat(65)), "name"),
            (&format!("id={}", "i".repeat(37)), "id"),
        ] {
            let (status, c, message) = code(ListQuery::parse(raw, ALL));
            assert_eq!((status, c), (400, "GA.9001"), "{raw}");
            assert!(message.contains(field), "{raw}: {message}");
        }
    }

    #[test]
    fn parses_what_the_sdk_sends_and_ignores_the_rest() {
        let q = ListQuery::parse(
            "id=&limit=10&name=a%20b&page_reverse=true&status=ACTIVE&accelerator_id=x",
            ALL,
        )
        .unwrap();
        assert_eq!((q.limit, q.reverse, q.id), (10, true, None));
        assert_eq!(q.name.as_deref(), Some("a b"));
        assert_eq!(q.status, Some(ConfigStatus::Active));
        assert_eq!(q.accelerator_id, None, "not taken by this operation");
        let q = ListQuery::parse("resource_ids=a&resource_ids=b", &["resource_ids"]).unwrap();
        assert_eq!(q.resource_ids, ["a", "b"]);
        assert_eq!(ListQuery::parse("", ALL).unwrap(), ListQuery::default());
    }

    #[test]
    fn pages_forward_and_backward_from_a_marker() {
        let items: Vec<String> = (0..5).map(|i| format!("i{i}")).collect();
        let q = |raw: &str| ListQuery::parse(raw, ALL).unwrap();
        let (p, next) = q("limit=2").page(&items, |s| s).unwrap();
        assert_eq!((p, next.as_deref()), (&items[..2], Some("i1")));
        let (p, next) = q("limit=2&marker=i3").page(&items, |s| s).unwrap();
        assert_eq!((p, next), (&items[4..], None));
        let (p, next) = q("limit=2&marker=i3&page_reverse=true")
            .page(&items, |s| s)
            .unwrap();
        assert_eq!((p, next.as_deref()), (&items[1..3], Some("i1")));
        let (p, next) = q("limit=2000").page(&items, |s| s).unwrap();
        assert_eq!((p.len(), next), (5, None));
        let e = q("marker=gone").page(&items, |s| s).unwrap_err();
        assert_eq!((e.code, e.message.contains("marker")), ("GA.9001", true));
    }

    #[test]
    fn tag_paging_bounds() {
        assert_eq!(limit_offset("").unwrap(), (1000, 0));
        assert_eq!(limit_offset("limit=5&offset=10").unwrap(), (5, 10));
        for raw in ["limit=0", "limit=1001", "offset=-1", "offset=x"] {
            let e = limit_offset(raw).unwrap_err();
            assert_eq!(e.code, "GA.9001", "{raw}");
        }
    }
}
