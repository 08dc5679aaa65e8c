#!/usr/bin/env python3
"""Perplexity references for SmolLM2-135M-Instruct Q4_1 on Tests/Fixtures/apache-2.0.txt (the
Apache License 2.0 text as Debian ships it in /usr/share/common-licenses): the file's tokens (no
BOS) cut into consecutive 256-token windows, every token after the first of each window scored.

- llama.cpp (llama-cpp-python, 2 threads, logits for every position): its CPU kernels quantize
  activations, so it is a statistical reference.
- exact: transformers loading the same GGUF, float64 forward over the dequantized weights.
Also records llama.cpp's mean KL divergence from the exact distribution and top-1 agreement.

Writes Tests/Fixtures/perplexity_reference.json.
Run: $(Scripts/reference-env.sh) Scripts/make_perplexity_fixtures.py
"""
import json
import math
import pathlib

import numpy as np
import torch
from llama_cpp import Llama
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL_DIR, MODEL_FILE = ROOT / "models", "SmolLM2-135M-Instruct.Q4_1.gguf"
TEXT = ROOT / "Tests" / "Fixtures" / "apache-2.0.txt"
OUT = ROOT / "Tests" / "Fixtures" / "perplexity_reference.json"
CONTEXT = 256

llm = Llama(model_path=str(MODEL_DIR / MODEL_FILE), n_ctx=CONTEXT, n_batch=CONTEXT, n_threads=2,
            n_threads_batch=2, logits_all=True, verbose=False)
tokens = llm.tokenize(TEXT.read_text().encode(), add_bos=False, special=True)
windows = len(tokens) // CONTEXT
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32).double().eval()


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


nll_cpp = nll_exact = kl = 0.0
agree = scored = 0
for w in range(windows):
    window = tokens[w * CONTEXT:(w + 1) * CONTEXT]
    llm.reset()
    llm.eval(window)
    lp_cpp = log_softmax(np.array(llm.scores[:CONTEXT - 1], dtype=np.float64))
    with torch.no_grad():
        lp_exact = torch.log_softmax(model(torch.tensor([window])).logits[0, :CONTEXT - 1], -1).numpy()
    targets = np.array(window[1:])
    rows = np.arange(CONTEXT - 1)
    nll_cpp -= lp_cpp[rows, targets].sum()
    nll_exact -= lp_exact[rows, targets].sum()
    kl += (np.exp(lp_exact) * (lp_exact - lp_cpp)).sum()
    agree += int((lp_cpp.argmax(-1) == lp_exact.argmax(-1)).sum())
    scored += CONTEXT - 1

result = {
    "text": "Tests/Fixtures/apache-2.0.txt", "context": CONTEXT, "tokens": len(tokens), "windows": windows,
    "scored": scored, "llamacpp_perplexity": math.exp(nll_cpp / scored), "exact_perplexity": math.exp(nll_exact / scored),
    "llamacpp_mean_kl_from_exact": kl / scored, "llamacpp_top1_agreement": agree / scored,
}
OUT.write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=2))
