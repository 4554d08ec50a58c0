/* lora_combine.h - weighted merging, unmerging and stacking of trained
 * adapters, with the error bounds the adapter commands check.
 *
 * A trained adapter on a base W (D x N) applies the update
 *   U = s B A                        (init kaiming or gaussian)
 *   U = s B A - s B_init A_init      (init svd: it trained against the
 *                                     residual W - s B_init A_init)
 * and a weighted list of adapters k = 1 .. K applies sum_k w_k U_k.
 *
 * Every function here computes V_k = w_k U_k the same way (see
 * dl_lora_trained_weighted_update), so merging and unmerging subtract
 * exactly the numbers they added. Merging first sums the V_k in index
 * order and then adds the sum to W, so weights +1 and -1 on identical
 * adapters give exactly W. Unmerging subtracts V_K, ..., V_1 one at a
 * time. docs/lora.md ("Adapter commands") derives the bounds below.
 *
 * Pure functions: arrays in, arrays out, no I/O.
 */
#ifndef DRIFTLAB_LORA_COMBINE_H
#define DRIFTLAB_LORA_COMBINE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "lora_adapter.h"
#include "lora_params.h"

/* An adapter after training, as results.h5 stores it. */
typedef struct {
    dl_lora_adapter trained;  /* B, A, rank, alpha, scaling, scale */
    dl_lora_adapter start;    /* B_init, A_init with trained's scale when
                               * has_start, zeroed otherwise */
    bool has_start;           /* true for init svd */
} dl_lora_trained;

/* Frees both adapters of trained and zeroes it. Safe on a zeroed one. */
void dl_lora_trained_free(dl_lora_trained *trained);

/* Checks trained against a base W of base_rows x base_cols: the trained
 * adapter as dl_lora_adapter_check does, and with a start, that the start
 * has the same rank, dims, alpha, scaling and scale. Returns 0, or -1 with
 * err naming the problem. */
int dl_lora_trained_check(const dl_lora_trained *trained, size_t base_rows,
                          size_t base_cols, dl_error *err);

/* Computes update [D][N] = weight * U of one trained adapter: first
 * s B A (dl_lora_product), then minus s B_init A_init with a start (one
 * dgemm with beta = 1), then every entry times weight. The same inputs
 * give the same bits on one machine. Returns 0, or -1 with err set. */
int dl_lora_trained_weighted_update(double *update, const dl_lora_trained *trained,
                                    double weight, dl_error *err);

/* Merges count adapters with weights into w:
 *   merged    [D][N] = w + (V_1 + V_2 + ... + V_count), the V_k summed in
 *                      index order first, V_k = weights[k] U_k
 *   scratch   [D][N] workspace
 *   magnitude [D][N] = |w| + sum_k |V_k| entry by entry, or NULL to skip;
 *                      its max gives dl_lora_round_trip_bound
 *   w         [D][N] the base
 * merged must not overlap w. Every adapter must fit the first adapter's
 * D x N. Returns 0, or -1 with err set. */
int dl_lora_trained_merge(double *merged, double *scratch, double *magnitude,
                          const double *w, const dl_lora_trained *const *adapters,
                          const double *weights, size_t count, dl_error *err);

/* Unmerges count adapters from w [D][N] in reverse order:
 * w -= V_count, then w -= V_(count-1), ..., then w -= V_1, with scratch
 * [D][N] for one V_k. Returns 0, or -1 with err set (w partly unmerged). */
int dl_lora_trained_unmerge(double *w, double *scratch,
                            const dl_lora_trained *const *adapters,
                            const double *weights, size_t count, dl_error *err);

/* Returns the bound on max |W_rt - W| after dl_lora_trained_merge and
 * dl_lora_trained_unmerge of count adapters:
 *   2 K u M / (1 - 2 K u),  u = 2^-53, M = max over entries of magnitude
 * The merge and unmerge round 2K times per entry (K - 1 in the sum of the
 * V_k, 1 adding it to W, K subtracting), each by at most u times a value
 * below M plus the errors before it. */
double dl_lora_round_trip_bound(double max_magnitude, size_t count);

/* Stacks count trained adapters with weights into one plain adapter
 * (scaling none, alpha 1, scale 1) whose s B A is sum_k weights[k] U_k.
 * The terms go to dl_lora_stack in this order: each adapter's B, A with
 * weight w_k, then its start's B_init, A_init with weight -w_k. The rank
 * is sum_k r_k, plus r_k again for each adapter with a start. The result owns its arrays (free with
 * dl_lora_adapter_free). Returns 0, or -1 with err set and stacked zeroed. */
int dl_lora_trained_stack(dl_lora_adapter *stacked,
                          const dl_lora_trained *const *adapters,
                          const double *weights, size_t count, dl_error *err);

/* Computes magnitude [D][N] = |w| + sum_k |w_k s_k| (|B_k| |A_k| +
 * |B_init,k| |A_init,k|), the entrywise scale of every product a merge or
 * a stack forms, with scratch [D][N] as workspace. Allocates and frees
 * copies of the factors. Returns 0, or -1 with err set. */
int dl_lora_trained_magnitude(double *magnitude, double *scratch, const double *w,
                              const dl_lora_trained *const *adapters,
                              const double *weights, size_t count, dl_error *err);

/* Returns the tolerance between any two of: w plus the stacked update,
 * the merge in index order and the merge in reverse order:
 *   2 gamma_m T,  gamma_m = m u / (1 - m u),  m = R + K + 3,  u = 2^-53
 * where T is the max of dl_lora_trained_magnitude, R the stacked rank and
 * K = count. Each path rounds each product term at most m times. */
double dl_lora_stack_tolerance(double max_magnitude, size_t stacked_rank,
                               size_t count);

/* Returns the max of |a[i]| over count entries, or 0 for count 0. A NaN
 * entry gives NaN. */
double dl_lora_max_abs(const double *a, size_t count);

/* Returns the max of |a[i] - b[i]| over count entries. A NaN difference
 * gives NaN. */
double dl_lora_max_abs_difference(const double *a, const double *b, size_t count);

#endif
