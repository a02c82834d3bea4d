#!/bin/sh
# Side-by-side timing of two rnn binaries, alternating, R rounds per case.
#   dev/perf/ab.sh OLD NEW [rounds] [seconds] [cases...]
# Prints each round's tok/s (higher is better); take the median by eye or with the summary line.
old=$1; new=$2; rounds=${3:-3}; secs=${4:-2}; shift 4 2>/dev/null
cases=${*:-"lstm-128x2-b50-t50 lstm-512x2-b50-t100 gru-256x2-b32-t64 rnn-100x1-b1-t25"}
for c in $cases; do
  o=""; n=""
  for r in $(seq $rounds); do
    o="$o $($old bench train --case $c --seconds $secs --json | sed 's/.*"train_tok_s": *\([0-9.]*\).*/\1/')"
    n="$n $($new bench train --case $c --seconds $secs --json | sed 's/.*"train_tok_s": *\([0-9.]*\).*/\1/')"
  done
  med() { echo $* | tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  printf "%-22s old %-30s new %-30s median %s -> %s\n" $c "$o" "$n" $(med $o) $(med $n)
done
