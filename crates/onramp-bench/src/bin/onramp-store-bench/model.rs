//! The store the measurement fills: one account, accelerators of 10 listeners each, `per`
//! origins per listener, each bound to its listener; and the write measured at every size (what
//! a `BindListenerRealServers` of one new origin commits: the origin, its binding, the listener
//! touched, the task).

use onramp_core::*;

/// How big the store is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub listeners: usize,
    /// Origins (and bindings) per listener.
    pub per: usize,
}

impl Size {
    pub fn origins(&self) -> usize {
        self.listeners * self.per
    }

    pub fn records(&self) -> usize {
        1 + self.listeners.div_ceil(10) + self.listeners + 2 * self.origins()
    }
}

pub const ACCOUNT: &str = "1300000001";

fn address(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn listener(i: usize, name: &str) -> Record {
    Record::Listener(Listener {
        id: format!("listener-{i:08}"),
        account_id: ACCOUNT.into(),
        owner: Owner::Accelerator(format!("link-{:08}", i / 10)),
        protocol: Protocol::Tcp,
        ports: vec![PortRange::single(1000 + (i % 10) as u16)],
        name: name.into(),
        ..Default::default()
    })
}

fn origin(id: String, project: i64, address: String) -> Record {
    Record::Origin(Origin {
        id,
        account_id: ACCOUNT.into(),
        project_id: project,
        name: "origin".into(),
        address,
        ..Default::default()
    })
}

fn binding(id: String, listener: usize, origin: String) -> Record {
    Record::Binding(Binding {
        id,
        account_id: ACCOUNT.into(),
        listener_id: format!("listener-{listener:08}"),
        origin_id: origin,
        port: 8080,
        weight: 10,
        ..Default::default()
    })
}

/// Every record of the store, in chunks of about `chunk` ops (so neither side holds it twice).
pub fn chunks(size: Size, chunk: usize) -> impl Iterator<Item = Vec<Op>> {
    let head = std::iter::once(Record::Account(Account {
        id: ACCOUNT.into(),
        ..Default::default()
    }))
    .chain((0..size.listeners.div_ceil(10)).map(|a| {
        Record::Accelerator(Accelerator {
            id: format!("link-{a:08}"),
            account_id: ACCOUNT.into(),
            name: "accelerator".into(),
            enabled: true,
            ..Default::default()
        })
    }))
    .chain((0..size.listeners).map(|i| listener(i, "listener")));
    let tail = (0..size.origins()).flat_map(move |j| {
        [
            origin(format!("rs-{j:08}"), 0, address(j)),
            binding(format!("b-{j:08}"), j / size.per, format!("rs-{j:08}")),
        ]
    });
    let mut all = head.chain(tail).map(Op::Put).peekable();
    std::iter::from_fn(move || {
        let c: Vec<Op> = all.by_ref().take(chunk).collect();
        (!c.is_empty()).then_some(c)
    })
}

/// The `n`-th measured write on a store of `size`: a new origin (project 1, so it never
/// clashes), its binding to an existing listener, that listener renamed, the request's task.
pub fn write(size: Size, n: usize) -> Vec<Op> {
    let l = (n * 7919) % size.listeners;
    let origin_id = format!("rs-new-{n:08}");
    vec![
        Op::Put(origin(origin_id.clone(), 1, address(n))),
        Op::Put(binding(format!("b-new-{n:08}"), l, origin_id)),
        Op::Put(listener(l, &format!("touched-{n}"))),
        Op::Put(Record::Task(Task {
            id: format!("task-{n:08}"),
            account_id: ACCOUNT.into(),
            action: "BindListenerRealServers".into(),
            created_at: n as i64,
            ..Default::default()
        })),
    ]
}
