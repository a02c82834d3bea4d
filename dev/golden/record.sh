#!/usr/bin/env bash
# Golden runs: the same seeded commands with one rnn binary, into one folder.
# Usage: dev/golden/record.sh RNN_BINARY OUT_DIR [TEXT]
# TEXT defaults to ../shared/data/tinyshakespeare.txt. Compare two folders with compare.py.
set -euo pipefail
rnn=$(realpath "$1"); out=$2; text=$(realpath "${3:-$(dirname "$0")/../../../shared/data/tinyshakespeare.txt}")
rm -rf "$out"; mkdir -p "$out"; cd "$out"

"$rnn" train --text "$text" --hidden 64 --layers 2 --steps 300 --seed 1 --out train > train.out
"$rnn" train --text "$text" --cell gru --hidden 48 --layers 1 --steps 120 --eval-every 50 --dropout 0.1 \
    --optimizer rmsprop --lr 0.003 --seed 2 --out train-gru > train-gru.out

"$rnn" data roommate --count 2000 --seed 1 > weeks.jsonl
"$rnn" fit --task tag --tokens word --data weeks.jsonl --epochs 3 --seed 1 --out tag > tag.out
# classify: the week's last dish from its weather; regress: a sum of noisy steps.
python3 - <<'PY'
import json, random
with open("weeks.jsonl") as f, open("classify.jsonl", "w") as g:
    for line in f:
        e = json.loads(line)
        g.write(json.dumps({"id": e["id"], "input": e["input"], "target": e["target"][-1]}) + "\n")
r = random.Random(1)
with open("regress.jsonl", "w") as g:
    for i in range(600):
        steps = [[round(r.uniform(-1, 1), 3), round(r.uniform(0, 1), 3)] for _ in range(r.randint(2, 9))]
        g.write(json.dumps({"input": steps, "target": round(sum(a * b for a, b in steps), 4)}) + "\n")
PY
"$rnn" fit --task classify --tokens word --data classify.jsonl --epochs 3 --dropout 0.2 --layers 2 --seed 1 --out classify > classify.out
"$rnn" fit --task regress --data regress.jsonl --epochs 3 --cell gru --pooling mean --seed 1 --out regress > regress.out
"$rnn" data addition --count 4000 --seed 1 > addition.jsonl
"$rnn" fit --task seq2seq --data addition.jsonl --hidden 64 --embedding 16 --attention general --epochs 2 --batch 64 \
    --lr 0.005 --lr-decay 0.9 --seed 1 --out seq2seq > seq2seq.out
"$rnn" data captions --count 400 --seed 1 > captions.jsonl
"$rnn" fit --task caption --tokens word --data captions.jsonl --epochs 2 --seed 1 --out caption > caption.out

"$rnn" compare --task adding --length 30 --steps 200 --json --svg compare-adding.svg > compare-adding.json
"$rnn" compare --task copy --length 10 --steps 100 --cells lstm,gru --json --svg compare-copy.svg > compare-copy.json
"$rnn" roommate --train --seed 1 --json > roommate.json
"$rnn" roommate --train --cell rnn --seed 1 --json > roommate-rnn.json
"$rnn" roommate --train --seed 1 > roommate.out
"$rnn" roommate --train --cell rnn --seed 3 > roommate-rnn.out
echo "recorded in $out"
