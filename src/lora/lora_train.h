/* lora_train.h - loss, analytic gradients and optimisers for a LoRA
 * adapter and for the full-rank baseline.
 *
 * For n rows with logits Z (n x N) and teacher probabilities P (n x N):
 *
 *   loss L = -(1/n) sum_rows sum_j P_j log softmax(Z)_j   (nats)
 *   G      = (softmax(Z) - P) / n                        = dL/dZ
 *
 * Adapter, Z = Z0 + s (X B) A with Z0 the frozen logits:
 *   dL/dA = s (X B)^T G            (r x N)
 *   dL/dB = s X^T (G A^T)          (D x r)
 * Full-rank baseline, Z = Z0 + X dW:
 *   dL/d(dW) = X^T G               (D x N)
 *
 * Optimisers: Adam (beta1 0.9, beta2 0.999, epsilon 1e-8, with Kingma and
 * Ba's bias correction) or plain SGD, on the full training set or on
 * mini-batches taken in a fresh random order every epoch. The loss curve
 * contains the loss over the whole training set at evenly spaced steps from
 * 0 (before the first update) to steps (after the last), both included.
 *
 * A workspace contains every scratch array of a run and is allocated once, so
 * the steps themselves allocate nothing.
 */
#ifndef DRIFTLAB_LORA_TRAIN_H
#define DRIFTLAB_LORA_TRAIN_H

#include <stddef.h>

#include "error.h"
#include "lora_adapter.h"
#include "lora_params.h"
#include "lora_task.h"
#include "stream.h"

/* A loss curve decimated to at most curve_length points. */
typedef struct {
    int length;   /* points: min(curve_length, steps + 1) */
    int *steps;   /* [length] step t of each point: t_j = floor(j steps / (length - 1)) */
    double *loss; /* [length] training loss in nats after t updates */
} dl_lora_curve;

/* Allocates a curve for a run of steps (>= 1) steps and fills its step
 * indices; the losses start as NaN. The curve owns its arrays (free with
 * dl_lora_curve_free). Returns 0, or -1 with err set and curve zeroed. */
int dl_lora_curve_alloc(dl_lora_curve *curve, int steps, int curve_length,
                        dl_error *err);

/* Frees the arrays of a curve and zeroes it. Safe on a zeroed curve. */
void dl_lora_curve_free(dl_lora_curve *curve);

/* Scratch space of one training run: rank 0 means the full-rank baseline.
 * Sized for batches of batch_rows rows and for whole-set losses over
 * n_train rows. */
typedef struct {
    size_t input_dim, output_dim, rank;
    size_t batch_rows, n_train;
    size_t parameter_count; /* r (D + N), or D N for the baseline */
    double *batch_x;        /* [batch_rows][D] gathered inputs */
    double *batch_frozen;   /* [batch_rows][N] gathered frozen logits */
    double *batch_teacher;  /* [batch_rows][N] gathered teacher probabilities */
    double *xb;             /* [max(batch_rows, n_train)][r] x B */
    double *logits;         /* [max(batch_rows, n_train)][N] logits, then G */
    double *ga;             /* [batch_rows][r] G A^T */
    double *gradient;       /* [parameter_count]: dL/dB then dL/dA, or dL/d(dW) */
    double *moment1;        /* [parameter_count] Adam's first moment */
    double *moment2;        /* [parameter_count] Adam's second moment */
    size_t *order;          /* [n_train] the current epoch's row order */
} dl_lora_workspace;

/* Allocates a workspace (every array zeroed); the caller frees it with
 * dl_lora_workspace_free. Returns 0, or -1 with err set and ws zeroed. */
int dl_lora_workspace_alloc(dl_lora_workspace *ws, size_t input_dim,
                            size_t output_dim, size_t rank, size_t batch_rows,
                            size_t n_train, dl_error *err);

/* Frees every array of ws and zeroes it. Safe on a zeroed workspace. */
void dl_lora_workspace_free(dl_lora_workspace *ws);

/* Returns the mean cross-entropy in nats of softmax(logits) against
 * teacher_probs, both [rows][cols], and writes softmax(logits) into probs
 * [rows][cols] (probs may be logits itself). Each row is computed as
 * sum_j P_j (lse - z_j) with lse = max + log sum exp(z - max), so finite
 * logits never overflow. Returns NaN or infinity when a logit is not
 * finite. */
double dl_lora_cross_entropy(double *probs, const double *logits,
                             const double *teacher_probs, size_t rows,
                             size_t cols);

/* Computes the loss of an adapter on rows inputs and, when grad_b and
 * grad_a are not NULL, its gradients:
 *   grad_b [D][r], grad_a [r][N]
 *   x [rows][D], frozen_logits [rows][N], teacher_probs [rows][N]
 * ws must have rank = adapter rank and room for rows rows. With s = 0 the
 * gradients are exactly zero. Returns 0, or -1 with err set when a size
 * does not fit ws or BLAS fails; a non-finite loss is returned, not an
 * error. */
int dl_lora_adapter_gradients(double *loss, double *grad_b, double *grad_a,
                              const double *x, const double *frozen_logits,
                              const double *teacher_probs, size_t rows,
                              const dl_lora_adapter *adapter,
                              dl_lora_workspace *ws, dl_error *err);

/* Computes the loss of the full-rank baseline with update delta [D][N]
 * and, when grad_delta is not NULL, its gradient grad_delta [D][N].
 * ws must have rank 0 and room for rows rows. Returns as
 * dl_lora_adapter_gradients. */
int dl_lora_full_gradient(double *loss, double *grad_delta, const double *x,
                          const double *frozen_logits, const double *teacher_probs,
                          size_t rows, const double *delta,
                          dl_lora_workspace *ws, dl_error *err);

/* One Adam step on count parameters, step t >= 1 (the number of this
 * update):
 *   m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2
 *   theta -= learning_rate (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
 */
void dl_lora_adam_update(double *theta, double *moment1, double *moment2,
                         const double *gradient, size_t count,
                         double learning_rate, long long step);

/* One SGD step: theta -= learning_rate * gradient. */
void dl_lora_sgd_update(double *theta, const double *gradient, size_t count,
                        double learning_rate);

/* Sets the function that training calls before every step to check for
 * a stop request (NULL: never stop). Once it returns nonzero, training
 * fails with an "interrupted" error, so an interrupt does not wait for a
 * long fit to finish. The function must be safe to call from any thread.
 * The setting is process-wide, as an interrupt is. */
void dl_lora_train_set_stop_check(int (*stop_requested)(void));

/* Trains B and A of adapter in place on the training set, W frozen:
 *   frozen_logits [n_train][N] = train x times the frozen base
 *   curve: allocated here (free with dl_lora_curve_free); its last point
 *          is the final training loss
 *   batch_stream: the lora-batch stream, used only with mini-batches
 *          (NULL is allowed for full batch)
 * Allocates one workspace for the run. Returns 0, or -1 with err set when
 * the parameters are invalid, memory runs out, the loss diverges (the
 * error names the step and the learning rate) or the stop check returns
 * nonzero. */
int dl_lora_train_adapter(dl_lora_adapter *adapter, dl_lora_curve *curve,
                          const dl_lora_dataset *train,
                          const double *frozen_logits,
                          const dl_lora_train_params *params,
                          dl_stream *batch_stream, dl_error *err);

/* Trains the full-rank baseline: delta [D][N] (D*N parameters) learned
 * directly from its current value, on the same data with the same
 * settings. input_dim and output_dim are D and N. Returns as
 * dl_lora_train_adapter. */
int dl_lora_train_full(double *delta, size_t input_dim, size_t output_dim,
                       dl_lora_curve *curve, const dl_lora_dataset *train,
                       const double *frozen_logits,
                       const dl_lora_train_params *params,
                       dl_stream *batch_stream, dl_error *err);

#endif
