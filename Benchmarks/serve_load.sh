#!/usr/bin/env bash
# rnn serve under load on loopback: tokens/s and the time a client waits per token (p50, p99) for
# 1, 8, 64 and 256 concurrent generation streams on an lstm-512x2 and a gru-256x2 character model
# (weights from `rnn train --steps 1`: they don't matter for speed), then RSS before and after
# 100,000 short requests. Targets (issue 20): at 64 streams total tokens/s ≥ 20× one stream's and
# p99 per-token time ≤ 3× one stream's; RSS within 5% after the 100,000 requests.
# Every phase is bounded in time; the server listens on 127.0.0.1 only and is stopped at the end.
# Usage: Benchmarks/serve_load.sh [SECONDS per phase, default 10] [OUT folder, default /tmp/serve-load]
# Environment: STREAMS ("1 8 64 256"), MODELS ("lstm-512x2 gru-256x2"), REQUESTS (100000),
# MAX_BATCH (256: every stream gets a row; 64 is rnn serve's default), LENGTH (2000 characters a request),
# RNN (an rnn built with the Server trait; default: build .build-server/release/rnn).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}; out=${2:-/tmp/serve-load}
streams=${STREAMS:-1 8 64 256}; models=${MODELS:-lstm-512x2 gru-256x2}; requests=${REQUESTS:-100000}
max_batch=${MAX_BATCH:-256}; length=${LENGTH:-2000}
text=${TEXT:-data/tinyshakespeare.txt}
[ -f "$text" ] || text=../shared/data/tinyshakespeare.txt
rnn=${RNN:-}
if [ -z "$rnn" ]; then
    swift build -c release --traits Server --scratch-path .build-server --product rnn > /dev/null
    rnn=.build-server/release/rnn
fi
mkdir -p "$out"
checkpoints=()
for m in $models; do
    cell=${m%%-*}; shape=${m#*-}; hidden=${shape%%x*}; layers=${shape##*x}
    if [ ! -f "$out/$m/best.safetensors" ]; then
        "$rnn" train --text "$text" --cell "$cell" --hidden "$hidden" --layers "$layers" --steps 1 --out "$out/$m" > "$out/$m.train.log"
    fi
    checkpoints+=(--checkpoint "$m=$out/$m/best.safetensors")
done
"$rnn" serve "${checkpoints[@]}" --port 0 --max-batch "$max_batch" --max-streams 1024 > "$out/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out/serve.log" && break; sleep 0.1; done
port=$(grep -o 'listening on http://[^ ]*' "$out/serve.log" | grep -o '[0-9]*$')
echo "rnn serve on 127.0.0.1:$port (pid $server, --max-batch $max_batch), $seconds s per phase"
results="$out/results.jsonl"; : > "$results"
for m in $models; do
    for n in $streams; do
        python3 Benchmarks/serve_load.py streams --port "$port" --model "$m" --streams "$n" --length "$length" \
            --seconds "$seconds" | tee -a "$results"
    done
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'model':12} {'streams':>7} {'tok/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'tok/s ÷ 1':>10} {'p99 ÷ 1':>8}")
for r in rows:
    one = next((o for o in rows if o["model"] == r["model"] and o["streams"] == 1), None)
    speedup = r["tokens_per_s"] / one["tokens_per_s"] if one and one["tokens_per_s"] else float("nan")
    p99 = r["p99_ms"] / one["p99_ms"] if one and one["p99_ms"] else float("nan")
    print(f"{r['model']:12} {r['streams']:>7} {r['tokens_per_s']:>10.0f} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {speedup:>10.1f} {p99:>8.2f}")
PY
first=${models%% *}
python3 Benchmarks/serve_load.py requests --port "$port" --model "$first" --requests "$requests" --concurrency 64 \
    --seconds $((seconds * 30)) --pid "$server" | tee -a "$results"
echo "results: $results"
