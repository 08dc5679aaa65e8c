#!/usr/bin/env bash
# Creates .venv/ with the outside references Graft's fixtures are made from (PyTorch, transformers,
# safetensors, accelerate for transformers' GGUF loading; llama-cpp-python and gguf; peft,
# bitsandbytes and h5py for training) and the llama.cpp and torch+peft peers of `make bench`.
# Used by the fixture scripts and benchmarks only; `make test` never runs it.
# llama-cpp-python is compiled here with AVX2/AVX-512/VNNI/BF16 but without AMX: with
# GGML_NATIVE on a CPU that reports AMX, the library died with SIGILL in this sandbox.
# Usage: Scripts/reference-env.sh   → prints the path of the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import torch, transformers, safetensors, accelerate, gguf, peft, bitsandbytes, h5py" 2>/dev/null; then
    "$venv/bin/pip" install -q "torch==2.15.0" "transformers==5.24.0" "safetensors==0.8.0" "numpy" \
        "accelerate" "gguf==0.19.0" "peft==0.21.2" "bitsandbytes==0.50.2" "h5py==3.16.0" >&2
fi
if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON \
-DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF" \
        "$venv/bin/pip" install -q --no-cache-dir "llama-cpp-python==0.3.36" >&2
fi
echo "$venv/bin/python"
