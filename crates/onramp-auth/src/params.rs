//! Decoding of flattened request parameters (`Ports.0=80`,
//! `RealServerBindSet.0.RealServerId=rs-1`) used by the GET and form
//! dialects into the nested JSON shape of the JSON dialect.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Maximum number of dot-separated segments in one key.
pub const MAX_DEPTH: usize = 8;
/// Maximum number of parameters accepted in one request.
pub const MAX_PARAMS: usize = 4096;
/// Maximum length of one key, in bytes.
pub const MAX_KEY_LEN: usize = 256;

/// Why a flattened parameter set could not be decoded. Each variant names
/// the offending key or key prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The key is empty, too long, or has an empty segment (`a..b`).
    #[error("invalid parameter name `{0}`")]
    InvalidKey(String),
    /// The key has more than [`MAX_DEPTH`] segments.
    #[error("parameter `{0}` is nested too deeply")]
    TooDeep(String),
    /// More than [`MAX_PARAMS`] parameters.
    #[error("too many parameters (limit {MAX_PARAMS})")]
    TooMany,
    /// A numeric segment does not fit an index.
    #[error("parameter `{0}` has an out-of-range index")]
    BadIndex(String),
    /// The same key was given twice.
    #[error("parameter `{0}` is given more than once")]
    Duplicate(String),
    /// The key is used both as a value and as a container, or both as an
    /// array and as an object.
    #[error("parameter `{0}` is used with conflicting shapes")]
    Conflict(String),
}

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Name(&'a str),
    Index(u64),
}

enum Node {
    Leaf(String),
    Obj(BTreeMap<String, Node>),
    Arr(BTreeMap<u64, Node>),
}

impl Node {
    fn container_for(seg: Seg) -> Node {
        match seg {
            Seg::Name(_) => Node::Obj(BTreeMap::new()),
            Seg::Index(_) => Node::Arr(BTreeMap::new()),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Node::Leaf(s) => Value::String(s),
            Node::Obj(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, v.into_value()))
                    .collect::<Map<String, Value>>(),
            ),
            Node::Arr(m) => Value::Array(m.into_values().map(Node::into_value).collect()),
        }
    }
}

/// Turn flattened `(key, value)` pairs into a JSON object.
///
/// Keys are split on `.`; an all-digit segment (after the first) indexes an
/// array, any other segment names an object field. Arrays are ordered by
/// numeric index and compacted, so sparse or 1-based indices are accepted.
/// Leaves stay JSON strings.
pub fn unflatten(pairs: &[(String, String)]) -> Result<Value, ParamError> {
    if pairs.len() > MAX_PARAMS {
        return Err(ParamError::TooMany);
    }
    let mut root = Node::Obj(BTreeMap::new());
    for (key, value) in pairs {
        let segs = segments(key)?;
        insert(&mut root, &segs, 0, key, value)?;
    }
    Ok(root.into_value())
}

/// Split and classify the segments of `key`.
fn segments(key: &str) -> Result<Vec<Seg<'_>>, ParamError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ParamError::InvalidKey(shorten(key)));
    }
    let mut out = Vec::new();
    for (i, part) in key.split('.').enumerate() {
        if part.is_empty() {
            return Err(ParamError::InvalidKey(shorten(key)));
        }
        if i >= MAX_DEPTH {
            return Err(ParamError::TooDeep(shorten(key)));
        }
        let numeric = i > 0 && part.bytes().all(|b| b.is_ascii_digit());
        out.push(if numeric {
            Seg::Index(
                part.parse()
                    .map_err(|_| ParamError::BadIndex(shorten(key)))?,
            )
        } else {
            Seg::Name(part)
        });
    }
    Ok(out)
}

/// Insert `value` at `segs[at..]` below `node`.
fn insert(
    node: &mut Node,
    segs: &[Seg],
    at: usize,
    key: &str,
    value: &str,
) -> Result<(), ParamError> {
    let (Some(seg), next) = (segs.get(at), segs.get(at + 1).copied()) else {
        return Err(ParamError::InvalidKey(shorten(key)));
    };
    let slot = match (node, *seg) {
        (Node::Obj(m), Seg::Name(n)) => m.entry(n.to_string()),
        (Node::Arr(m), Seg::Index(i)) => {
            return descend(m.entry(i), next, segs, at, key, value);
        }
        _ => return Err(ParamError::Conflict(prefix(key, at))),
    };
    descend(slot, next, segs, at, key, value)
}

/// Fill or walk into the child `slot` for `segs[at]`.
fn descend<K: Ord>(
    slot: std::collections::btree_map::Entry<'_, K, Node>,
    next: Option<Seg>,
    segs: &[Seg],
    at: usize,
    key: &str,
    value: &str,
) -> Result<(), ParamError> {
    use std::collections::btree_map::Entry;
    match (slot, next) {
        (Entry::Vacant(v), None) => {
            v.insert(Node::Leaf(value.to_string()));
            Ok(())
        }
        (Entry::Vacant(v), Some(n)) => {
            let child = v.insert(Node::container_for(n));
            insert(child, segs, at + 1, key, value)
        }
        (Entry::Occupied(o), None) => match o.get() {
            Node::Leaf(_) => Err(ParamError::Duplicate(shorten(key))),
            _ => Err(ParamError::Conflict(prefix(key, at + 1))),
        },
        (Entry::Occupied(o), Some(_)) => match o.into_mut() {
            Node::Leaf(_) => Err(ParamError::Conflict(prefix(key, at + 1))),
            child => insert(child, segs, at + 1, key, value),
        },
    }
}

/// The first `n` segments of `key`, for error messages.
fn prefix(key: &str, n: usize) -> String {
    shorten(&key.split('.').take(n).collect::<Vec<_>>().join("."))
}

/// Bound client-controlled text copied into error messages.
fn shorten(s: &str) -> String {
    s.chars().take(MAX_KEY_LEN).collect()
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
