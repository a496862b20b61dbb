#!/usr/bin/env bash
# The project's single test command: unit/integration tests, then the end-to-end conformance suite,
# then the data-plane forwarding tests once more with a busy-polling edge (--busy-poll; its edge
# thread spins, so it takes one of the machine's cores while those tests run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ONRAMP_TEST_POSTGRES_URL:-}" ]; then
    echo "NOTE: ONRAMP_TEST_POSTGRES_URL is not set: the PostgreSQL store tests will skip."
fi
cargo test --workspace
./scripts/conformance.sh "$@"
if [ "$#" -eq 0 ]; then
    echo "== data-plane forwarding tests with --busy-poll"
    ONRAMP_TEST_BUSY_POLL=1 .venv/bin/python -m pytest -q \
        tests/conformance/test_dataplane_tcp.py tests/conformance/test_dataplane_udp.py
fi
