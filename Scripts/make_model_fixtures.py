#!/usr/bin/env python3
"""Reference numbers for Graft's Llama forward on the real SmolLM2-135M-Instruct Q4_1, from an
outside implementation: transformers loads the same GGUF (gguf-py dequantizes it and undoes the
Q/K row permutation), and the forward runs in float64 over the exactly dequantized weights.

Writes Tests/Fixtures/smollm2_reference.safetensors:
- prompt ids (llama.cpp's tokenization of Tests/Fixtures/english.txt's start, no BOS) and, for
  every position: argmax, log-sum-exp, the 20 largest logits with their ids, and the logits of
  256 fixed random vocabulary columns;
- greedy continuations (32 tokens) of a few chat prompts rendered with the model's template.

Run: $(Scripts/reference-env.sh) Scripts/make_model_fixtures.py
"""
import json
import pathlib

import numpy as np
import torch
from llama_cpp import Llama
from safetensors.numpy import save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL_DIR, MODEL_FILE = ROOT / "models", "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = ROOT / "Tests" / "Fixtures" / "smollm2_reference.safetensors"
POSITIONS = 160
CHAT_PROMPTS = [
    "What is the capital of France?",
    "Write one sentence about the sea.",
    "List three colors.",
    "What is 2 + 3?",
]

torch.manual_seed(0)
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32).double().eval()
hf_tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
vocab = Llama(model_path=str(MODEL_DIR / MODEL_FILE), vocab_only=True, verbose=False)

text = (ROOT / "Tests" / "Fixtures" / "english.txt").read_text()
ids = vocab.tokenize(text.encode(), add_bos=False, special=True)[:POSITIONS]
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0]  # [T, V] float64
V = logits.shape[1]
columns = np.sort(np.random.default_rng(5).choice(V, size=256, replace=False))
top = torch.topk(logits, 20, dim=-1)
tensors = {
    "prompt.ids": np.asarray(ids, dtype=np.int64),
    "logits.argmax": logits.argmax(-1).numpy().astype(np.int64),
    "logits.lse": torch.logsumexp(logits, -1).numpy().astype(np.float32),
    "logits.top_ids": top.indices.numpy().astype(np.int64),
    "logits.top_values": top.values.numpy().astype(np.float32),
    "logits.columns": columns.astype(np.int64),
    "logits.column_values": logits[:, columns].numpy().astype(np.float32),
}

template = hf_tok.chat_template
for i, prompt in enumerate(CHAT_PROMPTS):
    rendered = hf_tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                          add_generation_prompt=True)
    p = vocab.tokenize(rendered.encode(), add_bos=False, special=True)
    out = model.generate(torch.tensor([p]), max_new_tokens=32, do_sample=False, eos_token_id=2, pad_token_id=2)
    cont = out[0, len(p):].tolist()
    tensors[f"chat{i}.prompt"] = np.asarray(p, dtype=np.int64)
    tensors[f"chat{i}.greedy"] = np.asarray(cont, dtype=np.int64)
    print(repr(prompt), "->", repr(hf_tok.decode(cont)))

meta = {"prompts": json.dumps(CHAT_PROMPTS), "note": "transformers GGUF load, float64 forward"}
save_file(tensors, str(OUT), metadata=meta)
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
