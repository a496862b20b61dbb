//! Child processes the orchestrator starts: each is pinned with `taskset`, registered so that
//! Ctrl-C or an error path can stop it, and stopped by PID (SIGTERM, then SIGKILL) when its
//! guard is dropped. For a process tree (nginx master and workers) the direct children are
//! stopped too, also by PID. Nothing that this harness did not start is ever signalled.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use onramp_bench::procfs;

/// PIDs of the live children, for the signal handler.
static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn register(pid: u32) {
    LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
}

fn unregister(pid: u32) {
    LIVE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|p| *p != pid);
}

/// Send `sig` (e.g. "TERM", "KILL", "INT") to one PID.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    // A zombie still has /proc/<pid>; its state is Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Stop every registered child (and its direct children): used on Ctrl-C / SIGTERM.
pub fn stop_all_registered() {
    let pids: Vec<u32> = LIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut all = Vec::new();
    for pid in pids {
        all.extend(procfs::tree(pid));
    }
    for p in &all {
        signal(*p, "TERM");
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && all.iter().any(|p| alive(*p)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in all.iter().filter(|p| alive(**p)) {
        signal(*p, "KILL");
    }
}

/// Install the Ctrl-C / SIGTERM handler: stop the children, then exit with 130.
pub fn install_signal_handler() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        });
        eprintln!("\nonramp-bench: interrupted; stopping the processes it started");
        stop_all_registered();
        std::process::exit(130);
    });
}

/// A started child process; stopped when dropped.
pub struct Proc {
    pub name: String,
    child: Child,
    /// Also stop its direct children (nginx workers).
    tree: bool,
    stopped: bool,
}

/// How to start a child.
pub struct Spec<'a> {
    pub name: &'a str,
    /// CPU to pin to (`taskset -c`).
    pub cpu: u32,
    pub program: &'a Path,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr go (appended), or piped stdout when `None`.
    pub log: Option<&'a Path>,
    pub stdin_piped: bool,
    pub tree: bool,
}

impl Proc {
    pub fn start(spec: Spec) -> anyhow::Result<Self> {
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg(spec.cpu.to_string()).arg(spec.program);
        cmd.args(&spec.args);
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        cmd.stdin(if spec.stdin_piped {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        match spec.log {
            Some(path) => {
                let out = File::options().create(true).append(true).open(path)?;
                cmd.stderr(out.try_clone()?).stdout(out);
            }
            None => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
            }
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} ({})", spec.name, spec.program.display()))?;
        register(child.id());
        Ok(Self {
            name: spec.name.to_string(),
            child,
            tree: spec.tree,
            stopped: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The PIDs whose CPU and memory count for this process.
    pub fn pids(&self) -> Vec<u32> {
        if self.tree {
            procfs::tree(self.pid())
        } else {
            vec![self.pid()]
        }
    }

    /// Exited already? Returns the exit status text.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            _ => None,
        }
    }

    /// Wait for the process to exit on its own, at most `limit`; kill it past that.
    pub fn wait_for(&mut self, limit: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait()? {
                self.stopped = true;
                unregister(self.pid());
                return Ok(st);
            }
            if Instant::now() >= deadline {
                self.stop();
                anyhow::bail!("{} did not finish within {:?}", self.name, limit);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL this process only (an origin "dies").
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stopped = true;
        unregister(self.pid());
    }

    /// SIGTERM (and the children's PIDs for a tree), wait up to 3 s, then SIGKILL.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid = self.pid();
        let kids = if self.tree {
            procfs::children_of(pid)
        } else {
            Vec::new()
        };
        if self.child.try_wait().ok().flatten().is_none() {
            signal(pid, "TERM");
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() && !kids.iter().any(|k| alive(*k)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        for k in kids.iter().filter(|k| alive(**k)) {
            signal(*k, "KILL");
        }
        unregister(pid);
    }

    /// CPU used so far by the process (tree), with the proxy core's busy time.
    pub fn cpu_use(&self, ticks: f64) -> CpuUse {
        CpuUse {
            all: self.cpu_seconds(ticks),
            user: self.user_cpu_seconds(ticks),
            core: procfs::cpu_busy_seconds(crate::ctx::PROXY_CPU, ticks).unwrap_or(0.0),
        }
    }

    /// User + system CPU seconds of the process (tree).
    pub fn cpu_seconds(&self, ticks: f64) -> f64 {
        self.pids()
            .iter()
            .filter_map(|p| procfs::cpu_seconds(*p, ticks))
            .sum()
    }

    /// User-space CPU seconds of the process (tree).
    pub fn user_cpu_seconds(&self, ticks: f64) -> f64 {
        self.pids()
            .iter()
            .filter_map(|p| procfs::user_cpu_seconds(*p, ticks))
            .sum()
    }

    /// Resident bytes of the process (tree).
    pub fn rss_bytes(&self) -> u64 {
        self.pids()
            .iter()
            .filter_map(|p| procfs::rss_bytes(*p))
            .sum()
    }
}

/// CPU seconds of a proxy: its processes, of which user space, and the busy time of the core it
/// is pinned to (interrupts and softirqs included; tick-sampled, see `procfs::cpu_busy_seconds`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub all: f64,
    pub user: f64,
    pub core: f64,
}

impl std::ops::Sub for CpuUse {
    type Output = CpuUse;
    fn sub(self, before: CpuUse) -> CpuUse {
        CpuUse {
            all: self.all - before.all,
            user: self.user - before.user,
            core: self.core - before.core,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}
