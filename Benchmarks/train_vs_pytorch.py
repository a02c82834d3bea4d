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
import statistics
import subprocess
import time

import torch

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {
    "lstm-128x2-b50-t50": ("lstm", 128, 2, 50, 50),
    "lstm-512x2-b50-t100": ("lstm", 512, 2, 50, 100),
    "gru-256x2-b32-t64": ("gru", 256, 2, 32, 64),
    "rnn-100x1-b1-t25": ("rnn", 100, 1, 1, 25),
}
parser = argparse.ArgumentParser()
parser.add_argument("--cases", default=",".join(CASES))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seconds", type=float, default=5)
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
args = parser.parse_args()
torch.set_num_threads(args.threads)


class Model(torch.nn.Module):
    def __init__(self, cell, h, layers, v=65):
        super().__init__()
        self.embedding = torch.nn.Embedding(v, h)
        self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](h, h, layers, batch_first=True)
        self.head = torch.nn.Linear(h, v)

    def forward(self, x, state):
        y, state = self.rnn(self.embedding(x), state)
        return self.head(y), state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def torch_step_seconds(cell, h, layers, b, t):
    torch.manual_seed(1)
    model = Model(cell, h, layers)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x = torch.randint(0, 65, (b, t))
    y = torch.randint(0, 65, (b, t))
    state = None
    times = []

    def step(state):
        logits, state = model(x, state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 65), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return detach(state)

    state = step(state)
    total = 0.0
    while total < args.seconds or len(times) < 3:
        t0 = time.perf_counter()
        state = step(state)
        dt = time.perf_counter() - t0
        times.append(dt)
        total += dt
    return statistics.median(times)


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
    theirs = torch_step_seconds(cell, h, layers, b, t)
    print(f"{name:24} {ours * 1e3:9.2f} {theirs * 1e3:9.2f} {b * t / ours:10.0f} {b * t / theirs:11.0f} "
          f"{theirs / ours:6.2f}", flush=True)
