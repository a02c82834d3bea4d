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
