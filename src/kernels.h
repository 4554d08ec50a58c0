/* kernels.h - small dense numeric kernels of the drift model.
 *
 * Plain functions over explicit lengths: no I/O, no allocation, no globals.
 * Shapes are given in brackets; matrices are row-major.
 */
#ifndef DRIFTLAB_KERNELS_H
#define DRIFTLAB_KERNELS_H

#include <stddef.h>

/* Returns sum_i a[i] * b[i] over n elements, accumulated in index order. */
double dl_dot(const double *a, const double *b, size_t n);

/* out[cols] = x[rows] * m[rows][cols] (a row vector times a matrix).
 * out must not overlap x or m. */
void dl_vec_mat(double *out, const double *x, const double *m,
                size_t rows, size_t cols);

/* p[n] = softmax(x[n] / temperature), computed as exp((x - max) / T) / sum
 * so no finite input overflows. Entries of -inf get probability 0.
 * Returns 0, or -1 (p untouched) when an input is NaN or +inf, when every
 * input is -inf, when n is 0, or when temperature is not a finite number
 * > 0. p and x may be the same array. */
int dl_softmax(double *p, const double *x, size_t n, double temperature);

/* Returns the Shannon entropy -sum p log p in nats, with 0 log 0 = 0. */
double dl_entropy(const double *p, size_t n);

/* Returns dl_entropy(p, n) / ln(n), in [0, 1]; 0 when n is 1. */
double dl_entropy_normalised(const double *p, size_t n);

/* Returns the index of the largest x[i]; ties go to the lowest index.
 * NaN entries are never chosen. Returns n when n is 0 or all are NaN. */
size_t dl_argmax(const double *x, size_t n);

#endif
