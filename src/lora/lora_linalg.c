/* lora_linalg.c - CBLAS and LAPACKE wrappers with checked sizes; see
 * lora_linalg.h. */
#include "lora_linalg.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_once_t one_thread_once = PTHREAD_ONCE_INIT;

static void set_one_thread(void)
{
    openblas_set_num_threads(1);
}

void dl_linalg_use_one_thread(void)
{
    pthread_once(&one_thread_once, set_one_thread);
}

/* Checks that a BLAS or LAPACK size fits the library's int. */
static int check_size(size_t value, const char *name, dl_error *err)
{
    if (value > (size_t)INT_MAX)
        return dl_error_set(err, "matrix size %s = %zu is too large: BLAS and "
                            "LAPACK accept at most %d", name, value, INT_MAX);
    return 0;
}

static size_t at_least_one(size_t value)
{
    return value > 0 ? value : 1;
}

int dl_linalg_gemm(double *c, const double *a, dl_linalg_transpose transpose_a,
                   const double *b, dl_linalg_transpose transpose_b,
                   size_t m, size_t n, size_t k, double alpha, double beta,
                   dl_error *err)
{
    if (check_size(m, "m", err) != 0 || check_size(n, "n", err) != 0 ||
        check_size(k, "k", err) != 0)
        return -1;
    if (m == 0 || n == 0)
        return 0;
    dl_linalg_use_one_thread();

    /* the leading dimension is the column count of the stored matrix */
    size_t lda = transpose_a == DL_LINALG_TRANSPOSE ? m : k;
    size_t ldb = transpose_b == DL_LINALG_TRANSPOSE ? k : n;
    cblas_dgemm(CblasRowMajor,
                transpose_a == DL_LINALG_TRANSPOSE ? CblasTrans : CblasNoTrans,
                transpose_b == DL_LINALG_TRANSPOSE ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, a, (int)at_least_one(lda),
                b, (int)at_least_one(ldb), beta, c, (int)n);
    return 0;
}

int dl_linalg_orthonormalize(double *m, size_t rows, size_t cols,
                             dl_error *err)
{
    if (cols == 0 || rows < cols)
        return dl_error_set(err, "QR of a %zu x %zu matrix is invalid: need "
                            "rows >= columns >= 1", rows, cols);
    if (check_size(rows, "rows", err) != 0 || check_size(cols, "cols", err) != 0)
        return -1;
    dl_linalg_use_one_thread();

    double *tau = malloc(cols * sizeof *tau);
    if (tau == NULL)
        return dl_error_set(err, "QR of a %zu x %zu matrix failed: out of memory",
                            rows, cols);

    int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (int)rows, (int)cols, m,
                              (int)cols, tau);
    if (info != 0) {
        free(tau);
        return dl_error_set(err, "QR of a %zu x %zu matrix failed: dgeqrf "
                            "returned %d", rows, cols, info);
    }

    /* remember the signs of R's diagonal before dorgqr overwrites it */
    signed char *sign = malloc(cols);
    if (sign == NULL) {
        free(tau);
        return dl_error_set(err, "QR of a %zu x %zu matrix failed: out of memory",
                            rows, cols);
    }
    for (size_t j = 0; j < cols; j++)
        sign[j] = m[j * cols + j] < 0.0 ? -1 : 1;

    info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (int)rows, (int)cols, (int)cols, m,
                          (int)cols, tau);
    free(tau);
    if (info != 0) {
        free(sign);
        return dl_error_set(err, "QR of a %zu x %zu matrix failed: dorgqr "
                            "returned %d", rows, cols, info);
    }

    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            if (sign[j] < 0)
                m[i * cols + j] = -m[i * cols + j];
    free(sign);
    return 0;
}

int dl_linalg_svd(double *s, double *u, double *vt, double *a,
                  size_t rows, size_t cols, dl_error *err)
{
    if (rows == 0 || cols == 0)
        return dl_error_set(err, "SVD of a %zu x %zu matrix is invalid: both "
                            "sizes must be >= 1", rows, cols);
    if (check_size(rows, "rows", err) != 0 || check_size(cols, "cols", err) != 0)
        return -1;
    if ((u == NULL) != (vt == NULL))
        return dl_error_set(err, "SVD of a %zu x %zu matrix is invalid: give "
                            "both singular vector outputs or neither", rows, cols);
    dl_linalg_use_one_thread();

    size_t k = rows < cols ? rows : cols;
    char job = u == NULL ? 'N' : 'S';
    int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, job, (int)rows, (int)cols, a,
                              (int)cols, s, u, (int)k, vt, (int)cols);
    if (info == -5)
        return dl_error_set(err, "SVD of a %zu x %zu matrix failed: the matrix "
                            "contains NaN", rows, cols);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return dl_error_set(err, "SVD of a %zu x %zu matrix failed: out of memory",
                            rows, cols);
    if (info > 0)
        return dl_error_set(err, "SVD of a %zu x %zu matrix failed: dgesdd did "
                            "not converge (info %d)", rows, cols, info);
    if (info != 0)
        return dl_error_set(err, "SVD of a %zu x %zu matrix failed: dgesdd "
                            "returned %d", rows, cols, info);
    return 0;
}

/* Returns sqrt(sum_i x_i^2) of x_i = a[i] - (b ? b[i] : 0), scaled by the
 * largest |x_i| so that squares of entries near 1e200 or 1e-200 neither
 * overflow nor underflow. Returns the largest |x_i| itself when it is 0
 * or not finite. */
static double scaled_norm(const double *a, const double *b, size_t count)
{
    double largest = 0.0;
    for (size_t i = 0; i < count; i++) {
        double x = fabs(b != NULL ? a[i] - b[i] : a[i]);
        if (!(x <= largest))
            largest = x; /* also takes a NaN, which then stays */
    }
    if (largest == 0.0 || !isfinite(largest))
        return largest;
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) {
        double x = (b != NULL ? a[i] - b[i] : a[i]) / largest;
        sum += x * x;
    }
    return largest * sqrt(sum);
}

double dl_linalg_frobenius(const double *a, size_t count)
{
    return scaled_norm(a, NULL, count);
}

double dl_linalg_frobenius_distance(const double *a, const double *b,
                                    size_t count)
{
    return scaled_norm(a, b, count);
}
