//! Reading `/proc`: CPU time (user + system) and resident memory of a process and its
//! children, the CPUs a process may run on, and the open-file limit.

use std::fs;

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// The fields of `/proc/<pid>/stat` after the command name (field 3 onwards).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = text.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// User + system CPU seconds of `pid` (all its threads), or `None` if it is gone.
pub fn cpu_seconds(pid: u32, ticks: f64) -> Option<f64> {
    let f = stat_fields(pid)?;
    // utime and stime are fields 14 and 15; `f[0]` is field 3.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

/// User-space CPU seconds of `pid` (all its threads), or `None` if it is gone.
pub fn user_cpu_seconds(pid: u32, ticks: f64) -> Option<f64> {
    let f = stat_fields(pid)?;
    let utime: f64 = f.get(11)?.parse().ok()?;
    Some(utime / ticks)
}

/// Busy seconds of CPU `cpu` so far (`/proc/stat`: user + nice + system + irq + softirq; not
/// idle, iowait or steal). Interrupt and softirq time is not charged to any process when the
/// kernel accounts it apart (as here), so this is the whole work done on a pinned proxy's core,
/// including the loopback deliveries the proxy's sends trigger. The counters are sampled at timer
/// ticks (a process's own times are exact): a load paced by timers can hide between ticks.
pub fn cpu_busy_seconds(cpu: u32, ticks: f64) -> Option<f64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let name = format!("cpu{cpu}");
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)?;
    Some(busy / ticks)
}

/// Parent PID of `pid`.
pub fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Direct children of `pid` (scans `/proc`).
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| parent_of(*p) == Some(pid))
        .collect()
}

/// `pid` and its direct children (nginx: master and workers).
pub fn tree(pid: u32) -> Vec<u32> {
    let mut v = vec![pid];
    v.extend(children_of(pid));
    v
}

/// A field of `/proc/<pid>/status`, e.g. `VmRSS` (value text, unit included).
pub fn status_field(pid: u32, name: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// Resident memory of `pid` in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let v = status_field(pid, "VmRSS")?;
    let kb: u64 = v.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

/// Open descriptors of `pid`.
pub fn fd_count(pid: u32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Threads of `pid`.
pub fn thread_count(pid: u32) -> Option<u64> {
    status_field(pid, "Threads")?.parse().ok()
}

/// The soft and hard open-file limits of this process.
pub fn nofile_limits() -> Option<(u64, u64)> {
    nofile_limits_in("/proc/self/limits")
}

/// The soft and hard open-file limits of `pid`.
pub fn nofile_limits_of(pid: u32) -> Option<(u64, u64)> {
    nofile_limits_in(&format!("/proc/{pid}/limits"))
}

fn nofile_limits_in(path: &str) -> Option<(u64, u64)> {
    let text = fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let mut it = line["Max open files".len()..].split_whitespace();
    let soft = it.next()?.parse().ok()?;
    let hard = it.next()?.parse().ok()?;
    Some((soft, hard))
}

/// User + system CPU seconds of this process.
pub fn self_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id(), clock_ticks()).unwrap_or(0.0)
}
