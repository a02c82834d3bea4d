"""The performance issue's benchmark cases, side by side: `rnn bench --case NAME --json` against
the same model in PyTorch, each case of each in its own process (so peak memory is its own).

    Benchmarks/setup_venv.sh && swift build -c release
    .venv-bench/bin/python Benchmarks/cases_vs_pytorch.py [--cases ...] [--threads 2] [--seconds 4] [--tokens 2000]
        [--precision fp32|bf16|int8|w8a8] [--matmul-precision fp32|bf16]

Training step: forward, cross-entropy, backward, clip_grad_norm_(5), Adam, on random tokens, the
state carried (detached) between steps; the median step time. Generation: batch 1, one token
at a time, the state carried, sampling from the softmax (torch.multinomial), under no_grad.
Prints one table: case, ours, PyTorch and the ratio for training and generation, peak RSS of both.
--precision is passed to `rnn bench` (how our generation stores its weights; training is always
float32); PyTorch always runs float32. --matmul-precision bf16 trains ours with bf16 products
(`rnn bench --matmul-precision bf16`) and PyTorch under torch.autocast("cpu", dtype=torch.bfloat16).
"""
import argparse
import json
import os
import subprocess
import sys
import time

from torch_reference import CASES, generation_tokens_per_second, model_for, train_step_seconds

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser()
parser.add_argument("--cases", default=",".join(CASES))
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seconds", type=float, default=4)
parser.add_argument("--tokens", type=int, default=2000)
parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8", "w8a8"],
                    help="our generation's weight precision (PyTorch stays fp32)")
parser.add_argument("--matmul-precision", default="fp32", choices=["fp32", "bf16"],
                    help="training's products: ours with --matmul-precision, PyTorch under CPU autocast to bfloat16")
parser.add_argument("--rnn", default=os.path.join(root, ".build", "release", "rnn"))
parser.add_argument("--torch-case", help=argparse.SUPPRESS)   # internal: run one case in PyTorch
args = parser.parse_args()


def torch_case(name):
    import torch
    torch.set_num_threads(args.threads)
    _, _, _, b, t = CASES[name]
    model = model_for(name)
    train = b * t / train_step_seconds(name, args.seconds, model, bf16=args.matmul_precision == "bf16")
    gen = generation_tokens_per_second(model, args.tokens)
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would include this script's parent.
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"case": name, "train_tok_s": train, "gen_tok_s": gen, "peak_rss_mb": rss}))


if args.torch_case:
    torch_case(args.torch_case)
    sys.exit(0)

import torch  # noqa: E402  (only for the version line)
print(f"torch {torch.__version__}, {args.threads} threads, training median over ~{args.seconds:g} s, "
      f"generation of {args.tokens} tokens, ours generating with --precision {args.precision} (PyTorch fp32), "
      f"training products {args.matmul_precision}")
header = f"{'case':22} {'train rnn':>10} {'torch':>9} {'ratio':>6} {'gen rnn':>9} {'torch':>8} {'ratio':>6} {'RSS rnn':>8} {'torch':>7}"
print(header)
for name in args.cases.split(","):
    ours = json.loads(subprocess.run([args.rnn, "bench", "--case", name, "--threads", str(args.threads), "--seconds",
                                      str(args.seconds), "--tokens", str(args.tokens), "--precision", args.precision,
                                      "--matmul-precision", args.matmul_precision, "--json"],
                                     check=True, capture_output=True, text=True).stdout)
    time.sleep(0.3)
    theirs = json.loads(subprocess.run([sys.executable, __file__, "--torch-case", name, "--threads", str(args.threads),
                                        "--seconds", str(args.seconds), "--tokens", str(args.tokens),
                                        "--matmul-precision", args.matmul_precision],
                                       check=True, capture_output=True, text=True).stdout)
    print(f"{name:22} {ours['train_tok_s']:10.0f} {theirs['train_tok_s']:9.0f} {ours['train_tok_s'] / theirs['train_tok_s']:6.2f} "
          f"{ours['gen_tok_s']:9.0f} {theirs['gen_tok_s']:8.0f} {ours['gen_tok_s'] / theirs['gen_tok_s']:6.2f} "
          f"{ours['peak_rss_mb']:8.1f} {theirs['peak_rss_mb']:7.1f}", flush=True)
