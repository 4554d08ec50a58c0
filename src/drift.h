/* drift.h - the context-drift model: one attention head generating tokens.
 *
 * World (fixed by the seed): C cluster centres, unit vectors from a
 * Gaussian in d_model dimensions; token j belongs to cluster j / m and has
 * the embedding centre + (cluster_spread / sqrt(d_model)) * z, z standard
 * normal; projections Wq, Wk, Wv (identity, or Gaussian with variance
 * 1 / d_model); a prompt of P tokens.
 *
 * Generation: at each step the last token is the query, the scores are
 * gain * (q . k_i) / sqrt(d_head) over every position so far (the query's
 * own included) and their softmax is the attention row a. The next token
 * comes from the rule (cluster masses or the head's output logits) after
 * temperature and the filters. Keys and values are cached, so a step costs
 * O(n * d_head) for n positions.
 *
 * Metrics per step: prompt attention (sum of a over the prompt), sink
 * attention (a_0), normalised entropy H(a) / ln(n) (0 when n = 1), and
 * lock-in after the token is appended: the share of generated tokens that
 * fall in the most frequent cluster among them.
 */
#ifndef DRIFTLAB_DRIFT_H
#define DRIFTLAB_DRIFT_H

#include <stdbool.h>
#include <stdint.h>

#include "drift_params.h"
#include "error.h"

typedef struct {
    int clusters, tokens_per_cluster, vocab_size, d_model, d_head;
    int prompt_length;
    double *centre;      /* [clusters][d_model] */
    double *embedding;   /* [vocab_size][d_model] */
    int32_t *cluster_of; /* [vocab_size] */
    double *wq, *wk, *wv; /* [d_model][d_head] each */
    int32_t *prompt;     /* [prompt_length] */
} dl_drift_world;

typedef struct {
    int steps, prompt_length, n_positions; /* n_positions = P + steps */
    double *prompt_attention;  /* [steps] */
    double *sink_attention;    /* [steps] attention on position 0 */
    double *entropy;           /* [steps] normalised, in [0, 1] */
    double *lock_in;           /* [steps] */
    int32_t *tokens;           /* [n_positions] prompt then generated */
    int32_t *clusters;         /* [n_positions] cluster of each token */
    double *attention;         /* [steps][n_positions], NaN beyond the
                                  step's context; NULL unless requested */
} dl_drift_result;

/* Allocates world arrays for params and draws them from the world stream
 * of (master_seed, seed, world parameters). Returns 0, or -1 with err set
 * (allocation failure, a prompt token out of range). Free with
 * dl_drift_world_free, also after a failure. */
int dl_drift_world_make(dl_drift_world *world, const dl_drift_params *params,
                        uint64_t master_seed, int64_t seed, dl_error *err);
void dl_drift_world_free(dl_drift_world *world);

/* Allocates the result arrays; keep_attention adds the attention matrix.
 * Returns 0 or -1 on allocation failure. Free with dl_drift_result_free. */
int dl_drift_result_alloc(dl_drift_result *result,
                          const dl_drift_params *params, bool keep_attention,
                          dl_error *err);
void dl_drift_result_free(dl_drift_result *result);

/* Generates params->steps tokens in world with the sampling stream of
 * (master_seed, seed, every model parameter) and fills result. Returns 0,
 * or -1 with err naming the step when a score, logit or probability is
 * NaN or infinite, or when a filter leaves nothing to sample. */
int dl_drift_run(const dl_drift_world *world, const dl_drift_params *params,
                 uint64_t master_seed, int64_t seed, dl_drift_result *result,
                 dl_error *err);

#endif
