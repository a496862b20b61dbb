//! The access log: one JSON line per closed TCP connection and per ended UDP flow of a
//! listener with a log tank (`ListenerSpec::access_log`), or of every listener when the operator
//! turned it on for all (`EdgeConfig::access_log_all`, `--access-log PATH`).
//!
//! The forwarding path only builds an `Entry` and `try_send`s it on a bounded channel; a
//! writer thread formats the lines and appends them through a buffer, flushed after each batch
//! and at least every second. When the channel is full the entry is dropped and counted
//! (`onramp_access_log_dropped_total`): a slow disk never blocks a connection.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Entries waiting for the writer before new ones are dropped.
const QUEUE: usize = 8192;

/// Where the lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    File(PathBuf),
}

impl Sink {
    /// `-` is stdout, anything else a file appended to.
    pub fn parse(s: &str) -> Self {
        if s == "-" {
            Sink::Stdout
        } else {
            Sink::File(PathBuf::from(s))
        }
    }
}

/// How a connection or flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Both sides closed (TCP), or the flow ended with its listener (UDP).
    Closed,
    /// Idle past the timeout (TCP) or the flow's idle expiry (UDP).
    Idle,
    /// Refused before any origin took it (limits, access control, no origin).
    Refused,
    /// A reset or another socket error.
    Error,
    /// Its origin was unbound or drained.
    Killed,
    /// A UDP flow shed for a new one when the descriptor budget was full.
    Shed,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Closed => "closed",
            End::Idle => "idle",
            End::Refused => "refused",
            End::Error => "error",
            End::Killed => "killed",
            End::Shed => "shed",
        }
    }
}

/// One line of the access log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub listener: Arc<str>,
    pub protocol: &'static str,
    pub client: SocketAddr,
    pub endpoint: Option<SocketAddr>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub started: Instant,
    pub end: End,
}

/// The sending side, cloned into every listener's tasks.
#[derive(Clone)]
pub struct AccessLog {
    tx: SyncSender<(u64, Entry)>,
    dropped: Arc<AtomicU64>,
    /// Every listener logs, not only those with a log tank.
    all: bool,
}

impl AccessLog {
    /// Open the sink and start its writer thread; `all`: every listener logs.
    pub fn start(sink: &Sink, all: bool, dropped: Arc<AtomicU64>) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = match sink {
            Sink::Stdout => Box::new(std::io::stdout()),
            Sink::File(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
        };
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("onramp-access-log".into())
            .spawn(move || write_loop(rx, out))?;
        Ok(Self { tx, dropped, all })
    }

    /// Whether a listener (`tank`: it has a log tank) writes to this log.
    pub fn covers(&self, tank: bool) -> bool {
        self.all || tank
    }

    /// Queue `e`, or drop and count it when the writer is behind. Never blocks.
    pub fn send(&self, e: Entry) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        match self.tx.try_send((now, e)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Relaxed);
            }
        }
    }
}

fn write_loop(rx: mpsc::Receiver<(u64, Entry)>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::new(out);
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok((t, e)) => {
                let _ = out.write_all(line(t, &e).as_bytes());
                for (t, e) in rx.try_iter().take(QUEUE) {
                    let _ = out.write_all(line(t, &e).as_bytes());
                }
                let _ = out.flush();
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = out.flush();
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = out.flush();
                return;
            }
        }
    }
}

/// A JSON string of `s` (ids and addresses; escaped anyway).
fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `ms` since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

/// The JSON line of `e`, ended at `t` (ms since the epoch).
pub fn line(t: u64, e: &Entry) -> String {
    let endpoint = e
        .endpoint
        .map_or_else(|| "null".to_string(), |a| quoted(&a.to_string()));
    format!(
        "{{\"time\":{},\"listener\":{},\"protocol\":{},\"client\":{},\"endpoint\":{},\"bytes_in\":{},\"bytes_out\":{},\"duration_ms\":{},\"end\":{}}}\n",
        quoted(&rfc3339_ms(t)),
        quoted(&e.listener),
        quoted(e.protocol),
        quoted(&e.client.to_string()),
        endpoint,
        e.bytes_in,
        e.bytes_out,
        e.started.elapsed().as_millis(),
        quoted(e.end.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object() {
        let e = Entry {
            listener: "listener-1".into(),
            protocol: "TCP",
            client: "127.0.0.2:4000".parse().unwrap(),
            endpoint: Some("127.0.0.1:80".parse().unwrap()),
            bytes_in: 5,
            bytes_out: 7,
            started: Instant::now(),
            end: End::Closed,
        };
        let l = line(1_700_000_000_123, &e);
        assert!(
            l.starts_with("{\"time\":\"2023-11-14T22:13:20.123Z\",\"listener\":\"listener-1\""),
            "{l}"
        );
        assert!(l.contains("\"client\":\"127.0.0.2:4000\",\"endpoint\":\"127.0.0.1:80\",\"bytes_in\":5,\"bytes_out\":7"), "{l}");
        assert!(l.ends_with("\"end\":\"closed\"}\n"), "{l}");
        let none = line(
            0,
            &Entry {
                endpoint: None,
                end: End::Refused,
                ..e
            },
        );
        assert!(
            none.contains("\"endpoint\":null") && none.contains("1970-01-01T00:00:00.000Z"),
            "{none}"
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let dir = std::env::temp_dir().join(format!("onramp-al-{}", std::process::id()));
        let dropped = Arc::new(AtomicU64::new(0));
        let log = AccessLog::start(&Sink::File(dir.clone()), false, dropped.clone()).unwrap();
        assert!(
            log.covers(true) && !log.covers(false),
            "only log-tank listeners"
        );
        let e = Entry {
            listener: "l".into(),
            protocol: "UDP",
            client: "127.0.0.1:1".parse().unwrap(),
            endpoint: None,
            bytes_in: 0,
            bytes_out: 0,
            started: Instant::now(),
            end: End::Idle,
        };
        let start = Instant::now();
        for _ in 0..(QUEUE * 4) {
            log.send(e.clone());
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "sending never blocks"
        );
        drop(log);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let n = std::fs::read_to_string(&dir)
                .unwrap_or_default()
                .lines()
                .count() as u64;
            if n + dropped.load(Relaxed) == (QUEUE * 4) as u64 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "every entry is written or counted: {n}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_file(&dir);
    }
}
