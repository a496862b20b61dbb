//! Tags of accelerators and listeners, changed on their own (Huawei `CreateTags` /
//! `DeleteTags`; GAAP keeps its tags in the resource's own writes).
//!
//! Rules: adding a key that exists replaces its value; removing a key that is not there changes
//! nothing; a resource holds at most `MAX_TAGS` tags.

use onramp_core::{Op, Record, State, Tag};

use crate::{accelerators, listeners, Cx, OpError};

/// At most this many tags on one resource.
pub const MAX_TAGS: usize = 20;

/// The kinds of resources that carry tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagged {
    Accelerator,
    Listener,
}

/// `tags` with `add` put in (a key that exists takes the new value).
fn merged(tags: &[Tag], add: &[Tag]) -> Result<Vec<Tag>, OpError> {
    let mut out = tags.to_vec();
    for t in add {
        match out.iter_mut().find(|o| o.key == t.key) {
            Some(o) => o.value.clone_from(&t.value),
            None => out.push(t.clone()),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(OpError::Quota {
            what: "tags",
            limit: MAX_TAGS,
            given: out.len(),
        });
    }
    Ok(out)
}

/// Change the tags of the caller's resource `id` with `f`.
fn change(
    cx: &Cx,
    st: &State,
    kind: Tagged,
    id: &str,
    f: impl FnOnce(&[Tag]) -> Result<Vec<Tag>, OpError>,
) -> Result<Vec<Op>, OpError> {
    let record = match kind {
        Tagged::Accelerator => {
            let mut a = accelerators::find(cx, st, id)?.clone();
            a.tags = f(&a.tags)?;
            a.updated_at = cx.now;
            Record::Accelerator(a)
        }
        Tagged::Listener => {
            let mut l = listeners::find(cx, st, id, None)?.clone();
            l.tags = f(&l.tags)?;
            l.updated_at = cx.now;
            Record::Listener(l)
        }
    };
    Ok(vec![Op::Put(record)])
}

/// Add (or replace) `tags` on resource `id`.
pub fn add(cx: &Cx, st: &State, kind: Tagged, id: &str, tags: &[Tag]) -> Result<Vec<Op>, OpError> {
    change(cx, st, kind, id, |have| merged(have, tags))
}

/// Remove the tags with `keys` from resource `id`.
pub fn remove(
    cx: &Cx,
    st: &State,
    kind: Tagged,
    id: &str,
    keys: &[String],
) -> Result<Vec<Op>, OpError> {
    change(cx, st, kind, id, |have| {
        Ok(have
            .iter()
            .filter(|t| !keys.contains(&t.key))
            .cloned()
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn adding_replaces_a_key_and_the_count_is_bounded() {
        let have = vec![tag("env", "dev")];
        let out = merged(&have, &[tag("env", "prod"), tag("team", "")]).unwrap();
        assert_eq!(out, vec![tag("env", "prod"), tag("team", "")]);
        let many: Vec<Tag> = (0..MAX_TAGS).map(|i| tag(&format!("k{i}"), "")).collect();
        assert!(matches!(
            merged(&have, &many),
            Err(OpError::Quota { what: "tags", .. })
        ));
    }
}
