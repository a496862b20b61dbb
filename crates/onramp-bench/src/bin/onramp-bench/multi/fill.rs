//! The store of the many-machine scenario, written straight into PostgreSQL (through the
//! store, as a control node would commit it): accelerators of 10 TCP listeners each, `per`
//! origins per listener (10.x addresses, data only: no check, no traffic, never connected),
//! each bound to its listener. The first `served` listeners are open in region r1, the next
//! `served` in r2; the rest belong to closed accelerators (stored, served by no edge), since an
//! edge here may open at most 20,000 sockets.

use onramp_core::*;
use onramp_store::Store;

pub const R1: &str = "r1";
pub const R2: &str = "r2";
/// First listener port of each region's served block (below the ephemeral range).
pub const FIRST_PORT: u16 = 20_000;
/// Ops per commit while filling.
const CHUNK: usize = 10_000;

#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub listeners: usize,
    pub per: usize,
    /// Listeners served in each region.
    pub served: usize,
}

impl Layout {
    pub fn origins(&self) -> usize {
        self.listeners * self.per
    }

    fn region(&self, accelerator: usize) -> (&'static str, bool) {
        let first = accelerator * 10;
        match first {
            f if f < self.served => (R1, true),
            f if f < 2 * self.served => (R2, true),
            _ if accelerator % 2 == 0 => (R1, false),
            _ => (R2, false),
        }
    }

    fn port(&self, listener: usize) -> u16 {
        if listener < 2 * self.served {
            FIRST_PORT + (listener % self.served) as u16
        } else {
            1000 + (listener % 10) as u16
        }
    }
}

fn address(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn records(l: Layout, account: String) -> impl Iterator<Item = Record> {
    let acc = account.clone();
    let accelerators = (0..l.listeners.div_ceil(10)).map(move |a| {
        let (region, open) = l.region(a);
        Record::Accelerator(Accelerator {
            id: format!("link-{a:08}"),
            account_id: acc.clone(),
            name: "bench".into(),
            access_region: region.into(),
            origin_region: region.into(),
            enabled: open,
            bandwidth_mbps: 0,
            ..Default::default()
        })
    });
    let acc = account.clone();
    let listeners = (0..l.listeners).map(move |i| {
        Record::Listener(Listener {
            id: format!("listener-{i:08}"),
            account_id: acc.clone(),
            owner: Owner::Accelerator(format!("link-{:08}", i / 10)),
            protocol: Protocol::Tcp,
            ports: vec![PortRange::single(l.port(i))],
            name: "bench".into(),
            health: HealthCheck {
                enabled: false,
                ..HealthCheck::default()
            },
            ..Default::default()
        })
    });
    let bound = (0..l.origins()).flat_map(move |j| {
        let origin = format!("rs-{j:08}");
        [
            Record::Origin(Origin {
                id: origin.clone(),
                account_id: account.clone(),
                name: "bench".into(),
                address: address(j),
                ..Default::default()
            }),
            Record::Binding(Binding {
                id: format!("b-{j:08}"),
                account_id: account.clone(),
                listener_id: format!("listener-{:08}", j / l.per),
                origin_id: origin,
                port: 8080,
                weight: 10,
                ..Default::default()
            }),
        ]
    });
    accelerators.chain(listeners).chain(bound)
}

/// Commit the whole layout for `account`; returns the number of records.
pub async fn fill(store: &dyn Store, l: Layout, account: &str) -> anyhow::Result<usize> {
    let mut all = records(l, account.to_string()).map(Op::Put).peekable();
    let mut n = 0;
    while all.peek().is_some() {
        let chunk: Vec<Op> = all.by_ref().take(CHUNK).collect();
        n += chunk.len();
        store.commit(&chunk).await?;
    }
    Ok(n)
}
