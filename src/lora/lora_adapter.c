/* lora_adapter.c - adapter factors, initialisation, forward pass, merge,
 * unmerge and stacking; see lora_adapter.h. */
#include "lora_adapter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lora_linalg.h"

double dl_lora_scale(double alpha, int rank, dl_lora_scaling scaling)
{
    switch (scaling) {
    case DL_LORA_SCALING_STANDARD: return alpha / (double)rank;
    case DL_LORA_SCALING_RSLORA: return alpha / sqrt((double)rank);
    case DL_LORA_SCALING_NONE: return alpha;
    }
    return alpha;
}

int dl_lora_adapter_alloc(dl_lora_adapter *adapter, int input_dim, int output_dim,
                          int rank, double alpha, dl_lora_scaling scaling,
                          dl_error *err)
{
    memset(adapter, 0, sizeof *adapter);
    if (input_dim < 1 || output_dim < 1 || rank < 1)
        return dl_error_set(err, "adapter of rank %d on a %d x %d base is invalid: "
                            "every size must be >= 1", rank, input_dim, output_dim);

    size_t d = (size_t)input_dim, n = (size_t)output_dim, r = (size_t)rank;
    adapter->b = calloc(d * r, sizeof(double));
    adapter->a = calloc(r * n, sizeof(double));
    if (adapter->b == NULL || adapter->a == NULL) {
        dl_lora_adapter_free(adapter);
        return dl_error_set(err, "adapter of rank %d on a %d x %d base: out of "
                            "memory", rank, input_dim, output_dim);
    }
    adapter->rank = rank;
    adapter->input_dim = input_dim;
    adapter->output_dim = output_dim;
    adapter->alpha = alpha;
    adapter->scaling = scaling;
    adapter->scale = dl_lora_scale(alpha, rank, scaling);
    return 0;
}

void dl_lora_adapter_free(dl_lora_adapter *adapter)
{
    free(adapter->b);
    free(adapter->a);
    memset(adapter, 0, sizeof *adapter);
}

/* ---- initialisation ---- */

/* B = U_r sqrt(S_r / s), A = sqrt(S_r / s) V_r^T, frozen = w - s B A. */
static int init_svd(dl_lora_adapter *adapter, double *frozen, const double *w,
                    dl_error *err)
{
    size_t d = (size_t)adapter->input_dim, n = (size_t)adapter->output_dim;
    size_t r = (size_t)adapter->rank;
    size_t k = d < n ? d : n;

    double *copy = malloc(d * n * sizeof *copy);
    double *s = malloc(k * sizeof *s);
    double *u = malloc(d * k * sizeof *u);
    double *vt = malloc(k * n * sizeof *vt);
    int status = -1;
    if (copy == NULL || s == NULL || u == NULL || vt == NULL) {
        dl_error_set(err, "svd init: out of memory for a %zu x %zu SVD", d, n);
        goto done;
    }

    memcpy(copy, w, d * n * sizeof *copy);
    if (dl_linalg_svd(s, u, vt, copy, d, n, err) != 0) {
        dl_error_prefix(err, "svd init");
        goto done;
    }

    for (size_t j = 0; j < r; j++) {
        double factor = sqrt(s[j] / adapter->scale);
        for (size_t i = 0; i < d; i++)
            adapter->b[i * r + j] = u[i * k + j] * factor;
        for (size_t col = 0; col < n; col++)
            adapter->a[j * n + col] = factor * vt[j * n + col];
    }

    /* the residual keeps W_eff = frozen + s B A equal to w at step 0 */
    memcpy(frozen, w, d * n * sizeof *frozen);
    status = dl_lora_unmerge(frozen, adapter, err);

done:
    free(copy);
    free(s);
    free(u);
    free(vt);
    return status;
}

int dl_lora_adapter_init(dl_lora_adapter *adapter, double *frozen,
                         const double *w, int input_dim, int output_dim,
                         const dl_lora_adapter_params *params, dl_stream *stream,
                         dl_error *err)
{
    memset(adapter, 0, sizeof *adapter);
    if (dl_lora_adapter_params_check(params, input_dim, output_dim, err) != 0)
        return -1;
    if (params->init != DL_LORA_INIT_SVD && stream == NULL)
        return dl_error_set(err, "init %s draws random numbers but has no "
                            "stream (NULL)", dl_lora_init_name(params->init));
    if (dl_lora_adapter_alloc(adapter, input_dim, output_dim, params->rank,
                              params->alpha, params->scaling, err) != 0)
        return -1;

    size_t d = (size_t)input_dim, n = (size_t)output_dim;
    size_t r = (size_t)params->rank;
    switch (params->init) {
    case DL_LORA_INIT_KAIMING: {
        double bound = 1.0 / sqrt((double)n);
        for (size_t i = 0; i < r * n; i++)
            adapter->a[i] = bound * (2.0 * dl_stream_uniform(stream) - 1.0);
        memcpy(frozen, w, d * n * sizeof *frozen);
        return 0;
    }
    case DL_LORA_INIT_GAUSSIAN: {
        double deviation = 1.0 / (double)r;
        for (size_t i = 0; i < r * n; i++)
            adapter->a[i] = deviation * dl_stream_normal(stream);
        memcpy(frozen, w, d * n * sizeof *frozen);
        return 0;
    }
    case DL_LORA_INIT_SVD:
        if (init_svd(adapter, frozen, w, err) != 0) {
            dl_lora_adapter_free(adapter);
            return -1;
        }
        return 0;
    }
    dl_lora_adapter_free(adapter);
    return dl_error_set(err, "init %d is unknown", (int)params->init);
}

/* ---- shape checks ---- */

int dl_lora_check_shapes(size_t b_rows, size_t b_cols, size_t a_rows,
                         size_t a_cols, size_t base_rows, size_t base_cols,
                         dl_error *err)
{
    if (b_rows != base_rows)
        return dl_error_set(err, "B is %zu x %zu but the base W is %zu x %zu: "
                            "B must be %zu x r", b_rows, b_cols, base_rows,
                            base_cols, base_rows);
    if (a_cols != base_cols)
        return dl_error_set(err, "A is %zu x %zu but the base W is %zu x %zu: "
                            "A must be r x %zu", a_rows, a_cols, base_rows,
                            base_cols, base_cols);
    if (b_cols != a_rows)
        return dl_error_set(err, "B is %zu x %zu but A is %zu x %zu: the columns "
                            "of B and the rows of A must both be the rank r",
                            b_rows, b_cols, a_rows, a_cols);
    if (b_cols == 0)
        return dl_error_set(err, "B is %zu x 0 and A is 0 x %zu: the rank r must "
                            "be at least 1", b_rows, a_cols);
    return 0;
}

int dl_lora_adapter_check(const dl_lora_adapter *adapter, size_t base_rows,
                          size_t base_cols, dl_error *err)
{
    if (adapter->rank < 1 || adapter->input_dim < 1 || adapter->output_dim < 1)
        return dl_error_set(err, "adapter is %d x %d with rank %d: every size "
                            "must be >= 1", adapter->input_dim,
                            adapter->output_dim, adapter->rank);
    size_t r = (size_t)adapter->rank;
    if (dl_lora_check_shapes((size_t)adapter->input_dim, r, r,
                             (size_t)adapter->output_dim, base_rows, base_cols,
                             err) != 0)
        return -1;
    if (adapter->b == NULL || adapter->a == NULL)
        return dl_error_set(err, "adapter of rank %d has no %s matrix (NULL)",
                            adapter->rank, adapter->b == NULL ? "B" : "A");
    if (!isfinite(adapter->alpha))
        return dl_error_set(err, "adapter alpha %g is invalid: must be finite",
                            adapter->alpha);
    double expected = dl_lora_scale(adapter->alpha, adapter->rank, adapter->scaling);
    if (adapter->scale != expected)
        return dl_error_set(err, "adapter scale %.17g does not match alpha %.17g, "
                            "rank %d and scaling %s, which give %.17g",
                            adapter->scale, adapter->alpha, adapter->rank,
                            dl_lora_scaling_name(adapter->scaling), expected);
    return 0;
}

/* ---- forward pass ---- */

int dl_lora_forward(double *logits, double *xb, const double *x,
                    const double *frozen_logits, const dl_lora_adapter *adapter,
                    size_t rows, dl_error *err)
{
    size_t d = (size_t)adapter->input_dim, n = (size_t)adapter->output_dim;
    size_t r = (size_t)adapter->rank;

    memcpy(logits, frozen_logits, rows * n * sizeof *logits);
    if (adapter->scale == 0.0)
        return 0;

    /* xb = x B, then logits += s xb A */
    if (dl_linalg_gemm(xb, x, DL_LINALG_NO_TRANSPOSE, adapter->b,
                       DL_LINALG_NO_TRANSPOSE, rows, r, d, 1.0, 0.0, err) != 0)
        return -1;
    return dl_linalg_gemm(logits, xb, DL_LINALG_NO_TRANSPOSE, adapter->a,
                          DL_LINALG_NO_TRANSPOSE, rows, n, r, adapter->scale,
                          1.0, err);
}

/* ---- products, merge, unmerge ---- */

/* w = sign s B A + beta w */
static int add_product(double *w, const dl_lora_adapter *adapter, double sign,
                       double beta, dl_error *err)
{
    return dl_linalg_gemm(w, adapter->b, DL_LINALG_NO_TRANSPOSE, adapter->a,
                          DL_LINALG_NO_TRANSPOSE, (size_t)adapter->input_dim,
                          (size_t)adapter->output_dim, (size_t)adapter->rank,
                          sign * adapter->scale, beta, err);
}

int dl_lora_product(double *product, const dl_lora_adapter *adapter, dl_error *err)
{
    return add_product(product, adapter, 1.0, 0.0, err);
}

int dl_lora_merge(double *w, const dl_lora_adapter *adapter, dl_error *err)
{
    return add_product(w, adapter, 1.0, 1.0, err);
}

int dl_lora_unmerge(double *w, const dl_lora_adapter *adapter, dl_error *err)
{
    return add_product(w, adapter, -1.0, 1.0, err);
}

/* Checks that every adapter has the shape of the first. */
static int check_same_base(const dl_lora_adapter *const *adapters, size_t count,
                           dl_error *err)
{
    if (count == 0)
        return dl_error_set(err, "combining adapters needs at least one adapter, "
                            "but none was given");
    for (size_t k = 0; k < count; k++) {
        if (dl_lora_adapter_check(adapters[k], (size_t)adapters[0]->input_dim,
                                  (size_t)adapters[0]->output_dim, err) != 0)
            return dl_error_prefix(err, "adapter %zu", k);
    }
    return 0;
}

int dl_lora_weighted_delta(double *delta, double *scratch,
                           const dl_lora_adapter *const *adapters,
                           const double *weights, size_t count, dl_error *err)
{
    if (check_same_base(adapters, count, err) != 0)
        return -1;
    size_t entries = (size_t)adapters[0]->input_dim * (size_t)adapters[0]->output_dim;

    for (size_t i = 0; i < entries; i++)
        delta[i] = 0.0;
    for (size_t k = 0; k < count; k++) {
        if (dl_lora_product(scratch, adapters[k], err) != 0)
            return -1;
        for (size_t i = 0; i < entries; i++)
            delta[i] += weights[k] * scratch[i];
    }
    return 0;
}

int dl_lora_stack(dl_lora_adapter *stacked, const dl_lora_adapter *const *adapters,
                  const double *weights, size_t count, dl_error *err)
{
    memset(stacked, 0, sizeof *stacked);
    if (check_same_base(adapters, count, err) != 0)
        return -1;

    long long total = 0;
    for (size_t k = 0; k < count; k++)
        total += adapters[k]->rank;
    if (total > 1000000)
        return dl_error_set(err, "stacking %zu adapters gives rank %lld, more "
                            "than the 1000000 allowed", count, total);

    int rank = (int)total;
    int input_dim = adapters[0]->input_dim, output_dim = adapters[0]->output_dim;
    if (dl_lora_adapter_alloc(stacked, input_dim, output_dim, rank, 1.0,
                              DL_LORA_SCALING_NONE, err) != 0)
        return -1;

    size_t d = (size_t)input_dim, n = (size_t)output_dim, total_rank = (size_t)rank;
    size_t offset = 0;
    for (size_t k = 0; k < count; k++) {
        const dl_lora_adapter *part = adapters[k];
        size_t r = (size_t)part->rank;
        double factor = weights[k] * part->scale;

        /* B columns offset .. offset + r - 1, A rows of the same range */
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < r; j++)
                stacked->b[i * total_rank + offset + j] = factor * part->b[i * r + j];
        memcpy(stacked->a + offset * n, part->a, r * n * sizeof(double));
        offset += r;
    }
    return 0;
}
