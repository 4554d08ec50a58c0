/* lora_metrics.c - KL divergences, Eckart-Young bound, spectra, effective
 * rank, amplification and subspace similarity; see lora_metrics.h. */
#include "lora_metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "lora_linalg.h"

double dl_lora_log_sum_exp(const double *z, size_t n)
{
    double max = z[0];
    for (size_t j = 1; j < n; j++)
        if (z[j] > max)
            max = z[j];
    double sum = 0.0;
    for (size_t j = 0; j < n; j++)
        sum += exp(z[j] - max);
    return max + log(sum);
}

double dl_lora_kl_mean(const double *p_logits, const double *q_logits,
                       size_t rows, size_t cols)
{
    double total = 0.0;
    for (size_t i = 0; i < rows; i++) {
        const double *zp = p_logits + i * cols;
        const double *zq = q_logits + i * cols;
        double lse_p = dl_lora_log_sum_exp(zp, cols);
        double lse_q = dl_lora_log_sum_exp(zq, cols);

        double row = 0.0;
        for (size_t j = 0; j < cols; j++) {
            double log_p = zp[j] - lse_p;
            double p = exp(log_p);
            if (p > 0.0)
                row += p * (log_p - (zq[j] - lse_q));
        }
        total += row;
    }
    return total / (double)rows;
}

double dl_lora_relative_error(const double *approx, const double *target,
                              size_t count)
{
    double norm = dl_linalg_frobenius(target, count);
    if (norm == 0.0)
        return NAN;
    return dl_linalg_frobenius_distance(approx, target, count) / norm;
}

double dl_lora_eckart_young_error(const double *sigma, size_t count, size_t rank)
{
    /* scaled by the largest sigma, so that sigma near 1e200 or 1e-200
     * neither overflows nor underflows */
    double largest = 0.0;
    for (size_t i = 0; i < count; i++)
        if (sigma[i] > largest)
            largest = sigma[i];
    if (largest == 0.0)
        return NAN;
    double total = 0.0, tail = 0.0;
    for (size_t i = 0; i < count; i++) {
        double scaled = sigma[i] / largest;
        double square = scaled * scaled;
        total += square;
        if (i >= rank)
            tail += square;
    }
    return sqrt(tail) / sqrt(total);
}

int dl_lora_singular_values(double *sigma, const double *m, size_t rows,
                            size_t cols, dl_error *err)
{
    double *copy = malloc((rows * cols > 0 ? rows * cols : 1) * sizeof *copy);
    if (copy == NULL)
        return dl_error_set(err, "singular values of a %zu x %zu matrix: out of "
                            "memory", rows, cols);
    memcpy(copy, m, rows * cols * sizeof *copy);
    int status = dl_linalg_svd(sigma, NULL, NULL, copy, rows, cols, err);
    free(copy);
    return status;
}

double dl_lora_effective_rank(const double *sigma, size_t count)
{
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += sigma[i];
    if (sum == 0.0)
        return 0.0;

    double entropy = 0.0;
    for (size_t i = 0; i < count; i++) {
        double p = sigma[i] / sum;
        if (p > 0.0)
            entropy -= p * log(p);
    }
    return exp(entropy);
}

int dl_lora_amplification(double *factor, const double *update, const double *w,
                          size_t rows, size_t cols, size_t rank, dl_error *err)
{
    size_t k = rows < cols ? rows : cols;
    if (rank < 1 || rank > k)
        return dl_error_set(err, "amplification at rank %zu is invalid: must be "
                            "between 1 and min(D, N) = %zu", rank, k);

    double norm = dl_linalg_frobenius(update, rows * cols);
    if (norm == 0.0) {
        *factor = 0.0;
        return 0;
    }

    double *copy = malloc(rows * cols * sizeof *copy);
    double *sigma = malloc(k * sizeof *sigma);
    double *u = malloc(rows * k * sizeof *u);
    double *vt = malloc(k * cols * sizeof *vt);
    double *w_v = malloc(rows * rank * sizeof *w_v);
    double *projected = malloc(rank * rank * sizeof *projected);
    int status = -1;
    if (copy == NULL || sigma == NULL || u == NULL || vt == NULL ||
        w_v == NULL || projected == NULL) {
        dl_error_set(err, "amplification of a %zu x %zu update: out of memory",
                     rows, cols);
        goto done;
    }

    memcpy(copy, update, rows * cols * sizeof *copy);
    if (dl_linalg_svd(sigma, u, vt, copy, rows, cols, err) != 0)
        goto done;

    /* Singular vectors of singular values at rounding level are arbitrary,
     * so only the numerical rank counts, as numpy.linalg.matrix_rank
     * defines it; norm > 0 makes sigma[0] > 0, so used >= 1. */
    double largest = rows > cols ? (double)rows : (double)cols;
    double threshold = sigma[0] * largest * DBL_EPSILON;
    size_t used = 0;
    while (used < rank && sigma[used] > threshold)
        used++;

    /* w V_r: the first used rows of vt are V_r^T, so w_v = w (vt_r)^T */
    if (dl_linalg_gemm(w_v, w, DL_LINALG_NO_TRANSPOSE, vt, DL_LINALG_TRANSPOSE,
                       rows, used, cols, 1.0, 0.0, err) != 0)
        goto done;

    /* U_r^T (w V_r): the first used columns of u, whose row stride is k */
    for (size_t a = 0; a < used; a++)
        for (size_t b = 0; b < used; b++) {
            double sum = 0.0;
            for (size_t i = 0; i < rows; i++)
                sum += u[i * k + a] * w_v[i * used + b];
            projected[a * used + b] = sum;
        }

    *factor = norm / dl_linalg_frobenius(projected, used * used);
    status = 0;

done:
    free(copy);
    free(sigma);
    free(u);
    free(vt);
    free(w_v);
    free(projected);
    return status;
}

/* Writes the rank right-singular vectors of a [rank][cols] as the rows of
 * vt [rank][cols], rank <= cols. */
static int right_singular_vectors(double *vt, const double *a, size_t rank,
                                  size_t cols, dl_error *err)
{
    double *copy = malloc(rank * cols * sizeof *copy);
    double *sigma = malloc(rank * sizeof *sigma);
    double *u = malloc(rank * rank * sizeof *u);
    int status = -1;
    if (copy == NULL || sigma == NULL || u == NULL) {
        dl_error_set(err, "SVD of a %zu x %zu factor: out of memory", rank, cols);
    } else {
        memcpy(copy, a, rank * cols * sizeof *copy);
        status = dl_linalg_svd(sigma, u, vt, copy, rank, cols, err);
    }
    free(copy);
    free(sigma);
    free(u);
    return status;
}

int dl_lora_subspace_similarity(double *phi, const double *a1, size_t rank1,
                                const double *a2, size_t rank2, size_t cols,
                                dl_error *err)
{
    if (rank1 < 1 || rank2 < 1 || rank1 > cols || rank2 > cols)
        return dl_error_set(err, "subspace similarity of factors of rank %zu and "
                            "%zu with %zu columns is invalid: each rank must be "
                            "between 1 and the column count", rank1, rank2, cols);

    double *vt1 = malloc(rank1 * cols * sizeof *vt1);
    double *vt2 = malloc(rank2 * cols * sizeof *vt2);
    double *overlap = malloc(rank1 * rank2 * sizeof *overlap);
    double *column_sums = calloc(rank2, sizeof *column_sums);
    int status = -1;
    if (vt1 == NULL || vt2 == NULL || overlap == NULL || column_sums == NULL) {
        dl_error_set(err, "subspace similarity: out of memory");
        goto done;
    }
    if (right_singular_vectors(vt1, a1, rank1, cols, err) != 0 ||
        right_singular_vectors(vt2, a2, rank2, cols, err) != 0)
        goto done;

    /* overlap [rank1][rank2] = V1^T V2, one inner product per pair */
    if (dl_linalg_gemm(overlap, vt1, DL_LINALG_NO_TRANSPOSE, vt2,
                       DL_LINALG_TRANSPOSE, rank1, rank2, cols, 1.0, 0.0, err) != 0)
        goto done;

    /* With 0-based i and j, phi[i][j] is the sum of overlap^2 over rows
     * 0..i and columns 0..j, divided by min(i, j) + 1. column_sums[j] adds
     * rows 0..i of column j, and block adds those sums over columns 0..j. */
    for (size_t i = 0; i < rank1; i++) {
        double block = 0.0;
        for (size_t j = 0; j < rank2; j++) {
            double value = overlap[i * rank2 + j];
            column_sums[j] += value * value;
            block += column_sums[j];
            size_t smaller = i < j ? i + 1 : j + 1;
            phi[i * rank2 + j] = block / (double)smaller;
        }
    }
    status = 0;

done:
    free(vt1);
    free(vt2);
    free(overlap);
    free(column_sums);
    return status;
}

int dl_lora_softmax_rows(double *probs, const double *logits, size_t rows,
                         size_t cols, dl_error *err)
{
    for (size_t i = 0; i < rows; i++) {
        const double *z = logits + i * cols;
        double lse = dl_lora_log_sum_exp(z, cols);
        if (!isfinite(lse))
            return dl_error_set(err, "softmax of row %zu failed: a logit is NaN "
                                "or +infinity", i);
        for (size_t j = 0; j < cols; j++)
            probs[i * cols + j] = exp(z[j] - lse);
    }
    return 0;
}
