//! Key permissions: a small policy document of statements (effect, actions, resources), evaluated
//! the same way for every dialect.
//!
//! - An operation is named `<dialect>:<Name>`: `gaap:CreateProxy`, `huawei:ShowListener`,
//!   `bm:DescribeBmListeners`. An action pattern without a colon matches that name in any dialect
//!   (so `--actions DescribeProxies` allows GAAP's `DescribeProxies` and nothing else).
//! - A request names resources: the ids of the account's accelerators, groups, listeners and origins
//!   that appear in it, each with the accelerator (or group) that owns it. A resource pattern
//!   matches a named id or its owner. An operation that names no resource (a creation, an
//!   unfiltered list) is matched only by a pattern that matches the empty id, i.e. `*`.
//! - Patterns take `*` (any run of characters) and `?` (one character).
//! - Deny wins: a request is allowed when an `allow` statement covers the operation and every named
//!   resource, and no `deny` statement covers the operation and any named resource.
//! - A key with no policy may do everything its account may.

use serde::{Deserialize, Serialize};

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    #[serde(alias = "Allow")]
    Allow,
    #[serde(alias = "Deny")]
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    #[serde(alias = "Effect")]
    pub effect: Effect,
    #[serde(alias = "Action", alias = "Actions")]
    pub actions: Vec<String>,
    #[serde(alias = "Resource", alias = "Resources", default = "everything")]
    pub resources: Vec<String>,
}

fn everything() -> Vec<String> {
    vec!["*".into()]
}

/// A key's policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(alias = "Statement", alias = "Statements")]
    pub statements: Vec<Statement>,
}

/// A resource a request names: its id and the accelerator or group that owns it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedResource {
    pub id: String,
    pub owner: Option<String>,
}

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy is not valid JSON of the expected shape: {0}")]
    Shape(String),
    #[error("the policy has no statement")]
    Empty,
    #[error("statement {0} has no action")]
    NoAction(usize),
    #[error("statement {0} has no resource")]
    NoResource(usize),
    #[error("statement {0}: pattern `{1}` is empty, too long or has control characters")]
    BadPattern(usize, String),
}

impl Policy {
    /// Parse and check a policy document.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let p: Policy =
            serde_json::from_str(text).map_err(|e| PolicyError::Shape(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    /// The policy that allows exactly `actions` on every resource (the `--actions` form).
    pub fn allow_actions(actions: &[String]) -> Self {
        Self {
            statements: vec![Statement {
                effect: Effect::Allow,
                actions: actions.to_vec(),
                resources: everything(),
            }],
        }
    }

    fn check(&self) -> Result<(), PolicyError> {
        if self.statements.is_empty() {
            return Err(PolicyError::Empty);
        }
        for (i, s) in self.statements.iter().enumerate() {
            if s.actions.is_empty() {
                return Err(PolicyError::NoAction(i));
            }
            if s.resources.is_empty() {
                return Err(PolicyError::NoResource(i));
            }
            for p in s.actions.iter().chain(&s.resources) {
                if p.is_empty() || p.len() > 256 || p.chars().any(char::is_control) {
                    return Err(PolicyError::BadPattern(i, p.clone()));
                }
            }
        }
        Ok(())
    }

    /// Whether `operation` (`dialect:Name`) may run on `resources`.
    pub fn allows(&self, operation: &str, resources: &[NamedResource]) -> bool {
        let hit = |s: &Statement| match resources {
            [] => covers_nothing_named(s),
            rs => rs.iter().any(|r| covers(s, r)),
        };
        if self.matching(Effect::Deny, operation).any(hit) {
            return false;
        }
        let allow: Vec<&Statement> = self.matching(Effect::Allow, operation).collect();
        match resources {
            [] => allow.iter().any(|s| covers_nothing_named(s)),
            rs => rs.iter().all(|r| allow.iter().any(|s| covers(s, r))),
        }
    }

    /// Whether some `allow` statement names `operation` (whatever its resources).
    pub fn names_operation(&self, operation: &str) -> bool {
        self.matching(Effect::Allow, operation).next().is_some()
    }

    fn matching<'a>(
        &'a self,
        effect: Effect,
        operation: &'a str,
    ) -> impl Iterator<Item = &'a Statement> + 'a {
        self.statements.iter().filter(move |s| {
            s.effect == effect && s.actions.iter().any(|a| action_matches(a, operation))
        })
    }
}

/// Whether `s` covers an operation that names no resource.
fn covers_nothing_named(s: &Statement) -> bool {
    s.resources.iter().any(|p| wildcard(p, ""))
}

fn covers(s: &Statement, r: &NamedResource) -> bool {
    s.resources
        .iter()
        .any(|p| wildcard(p, &r.id) || r.owner.as_deref().is_some_and(|o| wildcard(p, o)))
}

/// `pattern` against `dialect:Name`; a pattern without `:` ignores the dialect.
fn action_matches(pattern: &str, operation: &str) -> bool {
    if pattern.contains(':') {
        return wildcard(pattern, operation);
    }
    let name = operation.split_once(':').map_or(operation, |(_, n)| n);
    wildcard(pattern, name)
}

/// Glob match with `*` and `?`, linear in the text (greedy with one backtrack point).
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn res(id: &str, owner: Option<&str>) -> NamedResource {
        NamedResource {
            id: id.into(),
            owner: owner.map(Into::into),
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", ""));
        assert!(wildcard("*", "link-1"));
        assert!(wildcard("link-*", "link-abc"));
        assert!(!wildcard("link-*", ""));
        assert!(wildcard("l?nk-*c", "link-abc"));
        assert!(!wildcard("link-a", "link-ab"));
        assert!(wildcard("a*b*c", "axxbyyc"));
        assert!(!wildcard("a*b*c", "axxbyy"));
        assert!(wildcard("gaap:Describe*", "gaap:DescribeProxies"));
    }

    #[test]
    fn bare_action_names_match_in_any_dialect_only_that_name() {
        let p = Policy::allow_actions(&["DescribeProxies".into(), "DescribeProxyDetail".into()]);
        assert!(p.allows("gaap:DescribeProxies", &[]));
        assert!(!p.allows("gaap:CreateProxy", &[]));
        assert!(!p.allows("huawei:ShowListener", &[res("listener-1", Some("link-1"))]));
        assert!(!p.allows("bm:DescribeBmListeners", &[]));
    }

    #[test]
    fn resources_limit_by_id_or_owner() {
        let p = Policy::parse(
            r#"{"statements":[{"effect":"allow","actions":["gaap:*","huawei:Show*"],"resources":["link-a*"]}]}"#,
        )
        .unwrap();
        assert!(p.allows("gaap:DescribeProxyDetail", &[res("link-abc", None)]));
        assert!(p.allows(
            "gaap:DescribeTCPListeners",
            &[res("listener-1", Some("link-abc"))]
        ));
        assert!(!p.allows("gaap:DescribeProxyDetail", &[res("link-bcd", None)]));
        // Every named resource must be covered.
        assert!(!p.allows(
            "gaap:DescribeProxies",
            &[res("link-abc", None), res("link-bcd", None)]
        ));
        // No named resource: only `*` covers it.
        assert!(!p.allows("gaap:DescribeProxies", &[]));
        assert!(!p.allows("huawei:ListListeners", &[res("link-abc", None)]));
    }

    #[test]
    fn deny_wins() {
        let p = Policy::parse(
            r#"{"Statement":[{"Effect":"Allow","Action":["*"],"Resource":["*"]},
                             {"Effect":"Deny","Action":["gaap:Delete*"],"Resource":["link-prod*"]}]}"#,
        )
        .unwrap();
        assert!(p.allows("gaap:DeleteProxy", &[res("link-dev1", None)]));
        assert!(!p.allows("gaap:DeleteProxy", &[res("link-prod1", None)]));
        assert!(!p.allows(
            "gaap:DeleteListeners",
            &[res("listener-9", Some("link-prod2"))]
        ));
        assert!(p.allows("gaap:CreateProxy", &[]));
    }

    #[test]
    fn refuses_bad_documents() {
        assert!(matches!(Policy::parse("{"), Err(PolicyError::Shape(_))));
        assert_eq!(
            Policy::parse(r#"{"statements":[]}"#),
            Err(PolicyError::Empty)
        );
        assert_eq!(
            Policy::parse(r#"{"statements":[{"effect":"allow","actions":[]}]}"#),
            Err(PolicyError::NoAction(0))
        );
        assert!(matches!(
            Policy::parse(r#"{"statements":[{"effect":"allow","actions":["a\u0000"]}]}"#),
            Err(PolicyError::BadPattern(0, _))
        ));
        assert!(matches!(
            Policy::parse(r#"{"statements":[{"effect":"maybe","actions":["*"]}]}"#),
            Err(PolicyError::Shape(_))
        ));
        assert!(matches!(
            Policy::parse(r#"{"statements":[{"effect":"allow","actions":["*"],"extra":1}]}"#),
            Err(PolicyError::Shape(_))
        ));
    }

    /// A reference matcher: the textbook recursive definition.
    fn reference(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
            (Some('?'), Some(_)) => reference(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => reference(&p[1..], &t[1..]),
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn wildcard_agrees_with_reference(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(wildcard(&p, &t), reference(&pc, &tc));
        }

        #[test]
        fn parse_never_panics(s in ".{0,200}") {
            let _ = Policy::parse(&s);
        }
    }
}
