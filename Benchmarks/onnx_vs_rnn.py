"""Batch-1 generation: `rnn sample` against ONNX Runtime running our own ONNX export of the same
checkpoint, the way a user deploying the model would run it.

    Benchmarks/setup_venv.sh && swift build -c release
    .venv-bench/bin/python Benchmarks/onnx_vs_rnn.py [--text data/tinyshakespeare.txt]
        [--cases lstm-128x2,gru-256x2,lstm-512x2] [--precisions fp32,bf16,int8] [--tokens 20000] [--rounds 3]

For each case: `rnn train --steps 1` writes a checkpoint (the weights' values do not change the
time a token takes), `rnn export --onnx` writes the ONNX file from it.

Ours: `rnn sample --checkpoint CKPT --length N --precision P` with the text sent to /dev/null, its
wall time at --tokens characters minus its wall time at --short characters, over the difference in
characters: the per-token cost of `rnn sample`'s loop without the process start and the
checkpoint load. Best of --rounds for each length.

ONNX Runtime (CPU execution provider, graph optimisations on): one `session.run` per token on
`tokens` [[t]] with the state carried (h0 (and c0 for LSTM) ← hn (cn)), then the next character
sampled from the softmax of the logits in NumPy (cumulative sum and a uniform draw), as a Python
program would. Timed after 200 warm-up tokens, --tokens tokens, best of --rounds; with 1 and with 2
intra-op threads, the faster kept. The Python call overhead is part of what a Python user pays
and is included; `--ort-sequence` also reports ONNX Runtime on a whole --tokens-long sequence in
one call (teacher-forced: what its kernels do without the per-call cost; not generation).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = {"lstm-128x2": ("lstm", 128, 2), "gru-256x2": ("gru", 256, 2), "lstm-512x2": ("lstm", 512, 2),
         "rnn-100x1": ("rnn", 100, 1)}
parser = argparse.ArgumentParser()
parser.add_argument("--text", default=os.path.join(root, "data", "tinyshakespeare.txt"))
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
parser.add_argument("--cases", default="lstm-128x2,gru-256x2,lstm-512x2")
parser.add_argument("--precisions", default="fp32,bf16,int8")
parser.add_argument("--tokens", type=int, default=20000)
parser.add_argument("--short", type=int, default=1000)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--ort-threads", default="1,2")
parser.add_argument("--ort-sequence", action="store_true")
args = parser.parse_args()


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sample_seconds(ckpt, length, precision):
    started = time.perf_counter()
    run([args.rnn, "sample", "--checkpoint", ckpt, "--length", str(length), "--seed", "1", "--precision", precision])
    return time.perf_counter() - started


def ours_tokens_per_second(ckpt, precision):
    long = min(sample_seconds(ckpt, args.tokens + args.short, precision) for _ in range(args.rounds))
    short = min(sample_seconds(ckpt, args.short, precision) for _ in range(args.rounds))
    return args.tokens / (long - short)


def ort_tokens_per_second(path, threads, hidden, layers, lstm):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)

    def generate(n):
        feeds = {"tokens": np.zeros((1, 1), dtype=np.int64), "h0": np.zeros((layers, 1, hidden), dtype=np.float32)}
        if lstm:
            feeds["c0"] = np.zeros((layers, 1, hidden), dtype=np.float32)
        names = ["logits", "hn", "cn"] if lstm else ["logits", "hn"]
        for _ in range(n):
            out = session.run(names, feeds)
            z = out[0][0, -1].astype(np.float64)
            p = np.exp(z - z.max())
            cdf = np.cumsum(p)
            token = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)
            feeds["tokens"][0, 0] = token
            feeds["h0"] = out[1]
            if lstm:
                feeds["c0"] = out[2]

    generate(200)
    best = float("inf")
    for _ in range(args.rounds):
        started = time.perf_counter()
        generate(args.tokens)
        best = min(best, time.perf_counter() - started)
    sequence = None
    if args.ort_sequence:
        feeds = {"tokens": rng.integers(0, 65, size=(1, args.tokens), dtype=np.int64),
                 "h0": np.zeros((layers, 1, hidden), dtype=np.float32)}
        if lstm:
            feeds["c0"] = np.zeros((layers, 1, hidden), dtype=np.float32)
        session.run(None, feeds)
        sequence = float("inf")
        for _ in range(args.rounds):
            started = time.perf_counter()
            session.run(None, feeds)
            sequence = min(sequence, time.perf_counter() - started)
        sequence = args.tokens / sequence
    return args.tokens / best, sequence


with open("/proc/cpuinfo") as f:
    cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown CPU")
print(f"{cpu}, onnxruntime {ort.__version__}, {args.tokens} tokens, best of {args.rounds}", flush=True)
precisions = args.precisions.split(",")
print(f"{'case':12} {'ORT tok/s':>10} {'(threads)':>9} " + " ".join(f"{'rnn ' + p:>10} {'ratio':>6}" for p in precisions)
      + (f" {'ORT sequence':>13}" if args.ort_sequence else ""), flush=True)
with tempfile.TemporaryDirectory() as work:
    for name in args.cases.split(","):
        cell, hidden, layers = CASES[name]
        folder = os.path.join(work, name)
        run([args.rnn, "train", "--text", args.text, "--cell", cell, "--hidden", str(hidden), "--layers", str(layers),
             "--steps", "1", "--out", folder])
        ckpt, onnx_path = os.path.join(folder, "last.safetensors"), os.path.join(folder, "model.onnx")
        run([args.rnn, "export", "--checkpoint", ckpt, "--onnx", onnx_path])
        theirs = [(ort_tokens_per_second(onnx_path, int(t), hidden, layers, cell == "lstm"), int(t))
                  for t in args.ort_threads.split(",")]
        (ort_rate, sequence), threads = max(theirs, key=lambda x: x[0][0])
        line = f"{name:12} {ort_rate:10.0f} {threads:>9} "
        for p in precisions:
            ours = ours_tokens_per_second(ckpt, p)
            line += f"{ours:10.0f} {ours / ort_rate:6.2f} "
        if sequence:
            line += f"{sequence:13.0f}"
        print(line, flush=True)
