"""Word-level text classification, ours against the same model trained the same way in PyTorch.

The task (`--task part`, the default): which of ten equal parts of tinyshakespeare — the plays
follow one another — a speech comes from, all ~7,000 speeches (`--task speaker`: which of the
`--speakers` most frequent speakers says it; too few speeches to tell models apart). The speeches
are split once (seeded) into train (90%) and test (10%); both sides validate on the same last 10%
of train (ours through `--valid`), keep the epoch with the best validation loss, and report test
accuracy, for three seeds.

`--regime fixed`: `--epochs` epochs at a constant rate (ours: `--patience 0 --lr-schedule
constant`). `--regime defaults`: our fit's defaults — up to 100 epochs, stop after 5 without a
lower validation loss, the rate halved after 2 (PyTorch: ReduceLROnPlateau(factor=0.5,
patience=1), which cuts after 2 bad epochs as ours does).

Ours: `rnn fit --task classify --tokens word` with its defaults, or with `--flags` added; then
`rnn evaluate --json` on the test set. PyTorch: Embedding(V, E) → LSTM(E, H) → the final hidden
state (packed sequences, so padding is never read) → Linear(H, 10); Adam, cross-entropy, global
norm clipping, batch B, the same epochs, the same tokens and vocabulary rule (tokens seen in the
training part, the rest <unk>).

Usage (PyTorch in the ignored .venv-bench, see setup_venv.sh):
    .venv-bench/bin/python Benchmarks/classify_vs_pytorch.py [--text ../shared/data/tinyshakespeare.txt]
        [--rnn .build/release/rnn] [--seeds 1,2,3] [--flags "--epochs 10"]
"""
import argparse
import collections
import json
import pathlib
import random
import re
import subprocess
import tempfile
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--text", default="data/tinyshakespeare.txt")
parser.add_argument("--rnn", default=".build/release/rnn")
parser.add_argument("--seeds", default="1,2,3")
parser.add_argument("--speakers", type=int, default=10, help="--task speaker: the K most frequent speakers are the classes")
parser.add_argument("--task", choices=["part", "speaker"], default="part")
parser.add_argument("--parts", type=int, default=10)
parser.add_argument("--regime", choices=["fixed", "defaults"], default="fixed")
parser.add_argument("--flags", default="", help="extra flags for rnn fit (ours); PyTorch reads the same sizes below")
parser.add_argument("--hidden", type=int, default=128)
parser.add_argument("--embedding", type=int, default=64)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--lr", type=float, default=2e-3)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--clip", type=float, default=5.0)
parser.add_argument("--keep-case", action="store_true", help="both sides keep the words' case (ours: --keep-case)")
args = parser.parse_args()


def speeches(text):
    """(speaker, speech) for every block 'NAME:\\nlines…' separated by blank lines."""
    out = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if len(lines) >= 2 and re.fullmatch(r"[A-Z][A-Za-z ']*:", lines[0]):
            out.append((lines[0][:-1], " ".join(l.strip() for l in lines[1:])))
    return out


def tokens(s):
    """Ours for --tokens word: runs of letters and digits, every other non-space character alone,
    lowercased unless --keep-case."""
    return re.findall(r"[^\W_]+|[^\w\s]|_", s if args.keep_case else s.lower())


def torch_run(train, valid, test, labels, seed):
    torch.manual_seed(seed)
    random.seed(seed)
    vocab = {"<unk>": 0}
    for s, _ in train:
        for w in sorted(set(tokens(s))):
            vocab.setdefault(w, len(vocab))

    def encode(rows):
        return [([vocab.get(w, 0) for w in tokens(s)] or [0], labels.index(y)) for s, y in rows]

    tr, va, te = encode(train), encode(valid), encode(test)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(len(vocab), args.embedding)
            self.rnn = torch.nn.LSTM(args.embedding, args.hidden, batch_first=True)
            self.head = torch.nn.Linear(args.hidden, len(labels))

        def forward(self, ids, lengths):
            packed = torch.nn.utils.rnn.pack_padded_sequence(self.embedding(ids), lengths, batch_first=True,
                                                             enforce_sorted=False)
            _, (h, _) = self.rnn(packed)
            return self.head(h[-1])

    def batches(rows, shuffle):
        order = list(range(len(rows)))
        if shuffle:
            random.shuffle(order)
        for i in range(0, len(order), args.batch):
            chunk = [rows[j] for j in order[i:i + args.batch]]
            lengths = torch.tensor([len(x) for x, _ in chunk])
            ids = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.long)
            for r, (x, _) in enumerate(chunk):
                ids[r, :len(x)] = torch.tensor(x)
            yield ids, lengths, torch.tensor([y for _, y in chunk])

    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()

    def measure(rows):
        model.eval()
        total, correct = 0.0, 0
        with torch.no_grad():
            for ids, lengths, y in batches(rows, False):
                z = model(ids, lengths)
                total += loss_fn(z, y).item() * len(y)
                correct += (z.argmax(1) == y).sum().item()
        model.train()
        return total / len(rows), correct / len(rows)

    best, best_state, since = float("inf"), None, 0
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    for _ in range(args.epochs if args.regime == "fixed" else 100):
        for ids, lengths, y in batches(tr, True):
            optimizer.zero_grad()
            loss_fn(model(ids, lengths), y).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
        loss, _ = measure(va)
        if loss < best:
            best, best_state, since = loss, {k: v.clone() for k, v in model.state_dict().items()}, 0
        else:
            since += 1
        if args.regime == "defaults":
            plateau.step(loss)
            if since >= 5:
                break
    model.load_state_dict(best_state)
    return measure(te)[1]


def ours(folder, seed):
    regime = ["--epochs", str(args.epochs), "--patience", "0", "--lr-schedule", "constant"] if args.regime == "fixed" else []
    subprocess.run([args.rnn, "fit", "--task", "classify", "--tokens", "word", "--data", f"{folder}/train.jsonl",
                    "--valid", f"{folder}/valid.jsonl",
                    "--seed", str(seed), "--out", f"{folder}/run-{seed}"] + regime
                   + (["--keep-case"] if args.keep_case else []) + args.flags.split(),
                   check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([args.rnn, "evaluate", "--checkpoint", f"{folder}/run-{seed}/best.safetensors",
                          "--data", f"{folder}/test.jsonl", "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["accuracy"]


rows = speeches(pathlib.Path(args.text).read_text())
if args.task == "speaker":
    top = [name for name, _ in collections.Counter(n for n, _ in rows).most_common(args.speakers)]
    rows = [(s, n) for n, s in rows if n in top]
else:
    top = [f"part{p}" for p in range(args.parts)]
    rows = [(s, top[i * args.parts // len(rows)]) for i, (_, s) in enumerate(rows)]
random.Random(0).shuffle(rows)
cut = len(rows) * 9 // 10
train, test = rows[:cut], rows[cut:]
held = len(train) // 10
labels = sorted(top)
print(f"{len(rows)} speeches, classes {', '.join(top)}: {len(train)} train ({held} of them validation), {len(test)} test; "
      f"regime {args.regime}")

with tempfile.TemporaryDirectory() as folder:
    for name, part in [("train", train[:-held]), ("valid", train[-held:]), ("test", test)]:
        with open(f"{folder}/{name}.jsonl", "w") as f:
            for s, y in part:
                f.write(json.dumps({"input": s, "target": y}) + "\n")
    results = {"ours": [], "pytorch": []}
    for seed in [int(s) for s in args.seeds.split(",")]:
        start = time.time()
        a = ours(folder, seed)
        mid = time.time()
        b = torch_run(train[:-held], train[-held:], test, labels, seed)
        end = time.time()
        results["ours"].append(a)
        results["pytorch"].append(b)
        print(f"seed {seed}: ours {a:.4f} ({mid - start:.0f} s)   pytorch {b:.4f} ({end - mid:.0f} s)", flush=True)
    for k, v in results.items():
        print(f"{k}: mean test accuracy {sum(v) / len(v):.4f} over {len(v)} seeds")
