#!/bin/sh
# Builds ./bench from the package's C sources with the flags a SwiftPM release
# build uses for C targets (-O2, no -march). Extra arguments go to the compiler,
# e.g. ./build.sh -DRK512_KC=256 to try another blocking.
set -e
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../../Sources/CRecurrentKernels"
CC=${CC:-/opt/swift/usr/bin/clang}
$CC -O2 -std=gnu11 -Wall -Wextra -I"$src/include" "$@" "$src"/*.c "$here/bench.c" -lpthread -lm -o "$here/bench"
# Shared library for side-by-side timing against MKL (mkl_compare.py, ctypes),
# kept in the git-ignored .build-gemm folder.
mkdir -p "$here/../../.build-gemm"
$CC -O2 -std=gnu11 -fPIC -shared -I"$src/include" "$@" "$src"/*.c -lpthread -lm -o "$here/../../.build-gemm/librk.so"
