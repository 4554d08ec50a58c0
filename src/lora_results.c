/* lora_results.c - pure helpers over a loaded /lora group; see
 * lora_results.h. Statistics over seeds use dl_summary_percentile, so
 * they interpolate linearly as numpy.percentile does by default.
 */
#include "lora_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

void dl_lora_results_free(dl_lora_results *lora)
{
    if (lora == NULL)
        return;
    free(lora->init);
    free(lora->rank);
    free(lora->alpha);
    for (size_t i = 0; lora->scaling != NULL && i < lora->n_scalings; i++)
        free(lora->scaling[i]);
    free(lora->scaling);
    free(lora->seed);
    free(lora->step_sample);
    double *arrays[] = {
        lora->eval_kl, lora->forgetting, lora->final_loss, lora->relative_error,
        lora->eckart_young_error, lora->loss_curve, lora->singular_values,
        lora->probe_adapted, lora->task_singular_values, lora->probe_base,
        lora->probe_teacher, lora->full_rank_eval_kl, lora->full_rank_forgetting,
        lora->full_rank_loss_curve, lora->phi, lora->full_rank_relative_error,
        lora->train_teacher_entropy,
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    memset(lora, 0, sizeof *lora);
}

size_t dl_lora_fit_index(const dl_lora_results *lora, size_t rank, size_t alpha,
                         size_t scaling, size_t seed)
{
    return ((rank * lora->n_alphas + alpha) * lora->n_scalings + scaling) * lora->n_seeds +
           seed;
}

int dl_lora_percentile_over_seeds(const dl_lora_results *lora, const double *values,
                                  size_t rank, size_t alpha, size_t scaling, double q,
                                  double *out)
{
    double *work = malloc(lora->n_seeds * sizeof *work);
    if (work == NULL)
        return -1;
    const double *seeds = values + dl_lora_fit_index(lora, rank, alpha, scaling, 0);
    dl_summary_percentile(out, seeds, lora->n_seeds, 1, q, work);
    free(work);
    return 0;
}

double dl_lora_median_over_seeds(const dl_lora_results *lora, const double *values,
                                 size_t rank, size_t alpha, size_t scaling)
{
    double median = NAN;
    if (dl_lora_percentile_over_seeds(lora, values, rank, alpha, scaling, 50.0, &median) != 0)
        return NAN;
    return median;
}

double dl_lora_median(const double *values, size_t n, size_t stride)
{
    if (n == 0)
        return NAN;
    double *copy = malloc(n * sizeof *copy), *work = malloc(n * sizeof *work);
    double median = NAN;
    if (copy != NULL && work != NULL) {
        for (size_t i = 0; i < n; i++)
            copy[i] = values[i * stride];
        dl_summary_percentile(&median, copy, n, 1, 50.0, work);
    }
    free(copy);
    free(work);
    return median;
}

size_t dl_lora_shown_alpha(const dl_lora_results *lora)
{
    for (size_t a = 0; a < lora->n_alphas; a++)
        if (lora->alpha[a] > 0.0)
            return a;
    return 0;
}

size_t dl_lora_diagram_rank(const dl_lora_results *lora)
{
    for (size_t i = 0; i < lora->n_ranks; i++)
        if (lora->rank[i] == lora->task_rank)
            return i;

    /* the middle of the ranks in ascending order: count how many ranks
     * sort before each one, ties broken by position */
    size_t middle = (lora->n_ranks - 1) / 2;
    for (size_t i = 0; i < lora->n_ranks; i++) {
        size_t before = 0;
        for (size_t j = 0; j < lora->n_ranks; j++)
            if (lora->rank[j] < lora->rank[i] || (lora->rank[j] == lora->rank[i] && j < i))
                before++;
        if (before == middle)
            return i;
    }
    return 0;
}

void dl_lora_rank_extremes(const dl_lora_results *lora, size_t *smallest, size_t *largest)
{
    *smallest = 0;
    *largest = 0;
    for (size_t i = 1; i < lora->n_ranks; i++) {
        if (lora->rank[i] < lora->rank[*smallest])
            *smallest = i;
        if (lora->rank[i] > lora->rank[*largest])
            *largest = i;
    }
}
