#!/usr/bin/env bash
# Creates .venv-serve/ with the clients `make test-server` checks `graft serve` with: the official
# openai package and schemathesis (fuzzing from the server's OpenAPI document), at the versions
# the checks were written against. curl comes from Debian. pip's output goes to
# .venv-serve/setup.log; a failure prints its tail.
# Usage: Scripts/serve-env.sh   → prints the path of the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-serve"
log="$venv/setup.log"
if ! command -v curl >/dev/null; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai, schemathesis" 2>/dev/null; then
    python3 -m venv "$venv"
    if ! "$venv/bin/pip" install -q "openai==3.63.0" "schemathesis==4.32.5" >"$log" 2>&1; then
        echo "error: installing openai and schemathesis failed; the last lines of $log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
fi
echo "$venv/bin/python"
