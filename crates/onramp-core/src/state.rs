//! The whole desired configuration in memory, with the indices the API and the reconciler need.
//!
//! The control plane holds one `State`, rebuilt from the store at start and patched with every
//! committed batch (`apply`), so reads never touch the database. Maps are ordered by ID, so every
//! listing is deterministic.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::*;

mod touched;
pub use touched::Touched;

#[derive(Debug, Clone, Default)]
pub struct State {
    /// Revision of the last applied batch.
    pub revision: u64,
    pub accounts: BTreeMap<String, Account>,
    /// Keyed by secret ID.
    pub keys: BTreeMap<String, ApiKey>,
    pub accelerators: BTreeMap<String, Accelerator>,
    pub groups: BTreeMap<String, AcceleratorGroup>,
    pub listeners: BTreeMap<String, Listener>,
    pub endpoint_groups: BTreeMap<String, EndpointGroup>,
    pub origins: BTreeMap<String, Origin>,
    pub bindings: BTreeMap<String, Binding>,
    pub tasks: BTreeMap<String, Task>,
    pub ip_groups: BTreeMap<String, IpGroup>,
    /// Accelerators and listeners deleted since the start, until the edges applied it.
    pub deleted: crate::tombstones::Tombstones,
    listeners_by_owner: HashMap<String, BTreeSet<String>>,
    bindings_by_listener: HashMap<String, BTreeSet<String>>,
    bindings_by_origin: HashMap<String, BTreeSet<String>>,
    groups_by_listener: HashMap<String, BTreeSet<String>>,
    /// Endpoint group of each group health check, by the check's id.
    group_by_check: HashMap<String, String>,
    /// Log tank id → its listener.
    listener_by_log_tank: HashMap<String, String>,
    members_by_group: HashMap<String, BTreeSet<String>>,
    tasks_by_number: HashMap<u64, String>,
    tasks_by_time: BTreeSet<(Millis, String)>,
    origins_by_project: HashMap<(String, i64), BTreeSet<String>>,
    origins_by_address: HashMap<(String, i64, String), String>,
    listeners_by_ip_group: HashMap<String, BTreeSet<String>>,
    accelerators_by_account: HashMap<String, BTreeSet<String>>,
    ip_groups_by_account: HashMap<String, BTreeSet<String>>,
    bindings_by_group: HashMap<String, BTreeSet<String>>,
    /// What the recent revisions touched (see `touched`).
    touched: touched::TouchedLog,
}

fn index_add(ix: &mut HashMap<String, BTreeSet<String>>, key: &str, id: &str) {
    ix.entry(key.to_string())
        .or_default()
        .insert(id.to_string());
}

fn index_remove(ix: &mut HashMap<String, BTreeSet<String>>, key: &str, id: &str) {
    if let Some(set) = ix.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            ix.remove(key);
        }
    }
}

fn ids<'a>(
    ix: &'a HashMap<String, BTreeSet<String>>,
    key: &str,
) -> impl Iterator<Item = &'a String> {
    ix.get(key).into_iter().flatten()
}

impl State {
    /// Build a state from every stored record.
    pub fn from_records(revision: u64, records: impl IntoIterator<Item = Record>) -> Self {
        let mut s = State::default();
        for r in records {
            s.put(r);
        }
        s.revision = revision;
        s.touched = touched::TouchedLog::starting_at(revision);
        s
    }

    /// Apply one committed batch. Records keep the revision the store gave them; what the batch
    /// touched for the edges is remembered under `revision` (`touched_since`).
    pub fn apply(&mut self, revision: u64, ops: &[Op]) {
        let mut t = Touched::default();
        for op in ops {
            self.touch(op, &mut t);
            match op {
                Op::Put(r) => {
                    let mut r = r.clone();
                    r.set_revision(revision);
                    self.put(r);
                }
                Op::Delete(kind, id) => {
                    self.bury(revision, *kind, id);
                    self.delete(*kind, id);
                }
            }
            self.touch(op, &mut t);
        }
        self.revision = self.revision.max(revision);
        self.touched.push(revision, t);
    }

    /// Keep a deleted accelerator or listener as it was, deleted at `revision`.
    fn bury(&mut self, revision: u64, kind: Kind, id: &str) {
        use crate::tombstones::Gone;
        let gone = match kind {
            Kind::Accelerator => self.accelerators.get(id).cloned().map(|mut a| {
                a.revision = revision;
                Gone::Accelerator(a)
            }),
            Kind::Listener => self.listeners.get(id).cloned().map(|mut l| {
                l.revision = revision;
                Gone::Listener(l)
            }),
            _ => None,
        };
        if let Some(g) = gone {
            self.deleted.bury(id, g);
        }
    }

    fn put(&mut self, r: Record) {
        if matches!(r.kind(), Kind::Accelerator | Kind::Listener) {
            self.deleted.forget(r.id());
        }
        self.delete(r.kind(), r.id());
        match r {
            Record::Account(a) => {
                self.accounts.insert(a.id.clone(), a);
            }
            Record::Key(k) => {
                self.keys.insert(k.secret_id.clone(), k);
            }
            Record::Accelerator(a) => {
                if let Some(g) = &a.group_id {
                    index_add(&mut self.members_by_group, g, &a.id);
                }
                index_add(&mut self.accelerators_by_account, &a.account_id, &a.id);
                self.accelerators.insert(a.id.clone(), a);
            }
            Record::Group(g) => {
                self.groups.insert(g.id.clone(), g);
            }
            Record::Listener(l) => {
                index_add(&mut self.listeners_by_owner, l.owner.id(), &l.id);
                if let Some(a) = &l.access {
                    index_add(&mut self.listeners_by_ip_group, &a.ip_group_id, &l.id);
                }
                if let Some(t) = &l.log_tank {
                    self.listener_by_log_tank.insert(t.id.clone(), l.id.clone());
                }
                self.listeners.insert(l.id.clone(), l);
            }
            Record::EndpointGroup(e) => {
                index_add(&mut self.groups_by_listener, &e.listener_id, &e.id);
                if let Some(h) = &e.health_check {
                    self.group_by_check.insert(h.id.clone(), e.id.clone());
                }
                self.endpoint_groups.insert(e.id.clone(), e);
            }
            Record::Origin(o) => {
                self.origins_by_project
                    .entry((o.account_id.clone(), o.project_id))
                    .or_default()
                    .insert(o.id.clone());
                self.origins_by_address.insert(
                    (o.account_id.clone(), o.project_id, o.address.clone()),
                    o.id.clone(),
                );
                self.origins.insert(o.id.clone(), o);
            }
            Record::Binding(b) => {
                index_add(&mut self.bindings_by_listener, &b.listener_id, &b.id);
                index_add(&mut self.bindings_by_origin, &b.origin_id, &b.id);
                if !b.endpoint_group_id.is_empty() {
                    index_add(&mut self.bindings_by_group, &b.endpoint_group_id, &b.id);
                }
                self.bindings.insert(b.id.clone(), b);
            }
            Record::IpGroup(g) => {
                index_add(&mut self.ip_groups_by_account, &g.account_id, &g.id);
                self.ip_groups.insert(g.id.clone(), g);
            }
            Record::Task(t) => {
                if t.number != 0 {
                    self.tasks_by_number.insert(t.number, t.id.clone());
                }
                self.tasks_by_time.insert((t.created_at, t.id.clone()));
                self.tasks.insert(t.id.clone(), t);
            }
        }
    }

    fn delete(&mut self, kind: Kind, id: &str) {
        match kind {
            Kind::Account => {
                self.accounts.remove(id);
            }
            Kind::Key => {
                self.keys.remove(id);
            }
            Kind::Accelerator => {
                if let Some(a) = self.accelerators.remove(id) {
                    if let Some(g) = &a.group_id {
                        index_remove(&mut self.members_by_group, g, id);
                    }
                    index_remove(&mut self.accelerators_by_account, &a.account_id, id);
                }
            }
            Kind::Group => {
                self.groups.remove(id);
            }
            Kind::Listener => {
                if let Some(l) = self.listeners.remove(id) {
                    index_remove(&mut self.listeners_by_owner, l.owner.id(), id);
                    if let Some(a) = &l.access {
                        index_remove(&mut self.listeners_by_ip_group, &a.ip_group_id, id);
                    }
                    if let Some(t) = &l.log_tank {
                        self.listener_by_log_tank.remove(&t.id);
                    }
                }
            }
            Kind::EndpointGroup => {
                if let Some(e) = self.endpoint_groups.remove(id) {
                    index_remove(&mut self.groups_by_listener, &e.listener_id, id);
                    if let Some(h) = &e.health_check {
                        self.group_by_check.remove(&h.id);
                    }
                }
            }
            Kind::Origin => {
                if let Some(o) = self.origins.remove(id) {
                    let addr_key = (o.account_id.clone(), o.project_id, o.address.clone());
                    if self
                        .origins_by_address
                        .get(&addr_key)
                        .is_some_and(|x| x == id)
                    {
                        self.origins_by_address.remove(&addr_key);
                    }
                    let key = (o.account_id, o.project_id);
                    if let Some(set) = self.origins_by_project.get_mut(&key) {
                        set.remove(id);
                        if set.is_empty() {
                            self.origins_by_project.remove(&key);
                        }
                    }
                }
            }
            Kind::Binding => {
                if let Some(b) = self.bindings.remove(id) {
                    index_remove(&mut self.bindings_by_listener, &b.listener_id, id);
                    index_remove(&mut self.bindings_by_origin, &b.origin_id, id);
                    index_remove(&mut self.bindings_by_group, &b.endpoint_group_id, id);
                }
            }
            Kind::IpGroup => {
                if let Some(g) = self.ip_groups.remove(id) {
                    index_remove(&mut self.ip_groups_by_account, &g.account_id, id);
                }
            }
            Kind::Task => {
                if let Some(t) = self.tasks.remove(id) {
                    self.tasks_by_number.remove(&t.number);
                    self.tasks_by_time.remove(&(t.created_at, t.id));
                }
            }
        }
    }

    /// The account's key by secret ID, if enabled.
    pub fn key(&self, secret_id: &str) -> Option<&ApiKey> {
        self.keys.get(secret_id).filter(|k| k.enabled)
    }

    /// `id` as a resource a request names, if it is one of the account's accelerators, groups,
    /// listeners, endpoint groups (or their health checks), origins or IP address groups, with
    /// the accelerator or group that owns it.
    pub fn named_resource(&self, account: &str, id: &str) -> Option<crate::policy::NamedResource> {
        let named = |owner: Option<&str>| crate::policy::NamedResource {
            id: id.to_string(),
            owner: owner.map(str::to_string),
        };
        if self.accelerator(account, id).is_some()
            || self.group(account, id).is_some()
            || self.origin(account, id).is_some()
            || self.ip_group(account, id).is_some()
        {
            return Some(named(None));
        }
        if let Some(l) = self.listener(account, id) {
            return Some(named(Some(l.owner.id())));
        }
        let eg = self
            .endpoint_group(account, id)
            .or_else(|| self.check_group(account, id))?;
        let owner = self.listeners.get(&eg.listener_id).map(|l| l.owner.id());
        Some(named(owner))
    }

    /// The account's endpoint group whose health check is `check_id`.
    pub fn check_group(&self, account: &str, check_id: &str) -> Option<&EndpointGroup> {
        let group = self.group_by_check.get(check_id)?;
        self.endpoint_group(account, group)
    }

    /// The account's listener whose log tank is `tank_id`.
    pub fn log_tank_listener(&self, account: &str, tank_id: &str) -> Option<&Listener> {
        let listener = self.listener_by_log_tank.get(tank_id)?;
        self.listener(account, listener)
    }

    pub fn accelerator(&self, account: &str, id: &str) -> Option<&Accelerator> {
        self.accelerators
            .get(id)
            .filter(|a| a.account_id == account)
    }

    /// The account's origins, in ID order.
    pub fn origins_of_account<'a>(
        &'a self,
        account: &'a str,
    ) -> impl Iterator<Item = &'a Origin> + 'a {
        self.origins
            .values()
            .filter(move |o| o.account_id == account)
    }

    pub fn group(&self, account: &str, id: &str) -> Option<&AcceleratorGroup> {
        self.groups.get(id).filter(|g| g.account_id == account)
    }

    pub fn listener(&self, account: &str, id: &str) -> Option<&Listener> {
        self.listeners.get(id).filter(|l| l.account_id == account)
    }

    pub fn origin(&self, account: &str, id: &str) -> Option<&Origin> {
        self.origins.get(id).filter(|o| o.account_id == account)
    }

    pub fn endpoint_group(&self, account: &str, id: &str) -> Option<&EndpointGroup> {
        self.endpoint_groups
            .get(id)
            .filter(|e| e.account_id == account)
    }

    pub fn ip_group(&self, account: &str, id: &str) -> Option<&IpGroup> {
        self.ip_groups.get(id).filter(|g| g.account_id == account)
    }

    /// Listeners whose access control uses IP address group `id`, in ID order.
    pub fn listeners_of_ip_group<'a>(
        &'a self,
        id: &str,
    ) -> impl Iterator<Item = &'a Listener> + 'a {
        ids(&self.listeners_by_ip_group, id).filter_map(|id| self.listeners.get(id))
    }

    pub fn task(&self, account: &str, id: &str) -> Option<&Task> {
        self.tasks.get(id).filter(|t| t.account_id == account)
    }

    /// Tasks (of every account) created before `before`, oldest first: found through a time
    /// index, so the cost follows the number of old tasks, not of all tasks.
    pub fn tasks_created_before(&self, before: Millis) -> impl Iterator<Item = &Task> + '_ {
        self.tasks_by_time
            .iter()
            .take_while(move |(at, _)| *at < before)
            .filter_map(|(_, id)| self.tasks.get(id))
    }

    pub fn task_by_number(&self, account: &str, number: u64) -> Option<&Task> {
        let id = self.tasks_by_number.get(&number)?;
        self.task(account, id)
    }

    /// Listeners owned directly by an accelerator or a group, in ID order.
    pub fn listeners_of<'a>(&'a self, owner_id: &str) -> impl Iterator<Item = &'a Listener> + 'a {
        ids(&self.listeners_by_owner, owner_id).filter_map(|id| self.listeners.get(id))
    }

    /// Bindings of a listener, in ID order.
    pub fn bindings_of<'a>(&'a self, listener_id: &str) -> impl Iterator<Item = &'a Binding> + 'a {
        ids(&self.bindings_by_listener, listener_id).filter_map(|id| self.bindings.get(id))
    }

    /// Bindings that use an origin.
    pub fn bindings_of_origin<'a>(
        &'a self,
        origin_id: &str,
    ) -> impl Iterator<Item = &'a Binding> + 'a {
        ids(&self.bindings_by_origin, origin_id).filter_map(|id| self.bindings.get(id))
    }

    pub fn endpoint_groups_of<'a>(
        &'a self,
        listener_id: &str,
    ) -> impl Iterator<Item = &'a EndpointGroup> + 'a {
        ids(&self.groups_by_listener, listener_id).filter_map(|id| self.endpoint_groups.get(id))
    }

    /// The account's accelerators, in ID order.
    pub fn accelerators_of_account<'a>(
        &'a self,
        account: &str,
    ) -> impl Iterator<Item = &'a Accelerator> + 'a {
        ids(&self.accelerators_by_account, account).filter_map(|id| self.accelerators.get(id))
    }

    /// The account's IP address groups, in ID order.
    pub fn ip_groups_of_account<'a>(
        &'a self,
        account: &str,
    ) -> impl Iterator<Item = &'a IpGroup> + 'a {
        ids(&self.ip_groups_by_account, account).filter_map(|id| self.ip_groups.get(id))
    }

    /// Bindings (endpoints) of an endpoint group, in ID order (none for an empty id).
    pub fn bindings_of_group<'a>(
        &'a self,
        group_id: &str,
    ) -> impl Iterator<Item = &'a Binding> + 'a {
        ids(&self.bindings_by_group, group_id).filter_map(|id| self.bindings.get(id))
    }

    /// Accelerators that belong to a group.
    pub fn members_of<'a>(&'a self, group_id: &str) -> impl Iterator<Item = &'a Accelerator> + 'a {
        ids(&self.members_by_group, group_id).filter_map(|id| self.accelerators.get(id))
    }

    /// Listeners served by an accelerator: its own and its group's.
    pub fn served_listeners<'a>(
        &'a self,
        acc: &'a Accelerator,
    ) -> impl Iterator<Item = &'a Listener> + 'a {
        let group = acc.group_id.as_deref().map(|g| self.listeners_of(g));
        self.listeners_of(&acc.id)
            .chain(group.into_iter().flatten())
    }

    /// The listener on `port`/`protocol` directly owned by `owner_id`, if any, other than `except`.
    pub fn port_taken(
        &self,
        owner_id: &str,
        protocol: Protocol,
        range: &PortRange,
        except: Option<&str>,
    ) -> Option<&Listener> {
        self.listeners_of(owner_id).find(|l| {
            l.protocol == protocol
                && Some(l.id.as_str()) != except
                && l.ports.iter().any(|r| r.overlaps(range))
        })
    }

    /// Whether any binding of the accelerator's (or group's) listeners exists.
    pub fn has_bindings(&self, owner_id: &str) -> bool {
        self.listeners_of(owner_id)
            .any(|l| self.bindings_of(&l.id).next().is_some())
    }

    /// The account's origins in one project, in ID order.
    pub fn origins_in_project<'a>(
        &'a self,
        account: &str,
        project: i64,
    ) -> impl Iterator<Item = &'a Origin> + 'a {
        self.origins_by_project
            .get(&(account.to_string(), project))
            .into_iter()
            .flatten()
            .filter_map(|id| self.origins.get(id))
    }

    /// The project of a listener's owner (proxy or group).
    pub fn listener_project(&self, l: &Listener) -> i64 {
        match &l.owner {
            Owner::Accelerator(a) => self.accelerators.get(a).map(|a| a.project_id).unwrap_or(0),
            Owner::Group(g) => self.groups.get(g).map(|g| g.project_id).unwrap_or(0),
        }
    }

    /// The account's origin with this address in this project.
    pub fn origin_by_address(&self, account: &str, project: i64, address: &str) -> Option<&Origin> {
        let id =
            self.origins_by_address
                .get(&(account.to_string(), project, address.to_string()))?;
        self.origins.get(id)
    }
}

#[cfg(test)]
mod tests;
