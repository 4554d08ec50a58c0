/* test_lora_linalg.c - the CBLAS and LAPACKE wrappers against plain loops.
 *
 * Products are compared with a triple loop that adds in index order.
 * BLAS adds in another order, so the tolerance is relative. The rounding
 * of a k-term dot product is below k * 2^-53 times the sum of the
 * absolute terms, which is under 1e-14 of that sum for the sizes here.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assert_near.h"
#include "lora_linalg.h"
#include "stream.h"

static void fill_normals(double *out, size_t count, const char *message)
{
    dl_stream stream;
    dl_stream_init_message(&stream, message, strlen(message));
    for (size_t i = 0; i < count; i++)
        out[i] = dl_stream_normal(&stream);
}

/* op(a)[i][p] for a stored row-major with stored_cols columns */
static double entry(const double *a, dl_linalg_transpose t, size_t i, size_t p,
                    size_t stored_cols)
{
    return t == DL_LINALG_TRANSPOSE ? a[p * stored_cols + i] : a[i * stored_cols + p];
}

/* ---- gemm ---- */

static void gemm_matches_plain_product(void **state)
{
    (void)state;
    enum { M = 7, N = 5, K = 6 };
    double a[M * K], b[K * N], c0[M * N], c[M * N];
    fill_normals(a, M * K, "gemm a");
    fill_normals(b, K * N, "gemm b");
    fill_normals(c0, M * N, "gemm c");

    for (int ta = 0; ta < 2; ta++) {
        for (int tb = 0; tb < 2; tb++) {
            dl_linalg_transpose transpose_a = (dl_linalg_transpose)ta;
            dl_linalg_transpose transpose_b = (dl_linalg_transpose)tb;
            memcpy(c, c0, sizeof c);
            dl_error err = {{0}};
            assert_int_equal(dl_linalg_gemm(c, a, transpose_a, b, transpose_b,
                                            M, N, K, 0.5, -2.0, &err), 0);

            for (size_t i = 0; i < M; i++) {
                for (size_t j = 0; j < N; j++) {
                    double sum = 0.0, magnitude = 0.0;
                    for (size_t p = 0; p < K; p++) {
                        double term = entry(a, transpose_a, i, p, ta ? M : K) *
                                      entry(b, transpose_b, p, j, tb ? K : N);
                        sum += term;
                        magnitude += fabs(term);
                    }
                    double expected = 0.5 * sum - 2.0 * c0[i * N + j];
                    double bound = 1e-14 * (magnitude + fabs(c0[i * N + j]));
                    assert_near(c[i * N + j], expected, bound);
                }
            }
        }
    }
}

static void gemm_with_beta_zero_ignores_output(void **state)
{
    (void)state;
    const double a[2 * 2] = {1.0, 2.0, 3.0, 4.0};
    const double b[2 * 1] = {1.0, -1.0};
    double c[2] = {NAN, INFINITY};
    dl_error err = {{0}};

    assert_int_equal(dl_linalg_gemm(c, a, DL_LINALG_NO_TRANSPOSE, b,
                                    DL_LINALG_NO_TRANSPOSE, 2, 1, 2, 1.0, 0.0, &err), 0);
    assert_true(c[0] == -1.0);
    assert_true(c[1] == -1.0);
}

static void gemm_rejects_sizes_beyond_int(void **state)
{
    (void)state;
    dl_error err = {{0}};
    size_t huge = (size_t)INT_MAX + 1;

    assert_int_equal(dl_linalg_gemm(NULL, NULL, DL_LINALG_NO_TRANSPOSE, NULL,
                                    DL_LINALG_NO_TRANSPOSE, huge, 1, 1, 1.0, 0.0,
                                    &err), -1);
    assert_non_null(strstr(err.message, "m = 2147483648 is too large"));
}

/* ---- QR ---- */

static void orthonormalize_gives_orthonormal_columns(void **state)
{
    (void)state;
    enum { ROWS = 9, COLS = 4 };
    double original[ROWS * COLS], q[ROWS * COLS];
    fill_normals(original, ROWS * COLS, "qr input");
    memcpy(q, original, sizeof q);
    dl_error err = {{0}};

    assert_int_equal(dl_linalg_orthonormalize(q, ROWS, COLS, &err), 0);

    /* Q^T Q = I */
    for (size_t a = 0; a < COLS; a++)
        for (size_t b = 0; b < COLS; b++) {
            double dot = 0.0;
            for (size_t i = 0; i < ROWS; i++)
                dot += q[i * COLS + a] * q[i * COLS + b];
            assert_near(dot, a == b ? 1.0 : 0.0, 1e-14);
        }

    /* R = Q^T M is upper triangular with a positive diagonal, so column j
     * of M lies in the span of Q's first j + 1 columns */
    for (size_t a = 0; a < COLS; a++)
        for (size_t b = 0; b <= a; b++) {
            double r = 0.0;
            for (size_t i = 0; i < ROWS; i++)
                r += q[i * COLS + a] * original[i * COLS + b];
            if (b < a)
                assert_near(r, 0.0, 1e-13);
            else
                assert_true(r > 0.0);
        }
}

static void orthonormalize_rejects_wide_matrix(void **state)
{
    (void)state;
    double m[2 * 3] = {0};
    dl_error err = {{0}};

    assert_int_equal(dl_linalg_orthonormalize(m, 2, 3, &err), -1);
    assert_string_equal(err.message, "QR of a 2 x 3 matrix is invalid: need "
                        "rows >= columns >= 1");
}

/* ---- SVD ---- */

static void svd_reconstructs_matrix(void **state)
{
    (void)state;
    enum { ROWS = 6, COLS = 4, K = 4 };
    double original[ROWS * COLS], a[ROWS * COLS];
    double s[K], u[ROWS * K], vt[K * COLS], values_only[K];
    fill_normals(original, ROWS * COLS, "svd input");
    dl_error err = {{0}};

    memcpy(a, original, sizeof a);
    assert_int_equal(dl_linalg_svd(s, u, vt, a, ROWS, COLS, &err), 0);
    for (size_t i = 0; i + 1 < K; i++)
        assert_true(s[i] >= s[i + 1]);
    assert_true(s[K - 1] >= 0.0);

    for (size_t i = 0; i < ROWS; i++)
        for (size_t j = 0; j < COLS; j++) {
            double sum = 0.0;
            for (size_t p = 0; p < K; p++)
                sum += u[i * K + p] * s[p] * vt[p * COLS + j];
            assert_near(sum, original[i * COLS + j], 1e-13);
        }

    memcpy(a, original, sizeof a);
    assert_int_equal(dl_linalg_svd(values_only, NULL, NULL, a, ROWS, COLS, &err), 0);
    for (size_t i = 0; i < K; i++)
        assert_near(values_only[i], s[i], 1e-13 * s[0]);
}

static void svd_reports_nan_input(void **state)
{
    (void)state;
    double a[2 * 2] = {1.0, NAN, 0.0, 1.0};
    double s[2];
    dl_error err = {{0}};

    assert_int_equal(dl_linalg_svd(s, NULL, NULL, a, 2, 2, &err), -1);
    assert_string_equal(err.message, "SVD of a 2 x 2 matrix failed: the matrix "
                        "contains NaN");
}

static void frobenius_adds_squares(void **state)
{
    (void)state;
    const double a[3] = {3.0, 4.0, 12.0};
    const double b[3] = {3.0, 0.0, 0.0};

    assert_true(dl_linalg_frobenius(a, 3) == 13.0);
    assert_true(dl_linalg_frobenius_distance(a, b, 3) == sqrt(160.0));
    assert_true(dl_linalg_frobenius(a, 0) == 0.0);
}

/* Entries of 1e200 square to infinity and 1e-200 to 0, but their norms
 * are finite and nonzero: 13e200 and 13e-200 for (3, 4, 12) scaled. */
static void frobenius_neither_overflows_nor_underflows(void **state)
{
    (void)state;
    double big[3] = {3e200, -4e200, 12e200}, small[3] = {3e-200, 4e-200, -12e-200};
    double zero[3] = {0.0, 0.0, 0.0};
    assert_near(dl_linalg_frobenius(big, 3), 13e200, 1e-15 * 13e200);
    assert_near(dl_linalg_frobenius(small, 3), 13e-200, 1e-15 * 13e-200);
    assert_near(dl_linalg_frobenius_distance(big, zero, 3), 13e200, 1e-15 * 13e200);
    assert_true(dl_linalg_frobenius(zero, 3) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_matches_plain_product),
        cmocka_unit_test(gemm_with_beta_zero_ignores_output),
        cmocka_unit_test(gemm_rejects_sizes_beyond_int),
        cmocka_unit_test(orthonormalize_gives_orthonormal_columns),
        cmocka_unit_test(orthonormalize_rejects_wide_matrix),
        cmocka_unit_test(svd_reconstructs_matrix),
        cmocka_unit_test(svd_reports_nan_input),
        cmocka_unit_test(frobenius_adds_squares),
        cmocka_unit_test(frobenius_neither_overflows_nor_underflows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
