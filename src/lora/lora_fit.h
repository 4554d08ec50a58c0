/* lora_fit.h - one LoRA fit from start to metrics, and the full-rank
 * baseline on the same task.
 *
 * dl_lora_fit_adapter starts an adapter from its lora-init stream, trains
 * it on the task's training rows with the lora-batch stream, and measures
 * it. dl_lora_fit_full does the same for dW learned directly. Both fill a
 * dl_lora_metrics:
 *
 *   final train loss   cross-entropy against the teacher after the last step
 *   eval KL            KL(teacher || adapted) on the eval rows
 *   forgetting         KL(base || adapted) on the old-task rows
 *   parameters         r (D + N), or D N for the baseline, and its ratio to D N
 *   relative error     ||U - dW*||_F / ||dW*||_F of the learned update
 *                      U = W_eff - W, which is s B A for the kaiming and
 *                      gaussian starts because their frozen base is W
 *   Eckart-Young       the optimum of that error at the adapter's rank
 *   spectrum           the min(D, N) singular values of U, its effective
 *                      rank, and its amplification factor at the rank
 *   probe              base, teacher and adapted softmax of the probe row
 * The KLs are means over rows, in nats. The baseline's rank is min(D, N)
 * for the Eckart-Young optimum (0) and the amplification factor.
 *
 * NOTE: with init = svd the update U = (W - s B0 A0) - W + s B A can reach
 * rank 2r, so its error may fall below the rank-r Eckart-Young optimum.
 */
#ifndef DRIFTLAB_LORA_FIT_H
#define DRIFTLAB_LORA_FIT_H

#include <stddef.h>

#include "error.h"
#include "lora_adapter.h"
#include "lora_params.h"
#include "lora_task.h"
#include "lora_train.h"

typedef struct {
    dl_lora_curve curve;       /* training loss, nats, at decimated steps */
    double final_train_loss;   /* nats, the curve's last point */
    double eval_kl;            /* nats */
    double forgetting;         /* nats */
    long long parameter_count; /* r (D + N), or D N */
    double parameter_ratio;    /* parameter_count / (D N) */
    double relative_error;     /* ||U - dW*||_F / ||dW*||_F */
    double eckart_young_error; /* best rank-r value of the same ratio */
    size_t singular_value_count; /* min(D, N) */
    double *singular_values;   /* [min(D, N)] of U, descending */
    double effective_rank;     /* exp of the entropy of normalised singular values */
    double amplification;      /* ||U||_F / ||U_r^T W V_r||_F */
    double *probe_base;        /* [N] softmax(x W) of the probe row */
    double *probe_teacher;     /* [N] softmax(x W*) */
    double *probe_adapted;     /* [N] softmax(x W_eff) */
} dl_lora_metrics;

typedef struct {
    dl_lora_adapter adapter; /* the trained B and A */
    double *frozen;          /* [D][N] the frozen base it was trained on */
    double *update;          /* [D][N] W_eff - W */
    dl_lora_metrics metrics;
} dl_lora_fit_result;

typedef struct {
    double *delta;           /* [D][N] the learned dW */
    dl_lora_metrics metrics;
} dl_lora_full_result;

/* Fits one adapter to task with adapter and training parameters. The
 * result owns every array (free with dl_lora_fit_result_free). The same
 * inputs give bit-identical results on any thread. Returns 0, or -1 with
 * err set and result zeroed when a parameter is invalid, memory runs out,
 * LAPACK fails or training diverges. */
int dl_lora_fit_adapter(dl_lora_fit_result *result, const dl_lora_task *task,
                        const dl_lora_adapter_params *adapter_params,
                        const dl_lora_train_params *train_params, dl_error *err);

/* Fits the full-rank baseline (dW from zero). Returns as
 * dl_lora_fit_adapter; free with dl_lora_full_result_free. */
int dl_lora_fit_full(dl_lora_full_result *result, const dl_lora_task *task,
                     const dl_lora_train_params *train_params, dl_error *err);

/* Free every array of a result and zero it. Safe on a zeroed result. */
void dl_lora_fit_result_free(dl_lora_fit_result *result);
void dl_lora_full_result_free(dl_lora_full_result *result);

#endif
