/* lora_sweep.h - the [lora] sweep: one adapter fit for every (rank, alpha,
 * seed) and one full-rank baseline per seed.
 *
 * Runs are in plan order: rank (slowest), alpha, then seed (fastest), as
 * the config lists the values. The task of a seed is drawn once from
 * (master seed, seed) and shared read-only by every fit of that seed.
 * OpenMP threads compute the runs with dynamic scheduling, each run into
 * its own slot, so the results are the same bytes for any thread count.
 */
#ifndef DRIFTLAB_LORA_SWEEP_H
#define DRIFTLAB_LORA_SWEEP_H

#include <stddef.h>

#include "config.h"
#include "error.h"

/* Results of a [lora] sweep. Arrays marked [rank][alpha][seed] are in plan
 * order with the seed fastest. */
typedef struct {
    size_t n_ranks;
    size_t n_alphas;
    size_t n_seeds;
    size_t curve_length;      /* points of every loss curve */
    int *curve_steps;         /* [curve_length] optimiser step of each point */
    double *eval_kl;          /* [rank][alpha][seed] nats */
    double *forgetting;       /* [rank][alpha][seed] nats */
    double *final_loss;       /* [rank][alpha][seed] nats */
    double *relative_error;   /* [rank][alpha][seed] */
    double *eckart_young_error; /* [rank][alpha][seed] */
    long long *parameter_count; /* [rank][alpha][seed] */
    double *parameter_ratio;  /* [rank][alpha][seed] */
    double *loss_curve;       /* [rank][alpha][seed][curve_length] nats */
    double *full_rank_eval_kl;    /* [seed] nats */
    double *full_rank_forgetting; /* [seed] nats */
} dl_lora_sweep_result;

/* Number of adapter runs of cfg: ranks x alphas x seeds. */
size_t dl_lora_sweep_run_count(const dl_config *cfg);

/* Runs the [lora] sweep of cfg (cfg->has_lora must be true) on threads
 * threads (0: as many as OpenMP offers) into result, which the caller
 * frees with dl_lora_sweep_result_free. Returns 0, or -1 with err naming
 * the first failed run in plan order, with result freed. */
int dl_lora_sweep_run(const dl_config *cfg, int threads,
                      dl_lora_sweep_result *result, dl_error *err);

/* Frees every array of result and zeroes it. Safe on a zeroed result. */
void dl_lora_sweep_result_free(dl_lora_sweep_result *result);

#endif
