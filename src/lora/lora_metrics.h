/* lora_metrics.h - what a trained adapter is measured by.
 *
 *   KL        mean over rows of KL(softmax(p) || softmax(q)) in nats, from
 *             log-softmax of both logits, with 0 log 0 = 0;
 *   error     ||M - T||_F / ||T||_F;
 *   Eckart-Young optimum for rank r: the best rank-r approximation of T
 *             has relative error sqrt(sum_{i >= r} sigma_i^2) / ||T||_F
 *             (sigma descending, indices from 0);
 *   effective rank (Roy and Vetterli 2007): exp(H(p)) with
 *             p_i = sigma_i / sum sigma, H in nats;
 *   amplification (Hu et al. 2021): ||dW||_F / ||U^T W V||_F with U, V the
 *             top-r left and right singular vectors of the update dW, of
 *             those whose singular value is above max(D, N) eps sigma_0;
 *   subspace similarity (Hu et al. 2021): phi(i, j) = ||V_i^T W_j||_F^2 /
 *             min(i, j), V_i the top-i right-singular vectors of one A and
 *             W_j the top-j of another, so phi is 1 when one subspace
 *             contains the other and about max(i, j) / N for independent
 *             random subspaces of R^N.
 *
 * Functions that need an SVD allocate scratch memory and free it before
 * they return. They run once per trained model, not per step.
 */
#ifndef DRIFTLAB_LORA_METRICS_H
#define DRIFTLAB_LORA_METRICS_H

#include <stddef.h>

#include "error.h"

/* Returns the mean over rows of KL(softmax(p_logits) || softmax(q_logits))
 * in nats. Both are [rows][cols]. Identical rows give exactly 0. Returns
 * NaN or infinity when a logit is not finite. */
double dl_lora_kl_mean(const double *p_logits, const double *q_logits,
                       size_t rows, size_t cols);

/* Returns ||approx - target||_F / ||target||_F over count entries, or NaN
 * when target is all zero. */
double dl_lora_relative_error(const double *approx, const double *target,
                              size_t count);

/* Returns sqrt(sum_{i >= rank} sigma_i^2) / sqrt(sum_i sigma_i^2) for
 * singular values sigma [count] in descending order: the smallest
 * relative Frobenius error of any rank-`rank` approximation. Returns 0
 * when rank >= count and NaN when every sigma is 0. */
double dl_lora_eckart_young_error(const double *sigma, size_t count, size_t rank);

/* Writes the min(rows, cols) singular values of m [rows][cols], in
 * descending order, into sigma. Allocates a copy of m. Returns 0, or -1
 * with err set. */
int dl_lora_singular_values(double *sigma, const double *m, size_t rows,
                            size_t cols, dl_error *err);

/* Returns exp(-sum p_i ln p_i) with p_i = sigma_i / sum sigma, over count
 * singular values (>= 0); terms with p_i = 0 add nothing. Returns 0 when
 * every sigma is 0 (the zero matrix). */
double dl_lora_effective_rank(const double *sigma, size_t count);

/* Computes the amplification factor of an update:
 *   factor = ||update||_F / ||U_r^T w V_r||_F
 *   update [rows][cols], w [rows][cols] the base
 *   U_r [rows][r], V_r [cols][r]: the top-rank singular vectors of update
 * rank must be between 1 and min(rows, cols). A zero update gives 0.
 * Allocates SVD scratch. Returns 0, or -1 with err set. */
int dl_lora_amplification(double *factor, const double *update, const double *w,
                          size_t rows, size_t cols, size_t rank, dl_error *err);

/* Computes the subspace similarity of two factors a1 [rank1][cols] and
 * a2 [rank2][cols] (rank1, rank2 <= cols):
 *   phi [rank1][rank2], phi[i-1][j-1] = ||V1_i^T V2_j||_F^2 / min(i, j)
 * with V1_i the top-i right-singular vectors of a1 (columns of length
 * cols) and V2_j the top-j of a2. Allocates SVD scratch. Returns 0, or -1
 * with err set. */
int dl_lora_subspace_similarity(double *phi, const double *a1, size_t rank1,
                                const double *a2, size_t rank2, size_t cols,
                                dl_error *err);

/* Returns log sum_j exp z_j over n >= 1 entries as max + log sum
 * exp(z_j - max), the one form every LoRA softmax and loss uses. */
double dl_lora_log_sum_exp(const double *z, size_t n);

/* Writes softmax(logits [rows][cols]) row by row into probs, which may be
 * logits itself, as exp(z_j - lse) with lse from dl_lora_log_sum_exp. The
 * training loss computes its softmax the same way, so equal logits give
 * bitwise equal probabilities and a gradient of exactly 0. Returns 0, or
 * -1 with err set when a row has a logit that is NaN or +infinity. */
int dl_lora_softmax_rows(double *probs, const double *logits, size_t rows,
                         size_t cols, dl_error *err);

#endif
