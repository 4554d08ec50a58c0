/* lora_task.h - the frozen base, the teacher and the data sets of a LoRA
 * task.
 *
 * Row-vector convention: an input x is 1 x D and its logits are x W
 * (1 x N). A task of (master_seed, seed, params) contains
 *
 *   W   = base, D x N, entries N(0, 1/D);
 *   dW* = U diag(sigma) V^T + (task_noise / sqrt(D)) G, with U (D x k) and
 *         V (N x k) orthonormal, sigma_i = task_scale * task_decay^i and
 *         G a D x N standard normal matrix (drawn only when task_noise > 0);
 *   W*  = W + dW*, the teacher;
 *   train and eval rows x ~ N(0, I_D); old-task rows x (I - U U^T), which
 *   lie in the orthogonal complement of span(U), the inputs the task
 *   changes; one probe row x ~ N(0, I_D).
 *
 * Each data set stores its base logits x W, teacher logits x W* and
 * teacher softmax once, so training and evaluation never recompute them.
 * Every draw comes from the lora-task stream (lora_stream.h) in the order
 * listed in docs/lora.md.
 */
#ifndef DRIFTLAB_LORA_TASK_H
#define DRIFTLAB_LORA_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "lora_params.h"

/* Rows of inputs with their base and teacher outputs. */
typedef struct {
    size_t rows;
    double *x;              /* [rows][D] inputs */
    double *base_logits;    /* [rows][N] x W */
    double *teacher_logits; /* [rows][N] x W* */
    double *teacher_probs;  /* [rows][N] softmax(x W*) */
} dl_lora_dataset;

typedef struct {
    dl_lora_task_params params;
    uint64_t master_seed;
    int64_t seed;
    double *base;       /* W [D][N] */
    double *delta;      /* dW* [D][N], noise included */
    double *teacher;    /* W* [D][N] = W + dW* */
    double *task_u;     /* U [D][k], orthonormal columns */
    double *task_v;     /* V [N][k], orthonormal columns */
    double *task_sigma; /* sigma [k], descending */
    dl_lora_dataset train;
    dl_lora_dataset eval;
    dl_lora_dataset old;   /* old-task rows, orthogonal to span(U) */
    dl_lora_dataset probe; /* one row */
} dl_lora_task;

/* Draws the task of (master_seed, seed, params) into task, which owns
 * every array; free it with dl_lora_task_free. Returns 0, or -1 with err
 * set and task emptied (safe to free) when params are invalid, memory runs
 * out or LAPACK fails. */
int dl_lora_task_make(dl_lora_task *task, const dl_lora_task_params *params,
                      uint64_t master_seed, int64_t seed, dl_error *err);

/* Frees every array of task and zeroes it. Safe on a zeroed task. */
void dl_lora_task_free(dl_lora_task *task);

/* Fills the logits of a data set x [rows][D] under weights w [D][N]:
 * logits [rows][N] = x w. Returns 0, or -1 with err set. */
int dl_lora_logits(double *logits, const double *x, const double *w,
                   size_t rows, size_t input_dim, size_t output_dim,
                   dl_error *err);

#endif
