"""`rnn fit` training time against the same model trained the same way in PyTorch, on three task
models (data generated here, nothing read from outside):

  classify-numeric  10 classes of 28 steps × 28 features (a class pattern plus noise), LSTM(28, 128)
                    → the final state → Linear(128, 10)
  classify-words    10 topics of 12–30 made-up words from a vocabulary of --vocabulary words
                    (Zipf-distributed, each topic favouring its own words): Embedding(V, 64) →
                    LSTM(64, 128) → the final state → Linear(128, 10)
  seq2seq-addition  `rnn data addition` ("535+61" → "596"): Embedding → LSTM(64, 128) encoder, its
                    final state starting an LSTM(64, 128) decoder fed the target after <bos>, Luong
                    general attention (score d·W_a·e over the valid source steps, h̃ = tanh(W_c[c; d] + b))
                    → Linear(128, Vt), cross-entropy over the target and <eos>

Both sides: batch 32, Adam 2e-3, global-norm clip 5, --epochs epochs at a constant rate, the
final state read at each row's own length (PyTorch: packed sequences). Time: the training epochs
only, data loading excluded. Ours: `rnn fit … --patience 0 --lr-schedule constant --valid V`, where
V is 32 examples, `train_seconds` of the last metrics.jsonl line (the training steps alone:
batches, forward, loss, backward, clipping and Adam, counted from the first step; not the
evaluations and checkpoint writes between epochs, which `elapsed_seconds` includes). PyTorch: the
epochs' wall time with every batch already a tensor (padded, standardised, on the CPU), no
evaluation. The last epoch's mean training loss of each side is
printed beside the time, to show the two trainings are doing the same work.

    .venv-bench/bin/python Benchmarks/fit_vs_pytorch.py [--rnn .build/release/rnn] [--tasks …] [--epochs 5]
        [--rounds 2] [--threads 2]
"""
import argparse
import json
import os
import random
import subprocess
import tempfile
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
parser.add_argument("--tasks", default="classify-numeric,classify-words,seq2seq-addition")
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--rounds", type=int, default=2, help="runs of each side, alternating; the best kept")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--examples", type=int, default=9000)
parser.add_argument("--vocabulary", type=int, default=18000)
parser.add_argument("--seed", type=int, default=1)
args = parser.parse_args()
torch.set_num_threads(args.threads)
BATCH, LR, CLIP, HIDDEN, EMBEDDING = 32, 2e-3, 5.0, 128, 64


# ---- data ---------------------------------------------------------------------------------------

def numeric_examples(n, rng):
    patterns = rng.normal(size=(10, 28, 28))
    out = []
    for _ in range(n):
        c = int(rng.integers(10))
        x = 0.5 * patterns[c] + rng.normal(size=(28, 28))
        out.append({"input": np.round(x, 3).tolist(), "target": str(c)})
    return out


def word_examples(n, rng):
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < args.vocabulary:
        words.add("".join(letters[i] for i in rng.integers(26, size=int(rng.integers(3, 9)))))
    words = sorted(words)
    zipf = 1.0 / np.arange(1, len(words) + 1)
    topics = []
    for _ in range(10):
        p = zipf.copy()
        p[rng.choice(len(words), size=300, replace=False)] *= 40
        topics.append(p / p.sum())
    out = []
    for _ in range(n):
        c = int(rng.integers(10))
        text = " ".join(words[i] for i in rng.choice(len(words), size=int(rng.integers(12, 31)), p=topics[c]))
        out.append({"input": text, "target": f"topic{c}"})
    return out


def addition_examples(n):
    lines = subprocess.run([args.rnn, "data", "addition", "--count", str(n), "--seed", str(args.seed)],
                           check=True, capture_output=True, text=True).stdout.splitlines()
    return [json.loads(line) for line in lines]


def write(path, examples):
    with open(path, "w") as f:
        for e in examples:
            f.write(json.dumps(e) + "\n")


# ---- PyTorch models -----------------------------------------------------------------------------

class Classifier(nn.Module):
    def __init__(self, features=None, vocabulary=None, classes=10):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, EMBEDDING) if vocabulary else None
        self.rnn = nn.LSTM(EMBEDDING if vocabulary else features, HIDDEN, batch_first=True)
        self.head = nn.Linear(HIDDEN, classes)

    def forward(self, x, lengths):
        if self.embedding is not None:
            x = self.embedding(x)
        _, (h, _) = self.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return self.head(h[-1])


class Seq2Seq(nn.Module):
    def __init__(self, source_vocabulary, target_vocabulary):
        super().__init__()
        self.source_embedding = nn.Embedding(source_vocabulary, EMBEDDING)
        self.encoder = nn.LSTM(EMBEDDING, HIDDEN, batch_first=True)
        self.target_embedding = nn.Embedding(target_vocabulary, EMBEDDING)
        self.decoder = nn.LSTM(EMBEDDING, HIDDEN, batch_first=True)
        self.score = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.combine = nn.Linear(2 * HIDDEN, HIDDEN)
        self.head = nn.Linear(HIDDEN, target_vocabulary)

    def forward(self, source, lengths, target_input):
        packed = pack_padded_sequence(self.source_embedding(source), lengths, batch_first=True, enforce_sorted=False)
        e, state = self.encoder(packed)
        e, _ = pad_packed_sequence(e, batch_first=True, total_length=source.shape[1])
        d, _ = self.decoder(self.target_embedding(target_input), state)
        scores = d @ self.score(e).transpose(1, 2)                              # (B, T, S)
        valid = torch.arange(source.shape[1])[None, :] < lengths[:, None]       # (B, S)
        alpha = torch.softmax(scores.masked_fill(~valid[:, None, :], float("-inf")), dim=-1)
        h = torch.tanh(self.combine(torch.cat([alpha @ e, d], dim=-1)))
        return self.head(h)


def batches(n, rng):
    order = list(range(n))
    rng.shuffle(order)
    return [order[i:i + BATCH] for i in range(0, n, BATCH)]


def torch_train(model, make_batch, n, loss_of):
    """Seconds for args.epochs epochs, every batch built before the clock starts; the last epoch's mean loss."""
    rng = random.Random(args.seed)
    epochs = [[make_batch(b) for b in batches(n, rng)] for _ in range(args.epochs)]
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    started = time.perf_counter()
    for batches_of_epoch in epochs:
        total, count = 0.0, 0
        for batch in batches_of_epoch:
            optimizer.zero_grad()
            loss, tokens = loss_of(model, batch)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
            total, count = total + loss.item() * tokens, count + tokens
    return time.perf_counter() - started, total / count


def torch_classify_numeric(train):
    x = np.array([e["input"] for e in train], dtype=np.float32)
    x = (x - x.reshape(-1, 28).mean(0)) / x.reshape(-1, 28).std(0)
    y = np.array([int(e["target"]) for e in train])
    lengths = torch.full((BATCH,), 28, dtype=torch.int64)

    def make(b):
        return torch.from_numpy(x[b]), lengths[:len(b)], torch.from_numpy(y[b])

    def loss_of(model, batch):
        xs, ls, ys = batch
        return nn.functional.cross_entropy(model(xs, ls), ys), len(ys)
    return torch_train(Classifier(features=28), make, len(train), loss_of)


def torch_classify_words(train):
    vocabulary = {w: i + 1 for i, w in enumerate(sorted({w for e in train for w in e["input"].split()}))}
    ids = [[vocabulary[w] for w in e["input"].split()] for e in train]
    labels = sorted({e["target"] for e in train})
    y = [labels.index(e["target"]) for e in train]

    def make(b):
        longest = max(len(ids[i]) for i in b)
        xs = torch.zeros(len(b), longest, dtype=torch.int64)
        for r, i in enumerate(b):
            xs[r, :len(ids[i])] = torch.tensor(ids[i])
        return xs, torch.tensor([len(ids[i]) for i in b]), torch.tensor([y[i] for i in b])

    def loss_of(model, batch):
        xs, ls, ys = batch
        return nn.functional.cross_entropy(model(xs, ls), ys), len(ys)
    return torch_train(Classifier(vocabulary=len(vocabulary) + 1, classes=len(labels)), make, len(train), loss_of)


def torch_seq2seq(train):
    source_chars = sorted({c for e in train for c in e["input"]})
    target_chars = sorted({c for e in train for c in e["target"]})
    s_ids = {c: i + 1 for i, c in enumerate(source_chars)}                     # 0: padding
    t_ids = {c: i + 3 for i, c in enumerate(target_chars)}                     # 0 padding, 1 <bos>, 2 <eos>

    def make(b):
        src = [[s_ids[c] for c in train[i]["input"]] for i in b]
        tgt = [[t_ids[c] for c in train[i]["target"]] for i in b]
        s, t = max(map(len, src)), max(map(len, tgt)) + 1
        xs, tin, tout = (torch.zeros(len(b), s, dtype=torch.int64), torch.zeros(len(b), t, dtype=torch.int64),
                         torch.full((len(b), t), -100, dtype=torch.int64))
        for r in range(len(b)):
            xs[r, :len(src[r])] = torch.tensor(src[r])
            tin[r, :len(tgt[r]) + 1] = torch.tensor([1] + tgt[r])
            tout[r, :len(tgt[r]) + 1] = torch.tensor(tgt[r] + [2])
        return xs, torch.tensor([len(x) for x in src]), tin, tout

    def loss_of(model, batch):
        xs, ls, tin, tout = batch
        logits = model(xs, ls, tin)
        tokens = int((tout != -100).sum())
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1)), tokens
    return torch_train(Seq2Seq(len(source_chars) + 1, len(target_chars) + 3), make, len(train), loss_of)


# ---- ours ---------------------------------------------------------------------------------------

def ours(task, flags, train_path, valid_path, work):
    out = os.path.join(work, "run")
    subprocess.run(["rm", "-rf", out], check=True)
    subprocess.run([args.rnn, "fit", "--task", task, *flags, "--data", train_path, "--valid", valid_path,
                    "--epochs", str(args.epochs), "--patience", "0", "--lr-schedule", "constant",
                    "--threads", str(args.threads), "--seed", str(args.seed), "--out", out],
                   check=True, capture_output=True)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        last = [json.loads(line) for line in f][-1]
    return last["train_seconds"], last["train_loss"]


TASKS = {
    "classify-numeric": ("classify", [], torch_classify_numeric),
    "classify-words": ("classify", ["--tokens", "word"], torch_classify_words),
    "seq2seq-addition": ("seq2seq", [], torch_seq2seq),
}

with open("/proc/cpuinfo") as f:
    cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown CPU")
print(f"{cpu}, torch {torch.__version__}, {args.threads} threads, {args.epochs} epochs, batch {BATCH}, "
      f"best of {args.rounds} (seconds per epoch; the last epoch's mean training loss)", flush=True)
print(f"{'task':18} {'examples':>8} {'rnn s/epoch':>11} {'loss':>7} {'torch s/epoch':>13} {'loss':>7} {'ratio':>6}")
rng = np.random.default_rng(args.seed)
with tempfile.TemporaryDirectory() as work:
    for name in args.tasks.split(","):
        task, flags, torch_run = TASKS[name]
        if name == "classify-numeric":
            examples = numeric_examples(args.examples + 32, rng)
        elif name == "classify-words":
            examples = word_examples(args.examples + 32, rng)
        else:
            examples = addition_examples(args.examples + 32)
        train, valid = examples[:-32], examples[-32:]
        train_path, valid_path = os.path.join(work, "train.jsonl"), os.path.join(work, "valid.jsonl")
        write(train_path, train)
        write(valid_path, valid)
        mine, theirs = [], []
        for _ in range(args.rounds):
            mine.append(ours(task, flags, train_path, valid_path, work))
            theirs.append(torch_run(train))
        (a, la), (b, lb) = min(mine), min(theirs)
        print(f"{name:18} {len(train):8} {a / args.epochs:11.3f} {la:7.4f} {b / args.epochs:13.3f} {lb:7.4f} "
              f"{b / a:6.2f}", flush=True)
