#!/usr/bin/env python3
"""Reads a Graft training checkpoint with h5py (an outside HDF5 reader) and checks its layout.

Checks: the format attribute; the recipe text and the base model's SHA-256 (and, when the
model file is given, that it matches); the LoRA settings; state/step, state/rng (4 words),
state/data_position (epoch, batch); and that every adapter tensor has optimizer moments of the
same shape (float32), with PEFT key names. Prints a summary; exits non-zero on any failure.

Run: $(Scripts/reference-env.sh) Scripts/check_checkpoint_h5py.py runs/sql/step-000060.h5 [models/X.gguf]
"""
import hashlib
import json
import sys

import h5py
import numpy as np


def main(path, model=None):
    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
        assert attrs["format"] == "graft-checkpoint-1", attrs.get("format")
        lora = json.loads(attrs["lora"])
        assert "[lora]" in attrs["recipe"] and len(attrs["base_sha256"]) == 64
        if model:
            digest = hashlib.sha256(open(model, "rb").read()).hexdigest()
            assert digest == attrs["base_sha256"], f"base hash {attrs['base_sha256']} != {digest}"
        step = f["state/step"][()]
        rng = f["state/rng"][()]
        position = f["state/data_position"][()]
        assert step.shape == (1,) and rng.shape == (4,) and rng.dtype == np.uint64 and position.shape == (2,)
        names = []
        f["adapter"].visit(lambda n: names.append(n) if isinstance(f["adapter"][n], h5py.Dataset) else None)
        assert names, "no adapter tensors"
        params = 0
        for n in names:
            w = f["adapter"][n]
            assert w.dtype == np.float32
            assert n.startswith("base_model.model.model.layers."), n
            for moment in ("m", "v"):
                assert f[f"optimizer/{moment}"][n].shape == w.shape, (n, moment)
            assert np.all(f["optimizer/v"][n][()] >= 0)
            params += w.size
        print(f"{path}: step {int(step[0])}, data position epoch {int(position[0])} batch {int(position[1])}, "
              f"{len(names)} adapter tensors, {params} parameters, rank {lora['rank']}, alpha {lora['alpha']}, "
              f"targets {lora['targets']}, base {attrs['base_sha256'][:12]}…: OK")


if __name__ == "__main__":
    main(*sys.argv[1:3])
