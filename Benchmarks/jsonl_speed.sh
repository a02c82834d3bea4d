#!/usr/bin/env bash
# Read speed of JSON Lines on one core: `rnn bench jsonl` (the reader of rnn fit, predict and
# evaluate) against Python's json (json.loads per line, the parsed lines kept, timed inside Python),
# both the best of 3 reads, on two generated files of about 57 MB: 12,000 numeric sequences of
# 28 steps × 28 features (numbers like 0.123) and 535,000 short English-like texts with labels.
# Usage: Benchmarks/jsonl_speed.sh [OUT]   (OUT keeps the generated files; default /tmp/jsonl-speed)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/jsonl-speed}
swift build -c release > /dev/null
mkdir -p "$out"
python3 - "$out" <<'PY'
import json, random, sys
out = sys.argv[1]
random.seed(1)
with open(f"{out}/numeric.jsonl", "w") as f:
    for i in range(12000):
        rows = ",".join("[" + ",".join("%.3f" % random.random() for _ in range(28)) + "]" for _ in range(28))
        f.write('{"input": [%s], "target": "%d"}\n' % (rows, i % 10))
words = ("the a of and to in is it that was he for on are as with his they at be this from have or by one had not "
         "but what all were when we there can an your which their said if do will each about how up out them then she "
         "many some so these would other into has more her two like him see time could no make than first been its who "
         "now people my made over did down only way find use may water long little very after words called just where "
         "most know").split()
random.seed(2)
with open(f"{out}/text.jsonl", "w") as f:
    for i in range(535000):
        text = " ".join(random.choice(words) for _ in range(random.randint(8, 24))).capitalize() + "."
        f.write(json.dumps({"input": text, "target": random.choice(["positive", "negative", "neutral"])}) + "\n")
PY
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(python3 --version)"
for name in numeric text; do
    file="$out/$name.jsonl"
    ours=$(.build/release/rnn bench jsonl --data "$file" --runs 3 --json)
    python=$(python3 -c '
import json, os, sys, time
path = sys.argv[1]
best = float("inf")
for _ in range(3):
    start = time.perf_counter()
    examples = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                examples.append(json.loads(line))
    best = min(best, time.perf_counter() - start)
print("%.1f MB/s  %.0f examples/s" % (os.path.getsize(path) / best / 1e6, len(examples) / best))
' "$file")
    python3 -c '
import json, sys
r = json.loads(sys.argv[2])
print("%-14s %5.1f MB  rnn bench jsonl %6.1f MB/s  %9.0f examples/s  (peak RSS %.0f MiB)   python json %s"
      % (sys.argv[1], r["bytes"] / 1e6, r["mb_s"], r["examples_s"], r["peak_rss_mb"], sys.argv[3]))
' "$name.jsonl" "$ours" "$python"
done
