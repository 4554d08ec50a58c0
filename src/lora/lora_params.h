/* lora_params.h - the parameters of a LoRA run, their defaults and checks.
 *
 * Three groups, one per stage of a run:
 *   task     the frozen base W (D x N), the teacher W* = W + dW* of true
 *            rank task_rank, and the data sets drawn from it;
 *   adapter  the rank r, alpha, the scaling rule that turns them into the
 *            scale s, and the initialisation of B (D x r) and A (r x N);
 *   train    the optimiser, its learning rate, the mini-batch size, the
 *            number of steps and the length of the recorded loss curve.
 * docs/lora.md defines every quantity. The checks return one sentence
 * naming the parameter, its value and what is allowed.
 */
#ifndef DRIFTLAB_LORA_PARAMS_H
#define DRIFTLAB_LORA_PARAMS_H

#include "error.h"

typedef enum {
    DL_LORA_SCALING_STANDARD = 0, /* s = alpha / r */
    DL_LORA_SCALING_RSLORA = 1,   /* s = alpha / sqrt(r) */
    DL_LORA_SCALING_NONE = 2      /* s = alpha */
} dl_lora_scaling;

typedef enum {
    DL_LORA_INIT_KAIMING = 0,  /* A Kaiming-uniform, B = 0 */
    DL_LORA_INIT_GAUSSIAN = 1, /* A normal with standard deviation 1/r, B = 0 */
    DL_LORA_INIT_SVD = 2       /* top-r SVD of W, W replaced by its residual */
} dl_lora_init;

typedef enum {
    DL_LORA_OPTIMIZER_ADAM = 0,
    DL_LORA_OPTIMIZER_SGD = 1
} dl_lora_optimizer;

/* The base, the teacher and the data sets. */
typedef struct {
    int input_dim;     /* D: rows of W, length of an input row */
    int output_dim;    /* N: columns of W, number of logits */
    int task_rank;     /* k: rank of the teacher's low-rank update */
    double task_scale; /* sigma_0, the largest singular value of the update */
    double task_decay; /* sigma_i = task_scale * task_decay^i */
    double task_noise; /* full-rank noise: task_noise * G / sqrt(D) */
    int n_train;       /* training rows */
    int n_eval;        /* held-out rows for the eval KL */
    int n_old;         /* old-task rows, orthogonal to the task's inputs */
} dl_lora_task_params;

/* One adapter: rank, scale and initialisation. */
typedef struct {
    int rank;        /* r, 1 <= r <= min(D, N) */
    double alpha;    /* >= 0; 0 reproduces the base model exactly */
    dl_lora_scaling scaling;
    dl_lora_init init;
} dl_lora_adapter_params;

/* The optimisation of an adapter or of the full-rank baseline. */
typedef struct {
    dl_lora_optimizer optimizer;
    double learning_rate; /* > 0, per step */
    int batch_size;       /* rows per step; 0 or n_train means full batch */
    int steps;            /* optimiser steps, >= 1 */
    int curve_length;     /* maximum number of recorded loss points, >= 2 */
} dl_lora_train_params;

/* Largest alpha: far above any scale in use, and low enough that Adam's
 * squared gradients (which scale as alpha^2) cannot overflow to infinity
 * and silently stop training. */
#define DL_LORA_ALPHA_MAX 1e6

/* Adam's fixed constants (Kingma and Ba 2015, the values they recommend). */
#define DL_LORA_ADAM_BETA1 0.9
#define DL_LORA_ADAM_BETA2 0.999
#define DL_LORA_ADAM_EPSILON 1e-8

/* Return the defaults documented in docs/lora.md: a 64 x 32 base with a
 * rank-4 task, rank 4 with alpha 8 (scale 2), Adam at 0.01 for 400
 * full-batch steps. */
dl_lora_task_params dl_lora_task_params_default(void);
dl_lora_adapter_params dl_lora_adapter_params_default(void);
dl_lora_train_params dl_lora_train_params_default(void);

/* Return the lower-case names used in configs and stream messages:
 * "standard", "rslora", "none"; "kaiming", "gaussian", "svd"; "adam",
 * "sgd". An out-of-range value gives "unknown". */
const char *dl_lora_scaling_name(dl_lora_scaling scaling);
const char *dl_lora_init_name(dl_lora_init init);
const char *dl_lora_optimizer_name(dl_lora_optimizer optimizer);

/* Each check returns 0 when every field is valid, or -1 with err naming
 * the first invalid field, its value and the allowed range. */
int dl_lora_task_params_check(const dl_lora_task_params *params, dl_error *err);

/* Checks the rank against min(D, N) of the task as well. */
int dl_lora_adapter_params_check(const dl_lora_adapter_params *params,
                                 int input_dim, int output_dim, dl_error *err);

/* Checks the batch size against n_train as well. */
int dl_lora_train_params_check(const dl_lora_train_params *params, int n_train,
                               dl_error *err);

/* Checks only the rank rule 1 <= rank <= min(D, N), with a message that
 * explains why a rank is out of range. */
int dl_lora_rank_check(int rank, int input_dim, int output_dim, dl_error *err);

#endif
