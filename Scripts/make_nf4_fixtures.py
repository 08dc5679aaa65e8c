#!/usr/bin/env python3
"""Reference NF4/FP4 (QLoRA 4-bit) fixtures computed by bitsandbytes on the CPU, not by Graft.

Writes Tests/Fixtures/nf4.safetensors and its sidecar Tests/Fixtures/nf4.json. Every quantized
piece is what bitsandbytes.functional.quantize_4bit returns (blocksize 64, nf4 and fp4, with and
without double quantization) and "<case>.dequant" is bitsandbytes.functional.dequantize_4bit's
output. Per case "<case>.":
  input            F32, the tensor that was quantized (its shape)
  packed           U8 [(numel+1)//2], bnb's packed weight flattened (first element in the high nibble)
  absmax           F32 [n_blocks], or U8 [n_blocks] (dynamic-map indices) when double-quantized
  quant_map        F32 [16], the NF4/FP4 code bnb stores
  nested_absmax    F32 [ceil(n_blocks/256)]   (double-quantized cases only)
  nested_quant_map F32 [256], the dynamic map (double-quantized cases only)
  offset           F32 [1], mean of the first-level absmax (double-quantized cases only)
  dequant          F32, dequantize_4bit's output (input's shape)
plus "dynamic_map" (F32 [256], bnb's create_dynamic_map()) once. The JSON holds per-case metadata
(quant_type, blocksize, shape, the offset as a float and as its float32 bit pattern) and the
arithmetic of bnb's CPU quantize path that this script checks against a numpy re-implementation:
dequantization from the stored pieces (formats.md §6.4) and quantization itself (tie rule,
reciprocal vs division, the 65536-entry LUT of the nested 8-bit step, torch's float32 mean).

Run: $(Scripts/reference-env.sh) Scripts/make_nf4_fixtures.py
"""
import json
import pathlib
import struct

import bitsandbytes
import bitsandbytes.functional as F
import numpy as np
import torch
from bitsandbytes.backends.default.ops import _dequantize_4bit_compute
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "nf4.safetensors"
META = ROOT / "Tests" / "Fixtures" / "nf4.json"
rng = np.random.default_rng(11)
f32 = np.float32


def hex32(x):
    return "0x%08x" % struct.unpack("<I", struct.pack("<f", float(x)))[0]


def code_of(qt):
    return F.get_4bit_type(qt, device="cpu").numpy()


def sorted_bounds(code):
    """bnb default backend: order = argsort(code); bounds = (code[order[:-1]] + code[order[1:]]) / 2 in fp32."""
    order = torch.argsort(torch.from_numpy(code)).numpy()
    c = code[order]
    return ((c[:-1] + c[1:]) / f32(2)).astype(np.float32), order


# ---------------------------------------------------------------- inputs
def special_input():
    """[3, 1000]: 46 full blocks of 64 + a trailing partial block of 56, with edge values."""
    x = (rng.standard_normal(3000) * 0.05).astype(np.float32)
    nf4_mid, _ = sorted_bounds(code_of("nf4"))
    fp4_mid, _ = sorted_bounds(code_of("fp4"))
    mids = np.concatenate([nf4_mid, fp4_mid])          # 15 + 15 values in [-1, 1]
    blk = lambda b: slice(64 * b, 64 * b + 64)

    x[blk(0)] = 0.0                                    # all-zero block (absmax 0)
    b = x[blk(1)]                                      # absmax 1.0: midpoints hit exactly
    b[:] = (rng.standard_normal(64) * 0.05).astype(np.float32)
    b[0], b[1] = 1.0, -1.0                             # +absmax and -absmax
    b[2:32] = mids
    b[32:62] = [np.nextafter(m, f32(2) if i % 2 else f32(-2)) for i, m in enumerate(mids)]
    b = x[blk(2)]                                      # absmax 0.5, only as -0.5; mids*0.5 exact
    b[:] = (rng.standard_normal(64) * 0.05).astype(np.float32)
    b[0] = -0.5
    b[1:31] = mids * f32(0.5)
    b = x[blk(3)]                                      # absmax a (not a power of two)
    b[:] = (rng.standard_normal(64) * 0.02).astype(np.float32)
    b[0], b[1] = A_ODD, -A_ODD
    b[2:32] = (mids * A_ODD).astype(np.float32)
    b[32:32 + len(DISAGREE)] = DISAGREE
    b = x[blk(4)]                                      # tiny normal values, absmax 2^-100
    b[:] = (rng.standard_normal(64) * 2.0 ** -103).astype(np.float32)
    b[0] = 2.0 ** -100
    b[1:31] = mids * f32(2.0 ** -100)
    b[31:34] = [1e-35, -1e-37, 1e-44]
    x[blk(5)] = (rng.uniform(-5e-39, 5e-39, 64)).astype(np.float32)   # subnormal block (< 1e-38 clamp)
    x[64 * 5] = 1e-45
    x[blk(6)] = 0.0                                    # one non-zero value
    x[64 * 6 + 17] = -0.003
    t = x[2944:]                                       # trailing partial block, absmax a (division!)
    t[:] = (rng.standard_normal(56) * 0.02).astype(np.float32)
    t[0], t[1] = -A_ODD, A_ODD
    t[2:2 + len(DISAGREE)] = DISAGREE
    t[2 + len(DISAGREE):2 + len(DISAGREE) + 15] = (nf4_mid * A_ODD).astype(np.float32)
    return x.reshape(3, 1000)


def find_disagreements(a):
    """Values x with bucket(x * fl(1/a)) != bucket(x / a) for a block with absmax a (nf4 and fp4)."""
    inv = f32(1) / a
    found = []
    for qt in ("nf4", "fp4"):
        bounds, _ = sorted_bounds(code_of(qt))
        for m in bounds:
            base = f32(m * a)
            for k in range(-40, 41):
                xv = f32(base + k * np.spacing(base)) if base != 0 else f32(k * 1e-12)
                s_mul, s_div = np.clip(xv * inv, -1, 1), np.clip(xv / a, -1, 1)
                if np.searchsorted(bounds, s_mul) != np.searchsorted(bounds, s_div) and abs(xv) < a:
                    found.append(xv)
                    break
    return np.array(sorted(set(found))[:30], dtype=np.float32)


A_ODD = f32(0.0731)
DISAGREE = find_disagreements(A_ODD)


# ---------------------------------------------------------------- numpy re-implementation
def torch_cpu_sum_f32(x, lanes):
    """ATen cascade_sum (SumKernel.cpp) for one contiguous float32 row, Vectorized<float> of `lanes`."""
    x = np.asarray(x, dtype=np.float32)
    n = x.size

    def multi_row_sum(get, size, nrows):   # get(i) -> array of nrows accumulator-shaped items
        level_power = max(4, int(np.ceil(np.log2(size))) // 4 if size > 1 else 0)
        step, mask0 = 1 << level_power, (1 << level_power) - 1
        acc = [[None] * nrows for _ in range(4)]
        zero = get(0)[0] * f32(0) if size else None
        for j in range(4):
            acc[j] = [np.zeros_like(zero) if zero is not None else f32(0) for _ in range(nrows)]
        i = 0
        while i + step <= size:
            for _ in range(step):
                row = get(i)
                for k in range(nrows):
                    acc[0][k] = (acc[0][k] + row[k]).astype(np.float32)
                i += 1
            for j in range(1, 4):
                for k in range(nrows):
                    acc[j][k] = (acc[j][k] + acc[j - 1][k]).astype(np.float32)
                    acc[j - 1][k] = np.zeros_like(acc[j - 1][k])
                if i & (mask0 << (j * level_power)):
                    break
        while i < size:
            row = get(i)
            for k in range(nrows):
                acc[0][k] = (acc[0][k] + row[k]).astype(np.float32)
            i += 1
        for j in range(1, 4):
            for k in range(nrows):
                acc[0][k] = (acc[0][k] + acc[j][k]).astype(np.float32)
        return acc[0]

    def row_sum(items):                      # items: list of scalars or lane vectors
        size_ilp = len(items) // 4
        part = multi_row_sum(lambda i: items[4 * i:4 * i + 4], size_ilp, 4) if size_ilp else None
        if part is None:
            z = np.zeros_like(items[0]) if items else f32(0)
            part = [z, z.copy() if hasattr(z, "copy") else z, z, z]
        for i in range(size_ilp * 4, len(items)):
            part[0] = (part[0] + items[i]).astype(np.float32)
        for k in range(1, 4):
            part[0] = (part[0] + part[k]).astype(np.float32)
        return part[0]

    if n < lanes:
        return f32(row_sum([np.float32(v) for v in x]))
    nvec = n // lanes
    vec_acc = row_sum([x[i * lanes:(i + 1) * lanes] for i in range(nvec)])
    final = f32(0)
    for v in x[nvec * lanes:]:
        final = f32(final + v)
    for v in vec_acc:
        final = f32(final + v)
    return final


def build_lut(dyn):
    """csrc/cpu_ops.cpp build_quantize_lut: 65536 bins over [-1, 1] -> index of first midpoint >= val."""
    mids = (f32(0.5) * (dyn[:-1] + dyn[1:])).astype(np.float32)
    i = np.arange(65536, dtype=np.float32)
    val = ((i + i) / f32(65535)).astype(np.float32) - f32(1)
    return np.searchsorted(mids, val.astype(np.float32), side="left").astype(np.uint8)


def quantize_blockwise_cpu(a, dyn, blocksize=256):
    """csrc/cpu_ops.cpp quantize_cpu_impl<float> as compiled (x86-64, the fma is contracted)."""
    lut = build_lut(dyn)
    nb = -(-a.size // blocksize)
    absmax2 = np.zeros(nb, np.float32)
    q = np.zeros(a.size, np.uint8)
    for b in range(nb):
        blk = a[b * blocksize:(b + 1) * blocksize]
        m = f32(np.max(np.abs(blk)))
        absmax2[b] = m
        if m == 0:
            continue
        inv = f32(1) / m
        v = np.clip((blk * inv).astype(np.float32), f32(-1), f32(1))
        t = ((v + f32(1)).astype(np.float32) * f32(0.5)).astype(np.float32)
        idx = np.trunc((t.astype(np.float64) * 65535.0 + 0.5).astype(np.float32)).astype(np.int64)  # fma, then cvttss2si
        q[b * blocksize:(b + 1) * blocksize] = lut[idx.astype(np.uint16)]
    return q, absmax2


def quantize_4bit_numpy(x, qt, blocksize):
    """backends/default/ops.py quantize_4bit: reciprocal-multiply for full blocks, division for the tail."""
    code = code_of(qt)
    bounds, order = sorted_bounds(code)
    flat = x.reshape(-1).astype(np.float32)
    n = flat.size
    full = n - n % blocksize
    blocks = flat[:full].reshape(-1, blocksize)
    absmax = np.abs(blocks).max(axis=1).astype(np.float32)
    clampmin = f32(1e-38)
    inv = (f32(1) / np.maximum(absmax, clampmin)).astype(np.float32)
    scaled = np.clip((blocks * inv[:, None]).astype(np.float32), -1, 1).reshape(-1)
    if n % blocksize:
        am = max(f32(np.abs(flat[full:]).max()), clampmin)
        absmax = np.append(absmax, am).astype(np.float32)
        scaled = np.concatenate([scaled, np.clip((flat[full:] / am).astype(np.float32), -1, 1)])
    if scaled.size % 2:
        scaled = np.append(scaled, f32(0))
    q = np.searchsorted(bounds, scaled, side="left")        # torch.bucketize(right=False)
    if qt != "nf4":
        q = order[q]
    q = q.astype(np.uint8)
    return ((q[0::2] << 4) | q[1::2]).astype(np.uint8), absmax


def dequant_numpy(packed, absmax_eff, code, blocksize, n):
    """formats.md §6.4."""
    idx = np.empty(packed.size * 2, np.int64)
    idx[0::2], idx[1::2] = packed >> 4, packed & 0x0F
    vals = code[idx[:n]]
    return (vals * absmax_eff[np.arange(n) // blocksize]).astype(np.float32)


def same_bits_but_zero_sign(a, b):
    """Bit-identical except that +0.0 and -0.0 may differ (bnb's scalar CPU kernel's FP4 table has -0.0f at
    nibble 8 while get_4bit_type, the AVX-512 kernel and the torch backend have +0.0)."""
    a, b = a.reshape(-1), b.reshape(-1)
    same = a.view(np.uint32) == b.view(np.uint32)
    return bool(np.all(same | ((a == 0) & (b == 0))))


zero_sign_mismatches = {}

# ---------------------------------------------------------------- cases
def normal(shape):
    return (rng.standard_normal(shape) * 0.05).astype(np.float32)


inputs = {"normal_24x128": normal((24, 128)), "straddle_40x72": normal((40, 72)),
          "special_3x1000": special_input()}
cases = [(f"{qt}_{'dq' if dq else 'plain'}_{label}", qt, dq, 64, x)
         for label, x in inputs.items() for qt in ("nf4", "fp4") for dq in (True, False)]
cases.append(("nf4_dq_bs128_64x1152", "nf4", True, 128, normal((64, 1152))))   # 576 blocks -> 3 nested groups

dyn = F.create_dynamic_map().numpy()
tensors = {"dynamic_map": dyn}
meta = {"bitsandbytes": bitsandbytes.__version__, "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cases": {}}
tie_obs = {}
lut_vs_nearest = {}
sum_lanes = set()

for name, qt, dq, bs, x in cases:
    xt = torch.from_numpy(x.copy())
    packed_t, st = F.quantize_4bit(xt, blocksize=bs, compress_statistics=dq, quant_type=qt)
    deq = F.dequantize_4bit(packed_t, st).numpy()
    packed = packed_t.numpy().reshape(-1)
    n = x.size
    code = st.code.numpy()
    # guard against the AVX-512 dequant kernel's row-indexed absmax (wrong when shape[-1] % blocksize != 0
    # but shape[-1] % 16 == 0): the fixture must equal the pure-torch reference backend
    ref = _dequantize_4bit_compute(packed_t.reshape(-1), F.dequantize_blockwise(st.absmax, st.state2) + st.offset
                                   if dq else st.absmax, st.code, bs, x.shape, torch.float32).numpy()
    assert same_bits_but_zero_sign(deq, ref), name

    p = name + "."
    tensors[p + "input"] = x
    tensors[p + "packed"] = packed
    tensors[p + "quant_map"] = code
    tensors[p + "dequant"] = deq
    entry = {"quant_type": qt, "blocksize": bs, "shape": list(x.shape), "compress_statistics": dq,
             "n_blocks": -(-n // bs), "packed_shape_bnb": list(packed_t.shape)}

    # --- independent quantization (first level)
    my_packed, my_absmax = quantize_4bit_numpy(x, qt, bs)
    assert np.array_equal(my_packed, packed), f"{name}: packed differs from numpy re-quantization"

    if dq:
        offset = f32(st.offset.item())
        qabs, absmax2 = st.absmax.numpy(), st.state2.absmax.numpy()
        tensors[p + "absmax"] = qabs
        tensors[p + "nested_absmax"] = absmax2
        tensors[p + "nested_quant_map"] = st.state2.code.numpy()
        tensors[p + "offset"] = np.array([offset], np.float32)
        entry.update({"nested_blocksize": st.state2.blocksize, "nested_offset": float(offset),
                      "nested_offset_hex": hex32(offset), "n_nested_blocks": int(absmax2.size)})
        assert np.array_equal(st.state2.code.numpy(), dyn)
        # offset = torch mean = fl32(cascade_sum_f32(absmax) / n)
        # (torch dispatches its sum kernel at AVX2 width even on AVX-512 CPUs: 8 lanes; 16 fails on random data)
        assert f32(torch_cpu_sum_f32(my_absmax, 8) / f32(my_absmax.size)) == offset, f"{name}: offset"
        sum_lanes.add(8)
        entry["offset_matches_sequential_f32_sum"] = bool(
            f32(np.add.reduce(my_absmax.astype(np.float32), dtype=np.float32) / f32(my_absmax.size)) == offset)
        centred = (my_absmax - offset).astype(np.float32)
        my_q, my_abs2 = quantize_blockwise_cpu(centred, dyn)
        assert np.array_equal(my_abs2, absmax2), f"{name}: nested absmax"
        assert np.array_equal(my_q, qabs), f"{name}: nested LUT quantization"
        # how often the LUT differs from exact nearest-code (tie -> lower) on the dynamic map
        dmid = (f32(0.5) * (dyn[:-1] + dyn[1:])).astype(np.float32)
        sc = np.clip((centred * (f32(1) / np.repeat(my_abs2, 256)[:centred.size])).astype(np.float32), -1, 1)
        lut_vs_nearest[name] = int((np.searchsorted(dmid, sc) != my_q).sum())
        # dequantization per §6.4: absmax_i = fl(fl(dyn[q]*absmax2[i//256]) + offset)
        absmax_eff = ((dyn[qabs] * absmax2[np.arange(qabs.size) // 256]).astype(np.float32) + offset).astype(np.float32)
    else:
        absmax_eff = st.absmax.numpy()
        tensors[p + "absmax"] = absmax_eff
        assert np.array_equal(my_absmax, absmax_eff), f"{name}: absmax"

    mine = dequant_numpy(packed, absmax_eff, code, bs, n).reshape(x.shape)
    assert same_bits_but_zero_sign(mine, deq), f"{name}: dequant not bit-exact"
    nz = int(np.sum(mine.view(np.uint32) != deq.view(np.uint32)))   # only ±0 can differ (FP4 nibble 8)
    entry["dequant_negative_zeros_vs_quant_map"] = nz
    zero_sign_mismatches[name] = nz

    # tie observations on the special input's exact-midpoint block (absmax 1.0, elements 66..95)
    if name.startswith(qt + "_plain_special"):
        bounds, order = sorted_bounds(code)
        idx = np.empty(packed.size * 2, np.int64)
        idx[0::2], idx[1::2] = packed >> 4, packed & 0x0F
        mids = x.reshape(-1)[66:96]
        got = idx[66:96]
        own = mids[:15] if qt == "nf4" else mids[15:]
        own_idx = got[:15] if qt == "nf4" else got[15:]
        tie_obs[qt] = [{"midpoint": float(m), "between_codes": [int(order[k]), int(order[k + 1])],
                        "picked": int(i)} for k, (m, i) in enumerate(zip(own, own_idx))]
        assert all(o["picked"] == o["between_codes"][0] for o in tie_obs[qt])
        entry["zero_input_nibble"] = int(idx[0])      # block 0 is all zeros
    meta["cases"][name] = entry

assert sum_lanes, "torch mean not reproduced by the cascade-sum emulation"
meta["tie_rule"] = (
    "nearest code by torch.bucketize(x_scaled, bounds, right=False) on the fp32 midpoints "
    "bounds=(c_sorted[i]+c_sorted[i+1])/2 of the code sorted ascending: an input exactly on a midpoint "
    "takes the LOWER code value (smaller index for NF4; for FP4 the nibble order[k] of the lower sorted "
    "value, so positive ties go toward zero and negative ties away from zero). Observed: " +
    json.dumps({k: [o["picked"] for o in v] for k, v in tie_obs.items()}))
meta["tie_observations"] = tie_obs
meta["scaling"] = (
    "full blocks: x * fl32(1 / max(absmax, fl32(1e-38))) (reciprocal, then multiply); the trailing partial "
    "block: x / max(absmax, fl32(1e-38)) (true division); then clamp to [-1, 1]. absmax stored unclamped "
    "(0 for an all-zero block)")
meta["nested_quantization"] = (
    "offset = fl32(torch.sum(absmax) / n_blocks), torch's float32 cascade sum over Vectorized<float> of " +
    str(sorted(sum_lanes)) + " lanes (ATen SumKernel.cpp cascade_sum/row_sum/multi_row_sum; a sequential fp32 sum "
    "does not always match, see offset_matches_sequential_f32_sum); c = fl32(absmax - offset); per 256 block: "
    "m = max|c|, inv = fl32(1/m), v = clamp(fl32(c*inv), -1, 1), t = fl32(fl32(v+1)*0.5), "
    "i16 = trunc(fl32(fma(t, 65535, 0.5))), q = LUT[i16] with LUT[i] = #{mid_k < fl32(fl32(2i/65535) - 1)}, "
    "mid_k = fl32(0.5*fl32(dyn[k]+dyn[k+1])); not exact nearest-code")
meta["nested_lut_vs_exact_nearest_mismatches"] = lut_vs_nearest
meta["dynamic_map_key"] = "dynamic_map"
meta["fp4_zero_sign"] = (
    "quant_map[8] is +0.0 (get_4bit_type's list has the int -0). bnb's CPU dequantize_4bit uses its own "
    "table: the scalar kernel (taken when shape[-1] % 16 != 0, e.g. 40x72 and 3x1000) has -0.0f at nibble 8 "
    "so '<case>.dequant' holds -0.0 there; the AVX-512 kernel (shape[-1] % 16 == 0) and the pure-torch "
    "backend give +0.0. Compare dequant values numerically (-0 == +0) or treat nibble 8 specially. Counts "
    "of such elements per case: " + json.dumps(zero_sign_mismatches))
meta["cpu_dequant_bug"] = (
    "bnb 0.50.2 CPU dequantize_4bit on an AVX-512 machine is WRONG when shape[-1] % 16 == 0 but "
    "shape[-1] % blocksize != 0 (e.g. [40, 80] bs 64, [128, 576] bs 128): csrc/cpu_ops.cpp indexes absmax as "
    "row*(shape[-1]/blocksize) + k*2/blocksize. No case here hits it; the script asserts against the torch backend.")

save_file(tensors, str(OUT), metadata={"bitsandbytes": bitsandbytes.__version__, "torch": torch.__version__})
META.write_text(json.dumps(meta, indent=1) + "\n")
print(f"wrote {OUT} ({OUT.stat().st_size} bytes) and {META.name}; disagreement values: {DISAGREE.size}; "
      f"sum lanes {sorted(sum_lanes)}; LUT vs nearest mismatches {lut_vs_nearest}")
