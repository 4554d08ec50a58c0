/* lora_adapter.h - a LoRA adapter: its factors, initialisation, forward
 * pass, merging, unmerging and stacking.
 *
 * An adapter of rank r on a frozen base W (D x N) has B (D x r),
 * A (r x N) and a scale s, so the adapted weights are W_eff = W + s B A.
 * s is alpha / r (standard), alpha / sqrt(r) (rslora) or alpha (none).
 *
 * The forward pass never forms B A: logits = x W + s ((x B) A), which
 * costs O(n r (D + N)) for n rows once the base logits x W are known.
 * With s = 0 the adapter term is skipped, so alpha = 0 returns the base
 * logits bit for bit; with B = 0 the term is exactly zero, so a fresh
 * adapter returns the base logits too (a base logit of -0 comes back +0).
 *
 * Names follow the SPEC's W + s B A with x on the left: B is applied to
 * the input first and A maps the rank-r code to the N outputs.
 */
#ifndef DRIFTLAB_LORA_ADAPTER_H
#define DRIFTLAB_LORA_ADAPTER_H

#include <stddef.h>

#include "error.h"
#include "lora_params.h"
#include "stream.h"

typedef struct {
    int rank;       /* r */
    int input_dim;  /* D, rows of B */
    int output_dim; /* N, columns of A */
    double alpha;
    dl_lora_scaling scaling;
    double scale;   /* s, from alpha, rank and scaling */
    double *b;      /* B [D][r] */
    double *a;      /* A [r][N] */
} dl_lora_adapter;

/* Returns s for alpha, rank (>= 1) and scaling. */
double dl_lora_scale(double alpha, int rank, dl_lora_scaling scaling);

/* Allocates an adapter with B = 0 and A = 0 and its scale computed from
 * alpha, rank and scaling. The adapter owns b and a; free it with
 * dl_lora_adapter_free. Checks only that the sizes are >= 1 (the rank rule
 * is the init's), so stacked adapters of any total rank fit. Returns 0, or
 * -1 with err set and adapter zeroed. */
int dl_lora_adapter_alloc(dl_lora_adapter *adapter, int input_dim, int output_dim,
                          int rank, double alpha, dl_lora_scaling scaling,
                          dl_error *err);

/* Frees b and a and zeroes the adapter. Safe on a zeroed adapter. */
void dl_lora_adapter_free(dl_lora_adapter *adapter);

/* Creates an adapter for base w [D][N] as params specify, and writes the
 * frozen base it trains against into frozen [D][N]:
 *   kaiming   A[i][j] = c (2u - 1) with c = 1 / sqrt(N), for uniforms u
 *             in row-major order (PyTorch's kaiming_uniform_ with
 *             a = sqrt(5) on a tensor of shape r x N), B = 0, frozen = w;
 *   gaussian  A[i][j] = c z with c = 1 / r, for standard normals z,
 *             B = 0, frozen = w;
 *   svd       w = U S V^T, B = U_r sqrt(S_r / s), A = sqrt(S_r / s) V_r^T,
 *             frozen = w - s B A, so frozen + s B A equals w to rounding.
 * stream is the lora-init stream; svd draws nothing and may pass NULL.
 * Checks params with dl_lora_adapter_params_check. Returns 0, or -1 with
 * err set and adapter zeroed (frozen unspecified). */
int dl_lora_adapter_init(dl_lora_adapter *adapter, double *frozen,
                         const double *w, int input_dim, int output_dim,
                         const dl_lora_adapter_params *params, dl_stream *stream,
                         dl_error *err);

/* Checks the shapes of B (b_rows x b_cols) and A (a_rows x a_cols) against
 * a base W of base_rows x base_cols: B must be D x r, A must be r x N, and
 * r >= 1. Returns 0, or -1 with err naming the mismatch, for example
 * "A is 4 x 31 but the base W is 64 x 32: A must be r x 32". */
int dl_lora_check_shapes(size_t b_rows, size_t b_cols, size_t a_rows,
                         size_t a_cols, size_t base_rows, size_t base_cols,
                         dl_error *err);

/* Checks an adapter's shapes against a base W of base_rows x base_cols,
 * and that its factors are present and its scale matches alpha, rank and
 * scaling. Returns 0, or -1 with err naming the problem. */
int dl_lora_adapter_check(const dl_lora_adapter *adapter, size_t base_rows,
                          size_t base_cols, dl_error *err);

/* Computes adapted logits for rows inputs:
 *   logits [rows][N] = frozen_logits + s (x B) A
 *   xb     [rows][r]   workspace, receives x B
 *   x      [rows][D]
 *   frozen_logits [rows][N] = x times the frozen base
 * With s = 0 the logits are a copy of frozen_logits and x B is not
 * computed. logits must not overlap the inputs. Returns 0, or -1 with err
 * set. */
int dl_lora_forward(double *logits, double *xb, const double *x,
                    const double *frozen_logits, const dl_lora_adapter *adapter,
                    size_t rows, dl_error *err);

/* Writes product [D][N] = s B A (one cblas_dgemm with alpha = s). Returns
 * 0, or -1 with err set. */
int dl_lora_product(double *product, const dl_lora_adapter *adapter, dl_error *err);

/* Merges the adapter into w [D][N]: w += s B A, as one cblas_dgemm with
 * beta = 1. Returns 0, or -1 with err set (w untouched). */
int dl_lora_merge(double *w, const dl_lora_adapter *adapter, dl_error *err);

/* Unmerges the adapter from w [D][N]: w -= s B A, the same product as
 * dl_lora_merge with its sign flipped, so a round trip returns w to within
 * rounding (see docs/lora.md for the bound). Returns 0, or -1 with err set. */
int dl_lora_unmerge(double *w, const dl_lora_adapter *adapter, dl_error *err);

/* Computes the weighted sum of count adapters' products:
 *   delta [D][N] = sum_k weights[k] * P_k, with P_k = s_k B_k A_k
 *   scratch [D][N] workspace for one P_k
 * Each P_k is computed the same way (dl_lora_product) and added in index
 * order, so weights +1 and -1 on identical adapters give exactly zero.
 * Every adapter must have the same D and N. Returns 0, or -1 with err set. */
int dl_lora_weighted_delta(double *delta, double *scratch,
                           const dl_lora_adapter *const *adapters,
                           const double *weights, size_t count, dl_error *err);

/* Stacks count adapters with weights into one adapter of rank
 * sum r_k: B = [w_1 s_1 B_1, w_2 s_2 B_2, ...] (columns side by side),
 * A = [A_1; A_2; ...] (rows stacked), scaling none with alpha 1, so
 * s B A = sum_k w_k s_k B_k A_k. The stacked rank may exceed min(D, N).
 * The result owns its arrays (free with dl_lora_adapter_free). Returns 0,
 * or -1 with err set and stacked zeroed when the shapes differ or memory
 * runs out. */
int dl_lora_stack(dl_lora_adapter *stacked, const dl_lora_adapter *const *adapters,
                  const double *weights, size_t count, dl_error *err);

#endif
