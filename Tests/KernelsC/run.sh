#!/usr/bin/env bash
# The C kernels against their naive references on every ISA path, without Swift
# (Tests/KernelsC/kernels_test.c): built with the host cc and run here (x86-64: generic, AVX2 and
# AVX-512 where the CPU has them); then, when aarch64-linux-gnu-gcc and qemu-aarch64 are
# installed, cross-compiled (static) and run under qemu-aarch64 (generic and NEON).
# Exits non-zero when either run fails, or when a deliberately perturbed result is not caught, or
# (with KERNELS_REQUIRE_AARCH64=1, as CI sets it) when the aarch64 run cannot happen.
#
# Flags: what SwiftPM's target needs (the include directory; the AVX files carry their own target
# attributes, so no -m flags) plus -ffp-contract=off. SwiftPM compiles with clang, which never
# fuses a separate multiply and add into an FMA (not across statements, not across intrinsics);
# GCC's default (-ffp-contract=fast) does, and then the paths documented to give the reference's
# bits (Adam) differ in the last bit. CC=clang works as well.
set -uo pipefail
cd "$(dirname "$0")/../.."

CC=${CC:-cc}
CROSS=aarch64-linux-gnu-gcc
FLAGS=(-O2 -ffp-contract=off -I Sources/CRecurrentKernels/include)
SOURCES=(Tests/KernelsC/kernels_test.c Sources/CRecurrentKernels/*.c)
LIBS=(-lpthread -lm)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
ran=()

# $1: label; the rest: the command running the test binary.
run_test() {
    local label=$1
    shift
    local log="$work/$label.log"
    "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    local isas
    isas=$(sed -n 's/^kernels_test: ISAs run: \(.*\) -- .*/\1/p' "$log")
    ran+=("$label: ${isas:-none}")
    if [ "$rc" -ne 0 ]; then
        echo "kernels-c: $label FAILED (exit $rc)"
        status=1
    fi
    return "$rc"
}

host=$(uname -m)
echo "kernels-c: building for $host with $CC"
if "$CC" "${FLAGS[@]}" -o "$work/kernels_test" "${SOURCES[@]}" "${LIBS[@]}"; then
    if run_test "$host" "$work/kernels_test"; then
        # The check itself: one output perturbed by 1e-4 must fail it.
        if KERNELS_TEST_PERTURB=sgemm "$work/kernels_test" >/dev/null 2>&1; then
            echo "kernels-c: a perturbed sgemm result was NOT caught"
            status=1
        else
            echo "kernels-c: a perturbed sgemm result is caught (as it should be)"
        fi
    fi
else
    echo "kernels-c: host build FAILED"
    status=1
fi

if [ "$host" = aarch64 ]; then
    echo "kernels-c: the host is aarch64; NEON ran above"
elif command -v "$CROSS" >/dev/null && command -v qemu-aarch64 >/dev/null; then
    echo "kernels-c: cross-compiling for aarch64 with $CROSS, running under qemu-aarch64"
    if "$CROSS" "${FLAGS[@]}" -static -o "$work/kernels_test_aarch64" "${SOURCES[@]}" "${LIBS[@]}"; then
        run_test aarch64 qemu-aarch64 "$work/kernels_test_aarch64"
    else
        echo "kernels-c: aarch64 build FAILED"
        status=1
    fi
elif [ "${KERNELS_REQUIRE_AARCH64:-0}" = 1 ]; then
    echo "kernels-c: aarch64 FAILED: $CROSS or qemu-aarch64 is not installed, and KERNELS_REQUIRE_AARCH64=1"
    status=1
else
    echo "kernels-c: aarch64 skipped ($CROSS or qemu-aarch64 not installed)"
fi

for r in "${ran[@]}"; do echo "kernels-c: ISAs run on $r"; done
echo "kernels-c: $([ "$status" -eq 0 ] && echo passed || echo FAILED)"
exit "$status"
