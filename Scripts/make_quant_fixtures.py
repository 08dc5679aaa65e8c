#!/usr/bin/env python3
"""Reference dequantization fixtures from gguf-py (llama.cpp's own Python package), not from Graft.

Writes Tests/Fixtures/dequant.safetensors: for each ggml type Graft reads (F16, BF16, Q4_0, Q4_1,
Q8_0, Q4_K, Q6_K), random blocks as raw bytes ("<type>.bytes", U8) and gguf.quants.dequantize's
output ("<type>.values", F32); plus the first rows of two real SmolLM2 tensors (Q4_1 and Q8_0)
dequantized by gguf-py, which the integration test compares against the model file itself.

Run: $(Scripts/reference-env.sh) Scripts/make_quant_fixtures.py
"""
import pathlib

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "dequant.safetensors"
MODEL = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
rng = np.random.default_rng(7)


def f16_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_blocks(qtype, n_blocks):
    """Random quantized blocks whose f16 scale fields hold finite, moderate values."""
    size, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, nbytes), dtype=np.uint8)
    scales = lambda: f16_bytes(rng.uniform(-0.05, 0.05, size=n_blocks)).reshape(n_blocks, 2)
    if qtype in (T.Q4_0, T.Q8_0):
        raw[:, 0:2] = scales()
    elif qtype == T.Q4_1:
        raw[:, 0:2] = scales()
        raw[:, 2:4] = scales()
    elif qtype == T.Q4_K:
        raw[:, 0:2] = f16_bytes(rng.uniform(0, 0.01, size=n_blocks)).reshape(n_blocks, 2)
        raw[:, 2:4] = f16_bytes(rng.uniform(0, 0.01, size=n_blocks)).reshape(n_blocks, 2)
    elif qtype == T.Q6_K:
        raw[:, 208:210] = f16_bytes(rng.uniform(-0.01, 0.01, size=n_blocks)).reshape(n_blocks, 2)
    return raw, size


tensors = {}
for qtype in (T.Q4_0, T.Q4_1, T.Q8_0, T.Q4_K, T.Q6_K):
    raw, size = random_blocks(qtype, 8)
    values = gguf.quants.dequantize(raw.reshape(-1), qtype).reshape(-1)
    assert values.size == 8 * size and np.isfinite(values).all()
    tensors[f"{qtype.name}.bytes"] = raw.reshape(-1)
    tensors[f"{qtype.name}.values"] = values.astype(np.float32)

halves = rng.standard_normal(300).astype(np.float16)
tensors["F16.bytes"] = halves.view(np.uint8)
tensors["F16.values"] = gguf.quants.dequantize(halves.view(np.uint8), T.F16).reshape(-1).astype(np.float32)
bf = (rng.standard_normal(300).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
tensors["BF16.bytes"] = bf.view(np.uint8)
tensors["BF16.values"] = gguf.quants.dequantize(bf.view(np.uint8), T.BF16).reshape(-1).astype(np.float32)

reader = gguf.GGUFReader(str(MODEL))
for t in reader.tensors:
    if t.name in ("blk.0.attn_q.weight", "token_embd.weight"):
        rows = gguf.quants.dequantize(t.data, t.tensor_type)[:3]
        tensors[f"smollm2.{t.name}"] = np.ascontiguousarray(rows.astype(np.float32))

save_file(tensors, str(OUT), metadata={"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "?"})
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
