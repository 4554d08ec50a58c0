/* test_lora_metrics.c - KL, Eckart-Young, effective rank, amplification
 * and subspace similarity on hand cases and random factors.
 *
 * Hand values come from closed forms written next to them. The random
 * subspace test uses that for independent uniformly random subspaces of
 * dimensions i and j in R^N, E ||V_i^T V_j||_F^2 = i j / N, so phi(i, j)
 * averages max(i, j) / N.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assert_near.h"
#include "lora_linalg.h"
#include "lora_metrics.h"
#include "stream.h"

static void fill_normals(double *out, size_t count, const char *message)
{
    dl_stream stream;
    dl_stream_init_message(&stream, message, strlen(message));
    for (size_t i = 0; i < count; i++)
        out[i] = dl_stream_normal(&stream);
}

/* ---- KL ---- */

static void kl_of_identical_logits_is_zero(void **state)
{
    (void)state;
    double logits[2 * 5];
    fill_normals(logits, 10, "kl identical");

    assert_true(dl_lora_kl_mean(logits, logits, 2, 5) == 0.0);
}

static void kl_matches_two_class_hand_value(void **state)
{
    (void)state;
    /* KL((1/2, 1/2) || (1/4, 3/4)) = (1/2) ln 2 + (1/2) ln(2/3) = (1/2) ln(4/3);
     * the second row is identical and adds 0 to the mean */
    const double p[4] = {0.0, 0.0, 1.0, 2.0};
    const double q[4] = {0.0, log(3.0), 1.0, 2.0};

    assert_near(dl_lora_kl_mean(p, q, 2, 2), 0.25 * log(4.0 / 3.0), 1e-16);
}

static void kl_ignores_constant_shift_of_a_row(void **state)
{
    (void)state;
    double p[6], q[6], shifted[6];
    fill_normals(p, 6, "kl shift p");
    fill_normals(q, 6, "kl shift q");
    for (size_t i = 0; i < 6; i++)
        shifted[i] = q[i] + 7.0;

    assert_near(dl_lora_kl_mean(p, shifted, 1, 6), dl_lora_kl_mean(p, q, 1, 6), 1e-14);
}

/* ---- errors and spectra ---- */

static void relative_error_divides_by_target_norm(void **state)
{
    (void)state;
    const double target[2] = {3.0, 4.0};
    const double approx[2] = {3.0, 3.0};
    const double zero[2] = {0.0, 0.0};

    assert_true(dl_lora_relative_error(approx, target, 2) == 0.2);
    assert_true(isnan(dl_lora_relative_error(approx, zero, 2)));
}

static void eckart_young_error_keeps_the_tail(void **state)
{
    (void)state;
    const double sigma[3] = {3.0, 2.0, 1.0};

    assert_true(dl_lora_eckart_young_error(sigma, 3, 0) == 1.0);
    assert_near(dl_lora_eckart_young_error(sigma, 3, 1), sqrt(5.0 / 14.0), 1e-15);
    assert_near(dl_lora_eckart_young_error(sigma, 3, 2), sqrt(1.0 / 14.0), 1e-15);
    assert_true(dl_lora_eckart_young_error(sigma, 3, 3) == 0.0);
}

static void effective_rank_counts_equal_values(void **state)
{
    (void)state;
    const double equal[4] = {2.0, 2.0, 2.0, 2.0};
    const double single[3] = {5.0, 0.0, 0.0};
    const double zero[3] = {0.0, 0.0, 0.0};
    const double two_to_one[2] = {2.0, 1.0};

    assert_near(dl_lora_effective_rank(equal, 4), 4.0, 1e-14);
    assert_true(dl_lora_effective_rank(single, 3) == 1.0);
    assert_true(dl_lora_effective_rank(zero, 3) == 0.0);
    /* p = (2/3, 1/3): exp(-(2/3) ln(2/3) - (1/3) ln(1/3)) */
    double h = -(2.0 / 3.0) * log(2.0 / 3.0) - (1.0 / 3.0) * log(1.0 / 3.0);
    assert_near(dl_lora_effective_rank(two_to_one, 2), exp(h), 1e-15);
}

/* The optimum is a ratio, so singular values of 1e200 or 1e-200 give the
 * same value as of order 1: sqrt(4^2 / (3^2 + 4^2)) = 0.8 at rank 1. */
static void eckart_young_of_extreme_scales(void **state)
{
    (void)state;
    double big[2] = {3e200, 4e200}, small[2] = {4e-200, 3e-200};
    assert_near(dl_lora_eckart_young_error(big, 2, 1), 0.8, 1e-15);
    assert_near(dl_lora_eckart_young_error(small, 2, 1), 0.6, 1e-15);
}

static void amplification_of_one_entry_update(void **state)
{
    (void)state;
    /* update = 5 e_0 f_0^T has U = +-e_0 and V = +-f_0, so U^T W V = +-W[0][0] */
    double w[4 * 3], update[4 * 3] = {0};
    fill_normals(w, 12, "amplification base");
    update[0] = 5.0;
    double factor;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_amplification(&factor, update, w, 4, 3, 1, &err), 0);
    assert_near(factor, 5.0 / fabs(w[0]), 1e-13 * (5.0 / fabs(w[0])));

    memset(update, 0, sizeof update);
    assert_int_equal(dl_lora_amplification(&factor, update, w, 4, 3, 1, &err), 0);
    assert_true(factor == 0.0);

    assert_int_equal(dl_lora_amplification(&factor, update, w, 4, 3, 4, &err), -1);
    assert_string_equal(err.message, "amplification at rank 4 is invalid: must be "
                        "between 1 and min(D, N) = 3");
}

/* A rank-1 update measured at rank 2: its second singular value is
 * rounding, so its singular vectors are arbitrary. The factor must be the
 * rank-1 value sigma / |a^T W b| for U = sigma a b^T, whatever the SVD
 * returns for the second pair. */
static void amplification_ignores_rounding_directions(void **state)
{
    (void)state;
    double w[5 * 4], a[5], b[4], update[5 * 4];
    fill_normals(w, 20, "amplification base");
    fill_normals(a, 5, "amplification left");
    fill_normals(b, 4, "amplification right");
    double norm_a = 0, norm_b = 0;
    for (int i = 0; i < 5; i++)
        norm_a += a[i] * a[i];
    for (int j = 0; j < 4; j++)
        norm_b += b[j] * b[j];
    norm_a = sqrt(norm_a);
    norm_b = sqrt(norm_b);
    double projected = 0;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) {
            update[i * 4 + j] = 3.0 * a[i] * b[j];
            projected += a[i] / norm_a * w[i * 4 + j] * b[j] / norm_b;
        }
    double expected = 3.0 * norm_a * norm_b / fabs(projected);

    double factor;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_amplification(&factor, update, w, 5, 4, 2, &err), 0);
    assert_near(factor, expected, 1e-12 * expected);
    assert_int_equal(dl_lora_amplification(&factor, update, w, 5, 4, 4, &err), 0);
    assert_near(factor, expected, 1e-12 * expected);
}

/* ---- subspace similarity ---- */

enum { PHI_RANK = 8, PHI_COLS = 64 };

static void similarity_of_factor_with_itself_is_one(void **state)
{
    (void)state;
    double a[PHI_RANK * PHI_COLS], phi[PHI_RANK * PHI_RANK];
    fill_normals(a, PHI_RANK * PHI_COLS, "phi self");
    dl_error err = {{0}};

    assert_int_equal(dl_lora_subspace_similarity(phi, a, PHI_RANK, a, PHI_RANK,
                                                 PHI_COLS, &err), 0);
    double worst = 0.0;
    for (size_t i = 0; i < PHI_RANK * PHI_RANK; i++)
        if (fabs(phi[i] - 1.0) > worst)
            worst = fabs(phi[i] - 1.0);
    print_message("phi(A, A): largest |phi - 1| = %.3g\n", worst);
    assert_true(worst <= 1e-12);
}

static void similarity_of_independent_factors_is_max_over_n(void **state)
{
    (void)state;
    double a1[PHI_RANK * PHI_COLS], a2[PHI_RANK * PHI_COLS];
    double phi[PHI_RANK * PHI_RANK];
    fill_normals(a1, PHI_RANK * PHI_COLS, "phi first");
    fill_normals(a2, PHI_RANK * PHI_COLS, "phi second");
    dl_error err = {{0}};

    assert_int_equal(dl_lora_subspace_similarity(phi, a1, PHI_RANK, a2, PHI_RANK,
                                                 PHI_COLS, &err), 0);
    double deviation = 0.0, mean = 0.0, largest = 0.0;
    for (size_t i = 1; i <= PHI_RANK; i++)
        for (size_t j = 1; j <= PHI_RANK; j++) {
            double value = phi[(i - 1) * PHI_RANK + (j - 1)];
            double expected = (double)(i > j ? i : j) / PHI_COLS;
            deviation += fabs(value - expected);
            mean += value;
            if (value > largest)
                largest = value;
        }
    deviation /= PHI_RANK * PHI_RANK;
    mean /= PHI_RANK * PHI_RANK;
    print_message("phi of independent A (r = 8, N = 64): mean %.4f, mean "
                  "|phi - max(i, j)/N| %.4f, largest %.4f\n", mean, deviation, largest);
    assert_true(deviation <= 0.15);
    assert_true(largest < 0.5);
}

static void similarity_sees_contained_subspace(void **state)
{
    (void)state;
    /* a2 = M a1 lies in the row space of a1, so the full a1 subspace
     * contains every top-j subspace of a2: phi(8, j) = 1 */
    double a1[PHI_RANK * PHI_COLS], mixing[3 * PHI_RANK], a2[3 * PHI_COLS];
    double phi[PHI_RANK * 3];
    fill_normals(a1, PHI_RANK * PHI_COLS, "phi contained a1");
    fill_normals(mixing, 3 * PHI_RANK, "phi contained mixing");
    dl_error err = {{0}};
    assert_int_equal(dl_linalg_gemm(a2, mixing, DL_LINALG_NO_TRANSPOSE, a1,
                                    DL_LINALG_NO_TRANSPOSE, 3, PHI_COLS, PHI_RANK,
                                    1.0, 0.0, &err), 0);

    assert_int_equal(dl_lora_subspace_similarity(phi, a1, PHI_RANK, a2, 3, PHI_COLS,
                                                 &err), 0);
    for (size_t j = 0; j < 3; j++)
        assert_near(phi[(PHI_RANK - 1) * 3 + j], 1.0, 1e-12);
}

static void similarity_rejects_rank_above_columns(void **state)
{
    (void)state;
    double a[4 * 3] = {0}, phi[16];
    dl_error err = {{0}};

    assert_int_equal(dl_lora_subspace_similarity(phi, a, 4, a, 4, 3, &err), -1);
    assert_string_equal(err.message, "subspace similarity of factors of rank 4 and 4 "
                        "with 3 columns is invalid: each rank must be between 1 "
                        "and the column count");
}

static void softmax_rows_reports_nan_row(void **state)
{
    (void)state;
    const double logits[4] = {0.0, 1.0, NAN, 0.0};
    double probs[4];
    dl_error err = {{0}};

    assert_int_equal(dl_lora_softmax_rows(probs, logits, 2, 2, &err), -1);
    assert_string_equal(err.message, "softmax of row 1 failed: a logit is NaN or "
                        "+infinity");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kl_of_identical_logits_is_zero),
        cmocka_unit_test(kl_matches_two_class_hand_value),
        cmocka_unit_test(kl_ignores_constant_shift_of_a_row),
        cmocka_unit_test(relative_error_divides_by_target_norm),
        cmocka_unit_test(eckart_young_error_keeps_the_tail),
        cmocka_unit_test(effective_rank_counts_equal_values),
        cmocka_unit_test(eckart_young_of_extreme_scales),
        cmocka_unit_test(amplification_of_one_entry_update),
        cmocka_unit_test(amplification_ignores_rounding_directions),
        cmocka_unit_test(similarity_of_factor_with_itself_is_one),
        cmocka_unit_test(similarity_of_independent_factors_is_max_over_n),
        cmocka_unit_test(similarity_sees_contained_subspace),
        cmocka_unit_test(similarity_rejects_rank_above_columns),
        cmocka_unit_test(softmax_rows_reports_nan_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
