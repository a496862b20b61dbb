#!/usr/bin/env bash
# The project's single test command: unit/integration tests, then the end-to-end conformance suite.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
./scripts/conformance.sh "$@"
