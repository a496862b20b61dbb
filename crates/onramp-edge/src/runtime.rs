//! The edge's tokio runtime, and busy polling.
//!
//! One worker is a current-thread runtime on the edge's own thread, which polls the reactor
//! itself (no work-stealing queues, no hand-off between a driver and a worker thread); more are
//! a multi-thread runtime.
//!
//! **Busy polling** (`EdgeConfig::busy_poll`) keeps the worker from ever sleeping in the kernel
//! while the edge has listeners. It is one task, the spinner, that yields whenever it runs.
//! It needs the current-thread runtime (one worker): on the multi-thread one, work stealing
//! moves spinners between workers, and a worker left without one sleeps until its next event
//! (measured: 13 and 66 sleeps in 10,000 round trips with two workers and two spinners), so
//! that combination is refused.
//! tokio hands a yielded task's waker to the scheduler, which wakes it only after it has run
//! out of ready tasks and polled its driver *without blocking* (`epoll_wait` with a zero
//! timeout, and the timer wheel): with the spinner always pending, the scheduler never parks,
//! and a packet is seen within one turn of that loop instead of after the host wakes a halted
//! CPU. Nothing else changes: the same tasks, the same reactor, the same timers. The price is
//! a whole core, always busy; while the edge has no listener open the spinner waits for the next
//! update to be applied instead, so an unconfigured edge costs nothing.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::status::EdgeStatus;
use crate::{EdgeConfig, Reporter};

/// Turns of the scheduler between two looks at whether the edge still has listeners.
const TURNS_PER_CHECK: u32 = 256;

/// The runtime the edge runs on, as `cfg` asks.
pub fn build(cfg: &EdgeConfig) -> std::io::Result<tokio::runtime::Runtime> {
    if cfg.busy_poll && cfg.worker_threads > 1 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "busy polling runs one spinning edge thread: it needs one worker thread",
        ));
    }
    if cfg.worker_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .thread_name("onramp-edge")
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.worker_threads)
            .thread_name("onramp-edge")
            .enable_all()
            .build()
    }
}

/// Start busy polling on the current runtime (call from inside it) when `cfg` asks for it.
/// Returns the reporter the edge's main loop should use: with busy polling, one that also tells
/// the spinner that the set of listeners may have changed.
pub fn start_spinning(
    cfg: &EdgeConfig,
    status: &Arc<EdgeStatus>,
    reporter: Arc<dyn Reporter>,
) -> Arc<dyn Reporter> {
    if !cfg.busy_poll {
        return reporter;
    }
    let changed = Arc::new(Notify::new());
    tokio::spawn(spin(status.clone(), changed.clone()));
    Arc::new(Telling { reporter, changed })
}

/// A reporter that wakes the spinner after every application.
struct Telling {
    reporter: Arc<dyn Reporter>,
    changed: Arc<Notify>,
}

impl Reporter for Telling {
    fn applied(&self, revision: u64, failures: Vec<(String, String)>) {
        self.reporter.applied(revision, failures);
        self.changed.notify_one();
    }
}

/// The spinner: yields at once each time it runs while the edge has listeners; without any, it
/// waits for the next application of an update.
async fn spin(status: Arc<EdgeStatus>, changed: Arc<Notify>) {
    loop {
        if !status.has_listeners() {
            changed.notified().await;
            continue;
        }
        for _ in 0..TURNS_PER_CHECK {
            tokio::task::yield_now().await;
        }
    }
}
