#!/bin/sh
# Builds in a private snapshot (HEAD + the perf work's files) so that another engineer's
# half-written files in the shared tree do not break the build:  dev/perf/snap.sh [swift args]
set -e
src=$(cd "$(dirname "$0")/../.." && pwd); snap=${SNAP:-/tmp/perfsnap}
mkdir -p $snap
cd $src
git archive HEAD | tar -x -C $snap
for f in Sources/CRecurrentKernels Sources/Recurrent/Kernels Sources/Recurrent/Layers/LSTMCell.swift \
         Sources/Recurrent/Layers/GRUCell.swift Sources/Recurrent/Layers/RNNCell.swift \
         Sources/Recurrent/Layers/RecurrentLayer.swift Sources/Recurrent/Training/Loss.swift \
         Sources/Recurrent/Training/Optimizer.swift Tests/RecurrentTests/Kernels dev/perf; do
  rm -rf $snap/$f; mkdir -p $(dirname $snap/$f); cp -r $f $snap/$f
done
cd $snap && [ $# -gt 0 ] && swift "$@" --scratch-path .build-perf || true
