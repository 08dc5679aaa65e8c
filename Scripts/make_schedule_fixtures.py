#!/usr/bin/env python3
"""Reference learning-rate schedules and gradient clipping, computed by transformers and torch.

Writes Tests/Fixtures/schedules.json:
- the learning rate of every optimizer step (0-based, the rate the step uses) from transformers'
  get_constant_schedule_with_warmup, get_linear_schedule_with_warmup,
  get_cosine_schedule_with_warmup and get_cosine_with_min_lr_schedule_with_warmup
  (peak 2e-4, warmup 10, 100 steps; min_lr_rate 0.1 for the last);
- torch.nn.utils.clip_grad_norm_ on three float32 gradients: the returned norm and the
  clipped gradients, for a limit below and a limit above the norm.

Run: $(Scripts/reference-env.sh) Scripts/make_schedule_fixtures.py
"""
import json
import pathlib

import torch
from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_cosine_with_min_lr_schedule_with_warmup, get_linear_schedule_with_warmup)

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "schedules.json"
PEAK, WARMUP, STEPS = 2e-4, 10, 100


def rates(make):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=PEAK)
    sched = make(opt)
    out = []
    for _ in range(STEPS):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


fixture = {
    "peak": PEAK, "warmup": WARMUP, "steps": STEPS,
    "constant": rates(lambda o: get_constant_schedule_with_warmup(o, WARMUP)),
    "linear": rates(lambda o: get_linear_schedule_with_warmup(o, WARMUP, STEPS)),
    "cosine": rates(lambda o: get_cosine_schedule_with_warmup(o, WARMUP, STEPS)),
    "cosine_min_lr_0.1": rates(lambda o: get_cosine_with_min_lr_schedule_with_warmup(o, WARMUP, STEPS, min_lr_rate=0.1)),
}

torch.manual_seed(0)
grads = [torch.randn(4, 6), torch.randn(10), torch.randn(3, 3) * 3]
clips = []
for limit in (1.0, 100.0):
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    norm = torch.nn.utils.clip_grad_norm_(params, limit)
    clips.append({"max_norm": limit, "norm": norm.item(), "grads": [g.flatten().tolist() for g in grads],
                  "clipped": [p.grad.flatten().tolist() for p in params]})
fixture["clip"] = clips
fixture["versions"] = {"torch": torch.__version__, "transformers": __import__("transformers").__version__}
OUT.write_text(json.dumps(fixture, indent=1) + "\n")
print("wrote", OUT)
