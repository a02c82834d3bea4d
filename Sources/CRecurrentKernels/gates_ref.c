/*
 * Naive references of the elementwise kernels: one element at a time, libm
 * expf/tanhf/logf, the textbook formulas (what the Swift cells computed before
 * the fused kernels). The tests compare every ISA path against these.
 */
#include <math.h>
#include "CRecurrentKernels.h"

static float sigmoid_ref(float x) { return 1.0f / (1.0f + expf(-x)); }

void rk_lstm_forward_ref(long B, long H, const float *a, long lda, const float *bias, const float *c_prev, long ldcp,
                         float *h, long ldh, float *c, long ldc, float *y, long ldy, float *cache, long ldk) {
    for (long r = 0; r < B; r++) {
        const float *ar = a + r * lda, *cp = c_prev + r * ldcp;
        float *k = cache + r * ldk;
        for (long j = 0; j < H; j++) {
            const float i = sigmoid_ref(ar[j] + bias[j]);
            const float f = sigmoid_ref(ar[H + j] + bias[H + j]);
            const float g = tanhf(ar[2 * H + j] + bias[2 * H + j]);
            const float o = sigmoid_ref(ar[3 * H + j] + bias[3 * H + j]);
            const float cn = f * cp[j] + i * g;
            const float tc = tanhf(cn);
            k[j] = i, k[H + j] = f, k[2 * H + j] = g, k[3 * H + j] = o, k[4 * H + j] = tc;
            c[r * ldc + j] = cn;
            h[r * ldh + j] = o * tc;
            y[r * ldy + j] = o * tc;
        }
    }
}

void rk_lstm_backward_ref(long B, long H, float *da, long lda, const float *dy, long ldy, const float *dh, long lddh,
                          float *dc, long lddc, const float *cache, long ldk, const float *c_prev, long ldcp) {
    for (long r = 0; r < B; r++) {
        float *dar = da + r * lda;
        const float *k = cache + r * ldk, *cp = c_prev + r * ldcp;
        for (long j = 0; j < H; j++) {
            const float i = k[j], f = k[H + j], g = k[2 * H + j], o = k[3 * H + j], tc = k[4 * H + j];
            const float d = dy[r * ldy + j] + dh[r * lddh + j];
            const float dcn = dc[r * lddc + j] + d * o * (1 - tc * tc);
            dar[j] = dcn * g * i * (1 - i);
            dar[H + j] = dcn * cp[j] * f * (1 - f);
            dar[2 * H + j] = dcn * i * (1 - g * g);
            dar[3 * H + j] = d * tc * o * (1 - o);
            dc[r * lddc + j] = dcn * f;
        }
    }
}

void rk_gru_forward_ref(long B, long H, const float *a, long lda, const float *q, long ldq, const float *bias,
                        const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                        long ldk) {
    for (long row = 0; row < B; row++) {
        const float *ar = a + row * lda, *qr = q + row * ldq, *hp = h_prev + row * ldhp;
        float *k = cache + row * ldk;
        for (long j = 0; j < H; j++) {
            const float r = sigmoid_ref(ar[j] + qr[j] + bias[j]);
            const float z = sigmoid_ref(ar[H + j] + qr[H + j] + bias[H + j]);
            const float hn = qr[2 * H + j] + bias[2 * H + j];
            const float n = tanhf(ar[2 * H + j] + r * hn);
            const float v = (1 - z) * n + z * hp[j];
            k[j] = r, k[H + j] = z, k[2 * H + j] = n, k[3 * H + j] = hn;
            h[row * ldh + j] = v;
            y[row * ldy + j] = v;
        }
    }
}

void rk_gru_backward_ref(long B, long H, float *da, long lda, float *dq, long ldq, const float *dy, long ldy,
                         float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp) {
    for (long row = 0; row < B; row++) {
        float *dar = da + row * lda, *dqr = dq + row * ldq;
        const float *k = cache + row * ldk, *hp = h_prev + row * ldhp;
        for (long j = 0; j < H; j++) {
            const float r = k[j], z = k[H + j], n = k[2 * H + j], hn = k[3 * H + j];
            const float d = dy[row * ldy + j] + dh[row * lddh + j];
            const float dan = d * (1 - z) * (1 - n * n);
            const float daz = d * (hp[j] - n) * z * (1 - z);
            const float dar0 = dan * hn * r * (1 - r);
            dar[j] = dar0, dar[H + j] = daz, dar[2 * H + j] = dan;
            dqr[j] = dar0, dqr[H + j] = daz, dqr[2 * H + j] = dan * r;
            dh[row * lddh + j] = d * z;
        }
    }
}

void rk_rnn_forward_ref(long B, long H, int relu, const float *a, long lda, const float *bias, float *h, long ldh,
                        float *y, long ldy) {
    for (long r = 0; r < B; r++)
        for (long j = 0; j < H; j++) {
            const float pre = a[r * lda + j] + bias[j];
            const float v = relu ? (pre > 0 ? pre : (pre == pre ? 0.0f : pre)) : tanhf(pre);
            h[r * ldh + j] = v;
            y[r * ldy + j] = v;
        }
}

void rk_rnn_backward_ref(long B, long H, int relu, float *da, long lda, const float *h, long ldh, const float *dy,
                         long ldy, const float *dh, long lddh) {
    for (long r = 0; r < B; r++)
        for (long j = 0; j < H; j++) {
            const float g = dy[r * ldy + j] + dh[r * lddh + j], s = h[r * ldh + j];
            da[r * lda + j] = relu ? (s > 0 ? g : 0.0f) : g * (1 - s * s);
        }
}

double rk_softmax_xent_ref(long R, long V, const float *z, long ldz, const int32_t *targets, float scale, float *dz,
                           long lddz) {
    double total = 0;
    for (long r = 0; r < R; r++) {
        const float *zr = z + r * ldz;
        const long y = targets[r];
        if (y < 0) {
            if (dz)
                for (long j = 0; j < V; j++) dz[r * lddz + j] = 0;
            continue;
        }
        float m = -INFINITY;
        for (long j = 0; j < V; j++) m = zr[j] > m ? zr[j] : m;
        float sum = 0;
        for (long j = 0; j < V; j++) sum += expf(zr[j] - m);
        const float lse = m + logf(sum);
        total += (double)(lse - zr[y]);
        if (dz) {
            for (long j = 0; j < V; j++) dz[r * lddz + j] = expf(zr[j] - lse) * scale;
            dz[r * lddz + y] -= scale;
        }
    }
    return total;
}

void rk_adam_ref(long n, float *w, const float *g, float *m, float *v, float lr, float beta1, float beta2, float eps,
                 float weight_decay, int decoupled, float step_size, float c2_root) {
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        if (decoupled) {
            const float d = lr * weight_decay * w[i];
            w[i] -= d;
        } else {
            const float d = weight_decay * w[i];
            gi += d;
        }
        const float a = beta1 * m[i], b = (1 - beta1) * gi;
        m[i] = a + b;
        const float c = beta2 * v[i], e = (1 - beta2) * gi * gi;
        v[i] = c + e;
        const float u = step_size * m[i], s = sqrtf(v[i]) / c2_root;
        w[i] -= u / (s + eps);
    }
}

void rk_map_ref(int fn, long n, const float *x, float *y) {
    for (long i = 0; i < n; i++) y[i] = fn == RK_MAP_EXP ? expf(x[i]) : fn == RK_MAP_SIGMOID ? sigmoid_ref(x[i]) : tanhf(x[i]);
}

/* The references of rk_min_coefficients and its backward: libm, one element at a time. */
static float min_sigmoid_ref(float x) { return 1.0f / (1.0f + expf(-x)); }
static float min_g_ref(float v) { return v >= 0 ? v + 0.5f : min_sigmoid_ref(v); }

void rk_min_coefficients_ref(long R, long H, int lstm, const float *p, long ldp, float *a, float *b, long ldab,
                             float *cache) {
    const long G = lstm ? 3 : 2;
    for (long r = 0; r < R; r++)
        for (long j = 0; j < H; j++) {
            const float *pr = p + r * ldp;
            float *cr = cache + r * G * H;
            const float g = min_g_ref(pr[(G - 1) * H + j]);
            if (lstm) {
                const float f = min_sigmoid_ref(pr[j]), i = min_sigmoid_ref(pr[H + j]), s = f + i;
                a[r * ldab + j] = f / s;
                b[r * ldab + j] = i * g / s;
                cr[j] = f;
                cr[H + j] = i;
            } else {
                const float z = min_sigmoid_ref(pr[j]);
                a[r * ldab + j] = 1.0f - z;
                b[r * ldab + j] = z * g;
                cr[j] = z;
            }
            cr[(G - 1) * H + j] = g;
        }
}

void rk_min_coefficients_backward_ref(long R, long H, int lstm, const float *da, const float *db, long ldab,
                                      const float *cache, float *dp, long lddp) {
    const long G = lstm ? 3 : 2;
    for (long r = 0; r < R; r++)
        for (long j = 0; j < H; j++) {
            const float *cr = cache + r * G * H;
            float *dpr = dp + r * lddp;
            const float dA = da[r * ldab + j], dB = db[r * ldab + j], g = cr[(G - 1) * H + j];
            const float dg = g >= 0.5f ? 1.0f : g * (1.0f - g);
            if (lstm) {
                const float f = cr[j], i = cr[H + j], s = f + i, difference = dA - dB * g;
                dpr[j] = i * difference / (s * s) * f * (1.0f - f);
                dpr[H + j] = -f * difference / (s * s) * i * (1.0f - i);
                dpr[2 * H + j] = dB * (i / s) * dg;
            } else {
                const float z = cr[j];
                dpr[j] = (dB * g - dA) * z * (1.0f - z);
                dpr[H + j] = dB * z * dg;
            }
        }
}

/*
 * The references of the layer-normalised steps: the cells' equations one element at a time,
 * libm for σ and tanh, the normalisations' statistics and sums in double.
 */

/* x̂ (n) = (x − mean)/√(var + ε), two passes in double; returns 1/√(var + ε). */
static float layer_norm_ref(long n, const float *x, float eps, float *xhat) {
    double mean = 0, var = 0;
    for (long j = 0; j < n; j++) mean += x[j];
    mean /= (double)n;
    for (long j = 0; j < n; j++) var += ((double)x[j] - mean) * ((double)x[j] - mean);
    const double rstd = 1.0 / sqrt(var / (double)n + eps);
    for (long j = 0; j < n; j++) xhat[j] = (float)(((double)x[j] - mean) * rstd);
    return (float)rstd;
}

/* ∂v (n) from ∂x̂ (n), in place allowed: rstd·(∂x̂ − mean ∂x̂ − x̂·mean(∂x̂ ⊙ x̂)). */
static void layer_norm_backward_ref(long n, const float *dxhat, const float *xhat, float rstd, float *dv) {
    double g = 0, gx = 0;
    for (long j = 0; j < n; j++) g += dxhat[j], gx += (double)dxhat[j] * xhat[j];
    g /= (double)n, gx /= (double)n;
    for (long j = 0; j < n; j++) dv[j] = (float)(rstd * ((double)dxhat[j] - g - (double)xhat[j] * gx));
}

/* An LSTM gate from the cache: σ, or tanh for the g block (j in [2H, 3H)). */
static float lnlstm_gate_ref(long H, long j, const float *xp, const float *xq, const float *gain_p,
                             const float *gain_q, const float *bias) {
    const float a = gain_p[j] * xp[j] + gain_q[j] * xq[j] + bias[j];
    return j >= 2 * H && j < 3 * H ? tanhf(a) : sigmoid_ref(a);
}

void rk_lnlstm_forward_ref(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                           const float *gain_q, const float *bias, const float *gain_c, const float *bias_c, float eps,
                           const float *c_prev, long ldcp, float *h, long ldh, float *c, long ldc, float *y, long ldy,
                           float *cache, long ldk) {
    const long G = 4 * H;
    for (long r = 0; r < B; r++) {
        float *k = cache + r * ldk, *cr = c + r * ldc;
        float *xp = k, *xq = k + G, *stats = k + 2 * G;
        stats[0] = layer_norm_ref(G, p + r * ldp, eps, xp);
        stats[1] = layer_norm_ref(G, q + r * ldq, eps, xq);
        for (long j = 0; j < H; j++) {
            const float i = lnlstm_gate_ref(H, j, xp, xq, gain_p, gain_q, bias);
            const float f = lnlstm_gate_ref(H, H + j, xp, xq, gain_p, gain_q, bias);
            const float g = lnlstm_gate_ref(H, 2 * H + j, xp, xq, gain_p, gain_q, bias);
            cr[j] = f * c_prev[r * ldcp + j] + i * g;
        }
        double mean = 0, var = 0;
        for (long j = 0; j < H; j++) mean += cr[j];
        mean /= (double)H;
        for (long j = 0; j < H; j++) var += ((double)cr[j] - mean) * ((double)cr[j] - mean);
        stats[2] = (float)mean;
        stats[3] = (float)(1.0 / sqrt(var / (double)H + eps));
        for (long j = 0; j < H; j++) {
            const float o = lnlstm_gate_ref(H, 3 * H + j, xp, xq, gain_p, gain_q, bias);
            const float v = o * tanhf(gain_c[j] * (cr[j] - stats[2]) * stats[3] + bias_c[j]);
            h[r * ldh + j] = v;
            y[r * ldy + j] = v;
        }
    }
}

void rk_lnlstm_backward_ref(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                            float *dh, long lddh, float *dc, long lddc, const float *cache, long ldk,
                            const float *c_prev, long ldcp, const float *c, long ldc, const float *gain_p,
                            const float *gain_q, const float *bias, const float *gain_c, const float *bias_c,
                            float *sums, long ldsums) {
    const long G = 4 * H;
    for (long r = 0; r < B; r++) {
        const float *k = cache + r * ldk, *cr = c + r * ldc;
        const float *xp = k, *xq = k + G, *stats = k + 2 * G;
        float *dpr = dp + r * lddp, *da = dq + r * lddq, *dhr = dh + r * lddh, *dcr = dc + r * lddc;
        float *dgp = sums + r * ldsums, *dgq = dgp + G, *db = dgp + 2 * G, *dgc = dgp + 3 * G, *dbc = dgc + H;
        /* ∂a_o, and the cell norm's ∂x̂ into dh (spent), then ∂c through that norm */
        float *xc = dpr; /* x̂_c, while dp's row is free */
        for (long j = 0; j < H; j++) xc[j] = (cr[j] - stats[2]) * stats[3];
        for (long j = 0; j < H; j++) {
            const float o = lnlstm_gate_ref(H, 3 * H + j, xp, xq, gain_p, gain_q, bias);
            const float t = tanhf(gain_c[j] * xc[j] + bias_c[j]);
            const float d = dy[r * ldy + j] + dhr[j];
            const float dchat = d * o * (1 - t * t);
            dgc[j] += dchat * xc[j];
            dbc[j] += dchat;
            dhr[j] = dchat * gain_c[j];
            da[3 * H + j] = d * t * o * (1 - o);
        }
        layer_norm_backward_ref(H, dhr, xc, stats[3], dhr);
        for (long j = 0; j < H; j++) {
            const float i = lnlstm_gate_ref(H, j, xp, xq, gain_p, gain_q, bias);
            const float f = lnlstm_gate_ref(H, H + j, xp, xq, gain_p, gain_q, bias);
            const float g = lnlstm_gate_ref(H, 2 * H + j, xp, xq, gain_p, gain_q, bias);
            const float dct = dcr[j] + dhr[j];
            da[j] = dct * g * i * (1 - i);
            da[H + j] = dct * c_prev[r * ldcp + j] * f * (1 - f);
            da[2 * H + j] = dct * i * (1 - g * g);
            dcr[j] = dct * f;
            dhr[j] = 0;
        }
        /* ∂a (in dq's row) through the two normalisations */
        for (long j = 0; j < G; j++) {
            db[j] += da[j];
            dgp[j] += da[j] * xp[j];
            dgq[j] += da[j] * xq[j];
            dpr[j] = da[j] * gain_p[j];
            da[j] *= gain_q[j];
        }
        layer_norm_backward_ref(G, dpr, xp, stats[0], dpr);
        layer_norm_backward_ref(G, da, xq, stats[1], da);
    }
}

/* The GRU's gates r, z, n and v_n at j (< H) from the cache. */
static void lngru_gates_ref(long H, long j, const float *xp, const float *xq, const float *gain_p, const float *gain_q,
                            const float *bias_p, const float *bias_q, float *r, float *z, float *n, float *vn) {
    const long jz = H + j, jn = 2 * H + j;
    *r = sigmoid_ref(gain_p[j] * xp[j] + bias_p[j] + gain_q[j] * xq[j] + bias_q[j]);
    *z = sigmoid_ref(gain_p[jz] * xp[jz] + bias_p[jz] + gain_q[jz] * xq[jz] + bias_q[jz]);
    *vn = gain_q[jn] * xq[jn] + bias_q[jn];
    *n = tanhf(gain_p[jn] * xp[jn] + bias_p[jn] + *r * *vn);
}

void rk_lngru_forward_ref(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                          const float *gain_q, const float *bias_p, const float *bias_q, float eps,
                          const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                          long ldk) {
    const long G = 3 * H;
    for (long row = 0; row < B; row++) {
        float *k = cache + row * ldk;
        float *xp = k, *xq = k + G, *stats = k + 2 * G;
        stats[0] = layer_norm_ref(G, p + row * ldp, eps, xp);
        stats[1] = layer_norm_ref(G, q + row * ldq, eps, xq);
        for (long j = 0; j < H; j++) {
            float r, z, n, vn;
            lngru_gates_ref(H, j, xp, xq, gain_p, gain_q, bias_p, bias_q, &r, &z, &n, &vn);
            const float v = (1 - z) * n + z * h_prev[row * ldhp + j];
            h[row * ldh + j] = v;
            y[row * ldy + j] = v;
        }
    }
}

void rk_lngru_backward_ref(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                           float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp,
                           const float *gain_p, const float *gain_q, const float *bias_p, const float *bias_q,
                           float *sums, long ldsums) {
    const long G = 3 * H;
    for (long row = 0; row < B; row++) {
        const float *k = cache + row * ldk;
        const float *xp = k, *xq = k + G, *stats = k + 2 * G;
        float *du = dp + row * lddp, *dv = dq + row * lddq, *dhr = dh + row * lddh;
        float *dgp = sums + row * ldsums, *dgq = dgp + G, *dbp = dgp + 2 * G, *dbq = dgp + 3 * G;
        for (long j = 0; j < H; j++) {
            float r, z, n, vn;
            lngru_gates_ref(H, j, xp, xq, gain_p, gain_q, bias_p, bias_q, &r, &z, &n, &vn);
            const float d = dy[row * ldy + j] + dhr[j];
            const float dan = d * (1 - z) * (1 - n * n);
            const float dar = dan * vn * r * (1 - r);
            const float daz = d * (h_prev[row * ldhp + j] - n) * z * (1 - z);
            du[j] = dar, du[H + j] = daz, du[2 * H + j] = dan;
            dv[j] = dar, dv[H + j] = daz, dv[2 * H + j] = dan * r;
            dhr[j] = d * z;
        }
        for (long j = 0; j < G; j++) {
            dbp[j] += du[j];
            dbq[j] += dv[j];
            dgp[j] += du[j] * xp[j];
            dgq[j] += dv[j] * xq[j];
            du[j] *= gain_p[j];
            dv[j] *= gain_q[j];
        }
        layer_norm_backward_ref(G, du, xp, stats[0], du);
        layer_norm_backward_ref(G, dv, xq, stats[1], dv);
    }
}
