/* test_summary.c - statistics over seeds against numpy.
 *
 * Expected values were printed by numpy 1.24 for the matrix `values`
 * below: values.mean(0), values.std(0, ddof=1) and
 * numpy.percentile(values, q, axis=0) with the default linear method.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "summary.h"

/* 5 seeds x 2 steps */
static const double values[10] = {0.9, 0.1, 0.3, 0.7, 0.5, 0.5, 0.2, 0.65, 0.8, 0.05};

static void mean_matches_numpy(void **state)
{
    (void)state;
    double out[2];
    dl_summary_mean(out, values, 5, 2);
    assert_float_equal(out[0], 0.54, 1e-15);
    assert_float_equal(out[1], 0.39999999999999997, 1e-15);
}

static void sd_is_sample_sd_as_numpy_ddof_1(void **state)
{
    (void)state;
    double out[2];
    dl_summary_sd(out, values, 5, 2);
    assert_float_equal(out[0], 0.30495901363953815, 1e-15);
    assert_float_equal(out[1], 0.30618621784789724, 1e-15);
}

static void sd_of_one_seed_is_nan(void **state)
{
    (void)state;
    double out[2];
    dl_summary_sd(out, values, 1, 2);
    assert_true(isnan(out[0]));
    assert_true(isnan(out[1]));
}

static void percentiles_match_numpy_linear_method(void **state)
{
    (void)state;
    double out[2], work[5];
    dl_summary_percentile(out, values, 5, 2, 10, work);
    assert_float_equal(out[0], 0.24, 1e-15);
    assert_float_equal(out[1], 0.07, 1e-15);
    dl_summary_percentile(out, values, 5, 2, 50, work);
    assert_true(out[0] == 0.5);
    assert_true(out[1] == 0.5);
    dl_summary_percentile(out, values, 5, 2, 90, work);
    assert_float_equal(out[0], 0.8600000000000001, 1e-15);
    assert_float_equal(out[1], 0.6799999999999999, 1e-15);
}

static void percentiles_interpolate_between_order_statistics(void **state)
{
    (void)state;
    const double four[4] = {4.0, 1.0, 3.0, 2.0};
    const double q[5] = {0, 10, 50, 90, 100};
    const double expected[5] = {1.0, 1.3, 2.5, 3.7, 4.0};
    double out, work[4];
    for (int i = 0; i < 5; i++) {
        dl_summary_percentile(&out, four, 4, 1, q[i], work);
        assert_float_equal(out, expected[i], 1e-15);
    }
}

static void percentile_of_one_seed_is_that_seed(void **state)
{
    (void)state;
    double out[2], work[1];
    dl_summary_percentile(out, values, 1, 2, 90, work);
    assert_true(out[0] == 0.9);
    assert_true(out[1] == 0.1);
}

static void half_life_is_first_step_below_threshold(void **state)
{
    (void)state;
    const double series[5] = {0.9, 0.6, 0.5, 0.49, 0.2};
    /* 0.5 itself is not below 0.5 */
    assert_true(dl_half_life(series, 5, 0.5) == 3.0);
    assert_true(dl_half_life(series, 5, 0.95) == 0.0);
    assert_true(isnan(dl_half_life(series, 5, 0.1)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mean_matches_numpy),
        cmocka_unit_test(sd_is_sample_sd_as_numpy_ddof_1),
        cmocka_unit_test(sd_of_one_seed_is_nan),
        cmocka_unit_test(percentiles_match_numpy_linear_method),
        cmocka_unit_test(percentiles_interpolate_between_order_statistics),
        cmocka_unit_test(percentile_of_one_seed_is_that_seed),
        cmocka_unit_test(half_life_is_first_step_below_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
