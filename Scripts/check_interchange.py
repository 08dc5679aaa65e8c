#!/usr/bin/env python3
"""Checks graft's adapter exports and merges with the outside tools that consume them, on the
real SmolLM2 base (`make interop` runs it; the numbers go into the issue note):

1. PEFT: `graft export --format peft` → transformers' load of the same GGUF (float64) wrapped by
   `PeftModel.from_pretrained`; its logits against `graft logits --kernels exact` with the adapter.
2. llama.cpp LoRA: `graft export --format gguf` → llama-cpp-python with `lora_path`; mean KL of
   llama.cpp's next-token distribution from graft's, and both perplexities (llama.cpp quantizes
   activations, so this is statistical).
3. Merge: `graft merge --type f32|f16|q8_0|q4_1` → each file's size, llama.cpp's perplexity and
   mean KL against graft's unmerged adapter, graft's own KL on the merged file, and one chat
   answer from llama.cpp on the merged model.

Tokens: the first chats of Datasets/sql/valid.jsonl rendered with the model's template.
Run: $(Scripts/reference-env.sh) Scripts/check_interchange.py [--graft .build/release/graft]
     [--adapter sql] [--tokens 512] [--work DIR]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch
from llama_cpp import Llama
from peft import PeftModel
from safetensors.numpy import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL_DIR, MODEL_FILE = ROOT / "models", "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL = str(MODEL_DIR / MODEL_FILE)

ap = argparse.ArgumentParser()
ap.add_argument("--graft", default=str(ROOT / ".build" / "release" / "graft"))
ap.add_argument("--adapter", default="sql")
ap.add_argument("--tokens", type=int, default=512)
ap.add_argument("--work", default=None)
args = ap.parse_args()
work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="graft-interop-"))
work.mkdir(parents=True, exist_ok=True)


def graft(*a):
    out = subprocess.run([args.graft, *map(str, a)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"graft {' '.join(map(str, a))} failed:\n{out.stderr}")
    return out.stdout


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def kl(p_logits, q_logits):
    """Mean over positions of KL(P || Q), P the reference."""
    lp, lq = log_softmax(p_logits), log_softmax(q_logits)
    return float((np.exp(lp) * (lp - lq)).sum(-1).mean())


def ppl(logits, ids):
    lp = log_softmax(logits[:-1])
    return float(np.exp(-lp[np.arange(len(ids) - 1), ids[1:]].mean()))


# Tokens: chats rendered with the template, tokenized by llama.cpp's tokenizer.
hf_tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
vocab = Llama(model_path=MODEL, vocab_only=True, verbose=False)
ids = []
for line in (ROOT / "Datasets" / "sql" / "valid.jsonl").read_text().splitlines():
    text = hf_tok.apply_chat_template(json.loads(line)["messages"], tokenize=False)
    ids += vocab.tokenize(text.encode(), add_bos=False, special=True)
    if len(ids) >= args.tokens:
        break
ids = ids[: args.tokens]
(work / "tokens.json").write_text(json.dumps(ids))
print(f"{len(ids)} tokens of Datasets/sql/valid.jsonl chats; adapter {args.adapter}; work folder {work}")


def graft_logits(model, adapter=None):
    out = work / f"logits-{len(os.listdir(work))}.safetensors"
    extra = ["--adapter", adapter] if adapter else []
    graft("logits", "--model", model, "--tokens", work / "tokens.json", "--out", out, *extra)
    return load_file(str(out))["logits"]


ours = graft_logits(MODEL, args.adapter)
base = graft_logits(MODEL)
results = {"tokens": len(ids), "adapter": args.adapter}

# 1. PEFT
graft("export", "--format", "peft", args.adapter, work / "peft", "--model", MODEL)
hf = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32).double().eval()
with torch.no_grad():
    hf_base = hf(torch.tensor([ids])).logits[0].numpy()
peft_model = PeftModel.from_pretrained(hf, str(work / "peft")).double().eval()
with torch.no_grad():
    peft_logits = peft_model(torch.tensor([ids])).logits[0].numpy()
results["peft_export_max_abs"] = float(np.abs(peft_logits - ours).max())
results["base_max_abs"] = float(np.abs(hf_base - base).max())
results["adapter_effect_max_abs"] = float(np.abs(peft_logits - hf_base).max())
print(f"PEFT export: max |peft - graft| = {results['peft_export_max_abs']:.2e} over {ours.size} logits "
      f"(base alone {results['base_max_abs']:.2e}; the adapter moves logits by up to {results['adapter_effect_max_abs']:.1f})")

# 2. llama.cpp LoRA
graft("export", "--format", "gguf", args.adapter, work / "adapter.gguf", "--model", MODEL)


def llama_logits(model_path, lora=None):
    kw = {"lora_path": str(lora)} if lora else {}
    llm = Llama(model_path=str(model_path), n_ctx=max(1024, len(ids) + 8), n_batch=len(ids), n_ubatch=len(ids),
                logits_all=True, verbose=False, seed=0, **kw)
    llm.eval(ids)
    out = np.array(llm.scores[: len(ids)], dtype=np.float32)
    llm.close()
    return out


lc_lora = llama_logits(MODEL, work / "adapter.gguf")
lc_base = llama_logits(MODEL)
results["gguf_lora"] = {
    "kl": kl(ours, lc_lora), "ppl_graft": ppl(ours, ids), "ppl_llama": ppl(lc_lora, ids),
    "kl_base": kl(base, lc_base), "ppl_base_graft": ppl(base, ids), "ppl_base_llama": ppl(lc_base, ids),
}
g = results["gguf_lora"]
print(f"llama.cpp + GGUF LoRA: mean KL(graft || llama.cpp) = {g['kl']:.5f}; perplexity graft {g['ppl_graft']:.4f}, "
      f"llama.cpp {g['ppl_llama']:.4f} ({100 * (g['ppl_llama'] / g['ppl_graft'] - 1):+.2f}%); base alone: KL {g['kl_base']:.5f}, "
      f"ppl {g['ppl_base_graft']:.4f} vs {g['ppl_base_llama']:.4f}")

# 3. Merge
rows = []
for t in ["f32", "f16", "q8_0", "q4_1"]:
    path = work / f"merged-{t}.gguf"
    graft("merge", "--model", MODEL, "--adapter", args.adapter, "--out", path, "--type", t)
    lc = llama_logits(path)
    mine = graft_logits(str(path))
    rows.append({"type": t, "mb": path.stat().st_size / 1e6, "ppl_llama": ppl(lc, ids), "kl_llama": kl(ours, lc),
                 "ppl_graft": ppl(mine, ids), "kl_graft": kl(ours, mine)})
results["merge"] = rows
results["unmerged_ppl_graft"] = ppl(ours, ids)
results["base_vs_adapter"] = {"kl": kl(ours, base), "ppl": ppl(base, ids)}
print(f"\nmerge of {args.adapter} (unmerged adapter, graft exact: perplexity {results['unmerged_ppl_graft']:.4f}; base file {os.path.getsize(MODEL) / 1e6:.1f} MB)")
print("| type | size MB | llama.cpp ppl | llama.cpp mean KL | graft ppl | graft mean KL |")
print("|---|---|---|---|---|---|")
print(f"| base, no adapter (graft) | {os.path.getsize(MODEL) / 1e6:.1f} | | | {results['base_vs_adapter']['ppl']:.4f} | {results['base_vs_adapter']['kl']:.6f} |")
for r in rows:
    print(f"| {r['type']} | {r['mb']:.1f} | {r['ppl_llama']:.4f} | {r['kl_llama']:.5f} | {r['ppl_graft']:.4f} | {r['kl_graft']:.6f} |")

llm = Llama(model_path=str(work / "merged-q8_0.gguf"), n_ctx=512, verbose=False, seed=0)
question = "List the names of employees in the Sales department."
answer = llm.create_chat_completion([{"role": "user", "content": question}], max_tokens=48, temperature=0)
results["chat"] = {"question": question, "answer": answer["choices"][0]["message"]["content"]}
print(f"\nllama.cpp chatting with merged-q8_0.gguf: {question!r} -> {results['chat']['answer']!r}")
(work / "results.json").write_text(json.dumps(results, indent=1))
print(f"results: {work / 'results.json'}")
