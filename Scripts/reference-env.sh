#!/usr/bin/env bash
# Creates .venv/ with the outside references Graft's fixtures are made from (PyTorch, transformers,
# safetensors; llama-cpp-python and gguf for the tokenizer). Used by the fixture scripts only;
# `make test` never runs it.
# Usage: Scripts/reference-env.sh   → prints the path of the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import torch, transformers, safetensors, llama_cpp, gguf" 2>/dev/null; then
    "$venv/bin/pip" install -q "torch==2.15.0" "transformers==5.24.0" "safetensors==0.8.0" "numpy" \
        "llama-cpp-python==0.3.36" "gguf==0.19.0" >&2
fi
echo "$venv/bin/python"
