#!/usr/bin/env python3
"""A model on paper of data-parallel scaling (issue 21): ring all-reduce against compute per step.

  all-reduce(N) = 2(N−1)/N · S / BW  +  2(N−1) · α  +  k · 2(N−1) · α
  efficiency(N) = compute / (compute + all-reduce)             (no overlap with backward)

S: gradient bytes per step (4 × parameters, measured: rnn prints them); compute: seconds per
step of one rank on its per-rank batch (measured: Benchmarks/mpi/measure.sh, 1 rank); α: the
per-message latency (assumed: 25 µs for TCP over Ethernet, 2 µs for RDMA); k: the small
collectives per step besides the gradients (2 here: the loss totals and the stop flag), each with
the same 2(N−1) messages in this project's fixed-order sum. Two regimes:
  weak   — per-rank batch fixed at 50 streams (global batch 50·N): compute per step stays put;
  strong — global batch fixed at 50 streams split N ways: compute per step ≈ compute / N
           (optimistic: small per-rank GEMMs run below peak), only for N ≤ 50.
Usage: scaling_model.py [LSTM_SECONDS GRU_SECONDS]  (defaults: the measured values below)"""
import sys

measured = {   # (parameters, seconds per step at B=50, T=50, 1 process): MEASURED 2026-11-30 with
    "lstm-512x2": (4_269_121, 0.274),   # Benchmarks/mpi/measure.sh (release, 5 steps, 2 kernel threads)
    "gru-256x2": (822_849, 0.064),      # on a 2-core VM shared with other builds: noisy, rerun
}
if len(sys.argv) == 3:
    measured["lstm-512x2"] = (measured["lstm-512x2"][0], float(sys.argv[1]))
    measured["gru-256x2"] = (measured["gru-256x2"][0], float(sys.argv[2]))
links = {"10 Gbit/s": 10e9 / 8, "100 Gbit/s": 100e9 / 8}
alphas = {"TCP α=25 µs": 25e-6, "RDMA α=2 µs": 2e-6}
k = 2

def allreduce(n, nbytes, bw, alpha):
    return 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * alpha * (1 + k) if n > 1 else 0.0

print("| model | link | latency | N | all-reduce ms | weak: efficiency | strong: compute ms | strong: efficiency |")
print("|---|---|---|---|---|---|---|---|")
for model, (params, compute) in measured.items():
    nbytes = 4 * params
    for link, bw in links.items():
        for lat, alpha in alphas.items():
            for n in (8, 64, 512):
                t = allreduce(n, nbytes, bw, alpha)
                weak = compute / (compute + t)
                strong = f"{1000 * compute / n:.1f} | {100 * (compute / n) / (compute / n + t):.0f}%" if n <= 50 else "— | —"
                print(f"| {model} | {link} | {lat} | {n} | {1000 * t:.1f} | {100 * weak:.0f}% | {strong} |")

# Where strong scaling stops: compute/N = all-reduce(N) (the all-reduce takes half the step).
print()
for model, (params, compute) in measured.items():
    for link, bw in links.items():
        for lat, alpha in alphas.items():
            n = next((n for n in range(2, 100000) if compute / n <= allreduce(n, 4 * params, bw, alpha)), None)
            beyond = " (beyond the 50 streams of the batch: not reachable)" if n and n > 50 else ""
            print(f"- {model}, {link}, {lat}: strong scaling (global batch fixed) reaches 50% efficiency at N ≈ {n}{beyond}")
