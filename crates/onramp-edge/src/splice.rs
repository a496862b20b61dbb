//! Zero-copy moves with splice(2): socket → pipe → socket, so bulk bytes never enter user space.
//!
//! Pipes come from a bounded pool and are held only while bytes are in flight: an idle
//! connection holds none, and past `MAX_PIPES` the relay copies through a buffer instead.
//! A new pipe takes its two descriptors from the edge's budget (kept while it waits in the
//! pool): when the budget is full, the relay copies too. The
//! syscalls go through `nix`'s safe wrappers; there is no `unsafe` here.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use nix::fcntl::{fcntl, splice, FcntlArg, OFlag, SpliceFFlags};
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::budget::{Budget, Units};

/// Bytes asked of one splice into the pipe.
pub const CHUNK: usize = 1 << 20;
/// Pipes that may exist at once (each is two descriptors).
const MAX_PIPES: usize = 1024;
/// Empty pipes kept for reuse.
const POOL_MAX: usize = 64;

pub struct Pipe {
    r: OwnedFd,
    w: OwnedFd,
    _fds: Units,
}

static POOL: Mutex<Vec<Pipe>> = Mutex::new(Vec::new());
static LIVE: AtomicUsize = AtomicUsize::new(0);

impl Drop for Pipe {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Relaxed);
    }
}

fn new_pipe(budget: &Arc<Budget>) -> Option<Pipe> {
    let fds = budget.take(2)?;
    if LIVE.fetch_add(1, Relaxed) >= MAX_PIPES {
        LIVE.fetch_sub(1, Relaxed);
        return None;
    }
    match nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC) {
        Ok((r, w)) => {
            // A bigger pipe moves more per syscall; the kernel may refuse (pipe-max-size).
            let _ = fcntl(&w, FcntlArg::F_SETPIPE_SZ(CHUNK as i32));
            Some(Pipe { r, w, _fds: fds })
        }
        Err(_) => {
            LIVE.fetch_sub(1, Relaxed);
            None
        }
    }
}

/// An empty pipe, or `None` when none can be had (the caller copies instead).
pub fn take(budget: &Arc<Budget>) -> Option<Pipe> {
    let pooled = POOL.lock().unwrap_or_else(|p| p.into_inner()).pop();
    pooled.or_else(|| new_pipe(budget))
}

/// Return a pipe that holds no bytes.
pub fn give(p: Pipe) {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < POOL_MAX {
        pool.push(p);
    }
}

fn flags() -> SpliceFFlags {
    SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK
}

/// Move up to `max` (at most `CHUNK`) readable bytes of `from` into the pipe. `Ok(0)` is end of
/// stream.
pub fn fill(from: &TcpStream, pipe: &Pipe, max: usize) -> io::Result<usize> {
    let len = max.clamp(1, CHUNK);
    from.try_io(Interest::READABLE, || {
        splice(from, None, &pipe.w, None, len, flags()).map_err(io::Error::from)
    })
}

/// Move all `n` bytes in the pipe to `to`, waiting for it to be writable as needed.
pub async fn drain(pipe: &Pipe, to: &TcpStream, mut n: usize) -> io::Result<()> {
    while n > 0 {
        to.writable().await?;
        match to.try_io(Interest::WRITABLE, || {
            splice(&pipe.r, None, to, None, n, flags()).map_err(io::Error::from)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(m) => n -= m,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
