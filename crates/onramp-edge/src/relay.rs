//! Bidirectional TCP relay: half-close aware, idle timeout, shared bandwidth limits, counters.
//!
//! Small exchanges are read into the worker thread's scratch buffer and written on at once, with
//! no `.await` in between; only what the other side cannot take yet is copied out and written
//! when it can. So an idle proxied connection holds no buffer, and a moving one holds none
//! unless its peer is slow (see ARCHITECTURE.md for the memory figures).

use std::cell::RefCell;
use std::io::{self, Read};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use onramp_balancer::bucket::TokenBucket;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::access_log::End;
use crate::backend::now_ms;
use crate::budget::Budget;
use crate::metrics::Counters;
use crate::splice;

const BUF_SIZE: usize = 16 * 1024;
/// A spliced chunk smaller than this turns the direction back to buffered copies.
const SMALL: usize = 4 * 1024;

thread_local! {
    /// The copy buffer of this worker thread: filled and emptied without an `.await` between.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; BUF_SIZE].into_boxed_slice());
}

/// What limits and counts one direction.
pub struct Limits<'a> {
    pub buckets: [&'a TokenBucket; 2],
    pub counter: &'a AtomicU64,
    /// This connection's own byte count, kept only for a listener with an access log.
    pub conn: Option<&'a AtomicU64>,
}

/// What both directions of a connection share (one reference in each direction's future).
struct Shared<'a> {
    /// When bytes last moved, either way.
    last: AtomicU64,
    /// Directions that reached end of stream.
    ends: AtomicU8,
    /// Where a splice pipe takes its two descriptors.
    budget: &'a Arc<Budget>,
}

pub(crate) async fn write_all(to: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        to.writable().await?;
        match to.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Charge `n` bytes at `at_ms` to the limited buckets: how long to wait (ns) before going on.
fn charge(limits: &Limits<'_>, n: u64, at_ms: u64) -> u64 {
    let now = at_ms.saturating_mul(1_000_000);
    let mut wait = 0;
    for b in limits.buckets.iter().filter(|b| b.rate() > 0) {
        if let Err(w) = b.take(n, now) {
            wait = wait.max(w);
        }
    }
    wait
}

async fn write_owned(to: &TcpStream, rest: Vec<u8>) -> io::Result<()> {
    write_all(to, &rest).await
}

/// One chunk moved: its size, or end of stream.
enum Moved {
    Bytes(usize),
    Eof,
    Nothing,
}

/// Read once from a readable socket. A short read (fewer bytes than asked) took everything
/// the socket held at that moment, so its readiness is cleared then and there: the next wait
/// goes straight to the reactor instead of first paying for a read that returns `EAGAIN`.
/// (Bytes arriving after the read raise a new readiness event, which the clear does not undo:
/// tokio clears only the readiness it saw before the read.)
pub(crate) fn read_once(from: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut short = None;
    let r = from.try_io(Interest::READABLE, || {
        let n = (&*socket2::SockRef::from(from)).read(buf)?;
        if n > 0 && n < buf.len() {
            short = Some(n);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match (r, short) {
        (Err(e), Some(n)) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
        (r, _) => r,
    }
}

/// Move one buffered chunk `from` → `to`, without waiting: read into the thread's scratch
/// buffer and write it on at once. What `to` cannot take now is returned, for the caller to
/// write after waiting.
fn copy_now(from: &TcpStream, to: &TcpStream) -> io::Result<(Moved, Option<Vec<u8>>)> {
    SCRATCH.with_borrow_mut(|buf| {
        let n = match read_once(from, buf) {
            Ok(0) => return Ok((Moved::Eof, None)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((Moved::Nothing, None)),
            Err(e) => return Err(e),
        };
        let mut done = 0;
        while done < n {
            match to.try_write(&buf[done..n]) {
                Ok(m) => done += m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok((Moved::Bytes(n), (done < n).then(|| buf[done..n].to_vec())))
    })
}

/// The most one chunk may move: a bandwidth-limited flow moves at most one burst at a time, so
/// the limit holds over short intervals too.
fn chunk_limit(limits: &Limits<'_>) -> usize {
    limits
        .buckets
        .iter()
        .filter(|b| b.rate() > 0)
        .map(|b| b.burst() as usize)
        .min()
        .unwrap_or(splice::CHUNK)
}

/// Move one chunk through a pipe; `None` when no pipe can be had.
async fn splice_chunk(
    from: &TcpStream,
    to: &TcpStream,
    max: usize,
    budget: &Arc<Budget>,
) -> Option<io::Result<Moved>> {
    let pipe = splice::take(budget)?;
    let r = match splice::fill(from, &pipe, max) {
        Ok(0) => Ok(Moved::Eof),
        Ok(n) => splice::drain(&pipe, to, n).await.map(|()| Moved::Bytes(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Moved::Nothing),
        Err(e) => Err(e),
    };
    if r.is_ok() {
        splice::give(pipe);
    }
    Some(r)
}

/// Copy `from` → `to` until EOF, then half-close `to`. Small exchanges go through a buffer;
/// once a read fills the buffer the direction switches to splice until the flow turns small.
/// `shared.ends` counts the directions that reached end of stream: the first one half-closes its
/// writer; the second does not, since both sockets are closed next and `close` sends the FIN
/// (the socket has nothing unread left, so it is a FIN, not a reset).
async fn pump(
    from: &TcpStream,
    to: &TcpStream,
    limits: Limits<'_>,
    shared: &Shared<'_>,
) -> io::Result<()> {
    let mut bulk = false;
    loop {
        // `poll_read_ready` keeps the waker in the socket's own reader slot (only this pump
        // reads `from`), where `readable()` would carry a 150-byte waiter in every idle
        // connection's future.
        std::future::poll_fn(|cx| from.poll_read_ready(cx)).await?;
        // Everything that waits inside a move is boxed: an idle connection then holds only the
        // readiness wait, not the state of a move that is not happening (memory per idle
        // connection).
        let (moved, rest) = match bulk {
            true => {
                match Box::pin(splice_chunk(from, to, chunk_limit(&limits), shared.budget)).await {
                    Some(r) => (r?, None),
                    None => copy_now(from, to)?,
                }
            }
            false => copy_now(from, to)?,
        };
        if let Some(rest) = rest {
            Box::pin(write_owned(to, rest)).await?;
        }
        let n = match moved {
            Moved::Eof => {
                if shared.ends.fetch_add(1, Relaxed) == 0 {
                    let _ = socket2::SockRef::from(to).shutdown(Shutdown::Write);
                }
                return Ok(());
            }
            Moved::Nothing => continue,
            Moved::Bytes(n) => n,
        };
        bulk = if bulk { n >= SMALL } else { n >= BUF_SIZE };
        let now = now_ms();
        shared.last.store(now, Relaxed);
        Counters::add(limits.counter, n as u64);
        if let Some(c) = limits.conn {
            c.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        let wait = charge(&limits, n as u64, now);
        if wait > 0 {
            Box::pin(tokio::time::sleep(Duration::from_nanos(wait))).await;
        }
    }
}

async fn idle_watch(last: &AtomicU64, idle: Duration) {
    let idle_ms = idle.as_millis() as u64;
    loop {
        let since = now_ms().saturating_sub(last.load(Relaxed));
        if since >= idle_ms {
            return;
        }
        tokio::time::sleep(Duration::from_millis(idle_ms - since)).await;
    }
}

async fn until_killed(mut killed: watch::Receiver<bool>) {
    while !*killed.borrow_and_update() {
        if killed.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Relay both ways until both sides closed, either side fails (a reset ends the whole
/// connection), the connection idles out, or the origin is killed; returns how it ended.
pub async fn relay(
    client: &TcpStream,
    origin: &TcpStream,
    up: Limits<'_>,
    down: Limits<'_>,
    idle: Duration,
    killed: watch::Receiver<bool>,
    budget: &Arc<Budget>,
) -> End {
    let shared = Shared {
        last: AtomicU64::new(now_ms()),
        ends: AtomicU8::new(0),
        budget,
    };
    let both = async {
        let a = pump(client, origin, up, &shared);
        let b = pump(origin, client, down, &shared);
        tokio::pin!(a, b);
        let (mut a_done, mut b_done) = (false, false);
        while !(a_done && b_done) {
            let r = tokio::select! {
                r = &mut a, if !a_done => { a_done = true; r }
                r = &mut b, if !b_done => { b_done = true; r }
            };
            if let Err(e) = r {
                tracing::debug!(error = %e, "relay ended with an error");
                // Make the other peer see a reset too rather than a clean end.
                let _ = socket2::SockRef::from(client).set_linger(Some(Duration::ZERO));
                return End::Error;
            }
        }
        End::Closed
    };
    tokio::select! {
        end = both => end,
        _ = idle_watch(&shared.last, idle) => {
            tracing::debug!("idle timeout");
            End::Idle
        }
        _ = until_killed(killed) => {
            tracing::debug!("origin drained: closing");
            End::Killed
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Memory per idle proxied connection is mostly the relay's future: keep it small (the
    /// chunk and sleep futures are boxed and the read wait uses the socket's own waker slot, so
    /// an idle connection does not carry them; 928 bytes since both directions share one
    /// reference to the activity stamp, the end count and the budget).
    #[tokio::test]
    async fn an_idle_relay_stays_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        let bucket = TokenBucket::new(0, 0);
        let c = AtomicU64::new(0);
        let budget = Arc::new(Budget::default());
        let limits = || Limits {
            buckets: [&bucket, &bucket],
            counter: &c,
            conn: None,
        };
        let r = relay(
            &a,
            &b,
            limits(),
            limits(),
            Duration::from_secs(1),
            watch::channel(false).1,
            &budget,
        );
        let size = std::mem::size_of_val(&r);
        eprintln!("idle relay future: {size} bytes");
        assert!(size <= 1000, "the relay future grew to {size} bytes");
    }
}
