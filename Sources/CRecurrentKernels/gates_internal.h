#ifndef RK_GATES_INTERNAL_H
#define RK_GATES_INTERNAL_H
/*
 * Private to CRecurrentKernels: the elementwise kernels (fused gate math of the
 * cells, softmax cross-entropy, optimiser loops) and their per-ISA tables.
 *
 * Each kernel body is written once, in gates_body.h, against a tiny vector API
 * (vf: a vector of VW floats, vm: a lane mask, vload/vstore/vfma/...). Each ISA
 * file (gates_avx512.c, gates_avx2.c, gates_generic.c) defines that API with
 * its intrinsics and includes the body, which yields one table per ISA; gates.c
 * picks the table of the active ISA (the same switch as the GEMM).
 *
 * Row independence: every element is computed by the same lane arithmetic
 * whatever its position in the row (the last, partial vector is a masked full
 * vector), and rows never interact, so a row's results do not depend on the
 * batch size. The reference versions (gates_ref.c) use libm, one element at a
 * time, and are what the tests compare against.
 */
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int isa;
    void (*lstm_forward)(long B, long H, const float *a, long lda, const float *bias, const float *c_prev,
                         long ldcp, float *h, long ldh, float *c, long ldc, float *y, long ldy, float *cache,
                         long ldk);
    void (*lstm_backward)(long B, long H, float *da, long lda, const float *dy, long ldy, const float *dh,
                          long lddh, float *dc, long lddc, const float *cache, long ldk, const float *c_prev,
                          long ldcp);
    void (*gru_forward)(long B, long H, const float *a, long lda, const float *q, long ldq, const float *bias,
                        const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                        long ldk);
    void (*gru_backward)(long B, long H, float *da, long lda, float *dq, long ldq, const float *dy, long ldy,
                         float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp);
    void (*rnn_forward)(long B, long H, int relu, const float *a, long lda, const float *bias, float *h, long ldh,
                        float *y, long ldy);
    void (*rnn_backward)(long B, long H, int relu, float *da, long lda, const float *h, long ldh, const float *dy,
                         long ldy, const float *dh, long lddh);
    void (*min_coefficients)(long R, long H, int lstm, const float *p, long ldp, float *a, float *b, long ldab,
                             float *cache);
    void (*min_coefficients_backward)(long R, long H, int lstm, const float *da, const float *db, long ldab,
                                      const float *cache, float *dp, long lddp);
    void (*lnlstm_forward)(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                           const float *gain_q, const float *bias, const float *gain_c, const float *bias_c, float eps,
                           const float *c_prev, long ldcp, float *h, long ldh, float *c, long ldc, float *y, long ldy,
                           float *cache, long ldk);
    void (*lnlstm_backward)(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                            float *dh, long lddh, float *dc, long lddc, const float *cache, long ldk,
                            const float *c_prev, long ldcp, const float *c, long ldc, const float *gain_p,
                            const float *gain_q, const float *bias, const float *gain_c, const float *bias_c,
                            float *sums, long ldsums);
    void (*lngru_forward)(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                          const float *gain_q, const float *bias_p, const float *bias_q, float eps,
                          const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache,
                          long ldk);
    void (*lngru_backward)(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                           float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp,
                           const float *gain_p, const float *gain_q, const float *bias_p, const float *bias_q,
                           float *sums, long ldsums);
    double (*softmax_xent)(long R, long V, const float *z, long ldz, const int32_t *targets, float scale,
                           float *dz, long lddz);
    void (*adam)(long n, float *w, const float *g, float *m, float *v, float lr, float beta1, float beta2,
                 float eps, float weight_decay, int decoupled, float step_size, float c2_root);
    double (*sum_squares)(long n, const float *x);
    void (*scale)(long n, float *x, float s);
    void (*add_bias)(long rows, long cols, const float *b, float *y, long ldy);
    void (*column_sums)(long rows, long cols, const float *x, long ldx, float *sums);
    /* rows r0..r1 of rk_gather_rows; columns c0..c1 of rk_scatter_add_rows */
    void (*gather_rows)(long r0, long r1, long cols, const float *table, const int32_t *ids, float *y);
    void (*scatter_add_rows)(long n, long c0, long c1, long cols, const float *x, const int32_t *ids,
                             float *table);
    void (*map)(int fn, long n, const float *x, float *y); /* fn: RK_MAP_* */
} rk_gates_arch;

extern const rk_gates_arch rk_gates_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const rk_gates_arch rk_gates_avx2;
extern const rk_gates_arch rk_gates_avx512;
#endif

#endif
