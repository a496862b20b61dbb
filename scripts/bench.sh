#!/usr/bin/env bash
# Benchmark onramp beside HAProxy 2.6, nginx 1.22 (stream) and a direct connection, on loopback.
#   scripts/bench.sh --quick      # < 3 minutes once built: a smoke run, not a pass/fail threshold
#   scripts/bench.sh              # full run (5 repetitions, 10 s loads, 10k listeners / 100k origins)
#   scripts/bench.sh --only bulk,connrate --systems onramp,haproxy --reps 3
#   scripts/bench.sh --only attack                 # UDP flood + slow-header attack beside a normal client
#   scripts/bench.sh --only soak --soak-minutes 30 # mixed work, origin kills; RSS/fds/threads/tasks slopes
# Installs haproxy, nginx-light, libnginx-mod-stream and iperf3 with apt-get when missing (root).
# Writes target/bench/results.json, details.json and table.md. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every process may open as many files as the hard limit allows (20,000 here).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release -p onramp -p onramp-bench
exec target/release/onramp-bench "$@"
