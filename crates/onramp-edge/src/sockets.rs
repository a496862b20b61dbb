//! Listener sockets: bind every port of a listener (all or nothing, each a unit of the
//! descriptor budget) and start their accept loops (TCP) or datagram loops (UDP).

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use onramp_core::snapshot::ListenerSpec;
use onramp_core::Protocol;
use tokio::task::JoinHandle;

use crate::budget::Units;
use crate::listener::ListenerRt;
use crate::Shared;

/// A bound listener socket with its descriptor in the budget.
pub(crate) enum Bound {
    Tcp(tokio::net::TcpListener, Units),
    Udp(tokio::net::UdpSocket, Units),
}

fn tcp_socket(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    s.set_reuse_address(true)?;
    // Accepted sockets inherit TCP_NODELAY on Linux: one setsockopt here instead of one per connection.
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    tokio::net::TcpListener::from_std(s.into())
}

fn udp_socket(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let s = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    tokio::net::UdpSocket::from_std(s.into())
}

/// Bind every port of every range; all or nothing. Each socket takes one unit of the budget.
pub(crate) async fn bind_all(spec: &ListenerSpec, shared: &Shared) -> Result<Vec<Bound>, String> {
    let mut out = Vec::new();
    for range in &spec.ports {
        for port in range.iter() {
            let addr = SocketAddr::new(shared.cfg.bind_address, port);
            let Some(fd) = shared.budget.take(1) else {
                return Err(format!(
                    "cannot bind {} {addr}: the edge's descriptor budget ({}) is in use",
                    spec.protocol.upper(),
                    shared.budget.limit()
                ));
            };
            let r = match spec.protocol {
                Protocol::Tcp => tcp_socket(addr).map(|l| Bound::Tcp(l, fd)),
                Protocol::Udp => udp_socket(addr).map(|u| Bound::Udp(u, fd)),
            };
            out.push(r.map_err(|e| format!("cannot bind {} {addr}: {e}", spec.protocol.upper()))?);
        }
    }
    Ok(out)
}

pub(crate) fn start(
    sockets: Vec<Bound>,
    rt: Arc<ArcSwap<ListenerRt>>,
    shared: &Arc<Shared>,
) -> Vec<JoinHandle<()>> {
    sockets
        .into_iter()
        .map(|s| match s {
            Bound::Tcp(l, fd) => {
                tokio::spawn(crate::tcp::accept_loop(l, rt.clone(), shared.clone(), fd))
            }
            Bound::Udp(u, fd) => tokio::spawn(crate::udp::serve(
                Arc::new(u),
                rt.clone(),
                shared.clone(),
                fd,
            )),
        })
        .collect()
}
