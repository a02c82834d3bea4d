#!/usr/bin/env bash
# Data-parallel step time, split into compute and all-reduce, for lstm-512x2 and gru-256x2 on 1
# and 2 ranks (issue 21). Run on a quiet machine with an rnn built by
#   swift build -c release --traits MPI --scratch-path .build-mpi
# Usage: Benchmarks/mpi/measure.sh [RNN] [STEPS]   (defaults: .build-mpi/release/rnn, 30)
# CORES (default: nproc) are shared out: 1 rank runs the kernels on CORES threads, 2 ranks on
# CORES/2 each (--threads; results do not depend on it), so both use the same cores.
# Every run: char model on data/tinyshakespeare.txt, --batch 50 --seq 50 (global), no validation
# (--val-fraction 0), Adam. 1 rank is a plain process (no communicator: no all-reduce); 2 ranks
# run under mpirun on this machine (loopback / shared memory). Compute = the loop's seconds
# (metrics.jsonl) minus the rank's all-reduce seconds (which include waiting for the slower rank).
# Prints a markdown table; the scaling model (Benchmarks/mpi/scaling_model.py) takes its numbers.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rnn=$(realpath "${1:-$root/.build-mpi/release/rnn}")
steps=${2:-30}
cores=${CORES:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
echo "| model | ranks | s/step | compute s/step | all-reduce s/step | all-reduce share | gradient bytes/step | tok/s |"
echo "|---|---|---|---|---|---|---|---|"
for model in "lstm 512" "gru 256"; do
    set -- $model
    args=(train --text "$root/data/tinyshakespeare.txt" --cell "$1" --hidden "$2" --layers 2 --batch 50 --seq 50
          --steps "$steps" --val-fraction 0 --eval-every "$steps" --seed 1)
    for ranks in 1 2; do
        threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
        out="$work/$1-$ranks"
        if [ "$ranks" = 1 ]; then
            "$rnn" "${args[@]}" --threads "$threads" --out "$out" > "$out.log" 2>&1
        else
            "${mpi[@]}" -np "$ranks" "$rnn" "${args[@]}" --threads "$threads" --out "$out" > "$out.log" 2>&1
        fi
        python3 - "$out" "$ranks" "$1-$2x2" "$steps" <<'PY'
import json, re, sys
out, ranks, name, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
last = [json.loads(l) for l in open(out + "/metrics.jsonl")][-1]
log = open(out + ".log").read()
params = int(re.search(r"(\d+) parameters", log).group(1))
reduce_s = [float(x) for x in re.findall(r"all-reduce ([0-9.]+) s", log)]
grad_bytes = re.findall(r"gradients (\d+) bytes a step", log)
ar = max(reduce_s) / steps if reduce_s else 0.0
total = last["elapsed_seconds"] / steps
nbytes = int(grad_bytes[0]) if grad_bytes else 4 * params
print(f"| {name} | {ranks} | {total:.4f} | {total - ar:.4f} | {ar:.4f} | {100 * ar / total:.1f}% | {nbytes} "
      f"| {last['tokens_per_second']:.0f} |")
PY
    done
done
