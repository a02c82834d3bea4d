/*
 * Every kernel of CRecurrentKernels.h that has a naive reference, run on every instruction-set
 * path this machine has (rk_isa_available / rk_set_isa), against that reference, on awkward
 * shapes (1, 3, 7, 17, 31, 33, 65, 127, ...; row strides wider than the rows; B = 1 and B > 1)
 * with inputs from a fixed-seed generator. Plain C, no Swift: Tests/KernelsC/run.sh builds it
 * with the host cc and, when a cross compiler and qemu-aarch64 are there, for AArch64 (NEON).
 *
 * Output buffers are compared whole, the padding between rows included (a kernel must not write
 * there). Errors are relative: |fast - ref| / max(scale, floor), the scale being |ref| or, for
 * sums of products, the same sum over absolute values (the reference run on |A|, |B|, ...).
 * Tolerances: 1e-5 for float paths; exact bits where the header documents the same bits
 * (Adam, w8a8, the packed SGEMM against rk_sgemm, the bf16 SGEMM against the portable path,
 * the bookkeeping loops).
 *
 * Prints one line per kernel x ISA with the largest error; exits 1 on any failure.
 * KERNELS_TEST_PERTURB=<kernel> perturbs one output of that kernel once (on each ISA), to show
 * that a wrong result fails.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "CRecurrentKernels.h"

/* ---- random inputs ---------------------------------------------------------------------- */

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }
static uint64_t rng_u64(void) {
    uint64_t x = rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return rng_state = x;
}
/* uniform in [-1, 1) */
static float rnd(void) { return (float)((double)(rng_u64() >> 11) * 0x1.0p-52 - 1.0); }

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}
static float *rbuf(long n, float scale) {
    float *p = xmalloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) p[i] = rnd() * scale;
    return p;
}
static float *fbuf(long n, float v) {
    float *p = xmalloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) p[i] = v;
    return p;
}
static float *dup(const float *x, long n) {
    float *p = xmalloc(sizeof(float) * (size_t)n);
    memcpy(p, x, sizeof(float) * (size_t)n);
    return p;
}
static float *absdup(const float *x, long n) {
    float *p = dup(x, n);
    for (long i = 0; i < n; i++) p[i] = fabsf(p[i]);
    return p;
}

/* ---- results --------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    double tol;     /* < 0: exact bits */
    double worst;   /* largest relative error (exact: largest absolute difference) */
    long checks, fails;
    char first[240];
} stat;

#define MAX_STATS 64
static stat stats[MAX_STATS];
static int nstats;
static const char *perturb_name;
static int perturbed;

static stat *stat_for(const char *name, double tol) {
    for (int i = 0; i < nstats; i++)
        if (!strcmp(stats[i].name, name)) return &stats[i];
    stat *s = &stats[nstats++];
    memset(s, 0, sizeof *s);
    s->name = name, s->tol = tol;
    return s;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/*
 * fast[i] against ref[i], i < n. tol >= 0: err = |f - r| / max(|mag[i]| (or |r| when mag is NULL),
 * floor) must be <= tol; two NaNs agree. tol < 0: the bits must be equal.
 */
static void cmp(const char *kernel, double tol, const char *where, float *fast, const float *ref, const float *mag,
                long n, double floor_) {
    stat *s = stat_for(kernel, tol);
    if (perturb_name && !perturbed && n > 0 && !strcmp(perturb_name, kernel)) {
        long i = 0; /* the largest finite output: not padding left NaN */
        for (long j = 1; j < n; j++)
            if (isfinite(ref[j]) && (!isfinite(ref[i]) || fabsf(ref[j]) > fabsf(ref[i]))) i = j;
        fast[i] = fast[i] == 0 ? 1e-3f : fast[i] * (1 + 1e-4f);
        perturbed = 1;
    }
    s->checks++;
    for (long i = 0; i < n; i++) {
        const float f = fast[i], r = ref[i];
        double err;
        int bad;
        if (tol < 0) {
            bad = !same_bits(f, r);
            err = isnan(f) != isnan(r) ? INFINITY : isnan(f) ? 0 : fabs((double)f - (double)r);
        } else if (isnan(f) || isnan(r)) {
            err = isnan(f) && isnan(r) ? 0 : INFINITY;
            bad = err != 0;
        } else if (isinf(f) || isinf(r)) {
            err = f == r ? 0 : INFINITY;
            bad = err != 0;
        } else {
            double scale = fabs(mag ? (double)mag[i] : (double)r);
            if (scale < floor_) scale = floor_;
            err = fabs((double)f - (double)r) / scale;
            bad = err > tol;
        }
        if (err > s->worst) s->worst = err;
        if (bad) {
            if (!s->fails)
                snprintf(s->first, sizeof s->first, "%s: [%ld] fast %.9g ref %.9g", where, i, (double)f, (double)r);
            s->fails++;
        }
    }
}

static void cmp_scalar(const char *kernel, double tol, const char *where, double f, double r, double floor_) {
    stat *s = stat_for(kernel, tol);
    s->checks++;
    double scale = fabs(r) < floor_ ? floor_ : fabs(r);
    const double err = (isnan(f) || isnan(r)) ? (isnan(f) && isnan(r) ? 0 : INFINITY) : fabs(f - r) / scale;
    if (err > s->worst) s->worst = err;
    if (err > tol) {
        if (!s->fails) snprintf(s->first, sizeof s->first, "%s: fast %.17g ref %.17g", where, f, r);
        s->fails++;
    }
}

/* ---- shapes ----------------------------------------------------------------------------- */

static const long SIZES[] = {1, 3, 7, 17, 31, 33, 65, 127};
#define NSIZES (long)(sizeof SIZES / sizeof SIZES[0])
static const long BATCHES[] = {1, 3, 33};
#define NBATCHES (long)(sizeof BATCHES / sizeof BATCHES[0])

#define TOL 1e-5

/* ---- SGEMM, plain and packed ------------------------------------------------------------ */

typedef struct { int M, N, K; } shape;
static const shape GEMM_SHAPES[] = {
    {1, 1, 1},    {1, 17, 33},  {1, 127, 65}, {3, 7, 1},    {7, 31, 17},   {17, 33, 65}, {31, 65, 127},
    {33, 127, 7}, {65, 17, 257}, {127, 3, 31}, {3, 65, 300}, {5, 7, 0},    {130, 67, 33}, {600, 13, 20},
    /* big enough to split over threads (M == 1 too), K over two blocks */
    {200, 150, 300}, {1, 700, 600},
    /* row panels of <= 6 rows: two B panels per micro-kernel call (AVX-512) */
    {4, 130, 300}, {6, 64, 33}, {2, 96, 17},
};
static const float ALPHA_BETA[][2] = {{1, 0}, {-0.7f, 1.3f}, {2, 1}, {0, 0.5f}};

static void test_sgemm(void) {
    rng_seed(1);
    char where[160];
    for (size_t si = 0; si < sizeof GEMM_SHAPES / sizeof GEMM_SHAPES[0]; si++) {
        const int M = GEMM_SHAPES[si].M, N = GEMM_SHAPES[si].N, K = GEMM_SHAPES[si].K;
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++)
                for (size_t ab = 0; ab < sizeof ALPHA_BETA / sizeof ALPHA_BETA[0]; ab++) {
                    const float alpha = ALPHA_BETA[ab][0], beta = ALPHA_BETA[ab][1];
                    const int lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 5, ldc = N + 2;
                    const long na = (long)(tA ? K : M) * lda, nb = (long)(tB ? N : K) * ldb, nc = (long)M * ldc;
                    float *A = rbuf(na, 1), *B = rbuf(nb, 1);
                    /* beta == 0 must not read C: start from NaNs there */
                    float *C0 = beta == 0 ? fbuf(nc, NAN) : rbuf(nc, 1);
                    float *Cf = dup(C0, nc), *Cr = dup(C0, nc), *Cm = absdup(C0, nc);
                    float *Aa = absdup(A, na), *Ba = absdup(B, nb);
                    snprintf(where, sizeof where, "M=%d N=%d K=%d tA=%d tB=%d alpha=%g beta=%g", M, N, K, tA, tB,
                             alpha, beta);
                    rk_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, Cf, ldc);
                    rk_sgemm_ref(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, Cr, ldc);
                    rk_sgemm_ref(tA, tB, M, N, K, fabsf(alpha), Aa, lda, Ba, ldb, fabsf(beta), Cm, ldc);
                    cmp("sgemm", TOL, where, Cf, Cr, Cm, nc, 1e-30);

                    /* packed B: the reference, and the same bits as rk_sgemm */
                    float *packed = xmalloc(sizeof(float) * rk_sgemm_packed_b_size(N, K));
                    rk_sgemm_pack_b(tB, N, K, B, ldb, packed);
                    float *Cp = dup(C0, nc);
                    if (rk_sgemm_packed(tA, M, N, K, alpha, A, lda, packed, beta, Cp, ldc) != 0) {
                        stat *s = stat_for("sgemm_packed", TOL);
                        if (!s->fails) snprintf(s->first, sizeof s->first, "%s: returned -1", where);
                        s->fails++;
                    }
                    cmp("sgemm_packed", TOL, where, Cp, Cr, Cm, nc, 1e-30);
                    cmp("sgemm_packed=sgemm", -1, where, Cp, Cf, NULL, nc, 0);
                    /* a packed B with other N, K is refused */
                    float *Cq = dup(C0, nc);
                    if (rk_sgemm_packed(tA, M, N + 1, K, alpha, A, lda, packed, beta, Cq, ldc) != -1) {
                        stat *s = stat_for("sgemm_packed", TOL);
                        if (!s->fails) snprintf(s->first, sizeof s->first, "%s: wrong N accepted", where);
                        s->fails++;
                    }
                    free(packed), free(Cp), free(Cq);
                    free(A), free(B), free(C0), free(Cf), free(Cr), free(Cm), free(Aa), free(Ba);
                }
    }
}

/* ---- SGEMM with bf16 operands (RK_MATMUL_BF16) ------------------------------------------ */

/* x rounded to bf16 as the products round it, back in a float. */
static float *bf16_copy(const float *x, long n) {
    float *p = xmalloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)rk_bf16_round(x[i]) << 16;
        memcpy(&p[i], &u, sizeof u);
    }
    return p;
}

/*
 * On this path, in bf16: the reference on the operands rounded to bf16 (within TOL of the sums of
 * absolute products); the same bits as the portable path (the definition), plain and with B packed;
 * a B packed in bf16 keeps its precision when the caller has gone back to float32.
 */
static void test_sgemm_bf16(void) {
    static const shape EXTRA[] = {{20, 40, 800}, {15, 33, 1537}, {50, 96, 769}};
    const int isa = rk_active_isa();
    rng_seed(7);
    char where[160];
    const size_t ns = sizeof GEMM_SHAPES / sizeof GEMM_SHAPES[0], ne = sizeof EXTRA / sizeof EXTRA[0];
    for (size_t si = 0; si < ns + ne; si++) {
        const shape sh = si < ns ? GEMM_SHAPES[si] : EXTRA[si - ns];
        const int M = sh.M, N = sh.N, K = sh.K;
        for (int tA = 0; tA < 2; tA++)
            for (int tB = 0; tB < 2; tB++) {
                const size_t ab = (si + 2 * (size_t)tA + (size_t)tB) % (sizeof ALPHA_BETA / sizeof ALPHA_BETA[0]);
                const float alpha = ALPHA_BETA[ab][0], beta = ALPHA_BETA[ab][1];
                const int lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 5, ldc = N + 2;
                const long na = (long)(tA ? K : M) * lda, nb = (long)(tB ? N : K) * ldb, nc = (long)M * ldc;
                float *A = rbuf(na, 1), *B = rbuf(nb, 1);
                float *C0 = beta == 0 ? fbuf(nc, NAN) : rbuf(nc, 1);
                float *Cf = dup(C0, nc), *Cg = dup(C0, nc), *Cp = dup(C0, nc), *Cr = dup(C0, nc), *Cm = absdup(C0, nc);
                float *Ar = bf16_copy(A, na), *Br = bf16_copy(B, nb), *Aa = absdup(Ar, na), *Ba = absdup(Br, nb);
                snprintf(where, sizeof where, "bf16 M=%d N=%d K=%d tA=%d tB=%d alpha=%g beta=%g", M, N, K, tA, tB,
                         alpha, beta);
                float *packed = xmalloc(sizeof(float) * rk_sgemm_packed_b_size(N, K));
                rk_set_matmul_precision(RK_MATMUL_BF16);
                rk_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, Cf, ldc);
                rk_sgemm_pack_b(tB, N, K, B, ldb, packed);
                rk_set_isa(RK_ISA_GENERIC);
                rk_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, Cg, ldc);
                rk_set_isa(isa);
                rk_set_matmul_precision(RK_MATMUL_FP32);
                const int status = rk_sgemm_packed(tA, M, N, K, alpha, A, lda, packed, beta, Cp, ldc);
                rk_sgemm_ref(tA, tB, M, N, K, alpha, Ar, lda, Br, ldb, beta, Cr, ldc);
                rk_sgemm_ref(tA, tB, M, N, K, fabsf(alpha), Aa, lda, Ba, ldb, fabsf(beta), Cm, ldc);
                cmp("sgemm_bf16", TOL, where, Cf, Cr, Cm, nc, 1e-30);
                cmp("sgemm_bf16=generic", -1, where, Cf, Cg, NULL, nc, 0);
                if (status != 0) {
                    stat *s = stat_for("sgemm_bf16_packed=sgemm", -1);
                    if (!s->fails) snprintf(s->first, sizeof s->first, "%s: returned %d", where, status);
                    s->fails++;
                }
                cmp("sgemm_bf16_packed=sgemm", -1, where, Cp, Cf, NULL, nc, 0);
                free(packed), free(A), free(B), free(C0), free(Cf), free(Cg), free(Cp), free(Cr), free(Cm);
                free(Ar), free(Br), free(Aa), free(Ba);
            }
    }
}

/* ---- recurrent cell steps --------------------------------------------------------------- */

static void test_lstm(void) {
    rng_seed(2);
    char where[96];
    for (long bi = 0; bi < NBATCHES; bi++)
        for (long hi = 0; hi < NSIZES; hi++) {
            const long B = BATCHES[bi], H = SIZES[hi];
            const long lda = 4 * H + 3, ldcp = H + 2, ldh = H + 1, ldc = H + 4, ldy = H + 5, ldk = 5 * H + 3;
            snprintf(where, sizeof where, "B=%ld H=%ld", B, H);
            float *a = rbuf(B * lda, 4), *bias = rbuf(4 * H, 1), *cp = rbuf(B * ldcp, 2);
            float *h0 = rbuf(B * ldh, 1), *c0 = rbuf(B * ldc, 1), *y0 = rbuf(B * ldy, 1), *k0 = rbuf(B * ldk, 1);
            float *hf = dup(h0, B * ldh), *cf = dup(c0, B * ldc), *yf = dup(y0, B * ldy), *kf = dup(k0, B * ldk);
            float *hr = dup(h0, B * ldh), *cr = dup(c0, B * ldc), *yr = dup(y0, B * ldy), *kr = dup(k0, B * ldk);
            rk_lstm_forward(B, H, a, lda, bias, cp, ldcp, hf, ldh, cf, ldc, yf, ldy, kf, ldk);
            rk_lstm_forward_ref(B, H, a, lda, bias, cp, ldcp, hr, ldh, cr, ldc, yr, ldy, kr, ldk);
            cmp("lstm_forward", TOL, where, hf, hr, NULL, B * ldh, 1);
            cmp("lstm_forward", TOL, where, cf, cr, NULL, B * ldc, 1);
            cmp("lstm_forward", TOL, where, yf, yr, NULL, B * ldy, 1);
            cmp("lstm_forward", TOL, where, kf, kr, NULL, B * ldk, 1);
            /* backward from the reference's (genuine) cache */
            const long ldda = 4 * H + 1, lddy = H + 3, lddh = H + 2, lddc = H + 1;
            float *dy = rbuf(B * lddy, 1), *dh = rbuf(B * lddh, 1), *dc0 = rbuf(B * lddc, 1), *da0 = rbuf(B * ldda, 1);
            float *daf = dup(da0, B * ldda), *dar = dup(da0, B * ldda), *dcf = dup(dc0, B * lddc), *dcr = dup(dc0, B * lddc);
            rk_lstm_backward(B, H, daf, ldda, dy, lddy, dh, lddh, dcf, lddc, kr, ldk, cp, ldcp);
            rk_lstm_backward_ref(B, H, dar, ldda, dy, lddy, dh, lddh, dcr, lddc, kr, ldk, cp, ldcp);
            cmp("lstm_backward", TOL, where, daf, dar, NULL, B * ldda, 1);
            cmp("lstm_backward", TOL, where, dcf, dcr, NULL, B * lddc, 1);
            free(a), free(bias), free(cp), free(h0), free(c0), free(y0), free(k0);
            free(hf), free(cf), free(yf), free(kf), free(hr), free(cr), free(yr), free(kr);
            free(dy), free(dh), free(dc0), free(da0), free(daf), free(dar), free(dcf), free(dcr);
        }
}

static void test_gru(void) {
    rng_seed(3);
    char where[96];
    for (long bi = 0; bi < NBATCHES; bi++)
        for (long hi = 0; hi < NSIZES; hi++) {
            const long B = BATCHES[bi], H = SIZES[hi];
            const long lda = 3 * H + 2, ldq = 3 * H + 5, ldhp = H + 3, ldh = H + 1, ldy = H + 2, ldk = 4 * H + 1;
            snprintf(where, sizeof where, "B=%ld H=%ld", B, H);
            float *a = rbuf(B * lda, 4), *q = rbuf(B * ldq, 2), *bias = rbuf(3 * H, 1), *hp = rbuf(B * ldhp, 1);
            float *h0 = rbuf(B * ldh, 1), *y0 = rbuf(B * ldy, 1), *k0 = rbuf(B * ldk, 1);
            float *hf = dup(h0, B * ldh), *yf = dup(y0, B * ldy), *kf = dup(k0, B * ldk);
            float *hr = dup(h0, B * ldh), *yr = dup(y0, B * ldy), *kr = dup(k0, B * ldk);
            rk_gru_forward(B, H, a, lda, q, ldq, bias, hp, ldhp, hf, ldh, yf, ldy, kf, ldk);
            rk_gru_forward_ref(B, H, a, lda, q, ldq, bias, hp, ldhp, hr, ldh, yr, ldy, kr, ldk);
            cmp("gru_forward", TOL, where, hf, hr, NULL, B * ldh, 1);
            cmp("gru_forward", TOL, where, yf, yr, NULL, B * ldy, 1);
            cmp("gru_forward", TOL, where, kf, kr, NULL, B * ldk, 1);
            const long ldda = 3 * H + 4, lddq = 3 * H + 1, lddy = H + 2, lddh = H + 3;
            float *dy = rbuf(B * lddy, 1), *dh0 = rbuf(B * lddh, 1), *da0 = rbuf(B * ldda, 1), *dq0 = rbuf(B * lddq, 1);
            float *daf = dup(da0, B * ldda), *dar = dup(da0, B * ldda), *dqf = dup(dq0, B * lddq), *dqr = dup(dq0, B * lddq);
            float *dhf = dup(dh0, B * lddh), *dhr = dup(dh0, B * lddh);
            rk_gru_backward(B, H, daf, ldda, dqf, lddq, dy, lddy, dhf, lddh, kr, ldk, hp, ldhp);
            rk_gru_backward_ref(B, H, dar, ldda, dqr, lddq, dy, lddy, dhr, lddh, kr, ldk, hp, ldhp);
            cmp("gru_backward", TOL, where, daf, dar, NULL, B * ldda, 1);
            cmp("gru_backward", TOL, where, dqf, dqr, NULL, B * lddq, 1);
            cmp("gru_backward", TOL, where, dhf, dhr, NULL, B * lddh, 1);
            free(a), free(q), free(bias), free(hp), free(h0), free(y0), free(k0);
            free(hf), free(yf), free(kf), free(hr), free(yr), free(kr);
            free(dy), free(dh0), free(da0), free(dq0), free(daf), free(dar), free(dqf), free(dqr), free(dhf), free(dhr);
        }
}

static void test_lnlstm(void) {
    rng_seed(21);
    char where[96];
    for (long bi = 0; bi < NBATCHES; bi++)
        for (long hi = 0; hi < NSIZES; hi++) {
            const long B = BATCHES[bi], H = SIZES[hi], G = 4 * H;
            const long ldp = G + 3, ldq = G + 1, ldcp = H + 2, ldh = H + 1, ldc = H + 4, ldy = H + 5;
            const long ldk = 8 * H + 4 + 2, lds = 14 * H + 1;
            snprintf(where, sizeof where, "B=%ld H=%ld", B, H);
            float *p = rbuf(B * ldp, 4), *q = rbuf(B * ldq, 2), *cp = rbuf(B * ldcp, 2);
            float *gp = rbuf(G, 1.5f), *gq = rbuf(G, 1.5f), *bias = rbuf(G, 1), *gc = rbuf(H, 1.5f), *bc = rbuf(H, 1);
            float *h0 = rbuf(B * ldh, 1), *c0 = rbuf(B * ldc, 1), *y0 = rbuf(B * ldy, 1), *k0 = rbuf(B * ldk, 1);
            float *hf = dup(h0, B * ldh), *cf = dup(c0, B * ldc), *yf = dup(y0, B * ldy), *kf = dup(k0, B * ldk);
            float *hr = dup(h0, B * ldh), *cr = dup(c0, B * ldc), *yr = dup(y0, B * ldy), *kr = dup(k0, B * ldk);
            rk_lnlstm_forward(B, H, p, ldp, q, ldq, gp, gq, bias, gc, bc, 1e-5f, cp, ldcp, hf, ldh, cf, ldc, yf, ldy, kf,
                              ldk);
            rk_lnlstm_forward_ref(B, H, p, ldp, q, ldq, gp, gq, bias, gc, bc, 1e-5f, cp, ldcp, hr, ldh, cr, ldc, yr, ldy,
                                  kr, ldk);
            cmp("lnlstm_forward", TOL, where, hf, hr, NULL, B * ldh, 1);
            cmp("lnlstm_forward", TOL, where, cf, cr, NULL, B * ldc, 1);
            cmp("lnlstm_forward", TOL, where, yf, yr, NULL, B * ldy, 1);
            cmp("lnlstm_forward", TOL, where, kf, kr, NULL, B * ldk, 1);
            /* backward from the reference's (genuine) cache */
            const long lddp = G + 2, lddq = G + 5, lddy = H + 3, lddh = H + 2, lddc = H + 1;
            float *dy = rbuf(B * lddy, 1), *dh0 = rbuf(B * lddh, 1), *dc0 = rbuf(B * lddc, 1);
            float *dp0 = rbuf(B * lddp, 1), *dq0 = rbuf(B * lddq, 1), *s0 = rbuf(B * lds, 1);
            float *dpf = dup(dp0, B * lddp), *dpr = dup(dp0, B * lddp), *dqf = dup(dq0, B * lddq), *dqr = dup(dq0, B * lddq);
            float *dhf = dup(dh0, B * lddh), *dhr = dup(dh0, B * lddh), *dcf = dup(dc0, B * lddc), *dcr = dup(dc0, B * lddc);
            float *sf = dup(s0, B * lds), *sr = dup(s0, B * lds);
            rk_lnlstm_backward(B, H, dpf, lddp, dqf, lddq, dy, lddy, dhf, lddh, dcf, lddc, kr, ldk, cp, ldcp, cr, ldc, gp,
                               gq, bias, gc, bc, sf, lds);
            rk_lnlstm_backward_ref(B, H, dpr, lddp, dqr, lddq, dy, lddy, dhr, lddh, dcr, lddc, kr, ldk, cp, ldcp, cr, ldc,
                                   gp, gq, bias, gc, bc, sr, lds);
            cmp("lnlstm_backward", TOL, where, dpf, dpr, NULL, B * lddp, 1);
            cmp("lnlstm_backward", TOL, where, dqf, dqr, NULL, B * lddq, 1);
            cmp("lnlstm_backward", TOL, where, dhf, dhr, NULL, B * lddh, 1);
            cmp("lnlstm_backward", TOL, where, dcf, dcr, NULL, B * lddc, 1);
            cmp("lnlstm_backward", TOL, where, sf, sr, NULL, B * lds, 1);
            free(p), free(q), free(cp), free(gp), free(gq), free(bias), free(gc), free(bc);
            free(h0), free(c0), free(y0), free(k0), free(hf), free(cf), free(yf), free(kf), free(hr), free(cr), free(yr),
                free(kr);
            free(dy), free(dh0), free(dc0), free(dp0), free(dq0), free(s0), free(dpf), free(dpr), free(dqf), free(dqr);
            free(dhf), free(dhr), free(dcf), free(dcr), free(sf), free(sr);
        }
}

static void test_lngru(void) {
    rng_seed(22);
    char where[96];
    for (long bi = 0; bi < NBATCHES; bi++)
        for (long hi = 0; hi < NSIZES; hi++) {
            const long B = BATCHES[bi], H = SIZES[hi], G = 3 * H;
            const long ldp = G + 2, ldq = G + 5, ldhp = H + 3, ldh = H + 1, ldy = H + 2, ldk = 6 * H + 2 + 3;
            const long lds = 12 * H + 2;
            snprintf(where, sizeof where, "B=%ld H=%ld", B, H);
            float *p = rbuf(B * ldp, 4), *q = rbuf(B * ldq, 2), *hp = rbuf(B * ldhp, 1);
            float *gp = rbuf(G, 1.5f), *gq = rbuf(G, 1.5f), *bp = rbuf(G, 1), *bq = rbuf(G, 1);
            float *h0 = rbuf(B * ldh, 1), *y0 = rbuf(B * ldy, 1), *k0 = rbuf(B * ldk, 1);
            float *hf = dup(h0, B * ldh), *yf = dup(y0, B * ldy), *kf = dup(k0, B * ldk);
            float *hr = dup(h0, B * ldh), *yr = dup(y0, B * ldy), *kr = dup(k0, B * ldk);
            rk_lngru_forward(B, H, p, ldp, q, ldq, gp, gq, bp, bq, 1e-5f, hp, ldhp, hf, ldh, yf, ldy, kf, ldk);
            rk_lngru_forward_ref(B, H, p, ldp, q, ldq, gp, gq, bp, bq, 1e-5f, hp, ldhp, hr, ldh, yr, ldy, kr, ldk);
            cmp("lngru_forward", TOL, where, hf, hr, NULL, B * ldh, 1);
            cmp("lngru_forward", TOL, where, yf, yr, NULL, B * ldy, 1);
            cmp("lngru_forward", TOL, where, kf, kr, NULL, B * ldk, 1);
            const long lddp = G + 4, lddq = G + 1, lddy = H + 2, lddh = H + 3;
            float *dy = rbuf(B * lddy, 1), *dh0 = rbuf(B * lddh, 1), *dp0 = rbuf(B * lddp, 1), *dq0 = rbuf(B * lddq, 1);
            float *s0 = rbuf(B * lds, 1);
            float *dpf = dup(dp0, B * lddp), *dpr = dup(dp0, B * lddp), *dqf = dup(dq0, B * lddq), *dqr = dup(dq0, B * lddq);
            float *dhf = dup(dh0, B * lddh), *dhr = dup(dh0, B * lddh), *sf = dup(s0, B * lds), *sr = dup(s0, B * lds);
            rk_lngru_backward(B, H, dpf, lddp, dqf, lddq, dy, lddy, dhf, lddh, kr, ldk, hp, ldhp, gp, gq, bp, bq, sf, lds);
            rk_lngru_backward_ref(B, H, dpr, lddp, dqr, lddq, dy, lddy, dhr, lddh, kr, ldk, hp, ldhp, gp, gq, bp, bq, sr,
                                  lds);
            cmp("lngru_backward", TOL, where, dpf, dpr, NULL, B * lddp, 1);
            cmp("lngru_backward", TOL, where, dqf, dqr, NULL, B * lddq, 1);
            cmp("lngru_backward", TOL, where, dhf, dhr, NULL, B * lddh, 1);
            cmp("lngru_backward", TOL, where, sf, sr, NULL, B * lds, 1);
            free(p), free(q), free(hp), free(gp), free(gq), free(bp), free(bq), free(h0), free(y0), free(k0);
            free(hf), free(yf), free(kf), free(hr), free(yr), free(kr);
            free(dy), free(dh0), free(dp0), free(dq0), free(s0), free(dpf), free(dpr), free(dqf), free(dqr);
            free(dhf), free(dhr), free(sf), free(sr);
        }
}

static void test_rnn(void) {
    rng_seed(4);
    char where[96];
    for (int relu = 0; relu < 2; relu++)
        for (long bi = 0; bi < NBATCHES; bi++)
            for (long hi = 0; hi < NSIZES; hi++) {
                const long B = BATCHES[bi], H = SIZES[hi];
                const long lda = H + 3, ldh = H + 1, ldy = H + 2;
                snprintf(where, sizeof where, "relu=%d B=%ld H=%ld", relu, B, H);
                float *a = rbuf(B * lda, 4), *bias = rbuf(H, 1), *h0 = rbuf(B * ldh, 1), *y0 = rbuf(B * ldy, 1);
                float *hf = dup(h0, B * ldh), *hr = dup(h0, B * ldh), *yf = dup(y0, B * ldy), *yr = dup(y0, B * ldy);
                rk_rnn_forward(B, H, relu, a, lda, bias, hf, ldh, yf, ldy);
                rk_rnn_forward_ref(B, H, relu, a, lda, bias, hr, ldh, yr, ldy);
                cmp("rnn_forward", TOL, where, hf, hr, NULL, B * ldh, 1);
                cmp("rnn_forward", TOL, where, yf, yr, NULL, B * ldy, 1);
                const long ldda = H + 2, lddy = H + 1, lddh = H + 4;
                float *dy = rbuf(B * lddy, 1), *dh = rbuf(B * lddh, 1), *da0 = rbuf(B * ldda, 1);
                float *daf = dup(da0, B * ldda), *dar = dup(da0, B * ldda);
                rk_rnn_backward(B, H, relu, daf, ldda, hr, ldh, dy, lddy, dh, lddh);
                rk_rnn_backward_ref(B, H, relu, dar, ldda, hr, ldh, dy, lddy, dh, lddh);
                cmp("rnn_backward", TOL, where, daf, dar, NULL, B * ldda, 1);
                free(a), free(bias), free(h0), free(y0), free(hf), free(hr), free(yf), free(yr);
                free(dy), free(dh), free(da0), free(daf), free(dar);
            }
}

static void test_min_coefficients(void) {
    rng_seed(5);
    char where[96];
    for (int lstm = 0; lstm < 2; lstm++)
        for (long bi = 0; bi < NBATCHES; bi++)
            for (long hi = 0; hi < NSIZES; hi++) {
                const long R = BATCHES[bi], H = SIZES[hi], G = lstm ? 3 : 2;
                const long ldp = G * H + 3, ldab = H + 2, nk = R * G * H;
                snprintf(where, sizeof where, "lstm=%d R=%ld H=%ld", lstm, R, H);
                float *p = rbuf(R * ldp, 4), *a0 = rbuf(R * ldab, 1), *b0 = rbuf(R * ldab, 1), *k0 = rbuf(nk, 1);
                float *af = dup(a0, R * ldab), *ar = dup(a0, R * ldab), *bf = dup(b0, R * ldab), *br = dup(b0, R * ldab);
                float *kf = dup(k0, nk), *kr = dup(k0, nk);
                rk_min_coefficients(R, H, lstm, p, ldp, af, bf, ldab, kf);
                rk_min_coefficients_ref(R, H, lstm, p, ldp, ar, br, ldab, kr);
                cmp("min_coefficients", TOL, where, af, ar, NULL, R * ldab, 1);
                cmp("min_coefficients", TOL, where, bf, br, NULL, R * ldab, 1);
                cmp("min_coefficients", TOL, where, kf, kr, NULL, nk, 1);
                const long lddp = G * H + 1;
                float *da = rbuf(R * ldab, 1), *db = rbuf(R * ldab, 1), *dp0 = rbuf(R * lddp, 1);
                float *dpf = dup(dp0, R * lddp), *dpr = dup(dp0, R * lddp);
                rk_min_coefficients_backward(R, H, lstm, da, db, ldab, kr, dpf, lddp);
                rk_min_coefficients_backward_ref(R, H, lstm, da, db, ldab, kr, dpr, lddp);
                cmp("min_coefficients_backward", TOL, where, dpf, dpr, NULL, R * lddp, 1);
                free(p), free(a0), free(b0), free(k0), free(af), free(ar), free(bf), free(br), free(kf), free(kr);
                free(da), free(db), free(dp0), free(dpf), free(dpr);
            }
}

/* ---- softmax cross-entropy, Adam, rk_map ------------------------------------------------ */

static void test_softmax_xent(void) {
    rng_seed(6);
    char where[96];
    for (long bi = 0; bi < NBATCHES; bi++)
        for (long vi = 0; vi < NSIZES; vi++) {
            const long R = BATCHES[bi], V = SIZES[vi], ldz = V + 3, lddz = V + 2;
            const float scale = 1.0f / 6;
            snprintf(where, sizeof where, "R=%ld V=%ld", R, V);
            float *z = rbuf(R * ldz, 20);
            int32_t *t = xmalloc(sizeof(int32_t) * (size_t)R);
            for (long r = 0; r < R; r++) t[r] = (r % 3 == 2) ? -1 : (int32_t)(rng_u64() % (uint64_t)V);
            float *dzf = fbuf(R * lddz, NAN), *dzr = fbuf(R * lddz, NAN);
            const double lf = rk_softmax_xent(R, V, z, ldz, t, scale, dzf, lddz);
            const double lr = rk_softmax_xent_ref(R, V, z, ldz, t, scale, dzr, lddz);
            const double ln = rk_softmax_xent(R, V, z, ldz, t, scale, NULL, 0);
            cmp_scalar("softmax_xent", TOL, where, lf, lr, 1);
            cmp_scalar("softmax_xent", TOL, where, ln, lr, 1);
            cmp("softmax_xent", TOL, where, dzf, dzr, NULL, R * lddz, scale);
            free(z), free(t), free(dzf), free(dzr);
        }
}

static void test_adam(void) {
    rng_seed(7);
    char where[96];
    static const long NS[] = {1, 3, 7, 17, 31, 33, 65, 127, 1001, 70001};
    for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++)
        for (int dec = 0; dec < 2; dec++) {
            const long n = NS[ni];
            snprintf(where, sizeof where, "n=%ld decoupled=%d", n, dec);
            float *g = rbuf(n, 1), *w = rbuf(n, 1), *m = rbuf(n, 0.1f), *v = absdup(rbuf(n, 0.01f), n);
            float *wf = dup(w, n), *mf = dup(m, n), *vf = dup(v, n), *wr = dup(w, n), *mr = dup(m, n), *vr = dup(v, n);
            rk_adam(n, wf, g, mf, vf, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, dec, 1e-2f, 0.3f);
            rk_adam_ref(n, wr, g, mr, vr, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, dec, 1e-2f, 0.3f);
            cmp("adam", -1, where, wf, wr, NULL, n, 0);
            cmp("adam", -1, where, mf, mr, NULL, n, 0);
            cmp("adam", -1, where, vf, vr, NULL, n, 0);
            free(g), free(w), free(m), free(v), free(wf), free(mf), free(vf), free(wr), free(mr), free(vr);
        }
}

static void test_map(void) {
    rng_seed(8);
    static const char *names[] = {"map_exp", "map_sigmoid", "map_tanh"};
    char where[64];
    for (int fn = 0; fn < 3; fn++)
        for (long ni = 0; ni < NSIZES; ni++) {
            const long n = SIZES[ni] * 9;
            float *x = rbuf(n, 20);
            for (long i = 0; i < n && i < 8; i++) x[i] = (float[]){0, -0.625f, 0.625f, 1e-3f, -1e-3f, 87, -87, 0.3f}[i];
            float *yf = fbuf(n, 0), *yr = fbuf(n, 0);
            rk_map(fn, n, x, yf);
            rk_map_ref(fn, n, x, yr);
            snprintf(where, sizeof where, "n=%ld", n);
            cmp(names[fn], TOL, where, yf, yr, NULL, n, 1e-30);
            free(x), free(yf), free(yr);
        }
}

/* ---- reduced-precision matrix-vector products ------------------------------------------- */

static const long MV_K[] = {1, 3, 7, 17, 31, 33, 65, 127, 300};

static void test_matvec(void) {
    rng_seed(9);
    char where[128];
    for (long mi = 0; mi < 2; mi++)
        for (long pi = 0; pi < NSIZES; pi++)
            for (size_t ki = 0; ki < sizeof MV_K / sizeof MV_K[0]; ki++)
                for (int acc = 0; acc < 2; acc++) {
                    const long M = mi ? 3 : 1, P = SIZES[pi], K = MV_K[ki], ldx = K + 3, ldy = P + 2;
                    snprintf(where, sizeof where, "M=%ld P=%ld K=%ld accumulate=%d", M, P, K, acc);
                    float *W = rbuf(P * K, 1), *x = rbuf(M * ldx, 2), *y0 = rbuf(M * ldy, 1);
                    if (P > 2) memset(W + K, 0, sizeof(float) * (size_t)K); /* an all-zero row */
                    float *xa = absdup(x, M * ldx), *ya = absdup(y0, M * ldy);
                    /* bf16 */
                    uint16_t *wb = xmalloc(sizeof(uint16_t) * (size_t)(P * K)), *wba = xmalloc(sizeof(uint16_t) * (size_t)(P * K));
                    rk_narrow_bf16(P * K, W, wb);
                    for (long i = 0; i < P * K; i++) wba[i] = wb[i] & 0x7FFF;
                    float *yf = dup(y0, M * ldy), *yr = dup(y0, M * ldy), *ym = dup(ya, M * ldy);
                    rk_matvec_bf16(M, P, K, wb, x, ldx, acc, yf, ldy);
                    rk_matvec_bf16_ref(M, P, K, wb, x, ldx, acc, yr, ldy);
                    rk_matvec_bf16_ref(M, P, K, wba, xa, ldx, acc, ym, ldy);
                    cmp("matvec_bf16", TOL, where, yf, yr, ym, M * ldy, 1e-30);
                    free(yf), free(yr), free(ym);
                    /* int8 */
                    int8_t *wq = xmalloc((size_t)(P * K)), *wqa = xmalloc((size_t)(P * K));
                    float *sc = xmalloc(sizeof(float) * (size_t)P);
                    rk_narrow_int8(P, K, W, wq, sc);
                    for (long i = 0; i < P * K; i++) wqa[i] = (int8_t)(wq[i] < 0 ? -wq[i] : wq[i]);
                    yf = dup(y0, M * ldy), yr = dup(y0, M * ldy), ym = dup(ya, M * ldy);
                    rk_matvec_int8(M, P, K, wq, sc, x, ldx, acc, yf, ldy);
                    rk_matvec_int8_ref(M, P, K, wq, sc, x, ldx, acc, yr, ldy);
                    rk_matvec_int8_ref(M, P, K, wqa, sc, xa, ldx, acc, ym, ldy);
                    cmp("matvec_int8", TOL, where, yf, yr, ym, M * ldy, 1e-30);
                    free(yf), free(yr), free(ym);
                    /* w8a8: the header documents the same bits on every path */
                    int32_t *rs = xmalloc(sizeof(int32_t) * (size_t)P);
                    rk_int8_row_sums(P, K, wq, rs);
                    yf = dup(y0, M * ldy), yr = dup(y0, M * ldy);
                    rk_matvec_w8a8(M, P, K, wq, sc, rs, x, ldx, acc, yf, ldy);
                    rk_matvec_w8a8_ref(M, P, K, wq, sc, rs, x, ldx, acc, yr, ldy);
                    cmp("matvec_w8a8", -1, where, yf, yr, NULL, M * ldy, 0);
                    free(yf), free(yr), free(rs);
                    free(W), free(x), free(y0), free(xa), free(ya), free(wb), free(wba), free(wq), free(wqa), free(sc);
                }
}

/* ---- the bookkeeping loops (no _ref in the header: the scalar loops here) ---------------- */

static void test_flat(void) {
    rng_seed(10);
    char where[96];
    static const long NS[] = {1, 3, 7, 17, 31, 33, 65, 127, 1001};
    for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++) {
        const long n = NS[ni];
        snprintf(where, sizeof where, "n=%ld", n);
        float *x = rbuf(n, 1);
        double exact = 0;
        for (long i = 0; i < n; i++) exact += (double)x[i] * (double)x[i];
        cmp_scalar("sum_squares", 1e-12, where, rk_sum_squares(n, x), exact, 1e-300);
        float *s = dup(x, n), *e = dup(x, n);
        rk_scale(n, s, 0.37f);
        for (long i = 0; i < n; i++) e[i] = x[i] * 0.37f;
        cmp("scale", -1, where, s, e, NULL, n, 0);
        free(x), free(s), free(e);
    }
    /* strided (rows, cols) blocks; 1100 x 127 splits over threads */
    static const long RC[][2] = {{1, 1}, {3, 7}, {5, 17}, {33, 31}, {7, 65}, {1, 127}, {17, 33}, {1100, 127}};
    for (size_t i = 0; i < sizeof RC / sizeof RC[0]; i++) {
        const long rows = RC[i][0], cols = RC[i][1], ld = cols + 3;
        snprintf(where, sizeof where, "rows=%ld cols=%ld", rows, cols);
        float *blk = rbuf(rows * ld, 1), *b = rbuf(cols, 1);
        float *yf = dup(blk, rows * ld), *yr = dup(blk, rows * ld);
        rk_add_bias(rows, cols, b, yf, ld);
        for (long r = 0; r < rows; r++)
            for (long j = 0; j < cols; j++) yr[r * ld + j] += b[j];
        cmp("add_bias", -1, where, yf, yr, NULL, rows * ld, 0);
        float *sf = rbuf(cols, 1), *sr = dup(sf, cols);
        rk_column_sums(rows, cols, blk, ld, sf);
        for (long r = 0; r < rows; r++)
            for (long j = 0; j < cols; j++) sr[j] += blk[r * ld + j];
        cmp("column_sums", -1, where, sf, sr, NULL, cols, 0);
        /* gather and scatter-add: ids into a (vocab, cols) table, some negative, some repeated */
        const long vocab = 11, n = rows;
        float *table = rbuf(vocab * cols, 1);
        int32_t *ids = xmalloc(sizeof(int32_t) * (size_t)n);
        for (long r = 0; r < n; r++) ids[r] = (int32_t)(rng_u64() % (vocab + 2)) - 2;
        float *gf = rbuf(n * cols, 1), *gr = dup(gf, n * cols);
        rk_gather_rows(n, cols, table, ids, gf);
        for (long r = 0; r < n; r++)
            for (long j = 0; j < cols; j++) gr[r * cols + j] = ids[r] < 0 ? 0.0f : table[ids[r] * cols + j];
        cmp("gather_rows", -1, where, gf, gr, NULL, n * cols, 0);
        float *src = rbuf(n * cols, 1), *tf = dup(table, vocab * cols), *tr = dup(table, vocab * cols);
        rk_scatter_add_rows(n, cols, src, ids, tf);
        for (long r = 0; r < n; r++)
            if (ids[r] >= 0)
                for (long j = 0; j < cols; j++) tr[ids[r] * cols + j] += src[r * cols + j];
        cmp("scatter_add_rows", -1, where, tf, tr, NULL, vocab * cols, 0);
        free(blk), free(b), free(yf), free(yr), free(sf), free(sr), free(table), free(ids), free(gf), free(gr);
        free(src), free(tf), free(tr);
    }
}

/* ---- driver ----------------------------------------------------------------------------- */

int main(void) {
    perturb_name = getenv("KERNELS_TEST_PERTURB");
    if (perturb_name && !*perturb_name) perturb_name = NULL;
    const int best = rk_active_isa();
    int failed = 0, ran = 0;
    char ran_names[64] = "";
    printf("kernels_test: default path %s, %d threads\n", rk_isa_name(best), rk_threads());
    for (int isa = 0; isa <= RK_ISA_NEON; isa++) {
        if (!rk_isa_available(isa)) continue;
        if (rk_set_isa(isa) != 0 || rk_active_isa() != isa) {
            printf("FAIL %s: rk_set_isa did not take\n", rk_isa_name(isa));
            failed = 1;
            continue;
        }
        nstats = 0, perturbed = 0;
        test_sgemm();
        test_sgemm_bf16();
        test_lstm();
        test_gru();
        test_lnlstm();
        test_lngru();
        test_rnn();
        test_min_coefficients();
        test_softmax_xent();
        test_adam();
        test_map();
        test_matvec();
        test_flat();
        for (int i = 0; i < nstats; i++) {
            const stat *s = &stats[i];
            char tol[32];
            if (s->tol < 0) snprintf(tol, sizeof tol, "exact");
            else snprintf(tol, sizeof tol, "rel %.0e", s->tol);
            printf("%-4s %-7s %-26s %4ld cases  max %s %.3g (%s)\n", s->fails ? "FAIL" : "ok", rk_isa_name(isa),
                   s->name, s->checks, s->tol < 0 ? "abs diff" : "rel err", s->worst, tol);
            if (s->fails) {
                printf("     %ld bad values; first: %s\n", s->fails, s->first);
                failed = 1;
            }
        }
        ran++;
        if (ran_names[0]) strcat(ran_names, " ");
        strcat(ran_names, rk_isa_name(isa));
    }
    rk_set_isa(best);
    if (ran == 0) {
        printf("kernels_test: no ISA path ran\n");
        return 1;
    }
    printf("kernels_test: ISAs run: %s -- %s\n", ran_names, failed ? "FAILED" : "all passed");
    return failed;
}
