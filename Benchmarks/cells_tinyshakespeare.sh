#!/usr/bin/env bash
# Validation loss after the same wall-clock time, cells at about the same parameter count
# (2 layers, embedding = hidden): lstm 128, gru 148, lnlstm 128, lngru 148, mingru 250, minlstm 204
# (281K, 284K, 283K, 286K, 284K, 278K parameters). Each run gets SECONDS of training (SIGINT ends it with its last checkpoint),
# evaluating every 100 steps; then plot_cells.py draws validation loss against time.
# Usage: Benchmarks/cells_tinyshakespeare.sh [TEXT] [SECONDS] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
text=${1:-../shared/data/tinyshakespeare.txt}; seconds=${2:-60}; out=${3:-/tmp/cells-tinyshakespeare}
swift build -c release > /dev/null
rm -rf "$out"; mkdir -p "$out"
for spec in lstm:128 gru:148 lnlstm:128 lngru:148 mingru:250 minlstm:204; do
    cell=${spec%%:*}; hidden=${spec##*:}
    timeout -s INT "$seconds" .build/release/rnn train --text "$text" --cell "$cell" --hidden "$hidden" --layers 2 \
        --epochs 1000 --eval-every 100 --seed 1 --out "$out/$cell" > "$out/$cell.log" || true
    tail -n 1 "$out/$cell/metrics.jsonl"
done
python3 Benchmarks/plot_cells.py "$out" lstm gru lnlstm lngru mingru minlstm > "$out/cells.svg"
echo "chart: $out/cells.svg"
