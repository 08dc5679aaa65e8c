#!/usr/bin/env python3
"""Reference fixtures for GraftTensor, computed by PyTorch and transformers (not by Graft).

Writes Tests/Fixtures/llama_block.safetensors: one transformers LlamaDecoderLayer (RMSNorm,
attention with rotate-half RoPE and grouped KV heads, SwiGLU MLP, residuals) with random
weights, run in float64 on a random input; the output and the gradients of
L = sum(output * probe) with respect to the input and every weight. Also a cross-entropy
case (torch.nn.functional.cross_entropy with ignore_index=-100) and its gradient.

Run: $(Scripts/reference-env.sh) Scripts/make_tensor_fixtures.py
"""
import json
import pathlib

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from transformers.models.llama.modeling_llama import LlamaConfig, LlamaDecoderLayer, LlamaRotaryEmbedding

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "llama_block.safetensors"

torch.manual_seed(1234)
B, T = 2, 7
cfg = dict(hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2,
           head_dim=16, rms_norm_eps=1e-5, rope_theta=10000.0)
config = LlamaConfig(**cfg, attn_implementation="eager")
layer = LlamaDecoderLayer(config, layer_idx=0).double().eval()
with torch.no_grad():
    for name, p in layer.named_parameters():
        if "layernorm" in name:
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.copy_(0.1 * torch.randn_like(p))

rotary = LlamaRotaryEmbedding(config)
x = torch.randn(B, T, 64, dtype=torch.float64, requires_grad=True)
positions = torch.tensor([[100 + t for t in range(T)]] * B)  # away from 0 so rotations matter
cos, sin = rotary(x, positions)
mask = torch.full((T, T), torch.finfo(torch.float64).min, dtype=torch.float64).triu(1)[None, None].expand(B, 1, T, T)
out = layer(x, attention_mask=mask, position_ids=positions, position_embeddings=(cos, sin))
y = out[0] if isinstance(out, tuple) else out
probe = torch.randn_like(y)
(y * probe).sum().backward()

names = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "wq", "self_attn.k_proj": "wk",
    "self_attn.v_proj": "wv", "self_attn.o_proj": "wo", "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "w_gate", "mlp.up_proj": "w_up", "mlp.down_proj": "w_down",
}
tensors = {"input": x.detach(), "probe": probe, "output": y.detach(), "grad.input": x.grad}
for name, p in layer.named_parameters():
    short = names[name.rsplit(".weight", 1)[0]]
    tensors[f"weight.{short}"] = p.detach()
    tensors[f"grad.{short}"] = p.grad

# Cross-entropy with ignored targets.
logits = (2 * torch.randn(6, 11, dtype=torch.float64)).requires_grad_()
targets = torch.tensor([3, -100, 0, 10, -100, 5])
loss = F.cross_entropy(logits, targets, ignore_index=-100)
loss.backward()
tensors.update({"ce.logits": logits.detach(), "ce.targets": targets, "ce.loss": loss.detach().reshape(1),
                "ce.grad": logits.grad})

tensors = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
meta = {"config": json.dumps(cfg), "positions": json.dumps(positions[0].tolist()),
        "torch": torch.__version__, "transformers": transformers.__version__,
        "note": "computed in float64 by transformers LlamaDecoderLayer, stored as F32"}
OUT.parent.mkdir(parents=True, exist_ok=True)
save_file(tensors, str(OUT), metadata=meta)
print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(tensors)} tensors)")

# AdamW: three steps of torch.optim.AdamW in float32 on given gradients.
ADAM_OUT = OUT.parent / "adamw.safetensors"
p = torch.randn(37, dtype=torch.float32, requires_grad=True)
adam = {"p0": p.detach().clone()}
opt = torch.optim.AdamW([p], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
for step in range(1, 4):
    g = torch.randn(37, dtype=torch.float32) * (10.0 ** (1 - step))  # shrinking gradients
    p.grad = g.clone()
    opt.step()
    adam[f"g{step}"] = g
    adam[f"p{step}"] = p.detach().clone()
save_file(adam, str(ADAM_OUT), metadata={"lr": "0.01", "betas": "0.9,0.999", "eps": "1e-8",
                                         "weight_decay": "0.1", "torch": torch.__version__})
print(f"wrote {ADAM_OUT}")
