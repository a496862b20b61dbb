#!/usr/bin/env bash
# The project's single test command: unit/integration tests, then the end-to-end conformance suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ONRAMP_TEST_POSTGRES_URL:-}" ]; then
    echo "NOTE: ONRAMP_TEST_POSTGRES_URL is not set: the PostgreSQL store tests will skip."
fi
cargo test --workspace
./scripts/conformance.sh "$@"
