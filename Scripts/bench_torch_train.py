#!/usr/bin/env python3
"""torch + PEFT LoRA training speed and peak memory on the same model, for graft-bench to compare.

Loads the GGUF through transformers (dequantized to float32), attaches PEFT LoRA (r=8, α=16,
all seven linear targets), and times full training steps (forward, backward, AdamW) on one
batch of 1 × SEQ tokens from TOKENS_FILE's text, 2 threads.

Usage: bench_torch_train.py MODEL TEXT_FILE SEQ STEPS
Prints one JSON line: {"tokens_per_second": median over STEPS timed steps (one warm-up step
first), "peak_rss_bytes": the process's peak resident memory, "trainable": parameter count}.
"""
import json
import os
import resource
import statistics
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

model_path, text_file, seq, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(2)
torch.manual_seed(0)
folder, name = os.path.split(os.path.abspath(model_path))
tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj",
                                                         "gate_proj", "up_proj", "down_proj"]))
model.train()
ids = tokenizer(open(text_file).read(), return_tensors="pt").input_ids[:, :seq]
assert ids.shape[1] == seq, f"{text_file} has only {ids.shape[1]} tokens"
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
rates = []
for step in range(steps + 1):
    t0 = time.perf_counter()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if step > 0:
        rates.append(seq / (time.perf_counter() - t0))
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(json.dumps({"tokens_per_second": statistics.median(rates),
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "trainable": trainable, "loss": float(loss)}))
