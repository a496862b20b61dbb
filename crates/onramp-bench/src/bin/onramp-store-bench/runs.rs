//! The measurements: `state` (in memory only) and `sqlite` / `postgres` (a real store under a
//! `Control`). Latencies are per write, p50 and p99 over the samples.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp_bench::procfs::rss_bytes;
use onramp_bench::stats::percentile_sorted;
use onramp_control::Control;
use onramp_core::{Op, State};
use onramp_store::Store;
use onramp_store_sql::SqlStore;
use serde_json::{json, Value};

use crate::model::{self, Size};

/// Ops per commit while filling a store.
const FILL_CHUNK: usize = 20_000;
/// Writes committed before measuring.
const WARM_UP: usize = 50;

/// p50 and p99 of `samples`, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Lat {
    p50: f64,
    p99: f64,
}

impl Lat {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        Lat {
            p50: percentile_sorted(&us, 50.0),
            p99: percentile_sorted(&us, 99.0),
        }
    }

    fn ms(&self) -> String {
        format!("p50 {:.3} ms, p99 {:.3} ms", self.p50 / 1e3, self.p99 / 1e3)
    }

    fn json(&self) -> Value {
        json!({"p50_us": self.p50, "p99_us": self.p99})
    }
}

fn rss_mib() -> f64 {
    rss_bytes(std::process::id()).unwrap_or(0) as f64 / (1 << 20) as f64
}

pub struct StateFigures {
    build: Duration,
    rss_mib: f64,
    apply: Lat,
}

impl StateFigures {
    pub fn line(&self) -> String {
        format!(
            "State: built in {:.2} s, RSS {:.0} MiB; State::apply of one write: {:.1} µs p50, {:.1} µs p99",
            self.build.as_secs_f64(),
            self.rss_mib,
            self.apply.p50,
            self.apply.p99
        )
    }

    pub fn json(&self) -> Value {
        json!({"build_s": self.build.as_secs_f64(), "rss_mib": self.rss_mib, "apply": self.apply.json()})
    }
}

/// Build the state of `size` batch by batch, then time `samples` applies of one write.
pub fn state(size: Size, samples: usize) -> StateFigures {
    let t = Instant::now();
    let mut st = State::default();
    for (rev, chunk) in model::chunks(size, FILL_CHUNK).enumerate() {
        st.apply(rev as u64 + 1, &chunk);
    }
    let build = t.elapsed();
    let rss_mib = rss_mib();
    let base = st.revision;
    let writes: Vec<Vec<Op>> = (0..samples).map(|n| model::write(size, n)).collect();
    let mut times = Vec::with_capacity(samples);
    for (n, ops) in writes.iter().enumerate() {
        let t = Instant::now();
        st.apply(base + 1 + n as u64, ops);
        times.push(t.elapsed());
    }
    StateFigures {
        build,
        rss_mib,
        apply: Lat::of(times),
    }
}

pub struct StoreFigures {
    backend: &'static str,
    fill: Duration,
    commit: Lat,
    load: Duration,
    rss_mib: f64,
    write: Lat,
    follow: Lat,
    changes: Lat,
}

impl StoreFigures {
    pub fn lines(&self) -> String {
        [
            format!(
                "{}: filled in {:.1} s; Store::commit of one write: {}",
                self.backend,
                self.fill.as_secs_f64(),
                self.commit.ms()
            ),
            format!(
                "{}: full load (Control::open) {:.2} s, RSS {:.0} MiB; Control::write: {}",
                self.backend,
                self.load.as_secs_f64(),
                self.rss_mib,
                self.write.ms()
            ),
            format!(
                "{}: following another process's write (Control::refresh): {}; Store::changes_since (one batch): {}",
                self.backend,
                self.follow.ms(),
                self.changes.ms()
            ),
        ]
        .join("\n")
    }

    pub fn json(&self) -> Value {
        json!({
            "backend": self.backend,
            "fill_s": self.fill.as_secs_f64(),
            "commit": self.commit.json(),
            "full_load_s": self.load.as_secs_f64(),
            "rss_mib_with_state": self.rss_mib,
            "control_write": self.write.json(),
            "follow_one_write": self.follow.json(),
            "changes_since_one_batch": self.changes.json(),
        })
    }
}

/// Measure on `store` (empty) and `other` (a second handle on the same store: another process).
async fn measure(
    store: Arc<SqlStore>,
    other: Arc<SqlStore>,
    size: Size,
    samples: usize,
) -> anyhow::Result<StoreFigures> {
    let t = Instant::now();
    for chunk in model::chunks(size, FILL_CHUNK) {
        store.commit(&chunk).await?;
    }
    let fill = t.elapsed();
    // The fill's batches would only make the log large: followers start from the full store.
    store.forget_changes(store.revision().await?).await?;
    let mut n = 0;
    let mut next = || {
        n += 1;
        model::write(size, n)
    };
    // Warm up: the first commits after a large fill also checkpoint its WAL (SQLite).
    for _ in 0..WARM_UP {
        store.commit(&next()).await?;
    }
    let mut commit = Vec::with_capacity(samples);
    for _ in 0..samples {
        let ops = next();
        let t = Instant::now();
        store.commit(&ops).await?;
        commit.push(t.elapsed());
    }
    let t = Instant::now();
    let control = Control::open(store.clone()).await?;
    let load = t.elapsed();
    let rss_mib = rss_mib();
    let (mut write, mut follow, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples {
        let ops = next();
        let t = Instant::now();
        control
            .write(|_| Ok::<_, ()>((ops, ())))
            .await
            .map_err(|e| anyhow::anyhow!("write: {e}"))?;
        write.push(t.elapsed());
        let rev = other.commit(&next()).await?;
        let t = Instant::now();
        control.refresh().await?;
        follow.push(t.elapsed());
        anyhow::ensure!(control.committed_revision() == rev, "followed to {rev}");
        let t = Instant::now();
        other.changes_since(rev - 1).await?;
        changes.push(t.elapsed());
    }
    Ok(StoreFigures {
        backend: store.backend(),
        fill,
        commit: Lat::of(commit),
        load,
        rss_mib,
        write: Lat::of(write),
        follow: Lat::of(follow),
        changes: Lat::of(changes),
    })
}

pub async fn sqlite(size: Size, samples: usize, dir: &Path) -> anyhow::Result<StoreFigures> {
    let path = dir.join(format!("store-{}.db", size.listeners));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = Arc::new(SqlStore::sqlite(&path).await?);
    let other = Arc::new(SqlStore::sqlite(&path).await?);
    let figures = measure(store.clone(), other.clone(), size, samples).await;
    store.close().await;
    other.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    figures
}

pub async fn postgres(size: Size, samples: usize) -> anyhow::Result<Option<StoreFigures>> {
    let Some(pg) = onramp_store_sql::testing::pg().await else {
        return Ok(None);
    };
    let store = Arc::new(pg.store().await);
    let other = Arc::new(pg.open().await);
    let figures = measure(store.clone(), other.clone(), size, samples).await;
    store.close().await;
    other.close().await;
    pg.drop_schema().await;
    figures.map(Some)
}
