#!/usr/bin/env python3
"""Reference fixtures for Graft's LoRA training step, computed by transformers, PEFT and PyTorch
(not by Graft); the GGUF is written by gguf-py's GGUFWriter.

Writes Tests/Fixtures/tiny_llama/:
- config.json + model.safetensors: a tiny random HF LlamaForCausalLM (vocab 96, hidden 64, 2 layers,
  4 heads, 2 KV heads, head_dim 16, intermediate 128, rms_norm_eps 1e-5, rope_theta 10000,
  max_position 128, tie_word_embeddings=True; weights N(0, 0.08), norm weights 1 + 0.1*randn,
  rounded to float32), saved by save_pretrained (no lm_head.weight: tied).
- model.gguf: the same weights as GGUF v3, every tensor F32, general.architecture "llama", the
  llama.* hyper-parameter keys, tensor names token_embd / blk.N.{attn_norm, attn_q, attn_k, attn_v,
  attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down} / output_norm (no output.weight: tied).
  The rows of attn_q and attn_k are PERMUTED exactly as llama.cpp's convert_hf_to_gguf.py
  `LlamaModel.permute` does (q with n_head, k with n_head_kv): GGUF uses the interleaved
  (adjacent-pair) RoPE layout, HF the rotate-half layout. See docs formats.md §7.3.
- train_step.safetensors + train_step.json: PEFT LoRA (r=4, alpha=8, all seven projections,
  dropout 0) on the HF model, run in float64 with attn_implementation="eager". Every lora_A is
  overwritten with N(0, 0.1) and every lora_B with N(0, 0.05) (non-zero B so A's gradient is not 0),
  both rounded to float32. One batch of 2 x 12 random token ids; labels = input_ids with the first
  4 positions of row 0 and the first 6 of row 1 set to -100; loss = transformers' causal-LM loss
  (shift by one, mean over non-ignored targets), evaluated with torch cross_entropy in float64
  because transformers' ForCausalLMLoss casts logits to float32 (it is run as a cross-check).
  Keys (LoRA names are PEFT's saved names, i.e. the state-dict name without the adapter name, e.g.
  `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`):
    input_ids, labels            int64 [2, 12]
    init.<name>                  initial LoRA weights
    loss                         [1]  loss at step 1
    grad.<name>                  gradient of the step-1 loss
    after3.<name>                LoRA weights after 3 torch.optim.AdamW steps on the same batch
                                 (lr 1e-2, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01)
    losses                       [3]  the loss before each of the 3 steps (losses[0] == loss)
    loss_after3                  [1]  the loss with the after3 weights
    base_logits_row0             [12, 96] logits of row 0 with the adapter disabled (the base model)
  All float tensors are computed in float64 and stored as F32.

NOTE for consumers of model.gguf: the PEFT names and shapes in train_step are in HF layout. Because
the GGUF's attn_q/attn_k rows are permuted, a consumer running the GGUF must map the lora_B rows of
q_proj (with n_head = 4) and k_proj (with n_head_kv = 2) through the same permutation (lora_A is
unchanged) - and their gradients likewise - to compare with these numbers.

Run: $(Scripts/reference-env.sh) Scripts/make_train_fixtures.py
"""
import json
import pathlib

import gguf
import numpy as np
import peft
import torch
import torch.nn.functional as F
import transformers
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.loss.loss_utils import ForCausalLMLoss

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "Tests" / "Fixtures" / "tiny_llama"

CFG = dict(vocab_size=96, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
           head_dim=16, intermediate_size=128, rms_norm_eps=1e-5, rope_theta=10000.0,
           max_position_embeddings=128, tie_word_embeddings=True)
LORA = dict(r=4, lora_alpha=8, lora_dropout=0.0, bias="none",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
ADAMW = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
STEPS = 3
BATCH, SEQ = 2, 12
PROMPT_LEN = [4, 6]


def permute(w, n_head, n_head_kv=None):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute (HF rotate-half rows -> GGUF interleaved rows)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


torch.manual_seed(7)
OUT_DIR.mkdir(parents=True, exist_ok=True)

# ---- base model (float32 values) ----
config = LlamaConfig(**CFG, attn_implementation="eager")
model = LlamaForCausalLM(config).float()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.copy_(0.08 * torch.randn_like(p))
assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "embeddings must be tied"
model.save_pretrained(OUT_DIR, safe_serialization=True)
(OUT_DIR / "generation_config.json").unlink(missing_ok=True)  # not part of this fixture
sd = {k: v.detach().clone() for k, v in model.state_dict().items() if k != "lm_head.weight"}

# ---- GGUF ----
n_head, n_kv = CFG["num_attention_heads"], CFG["num_key_value_heads"]
writer = gguf.GGUFWriter(str(OUT_DIR / "model.gguf"), "llama")
writer.add_context_length(CFG["max_position_embeddings"])
writer.add_embedding_length(CFG["hidden_size"])
writer.add_block_count(CFG["num_hidden_layers"])
writer.add_feed_forward_length(CFG["intermediate_size"])
writer.add_head_count(n_head)
writer.add_head_count_kv(n_kv)
writer.add_rope_dimension_count(CFG["head_dim"])
writer.add_layer_norm_rms_eps(CFG["rms_norm_eps"])
writer.add_rope_freq_base(CFG["rope_theta"])
writer.add_vocab_size(CFG["vocab_size"])
writer.add_file_type(gguf.LlamaFileType.ALL_F32)
gguf_names = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def to_gguf(hf_name, w):
    if hf_name == "model.embed_tokens.weight":
        return "token_embd.weight", w
    if hf_name == "model.norm.weight":
        return "output_norm.weight", w
    _, _, layer, rest = hf_name.split(".", 3)
    module = rest.rsplit(".weight", 1)[0]
    if module == "self_attn.q_proj":
        w = permute(w, n_head, n_head)
    elif module == "self_attn.k_proj":
        w = permute(w, n_head, n_kv)
    return f"blk.{layer}.{gguf_names[module]}.weight", w


gguf_tensors = {}
for hf_name, w in sd.items():
    name, w = to_gguf(hf_name, w)
    gguf_tensors[name] = w.numpy().astype(np.float32)
    writer.add_tensor(name, gguf_tensors[name])
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()

# ---- LoRA training step in float64 ----
model = model.double()
model.config.use_cache = False
pmodel = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **LORA))
pmodel.double()
lora_params = [(n, p) for n, p in pmodel.named_parameters() if p.requires_grad]
assert all(".lora_A.default." in n or ".lora_B.default." in n for n, _ in lora_params), lora_params
assert len(lora_params) == 2 * 7 * CFG["num_hidden_layers"]
saved = lambda n: n.replace(".default", "")  # noqa: E731  PEFT's saved (adapter-name-free) key
with torch.no_grad():
    for n, p in lora_params:
        std = 0.1 if ".lora_A." in n else 0.05
        p.copy_((std * torch.randn(p.shape, dtype=torch.float64)).float().double())
peft_keys = set(get_peft_model_state_dict(pmodel).keys())
assert peft_keys == {saved(n) for n, _ in lora_params}, sorted(peft_keys ^ {saved(n) for n, _ in lora_params})

input_ids = torch.randint(0, CFG["vocab_size"], (BATCH, SEQ), dtype=torch.int64)
labels = input_ids.clone()
for row, k in enumerate(PROMPT_LEN):
    labels[row, :k] = -100

tensors = {"input_ids": input_ids, "labels": labels}
for n, p in lora_params:
    tensors[f"init.{saved(n)}"] = p.detach().clone()

pmodel.eval()
with torch.no_grad(), pmodel.disable_adapter():
    tensors["base_logits_row0"] = pmodel(input_ids=input_ids).logits[0].clone()

pmodel.train()
opt = torch.optim.AdamW([p for _, p in lora_params], **ADAMW)
losses = []
def causal_lm_loss(logits):
    """transformers' causal-LM loss (shift by one, mean over targets != -100), kept in float64.

    transformers' own ForCausalLMLoss upcasts logits with .float(), i.e. to float32 even for a float64
    model, so it is used here only as a cross-check (agreement to float32 precision)."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, CFG["vocab_size"]), labels[:, 1:].reshape(-1),
                           ignore_index=-100, reduction="mean")


for step in range(STEPS):
    opt.zero_grad(set_to_none=True)
    logits = pmodel(input_ids=input_ids).logits
    loss = causal_lm_loss(logits)
    hf_loss = ForCausalLMLoss(logits.detach(), labels, vocab_size=CFG["vocab_size"])
    assert abs(hf_loss.item() - loss.item()) < 1e-5 * abs(loss.item()), (hf_loss.item(), loss.item())
    loss.backward()
    losses.append(loss.item())
    if step == 0:
        tensors["loss"] = loss.detach().reshape(1)
        for n, p in lora_params:
            assert p.grad is not None and torch.count_nonzero(p.grad) > 0, n
            tensors[f"grad.{saved(n)}"] = p.grad.detach().clone()
    opt.step()
for n, p in lora_params:
    tensors[f"after3.{saved(n)}"] = p.detach().clone()
tensors["losses"] = torch.tensor(losses, dtype=torch.float64)
with torch.no_grad():
    loss_after3 = causal_lm_loss(pmodel(input_ids=input_ids).logits)
    tensors["loss_after3"] = loss_after3.reshape(1)

tensors = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
lora_names = [saved(n) for n, _ in lora_params]
meta = {
    "model_config": CFG,
    "lora_config": LORA,
    "scaling": LORA["lora_alpha"] / LORA["r"],
    "optimizer": {"name": "torch.optim.AdamW", **ADAMW, "betas": list(ADAMW["betas"]), "steps": STEPS,
                  "params": "LoRA A/B only; base weights frozen"},
    "batch": {"batch": BATCH, "seq_len": SEQ, "prompt_masked_positions": PROMPT_LEN,
              "loss": "causal LM loss as transformers defines it (shift by one, mean over targets != -100), "
                      "computed with torch cross_entropy in float64 (transformers' ForCausalLMLoss would upcast "
                      "to float32; it is asserted to agree to 1e-5 relative)"},
    "lora_init": {"lora_A_std": 0.1, "lora_B_std": 0.05},
    "losses": losses, "loss_after3": loss_after3.item(),
    "lora_param_names": lora_names,
    "gguf_qk_permutation": "GGUF attn_q/attn_k rows = permute(HF rows) as in llama.cpp convert_hf_to_gguf.py "
                           "LlamaModel.permute: w.reshape(n, 2, rows//n//2, in).swapaxes(1, 2).reshape(w.shape), "
                           "n = n_head (4) for q, n_head_kv (2) for k; map lora_B rows of q_proj/k_proj likewise",
    "compute": "float64, attn_implementation=eager; stored F32",
    "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
    "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
}
save_file(tensors, str(OUT_DIR / "train_step.safetensors"),
          metadata={"note": "computed in float64 by transformers + PEFT, stored as F32", "torch": torch.__version__,
                    "transformers": transformers.__version__, "peft": peft.__version__})
(OUT_DIR / "train_step.json").write_text(json.dumps(meta, indent=2) + "\n")
for f in sorted(OUT_DIR.iterdir()):
    print(f"wrote {f} ({f.stat().st_size} bytes)")
print("losses", losses, "loss_after3", meta["loss_after3"])
