/*
 * The elementwise kernels' entry points: each forwards to the table of the
 * active ISA path (rk_active_isa, the same choice as the GEMM's). The bodies
 * are in gates_body.h, instantiated by gates_<isa>.c; the references in
 * gates_ref.c.
 */
#include "CRecurrentKernels.h"
#include "gates_internal.h"
#include "gemm_internal.h"

static const rk_gates_arch *gates(void) {
    switch (rk_active_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case RK_ISA_AVX512: return &rk_gates_avx512;
    case RK_ISA_AVX2: return &rk_gates_avx2;
#endif
    default: return &rk_gates_generic;
    }
}

/*
 * The step kernels split their rows over the GEMM's thread pool when there is enough
 * work. Rows are independent and each is computed the same way on any thread, so the
 * results are bit-identical for every thread count.
 */
#ifndef RK_GATES_MIN_PER_THREAD
#define RK_GATES_MIN_PER_THREAD 2048 /* elements (rows x H): a few microseconds of exp/tanh */
#endif

enum { LSTM_F, LSTM_B, GRU_F, GRU_B, RNN_F, RNN_B, LNLSTM_F, LNLSTM_B, LNGRU_F, LNGRU_B };

typedef struct {
    const rk_gates_arch *g;
    int kind, relu;
    long B, H;
    const float *a, *bias, *q, *prev, *dy, *dh_in, *cache, *h_in;
    float *da, *dq, *h, *c, *y, *k, *dh, *dc;
    long lda, ldq, ldprev, ldh, ldc, ldy, ldk, lddh, lddc;
    /* the layer-normalised cells: a, q (da, dq backward) are the products p, q; c_in is c_t */
    const float *gain_p, *gain_q, *bias_q, *gain_c, *bias_c, *c_in;
    float eps;
    float *sums;
    long ldsums;
} step_job;

static void step_rows(const step_job *j, long r0, long r1) {
    const long n = r1 - r0;
    if (n <= 0) return;
#define ROW(p, ld) ((p) ? (p) + r0 * (ld) : (p))
    switch (j->kind) {
    case LSTM_F:
        j->g->lstm_forward(n, j->H, ROW(j->a, j->lda), j->lda, j->bias, ROW(j->prev, j->ldprev), j->ldprev,
                           ROW(j->h, j->ldh), j->ldh, ROW(j->c, j->ldc), j->ldc, ROW(j->y, j->ldy), j->ldy,
                           ROW(j->k, j->ldk), j->ldk);
        break;
    case LSTM_B:
        j->g->lstm_backward(n, j->H, ROW(j->da, j->lda), j->lda, ROW(j->dy, j->ldy), j->ldy, ROW(j->dh_in, j->lddh),
                            j->lddh, ROW(j->dc, j->lddc), j->lddc, ROW(j->cache, j->ldk), j->ldk,
                            ROW(j->prev, j->ldprev), j->ldprev);
        break;
    case GRU_F:
        j->g->gru_forward(n, j->H, ROW(j->a, j->lda), j->lda, ROW(j->q, j->ldq), j->ldq, j->bias,
                          ROW(j->prev, j->ldprev), j->ldprev, ROW(j->h, j->ldh), j->ldh, ROW(j->y, j->ldy), j->ldy,
                          ROW(j->k, j->ldk), j->ldk);
        break;
    case GRU_B:
        j->g->gru_backward(n, j->H, ROW(j->da, j->lda), j->lda, ROW(j->dq, j->ldq), j->ldq, ROW(j->dy, j->ldy),
                           j->ldy, ROW(j->dh, j->lddh), j->lddh, ROW(j->cache, j->ldk), j->ldk,
                           ROW(j->prev, j->ldprev), j->ldprev);
        break;
    case LNLSTM_F:
        j->g->lnlstm_forward(n, j->H, ROW(j->a, j->lda), j->lda, ROW(j->q, j->ldq), j->ldq, j->gain_p, j->gain_q,
                             j->bias, j->gain_c, j->bias_c, j->eps, ROW(j->prev, j->ldprev), j->ldprev,
                             ROW(j->h, j->ldh), j->ldh, ROW(j->c, j->ldc), j->ldc, ROW(j->y, j->ldy), j->ldy,
                             ROW(j->k, j->ldk), j->ldk);
        break;
    case LNLSTM_B:
        j->g->lnlstm_backward(n, j->H, ROW(j->da, j->lda), j->lda, ROW(j->dq, j->ldq), j->ldq, ROW(j->dy, j->ldy),
                              j->ldy, ROW(j->dh, j->lddh), j->lddh, ROW(j->dc, j->lddc), j->lddc,
                              ROW(j->cache, j->ldk), j->ldk, ROW(j->prev, j->ldprev), j->ldprev, ROW(j->c_in, j->ldc),
                              j->ldc, j->gain_p, j->gain_q, j->bias, j->gain_c, j->bias_c, ROW(j->sums, j->ldsums),
                              j->ldsums);
        break;
    case LNGRU_F:
        j->g->lngru_forward(n, j->H, ROW(j->a, j->lda), j->lda, ROW(j->q, j->ldq), j->ldq, j->gain_p, j->gain_q,
                            j->bias, j->bias_q, j->eps, ROW(j->prev, j->ldprev), j->ldprev, ROW(j->h, j->ldh), j->ldh,
                            ROW(j->y, j->ldy), j->ldy, ROW(j->k, j->ldk), j->ldk);
        break;
    case LNGRU_B:
        j->g->lngru_backward(n, j->H, ROW(j->da, j->lda), j->lda, ROW(j->dq, j->ldq), j->ldq, ROW(j->dy, j->ldy),
                             j->ldy, ROW(j->dh, j->lddh), j->lddh, ROW(j->cache, j->ldk), j->ldk,
                             ROW(j->prev, j->ldprev), j->ldprev, j->gain_p, j->gain_q, j->bias, j->bias_q,
                             ROW(j->sums, j->ldsums), j->ldsums);
        break;
    case RNN_F:
        j->g->rnn_forward(n, j->H, j->relu, ROW(j->a, j->lda), j->lda, j->bias, ROW(j->h, j->ldh), j->ldh,
                          ROW(j->y, j->ldy), j->ldy);
        break;
    default:
        j->g->rnn_backward(n, j->H, j->relu, ROW(j->da, j->lda), j->lda, ROW(j->h_in, j->ldh), j->ldh,
                           ROW(j->dy, j->ldy), j->ldy, ROW(j->dh_in, j->lddh), j->lddh);
        break;
    }
#undef ROW
}

static void step_task(void *ctx, int t, int nt) {
    const step_job *j = (const step_job *)ctx;
    step_rows(j, j->B * t / nt, j->B * (t + 1) / nt);
}

static void run_step(step_job *j) {
    j->g = gates();
    long want = (j->B * j->H) / RK_GATES_MIN_PER_THREAD;
    if (want > j->B) want = j->B;
    if (want > rk_pool_threads()) want = rk_pool_threads();
    rk_parallel_parts(want > 1 ? (int)want : 1, step_task, j);
}

void rk_lstm_forward(long B, long H, const float *a, long lda, const float *bias, const float *c_prev, long ldcp,
                     float *h, long ldh, float *c, long ldc, float *y, long ldy, float *cache, long ldk) {
    step_job j = {.kind = LSTM_F, .B = B, .H = H, .a = a, .lda = lda, .bias = bias, .prev = c_prev, .ldprev = ldcp,
                  .h = h, .ldh = ldh, .c = c, .ldc = ldc, .y = y, .ldy = ldy, .k = cache, .ldk = ldk};
    run_step(&j);
}

void rk_lstm_backward(long B, long H, float *da, long lda, const float *dy, long ldy, const float *dh, long lddh,
                      float *dc, long lddc, const float *cache, long ldk, const float *c_prev, long ldcp) {
    step_job j = {.kind = LSTM_B, .B = B, .H = H, .da = da, .lda = lda, .dy = dy, .ldy = ldy, .dh_in = dh,
                  .lddh = lddh, .dc = dc, .lddc = lddc, .cache = cache, .ldk = ldk, .prev = c_prev, .ldprev = ldcp};
    run_step(&j);
}

void rk_gru_forward(long B, long H, const float *a, long lda, const float *q, long ldq, const float *bias,
                    const float *h_prev, long ldhp, float *h, long ldh, float *y, long ldy, float *cache, long ldk) {
    step_job j = {.kind = GRU_F, .B = B, .H = H, .a = a, .lda = lda, .q = q, .ldq = ldq, .bias = bias,
                  .prev = h_prev, .ldprev = ldhp, .h = h, .ldh = ldh, .y = y, .ldy = ldy, .k = cache, .ldk = ldk};
    run_step(&j);
}

void rk_gru_backward(long B, long H, float *da, long lda, float *dq, long ldq, const float *dy, long ldy,
                     float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp) {
    step_job j = {.kind = GRU_B, .B = B, .H = H, .da = da, .lda = lda, .dq = dq, .ldq = ldq, .dy = dy, .ldy = ldy,
                  .dh = dh, .lddh = lddh, .cache = cache, .ldk = ldk, .prev = h_prev, .ldprev = ldhp};
    run_step(&j);
}

void rk_rnn_forward(long B, long H, int relu, const float *a, long lda, const float *bias, float *h, long ldh,
                    float *y, long ldy) {
    step_job j = {.kind = RNN_F, .relu = relu, .B = B, .H = H, .a = a, .lda = lda, .bias = bias, .h = h, .ldh = ldh,
                  .y = y, .ldy = ldy};
    run_step(&j);
}

void rk_rnn_backward(long B, long H, int relu, float *da, long lda, const float *h, long ldh, const float *dy,
                     long ldy, const float *dh, long lddh) {
    step_job j = {.kind = RNN_B, .relu = relu, .B = B, .H = H, .da = da, .lda = lda, .h_in = h, .ldh = ldh,
                  .dy = dy, .ldy = ldy, .dh_in = dh, .lddh = lddh};
    run_step(&j);
}

void rk_lnlstm_forward(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                       const float *gain_q, const float *bias, const float *gain_c, const float *bias_c, float eps,
                       const float *c_prev, long ldcp, float *h, long ldh, float *c, long ldc, float *y, long ldy,
                       float *cache, long ldk) {
    step_job j = {.kind = LNLSTM_F, .B = B, .H = H, .a = p, .lda = ldp, .q = q, .ldq = ldq, .gain_p = gain_p,
                  .gain_q = gain_q, .bias = bias, .gain_c = gain_c, .bias_c = bias_c, .eps = eps, .prev = c_prev,
                  .ldprev = ldcp, .h = h, .ldh = ldh, .c = c, .ldc = ldc, .y = y, .ldy = ldy, .k = cache, .ldk = ldk};
    run_step(&j);
}

void rk_lnlstm_backward(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                        float *dh, long lddh, float *dc, long lddc, const float *cache, long ldk, const float *c_prev,
                        long ldcp, const float *c, long ldc, const float *gain_p, const float *gain_q,
                        const float *bias, const float *gain_c, const float *bias_c, float *sums, long ldsums) {
    step_job j = {.kind = LNLSTM_B, .B = B, .H = H, .da = dp, .lda = lddp, .dq = dq, .ldq = lddq, .dy = dy,
                  .ldy = ldy, .dh = dh, .lddh = lddh, .dc = dc, .lddc = lddc, .cache = cache, .ldk = ldk,
                  .prev = c_prev, .ldprev = ldcp, .c_in = c, .ldc = ldc, .gain_p = gain_p, .gain_q = gain_q,
                  .bias = bias, .gain_c = gain_c, .bias_c = bias_c, .sums = sums, .ldsums = ldsums};
    run_step(&j);
}

void rk_lngru_forward(long B, long H, const float *p, long ldp, const float *q, long ldq, const float *gain_p,
                      const float *gain_q, const float *bias_p, const float *bias_q, float eps, const float *h_prev,
                      long ldhp, float *h, long ldh, float *y, long ldy, float *cache, long ldk) {
    step_job j = {.kind = LNGRU_F, .B = B, .H = H, .a = p, .lda = ldp, .q = q, .ldq = ldq, .gain_p = gain_p,
                  .gain_q = gain_q, .bias = bias_p, .bias_q = bias_q, .eps = eps, .prev = h_prev, .ldprev = ldhp,
                  .h = h, .ldh = ldh, .y = y, .ldy = ldy, .k = cache, .ldk = ldk};
    run_step(&j);
}

void rk_lngru_backward(long B, long H, float *dp, long lddp, float *dq, long lddq, const float *dy, long ldy,
                       float *dh, long lddh, const float *cache, long ldk, const float *h_prev, long ldhp,
                       const float *gain_p, const float *gain_q, const float *bias_p, const float *bias_q,
                       float *sums, long ldsums) {
    step_job j = {.kind = LNGRU_B, .B = B, .H = H, .da = dp, .lda = lddp, .dq = dq, .ldq = lddq, .dy = dy,
                  .ldy = ldy, .dh = dh, .lddh = lddh, .cache = cache, .ldk = ldk, .prev = h_prev, .ldprev = ldhp,
                  .gain_p = gain_p, .gain_q = gain_q, .bias = bias_p, .bias_q = bias_q, .sums = sums,
                  .ldsums = ldsums};
    run_step(&j);
}

double rk_softmax_xent(long R, long V, const float *z, long ldz, const int32_t *targets, float scale, float *dz,
                       long lddz) {
    return gates()->softmax_xent(R, V, z, ldz, targets, scale, dz, lddz);
}

/*
 * The optimiser and bias loops are memory-bound passes over megabytes (all parameters; B*T rows of
 * gate gradients), which the caller would otherwise run while the pool's workers wait. They split
 * over the pool by elements, rows or columns: every element's operations are the same whichever
 * thread runs it, so the bits do not depend on the split.
 */
#ifndef RK_FLAT_MIN_PER_THREAD
#define RK_FLAT_MIN_PER_THREAD 65536 /* floats touched: tens of microseconds */
#endif

enum { FLAT_ADAM, FLAT_ADD_BIAS, FLAT_COLUMN_SUMS, FLAT_GATHER, FLAT_SCATTER_ADD };

typedef struct {
    const rk_gates_arch *g;
    int kind;
    long units, align; /* the range split: units in multiples of align (the last part takes the rest) */
    long rows, cols, ld;
    float *w, *m, *v, *y;
    const float *gr, *b, *x;
    const int32_t *ids;
    float lr, beta1, beta2, eps, weight_decay, step_size, c2_root;
    int decoupled;
} flat_job;

static void flat_range(const flat_job *j, long u0, long u1) {
    if (u1 <= u0) return;
    switch (j->kind) {
    case FLAT_ADAM:
        j->g->adam(u1 - u0, j->w + u0, j->gr + u0, j->m + u0, j->v + u0, j->lr, j->beta1, j->beta2, j->eps,
                   j->weight_decay, j->decoupled, j->step_size, j->c2_root);
        break;
    case FLAT_ADD_BIAS: /* rows u0..u1 */
        j->g->add_bias(u1 - u0, j->cols, j->b, j->y + u0 * j->ld, j->ld);
        break;
    case FLAT_COLUMN_SUMS: /* columns u0..u1 */
        j->g->column_sums(j->rows, u1 - u0, j->x + u0, j->ld, j->y + u0);
        break;
    case FLAT_GATHER: /* rows u0..u1 */
        j->g->gather_rows(u0, u1, j->cols, j->b, j->ids, j->y);
        break;
    default: /* columns u0..u1 */
        j->g->scatter_add_rows(j->rows, u0, u1, j->cols, j->x, j->ids, j->y);
        break;
    }
}

static void flat_task(void *ctx, int t, int nt) {
    const flat_job *j = (const flat_job *)ctx;
    const long blocks = (j->units + j->align - 1) / j->align;
    long u0 = blocks * t / nt * j->align, u1 = blocks * (t + 1) / nt * j->align;
    if (u1 > j->units) u1 = j->units;
    flat_range(j, u0, u1);
}

/* work: about the floats touched; units: what is split (parts of align units each). */
static void run_flat(flat_job *j, long work) {
    j->g = gates();
    long want = work / RK_FLAT_MIN_PER_THREAD;
    const long blocks = (j->units + j->align - 1) / j->align;
    if (want > blocks) want = blocks;
    if (want > rk_pool_threads()) want = rk_pool_threads();
    rk_parallel_parts(want > 1 ? (int)want : 1, flat_task, j);
}

void rk_adam(long n, float *w, const float *g, float *m, float *v, float lr, float beta1, float beta2, float eps,
             float weight_decay, int decoupled, float step_size, float c2_root) {
    flat_job j = {.kind = FLAT_ADAM, .units = n, .align = 64, .w = w, .gr = g, .m = m, .v = v, .lr = lr,
                  .beta1 = beta1, .beta2 = beta2, .eps = eps, .weight_decay = weight_decay,
                  .decoupled = decoupled, .step_size = step_size, .c2_root = c2_root};
    run_flat(&j, 8 * n); /* seven arrays, a division and a square root per element */
}

double rk_sum_squares(long n, const float *x) { return gates()->sum_squares(n, x); }
void rk_scale(long n, float *x, float s) { gates()->scale(n, x, s); }
void rk_add_bias(long rows, long cols, const float *b, float *y, long ldy) {
    flat_job j = {.kind = FLAT_ADD_BIAS, .units = rows, .align = 1, .rows = rows, .cols = cols, .b = b, .y = y,
                  .ld = ldy};
    run_flat(&j, rows * cols);
}
void rk_column_sums(long rows, long cols, const float *x, long ldx, float *sums) {
    flat_job j = {.kind = FLAT_COLUMN_SUMS, .units = cols, .align = 64, .rows = rows, .cols = cols, .x = x,
                  .y = sums, .ld = ldx};
    run_flat(&j, rows * cols);
}
void rk_gather_rows(long n, long cols, const float *table, const int32_t *ids, float *y) {
    flat_job j = {.kind = FLAT_GATHER, .units = n, .align = 1, .rows = n, .cols = cols, .b = table, .ids = ids,
                  .y = y};
    run_flat(&j, n * cols);
}
void rk_scatter_add_rows(long n, long cols, const float *x, const int32_t *ids, float *table) {
    flat_job j = {.kind = FLAT_SCATTER_ADD, .units = cols, .align = 64, .rows = n, .cols = cols, .x = x,
                  .ids = ids, .y = table};
    run_flat(&j, n * cols);
}
void rk_map(int fn, long n, const float *x, float *y) { gates()->map(fn, n, x, y); }

void rk_min_coefficients(long R, long H, int lstm, const float *p, long ldp, float *a, float *b, long ldab,
                         float *cache) {
    gates()->min_coefficients(R, H, lstm, p, ldp, a, b, ldab, cache);
}

void rk_min_coefficients_backward(long R, long H, int lstm, const float *da, const float *db, long ldab,
                                  const float *cache, float *dp, long lddp) {
    gates()->min_coefficients_backward(R, H, lstm, da, db, ldab, cache, dp, lddp);
}
