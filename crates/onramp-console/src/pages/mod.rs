//! The console's pages, one module per view. What they share: asking the key's policy about a
//! view (with the GAAP operation it corresponds to), and the few lookups every page makes.

pub mod accelerators;
mod bindings;
pub mod listener;
pub mod origins;
pub mod overview;
mod words;

use onramp_core::State;

use crate::auth::Authed;
use crate::Console;

/// Whether the session's key may run `operation` (`gaap:Name`) on `ids`; the refusal's message.
/// `st` is the state the page holds (the caller step reads the same one).
pub fn allowed(
    _c: &Console,
    a: &Authed,
    st: &State,
    operation: &str,
    ids: &[&str],
) -> Result<(), String> {
    a.caller
        .authorize_in(st, operation, ids.iter().copied())
        .map(|_| ())
        .map_err(|d| d.message())
}

/// Whether the key may see the whole account through `operation` (an unfiltered list), or else
/// which resources one by one: what a key limited to some resources sees through the APIs.
pub struct Visible<'a> {
    c: &'a Console,
    a: &'a Authed,
    st: &'a State,
    operation: &'static str,
    all: bool,
}

impl<'a> Visible<'a> {
    pub fn new(c: &'a Console, a: &'a Authed, st: &'a State, operation: &'static str) -> Self {
        let all = allowed(c, a, st, operation, &[]).is_ok();
        Self {
            c,
            a,
            st,
            operation,
            all,
        }
    }

    /// Whether resource `id` (an accelerator, or a listener: checked as its accelerator) shows.
    pub fn shows(&self, id: &str) -> bool {
        self.all || allowed(self.c, self.a, self.st, self.operation, &[id]).is_ok()
    }

    /// Whether anything at all may show (the whole list, or at least one resource).
    pub fn whole(&self) -> bool {
        self.all
    }
}

/// The name of a listener's owner (accelerator or group), for links and headings.
pub fn owner_name(st: &State, account: &str, owner: &onramp_core::Owner) -> String {
    match owner {
        onramp_core::Owner::Accelerator(id) => st
            .accelerator(account, id)
            .map_or_else(|| id.clone(), |a| a.name.clone()),
        onramp_core::Owner::Group(id) => st
            .group(account, id)
            .map_or_else(|| id.clone(), |g| g.name.clone()),
    }
}
