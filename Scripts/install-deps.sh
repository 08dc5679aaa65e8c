#!/usr/bin/env bash
# Installs the system packages Graft builds against, only those that are missing:
# libopenblas-dev (matrix products), libhdf5-dev (checkpoints), libssl-dev (SHA-256 of base
# models), pkg-config (finds them); and chromium, the headless browser the load test's report
# is checked in (and its PNG made with); curl, which the server checks call; and haproxy, the
# load balancer the replicas are checked behind (make test-cluster).
set -euo pipefail
needed=()
for pkg in libopenblas-dev libhdf5-dev libssl-dev pkg-config chromium curl haproxy; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        needed+=("$pkg")
    fi
done
if [ ${#needed[@]} -eq 0 ]; then
    exit 0
fi
echo "Installing missing system packages: ${needed[*]} (apt-get; log in ${TMPDIR:-/tmp}/graft-apt.log)"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
        echo "error: need root (or sudo) to install: ${needed[*]}" >&2; exit 1
    fi
fi
log="${TMPDIR:-/tmp}/graft-apt.log"
# apt's and dpkg's progress go to the log, so the first screen is Graft's own output.
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends "${needed[@]}"; } >"$log" 2>&1; then
    echo "error: installing ${needed[*]} failed; the last lines of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
