"""Word-level text classification, ours against the same model trained the same way in PyTorch.

The task: which of the ten most frequent speakers of tinyshakespeare says a given speech. The
speeches are split once (seeded) into train (90%) and test (10%); both sides validate on the same
last 10% of train (ours through `--valid`), keep the epoch with the best validation loss, and
report test accuracy, for three seeds.

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
parser.add_argument("--speakers", type=int, default=10, help="the K most frequent speakers are the classes")
parser.add_argument("--flags", default="", help="extra flags for rnn fit (ours); PyTorch reads the same sizes below")
parser.add_argument("--hidden", type=int, default=128)
parser.add_argument("--embedding", type=int, default=64)
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--lr", type=float, default=2e-3)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--clip", type=float, default=5.0)
parser.add_argument("--lowercase", action="store_true", help="PyTorch side: lowercase and split punctuation")
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
    if args.lowercase:
        return re.findall(r"\w+|[^\w\s]", s.lower())
    return s.split()


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

    best, best_state = float("inf"), None
    for _ in range(args.epochs):
        for ids, lengths, y in batches(tr, True):
            optimizer.zero_grad()
            loss_fn(model(ids, lengths), y).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
        loss, _ = measure(va)
        if loss < best:
            best, best_state = loss, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return measure(te)[1]


def ours(folder, seed):
    subprocess.run([args.rnn, "fit", "--task", "classify", "--tokens", "word", "--data", f"{folder}/train.jsonl",
                    "--valid", f"{folder}/valid.jsonl",
                    "--seed", str(seed), "--out", f"{folder}/run-{seed}"] + args.flags.split(),
                   check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([args.rnn, "evaluate", "--checkpoint", f"{folder}/run-{seed}/best.safetensors",
                          "--data", f"{folder}/test.jsonl", "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["accuracy"]


rows = speeches(pathlib.Path(args.text).read_text())
top = [name for name, _ in collections.Counter(n for n, _ in rows).most_common(args.speakers)]
rows = [(s, n) for n, s in rows if n in top]
random.Random(0).shuffle(rows)
cut = len(rows) * 9 // 10
train, test = rows[:cut], rows[cut:]
held = len(train) // 10
labels = sorted(top)
print(f"{len(rows)} speeches by {', '.join(top)}: {len(train)} train ({held} of them validation), {len(test)} test")

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
