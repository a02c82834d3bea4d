"""Character-model quality and speed: `rnn train` against PyTorch on the same text, trained the
same way, side by side in one run.

    Benchmarks/setup_venv.sh && swift build -c release
    .venv-bench/bin/python Benchmarks/charlm_vs_pytorch.py --text ../shared/data/tinyshakespeare.txt --epochs 9

Both: the char-rnn default model (Embedding(V, 128) → 2×128 LSTM → Linear(128, V)), B = 50
contiguous streams through the first 90% of the text in chunks of T = 50 characters, the hidden
state carried from chunk to chunk and reset every epoch, Adam 2e-3, global-norm clip 5, no
dropout; validation loss over the whole last 10% read as 50 streams in chunks of 50 after every
epoch. Prints validation loss per epoch and wall-clock seconds (training only, and total).
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import torch

from torch_reference import Model

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--text", required=True)
parser.add_argument("--epochs", type=int, default=9)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
parser.add_argument("--skip-torch", action="store_true")
parser.add_argument("--skip-rnn", action="store_true")
args = parser.parse_args()
torch.set_num_threads(args.threads)
B, T, H, LAYERS = 50, 50, 128, 2

text = open(args.text, encoding="utf-8").read()
vocab = sorted(set(text))
ids = torch.tensor([vocab.index(c) for c in text], dtype=torch.long)
n_val = int(len(ids) * 0.1)
train, val = ids[: len(ids) - n_val], ids[len(ids) - n_val:]
stream = len(train) // B
steps_per_epoch = (stream - 1) // T
streams = train[: B * stream].view(B, stream)


def validation_loss(model):
    vs = max(1, min(B, (len(val) - 1) // T))
    length = len(val) // vs
    data = val[: vs * length].view(vs, length)
    state, total, count = None, 0.0, 0
    with torch.no_grad():
        for start in range(0, length - 1, T):
            steps = min(T, length - 1 - start)
            logits, state = model(data[:, start:start + steps], state)
            target = data[:, start + 1:start + 1 + steps]
            total += torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), target.reshape(-1),
                                                       reduction="sum").item()
            count += target.numel()
    return total / count


def run_torch():
    torch.manual_seed(1)
    model = Model("lstm", H, LAYERS, len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    curve, train_seconds = [], 0.0
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        state = None
        for k in range(steps_per_epoch):
            x = streams[:, k * T:(k + 1) * T]
            y = streams[:, k * T + 1:(k + 1) * T + 1]
            logits, state = model(x, state)
            state = tuple(s.detach() for s in state)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
        train_seconds += time.perf_counter() - t0
        curve.append(validation_loss(model))
        print(f"  torch epoch {epoch}: validation {curve[-1]:.4f}  ({train_seconds:.1f} s training)", flush=True)
    return curve, train_seconds, time.perf_counter() - started


def run_rnn():
    out = tempfile.mkdtemp(prefix="rnn-charlm-")
    try:
        started = time.perf_counter()
        subprocess.run([args.rnn, "train", "--text", args.text, "--epochs", str(args.epochs),
                        "--eval-every", str(steps_per_epoch), "--out", out], check=True, stdout=subprocess.DEVNULL)
        total = time.perf_counter() - started
        rows = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
        curve = [r["val_loss"] for r in rows]
        for i, r in enumerate(rows, 1):
            print(f"  rnn   epoch {i}: validation {r['val_loss']:.4f}  ({r['elapsed_seconds']:.1f} s elapsed)", flush=True)
        return curve, rows[-1]["elapsed_seconds"], total
    finally:
        shutil.rmtree(out, ignore_errors=True)


print(f"{len(text)} characters, {len(vocab)} symbols, {steps_per_epoch} steps per epoch, torch {torch.__version__}, "
      f"{args.threads} threads")
results = {}
if not args.skip_rnn:
    results["rnn"] = run_rnn()
if not args.skip_torch:
    results["torch"] = run_torch()
print(f"{'epoch':>5} " + " ".join(f"{name + ' val':>10}" for name in results))
for e in range(args.epochs):
    print(f"{e + 1:>5} " + " ".join(f"{results[name][0][e]:10.4f}" for name in results))
for name, (_, train_seconds, total) in results.items():
    print(f"{name}: {total:.1f} s wall clock in all")
if len(results) == 2:
    print(f"wall-clock ratio rnn/torch: {results['rnn'][2] / results['torch'][2]:.2f}")
