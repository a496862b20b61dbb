//! One HTTP/1.1 connection: hyper serves it (half-close supported, so a client that shuts
//! down its write side after the request still gets the answer), and a watchdog closes it when
//! a request (head and body) takes longer than the header timeout to arrive, or no request comes
//! for the idle timeout.
//!
//! hyper's own `header_read_timeout` also runs while a keep-alive connection waits for its next
//! request, which would make the idle timeout the header timeout, and does not cover the body;
//! so the two clocks are kept here instead: the phase changes when bytes arrive (`Tracked`), when
//! the request body has been read to its end (`Watched`) and when the router answers.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Body as _, Bytes, Frame, Incoming, SizeHint};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

use super::limits::{ConnStats, Expiry};

/// The most a connection buffers of what the client sends (a request head must fit; bodies are
/// streamed through it to the handler, which bounds them by `--max-body`). hyper's default is
/// ~400 KiB; our heads are a few KiB.
const READ_BUFFER_MAX: usize = 64 * 1024;

/// The two clocks of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first byte of a request (or the accept, for the first one, TLS included) to
    /// the end of its body (or the answer, for a handler that does not read it).
    pub header: Duration,
    /// From an answer to the first byte of the next request.
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request (head, then body) since then.
    Head(Instant),
    /// This many requests, read to their end, are with the router.
    Busy(usize),
    /// Answered; waiting for the next request since then.
    Idle(Instant),
}

/// Where a connection is, shared by the IO wrapper, the service and the watchdog.
pub struct Clock {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Clock {
    /// A connection accepted at `at`: its first request head is due by `at + header`.
    pub fn new(at: Instant) -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Head(at)),
            changed: Notify::new(),
        })
    }

    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut p = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let next = f(*p);
        if next != *p {
            *p = next;
            self.changed.notify_one();
        }
    }

    fn on_read(&self) {
        self.update(|p| match p {
            Phase::Idle(_) => Phase::Head(Instant::now()),
            p => p,
        });
    }

    fn begin(&self) {
        self.update(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
    }

    /// The router answered (whether or not it read the body).
    fn end(&self) {
        self.update(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }

    /// When the current phase expires, and as what; `None` while a request is being handled.
    fn deadline(&self, t: &Timeouts) -> Option<(Instant, Expiry)> {
        match *self.phase.lock().unwrap_or_else(|e| e.into_inner()) {
            Phase::Head(since) => Some((since + t.header, Expiry::Header)),
            Phase::Idle(since) => Some((since + t.idle, Expiry::Idle)),
            Phase::Busy(_) => None,
        }
    }
}

/// Calls `Clock::end` when the router's future finishes or is dropped.
struct EndGuard(Arc<Clock>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// A request body that starts the `Busy` phase once it has been read to its end.
struct Watched {
    inner: Incoming,
    clock: Option<Arc<Clock>>,
}

impl hyper::body::Body for Watched {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        let ended = match &r {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            if let Some(clock) = self.clock.take() {
                clock.begin();
            }
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's IO, noting arriving bytes on the clock.
pub struct Tracked<I> {
    io: I,
    clock: Arc<Clock>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.on_read();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serve `io` until the client closes, a clock expires, or shutdown (then the request under way
/// is answered and the connection closed). Every request carries `ConnectInfo(peer)`.
pub async fn serve<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    clock: Arc<Clock>,
    t: Timeouts,
    stats: &ConnStats,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc_clock = clock.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ConnectInfo(peer));
        // The header clock runs on until the body has been read.
        let clock = if body.is_end_stream() {
            svc_clock.begin();
            None
        } else {
            Some(svc_clock.clone())
        };
        let req = Request::from_parts(parts, axum::body::Body::new(Watched { inner: body, clock }));
        let end = EndGuard(svc_clock.clone());
        let app = app.clone();
        async move {
            let resp = app.oneshot(req).await;
            drop(end);
            resp
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .half_close(true)
        .keep_alive(true)
        .max_buf_size(READ_BUFFER_MAX)
        .header_read_timeout(None);
    let io = TokioIo::new(Tracked {
        io,
        clock: clock.clone(),
    });
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        let changed = clock.changed.notified();
        let deadline = clock.deadline(&t);
        let expiry = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
                }
                return;
            }
            () = expiry => {
                if let Some((at, why)) = clock.deadline(&t) {
                    if at <= Instant::now() {
                        stats.expired(why);
                        tracing::debug!(%peer, ?why, "HTTP connection timed out");
                        return;
                    }
                }
            }
            () = changed => {}
            _ = shutdown.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_deadlines() {
        let t = Timeouts {
            header: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        };
        let start = Instant::now();
        let c = Clock::new(start);
        assert_eq!(c.deadline(&t), Some((start + t.header, Expiry::Header)));
        c.on_read(); // bytes of the head do not restart the header clock
        assert_eq!(c.deadline(&t).unwrap().0, start + t.header);
        c.begin();
        assert_eq!(c.deadline(&t), None, "no clock while the router works");
        c.begin();
        c.end();
        assert_eq!(c.deadline(&t), None, "one request still with the router");
        let before_end = Instant::now();
        c.end();
        let (at, why) = c.deadline(&t).unwrap();
        assert_eq!(why, Expiry::Idle);
        assert!(at >= before_end + t.idle && at <= Instant::now() + t.idle);
        c.on_read(); // first byte of the next request starts its header clock
        let (at, why) = c.deadline(&t).unwrap();
        assert_eq!(why, Expiry::Header);
        assert!(at <= Instant::now() + t.header);
    }
}
