#!/usr/bin/env python3
"""llama.cpp's speed on the same model and tokens, for graft-bench to compare against.

Usage: bench_llamacpp.py MODEL IDS(comma-separated) DECODE_TOKENS REPEATS
Prints one JSON line: {"prefill": tok/s, "decode": tok/s} (medians), 2 threads, n_batch 512.
"""
import json
import statistics
import sys
import time

import numpy as np
from llama_cpp import Llama

model_path, ids, n_decode, repeats = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=model_path, n_ctx=len(ids) + n_decode + 8, n_batch=512, n_threads=2, n_threads_batch=2,
            verbose=False)
prefill, decode = [], []
for _ in range(repeats + 1):  # the first round warms up
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    for _ in range(n_decode):
        last = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))  # the last position's logits
        token = int(last.argmax())
        llm.eval([token])
    t2 = time.perf_counter()
    prefill.append(len(ids) / (t1 - t0))
    decode.append(n_decode / (t2 - t1))
print(json.dumps({"prefill": statistics.median(prefill[1:]), "decode": statistics.median(decode[1:])}))
