/* lora_linalg.h - thin wrappers over CBLAS and LAPACKE for the LoRA model.
 *
 * Every matrix is dense, row-major and contiguous: an m x n matrix is
 * m * n doubles, row i at offset i * n, so each leading dimension is the
 * column count of the stored matrix. Sizes are size_t here and are checked
 * against the 32-bit int that OpenBLAS (Debian's build) and LAPACKE use.
 *
 * Determinism: OpenBLAS splits a product over its own threads when it has
 * more than one, and the split changes the order of additions. Every
 * wrapper therefore first makes OpenBLAS single-threaded for the whole
 * process (openblas_set_num_threads(1), done once through pthread_once),
 * so a result depends only on its inputs and sizes, never on how many
 * threads OpenBLAS or the caller has. Callers may run the wrappers from
 * many OpenMP threads at once.
 *
 * NOTE: OpenBLAS picks its kernels for the CPU at run time, so results
 * are bit-identical on one machine but may differ in the last bits on
 * another CPU.
 */
#ifndef DRIFTLAB_LORA_LINALG_H
#define DRIFTLAB_LORA_LINALG_H

#include <stddef.h>

#include "error.h"

typedef enum {
    DL_LINALG_NO_TRANSPOSE = 0,
    DL_LINALG_TRANSPOSE = 1
} dl_linalg_transpose;

/* Makes OpenBLAS run every call on the calling thread only. Idempotent
 * and safe to call from several threads; the wrappers below call it
 * themselves, so callers need it only before using CBLAS directly. */
void dl_linalg_use_one_thread(void);

/* Computes c = alpha op(a) op(b) + beta c with cblas_dgemm, where op(a) is
 * m x k and op(b) is k x n:
 *   a: [m][k], or [k][m] when transpose_a is DL_LINALG_TRANSPOSE
 *   b: [k][n], or [n][k] when transpose_b is DL_LINALG_TRANSPOSE
 *   c: [m][n]
 * With beta = 0, c is not read (it may hold NaN). c must not overlap a or
 * b. Returns 0, or -1 with err set (c untouched) when a size exceeds
 * INT_MAX. */
int dl_linalg_gemm(double *c, const double *a, dl_linalg_transpose transpose_a,
                   const double *b, dl_linalg_transpose transpose_b,
                   size_t m, size_t n, size_t k, double alpha, double beta,
                   dl_error *err);

/* Replaces m [rows][cols] (rows >= cols >= 1) by the Q factor of its
 * Householder QR (LAPACKE dgeqrf then dorgqr), with column j multiplied
 * by the sign of R[j][j] (+1 when R[j][j] is 0). The columns come out
 * orthonormal, and the sign rule makes Q of a Gaussian matrix uniformly
 * (Haar) distributed. Allocates cols doubles for the reflector scalars
 * and frees them. Returns 0, or -1 with err set (m unspecified) when the
 * sizes are invalid, memory runs out or LAPACK reports an error. */
int dl_linalg_orthonormalize(double *m, size_t rows, size_t cols,
                             dl_error *err);

/* Computes the thin SVD a = u diag(s) vt with LAPACKE dgesdd, where
 * k = min(rows, cols):
 *   s:  [k] singular values, descending, >= 0
 *   u:  [rows][k] left singular vectors as columns, or NULL
 *   vt: [k][cols] right singular vectors as rows, or NULL
 *   a:  [rows][cols], overwritten
 * u and vt are both NULL (values only) or both given. LAPACKE allocates
 * its own workspace. Returns 0, or -1 with err set when a size is 0 or
 * exceeds INT_MAX, a contains NaN, memory runs out or the iteration does
 * not converge. */
int dl_linalg_svd(double *s, double *u, double *vt, double *a,
                  size_t rows, size_t cols, dl_error *err);

/* Returns sqrt(sum of a[i]^2) over count entries (the Frobenius norm of a
 * matrix of count entries), computed as m sqrt(sum (a[i] / m)^2) with m the
 * largest |a[i]| and the sum in index order, so that it neither overflows
 * nor underflows. */
double dl_linalg_frobenius(const double *a, size_t count);

/* Returns the Frobenius norm of a - b over count entries, scaled in the
 * same way. */
double dl_linalg_frobenius_distance(const double *a, const double *b,
                                    size_t count);

#endif
