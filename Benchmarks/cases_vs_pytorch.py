"""The performance issue's benchmark cases, side by side: `rnn bench --case NAME --json` against
the same model in PyTorch, each case of each in its own process (so peak memory is its own).

    Benchmarks/setup_venv.sh && swift build -c release
    .venv-bench/bin/python Benchmarks/cases_vs_pytorch.py [--cases ...] [--threads 2] [--seconds 4] [--tokens 2000]

Training step: forward, cross-entropy, backward, clip_grad_norm_(5), Adam, on random tokens, the
state carried (detached) between steps; the median step time. Generation: batch 1, one token
at a time, the state carried, sampling from the softmax (torch.multinomial), under no_grad.
Prints one table: case, ours, PyTorch and the ratio for training and generation, peak RSS of both.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

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
parser.add_argument("--seconds", type=float, default=4)
parser.add_argument("--tokens", type=int, default=2000)
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
parser.add_argument("--torch-case", help=argparse.SUPPRESS)   # internal: run one case in PyTorch
args = parser.parse_args()


def torch_case(name):
    import torch
    torch.set_num_threads(args.threads)
    cell, h, layers, b, t = CASES[name]
    v = 65

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(v, h)
            self.rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](h, h, layers, batch_first=True)
            self.head = torch.nn.Linear(h, v)

        def forward(self, x, state):
            y, state = self.rnn(self.embedding(x), state)
            return self.head(y), state

    def detach(s):
        return tuple(x.detach() for x in s) if isinstance(s, tuple) else s.detach()

    torch.manual_seed(1)
    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x, y = torch.randint(0, v, (b, t)), torch.randint(0, v, (b, t))

    def step(state):
        logits, state = model(x, state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, v), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return detach(state)

    state = step(None)
    times, total = [], 0.0
    while total < args.seconds or len(times) < 3:
        t0 = time.perf_counter()
        state = step(state)
        times.append(time.perf_counter() - t0)
        total += times[-1]
    train = b * t / statistics.median(times)

    def generate(n):
        token, state = torch.zeros(1, 1, dtype=torch.long), None
        with torch.no_grad():
            for _ in range(n):
                logits, state = model(token, state)
                token = torch.multinomial(torch.softmax(logits[0, -1], dim=-1), 1).view(1, 1)

    generate(50)
    t0 = time.perf_counter()
    generate(args.tokens)
    gen = args.tokens / (time.perf_counter() - t0)
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would include this script's parent.
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"case": name, "train_tok_s": train, "gen_tok_s": gen, "peak_rss_mb": rss}))


if args.torch_case:
    torch_case(args.torch_case)
    sys.exit(0)

import torch  # noqa: E402  (only for the version line)
print(f"torch {torch.__version__}, {args.threads} threads, training median over ~{args.seconds:g} s, "
      f"generation of {args.tokens} tokens")
header = f"{'case':22} {'train rnn':>10} {'torch':>9} {'ratio':>6} {'gen rnn':>9} {'torch':>8} {'ratio':>6} {'RSS rnn':>8} {'torch':>7}"
print(header)
for name in args.cases.split(","):
    ours = json.loads(subprocess.run([args.rnn, "bench", "--case", name, "--threads", str(args.threads), "--seconds",
                                      str(args.seconds), "--tokens", str(args.tokens), "--json"],
                                     check=True, capture_output=True, text=True).stdout)
    time.sleep(0.3)
    theirs = json.loads(subprocess.run([sys.executable, __file__, "--torch-case", name, "--threads", str(args.threads),
                                        "--seconds", str(args.seconds), "--tokens", str(args.tokens)],
                                       check=True, capture_output=True, text=True).stdout)
    print(f"{name:22} {ours['train_tok_s']:10.0f} {theirs['train_tok_s']:9.0f} {ours['train_tok_s'] / theirs['train_tok_s']:6.2f} "
          f"{ours['gen_tok_s']:9.0f} {theirs['gen_tok_s']:8.0f} {ours['gen_tok_s'] / theirs['gen_tok_s']:6.2f} "
          f"{ours['peak_rss_mb']:8.1f} {theirs['peak_rss_mb']:7.1f}", flush=True)
