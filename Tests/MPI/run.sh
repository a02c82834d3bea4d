#!/usr/bin/env bash
# Data-parallel training over MPI, end to end: `mpirun -np 2 rnn train|fit` on loopback.
# Usage: Tests/MPI/run.sh RNN_WITH_MPI [RNN_WITHOUT_MPI]
#   RNN_WITH_MPI     built with `swift build --traits MPI` (e.g. .build-mpi/debug/rnn)
#   RNN_WITHOUT_MPI  the default build, to check that it refuses a launch of 2 ranks
# Checks: every rank ends with the same weights (the trainer also compares them at every
# checkpoint and stops otherwise); two runs write the same bytes; the first step's gradients
# of 2 ranks and of 1 process agree to 1e-6; resume 2 → 2 is exact and 2 → 1, 1 → 2 work; a
# failing rank stops the others with its reason; a killed rank stops the job and the last
# checkpoint loads. Prints one line per check, "mpi: N passed, M failed" last; exits 1 on a failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rnn=$(realpath "$1")
plain=${2:+$(realpath "$2")}
work=$(mktemp -d "$root/.build/mpi-test.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
text="$root/data/tinyshakespeare.txt"
mpi=(mpirun --oversubscribe -np 2)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
passed=0; failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAILED: $*"; failed=$((failed + 1)); }
small=(--hidden 32 --layers 2 --batch 9 --seq 16 --eval-every 5 --seed 3)

# The same weights on every rank: each rank prints its checksum at the end.
same_weights() {   # LOG
    local sums
    sums=$(grep -o "rank [0-9] of 2: weights fnv1a [0-9a-f]*" "$1" | awk '{print $NF}' | sort -u)
    [ "$(grep -c "weights fnv1a" "$1")" = 2 ] && [ "$(echo "$sums" | wc -l)" = 1 ]
}

timeout 300 "${mpi[@]}" "$rnn" train --text "$text" "${small[@]}" --steps 12 --out A > A.log 2>&1 \
    && same_weights A.log && ok "train on 2 ranks: the same weights on both ($(grep -c . A/metrics.jsonl) checkpoints compared)" \
    || { bad "train on 2 ranks"; tail -5 A.log; }
timeout 300 "${mpi[@]}" "$rnn" train --text "$text" "${small[@]}" --steps 12 --out B > B.log 2>&1 \
    && cmp -s A/last.safetensors B/last.safetensors && cmp -s A/best.safetensors B/best.safetensors \
    && ok "train on 2 ranks twice: the same checkpoint bytes" || bad "train on 2 ranks twice: checkpoints differ"

# First-step gradients: plain SGD, g = (W0 − W1)/lr; W0 from a run whose step moves nothing.
first=(--text "$text" "${small[@]}" --steps 1 --optimizer sgd --clip 0)
"$rnn" train "${first[@]}" --lr 1e-30 --out G0 > G0.log 2>&1 &&
    "$rnn" train "${first[@]}" --lr 1000 --out G1 > G1.log 2>&1 &&
    timeout 300 "${mpi[@]}" "$rnn" train "${first[@]}" --lr 1000 --out G2 > G2.log 2>&1 &&
    python3 "$here/safetensors_diff.py" gradient G0/last.safetensors G1/last.safetensors G2/last.safetensors 1000 \
    && ok "first-step gradients of 2 ranks and 1 process agree to 1e-6" || bad "first-step gradients"

# Resume: 2 → 2 gives the bytes of the straight run; 2 → 1 and 1 → 2 continue.
"${mpi[@]}" "$rnn" train --text "$text" "${small[@]}" --steps 5 --out R > R1.log 2>&1 &&
    timeout 300 "${mpi[@]}" "$rnn" train --resume R --steps 12 > R2.log 2>&1 &&
    cmp -s R/last.safetensors A/last.safetensors && ok "resume 2 → 2 ranks: the bytes of the straight run" \
    || bad "resume 2 → 2 ranks"
cp -r R R21 && rm -f R21/best.safetensors.tmp* && "$rnn" train --resume R21 --steps 20 > R21.log 2>&1 &&
    grep -q "resuming at step 12" R21.log && python3 "$here/safetensors_diff.py" loads R21/last.safetensors > /dev/null \
    && ok "resume 2 → 1 rank" || { bad "resume 2 → 1 rank"; tail -3 R21.log; }
"$rnn" train --text "$text" "${small[@]}" --steps 5 --out S > S1.log 2>&1 &&
    timeout 300 "${mpi[@]}" "$rnn" train --resume S --steps 12 > S2.log 2>&1 && same_weights S2.log &&
    grep -q "resuming at step 5" S2.log && ok "resume 1 → 2 ranks" || { bad "resume 1 → 2 ranks"; tail -3 S2.log; }

# rnn fit: 2 ranks on a sequence task, uneven shares (batch 7), twice.
"$rnn" data roommate --count 300 --seed 1 > weeks.jsonl
fit=(fit --task tag --tokens word --data weeks.jsonl --epochs 2 --batch 7 --hidden 16 --seed 1)
timeout 300 "${mpi[@]}" "$rnn" "${fit[@]}" --out F > F.log 2>&1 && same_weights F.log &&
    timeout 300 "${mpi[@]}" "$rnn" "${fit[@]}" --out F2 > F2.log 2>&1 && cmp -s F/last.safetensors F2/last.safetensors \
    && ok "fit on 2 ranks: the same weights on both, the same bytes twice" || { bad "fit on 2 ranks"; tail -3 F.log; }
"$rnn" fit --resume F --epochs 3 > F3.log 2>&1 && ok "fit: resume 2 → 1 rank" || { bad "fit: resume 2 → 1"; tail -3 F3.log; }

# A rank that fails stops the others, with its reason (rank 0 refuses a folder that holds a run).
timeout 120 "${mpi[@]}" "$rnn" train --text "$text" "${small[@]}" --steps 12 --out A > E.log 2>&1
status=$?
[ "$status" != 0 ] && [ "$status" != 124 ] && grep -q "error: rank 0 of 2: invalid output folder" E.log \
    && ok "a failing rank stops the job with its reason (exit $status)" || { bad "failing rank (exit $status)"; tail -5 E.log; }

# A killed rank stops the job; the last checkpoint still loads and resumes.
"${mpi[@]}" "$rnn" train --text "$text" "${small[@]}" --steps 100000 --eval-every 3 --out K > K.log 2>&1 &
job=$!
for _ in $(seq 600); do [ -f K/last.safetensors ] && break; sleep 0.1; done
victim=""
for p in $(pgrep -P "$job"); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
done
if [ -n "$victim" ]; then
    kill -9 "$victim"
    timeout 60 tail --pid="$job" -f /dev/null
    wait "$job"; status=$?
    [ "$status" != 0 ] && python3 "$here/safetensors_diff.py" loads K/last.safetensors > /dev/null &&
        "$rnn" train --resume K --steps "$(( $(python3 -c "import json,struct;d=open('K/last.safetensors','rb').read();n=struct.unpack('<Q',d[:8])[0];print(json.loads(json.loads(d[8:8+n])['__metadata__']['training'])['step'])") + 1 ))" > K2.log 2>&1 \
        && ok "a killed rank stops the job (exit $status: $(grep -m1 -o "exited on signal [0-9]*\|killed[^.]*" K.log || echo "no message"));" \
              "the last checkpoint loads and resumes" || { bad "killed rank (exit $status)"; tail -5 K.log; tail -2 K2.log; }
else
    kill -- "$job" 2>/dev/null; bad "killed rank: could not find rank 1's process"
fi

# Built without MPI, a launch of 2 ranks is refused with one line saying how to build it.
if [ -n "$plain" ]; then
    timeout 120 "${mpi[@]}" "$plain" train --text "$text" "${small[@]}" --steps 2 --out P > P.log 2>&1
    [ $? != 0 ] && grep -q "built without MPI.*--traits MPI" P.log && [ ! -e P/last.safetensors ] \
        && ok "without the MPI trait, 2 ranks are refused" || { bad "refusal without MPI"; tail -3 P.log; }
fi
echo "mpi: $passed passed, $failed failed"
[ "$failed" = 0 ]
