/* lora_results.h - the /lora group of results.h5 read back for the LoRA
 * figures, the report and info.
 *
 * dl_results_load (results.h) fills a dl_lora_results when the file has a
 * /lora group; the reading is in store_lora_read.c, because only the
 * store includes HDF5. The helpers here are pure functions of a loaded
 * struct (lora_results.c).
 *
 * Layout in memory: every per-fit array is row-major over
 * [rank][alpha][scaling][seed] with the seed fastest, then its own extra
 * dimension (step_sample, singular_index or token) when it has one. A file
 * written before the scaling axis existed has per-fit datasets of
 * [rank, alpha, seed]; it reads as one scaling, the /lora attribute
 * `scaling`, so the same indexing holds.
 *
 * Datasets marked "may be NULL" are left NULL when the file does not
 * contain them, as in files of earlier driftlab versions. The figures that
 * need them are then not drawn, and the report gives the reason.
 */
#ifndef DRIFTLAB_LORA_RESULTS_H
#define DRIFTLAB_LORA_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* attributes of /lora */
    int D;               /* input size, rows of W */
    int N;               /* logits, columns of W */
    int task_rank;       /* true rank of dW* */
    int steps;           /* optimiser steps of every fit */
    char *init;          /* adapter initialisation: kaiming, gaussian or svd */

    /* coordinates */
    size_t n_ranks, n_alphas, n_scalings, n_seeds;
    size_t n_samples;    /* loss curve points (step_sample) */
    size_t n_singular;   /* min(D, N), or 0 without spectra */
    size_t n_tokens;     /* N, or 0 without probes */
    size_t n_phi_i, n_phi_j; /* smallest and largest rank, or 0 without phi */
    int64_t *rank;       /* [n_ranks] in file order */
    double *alpha;       /* [n_alphas] */
    char **scaling;      /* [n_scalings] standard, rslora or none */
    int64_t *seed;       /* [n_seeds] */
    int64_t *step_sample; /* [n_samples] optimiser step of each curve point */

    /* per fit [rank][alpha][scaling][seed] */
    double *eval_kl;            /* nats */
    double *forgetting;         /* nats */
    double *final_loss;         /* nats */
    double *relative_error;
    double *eckart_young_error;
    double *loss_curve;         /* [...][n_samples] nats */
    double *singular_values;    /* [...][n_singular]; may be NULL */
    double *probe_adapted;      /* [...][n_tokens]; may be NULL */

    /* per seed */
    double *task_singular_values; /* [seed][n_singular]; may be NULL */
    double *probe_base;           /* [seed][n_tokens]; may be NULL */
    double *probe_teacher;        /* [seed][n_tokens]; may be NULL */
    double *full_rank_eval_kl;    /* [seed] nats */
    double *full_rank_forgetting; /* [seed] nats */
    double *full_rank_relative_error; /* [seed]; may be NULL */
    double *train_teacher_entropy; /* [seed] nats, the least training loss;
                                    * may be NULL */
    double *full_rank_loss_curve; /* [seed][n_samples] nats; may be NULL */

    /* subspace similarity [alpha][scaling][seed][n_phi_i][n_phi_j]; may be
     * NULL */
    double *phi;
} dl_lora_results;

/* Frees every array of lora and zeroes it; lora may be zeroed. */
void dl_lora_results_free(dl_lora_results *lora);

/* Returns the index of fit (rank, alpha, scaling, seed) in the per-fit
 * arrays, each index counted along its coordinate. */
size_t dl_lora_fit_index(const dl_lora_results *lora, size_t rank, size_t alpha,
                         size_t scaling, size_t seed);

/* Returns the median over seeds of values (a per-fit array of lora) at
 * (rank, alpha, scaling), interpolated as numpy.median does; NaN when
 * memory runs out. */
double dl_lora_median_over_seeds(const dl_lora_results *lora, const double *values,
                                 size_t rank, size_t alpha, size_t scaling);

/* Writes the q-th percentile over seeds (q in [0, 100], linear
 * interpolation as numpy.percentile) of values at (rank, alpha, scaling)
 * into *out. Returns 0, or -1 when memory runs out. */
int dl_lora_percentile_over_seeds(const dl_lora_results *lora, const double *values,
                                  size_t rank, size_t alpha, size_t scaling, double q,
                                  double *out);

/* Returns the median of values[n] (n >= 1) with the stride between
 * elements, as numpy.median; NaN when memory runs out or n is 0. */
double dl_lora_median(const double *values, size_t n, size_t stride);

/* Returns the index of the alpha that the line figures and the report's
 * key numbers show: the first alpha above 0 in file order, because
 * alpha = 0 leaves the base model unchanged at every rank (and A at its
 * random start). Index 0 when every alpha is 0. */
size_t dl_lora_shown_alpha(const dl_lora_results *lora);

/* Returns the index of the rank the shape diagram shows: the task rank
 * when it is one of the swept ranks, else the middle rank of the sweep in
 * ascending order (the lower middle for an even count). */
size_t dl_lora_diagram_rank(const dl_lora_results *lora);

/* Returns the indices of the smallest and largest rank of the sweep
 * (the first of equal values). */
void dl_lora_rank_extremes(const dl_lora_results *lora, size_t *smallest, size_t *largest);

#endif
