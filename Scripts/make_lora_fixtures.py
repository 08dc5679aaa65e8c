#!/usr/bin/env python3
"""Reference fixtures for Graft's LoRA linear layer, computed by PEFT and PyTorch (not by Graft).

Writes Tests/Fixtures/lora_linear.safetensors (all F32) and the sidecar Tests/Fixtures/lora_linear.json.
A tiny nn.Module with one attribute `q_proj = nn.Linear(40, 24, bias=False)` is wrapped by
peft.get_peft_model(LoraConfig(target_modules=["q_proj"], lora_dropout=0)) and run in float64.
Every input (W, x, A, B, probe) is drawn, rounded to float32 and stored, and the float64 model is
loaded from those float32 values, so a float32/float64 consumer can reproduce the results exactly
up to its own rounding. Results are computed in float64 and stored as float32.

Cases (every key is prefixed with the case name, e.g. `plain.W`):
- `plain` (r=4, alpha=8), `rslora` (r=4, alpha=8, use_rslora), `dora` (r=4, alpha=8, use_dora),
  `dora_rslora` (both). Keys: W [24,40], x [5,40], A [4,40], B [24,4], probe [5,24],
  y = model(x) in eval mode [5,24], grad.x / grad.A / grad.B of L = sum(y * probe),
  merged_W (base_layer.weight after merge_adapter()), unmerged_W (after unmerge_adapter()).
  DoRA cases also store m_init = the magnitude vector PEFT computed in get_peft_model (default init,
  B = 0, so it is the row norms of W), m (= m_init; A and B are overwritten with N(0, 0.2) afterwards
  and the magnitude is kept), and grad.m.
- `init`: PEFT's default init for r=8 on in=40: `init.A_absmax_bound` = [max|A|, 1/sqrt(40)]
  (kaiming_uniform_(a=sqrt(5)) gives A ~ U(-1/sqrt(in), 1/sqrt(in))) and `init.B` (all zero).

The sidecar lists each case's r, alpha, use_rslora, use_dora and the scaling PEFT used.

Run: $(Scripts/reference-env.sh) Scripts/make_lora_fixtures.py
"""
import json
import math
import pathlib

import peft
import torch
import torch.nn as nn
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "lora_linear.safetensors"
OUT_JSON = ROOT / "Tests" / "Fixtures" / "lora_linear.json"
IN, OUT_F, N = 40, 24, 5
ADAPTER = "default"


class Tiny(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.q_proj = nn.Linear(in_features, out_features, bias=False)

    def forward(self, x):
        return self.q_proj(x)


def f32(t):
    """Round to float32 (the stored value) and return it as float64 for the model."""
    return t.float().double()


CASES = {
    "plain": dict(r=4, lora_alpha=8, use_rslora=False, use_dora=False),
    "rslora": dict(r=4, lora_alpha=8, use_rslora=True, use_dora=False),
    "dora": dict(r=4, lora_alpha=8, use_rslora=False, use_dora=True),
    "dora_rslora": dict(r=4, lora_alpha=8, use_rslora=True, use_dora=True),
}

torch.manual_seed(20240601)
tensors, meta_cases = {}, {}
for case, opts in CASES.items():
    W = f32(torch.randn(OUT_F, IN, dtype=torch.float64) * 0.3)
    x = f32(torch.randn(N, IN, dtype=torch.float64))
    base = Tiny(IN, OUT_F).double()
    with torch.no_grad():
        base.q_proj.weight.copy_(W)
    config = LoraConfig(target_modules=["q_proj"], lora_dropout=0.0, bias="none", **opts)
    model = get_peft_model(base, config)
    model.double()
    layer = model.base_model.model.q_proj
    lora_A, lora_B = layer.lora_A[ADAPTER].weight, layer.lora_B[ADAPTER].weight
    assert lora_A.shape == (opts["r"], IN) and lora_B.shape == (OUT_F, opts["r"])
    assert torch.count_nonzero(lora_B) == 0, "PEFT default init should give B = 0"
    entry = {k: opts[k] for k in ("r", "lora_alpha", "use_rslora", "use_dora")}
    entry["scaling"] = float(layer.scaling[ADAPTER])
    expected = opts["lora_alpha"] / (math.sqrt(opts["r"]) if opts["use_rslora"] else opts["r"])
    assert abs(entry["scaling"] - expected) < 1e-12, (entry["scaling"], expected)

    magnitude = None
    if opts["use_dora"]:
        magnitude = layer.lora_magnitude_vector[ADAPTER].weight
        assert magnitude.shape == (OUT_F,)
        tensors[f"{case}.m_init"] = magnitude.detach().clone()

    A = f32(torch.randn(opts["r"], IN, dtype=torch.float64) * 0.2)
    B = f32(torch.randn(OUT_F, opts["r"], dtype=torch.float64) * 0.2)
    probe = f32(torch.randn(N, OUT_F, dtype=torch.float64))
    with torch.no_grad():
        lora_A.copy_(A)
        lora_B.copy_(B)
    if magnitude is not None:
        # Stored float32 so that the model runs on exactly the stored value.
        with torch.no_grad():
            magnitude.copy_(f32(magnitude))

    model.eval()
    xg = x.clone().requires_grad_(True)
    y = model(xg)
    (y * probe).sum().backward()
    tensors.update({f"{case}.W": W, f"{case}.x": x, f"{case}.A": A, f"{case}.B": B, f"{case}.probe": probe,
                    f"{case}.y": y.detach(), f"{case}.grad.x": xg.grad,
                    f"{case}.grad.A": lora_A.grad.clone(), f"{case}.grad.B": lora_B.grad.clone()})
    assert layer.get_base_layer().weight.grad is None, "base weight must be frozen"
    if magnitude is not None:
        tensors[f"{case}.m"] = magnitude.detach().clone()
        tensors[f"{case}.grad.m"] = magnitude.grad.clone()

    with torch.no_grad():
        model.merge_adapter()
        tensors[f"{case}.merged_W"] = layer.get_base_layer().weight.detach().clone()
        y_merged = model(x)  # forward on merged weight (adapter not applied again)
        model.unmerge_adapter()
        tensors[f"{case}.unmerged_W"] = layer.get_base_layer().weight.detach().clone()
    entry["merged_forward_max_abs_diff"] = float((y_merged - y.detach()).abs().max())
    entry["unmerge_max_abs_diff_vs_W"] = float((tensors[f"{case}.unmerged_W"] - W).abs().max())
    meta_cases[case] = entry

# Default init (kaiming_uniform_(a=sqrt(5)) for A, zeros for B) for r=8, in=40.
base = Tiny(IN, OUT_F).double()
model = get_peft_model(base, LoraConfig(r=8, lora_alpha=8, target_modules=["q_proj"], lora_dropout=0.0))
layer = model.base_model.model.q_proj
A0, B0 = layer.lora_A[ADAPTER].weight.detach(), layer.lora_B[ADAPTER].weight.detach()
bound = 1 / math.sqrt(IN)
assert float(A0.abs().max()) <= bound
tensors["init.A_absmax_bound"] = torch.tensor([float(A0.abs().max()), bound], dtype=torch.float64)
tensors["init.B"] = B0.clone()
meta_cases["init"] = {"r": 8, "lora_alpha": 8, "use_rslora": False, "use_dora": False,
                      "scaling": float(layer.scaling[ADAPTER]), "in_features": IN, "out_features": OUT_F,
                      "A_absmax": float(A0.abs().max()), "kaiming_bound": bound}

tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}
sidecar = {
    "description": "PEFT LoRA on nn.Linear(40, 24, bias=False) named q_proj; float64 compute, F32 storage. "
                   "Loss for gradients: L = sum(y * probe). lora_dropout = 0. y computed in eval mode.",
    "in_features": IN, "out_features": OUT_F, "batch": N,
    "torch": torch.__version__, "peft": peft.__version__,
    "cases": meta_cases,
}
OUT.parent.mkdir(parents=True, exist_ok=True)
save_file(tensors, str(OUT), metadata={"torch": torch.__version__, "peft": peft.__version__,
                                       "note": "computed in float64 by PEFT, stored as F32"})
OUT_JSON.write_text(json.dumps(sidecar, indent=2) + "\n")
print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(tensors)} tensors) and {OUT_JSON}")
