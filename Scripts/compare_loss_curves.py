#!/usr/bin/env python3
"""Compares two training runs' loss curves (their metrics.jsonl), e.g. bfloat16 against float32
compute on the same recipe: the per-step training losses, the validation losses, and how the
difference between the runs compares with the curve's own step-to-step movement.

Usage: compare_loss_curves.py A/metrics.jsonl B/metrics.jsonl
"""
import json
import statistics
import sys


def read(path):
    train, valid = {}, {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "train":
                train[r["step"]] = r["loss"]
            elif r.get("kind") == "eval":
                valid[r["step"]] = r["val_loss"] if "val_loss" in r else r["loss"]
    return train, valid


(a_train, a_valid), (b_train, b_valid) = read(sys.argv[1]), read(sys.argv[2])
steps = sorted(set(a_train) & set(b_train))
if not steps:
    sys.exit("no common training steps")
diffs = [abs(a_train[s] - b_train[s]) for s in steps]
moves = [abs(a_train[s] - a_train[p]) for p, s in zip(steps, steps[1:])]
print(f"{len(steps)} common steps")
print(f"train loss: largest |A−B| {max(diffs):.4f} (step {steps[diffs.index(max(diffs))]}), mean {statistics.mean(diffs):.4f}")
print(f"            largest relative {max(d / abs(a_train[s]) for d, s in zip(diffs, steps)):.2%}")
print(f"A's own step-to-step change: mean {statistics.mean(moves):.4f} (the noise the difference is set against)")
for s in sorted(set(a_valid) & set(b_valid)):
    print(f"validation step {s}: A {a_valid[s]:.4f}  B {b_valid[s]:.4f}  (Δ {b_valid[s] - a_valid[s]:+.4f})")
print("first/last train losses: A " + " ".join(f"{a_train[s]:.4f}" for s in (steps[0], steps[-1]))
      + "  B " + " ".join(f"{b_train[s]:.4f}" for s in (steps[0], steps[-1])))
