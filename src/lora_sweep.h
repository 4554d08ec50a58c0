/* lora_sweep.h - the [lora] sweep: one adapter fit for every (rank, alpha,
 * scaling, seed) and one full-rank baseline per seed.
 *
 * Runs are in plan order: rank (slowest), alpha, scaling, then seed
 * (fastest), as the config lists the values. The task of a seed is drawn
 * once from (master seed, seed) and shared read-only by every fit of that
 * seed. OpenMP threads compute the runs with dynamic scheduling, each run
 * into its own slots, so the results are the same bytes for any thread
 * count.
 *
 * Besides the metrics of every run, the sweep keeps what the figures and
 * the adapter commands need. These are the adapters of the first seed with
 * its base W, and the subspace similarity phi between the A factors
 * learned at the smallest and the largest rank of the sweep.
 */
#ifndef DRIFTLAB_LORA_SWEEP_H
#define DRIFTLAB_LORA_SWEEP_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "lora/lora_adapter.h"

/* Results of a [lora] sweep. "[run]" means [rank][alpha][scaling][seed]
 * in plan order with the seed fastest; "[point]" means
 * [alpha][scaling][seed]. */
typedef struct {
    size_t n_ranks;
    size_t n_alphas;
    size_t n_scalings;
    size_t n_seeds;
    size_t input_dim;         /* D */
    size_t output_dim;        /* N */
    size_t singular_count;    /* min(D, N) */
    size_t curve_length;      /* points of every loss curve */
    int *curve_steps;         /* [curve_length] optimiser step of each point */

    double *eval_kl;          /* [run] nats */
    double *forgetting;       /* [run] nats */
    double *final_loss;       /* [run] nats */
    double *relative_error;   /* [run] */
    double *eckart_young_error; /* [run] */
    long long *parameter_count; /* [run] */
    double *parameter_ratio;  /* [run] */
    double *effective_rank;   /* [run] */
    double *amplification;    /* [run] */
    double *scale;            /* [run] the adapter's s */
    double *loss_curve;       /* [run][curve_length] nats */
    double *singular_values;  /* [run][singular_count] of the update */
    double *probe_adapted;    /* [run][N] */

    double *task_singular_values;      /* [seed][singular_count] of dW* */
    double *train_teacher_entropy;     /* [seed] nats: the least training loss */
    double *probe_base;                /* [seed][N] */
    double *probe_teacher;             /* [seed][N] */
    double *full_rank_eval_kl;         /* [seed] nats */
    double *full_rank_forgetting;      /* [seed] nats */
    double *full_rank_final_loss;      /* [seed] nats */
    double *full_rank_relative_error;  /* [seed] */
    double *full_rank_loss_curve;      /* [seed][curve_length] nats */
    double *full_rank_singular_values; /* [seed][singular_count] */
    double *full_rank_probe;           /* [seed][N] */

    size_t phi_rows;          /* the smallest rank of the sweep */
    size_t phi_cols;          /* the largest rank of the sweep */
    double *phi;              /* [point][phi_rows][phi_cols] */

    double *base;             /* W [D][N] of the first seed */
    dl_lora_adapter *adapters;      /* [rank][alpha][scaling] of the first seed */
    dl_lora_adapter *initial_svd;   /* the same, the svd start; NULL unless
                                       init = svd */
} dl_lora_sweep_result;

/* Number of adapter runs of cfg: ranks x alphas x scalings x seeds. */
size_t dl_lora_sweep_run_count(const dl_config *cfg);

/* Estimates of a [lora] sweep in bytes: the peak working memory on threads
 * threads (the tasks, the results and one fit's arrays per thread) and the
 * size of /lora in results.h5 (the results and the stored adapters). */
typedef struct {
    double memory;
    double output;
} dl_lora_sweep_estimate;

/* Fills estimate for cfg run on threads threads (0: as many as OpenMP
 * offers, but never more than there are fits). */
void dl_lora_sweep_estimate_plan(const dl_config *cfg, int threads,
                                 dl_lora_sweep_estimate *estimate);

/* Checks the estimates against the config's max_memory_mb and
 * max_output_mb, added to the drift sweep's estimates drift_memory and
 * drift_output (bytes; 0 without [drift]). Returns 0, or -1 with err
 * naming the limit, the estimate and what to change. */
int dl_lora_sweep_check_limits(const dl_config *cfg, int threads,
                               double drift_memory, double drift_output,
                               dl_error *err);

/* Runs the [lora] sweep of cfg (cfg->has_lora must be true) on threads
 * threads (0: as many as OpenMP offers) into result, which the caller
 * frees with dl_lora_sweep_result_free. stop_requested, when not NULL, is
 * called before each fit and each training step. Once it returns nonzero
 * the fits stop and the sweep fails as interrupted. Returns 0, or -1 with
 * err naming the first failed run in plan order, with result freed. */
int dl_lora_sweep_run(const dl_config *cfg, int threads,
                      int (*stop_requested)(void),
                      dl_lora_sweep_result *result, dl_error *err);

/* Frees every array of result and zeroes it. Safe on a zeroed result. */
void dl_lora_sweep_result_free(dl_lora_sweep_result *result);

#endif
