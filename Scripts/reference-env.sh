#!/usr/bin/env bash
# Creates .venv/ with the outside references Graft's fixtures are made from (PyTorch, transformers,
# safetensors, accelerate for transformers' GGUF loading; llama-cpp-python and gguf; peft,
# bitsandbytes and h5py for training) and the llama.cpp and torch+peft peers of `make bench`.
# Used by the fixture scripts and benchmarks only; `make test` never runs it.
#
# llama-cpp-python is compiled for this CPU (GGML_NATIVE), except where the CPU reports AMX: there
# the native build died with SIGILL in this sandbox, so it gets every x86 feature the CPU has
# spelled out, AMX left off. With `--portable` the venv is .venv-avx2/ and holds only
# llama-cpp-python compiled for AVX2 + FMA + F16C (no AVX-512), the peer of the portable build.
# pip's output goes to .venv*/setup.log; a failure prints its tail.
# Usage: Scripts/reference-env.sh [--portable]   → prints the path of the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
portable=0
[ "${1:-}" = "--portable" ] && portable=1
venv="$root/.venv"
[ $portable = 1 ] && venv="$root/.venv-avx2"
log="$venv/setup.log"
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { [[ "$flags" == *" $1 "* ]]; }
on_off() { if has "$1"; then echo ON; else echo OFF; fi; }

quiet() {
    if ! "$@" >>"$log" 2>&1; then
        echo "error: '$*' failed; the last lines of $log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if [ $portable = 0 ] && ! "$venv/bin/python" -c "import torch, transformers, safetensors, accelerate, gguf, peft, bitsandbytes, h5py" 2>/dev/null; then
    echo "reference-env: installing torch, transformers, peft, bitsandbytes, gguf, h5py into $venv (once; log in $log)" >&2
    quiet "$venv/bin/pip" install "torch==2.15.0" "transformers==5.24.0" "safetensors==0.8.0" "numpy" \
        "accelerate" "gguf==0.19.0" "peft==0.21.2" "bitsandbytes==0.50.2" "h5py==3.16.0"
fi
if ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
    if [ $portable = 1 ]; then
        what="AVX2 only"
        cmake="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX_VNNI=OFF \
-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF \
-DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    elif has amx_tile; then
        what="this CPU's features, AMX off"
        cmake="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX_VNNI=$(on_off avx_vnni) -DGGML_AVX512=$(on_off avx512f) -DGGML_AVX512_VBMI=$(on_off avx512vbmi) \
-DGGML_AVX512_VNNI=$(on_off avx512_vnni) -DGGML_AVX512_BF16=$(on_off avx512_bf16) \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    else
        what="native"
        cmake="-DGGML_NATIVE=ON"
    fi
    echo "reference-env: compiling llama-cpp-python 0.3.36 ($what) into $venv (once, a few minutes; log in $log)" >&2
    CMAKE_ARGS="$cmake" quiet "$venv/bin/pip" install --no-cache-dir "llama-cpp-python==0.3.36"
fi
echo "$venv/bin/python"
