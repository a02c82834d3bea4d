#!/usr/bin/env bash
# Builds the libFuzzer targets (Swift with -sanitize=fuzzer,address over the library's sources,
# the C kernels with AddressSanitizer) and runs them.
#
#   Fuzz/run.sh build                       build both targets
#   Fuzz/run.sh safetensors [libFuzzer flags]   build, then fuzz one target, e.g. -runs=1000000
#   Fuzz/run.sh jsonl -max_total_time=600
#   Fuzz/run.sh repro safetensors FILE...   run the target once on saved inputs (crash files)
#
# Everything goes to $FUZZ_BUILD (default .build-fuzz/fuzz, git-ignored): binaries, the
# working corpus (seeded from Fuzz/corpus/TARGET, which libFuzzer only reads) and crash files.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LSAN_OPTIONS=suppressions=$ROOT/Fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
export SWIFT_BACKTRACE=enable=no   # the Swift backtracer confuses ASan; libFuzzer prints the stack
BUILD=${FUZZ_BUILD:-$ROOT/.build-fuzz/fuzz}
TARGETS=(safetensors jsonl)
mkdir -p "$BUILD/c" "$BUILD/module"

build_kernels() {
    # SwiftPM would write this module map itself; swiftc needs one to `import CRecurrentKernels`.
    cat > "$BUILD/module/module.modulemap" <<MAP
module CRecurrentKernels {
    header "$ROOT/Sources/CRecurrentKernels/include/CRecurrentKernels.h"
    export *
}
MAP
    # The kernels pick their ISA at run time through target attributes: no -m flags needed.
    for c in Sources/CRecurrentKernels/*.c; do
        o="$BUILD/c/$(basename "${c%.c}").o"
        if [[ ! -f $o || $c -nt $o || Sources/CRecurrentKernels/include/CRecurrentKernels.h -nt $o ]]; then
            clang -c -O1 -g -fno-omit-frame-pointer -fsanitize=address -pthread \
                -ISources/CRecurrentKernels/include -ISources/CRecurrentKernels "$c" -o "$o"
        fi
    done
}

build_target() {
    local name=$1 source
    case $name in
        safetensors) source=Fuzz/Targets/SafetensorsFuzz.swift ;;
        jsonl) source=Fuzz/Targets/JSONLFuzz.swift ;;
        *) echo "unknown target '$name': expected ${TARGETS[*]}" >&2; exit 2 ;;
    esac
    build_kernels
    local binary="$BUILD/fuzz-$name"
    if [[ -f $binary && -z $(find Sources "$source" -newer "$binary" -name '*.[ch]*' -print -quit) \
          && -z $(find Sources "$source" -newer "$binary" -name '*.swift' -print -quit) ]]; then
        return 0   # up to date
    fi
    # One module `Recurrent` with the core and the applications (their `import Recurrent` is then
    # ignored with a warning): the fuzz target sees the internal API. libFuzzer supplies main.
    swiftc -use-ld=lld -sanitize=fuzzer,address -parse-as-library -module-name Recurrent -package-name Recurrent -O -g \
        -I "$BUILD/module" $(find Sources/Recurrent Sources/RecurrentApps -name '*.swift' | sort) "$source" "$BUILD"/c/*.o \
        -o "$BUILD/fuzz-$name"
}

case ${1:-build} in
    build)
        for t in "${TARGETS[@]}"; do build_target "$t"; done ;;
    repro)
        build_target "$2"
        "$BUILD/fuzz-$2" "${@:3}" ;;
    *)
        name=$1; shift
        build_target "$name"
        mkdir -p "$BUILD/corpus-$name" "$BUILD/crashes-$name"
        # -rss_limit_mb: a small malformed file must never make us allocate gigabytes.
        "$BUILD/fuzz-$name" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
            -artifact_prefix="$BUILD/crashes-$name/" -print_final_stats=1 "$@" \
            "$BUILD/corpus-$name" "Fuzz/corpus/$name" ;;
esac
