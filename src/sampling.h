/* sampling.h - turning logits into one sampled item.
 *
 * Pipeline, in this order (each filter works on the distribution renormalised
 * after the previous step):
 *   1. repetition penalty on the items marked seen: a logit l becomes
 *      l / penalty when l > 0 and l * penalty otherwise (penalty 1: off);
 *   2. temperature 0: return the argmax of the penalised logits, ties to
 *      the lowest index (no filter can remove the argmax, so none runs);
 *   3. p = softmax(logits / temperature);
 *   4. top_k: keep the k most probable items; ties in probability keep the
 *      lower index (k = 0 or k >= n: off);
 *   5. top_p: walk the items by decreasing probability (ties: lower index
 *      first) and keep each one while the mass kept before it is < top_p;
 *      the first item is always kept, so top_p = 0 keeps the top item
 *      (top_p >= 1: off);
 *   6. min_p: keep items with p >= min_p * max p (min_p = 0: off);
 *   7. draw: with u uniform in [0, 1), return the first index i (in index
 *      order) whose cumulative kept mass exceeds u * total kept mass.
 */
#ifndef DRIFTLAB_SAMPLING_H
#define DRIFTLAB_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct {
    double temperature;        /* >= 0 */
    int top_k;                 /* >= 0 */
    double top_p;              /* in [0, 1] */
    double min_p;              /* in [0, 1] */
    double repetition_penalty; /* > 0 */
} dl_sampler;

/* Scratch space for n items; allocate once per run, reuse every step. */
typedef struct {
    double *logits; /* [n] */
    double *p;      /* [n] */
    size_t *order;  /* [n] */
} dl_sampler_work;

/* Samples one of n items. logits[n] may hold -inf (masked) but no NaN or
 * +inf; seen[n] marks the items the repetition penalty applies to (NULL:
 * none); u is uniform in [0, 1). On success stores the index in *chosen
 * and returns 0. Returns -1 with err set when a logit is NaN or +inf,
 * every item is masked (also after the repetition penalty, which can
 * overflow a logit), n is 0, u is outside [0, 1) or a sampler field is
 * outside its range above (temperature and repetition_penalty must also
 * be finite). */
int dl_sample(const dl_sampler *sampler, const double *logits,
              const uint8_t *seen, size_t n, double u,
              dl_sampler_work *work, size_t *chosen, dl_error *err);

/* The steps of dl_sample, exposed for tests. Each works in place on
 * x[n] or p[n]; filters zero the removed entries and renormalise. */
void dl_apply_repetition_penalty(double *logits, const uint8_t *seen,
                                 size_t n, double penalty);
void dl_filter_top_k(double *p, size_t n, int k, size_t *order);
void dl_filter_top_p(double *p, size_t n, double top_p, size_t *order);
void dl_filter_min_p(double *p, size_t n, double min_p);
/* Returns n when no entry of p is positive. */
size_t dl_draw_categorical(const double *p, size_t n, double u);

#endif
