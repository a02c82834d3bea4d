/*
 * The elementwise kernels, written once against a small vector API and
 * included by each ISA file (see gates_internal.h). The including file defines:
 *
 *   VW                      lanes per vector (16, 8, 1)
 *   vf, vm, vi              vector of floats, lane mask, vector of int32
 *   vm vmask(long n)        lanes 0..min(n, VW)-1 on
 *   vf vload(p, m)          masked-off lanes read as 0, never touched in memory
 *   vf vload_or(p, m, f)    masked-off lanes are f
 *   void vstore(p, v, m)    masked-off lanes untouched
 *   vset1, vadd, vsub, vmul, vdiv, vsqrt, vfma(a, b, c) = a*b + c
 *   vmin(a, b), vmax(a, b)  x86 semantics: b when either is NaN
 *   vabs, vcopysign(mag, sgn), vselect_lt(a, b, x, y) = a < b ? x : y
 *   vgt0_select(a, x)       a > 0 ? x : 0
 *   vkeep(v, m)             v in the lanes of m, 0 elsewhere
 *   vhmax, vhsum            horizontal max / sum of all VW lanes
 *   vf_as_vi, vi_as_vf, vi_sub_const(vi, c), vi_shl23(vi)
 *   RK_SUFFIX               the ISA name, appended to every function
 *
 * Every value is computed by the same lane arithmetic wherever it sits in a
 * row, so results do not depend on the batch size or the row's position.
 *
 * Transcendentals (Cephes single precision, with FMA where the ISA has it):
 *   exp(x)   = 2^n · e^r, n = round(x·log2 e), r = x − n·ln 2 (two-part ln 2),
 *              e^r a degree-6 polynomial on |r| ≤ ln2/2; x clamped to
 *              [−87.33, 88] so 2^n stays a normal float.      ≤ 2 ulp
 *   tanh(x)  = x + x³·P(x²) for |x| < 0.625, else ±(1 − 2/(e^{2|x|} + 1)).  ≤ 3 ulp
 *   σ(x)     = 1 / (1 + e^{−x}).                               ≤ 3 ulp
 * NaN inputs give NaN.
 */
#ifndef RK_SUFFIX
#error "define RK_SUFFIX and the vector API before including gates_body.h"
#endif

#define RK_CAT2(a, b) a##_##b
#define RK_CAT(a, b) RK_CAT2(a, b)
#define FN(name) RK_CAT(name, RK_SUFFIX)

static inline vf FN(v_exp)(vf x) {
    const float magic = 12582912.0f; /* 1.5 · 2^23: adding it rounds to an integer */
    x = vmax(vset1(-87.33f), vmin(vset1(88.0f), x));
    const vf t = vfma(x, vset1(1.44269504088896341f), vset1(magic));
    const vf n = vsub(t, vset1(magic));
    vf r = vfma(n, vset1(-0.693359375f), x);
    r = vfma(n, vset1(2.12194440e-4f), r);
    vf p = vset1(1.9875691500e-4f);
    p = vfma(p, r, vset1(1.3981999507e-3f));
    p = vfma(p, r, vset1(8.3334519073e-3f));
    p = vfma(p, r, vset1(4.1665795894e-2f));
    p = vfma(p, r, vset1(1.6666665459e-1f));
    p = vfma(p, r, vset1(5.0000001201e-1f));
    p = vadd(vfma(p, vmul(r, r), r), vset1(1.0f));
    /* 2^n: bits(t) = bits(magic) + n, so the exponent field is n + 127. */
    const vi e = vi_shl23(vi_sub_const(vf_as_vi(t), 0x4B400000 - 127));
    return vmul(p, vi_as_vf(e));
}

static inline vf FN(v_sigmoid)(vf x) {
    const vf one = vset1(1.0f);
    return vdiv(one, vadd(one, FN(v_exp)(vsub(vset1(0.0f), x))));
}

static inline vf FN(v_tanh)(vf x) {
    const vf ax = vabs(x);
    /* small |x|: odd polynomial, no cancellation */
    const vf z = vmul(x, x);
    vf p = vset1(-5.70498872745e-3f);
    p = vfma(p, z, vset1(2.06390887954e-2f));
    p = vfma(p, z, vset1(-5.37397155531e-2f));
    p = vfma(p, z, vset1(1.33314422036e-1f));
    p = vfma(p, z, vset1(-3.33332819422e-1f));
    const vf small = vfma(vmul(p, z), x, x);
    /* large |x|: 1 − 2/(e^{2|x|} + 1) >= 0.33, so the subtraction loses little */
    const vf e = FN(v_exp)(vadd(ax, ax));
    const vf large = vcopysign(vsub(vset1(1.0f), vdiv(vset1(2.0f), vadd(e, vset1(1.0f)))), x);
    return vselect_lt(ax, vset1(0.625f), small, large);
}

/* ---- LSTM, gate order i, f, g, o ----------------------------------------------------- */

/*
 * a (B, 4H) stride lda: x·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ; bias b_hh (4H);
 * c_prev (B, H); writes h, c (B, H), y (B, H) and cache (B, 5H) = [i f g o tanh(c)].
 */
static void FN(lstm_forward)(long B, long H, const float *a, long lda, const float *bias, const float *c_prev,
                             long ldcp, float *h, long ldh, float *c, long ldc, float *y, long ldy, float *cache,
                             long ldk) {
    for (long r = 0; r < B; r++) {
        const float *ar = a + r * lda, *cp = c_prev + r * ldcp;
        float *hr = h + r * ldh, *cr = c + r * ldc, *yr = y + r * ldy, *k = cache + r * ldk;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf i = FN(v_sigmoid)(vadd(vload(ar + j, m), vload(bias + j, m)));
            const vf f = FN(v_sigmoid)(vadd(vload(ar + H + j, m), vload(bias + H + j, m)));
            const vf g = FN(v_tanh)(vadd(vload(ar + 2 * H + j, m), vload(bias + 2 * H + j, m)));
            const vf o = FN(v_sigmoid)(vadd(vload(ar + 3 * H + j, m), vload(bias + 3 * H + j, m)));
            const vf cn = vfma(f, vload(cp + j, m), vmul(i, g));
            const vf tc = FN(v_tanh)(cn);
            const vf hn = vmul(o, tc);
            vstore(k + j, i, m);
            vstore(k + H + j, f, m);
            vstore(k + 2 * H + j, g, m);
            vstore(k + 3 * H + j, o, m);
            vstore(k + 4 * H + j, tc, m);
            vstore(cr + j, cn, m);
            vstore(hr + j, hn, m);
            vstore(yr + j, hn, m);
        }
    }
}

/*
 * dy (B, H): ∂L/∂y_t; dh (B, H): ∂L/∂h_t from later steps; dc (B, H): on entry
 * ∂L/∂c_t, on return ∂L/∂c_{t−1}; writes da (B, 4H). dh may alias nothing written.
 */
static void FN(lstm_backward)(long B, long H, float *da, long lda, const float *dy, long ldy, const float *dh,
                              long lddh, float *dc, long lddc, const float *cache, long ldk, const float *c_prev,
                              long ldcp) {
    const vf one = vset1(1.0f);
    for (long r = 0; r < B; r++) {
        float *dar = da + r * lda, *dcr = dc + r * lddc;
        const float *dyr = dy + r * ldy, *dhr = dh + r * lddh, *k = cache + r * ldk, *cp = c_prev + r * ldcp;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf i = vload(k + j, m), f = vload(k + H + j, m), g = vload(k + 2 * H + j, m);
            const vf o = vload(k + 3 * H + j, m), tc = vload(k + 4 * H + j, m);
            const vf d = vadd(vload(dyr + j, m), vload(dhr + j, m));
            const vf dcn = vfma(vmul(d, o), vsub(one, vmul(tc, tc)), vload(dcr + j, m));
            vstore(dar + j, vmul(vmul(dcn, g), vmul(i, vsub(one, i))), m);
            vstore(dar + H + j, vmul(vmul(dcn, vload(cp + j, m)), vmul(f, vsub(one, f))), m);
            vstore(dar + 2 * H + j, vmul(vmul(dcn, i), vsub(one, vmul(g, g))), m);
            vstore(dar + 3 * H + j, vmul(vmul(d, tc), vmul(o, vsub(one, o))), m);
            vstore(dcr + j, vmul(dcn, f), m);
        }
    }
}

/* ---- GRU, gate order r, z, n ------------------------------------------------------- */

/*
 * a (B, 3H): x·W_ihᵀ + b_ih; q (B, 3H): h_{t−1}·W_hhᵀ; bias b_hh (3H); h_prev (B, H);
 * writes h, y (B, H) and cache (B, 4H) = [r z n (W_hn·h + b_hn)].
 */
static void FN(gru_forward)(long B, long H, const float *a, long lda, const float *q, long ldq, const float *bias,
                            const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                            long ldk) {
    const vf one = vset1(1.0f);
    for (long row = 0; row < B; row++) {
        const float *ar = a + row * lda, *qr = q + row * ldq, *hp = h_prev + row * ldhp;
        float *hr = h + row * ldh, *yr = y + row * ldy, *k = cache + row * ldk;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf r = FN(v_sigmoid)(vadd(vadd(vload(ar + j, m), vload(qr + j, m)), vload(bias + j, m)));
            const vf z =
                FN(v_sigmoid)(vadd(vadd(vload(ar + H + j, m), vload(qr + H + j, m)), vload(bias + H + j, m)));
            const vf hn = vadd(vload(qr + 2 * H + j, m), vload(bias + 2 * H + j, m));
            const vf n = FN(v_tanh)(vfma(r, hn, vload(ar + 2 * H + j, m)));
            const vf v = vfma(vsub(one, z), n, vmul(z, vload(hp + j, m)));
            vstore(k + j, r, m);
            vstore(k + H + j, z, m);
            vstore(k + 2 * H + j, n, m);
            vstore(k + 3 * H + j, hn, m);
            vstore(hr + j, v, m);
            vstore(yr + j, v, m);
        }
    }
}

/*
 * dy (B, H); dh (B, H): on entry ∂L/∂h_t from later steps, on return z ⊙ ∂h (the direct
 * part of ∂L/∂h_{t−1}); writes da (B, 3H) and dq (B, 3H) = ∂L/∂(h_{t−1}·W_hhᵀ + b_hh).
 */
static void FN(gru_backward)(long B, long H, float *da, long lda, float *dq, long ldq, const float *dy, long ldy,
                             float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp) {
    const vf one = vset1(1.0f);
    for (long row = 0; row < B; row++) {
        float *dar = da + row * lda, *dqr = dq + row * ldq, *dhr = dh + row * lddh;
        const float *dyr = dy + row * ldy, *k = cache + row * ldk, *hp = h_prev + row * ldhp;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf r = vload(k + j, m), z = vload(k + H + j, m), n = vload(k + 2 * H + j, m);
            const vf hn = vload(k + 3 * H + j, m);
            const vf d = vadd(vload(dyr + j, m), vload(dhr + j, m));
            const vf dan = vmul(vmul(d, vsub(one, z)), vsub(one, vmul(n, n)));
            const vf daz = vmul(vmul(d, vsub(vload(hp + j, m), n)), vmul(z, vsub(one, z)));
            const vf dar0 = vmul(vmul(dan, hn), vmul(r, vsub(one, r)));
            vstore(dar + j, dar0, m);
            vstore(dar + H + j, daz, m);
            vstore(dar + 2 * H + j, dan, m);
            vstore(dqr + j, dar0, m);
            vstore(dqr + H + j, daz, m);
            vstore(dqr + 2 * H + j, vmul(dan, r), m);
            vstore(dhr + j, vmul(d, z), m);
        }
    }
}

/* ---- vanilla RNN: h = φ(a + b_hh), φ = tanh or relu ------------------------------------- */

static void FN(rnn_forward)(long B, long H, int relu, const float *a, long lda, const float *bias, float *h,
                            long ldh, float *y, long ldy) {
    for (long r = 0; r < B; r++) {
        const float *ar = a + r * lda;
        float *hr = h + r * ldh, *yr = y + r * ldy;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf pre = vadd(vload(ar + j, m), vload(bias + j, m));
            /* relu: max(0, pre) keeps a NaN pre (vmax returns its second operand) */
            const vf v = relu ? vmax(vset1(0.0f), pre) : FN(v_tanh)(pre);
            vstore(hr + j, v, m);
            vstore(yr + j, v, m);
        }
    }
}

/* da = (dy + dh) · φ'(a), φ' read off h: tanh' = 1 − h², relu' = [h > 0]. */
static void FN(rnn_backward)(long B, long H, int relu, float *da, long lda, const float *h, long ldh, const float *dy,
                             long ldy, const float *dh, long lddh) {
    const vf one = vset1(1.0f);
    for (long r = 0; r < B; r++) {
        float *dar = da + r * lda;
        const float *hr = h + r * ldh, *dyr = dy + r * ldy, *dhr = dh + r * lddh;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf g = vadd(vload(dyr + j, m), vload(dhr + j, m));
            const vf s = vload(hr + j, m);
            vstore(dar + j, relu ? vgt0_select(s, g) : vmul(g, vsub(one, vmul(s, s))), m);
        }
    }
}

/* ---- minGRU and minLSTM: the coefficients of s_t = a_t ⊙ s_{t−1} + b_t --------------- */

/* g(v) = v + 1/2 for v >= 0, σ(v) below (Feng et al. 2024, appendix B.3). */
static inline vf FN(v_min_g)(vf v) { return vselect_lt(v, vset1(0.0f), FN(v_sigmoid)(v), vadd(v, vset1(0.5f))); }

/*
 * R rows of p (R, G·H) (minGRU: G = 2, blocks z, h; minLSTM: G = 3, blocks f, i, h) to a, b (R, H),
 * rows ldab apart, and the cache (R, G·H): minGRU a = 1 − z, b = z·g(p_h), cache [z | g];
 * minLSTM a = f/(f + i), b = i·g(p_h)/(f + i), cache [f | i | g].
 */
static void FN(min_coefficients)(long R, long H, int lstm, const float *p, long ldp, float *a, float *b, long ldab,
                                 float *cache) {
    const long G = lstm ? 3 : 2;
    const vf one = vset1(1.0f);
    for (long r = 0; r < R; r++) {
        const float *pr = p + r * ldp;
        float *ar = a + r * ldab, *br = b + r * ldab, *cr = cache + r * G * H;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf g = FN(v_min_g)(vload(pr + (G - 1) * H + j, m));
            if (lstm) {
                const vf f = FN(v_sigmoid)(vload(pr + j, m)), i = FN(v_sigmoid)(vload(pr + H + j, m));
                const vf s = vadd(f, i);
                vstore(ar + j, vdiv(f, s), m);
                vstore(br + j, vdiv(vmul(i, g), s), m);
                vstore(cr + j, f, m);
                vstore(cr + H + j, i, m);
            } else {
                const vf z = FN(v_sigmoid)(vload(pr + j, m));
                vstore(ar + j, vsub(one, z), m);
                vstore(br + j, vmul(z, g), m);
                vstore(cr + j, z, m);
            }
            vstore(cr + (G - 1) * H + j, g, m);
        }
    }
}

/*
 * ∂p (R, G·H), rows lddp apart, from ∂a, ∂b (R, H) and the cache of min_coefficients. g' is read
 * off g: 1 where g >= 1/2, else g(1 − g). minGRU: ∂z = ∂b·g − ∂a; minLSTM with s = f + i:
 * ∂f = i(∂a − ∂b·g)/s², ∂i = −f(∂a − ∂b·g)/s², ∂g = ∂b·i/s; then σ' = σ(1 − σ).
 */
static void FN(min_coefficients_backward)(long R, long H, int lstm, const float *da, const float *db, long ldab,
                                          const float *cache, float *dp, long lddp) {
    const long G = lstm ? 3 : 2;
    const vf one = vset1(1.0f);
    for (long r = 0; r < R; r++) {
        const float *dar = da + r * ldab, *dbr = db + r * ldab, *cr = cache + r * G * H;
        float *dpr = dp + r * lddp;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf dA = vload(dar + j, m), dB = vload(dbr + j, m), g = vload(cr + (G - 1) * H + j, m);
            const vf dg_dp = vselect_lt(g, vset1(0.5f), vmul(g, vsub(one, g)), one);
            if (lstm) {
                const vf f = vload(cr + j, m), i = vload(cr + H + j, m), s = vadd(f, i);
                const vf difference = vsub(dA, vmul(dB, g)), s2 = vmul(s, s);
                vstore(dpr + j, vmul(vmul(vdiv(vmul(i, difference), s2), f), vsub(one, f)), m);
                vstore(dpr + H + j, vmul(vmul(vdiv(vmul(vsub(vset1(0.0f), f), difference), s2), i), vsub(one, i)), m);
                vstore(dpr + 2 * H + j, vmul(vmul(dB, vdiv(i, s)), dg_dp), m);
            } else {
                const vf z = vload(cr + j, m);
                vstore(dpr + j, vmul(vmul(vsub(vmul(dB, g), dA), z), vsub(one, z)), m);
                vstore(dpr + H + j, vmul(vmul(dB, z), dg_dp), m);
            }
        }
    }
}

/* ---- layer-normalised LSTM and GRU (Ba et al. 2016) ---------------------------------- */

/*
 * These steps are bound by memory rather than arithmetic: a row's cache is written once per step
 * and read back a whole sequence later, from memory, and its blocks (p, the cache, ∂p, ∂q) are a
 * few KB each, laid out a sequence apart. So the cache keeps only the normalised products x̂_p,
 * x̂_q and the statistics, and backward recomputes the gates from them (the same operations on
 * the same values: the same bits); and each row's main loop prefetches the next row's blocks
 * (the hardware prefetchers stop at page boundaries, and one row's block is about a page).
 */

/* Prefetches [c·j, c·(j + VW)) of a row of c·H floats, one cache line at a time: over a loop
   j = 0, VW, ... < H, the whole row. */
static inline void FN(prefetch_share)(const float *p, long c, long j, int write) {
    for (long e = (c * j + 15) & ~15L; e < c * (j + VW); e += 16) {
        if (write) __builtin_prefetch(p + e, 1, 3);
        else __builtin_prefetch(p + e, 0, 3);
    }
}

/*
 * The statistics of two layer norms over n values each, x and z side by side: the mean, then the
 * mean squared deviation from it (two passes, so a large mean does not cancel), and 1/√(var + ε).
 * Two accumulators per vector (whole pairs of vectors, then the rest into the first), then vhsum:
 * a fixed order for a given n.
 */
static inline void FN(ln_stats2)(long n, const float *x, const float *z, float eps, float *mean_x, float *rstd_x,
                                 float *mean_z, float *rstd_z) {
    const vm all = vmask(VW);
    vf sx0 = vset1(0.0f), sx1 = sx0, sz0 = sx0, sz1 = sx0;
    long j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW) {
        sx0 = vadd(sx0, vload(x + j, all)), sx1 = vadd(sx1, vload(x + j + VW, all));
        sz0 = vadd(sz0, vload(z + j, all)), sz1 = vadd(sz1, vload(z + j + VW, all));
    }
    for (; j < n; j += VW) {
        const vm m = vmask(n - j);
        sx0 = vadd(sx0, vload(x + j, m)), sz0 = vadd(sz0, vload(z + j, m));
    }
    const float mx = vhsum(vadd(sx0, sx1)) / (float)n, mz = vhsum(vadd(sz0, sz1)) / (float)n;
    const vf mxv = vset1(mx), mzv = vset1(mz);
    vf vx0 = vset1(0.0f), vx1 = vx0, vz0 = vx0, vz1 = vx0;
    for (j = 0; j + 2 * VW <= n; j += 2 * VW) {
        const vf dx0 = vsub(vload(x + j, all), mxv), dx1 = vsub(vload(x + j + VW, all), mxv);
        const vf dz0 = vsub(vload(z + j, all), mzv), dz1 = vsub(vload(z + j + VW, all), mzv);
        vx0 = vfma(dx0, dx0, vx0), vx1 = vfma(dx1, dx1, vx1);
        vz0 = vfma(dz0, dz0, vz0), vz1 = vfma(dz1, dz1, vz1);
    }
    for (; j < n; j += VW) {
        const vm m = vmask(n - j);
        const vf dx = vkeep(vsub(vload(x + j, m), mxv), m), dz = vkeep(vsub(vload(z + j, m), mzv), m);
        vx0 = vfma(dx, dx, vx0), vz0 = vfma(dz, dz, vz0);
    }
    *mean_x = mx, *mean_z = mz;
    *rstd_x = 1.0f / sqrtf(vhsum(vadd(vx0, vx1)) / (float)n + eps);
    *rstd_z = 1.0f / sqrtf(vhsum(vadd(vz0, vz1)) / (float)n + eps);
}

/* x̂ = (x − mean)·rstd. */
static inline vf FN(ln_hat)(vf x, vf mean, vf rstd) { return vmul(vsub(x, mean), rstd); }

/* γ_p ⊙ x̂_p + γ_q ⊙ x̂_q + b at offset o: an LSTM gate's pre-activation, forward and backward alike. */
static inline vf FN(ln_preact)(vf xp, vf xq, const float *gain_p, const float *gain_q, const float *bias, long o,
                               vm m) {
    return vfma(vload(gain_p + o, m), xp, vfma(vload(gain_q + o, m), xq, vload(bias + o, m)));
}

/*
 * One vector of ∂a (∂u, ∂v) at offset o, x̂_p and x̂_q there: stored at da, dv (masked lanes kept
 * out), and ∂x̂ = ∂a ⊙ γ added to the row's Σ ∂x̂ and Σ ∂x̂ ⊙ x̂ of each normalisation.
 */
static inline void FN(ln_gate_gradient)(vf du, vf dv, vm m, long o, vf xp, vf xq, const float *gain_p,
                                        const float *gain_q, float *da, float *dva, vf *sp, vf *spx, vf *sq,
                                        vf *sqx) {
    du = vkeep(du, m), dv = vkeep(dv, m);
    vstore(da + o, du, m);
    if (dva) vstore(dva + o, dv, m);
    const vf gp = vmul(du, vload(gain_p + o, m)), gq = vmul(dv, vload(gain_q + o, m));
    *sp = vadd(*sp, gp), *spx = vfma(gp, xp, *spx);
    *sq = vadd(*sq, gq), *sqx = vfma(gq, xq, *sqx);
}

/*
 * The last pass over a row's G values: from ∂u in dp and ∂v in dq (∂a in dp for both when dq
 * holds nothing yet, dv_apart 0), the step parameters' sums (∂γ_p += ∂u ⊙ x̂_p, ∂γ_q += ∂v ⊙ x̂_q,
 * ∂b_p += ∂u, ∂b_q += ∂v, one ∂b when db_q is NULL) and the normalisations' input gradients
 * ∂p = rstd_p·(∂x̂_p − mean ∂x̂_p − x̂_p·mean(∂x̂_p ⊙ x̂_p)) with ∂x̂_p = ∂u ⊙ γ_p, the same for q.
 */
static inline void FN(ln_input_gradients)(long G, float *dp, float *dq, int dv_apart, const float *xp,
                                          const float *xq, const float *gain_p, const float *gain_q, float rstd_p,
                                          float rstd_q, vf sp, vf spx, vf sq, vf sqx, float *dgp, float *dgq,
                                          float *dbp, float *dbq) {
    const vf mp = vset1(vhsum(sp) / (float)G), mpx = vset1(vhsum(spx) / (float)G), rp = vset1(rstd_p);
    const vf mq = vset1(vhsum(sq) / (float)G), mqx = vset1(vhsum(sqx) / (float)G), rq = vset1(rstd_q);
    for (long j = 0; j < G; j += VW) {
        const vm m = vmask(G - j);
        const vf du = vload(dp + j, m), dv = dv_apart ? vload(dq + j, m) : du;
        const vf x1 = vload(xp + j, m), x2 = vload(xq + j, m);
        vstore(dbp + j, vadd(vload(dbp + j, m), du), m);
        if (dbq) vstore(dbq + j, vadd(vload(dbq + j, m), dv), m);
        vstore(dgp + j, vfma(du, x1, vload(dgp + j, m)), m);
        vstore(dgq + j, vfma(dv, x2, vload(dgq + j, m)), m);
        const vf g1 = vmul(du, vload(gain_p + j, m)), g2 = vmul(dv, vload(gain_q + j, m));
        vstore(dp + j, vmul(rp, vsub(vsub(g1, mp), vmul(x1, mpx))), m);
        vstore(dq + j, vmul(rq, vsub(vsub(g2, mq), vmul(x2, mqx))), m);
    }
}

/*
 * Layer-normalised LSTM, gate order i, f, g, o: p, q (B, 4H) the input and recurrent products;
 * a = γ_p ⊙ x̂_p + γ_q ⊙ x̂_q + b; c = σ(a_f) ⊙ c_prev + σ(a_i) ⊙ tanh(a_g);
 * h = y = σ(a_o) ⊙ tanh(γ_c ⊙ x̂_c + β_c). Cache (B, ≥ 8H + 4) = [x̂_p | x̂_q | rstd_p rstd_q
 * mean_c rstd_c]. Per row: the products' statistics; one pass for x̂, the gates and c (summing
 * c; σ(a_o) waits in h); c's variance; one pass for h.
 */
static void FN(lnlstm_forward)(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                               const float *gain_q, const float *bias, const float *gain_c, const float *bias_c,
                               float eps, const float *c_prev, long ldcp, float *h, long ldh, float *c, long ldc,
                               float *y, long ldy, float *cache, long ldk) {
    const long G = 4 * H;
    for (long r = 0; r < B; r++) {
        const float *pr = p + r * ldp, *qr = q + r * ldq, *cp = c_prev + r * ldcp;
        float *hr = h + r * ldh, *cr = c + r * ldc, *yr = y + r * ldy, *k = cache + r * ldk;
        float *xp = k, *xq = k + G, *stats = k + 2 * G;
        const int next = r + 1 < B;
        float mp, mq;
        FN(ln_stats2)(G, pr, qr, eps, &mp, &stats[0], &mq, &stats[1]);
        const vf mpv = vset1(mp), rpv = vset1(stats[0]), mqv = vset1(mq), rqv = vset1(stats[1]);
        vf sc = vset1(0.0f);
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            if (next) FN(prefetch_share)(pr + ldp, 4, j, 0), FN(prefetch_share)(k + ldk, 8, j, 1);
            vf a[4];
            for (int b = 0; b < 4; b++) {
                const long o = b * H + j;
                const vf x1 = FN(ln_hat)(vload(pr + o, m), mpv, rpv), x2 = FN(ln_hat)(vload(qr + o, m), mqv, rqv);
                vstore(xp + o, x1, m);
                vstore(xq + o, x2, m);
                a[b] = FN(ln_preact)(x1, x2, gain_p, gain_q, bias, o, m);
            }
            const vf i = FN(v_sigmoid)(a[0]), f = FN(v_sigmoid)(a[1]), g = FN(v_tanh)(a[2]);
            const vf cn = vfma(f, vload(cp + j, m), vmul(i, g));
            vstore(cr + j, cn, m);
            vstore(hr + j, FN(v_sigmoid)(a[3]), m);
            sc = vadd(sc, vkeep(cn, m));
        }
        const float mc = vhsum(sc) / (float)H;
        const vf mcv = vset1(mc);
        vf vc = vset1(0.0f);
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf d = vkeep(vsub(vload(cr + j, m), mcv), m);
            vc = vfma(d, d, vc);
        }
        const float rc = 1.0f / sqrtf(vhsum(vc) / (float)H + eps);
        stats[2] = mc, stats[3] = rc;
        const vf rcv = vset1(rc);
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const vf x = FN(ln_hat)(vload(cr + j, m), mcv, rcv);
            const vf t = FN(v_tanh)(vfma(vload(gain_c + j, m), x, vload(bias_c + j, m)));
            const vf hn = vmul(vload(hr + j, m), t);
            vstore(hr + j, hn, m);
            vstore(yr + j, hn, m);
        }
    }
}

/*
 * Backward of lnlstm_forward. c (B, H): c_t as forward wrote it. dy (B, H); dh (B, H): ∂L/∂h_t on
 * entry, 0 on return (h_{t−1} reaches the loss through W_hh only); dc (B, H): ∂L/∂c_t on entry,
 * ∂L/∂c_{t−1} on return. Writes dp, dq (B, 4H) and adds to each row's sums (B, ≥ 14H) =
 * [∂γ_p | ∂γ_q | ∂b | ∂γ_c | ∂β_c]. dh holds the cell norm's ∂x̂ between the two passes over H,
 * dp holds ∂a until the last pass (ln_input_gradients).
 */
static void FN(lnlstm_backward)(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                                float *dh, long lddh, float *dc, long lddc, const float *cache, long ldk,
                                const float *c_prev, long ldcp, const float *c, long ldc, const float *gain_p,
                                const float *gain_q, const float *bias, const float *gain_c, const float *bias_c,
                                float *sums, long ldsums) {
    const long G = 4 * H;
    const vf one = vset1(1.0f), zero = vset1(0.0f);
    for (long r = 0; r < B; r++) {
        const float *k = cache + r * ldk, *dyr = dy + r * ldy, *cp = c_prev + r * ldcp, *cr = c + r * ldc;
        const float *xp = k, *xq = k + G, *stats = k + 2 * G;
        float *dpr = dp + r * lddp, *dqr = dq + r * lddq, *dhr = dh + r * lddh, *dcr = dc + r * lddc;
        float *s = sums + r * ldsums;
        const int next = r + 1 < B;
        const vf mc = vset1(stats[2]), rc = vset1(stats[3]);
        vf sp = zero, spx = zero, sq = zero, sqx = zero, sc = zero, scx = zero;
        /* ∂ĉ, the cell norm's ∂x̂ (into dh, read first) and the output gate's ∂a */
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            const long jo = 3 * H + j;
            const vf x1 = vload(xp + jo, m), x2 = vload(xq + jo, m);
            const vf o = FN(v_sigmoid)(FN(ln_preact)(x1, x2, gain_p, gain_q, bias, jo, m));
            const vf x = FN(ln_hat)(vload(cr + j, m), mc, rc);
            const vf t = FN(v_tanh)(vfma(vload(gain_c + j, m), x, vload(bias_c + j, m)));
            const vf d = vadd(vload(dyr + j, m), vload(dhr + j, m));
            const vf dchat = vmul(vmul(d, o), vsub(one, vmul(t, t)));
            vstore(s + 3 * G + j, vfma(dchat, x, vload(s + 3 * G + j, m)), m);      /* ∂γ_c */
            vstore(s + 3 * G + H + j, vadd(vload(s + 3 * G + H + j, m), dchat), m); /* ∂β_c */
            const vf dx = vkeep(vmul(dchat, vload(gain_c + j, m)), m);
            vstore(dhr + j, dx, m);
            sc = vadd(sc, dx), scx = vfma(dx, x, scx);
            const vf dao = vmul(vmul(d, t), vmul(o, vsub(one, o)));
            FN(ln_gate_gradient)(dao, dao, m, jo, x1, x2, gain_p, gain_q, dpr, NULL, &sp, &spx, &sq, &sqx);
        }
        /* ∂c through the cell norm, then the gates i, f, g */
        const vf mg = vset1(vhsum(sc) / (float)H), mgx = vset1(vhsum(scx) / (float)H);
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            if (next) {
                FN(prefetch_share)(k + ldk, 8, j, 0);
                FN(prefetch_share)(dpr + lddp, 4, j, 1), FN(prefetch_share)(dqr + lddq, 4, j, 1);
            }
            const vf x = FN(ln_hat)(vload(cr + j, m), mc, rc);
            const vf dct = vfma(rc, vsub(vsub(vload(dhr + j, m), mg), vmul(x, mgx)), vload(dcr + j, m));
            const vf xi1 = vload(xp + j, m), xi2 = vload(xq + j, m);
            const vf xf1 = vload(xp + H + j, m), xf2 = vload(xq + H + j, m);
            const vf xg1 = vload(xp + 2 * H + j, m), xg2 = vload(xq + 2 * H + j, m);
            const vf i = FN(v_sigmoid)(FN(ln_preact)(xi1, xi2, gain_p, gain_q, bias, j, m));
            const vf f = FN(v_sigmoid)(FN(ln_preact)(xf1, xf2, gain_p, gain_q, bias, H + j, m));
            const vf g = FN(v_tanh)(FN(ln_preact)(xg1, xg2, gain_p, gain_q, bias, 2 * H + j, m));
            const vf dai = vmul(vmul(dct, g), vmul(i, vsub(one, i)));
            const vf daf = vmul(vmul(dct, vload(cp + j, m)), vmul(f, vsub(one, f)));
            const vf dag = vmul(vmul(dct, i), vsub(one, vmul(g, g)));
            vstore(dcr + j, vmul(dct, f), m);
            vstore(dhr + j, zero, m);
            FN(ln_gate_gradient)(dai, dai, m, j, xi1, xi2, gain_p, gain_q, dpr, NULL, &sp, &spx, &sq, &sqx);
            FN(ln_gate_gradient)(daf, daf, m, H + j, xf1, xf2, gain_p, gain_q, dpr, NULL, &sp, &spx, &sq, &sqx);
            FN(ln_gate_gradient)(dag, dag, m, 2 * H + j, xg1, xg2, gain_p, gain_q, dpr, NULL, &sp, &spx, &sq, &sqx);
        }
        FN(ln_input_gradients)(G, dpr, dqr, 0, xp, xq, gain_p, gain_q, stats[0], stats[1], sp, spx, sq, sqx, s, s + G,
                               s + 2 * G, NULL);
    }
}

/*
 * Layer-normalised GRU's gates at offset j from x̂_p, x̂_q there: u = γ_p ⊙ x̂_p + b_p,
 * v = γ_q ⊙ x̂_q + b_q, r = σ(u_r + v_r), z = σ(u_z + v_z), n = tanh(u_n + r ⊙ v_n); forward and
 * backward alike. x1, x2: x̂_p, x̂_q of blocks r, z, n.
 */
static inline void FN(lngru_gates)(const vf *x1, const vf *x2, const float *gain_p, const float *gain_q,
                                   const float *bias_p, const float *bias_q, long H, long j, vm m, vf *r, vf *z, vf *n,
                                   vf *vn) {
    vf u[3], v[3];
    for (int b = 0; b < 3; b++) {
        const long o = b * H + j;
        u[b] = vfma(vload(gain_p + o, m), x1[b], vload(bias_p + o, m));
        v[b] = vfma(vload(gain_q + o, m), x2[b], vload(bias_q + o, m));
    }
    *r = FN(v_sigmoid)(vadd(u[0], v[0]));
    *z = FN(v_sigmoid)(vadd(u[1], v[1]));
    *n = FN(v_tanh)(vfma(*r, v[2], u[2]));
    *vn = v[2];
}

/*
 * Layer-normalised GRU, gate order r, z, n (lngru_gates), h = y = (1 − z) ⊙ n + z ⊙ h_prev.
 * Cache (B, ≥ 6H + 2) = [x̂_p | x̂_q | rstd_p rstd_q].
 */
static void FN(lngru_forward)(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                              const float *gain_q, const float *bias_p, const float *bias_q, float eps,
                              const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                              long ldk) {
    const long G = 3 * H;
    const vf one = vset1(1.0f);
    for (long row = 0; row < B; row++) {
        const float *pr = p + row * ldp, *qr = q + row * ldq, *hp = h_prev + row * ldhp;
        float *hr = h + row * ldh, *yr = y + row * ldy, *k = cache + row * ldk;
        float *xp = k, *xq = k + G, *stats = k + 2 * G;
        const int next = row + 1 < B;
        float mp, mq;
        FN(ln_stats2)(G, pr, qr, eps, &mp, &stats[0], &mq, &stats[1]);
        const vf mpv = vset1(mp), rpv = vset1(stats[0]), mqv = vset1(mq), rqv = vset1(stats[1]);
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            if (next) FN(prefetch_share)(pr + ldp, 3, j, 0), FN(prefetch_share)(k + ldk, 6, j, 1);
            vf x1[3], x2[3], r, z, n, vn;
            for (int b = 0; b < 3; b++) {
                const long o = b * H + j;
                x1[b] = FN(ln_hat)(vload(pr + o, m), mpv, rpv);
                x2[b] = FN(ln_hat)(vload(qr + o, m), mqv, rqv);
                vstore(xp + o, x1[b], m);
                vstore(xq + o, x2[b], m);
            }
            FN(lngru_gates)(x1, x2, gain_p, gain_q, bias_p, bias_q, H, j, m, &r, &z, &n, &vn);
            const vf hn = vfma(vsub(one, z), n, vmul(z, vload(hp + j, m)));
            vstore(hr + j, hn, m);
            vstore(yr + j, hn, m);
        }
    }
}

/*
 * Backward of lngru_forward. dy (B, H); dh (B, H): ∂L/∂h_t on entry, z ⊙ ∂h (the direct part of
 * ∂L/∂h_{t−1}) on return. Writes dp, dq (B, 3H) and adds to each row's sums (B, ≥ 12H) =
 * [∂γ_p | ∂γ_q | ∂b_p | ∂b_q]. dp and dq hold ∂u and ∂v until the last pass (ln_input_gradients).
 */
static void FN(lngru_backward)(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                               float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp,
                               const float *gain_p, const float *gain_q, const float *bias_p, const float *bias_q,
                               float *sums, long ldsums) {
    const long G = 3 * H;
    const vf one = vset1(1.0f), zero = vset1(0.0f);
    for (long row = 0; row < B; row++) {
        const float *k = cache + row * ldk, *dyr = dy + row * ldy, *hp = h_prev + row * ldhp;
        const float *xp = k, *xq = k + G, *stats = k + 2 * G;
        float *dpr = dp + row * lddp, *dqr = dq + row * lddq, *dhr = dh + row * lddh, *s = sums + row * ldsums;
        const int next = row + 1 < B;
        vf sp = zero, spx = zero, sq = zero, sqx = zero;
        for (long j = 0; j < H; j += VW) {
            const vm m = vmask(H - j);
            if (next) {
                FN(prefetch_share)(k + ldk, 6, j, 0);
                FN(prefetch_share)(dpr + lddp, 3, j, 1), FN(prefetch_share)(dqr + lddq, 3, j, 1);
            }
            vf x1[3], x2[3], r, z, n, vn;
            for (int b = 0; b < 3; b++) x1[b] = vload(xp + b * H + j, m), x2[b] = vload(xq + b * H + j, m);
            FN(lngru_gates)(x1, x2, gain_p, gain_q, bias_p, bias_q, H, j, m, &r, &z, &n, &vn);
            const vf d = vadd(vload(dyr + j, m), vload(dhr + j, m));
            const vf dan = vmul(vmul(d, vsub(one, z)), vsub(one, vmul(n, n)));
            const vf dar = vmul(vmul(dan, vn), vmul(r, vsub(one, r)));
            const vf daz = vmul(vmul(d, vsub(vload(hp + j, m), n)), vmul(z, vsub(one, z)));
            vstore(dhr + j, vmul(d, z), m);
            FN(ln_gate_gradient)(dar, dar, m, j, x1[0], x2[0], gain_p, gain_q, dpr, dqr, &sp, &spx, &sq, &sqx);
            FN(ln_gate_gradient)(daz, daz, m, H + j, x1[1], x2[1], gain_p, gain_q, dpr, dqr, &sp, &spx, &sq, &sqx);
            FN(ln_gate_gradient)(dan, vmul(dan, r), m, 2 * H + j, x1[2], x2[2], gain_p, gain_q, dpr, dqr, &sp, &spx,
                                 &sq, &sqx);
        }
        FN(ln_input_gradients)(G, dpr, dqr, 1, xp, xq, gain_p, gain_q, stats[0], stats[1], sp, spx, sq, sqx, s, s + G,
                               s + 2 * G, s + 3 * G);
    }
}

/* ---- softmax cross-entropy ----------------------------------------------------------- */

/*
 * Rows with a negative target are skipped (dz row zeroed); for the others
 * loss_r = log Σ_j e^{z_j} − z_y (the maximum subtracted first) and, when dz is
 * given, dz = (softmax(z) − onehot(y))·scale. Returns Σ_r loss_r.
 */
static double FN(softmax_xent)(long R, long V, const float *z, long ldz, const int32_t *targets, float scale,
                               float *dz, long lddz) {
    double total = 0;
    const vf ninf = vset1(-__builtin_inff());
    for (long r = 0; r < R; r++) {
        const float *zr = z + r * ldz;
        float *gr = dz ? dz + r * lddz : 0;
        const long y = targets[r];
        if (y < 0) {
            if (gr)
                for (long j = 0; j < V; j += VW) vstore(gr + j, vset1(0.0f), vmask(V - j));
            continue;
        }
        vf mx = ninf;
        for (long j = 0; j < V; j += VW) mx = vmax(mx, vload_or(zr + j, vmask(V - j), -__builtin_inff()));
        const float mr = vhmax(mx);
        const vf mv = vset1(mr);
        vf sum = vset1(0.0f);
        for (long j = 0; j < V; j += VW) {
            const vm m = vmask(V - j);
            const vf e = FN(v_exp)(vsub(vload_or(zr + j, m, mr), mv)); /* masked lanes: e^0, dropped */
            sum = vadd(sum, vkeep(e, m));
            if (gr) vstore(gr + j, e, m);
        }
        const float total_r = vhsum(sum);
        const float lse = mr + logf(total_r);
        total += (double)(lse - zr[y]);
        if (gr) {
            const vf k = vset1(scale / total_r);
            for (long j = 0; j < V; j += VW) {
                const vm m = vmask(V - j);
                vstore(gr + j, vmul(vload(gr + j, m), k), m);
            }
            gr[y] -= scale;
        }
    }
    return total;
}

/* ---- optimiser and bookkeeping loops over flat buffers ------------------------------ */

/*
 * One Adam/AdamW step over n scalars, the same operations in the same order as
 * the scalar loop it replaces (no FMA contraction), so the update is the same.
 */
static void FN(adam)(long n, float *w, const float *g, float *m, float *v, float lr, float beta1, float beta2,
                     float eps, float weight_decay, int decoupled, float step_size, float c2_root) {
    const vf b1 = vset1(beta1), b2 = vset1(beta2), c1m = vset1(1 - beta1), c2m = vset1(1 - beta2);
    const vf lrwd = vset1(lr * weight_decay), wd = vset1(weight_decay), ss = vset1(step_size);
    const vf c2r = vset1(c2_root), ve = vset1(eps);
    for (long i = 0; i < n; i += VW) {
        const vm k = vmask(n - i);
        vf wi = vload(w + i, k), gi = vload(g + i, k);
        if (decoupled) wi = vsub(wi, vmul(lrwd, wi));
        else gi = vadd(gi, vmul(wd, wi));
        const vf mi = vadd(vmul(b1, vload(m + i, k)), vmul(c1m, gi));
        const vf vi = vadd(vmul(b2, vload(v + i, k)), vmul(vmul(c2m, gi), gi));
        wi = vsub(wi, vdiv(vmul(ss, mi), vadd(vdiv(vsqrt(vi), c2r), ve)));
        vstore(m + i, mi, k);
        vstore(v + i, vi, k);
        vstore(w + i, wi, k);
    }
}

static void FN(scale)(long n, float *x, float s) {
    const vf vs = vset1(s);
    for (long i = 0; i < n; i += VW) {
        const vm k = vmask(n - i);
        vstore(x + i, vmul(vload(x + i, k), vs), k);
    }
}

/* y[i, j] += b[j] for i < rows, j < cols. */
static void FN(add_bias)(long rows, long cols, const float *b, float *y, long ldy) {
    for (long i = 0; i < rows; i++) {
        float *yr = y + i * ldy;
        for (long j = 0; j < cols; j += VW) {
            const vm k = vmask(cols - j);
            vstore(yr + j, vadd(vload(yr + j, k), vload(b + j, k)), k);
        }
    }
}

/*
 * sums[j] += x[i, j] for i = 0, 1, ..., rows − 1 in that order (a bias gradient). Eight rows at a
 * time, each read whole: x streams from memory in row order (a pass over a few columns at a time
 * strides through all of x once per pass), while the running sums stay in L1.
 */
static void FN(column_sums)(long rows, long cols, const float *x, long ldx, float *sums) {
    for (long i0 = 0; i0 < rows; i0 += 8) {
        const long i1 = i0 + 8 < rows ? i0 + 8 : rows;
        for (long j = 0; j < cols; j += VW) {
            const vm k = vmask(cols - j);
            vf s = vload(sums + j, k);
            for (long i = i0; i < i1; i++) s = vadd(s, vload(x + i * ldx + j, k));
            vstore(sums + j, s, k);
        }
    }
}

static void FN(gather_rows)(long r0, long r1, long cols, const float *table, const int32_t *ids, float *y) {
    const vf zero = vset1(0.0f);
    for (long i = r0; i < r1; i++) {
        float *yr = y + i * cols;
        const float *tr = ids[i] >= 0 ? table + (long)ids[i] * cols : NULL;
        for (long j = 0; j < cols; j += VW) {
            const vm k = vmask(cols - j);
            vstore(yr + j, tr ? vload(tr + j, k) : zero, k);
        }
    }
}

static void FN(scatter_add_rows)(long n, long c0, long c1, long cols, const float *x, const int32_t *ids,
                                 float *table) {
    for (long i = 0; i < n; i++) {
        if (ids[i] < 0) continue;
        const float *xr = x + i * cols;
        float *tr = table + (long)ids[i] * cols;
        for (long j = c0; j < c1; j += VW) {
            const vm k = vmask(c1 - j);
            vstore(tr + j, vadd(vload(tr + j, k), vload(xr + j, k)), k);
        }
    }
}

/* y = f(x) elementwise, f = exp, sigmoid or tanh (RK_MAP_*): the kernels' own functions, for tests. */
static void FN(map)(int fn, long n, const float *x, float *y) {
    for (long i = 0; i < n; i += VW) {
        const vm k = vmask(n - i);
        const vf v = vload(x + i, k);
        vstore(y + i, fn == 0 ? FN(v_exp)(v) : fn == 1 ? FN(v_sigmoid)(v) : FN(v_tanh)(v), k);
    }
}

const rk_gates_arch FN(rk_gates) = {
    .isa = RK_ISA_ID,
    .lstm_forward = FN(lstm_forward),
    .lstm_backward = FN(lstm_backward),
    .gru_forward = FN(gru_forward),
    .gru_backward = FN(gru_backward),
    .rnn_forward = FN(rnn_forward),
    .rnn_backward = FN(rnn_backward),
    .min_coefficients = FN(min_coefficients),
    .min_coefficients_backward = FN(min_coefficients_backward),
    .lnlstm_forward = FN(lnlstm_forward),
    .lnlstm_backward = FN(lnlstm_backward),
    .lngru_forward = FN(lngru_forward),
    .lngru_backward = FN(lngru_backward),
    .softmax_xent = FN(softmax_xent),
    .adam = FN(adam),
    .sum_squares = FN(sum_squares),
    .scale = FN(scale),
    .add_bias = FN(add_bias),
    .column_sums = FN(column_sums),
    .gather_rows = FN(gather_rows),
    .scatter_add_rows = FN(scatter_add_rows),
    .map = FN(map),
};
