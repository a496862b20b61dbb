//! Batched datagram I/O: many datagrams per system call with `recvmmsg`/`sendmmsg` (through
//! nix's safe wrappers; there is no `unsafe` here).
//!
//! The buffers of a batch belong to the worker thread, not to a listener or a flow: a batch is
//! filled and emptied without an `.await` in between, so an idle UDP listener or flow holds no
//! receive buffer at all. A datagram that cannot be sent at once is copied out and sent later by
//! its task (see `udp.rs`).

use std::cell::RefCell;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmmsg, sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// The most datagrams one receive call takes.
pub const MAX: usize = 32;
/// Room for one datagram: the largest UDP payload, so nothing is ever truncated.
const SLOT: usize = 65_536;

pub struct Batch {
    /// `MAX` slots of `SLOT` bytes; only the pages that datagrams touch become resident.
    bufs: Vec<u8>,
    lens: [usize; MAX],
    peers: [Option<SocketAddr>; MAX],
    rx: MultiHeaders<SockaddrStorage>,
    tx: MultiHeaders<SockaddrStorage>,
}

thread_local! {
    static BATCH: RefCell<Batch> = RefCell::new(Batch::new());
}

/// Run `f` with this thread's batch. `f` must not await (it cannot: it is not async).
pub fn with<R>(f: impl FnOnce(&mut Batch) -> R) -> R {
    BATCH.with_borrow_mut(f)
}

fn to_std(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

impl Batch {
    fn new() -> Self {
        Self {
            bufs: vec![0u8; MAX * SLOT],
            lens: [0; MAX],
            peers: [None; MAX],
            rx: MultiHeaders::preallocate(MAX, None),
            tx: MultiHeaders::preallocate(MAX, None),
        }
    }

    /// Receive up to `max` datagrams from a socket that reported readable. Fewer than asked
    /// means the socket's queue was empty at the call, so its readiness is cleared right there
    /// (tokio clears only the readiness seen before the call: a datagram arriving after it still
    /// wakes the task), and no further call that would return `EAGAIN` is needed.
    pub fn recv(&mut self, sock: &UdpSocket, max: usize) -> io::Result<usize> {
        let max = max.clamp(1, MAX);
        let Self {
            bufs,
            lens,
            peers,
            rx,
            ..
        } = self;
        let mut short = None;
        let r = sock.try_io(Interest::READABLE, || {
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> = bufs
                .chunks_mut(SLOT)
                .take(max)
                .map(|c| [IoSliceMut::new(c)])
                .collect();
            let got = recvmmsg(
                sock.as_raw_fd(),
                rx,
                iovs.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            )?;
            let mut k = 0;
            for m in got {
                lens[k] = m.bytes;
                peers[k] = m.address.as_ref().and_then(to_std);
                k += 1;
            }
            if k < max {
                short = Some(k);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(k)
        });
        match (r, short) {
            (Err(e), Some(k)) if e.kind() == io::ErrorKind::WouldBlock && k > 0 => Ok(k),
            (r, _) => r,
        }
    }

    /// Datagram `i` of the last receive: its sender (for an unconnected socket) and bytes.
    pub fn get(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        let start = i * SLOT;
        (self.peers[i], &self.bufs[start..start + self.lens[i]])
    }

    /// Send the received datagrams `which` to `to` from `sock` in one call; returns how many
    /// went (a prefix of `which`: the rest would have blocked).
    pub fn send_to(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        which: &[usize],
    ) -> io::Result<usize> {
        match which {
            [] => return Ok(0),
            [one] => {
                let (_, data) = self.get(*one);
                return match sock.try_send_to(data, to) {
                    Ok(_) => Ok(1),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                    Err(e) => Err(e),
                };
            }
            _ => {}
        }
        let Self { bufs, lens, tx, .. } = self;
        let slices: Vec<[IoSlice<'_>; 1]> = which
            .iter()
            .map(|&i| [IoSlice::new(&bufs[i * SLOT..i * SLOT + lens[i]])])
            .collect();
        let dest = SockaddrStorage::from(to);
        let addrs = vec![Some(dest); slices.len()];
        let r = sock.try_io(Interest::WRITABLE, || {
            let sent = sendmmsg(
                sock.as_raw_fd(),
                tx,
                slices.iter(),
                &addrs,
                [] as [ControlMessage<'_>; 0],
                MsgFlags::MSG_DONTWAIT,
            )?;
            Ok(sent.count())
        });
        match r {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_takes_every_queued_datagram_and_sends_them_back() {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_addr = b.local_addr().unwrap();
        let a_addr = a.local_addr().unwrap();
        let big = vec![7u8; 60_000];
        for i in 0..5u8 {
            a.send_to(&[i; 3], b_addr).await.unwrap();
        }
        a.send_to(&big, b_addr).await.unwrap();
        b.readable().await.unwrap();
        let mut got = Vec::new();
        while got.len() < 6 {
            b.readable().await.unwrap();
            let n = with(|batch| match batch.recv(&b, MAX) {
                Ok(k) => {
                    for i in 0..k {
                        let (from, data) = batch.get(i);
                        assert_eq!(from, Some(a_addr));
                        got.push(data.to_vec());
                    }
                    k
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => panic!("{e}"),
            });
            let _ = n;
        }
        assert_eq!(
            got[..5],
            (0..5u8).map(|i| vec![i; 3]).collect::<Vec<_>>()[..]
        );
        assert_eq!(got[5], big, "a 60,000-byte datagram arrives whole");

        // Echo the last batch back to `a` in one call.
        a.send_to(b"x", b_addr).await.unwrap();
        a.send_to(b"yy", b_addr).await.unwrap();
        let mut k = 0;
        while k < 2 {
            b.readable().await.unwrap();
            k += with(|batch| batch.recv(&b, MAX)).unwrap_or(0);
        }
        let sent = with(|batch| batch.send_to(&b, a_addr, &[0, 1])).unwrap();
        assert_eq!(sent, 2);
        let mut buf = [0u8; 8];
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"x");
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"yy");
    }
}
