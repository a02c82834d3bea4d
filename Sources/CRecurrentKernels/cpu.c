/*
 * Which SIMD paths this CPU *and OS* can run. Checked once (the driver caches
 * the answer): the CPUID bit alone is not enough, the OS must also save the
 * wider register state on context switches (XCR0, read with xgetbv).
 */
#include "CRecurrentKernels.h"
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    /* Raw opcode-free form: no target("xsave") needed on the caller. */
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int x86_has(int isa) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    const unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0; /* XMM + YMM state */
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1;
    if (isa == RK_ISA_AVX2) return avx2;
    if (isa != RK_ISA_AVX512) return 0;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if (!(avx2 && f && dq && bw && vl)) return 0;
#if defined(__APPLE__)
    /* macOS enables the AVX-512 state lazily, so XCR0 may not show it yet. */
    int v = 0;
    size_t len = sizeof v;
    if (sysctlbyname("hw.optional.avx512f", &v, &len, NULL, 0) == 0) return v != 0;
#endif
    return (xcr0 & 0xE6) == 0xE6; /* + opmask, ZMM_Hi256, Hi16_ZMM state */
}
#endif

/* 1 on an AMD CPU (CPUID vendor "AuthenticAMD"), for tuning choices that differ by vendor. */
int rk_cpu_is_amd(void) {
#if defined(__x86_64__) || defined(_M_X64)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    return b == 0x68747541u && d == 0x69746E65u && c == 0x444D4163u; /* "Auth" "enti" "cAMD" */
#else
    return 0;
#endif
}

int rk_cpu_has(int isa) {
    switch (isa) {
    case RK_ISA_GENERIC: return 1;
#if defined(__x86_64__) || defined(_M_X64)
    case RK_ISA_AVX2:
    case RK_ISA_AVX512: return x86_has(isa);
#endif
#if defined(__aarch64__)
    case RK_ISA_NEON: return 1; /* Advanced SIMD is mandatory on AArch64 */
#endif
    default: return 0;
    }
}
