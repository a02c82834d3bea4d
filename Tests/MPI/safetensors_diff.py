#!/usr/bin/env python3
"""Reads the weights of safetensors checkpoints (standard library only) for Tests/MPI/run.sh.

  safetensors_diff.py gradient W0 W1_A W1_B LR   first-step gradients g = (W0 − W1)/LR of two runs
                                                 (plain SGD) agree to 1e-6 of the largest |g|
  safetensors_diff.py loads FILE                 the file parses and every weight is finite
"""
import array, math, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../dev/golden"))
from compare import tensors   # name → (dtype, shape, bytes)

def weights(path):
    """The F32 weights (not the training state) as float arrays."""
    out = {}
    for name, (dtype, _, data) in tensors(path).items():
        if not name.startswith("train.") and dtype == "F32":
            out[name] = array.array("f", data)
    return out

if sys.argv[1] == "loads":
    w = weights(sys.argv[2])
    bad = [k for k, a in w.items() if not all(math.isfinite(x) for x in a)]
    if not w or bad:
        sys.exit(f"{sys.argv[2]}: {len(w)} tensors, not finite: {bad}")
    print(f"{sys.argv[2]}: {len(w)} tensors, all finite")
elif sys.argv[1] == "gradient":
    w0, a, b = (weights(p) for p in sys.argv[2:5])
    lr = float(sys.argv[5])
    worst, largest = 0.0, 0.0
    for name in w0:
        for x0, xa, xb in zip(w0[name], a[name], b[name]):
            ga, gb = (x0 - xa) / lr, (x0 - xb) / lr
            worst = max(worst, abs(ga - gb))
            largest = max(largest, abs(ga))
    relative = worst / max(largest, 1e-30)
    print(f"first-step gradients: largest |g| {largest:.3e}, largest difference {worst:.3e}, relative {relative:.2e}")
    if largest == 0 or relative > 1e-6:
        sys.exit("first-step gradients differ by more than 1e-6 relative (or are all zero)")
