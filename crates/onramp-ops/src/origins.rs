//! Origins (GAAP real servers, Huawei endpoint addresses, BM backends): register, rename, remove.
//!
//! Rules: an origin's address is unique within a project of an account (checked here to name the
//! offending address, enforced by the store against racing writers); an origin still bound to a
//! listener cannot be removed.

use onramp_core::{Dialect, Kind, Op, Origin, OriginKind, Record, State, Tag};

use crate::ids::{Ids, Short};
use crate::{Cx, OpError, Res};

/// What a new set of origins shares.
#[derive(Debug, Clone)]
pub struct NewOrigins<'a> {
    pub project_id: i64,
    pub name: &'a str,
    pub tags: &'a [Tag],
    pub created_by: Dialect,
    /// Normalised addresses (`validate::origin_address`), each once.
    pub addresses: &'a [(String, OriginKind)],
}

/// A new origin's ID and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub id: String,
    pub address: String,
}

/// One origin per address; refused if an address is already registered in the project.
/// Returns the ops and the new origins in order.
pub fn add(
    cx: &Cx,
    st: &State,
    ids: &mut Ids,
    req: &NewOrigins<'_>,
) -> Result<(Vec<Op>, Vec<Registered>), OpError> {
    let mut ops = Vec::with_capacity(req.addresses.len());
    let mut out = Vec::with_capacity(req.addresses.len());
    for (address, kind) in req.addresses {
        if st
            .origin_by_address(&cx.account, req.project_id, address)
            .is_some()
        {
            return Err(OpError::DuplicateAddress {
                address: address.clone(),
                project: req.project_id,
            });
        }
        let id = ids.short(st, Short::Origin);
        out.push(Registered {
            id: id.clone(),
            address: address.clone(),
        });
        ops.push(Op::Put(Record::Origin(Origin {
            id,
            account_id: cx.account.clone(),
            created_by: req.created_by,
            project_id: req.project_id,
            name: req.name.to_string(),
            address: address.clone(),
            kind: *kind,
            tags: req.tags.to_vec(),
            created_at: cx.now,
            updated_at: cx.now,
            ..Default::default()
        })));
    }
    Ok((ops, out))
}

/// The caller's origin `id`.
pub fn find<'a>(cx: &Cx, st: &'a State, id: &str) -> Result<&'a Origin, OpError> {
    st.origin(&cx.account, id)
        .ok_or_else(|| OpError::NotFound(Res::Origin, id.to_string()))
}

pub fn rename(cx: &Cx, st: &State, id: &str, name: &str) -> Result<Vec<Op>, OpError> {
    let mut o = find(cx, st, id)?.clone();
    o.name = name.to_string();
    o.updated_at = cx.now;
    Ok(vec![Op::Put(Record::Origin(o))])
}

/// Remove origins `ids` (all or none): every one must exist, then none may be bound.
pub fn remove(cx: &Cx, st: &State, ids: &[String]) -> Result<Vec<Op>, OpError> {
    for id in ids {
        find(cx, st, id)?;
    }
    for id in ids {
        if let Some(b) = st.bindings_of_origin(id).next() {
            return Err(OpError::StillBound {
                res: Res::Origin,
                id: id.clone(),
                listener: b.listener_id.clone(),
            });
        }
    }
    Ok(ids
        .iter()
        .map(|id| Op::Delete(Kind::Origin, id.clone()))
        .collect())
}
