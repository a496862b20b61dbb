//! `splice-relay`: the floor of TCP relaying on this machine, not a product. A bare blocking
//! relay: one thread per direction, each moving bytes socket → 1 MiB pipe → socket with
//! splice(2), no event loop, no limits, no health, no accounting. Whatever CPU it spends per GB
//! is the kernel's own cost of receiving and sending through a pipe, which no proxy can go
//! below; the harness runs it beside the proxies in scenario 1 (see BENCHMARKS.md).

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;
use nix::fcntl::{fcntl, splice, FcntlArg, SpliceFFlags};

#[derive(ClapArgs)]
pub struct Args {
    /// Address to accept on (127.0.0.0/8).
    #[arg(long)]
    listen: SocketAddr,
    /// Origin to relay to (127.0.0.0/8).
    #[arg(long)]
    to: SocketAddr,
    /// Stop accepting after this many seconds.
    #[arg(long, default_value_t = 600.0)]
    seconds: f64,
}

const PIPE: usize = 1 << 20;

fn pump(from: TcpStream, to: TcpStream) {
    let Ok((r, w)) = nix::unistd::pipe() else {
        return;
    };
    let _ = fcntl(&w, FcntlArg::F_SETPIPE_SZ(PIPE as i32));
    let flags = SpliceFFlags::SPLICE_F_MOVE;
    loop {
        let n = match splice(&from, None, &w, None, PIPE, flags) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut left = n;
        while left > 0 {
            match splice(&r, None, &to, None, left, flags) {
                Ok(0) | Err(_) => return,
                Ok(m) => left -= m,
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

pub fn run(a: Args) -> anyhow::Result<()> {
    crate::loopback(&a.listen)?;
    crate::loopback(&a.to)?;
    let listener = TcpListener::bind(a.listen)?;
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + Duration::from_secs_f64(a.seconds);
    println!(
        "{}",
        serde_json::json!({ "listening": a.listen.to_string() })
    );
    while Instant::now() < deadline {
        let client = match listener.accept() {
            Ok((c, _)) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        client.set_nonblocking(false)?;
        let Ok(origin) = TcpStream::connect_timeout(&a.to, Duration::from_secs(3)) else {
            continue;
        };
        let (c2, o2) = (client.try_clone()?, origin.try_clone()?);
        std::thread::spawn(move || pump(client, origin));
        std::thread::spawn(move || pump(o2, c2));
    }
    Ok(())
}
