#!/usr/bin/env bash
# End-to-end conformance suite: drives a real `onramp serve` with the official clients
# (tencentcloud-sdk-python, tccli, huaweicloudsdkga, qcloudapi-sdk-python).
# Usage: scripts/conformance.sh [pytest args...]   (env ONRAMP_BIN overrides the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
venv="$repo/.venv"
req="$repo/tests/conformance/requirements.txt"
stamp="$venv/.conformance-requirements.sha256"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    echo "$want" >"$stamp"
fi

if [ -z "${ONRAMP_BIN:-}" ]; then
    cargo build -p onramp --bin onramp
fi
exec "$venv/bin/python" -m pytest tests/conformance -q "$@"
