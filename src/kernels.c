/* kernels.c - dense numeric kernels of the drift model; see kernels.h.
 *
 * Every sum is accumulated in a double in index order, one term at a time,
 * so a result is reproducible bit for bit by a reference loop that adds in
 * the same order. No kernel reads or writes anything but its arguments.
 *
 * Softmax subtracts the maximum before exp: with m = max x, p_i =
 * exp((x_i - m) / T) / sum_j exp((x_j - m) / T). Every exponent is <= 0 and
 * the maximum contributes exp(0) = 1, so the sum lies in [1, n] for any
 * finite input, including logits of +-1e300.
 */
#include "kernels.h"

#include <math.h>

double dl_dot(const double *a, const double *b, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

void dl_vec_mat(double *out, const double *x, const double *m,
                size_t rows, size_t cols)
{
    for (size_t j = 0; j < cols; j++)
        out[j] = 0.0;

    /* Walking m row by row reads it contiguously, and each out[j] still
     * receives its terms x[i] * m[i][j] in increasing i. */
    for (size_t i = 0; i < rows; i++) {
        const double *row = m + i * cols;
        for (size_t j = 0; j < cols; j++)
            out[j] += x[i] * row[j];
    }
}

int dl_softmax(double *p, const double *x, size_t n, double temperature)
{
    if (n == 0 || !(temperature > 0.0) || isinf(temperature))
        return -1;

    /* Check every input before writing, because p may alias x and must be
     * left untouched on failure. */
    double max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || x[i] == INFINITY)
            return -1;
        if (x[i] > max)
            max = x[i];
    }
    if (max == -INFINITY)
        return -1;

    /* A masked entry gets exactly 0. Computing exp(-inf) would also give 0,
     * but setting it directly keeps the code free of inf - inf. */
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double weight = 0.0;
        if (x[i] != -INFINITY)
            weight = exp((x[i] - max) / temperature);
        p[i] = weight;
        sum += weight;
    }

    for (size_t i = 0; i < n; i++)
        p[i] /= sum;
    return 0;
}

double dl_entropy(const double *p, size_t n)
{
    /* Entries <= 0 (and NaN) add nothing, which implements 0 log 0 = 0.
     * Subtracting from +0.0 keeps a one-hot row at +0.0, not -0.0.
     * NOTE: plain index-order summation of n equal terms drifts by about
     * n ulp, so the normalised entropy of a uniform row of n >= 39 items
     * can miss 1 by more than 1e-15 (1.4e-13 at n = 5000). */
    double entropy = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] > 0.0)
            entropy -= p[i] * log(p[i]);
    }
    return entropy;
}

double dl_entropy_normalised(const double *p, size_t n)
{
    if (n <= 1)
        return 0.0;

    /* Rounding can put the ratio a few ulp outside [0, 1], and the header
     * promises that range, so clamp it. */
    double ratio = dl_entropy(p, n) / log((double)n);
    if (ratio < 0.0)
        return 0.0;
    if (ratio > 1.0)
        return 1.0;
    return ratio;
}

size_t dl_argmax(const double *x, size_t n)
{
    size_t best = n;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;

        /* Strict > keeps the first of equal values. */
        if (best == n || x[i] > x[best])
            best = i;
    }
    return best;
}
