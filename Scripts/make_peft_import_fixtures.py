#!/usr/bin/env python3
"""An adapter trained by PEFT (not by graft) on the real SmolLM2 base, the llama.cpp LoRA GGUF
that llama.cpp's own `convert_lora_to_gguf.py` makes of it, and PEFT's logits with it, for
graft's importers (`graft import --format peft|gguf`) to be checked against.

- transformers loads models/SmolLM2-135M-Instruct.Q4_1.gguf (gguf-py dequantizes it and puts
  q/k rows back in Hugging Face order); `get_peft_model` adds LoRA r=4, alpha=16 on
  q/k/v/o_proj; 12 AdamW steps on chats from Datasets/sql/train.jsonl train it (B is no longer
  zero). The weights are rounded to bfloat16 and saved as PEFT saves them, then stored as BF16
  (a common way adapters travel) in Tests/Fixtures/peft_import/.
- convert_lora_to_gguf.py (llama.cpp's, from the sdist of the installed llama-cpp-python, which
  the script fetches from PyPI's simple index unless --converter names one) turns that folder into Tests/Fixtures/peft_import.gguf (--outtype f32), with the
  base's config.json saved by transformers as its --base.
- Tests/Fixtures/peft_import_reference.safetensors: token ids (a chat from valid.jsonl), and the
  float64 PEFT model's logits there: log-sum-exp, the 20 largest with ids, 256 fixed random
  columns, and the same columns of the base alone (so a check can tell the adapter was applied).

Run: $(Scripts/reference-env.sh) Scripts/make_peft_import_fixtures.py [--converter DIR/convert_lora_to_gguf.py]
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

import numpy as np
import torch
from llama_cpp import Llama
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.numpy import save_file
from safetensors.torch import load_file as load_torch, save_file as save_torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL_DIR, MODEL_FILE = ROOT / "models", "SmolLM2-135M-Instruct.Q4_1.gguf"
FIX = ROOT / "Tests" / "Fixtures"
PEFT_DIR = FIX / "peft_import"
GGUF_OUT = FIX / "peft_import.gguf"
REF_OUT = FIX / "peft_import_reference.safetensors"

ap = argparse.ArgumentParser()
ap.add_argument("--converter", help="llama.cpp's convert_lora_to_gguf.py (default: from the llama-cpp-python sdist)")
args = ap.parse_args()


def fetch_converter():
    """convert_lora_to_gguf.py with the modules it imports, from the llama-cpp-python sdist."""
    import llama_cpp
    version = llama_cpp.__version__
    index = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-python/").read().decode()
    url = re.search(rf'href="([^"]*llama_cpp_python-{re.escape(version)}\.tar\.gz[^"]*)"', index).group(1)
    folder = pathlib.Path(tempfile.mkdtemp(prefix="llama-cpp-sdist-"))
    archive = folder / "sdist.tar.gz"
    urllib.request.urlretrieve(url.split("#")[0], archive)
    root = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(root) and
                   (m.name.endswith(".py") and m.name.count("/") == root.count("/") or
                    m.name.startswith(root + "conversion/") or m.name.startswith(root + "gguf-py/"))]
        tar.extractall(folder, members=members)
    return str(folder / root / "convert_lora_to_gguf.py")


if args.converter is None:
    args.converter = fetch_converter()
    print(f"converter: {args.converter}")

torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
vocab = Llama(model_path=str(MODEL_DIR / MODEL_FILE), vocab_only=True, verbose=False)
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32)
config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                    lora_dropout=0.0, task_type="CAUSAL_LM")
peft_model = get_peft_model(model, config)

chats = [json.loads(l)["messages"] for l in (ROOT / "Datasets" / "sql" / "train.jsonl").read_text().splitlines()[:24]]
encoded = [vocab.tokenize(tok.apply_chat_template(c, tokenize=False).encode(), add_bos=False, special=True) for c in chats]
optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=2e-3)
peft_model.train()
for step in range(12):
    batch = encoded[(step * 2) % len(encoded):(step * 2) % len(encoded) + 2]
    loss = sum(peft_model(torch.tensor([ids]), labels=torch.tensor([ids])).loss for ids in batch) / len(batch)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step + 1}: loss {loss.item():.4f}")
with torch.no_grad():
    for name, p in peft_model.named_parameters():
        if "lora_" in name:
            p.copy_(p.to(torch.bfloat16).to(torch.float32))

PEFT_DIR.mkdir(parents=True, exist_ok=True)
peft_model.save_pretrained(str(PEFT_DIR))
weights = PEFT_DIR / "adapter_model.safetensors"
tensors = load_torch(str(weights))
save_torch({k: v.to(torch.bfloat16) for k, v in tensors.items()}, str(weights), metadata={"format": "pt"})
(PEFT_DIR / "README.md").unlink(missing_ok=True)
print(f"wrote {PEFT_DIR} ({len(tensors)} tensors, BF16)")

with tempfile.TemporaryDirectory() as base_dir:
    base_config = AutoConfig.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE)
    base_config.architectures = ["LlamaForCausalLM"]
    base_config.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    subprocess.run([sys.executable, args.converter, "--outfile", str(GGUF_OUT), "--outtype", "f32",
                    "--base", base_dir, str(PEFT_DIR)], check=True)
print(f"wrote {GGUF_OUT} ({GGUF_OUT.stat().st_size} bytes)")

# Reference logits: a fresh float64 base with the saved (BF16) adapter loaded by PEFT.
chat = json.loads((ROOT / "Datasets" / "sql" / "valid.jsonl").read_text().splitlines()[0])["messages"]
ids = vocab.tokenize(tok.apply_chat_template(chat, tokenize=False).encode(), add_bos=False, special=True)
base = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=MODEL_FILE, dtype=torch.float32).double().eval()
with torch.no_grad():
    base_logits = base(torch.tensor([ids])).logits[0]
loaded = PeftModel.from_pretrained(base, str(PEFT_DIR)).double().eval()
with torch.no_grad():
    logits = loaded(torch.tensor([ids])).logits[0]
columns = np.sort(np.random.default_rng(11).choice(logits.shape[1], size=256, replace=False))
top = torch.topk(logits, 20, dim=-1)
save_file({
    "prompt.ids": np.asarray(ids, dtype=np.int64),
    "logits.lse": torch.logsumexp(logits, -1).numpy().astype(np.float32),
    "logits.top_ids": top.indices.numpy().astype(np.int64),
    "logits.top_values": top.values.numpy().astype(np.float32),
    "logits.columns": columns.astype(np.int64),
    "logits.column_values": logits[:, columns].numpy().astype(np.float32),
    "base.column_values": base_logits[:, columns].numpy().astype(np.float32),
}, str(REF_OUT), metadata={"note": "PEFT 0.21 over transformers' GGUF load, float64; adapter from Tests/Fixtures/peft_import"})
print(f"wrote {REF_OUT}: {len(ids)} positions; the adapter moves the stored columns by up to "
      f"{(logits[:, columns] - base_logits[:, columns]).abs().max().item():.3f}")
