//! The edge's reports: every second, to every control node it knows (so each node knows every
//! edge first-hand), the applied revision and the listeners that could not open, and what
//! changed since that node's last answer in health per binding and per-minute series. A node
//! that does not know the edge (409: it restarted) gets a registration, then everything.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use onramp_edge::{EdgeStatus, Reporter};

use crate::client::{ClientError, ControlClient};
use crate::wire::{FailureDto, HealthDto, MinuteDto, Register, Registered, ReportDto, PREFIX};

/// How long a report may take.
const REPORT_DEADLINE: Duration = Duration::from_secs(10);

/// What the edge applied, as its `Reporter` last said.
#[derive(Default)]
pub struct Applied {
    inner: Mutex<(u64, Vec<(String, String)>)>,
    changed: tokio::sync::Notify,
}

impl Applied {
    pub fn get(&self) -> (u64, Vec<(String, String)>) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn revision(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).0
    }
}

impl Reporter for Applied {
    fn applied(&self, revision: u64, failures: Vec<(String, String)>) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let moved = g.0 != revision || g.1 != failures;
        *g = (revision, failures);
        drop(g);
        if moved {
            self.changed.notify_waiters();
        }
    }
}

/// Who this edge is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub region: String,
    pub addresses: Vec<String>,
}

impl Identity {
    pub fn registration(&self, applied: Option<u64>) -> Register {
        Register {
            name: self.name.clone(),
            region: self.region.clone(),
            addresses: self.addresses.clone(),
            applied,
        }
    }
}

/// Register with `client`.
pub async fn register(
    client: &ControlClient,
    me: &Identity,
    applied: Option<u64>,
) -> Result<Registered, ClientError> {
    client
        .post(
            &format!("{PREFIX}/register"),
            &me.registration(applied),
            REPORT_DEADLINE,
        )
        .await
}

/// Log a failure of a control node clearly: a refused token as an error with what to check.
pub fn log_failure(e: &ClientError) {
    match e {
        ClientError::Unauthorized(url, why) => tracing::error!(
            control = %url,
            "the control node refused this edge's token ({why}); check ONRAMP_EDGE_TOKEN or --edge-token-file"
        ),
        e => tracing::warn!(error = %e, "control node unavailable; retrying"),
    }
}

fn minute_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    onramp_core::health::minute_of(now)
}

/// A report, and what the node has once it answers it: the health and health-series
/// changes up to these sequence numbers (`None`: as before).
struct Built {
    report: ReportDto,
    acks: Option<(u64, u64)>,
}

/// What one control node has acknowledged.
#[derive(Default)]
struct Cursor {
    /// It has had a first, full report since this edge registered with it.
    registered: bool,
    /// It has the health changes numbered below this one (`EdgeStatus::health_since`).
    health: u64,
    /// It has the health-series points numbered below this one.
    points: u64,
}

impl Cursor {
    /// The report to send now and what it acknowledges once answered. Health and health
    /// series go as what changed since the numbers this node acknowledged (everything in a
    /// first report): the cost follows the changes, not the bindings (at 100,000s of bindings
    /// per edge, a pass over all of them for every report to every node was most of the edge's
    /// steady work).
    fn build(&mut self, me: &Identity, status: &EdgeStatus, applied: &Applied) -> Built {
        let full = !self.registered;
        let h = status.health_since((!full).then_some(self.health));
        let health = h
            .changed
            .iter()
            .map(|(k, v)| HealthDto::new(k, v))
            .collect();
        // Everything kept on a first report; afterwards the minute before this one too (it
        // may have grown at its end).
        let from = if full { 0 } else { minute_now() - 60 };
        let series = status
            .series_since(from)
            .into_iter()
            .map(|(l, ms)| (l, ms.iter().map(MinuteDto::from).collect()))
            .collect();
        let (binding_changes, next) = status.binding_points_since((!full).then_some(self.points));
        let report = ReportDto {
            health_full: h.full,
            health,
            health_forget: h.gone,
            series,
            binding_changes,
            ..light_report(me, status, applied)
        };
        Built {
            report,
            acks: Some((h.next, next)),
        }
    }
}

/// A report of the applied revision and failures alone: it changes nothing the node has of
/// health and series.
fn light_built(me: &Identity, status: &EdgeStatus, applied: &Applied) -> Built {
    Built {
        report: light_report(me, status, applied),
        acks: None,
    }
}

/// The applied revision, the failures and the open listeners, with no health or series.
fn light_report(me: &Identity, status: &EdgeStatus, applied: &Applied) -> ReportDto {
    let (revision, failures) = applied.get();
    ReportDto {
        name: me.name.clone(),
        applied: revision,
        listeners_open: status.info().listeners_open,
        failures: failures
            .into_iter()
            .map(|(listener, error)| FailureDto { listener, error })
            .collect(),
        health_full: false,
        health: Vec::new(),
        health_forget: Vec::new(),
        series: Vec::new(),
        binding_changes: Vec::new(),
        started: status.started(),
    }
}

/// Report to `client` every `every` (and at once when the applied revision moves) until the
/// process ends.
pub async fn run(
    client: Arc<ControlClient>,
    me: Identity,
    status: Arc<EdgeStatus>,
    applied: Arc<Applied>,
    every: Duration,
) {
    let mut cursor = Cursor::default();
    let mut failing = false;
    let mut woken = false;
    let mut last_full = std::time::Instant::now();
    let (mut period, mut longest) = (every, every);
    loop {
        if !cursor.registered {
            match register(&client, &me, Some(applied.revision())).await {
                Ok(r) => {
                    cursor = Cursor::default();
                    // Reports may thin out down to a third of the time after which the node
                    // would show this edge lost.
                    longest = every.max(Duration::from_millis(r.lost_after_ms) / 3);
                }
                Err(e) => {
                    note_failure(&mut failing, &e);
                    woken = pause(&applied, every.max(Duration::from_secs(1))).await;
                    continue;
                }
            }
        }
        // Right after an application only what statuses wait for (the applied revision and the
        // failures) goes at once; health and series follow with the next periodic report. At
        // 100,000s of bindings a full build after every change, to every control node, competed
        // with the change itself for the CPU.
        let light = woken && cursor.registered && last_full.elapsed() < period;
        let t0 = std::time::Instant::now();
        let built = match light {
            true => light_built(&me, &status, &applied),
            false => {
                last_full = t0;
                cursor.build(&me, &status, &applied)
            }
        };
        let sent: Result<serde_json::Value, _> = client
            .post(&format!("{PREFIX}/report"), &built.report, REPORT_DEADLINE)
            .await;
        if !light {
            // A full report costs in proportion to the bindings; it may take at most about 5 %
            // of the time (at 150,000 bindings per edge, one a second per control node kept a
            // shared core busy), but comes at least every `longest`.
            period = every.max(t0.elapsed() * 20).min(longest);
        }
        match sent {
            Ok(_) => {
                if failing {
                    tracing::info!(control = %client.url(), "reporting again");
                    failing = false;
                }
                cursor.registered = true;
                if let Some((health, points)) = built.acks {
                    cursor.health = health;
                    cursor.points = points;
                }
            }
            Err(ClientError::NotRegistered(_)) => cursor.registered = false,
            Err(e) => {
                note_failure(&mut failing, &e);
                // The node may come back without what it had: start over with it.
                cursor.registered = false;
            }
        }
        // The next full report is due `period` after this one; an application before then
        // ends the wait early for a light report.
        let due = period.saturating_sub(last_full.elapsed());
        woken = pause(&applied, due.max(Duration::from_millis(10))).await;
    }
}

fn note_failure(failing: &mut bool, e: &ClientError) {
    if !*failing {
        log_failure(e);
        *failing = true;
    }
}

/// Wait `every`, or less when the edge applies something (statuses wait for that report);
/// true when an application ended the wait.
async fn pause(applied: &Applied, every: Duration) -> bool {
    tokio::time::timeout(every, applied.changed.notified())
        .await
        .is_ok()
}
