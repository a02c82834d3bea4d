"""Square SGEMM GFLOP/s: `rnn bench gemm` against MKL (torch.mm), side by side in one run.

    Benchmarks/setup_venv.sh && swift build -c release
    .venv-bench/bin/python Benchmarks/gemm_vs_pytorch.py [--sizes 512,1024] [--threads 2] [--rounds 3]

The two alternate, round after round, so both see the same machine load; each figure is the
best over the rounds. Prints one table and, with --json, one JSON line per size.
"""
import argparse
import json
import os
import subprocess
import time

import torch

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--sizes", default="512,1024")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
parser.add_argument("--json", action="store_true")
args = parser.parse_args()
torch.set_num_threads(args.threads)


def torch_gflops(n, seconds=1.0):
    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)
    best, total = float("inf"), 0.0
    while total < seconds:
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        dt = time.perf_counter() - t
        best, total = min(best, dt), total + dt
    return 2.0 * n ** 3 / best * 1e-9


def rnn_gflops(n):
    out = subprocess.run([args.rnn, "bench", "gemm", "--size", str(n), "--threads", str(args.threads), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["gflops"]


print(f"torch {torch.__version__} ({torch.backends.mkl.is_available() and 'MKL' or 'no MKL'}), {args.threads} threads, "
      f"best of {args.rounds} rounds")
print(f"{'size':>6} {'rnn':>9} {'MKL':>9} {'rnn/MKL':>8}")
for n in [int(s) for s in args.sizes.split(",")]:
    ours, theirs = 0.0, 0.0
    for _ in range(args.rounds):
        ours = max(ours, rnn_gflops(n))
        time.sleep(0.3)   # let MKL's spinning threads settle before and after
        theirs = max(theirs, torch_gflops(n))
        time.sleep(0.3)
    print(f"{n:>6} {ours:9.1f} {theirs:9.1f} {ours / theirs:8.2f}")
    if args.json:
        print(json.dumps({"size": n, "rnn_gflops": ours, "mkl_gflops": theirs, "ratio": ours / theirs}))
