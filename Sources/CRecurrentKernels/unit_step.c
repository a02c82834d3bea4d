/*
 * rk_unit_step: one streaming step of a recurrent layer split by hidden units over the pool
 * (see CRecurrentKernels.h). Every part runs the products of its own rows of W_ih and W_hh and
 * the cell's step for its own units, with the kernels a whole-layer step uses (rk_sgemm_packed,
 * rk_add_bias, rk_lstm_forward, rk_gru_forward, rk_rnn_forward) on the same per-element
 * arithmetic, so each unit gets the bits of the whole-layer step. Written in C so the workers
 * run it without touching a reference count.
 */
#include <string.h>
#include "CRecurrentKernels.h"

typedef struct {
    int cell;
    const rk_unit_part *parts;
    long B, H, D, K, S;
    const float *x, *given, *state;
    float *next, *y;
    long ldy;
} unit_job;

static void unit_part(void *ctx, int t, int nt) {
    (void)nt;
    const unit_job *j = (const unit_job *)ctx;
    const rk_unit_part *p = &j->parts[t];
    const long G = j->cell == RK_UNIT_LSTM ? 4 : j->cell == RK_UNIT_GRU ? 3 : 1;
    const long U = p->units, u0 = p->first, n = G * U, B = j->B, H = j->H, S = j->S;
    float *a = p->gates;
    if (j->given) {
        for (long r = 0; r < B; r++)
            for (long g = 0; g < G; g++)
                memcpy(a + r * n + g * U, j->given + r * G * H + g * H + u0, (size_t)U * sizeof(float));
    } else {
        rk_sgemm_packed(0, (int)B, (int)n, (int)j->D, 1.0f, j->x, (int)j->D, p->input, 0.0f, a, (int)n);
        if (p->input_bias) rk_add_bias(B, n, p->input_bias, a, n);
    }
    const int apart = j->cell == RK_UNIT_GRU;
    float *q = apart ? p->q : a;
    rk_sgemm_packed(0, (int)B, (int)n, (int)j->K, 1.0f, j->state, (int)S, p->recurrent, apart ? 0.0f : 1.0f, q, (int)n);
    switch (j->cell) {
    case RK_UNIT_LSTM: /* state rows [h | c] */
        rk_lstm_forward(B, U, a, n, p->recurrent_bias, j->state + H + u0, S, j->next + u0, S, j->next + H + u0, S,
                        j->y + u0, j->ldy, p->cache, 5 * U);
        break;
    case RK_UNIT_GRU:
        rk_gru_forward(B, U, a, n, q, n, p->recurrent_bias, j->state + u0, S, j->next + u0, S, j->y + u0, j->ldy,
                       p->cache, 4 * U);
        break;
    default:
        rk_rnn_forward(B, U, j->cell == RK_UNIT_RNN_RELU, a, n, p->recurrent_bias, j->next + u0, S, j->y + u0, j->ldy);
        break;
    }
}

void rk_unit_step(int cell, int nparts, const rk_unit_part *parts, long B, long H, long D, long K, long S,
                  const float *x, const float *given, const float *state, float *next, float *y, long ldy) {
    unit_job job = {cell, parts, B, H, D, K, S, x, given, state, next, y, ldy};
    rk_parallel_parts(nparts, unit_part, &job);
}
