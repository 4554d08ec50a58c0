/* lora_combine.c - weighted merging, unmerging and stacking of trained
 * adapters; see lora_combine.h. */
#include "lora_combine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lora_linalg.h"

/* Unit roundoff of IEEE-754 binary64 with round to nearest. */
static const double unit_roundoff = 0x1p-53;

void dl_lora_trained_free(dl_lora_trained *trained)
{
    dl_lora_adapter_free(&trained->trained);
    dl_lora_adapter_free(&trained->start);
    trained->has_start = false;
}

int dl_lora_trained_check(const dl_lora_trained *trained, size_t base_rows,
                          size_t base_cols, dl_error *err)
{
    if (dl_lora_adapter_check(&trained->trained, base_rows, base_cols, err) != 0)
        return -1;
    if (!trained->has_start)
        return 0;

    const dl_lora_adapter *adapter = &trained->trained, *start = &trained->start;
    if (dl_lora_adapter_check(start, base_rows, base_cols, err) != 0)
        return dl_error_prefix(err, "start factors");
    if (start->rank != adapter->rank)
        return dl_error_set(err, "the start factors have rank %d but the trained "
                            "factors rank %d: both must have the adapter's rank",
                            start->rank, adapter->rank);
    if (start->scale != adapter->scale)
        return dl_error_set(err, "the start factors have scale %.17g but the "
                            "trained factors %.17g: both must have the adapter's "
                            "scale", start->scale, adapter->scale);
    return 0;
}

/* Checks count >= 1 and every adapter against the first one's D x N. */
static int check_all(const dl_lora_trained *const *adapters, size_t count,
                     dl_error *err)
{
    if (count == 0)
        return dl_error_set(err, "combining adapters needs at least one adapter, "
                            "but none was given");
    size_t d = (size_t)adapters[0]->trained.input_dim;
    size_t n = (size_t)adapters[0]->trained.output_dim;
    for (size_t k = 0; k < count; k++)
        if (dl_lora_trained_check(adapters[k], d, n, err) != 0)
            return dl_error_prefix(err, "adapter %zu", k + 1);
    return 0;
}

static size_t entry_count(const dl_lora_trained *trained)
{
    return (size_t)trained->trained.input_dim * (size_t)trained->trained.output_dim;
}

int dl_lora_trained_weighted_update(double *update, const dl_lora_trained *trained,
                                    double weight, dl_error *err)
{
    const dl_lora_adapter *adapter = &trained->trained;
    if (dl_lora_product(update, adapter, err) != 0)
        return -1;
    if (trained->has_start && dl_lora_unmerge(update, &trained->start, err) != 0)
        return -1;

    size_t entries = entry_count(trained);
    for (size_t i = 0; i < entries; i++)
        update[i] = weight * update[i];
    return 0;
}

int dl_lora_trained_merge(double *merged, double *scratch, double *magnitude,
                          const double *w, const dl_lora_trained *const *adapters,
                          const double *weights, size_t count, dl_error *err)
{
    if (check_all(adapters, count, err) != 0)
        return -1;
    size_t entries = entry_count(adapters[0]);

    /* merged contains the sum of the V_k until W is added at the end */
    for (size_t i = 0; i < entries; i++)
        merged[i] = 0.0;
    if (magnitude != NULL)
        for (size_t i = 0; i < entries; i++)
            magnitude[i] = fabs(w[i]);

    for (size_t k = 0; k < count; k++) {
        if (dl_lora_trained_weighted_update(scratch, adapters[k], weights[k], err) != 0)
            return -1;
        for (size_t i = 0; i < entries; i++)
            merged[i] += scratch[i];
        if (magnitude != NULL)
            for (size_t i = 0; i < entries; i++)
                magnitude[i] += fabs(scratch[i]);
    }

    for (size_t i = 0; i < entries; i++)
        merged[i] = w[i] + merged[i];
    return 0;
}

int dl_lora_trained_unmerge(double *w, double *scratch,
                            const dl_lora_trained *const *adapters,
                            const double *weights, size_t count, dl_error *err)
{
    if (check_all(adapters, count, err) != 0)
        return -1;
    size_t entries = entry_count(adapters[0]);

    for (size_t k = count; k-- > 0;) {
        if (dl_lora_trained_weighted_update(scratch, adapters[k], weights[k], err) != 0)
            return -1;
        for (size_t i = 0; i < entries; i++)
            w[i] -= scratch[i];
    }
    return 0;
}

double dl_lora_round_trip_bound(double max_magnitude, size_t count)
{
    double roundings = 2.0 * (double)count;
    return roundings * unit_roundoff * max_magnitude
           / (1.0 - roundings * unit_roundoff);
}

int dl_lora_trained_stack(dl_lora_adapter *stacked,
                          const dl_lora_trained *const *adapters,
                          const double *weights, size_t count, dl_error *err)
{
    memset(stacked, 0, sizeof *stacked);
    if (check_all(adapters, count, err) != 0)
        return -1;

    /* the terms: each adapter, then its start with the opposite weight */
    const dl_lora_adapter **terms = malloc(2 * count * sizeof *terms);
    double *term_weights = malloc(2 * count * sizeof *term_weights);
    int status = -1;
    if (terms == NULL || term_weights == NULL) {
        dl_error_set(err, "stacking %zu adapters: out of memory", count);
        goto done;
    }
    size_t n_terms = 0;
    for (size_t k = 0; k < count; k++) {
        terms[n_terms] = &adapters[k]->trained;
        term_weights[n_terms++] = weights[k];
        if (adapters[k]->has_start) {
            terms[n_terms] = &adapters[k]->start;
            term_weights[n_terms++] = -weights[k];
        }
    }
    status = dl_lora_stack(stacked, terms, term_weights, n_terms, err);

done:
    free(terms);
    free(term_weights);
    return status;
}

/* Adds factor |B| |A| of one adapter to magnitude, with scratch as the
 * product and copies of |B| and |A| allocated here. */
static int add_absolute_product(double *magnitude, double *scratch,
                                const dl_lora_adapter *adapter, double factor,
                                dl_error *err)
{
    size_t d = (size_t)adapter->input_dim, n = (size_t)adapter->output_dim;
    size_t r = (size_t)adapter->rank;
    double *b = malloc(d * r * sizeof *b);
    double *a = malloc(r * n * sizeof *a);
    int status = -1;
    if (b == NULL || a == NULL) {
        dl_error_set(err, "adapter of rank %zu on a %zu x %zu base: out of memory "
                     "for the absolute factors", r, d, n);
        goto done;
    }
    for (size_t i = 0; i < d * r; i++)
        b[i] = fabs(adapter->b[i]);
    for (size_t i = 0; i < r * n; i++)
        a[i] = fabs(adapter->a[i]);
    if (dl_linalg_gemm(scratch, b, DL_LINALG_NO_TRANSPOSE, a, DL_LINALG_NO_TRANSPOSE,
                       d, n, r, 1.0, 0.0, err) != 0)
        goto done;
    for (size_t i = 0; i < d * n; i++)
        magnitude[i] += factor * scratch[i];
    status = 0;

done:
    free(b);
    free(a);
    return status;
}

int dl_lora_trained_magnitude(double *magnitude, double *scratch, const double *w,
                              const dl_lora_trained *const *adapters,
                              const double *weights, size_t count, dl_error *err)
{
    if (check_all(adapters, count, err) != 0)
        return -1;
    size_t entries = entry_count(adapters[0]);

    for (size_t i = 0; i < entries; i++)
        magnitude[i] = fabs(w[i]);
    for (size_t k = 0; k < count; k++) {
        const dl_lora_trained *trained = adapters[k];
        double factor = fabs(weights[k] * trained->trained.scale);
        if (add_absolute_product(magnitude, scratch, &trained->trained, factor, err) != 0)
            return -1;
        if (trained->has_start
            && add_absolute_product(magnitude, scratch, &trained->start, factor, err) != 0)
            return -1;
    }
    return 0;
}

double dl_lora_stack_tolerance(double max_magnitude, size_t stacked_rank,
                               size_t count)
{
    double roundings = (double)stacked_rank + (double)count + 3.0;
    double gamma = roundings * unit_roundoff / (1.0 - roundings * unit_roundoff);
    return 2.0 * gamma * max_magnitude;
}

double dl_lora_max_abs(const double *a, size_t count)
{
    double largest = 0.0;
    for (size_t i = 0; i < count; i++) {
        double value = fabs(a[i]);
        if (isnan(value))
            return value;
        if (value > largest)
            largest = value;
    }
    return largest;
}

double dl_lora_max_abs_difference(const double *a, const double *b, size_t count)
{
    double largest = 0.0;
    for (size_t i = 0; i < count; i++) {
        double value = fabs(a[i] - b[i]);
        if (isnan(value))
            return value;
        if (value > largest)
            largest = value;
    }
    return largest;
}
