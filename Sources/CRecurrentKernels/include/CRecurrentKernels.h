#ifndef CRECURRENT_KERNELS_H
#define CRECURRENT_KERNELS_H
#include <stddef.h>
#include <stdint.h>
/*
 * CRecurrentKernels: the hot loops of Recurrent, in C. No stable API: the Swift
 * target `Recurrent` is the only client.
 *
 * Matrices are float32, row-major, with a leading dimension (the distance in
 * elements between the starts of two consecutive rows).
 */
#ifdef __cplusplus
extern "C" {
#endif

/* Instruction-set paths of the kernels. */
enum {
    RK_ISA_GENERIC = 0, /* portable C, any CPU */
    RK_ISA_AVX2 = 1,    /* x86-64 AVX2 + FMA */
    RK_ISA_AVX512 = 2,  /* x86-64 AVX-512F */
    RK_ISA_NEON = 3,    /* AArch64 NEON */
};

/* 1 when this CPU (and OS) can run the given path, else 0. */
int rk_isa_available(int isa);
/* The path in use: the best available one, chosen once at first use. */
int rk_active_isa(void);
/* Select a path (tests, benchmarks). Returns 0, or -1 when it is not available. */
int rk_set_isa(int isa);
/* "generic", "avx2", "avx512", "neon". */
const char *rk_isa_name(int isa);

/*
 * Precision of the products (rk_sgemm, rk_sgemm_pack_b) started on the calling thread, and of
 * those that kernels started there run on the pool's threads: RK_MATMUL_FP32 (the default), or
 * RK_MATMUL_BF16 — op(A) and op(B) rounded to bfloat16 (nearest, ties to even), products summed in
 * float32 as AVX-512 BF16's VDPBF16PS sums them (subnormals flushed), in the same K blocks on every
 * path: the same bits with or without the instruction, for any thread count. PyTorch's
 * torch.set_float32_matmul_precision("medium") on CPU. A packed B keeps the precision it was
 * packed in. rk_matmul_bf16_native: 1 when this CPU runs bf16 products with the instruction
 * (elsewhere they run in portable C, slower than float32).
 */
enum { RK_MATMUL_FP32 = 0, RK_MATMUL_BF16 = 1 };
void rk_set_matmul_precision(int precision);
int rk_matmul_precision(void);
int rk_matmul_bf16_native(void);
/* bf16 of a float, nearest, ties to even (NaN stays a quiet NaN): what the bf16 products use. */
uint16_t rk_bf16_round(float f);

/* Worker threads used by the kernels; n <= 0 means one per online core. */
void rk_set_threads(int n);
int rk_threads(void);

/*
 * Runs fn(ctx, part, parts) once for each part = 0..parts-1 on the kernels' threads (the caller
 * included) and returns when all are done; parts > rk_threads() is allowed. Kernels called
 * inside a part run on that part's thread alone. Which thread runs a part is not fixed: a part's
 * work must depend on its number only.
 */
void rk_parallel_parts(int parts, void (*fn)(void *ctx, int part, int parts), void *ctx);

/*
 * C = alpha * op(A) * op(B) + beta * C, with op(A) M x K and op(B) K x N.
 * transA = 0: A is M x K (lda >= K); transA != 0: A is stored K x M (lda >= M).
 * transB = 0: B is K x N (ldb >= N); transB != 0: B is stored N x K (ldb >= K).
 * beta == 0 overwrites C without reading it (NaNs in C are not propagated), as BLAS does.
 * Results are bit-identical for every thread count.
 */
void rk_sgemm(int transA, int transB, int M, int N, int K,
              float alpha, const float *A, int lda,
              const float *B, int ldb,
              float beta, float *C, int ldc);

/*
 * B packed once for many products that share it (the recurrent weight, reused by every
 * time step): rk_sgemm_packed_b_size floats at `packed` receive op(B) (K x N) in the
 * micro-kernel's layout for the active path; rk_sgemm_packed then computes
 * C = alpha * op(A) * op(B) + beta * C with the same bits rk_sgemm gives for the same
 * arguments, for any M (M == 1 included) and thread count. Repack after B changes.
 * rk_sgemm_packed returns -1 (and does nothing) when N, K differ from the packed ones.
 */
size_t rk_sgemm_packed_b_size(int N, int K);
void rk_sgemm_pack_b(int transB, int N, int K, const float *B, int ldb, float *packed);
int rk_sgemm_packed(int transA, int M, int N, int K, float alpha, const float *A, int lda, const float *packed,
                    float beta, float *C, int ldc);

/*
 * One streaming step of a recurrent layer, split by hidden units: part t (of nparts, on the pool,
 * part 0 on the caller) owns units [first, first + units) and has the rows of its units' G gates
 * of W_ih (D wide) and W_hh (K wide), gathered gate by gate and packed by rk_sgemm_pack_b, b_ih and
 * b_hh gathered the same way (either may be NULL), and scratch: gates and q (B, G*units), cache
 * (B, C*units). Each part takes its slice of the input projection from `given` (B, G*H) when it
 * is not NULL, else computes x (B, D) * W_ih^T + b_ih; adds q = state[:, 0:K] * W_hh^T (LSTM, RNN)
 * or keeps it apart (GRU); and runs the cell's kernel on its units, reading `state` (B, S) and
 * writing its units of `next` (B, S) and y (B, ., ldy). The same bits as the whole layer's step.
 */
enum { RK_UNIT_LSTM = 0, RK_UNIT_GRU = 1, RK_UNIT_RNN_TANH = 2, RK_UNIT_RNN_RELU = 3 };
typedef struct {
    long first, units;
    const float *input, *recurrent;
    const float *input_bias, *recurrent_bias;
    float *gates, *q, *cache;
} rk_unit_part;
void rk_unit_step(int cell, int nparts, const rk_unit_part *parts, long B, long H, long D, long K, long S,
                  const float *x, const float *given, const float *state, float *next, float *y, long ldy);

/* The naive reference of rk_sgemm: three loops, double accumulation. */
void rk_sgemm_ref(int transA, int transB, int M, int N, int K,
                  float alpha, const float *A, int lda,
                  const float *B, int ldb,
                  float beta, float *C, int ldc);

/*
 * ---- Elementwise kernels: fused gate math, softmax cross-entropy, optimiser loops ----
 *
 * Letters: B batch rows, H hidden width, V classes. Every block is row-strided
 * (row b starts at base + b*ld). Each kernel runs on the active ISA path (the
 * GEMM's); the _ref sibling is the naive libm loop it is tested against. A
 * row's results never depend on B or on the other rows. Transcendentals are
 * vectorised polynomials accurate to a few ulp (see gates_body.h).
 */
/* LSTM step, gate order i, f, g, o. a (B, 4H): x*W_ih^T + b_ih + h_{t-1}*W_hh^T; bias b_hh (4H);
   c_prev (B, H). Writes h, c, y (B, H) and cache (B, 5H) = [i | f | g | o | tanh(c)]. */
void rk_lstm_forward(long B, long H, const float *a, long lda, const float *bias, const float *c_prev, long ldcp,
                     float *h, long ldh, float *c, long ldc, float *y, long ldy, float *cache, long ldk);
/* Backward of rk_lstm_forward. dy, dh (B, H): dL/dy_t and dL/dh_t from later steps; dc (B, H): dL/dc_t
   on entry, dL/dc_{t-1} on return. Writes da (B, 4H). */
void rk_lstm_backward(long B, long H, float *da, long lda, const float *dy, long ldy, const float *dh, long lddh,
                      float *dc, long lddc, const float *cache, long ldk, const float *c_prev, long ldcp);

/* GRU step, gate order r, z, n. a (B, 3H): x*W_ih^T + b_ih; q (B, 3H): h_{t-1}*W_hh^T; bias b_hh (3H).
   Writes h, y (B, H) and cache (B, 4H) = [r | z | n | W_hn*h_{t-1} + b_hn]. */
void rk_gru_forward(long B, long H, const float *a, long lda, const float *q, long ldq, const float *bias,
                    const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache, long ldk);
/* Backward of rk_gru_forward. dh (B, H): dL/dh_t on entry, z*dL/dh_t (the direct part of dL/dh_{t-1})
   on return. Writes da (B, 3H) and dq (B, 3H), the gradient of h_{t-1}*W_hh^T + b_hh. */
void rk_gru_backward(long B, long H, float *da, long lda, float *dq, long ldq, const float *dy, long ldy,
                     float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp);

/*
 * Layer-normalised steps (Ba et al. 2016): LN(v) = (v - mean v)/sqrt(var v + eps) over a row's
 * whole block (two passes: the mean, then the variance of the deviations), then the gain and bias.
 * p, q (B, G*H): the input and recurrent products x*W_ih^T, h_{t-1}*W_hh^T, each normalised over
 * all its G*H values. The cache keeps LN(p), LN(q) and the statistics; backward recomputes the
 * gates from them (the same bits as forward's). Backward writes dp, dq and adds the gains' and
 * biases' gradients to each row's own sums (row b at sums + b*ldsums), which the caller adds up.
 */
/* LSTM, gate order i, f, g, o (G = 4): a = gain_p*LN(p) + gain_q*LN(q) + bias; c = f*c_prev + i*g;
   h = y = o*tanh(gain_c*LN(c) + bias_c). Writes h, c, y (B, H) and cache (B, >= 8H + 4) =
   [LN(p) | LN(q) | 1/sigma of p, 1/sigma of q, mean of c, 1/sigma of c]. */
void rk_lnlstm_forward(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                       const float *gain_q, const float *bias, const float *gain_c, const float *bias_c, float eps,
                       const float *c_prev, long ldcp, float *h, long ldh, float *c, long ldc, float *y, long ldy,
                       float *cache, long ldk);
/* Backward of rk_lnlstm_forward; c (B, H): c_t as it wrote it. dy (B, H); dh (B, H): dL/dh_t on entry,
   0 on return (it is spent); dc (B, H): dL/dc_t on entry, dL/dc_{t-1} on return. Writes dp, dq (B, 4H);
   sums (B, >= 14H) += [d gain_p (4H) | d gain_q (4H) | d bias (4H) | d gain_c (H) | d bias_c (H)]. */
void rk_lnlstm_backward(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                        float *dh, long lddh, float *dc, long lddc, const float *cache, long ldk, const float *c_prev,
                        long ldcp, const float *c, long ldc, const float *gain_p, const float *gain_q,
                        const float *bias, const float *gain_c, const float *bias_c, float *sums, long ldsums);
/* GRU, gate order r, z, n (G = 3): u = gain_p*LN(p) + bias_p, v = gain_q*LN(q) + bias_q; r = sigma(u_r + v_r),
   z = sigma(u_z + v_z), n = tanh(u_n + r*v_n), h = y = (1 - z)*n + z*h_prev. Writes h, y (B, H) and
   cache (B, >= 6H + 2) = [LN(p) | LN(q) | 1/sigma of p, 1/sigma of q]. */
void rk_lngru_forward(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                      const float *gain_q, const float *bias_p, const float *bias_q, float eps, const float *h_prev,
                      long ldhp, float *h, long ldh, float *y, long ldy, float *cache, long ldk);
/* Backward of rk_lngru_forward. dh (B, H): dL/dh_t on entry, z*dL/dh_t (the direct part of dL/dh_{t-1})
   on return. Writes dp, dq (B, 3H); sums (B, >= 12H) += [d gain_p | d gain_q | d bias_p | d bias_q]. */
void rk_lngru_backward(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                       float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp,
                       const float *gain_p, const float *gain_q, const float *bias_p, const float *bias_q,
                       float *sums, long ldsums);

/* Vanilla RNN step, h = phi(a + b_hh), phi = relu when relu != 0, else tanh. Writes h and y (B, H). */
void rk_rnn_forward(long B, long H, int relu, const float *a, long lda, const float *bias, float *h, long ldh,
                    float *y, long ldy);
/* da = (dy + dh) * phi'(a), phi' read off h (tanh: 1 - h^2, relu: h > 0). */
void rk_rnn_backward(long B, long H, int relu, float *da, long lda, const float *h, long ldh, const float *dy,
                     long ldy, const float *dh, long lddh);

/* Softmax cross-entropy over z (R, V). Rows with targets[r] < 0 are ignored (dz row zeroed); targets must
   be < V. Returns the sum over counted rows of logsumexp(z_r) - z_r[y_r]; when dz is not NULL writes
   dz = (softmax(z) - onehot(y)) * scale. */
double rk_softmax_xent(long R, long V, const float *z, long ldz, const int32_t *targets, float scale, float *dz,
                       long lddz);

/* One Adam step over n scalars (see Optimizer.swift for the maths): w, m, v updated from g. */
void rk_adam(long n, float *w, const float *g, float *m, float *v, float lr, float beta1, float beta2, float eps,
             float weight_decay, int decoupled, float step_size, float c2_root);
/* Sum of x[i]^2 accumulated in double. */
double rk_sum_squares(long n, const float *x);
/* x *= s. */
void rk_scale(long n, float *x, float s);
/* y[i][j] += b[j], i < rows, j < cols. */
void rk_add_bias(long rows, long cols, const float *b, float *y, long ldy);
/* sums[j] += x[i][j] over i = 0..rows-1 in order, j < cols. */
void rk_column_sums(long rows, long cols, const float *x, long ldx, float *sums);
/* Row i of y (n, cols) = row ids[i] of table (.., cols), or zeros where ids[i] < 0 (a lookup). */
void rk_gather_rows(long n, long cols, const float *table, const int32_t *ids, float *y);
/* Row ids[i] of table (.., cols) += row i of x (n, cols) for i = 0..n-1 in order, skipping
   ids[i] < 0 (the lookup's gradient). */
void rk_scatter_add_rows(long n, long cols, const float *x, const int32_t *ids, float *table);

/* The kernels' own exp, sigmoid and tanh over n values (tests). */
enum { RK_MAP_EXP = 0, RK_MAP_SIGMOID = 1, RK_MAP_TANH = 2 };
/* minGRU (lstm = 0) and minLSTM (lstm = 1): the coefficients a, b (R, H) of s_t = a·s_{t−1} + b from
   p (R, G·H) (G = 2: z, h; G = 3: f, i, h), and the cache (R, G·H) their backward reads; see
   gates_body.h. Single-threaded: the caller splits rows. */
void rk_min_coefficients(long R, long H, int lstm, const float *p, long ldp, float *a, float *b, long ldab,
                         float *cache);
/* dp (R, G·H) from da, db (R, H) and the cache of rk_min_coefficients. */
void rk_min_coefficients_backward(long R, long H, int lstm, const float *da, const float *db, long ldab,
                                  const float *cache, float *dp, long lddp);
void rk_map(int fn, long n, const float *x, float *y);

/* The machine's ceilings (roofline.c), on the active path and all the kernels' threads at once:
   rk_fma_gflops: float32 GFLOP/s of independent FMA chains, `iterations` rounds each thread;
   rk_read_seconds: the seconds the slowest thread takes to read a buffer of `bytes` of its own
   once (the mean of `sweeps` sweeps after one to warm the caches); -1 when memory runs out. */
double rk_fma_gflops(long iterations);
double rk_read_seconds(long bytes, int sweeps);
/* GFLOP/s of independent AVX-512 BF16 dot-product chains (2 FLOPs a bf16 product), the ceiling of
   bf16 products; 0 where they do not run with the instruction. */
double rk_bf16_gflops(long iterations);

/* Naive references: one element at a time, libm expf/tanhf, the scalar formulas. */
void rk_lstm_forward_ref(long B, long H, const float *a, long lda, const float *bias, const float *c_prev, long ldcp,
                         float *h, long ldh, float *c, long ldc, float *y, long ldy, float *cache, long ldk);
void rk_lstm_backward_ref(long B, long H, float *da, long lda, const float *dy, long ldy, const float *dh, long lddh,
                          float *dc, long lddc, const float *cache, long ldk, const float *c_prev, long ldcp);
void rk_gru_forward_ref(long B, long H, const float *a, long lda, const float *q, long ldq, const float *bias,
                        const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                        long ldk);
void rk_gru_backward_ref(long B, long H, float *da, long lda, float *dq, long ldq, const float *dy, long ldy,
                         float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp);
void rk_rnn_forward_ref(long B, long H, int relu, const float *a, long lda, const float *bias, float *h, long ldh,
                        float *y, long ldy);
void rk_rnn_backward_ref(long B, long H, int relu, float *da, long lda, const float *h, long ldh, const float *dy,
                         long ldy, const float *dh, long lddh);
void rk_lnlstm_forward_ref(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                           const float *gain_q, const float *bias, const float *gain_c, const float *bias_c, float eps,
                           const float *c_prev, long ldcp, float *h, long ldh, float *c, long ldc, float *y, long ldy,
                           float *cache, long ldk);
void rk_lnlstm_backward_ref(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                            float *dh, long lddh, float *dc, long lddc, const float *cache, long ldk,
                            const float *c_prev, long ldcp, const float *c, long ldc, const float *gain_p,
                            const float *gain_q, const float *bias, const float *gain_c, const float *bias_c,
                            float *sums, long ldsums);
void rk_lngru_forward_ref(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                          const float *gain_q, const float *bias_p, const float *bias_q, float eps,
                          const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                          long ldk);
void rk_lngru_backward_ref(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                           float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp,
                           const float *gain_p, const float *gain_q, const float *bias_p, const float *bias_q,
                           float *sums, long ldsums);
double rk_softmax_xent_ref(long R, long V, const float *z, long ldz, const int32_t *targets, float scale, float *dz,
                           long lddz);
void rk_adam_ref(long n, float *w, const float *g, float *m, float *v, float lr, float beta1, float beta2, float eps,
                 float weight_decay, int decoupled, float step_size, float c2_root);
void rk_min_coefficients_ref(long R, long H, int lstm, const float *p, long ldp, float *a, float *b, long ldab,
                             float *cache);
void rk_min_coefficients_backward_ref(long R, long H, int lstm, const float *da, const float *db, long ldab,
                                      const float *cache, float *dp, long lddp);
void rk_map_ref(int fn, long n, const float *x, float *y);

/*
 * ---- Reduced-precision weights for batch-1 inference ----
 *
 * W (P, K) row-major, stored narrow: bf16 (round to nearest, ties to even; NaN stays NaN), or
 * int8 symmetric per row, scale[p] = max_k |W[p,k]| / 127, q = round(W / scale) clamped to
 * [-127, 127] (an all-zero row has scale 0). The widen functions give the float32 values a
 * narrow matrix stands for (bf16 << 16; q * scale).
 *
 * rk_matvec_*: for each of M rows of x (K, stride ldx), y (P, stride ldy) = W x, or y += W x when
 * accumulate != 0 (int8: y = scale ⊙ (q x)). Every weight is widened to float32 in registers and
 * every product is a float32 FMA. The rows of W are split over the thread pool; results are
 * bit-identical for every thread count. The _ref siblings sum in double, for the tests.
 */
/* The index of the first infinite or NaN element of x (n), or -1. */
long rk_first_nonfinite(long n, const float *x);
void rk_narrow_bf16(long n, const float *src, uint16_t *dst);
void rk_widen_bf16(long n, const uint16_t *src, float *dst);
void rk_narrow_int8(long P, long K, const float *W, int8_t *q, float *scale);
void rk_widen_int8(long P, long K, const int8_t *q, const float *scale, float *dst);
void rk_matvec_bf16(long M, long P, long K, const uint16_t *W, const float *x, long ldx, int accumulate, float *y,
                    long ldy);
void rk_matvec_int8(long M, long P, long K, const int8_t *W, const float *scale, const float *x, long ldx,
                    int accumulate, float *y, long ldy);
/*
 * w8a8: int8 weights (rk_narrow_int8) and int8 activations, not float32 arithmetic. Each row of x
 * is quantised once, sx = max|x| / 127, xi = round(x / sx) in [-127, 127]; then
 * y_p = scale[p] * sx * sum_k q[p,k] xi[k], the sum exact in integers (AVX-512 VNNI byte dot
 * products where the CPU has them, a portable loop elsewhere; the same bits either way).
 * rowsum (P) = sum_k q[p,k] from rk_int8_row_sums. K <= 66000 (the int32 sums cannot overflow).
 */
void rk_int8_row_sums(long P, long K, const int8_t *q, int32_t *sums);
void rk_matvec_w8a8(long M, long P, long K, const int8_t *W, const float *scale, const int32_t *rowsum, const float *x,
                    long ldx, int accumulate, float *y, long ldy);
void rk_matvec_w8a8_ref(long M, long P, long K, const int8_t *W, const float *scale, const int32_t *rowsum,
                        const float *x, long ldx, int accumulate, float *y, long ldy);
void rk_matvec_bf16_ref(long M, long P, long K, const uint16_t *W, const float *x, long ldx, int accumulate,
                        float *y, long ldy);
void rk_matvec_int8_ref(long M, long P, long K, const int8_t *W, const float *scale, const float *x, long ldx,
                        int accumulate, float *y, long ldy);

#ifdef __cplusplus
}
#endif
#endif
