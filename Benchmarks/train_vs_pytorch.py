"""Training-step throughput: `rnn bench train` against PyTorch, side by side in one run.

    Benchmarks/setup_venv.sh && swift build -c release
    .venv-bench/bin/python Benchmarks/train_vs_pytorch.py [--cases lstm-512x2-b50-t100,...] [--threads 2]

Each case is Embedding(65, H) → nn.LSTM/GRU/RNN (batch_first) → Linear(H, 65); one step is
forward, cross-entropy, backward, clip_grad_norm_(5) and Adam, on random tokens, the state
carried (detached) from step to step. Both report the median step time; they alternate.
"""
import argparse
import json
import os
import subprocess
import time

import torch

from torch_reference import CASES, train_step_seconds

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--cases", default=",".join(CASES))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seconds", type=float, default=5)
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
args = parser.parse_args()
torch.set_num_threads(args.threads)


def rnn_step_seconds(name):
    out = subprocess.run([args.rnn, "bench", "train", "--case", name, "--threads", str(args.threads),
                          "--seconds", str(args.seconds), "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["ms_per_step"] / 1e3


print(f"torch {torch.__version__}, {args.threads} threads, median step time over ~{args.seconds:g} s each")
print(f"{'case':24} {'rnn ms':>9} {'torch ms':>9} {'rnn tok/s':>10} {'torch tok/s':>11} {'ratio':>6}")
for name in args.cases.split(","):
    cell, h, layers, b, t = CASES[name]
    ours = rnn_step_seconds(name)
    time.sleep(0.3)
    theirs = train_step_seconds(name, args.seconds)
    print(f"{name:24} {ours * 1e3:9.2f} {theirs * 1e3:9.2f} {b * t / ours:10.0f} {b * t / theirs:11.0f} "
          f"{theirs / ours:6.2f}", flush=True)
