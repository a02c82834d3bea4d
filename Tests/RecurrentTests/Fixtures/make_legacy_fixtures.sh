#!/usr/bin/env bash
# Checkpoints written by an earlier rnn (before the one Trainer and Checkpoint), kept so the
# tests can check that they still load, predict and resume the same.
# Usage: make_legacy_fixtures.sh RNN_BINARY   (writes legacy/ beside this script)
# The committed files came from the build of commit 24cb9c2.
set -euo pipefail
rnn=$(realpath "$1")
out="$(cd "$(dirname "$0")" && pwd)/legacy"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
python3 -c '
words = ["to", "be", "or", "not", "that", "is", "the", "question"]
s, i = "", 0
while len(s) < 3000:
    s += words[(i * 7 + i // 3) % len(words)] + (".\n" if i % 6 == 5 else " ")
    i += 1
open("text.txt", "w").write(s[:3000])'
"$rnn" train --text text.txt --hidden 12 --layers 2 --batch 4 --seq 16 --steps 12 --eval-every 6 --seed 3 --out char > /dev/null
cp -r char char-resumed
"$rnn" train --resume char-resumed --steps 18 > /dev/null
"$rnn" data roommate --count 120 --seed 4 > weeks.jsonl
"$rnn" fit --task tag --tokens word --data weeks.jsonl --hidden 8 --embedding 6 --epochs 2 --seed 2 --out tag > /dev/null
"$rnn" data addition --count 300 --seed 5 > addition.jsonl
"$rnn" fit --task seq2seq --data addition.jsonl --hidden 8 --embedding 4 --attention dot --epochs 1 --seed 2 --out seq2seq > /dev/null

rm -rf "$out"; mkdir -p "$out"
cp text.txt "$out/"
head -n 20 weeks.jsonl > "$out/weeks.jsonl"
head -n 40 addition.jsonl > "$out/addition.jsonl"
cp char/best.safetensors "$out/char-best.safetensors"
cp char/last.safetensors "$out/char-last.safetensors"
cp char/metrics.jsonl "$out/char-metrics.jsonl"
cp char-resumed/last.safetensors "$out/char-resumed-last.safetensors"
cp tag/best.safetensors "$out/tag-best.safetensors"
cp tag/last.safetensors "$out/tag-last.safetensors"
cp seq2seq/best.safetensors "$out/seq2seq-best.safetensors"
{
  printf '{"score": %s,\n' "$("$rnn" score --checkpoint char/best.safetensors --text text.txt --json)"
  printf ' "sample": %s,\n' "$("$rnn" sample --checkpoint char/best.safetensors --length 40 --prime "to" --seed 1 | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
  printf ' "tag_predictions": %s,\n' "$("$rnn" predict --checkpoint tag/best.safetensors --data "$out/weeks.jsonl" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
  printf ' "seq2seq_predictions": %s}\n' "$("$rnn" predict --checkpoint seq2seq/best.safetensors --data "$out/addition.jsonl" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
} > "$out/expected.json"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out/expected.json"
ls -la "$out"
