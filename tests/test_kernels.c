/* test_kernels.c - unit tests of the dense kernels in kernels.c.
 *
 * Expected values are closed forms, hand computations or numpy values
 * (numpy 1.24, Debian 12) whose generating command is quoted next to them.
 * Sums in the numpy references run in a Python loop, in index order, as
 * the kernels add.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "assert_near.h"
#include "kernels.h"

static void check_same(double actual, double expected, const char *expression,
                       const char *file, int line)
{
    if (actual == expected)
        return;
    print_error("%s is %.17g, expected exactly %.17g\n", expression, actual,
                expected);
    _fail(file, line);
}

#define assert_same(actual, expected) \
    check_same((actual), (expected), #actual, __FILE__, __LINE__)

/* ---- dot product and vector-matrix product ---- */

static void dot_matches_hand_sum(void **state)
{
    (void)state;
    const double a[3] = {1.0, 2.0, 3.0};
    const double b[3] = {4.0, -5.0, 6.0};

    /* 4 - 10 + 18 */
    assert_same(dl_dot(a, b, 3), 12.0);
    assert_same(dl_dot(a, b, 0), 0.0);
}

static void dot_adds_in_index_order(void **state)
{
    (void)state;
    const double a[3] = {1.0, 1e100, -1e100};
    const double b[3] = {1.0, 1.0, 1.0};

    /* (1 + 1e100) rounds to 1e100, so index order gives exactly 0 where the
     * exact sum is 1: `python3 -c "print((1.0 + 1e100) - 1e100)"` -> 0.0. */
    assert_same(dl_dot(a, b, 3), 0.0);
}

static void vec_mat_matches_hand_product(void **state)
{
    (void)state;
    const double x[2] = {2.0, -1.0};
    const double m[2 * 3] = {
        1.0, 2.0, 3.0,
        4.0, 5.0, 6.0,
    };
    double out[3] = {99.0, 99.0, 99.0};

    /* (2*1 - 4, 2*2 - 5, 2*3 - 6) */
    dl_vec_mat(out, x, m, 2, 3);
    assert_same(out[0], -2.0);
    assert_same(out[1], -1.0);
    assert_same(out[2], 0.0);
}

static void vec_mat_with_no_rows_is_zero(void **state)
{
    (void)state;
    double out[2] = {7.0, 7.0};

    dl_vec_mat(out, NULL, NULL, 0, 2);
    assert_same(out[0], 0.0);
    assert_same(out[1], 0.0);
}

/* ---- softmax ---- */

static void softmax_survives_huge_logits(void **state)
{
    (void)state;
    double p[2];

    const double equal[2] = {1e300, 1e300};
    assert_int_equal(dl_softmax(p, equal, 2, 1.0), 0);
    assert_same(p[0], 0.5);
    assert_same(p[1], 0.5);

    /* 1e300 - (-1e300) is finite, and exp(-2e300) underflows to 0. */
    const double opposite[2] = {1e300, -1e300};
    assert_int_equal(dl_softmax(p, opposite, 2, 1.0), 0);
    assert_same(p[0], 1.0);
    assert_same(p[1], 0.0);

    /* The difference of the extremes overflows to -inf, and exp gives 0. */
    const double extremes[2] = {-1.7e308, 1.7e308};
    assert_int_equal(dl_softmax(p, extremes, 2, 0.5), 0);
    assert_same(p[0], 0.0);
    assert_same(p[1], 1.0);
}

static void softmax_gives_masked_items_zero(void **state)
{
    (void)state;
    const double x[3] = {-INFINITY, 0.0, -INFINITY};
    double p[3];

    assert_int_equal(dl_softmax(p, x, 3, 1.0), 0);
    assert_same(p[0], 0.0);
    assert_same(p[1], 1.0);
    assert_same(p[2], 0.0);

    const double mixed[4] = {-INFINITY, 1e300, -INFINITY, -1e300};
    double q[4];
    assert_int_equal(dl_softmax(q, mixed, 4, 1.0), 0);
    assert_same(q[0], 0.0);
    assert_same(q[1], 1.0);
    assert_same(q[2], 0.0);
    assert_same(q[3], 0.0);
}

/* Runs dl_softmax on x and checks that it fails and leaves p unchanged. */
static void expect_softmax_rejects(const double *x, size_t n,
                                   double temperature)
{
    double p[4] = {-7.0, -7.0, -7.0, -7.0};

    assert_int_equal(dl_softmax(p, x, n, temperature), -1);
    for (size_t i = 0; i < 4; i++)
        assert_same(p[i], -7.0);
}

static void softmax_rejects_all_masked(void **state)
{
    (void)state;
    const double x[3] = {-INFINITY, -INFINITY, -INFINITY};

    expect_softmax_rejects(x, 3, 1.0);
}

static void softmax_rejects_nan(void **state)
{
    (void)state;
    const double x[3] = {0.0, NAN, 1.0};

    expect_softmax_rejects(x, 3, 1.0);
}

static void softmax_rejects_positive_infinity(void **state)
{
    (void)state;
    const double x[3] = {0.0, 1.0, INFINITY};

    expect_softmax_rejects(x, 3, 1.0);
}

static void softmax_rejects_empty_input(void **state)
{
    (void)state;
    const double x[1] = {0.0};

    expect_softmax_rejects(x, 0, 1.0);
}

static void softmax_rejects_bad_temperature(void **state)
{
    (void)state;
    const double x[2] = {0.0, 1.0};

    expect_softmax_rejects(x, 2, 0.0);
    expect_softmax_rejects(x, 2, -1.0);
    expect_softmax_rejects(x, 2, NAN);
    expect_softmax_rejects(x, 2, INFINITY);
}

static void softmax_temperature_matches_closed_form(void **state)
{
    (void)state;
    const double x[3] = {0.0, log(2.0), log(4.0)};
    double p[3];

    /* T = 0.5 squares the weights 1, 2, 4 into 1, 4, 16. */
    assert_int_equal(dl_softmax(p, x, 3, 0.5), 0);
    assert_near(p[0], 1.0 / 21.0, 1e-15);
    assert_near(p[1], 4.0 / 21.0, 1e-15);
    assert_near(p[2], 16.0 / 21.0, 1e-15);

    /* T = 2 takes square roots: 1, sqrt 2, 2. */
    double sum = 3.0 + sqrt(2.0);
    assert_int_equal(dl_softmax(p, x, 3, 2.0), 0);
    assert_near(p[0], 1.0 / sum, 1e-15);
    assert_near(p[1], sqrt(2.0) / sum, 1e-15);
    assert_near(p[2], 2.0 / sum, 1e-15);
}

static void softmax_matches_numpy(void **state)
{
    (void)state;
    const double x[5] = {0.3, -1.2, 2.5, -INFINITY, 0.0};
    double p[5];

    /* /usr/bin/python3 -c "import numpy as np
     * x=np.array([0.3,-1.2,2.5,-np.inf,0.0]); e=np.exp((x-x.max())/0.7)
     * s=0.0
     * for v in e: s+=v
     * print([repr(float(v)) for v in e/s])" */
    const double expected[5] = {
        0.040098272007965174, 0.0047042958337949106, 0.9290758516327473,
        0.0, 0.026121580525492745,
    };

    assert_int_equal(dl_softmax(p, x, 5, 0.7), 0);
    for (size_t i = 0; i < 5; i++)
        assert_near(p[i], expected[i], 1e-16);
    assert_same(p[3], 0.0);
}

static void softmax_works_in_place(void **state)
{
    (void)state;
    double x[3] = {0.0, log(2.0), -INFINITY};

    /* Weights 1, 2, 0. */
    assert_int_equal(dl_softmax(x, x, 3, 1.0), 0);
    assert_near(x[0], 1.0 / 3.0, 1e-15);
    assert_near(x[1], 2.0 / 3.0, 1e-15);
    assert_same(x[2], 0.0);
}

/* ---- entropy ---- */

static void entropy_of_one_hot_is_zero(void **state)
{
    (void)state;
    const double p[4] = {0.0, 0.0, 1.0, 0.0};

    assert_same(dl_entropy(p, 4), 0.0);
    assert_same(dl_entropy_normalised(p, 4), 0.0);
    assert_false(signbit(dl_entropy(p, 4)));
}

static void entropy_of_uniform_is_one(void **state)
{
    (void)state;
    double p[38];

    /* Plain index-order summation keeps the ratio within 1e-15 of 1 up to
     * n = 38; larger n drift by about n ulp (see dl_entropy). */
    const size_t sizes[] = {2, 3, 4, 5, 7, 8, 10, 16, 32, 38};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (size_t i = 0; i < n; i++)
            p[i] = 1.0 / (double)n;
        assert_near(dl_entropy_normalised(p, n), 1.0, 1e-15);
        assert_near(dl_entropy(p, n), log((double)n), 1e-15 * log((double)n));
    }
}

static void entropy_of_known_distribution(void **state)
{
    (void)state;

    /* -(1/2 ln 1/2 + 2 * 1/4 ln 1/4) = 1.5 ln 2. The zero adds nothing. */
    const double halves[4] = {0.5, 0.25, 0.0, 0.25};
    assert_near(dl_entropy(halves, 4), 1.5 * log(2.0), 1e-15);

    /* /usr/bin/python3 -c "import numpy as np
     * h=0.0
     * for v in [0.1,0.2,0.3,0.4]: h-=v*np.log(v)
     * print(repr(float(h)), repr(float(h/np.log(4))))" */
    const double q[4] = {0.1, 0.2, 0.3, 0.4};
    assert_near(dl_entropy(q, 4), 1.2798542258336676, 1e-15);
    assert_near(dl_entropy_normalised(q, 4), 0.9232196723355078, 1e-15);
}

static void entropy_normalised_of_one_item_is_zero(void **state)
{
    (void)state;
    const double p[1] = {1.0};

    assert_same(dl_entropy_normalised(p, 1), 0.0);
    assert_same(dl_entropy_normalised(p, 0), 0.0);
}

static void entropy_normalised_stays_in_unit_interval(void **state)
{
    (void)state;
    double p[100];

    /* Index-order rounding puts the raw ratio for uniform n = 40 above 1
     * (by 1.1e-15 in a Python loop of the same sum), and the clamp keeps
     * it at 1. Any n must give a value in [0, 1]. */
    for (size_t n = 2; n <= 100; n++) {
        for (size_t i = 0; i < n; i++)
            p[i] = 1.0 / (double)n;
        double ratio = dl_entropy_normalised(p, n);
        assert_true(ratio >= 0.0);
        assert_true(ratio <= 1.0);
        if (n == 40)
            assert_same(ratio, 1.0);
    }
}

/* ---- argmax ---- */

static void argmax_ties_go_to_lowest_index(void **state)
{
    (void)state;
    const double x[5] = {1.0, 3.0, -2.0, 3.0, 3.0};

    assert_int_equal(dl_argmax(x, 5), 1);
}

static void argmax_skips_nan(void **state)
{
    (void)state;
    const double x[4] = {NAN, 2.0, NAN, 5.0};
    const double masked[3] = {-INFINITY, NAN, -INFINITY};

    assert_int_equal(dl_argmax(x, 4), 3);

    /* -inf is still a value, so an all-masked row returns its first item. */
    assert_int_equal(dl_argmax(masked, 3), 0);
}

static void argmax_without_candidates_returns_n(void **state)
{
    (void)state;
    const double x[3] = {NAN, NAN, NAN};

    assert_int_equal(dl_argmax(x, 3), 3);
    assert_int_equal(dl_argmax(x, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dot_matches_hand_sum),
        cmocka_unit_test(dot_adds_in_index_order),
        cmocka_unit_test(vec_mat_matches_hand_product),
        cmocka_unit_test(vec_mat_with_no_rows_is_zero),
        cmocka_unit_test(softmax_survives_huge_logits),
        cmocka_unit_test(softmax_gives_masked_items_zero),
        cmocka_unit_test(softmax_rejects_all_masked),
        cmocka_unit_test(softmax_rejects_nan),
        cmocka_unit_test(softmax_rejects_positive_infinity),
        cmocka_unit_test(softmax_rejects_empty_input),
        cmocka_unit_test(softmax_rejects_bad_temperature),
        cmocka_unit_test(softmax_temperature_matches_closed_form),
        cmocka_unit_test(softmax_matches_numpy),
        cmocka_unit_test(softmax_works_in_place),
        cmocka_unit_test(entropy_of_one_hot_is_zero),
        cmocka_unit_test(entropy_of_uniform_is_one),
        cmocka_unit_test(entropy_of_known_distribution),
        cmocka_unit_test(entropy_normalised_of_one_item_is_zero),
        cmocka_unit_test(entropy_normalised_stays_in_unit_interval),
        cmocka_unit_test(argmax_ties_go_to_lowest_index),
        cmocka_unit_test(argmax_skips_nan),
        cmocka_unit_test(argmax_without_candidates_returns_n),
    };

    /* The return value is the number of failed tests, so any failure gives
     * a non-zero exit status. */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
