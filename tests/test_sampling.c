/* test_sampling.c - unit tests of the sampling pipeline in sampling.c.
 *
 * Filters are tested on distributions of powers of two, so every kept
 * probability and every renormalised value is a ratio whose correctly
 * rounded double the test can write down by hand. dl_sample is tested on
 * logits chosen as logarithms of integer weights, so the distribution after
 * the filters is a ratio of integers. With u = (i + 0.5) / N for i < N the
 * number of draws of each item is then exactly N times its probability.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sampling.h"

#define MAX_ITEMS 16

/* cmocka's assert_float_equal converts to float, so doubles get their own
 * check that prints all 17 significant digits. */
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

/* Scratch arrays for up to MAX_ITEMS items, fresh for every test. */
typedef struct {
    double logits[MAX_ITEMS];
    double p[MAX_ITEMS];
    size_t order[MAX_ITEMS];
    dl_sampler_work work;
} scratch;

static void scratch_init(scratch *s)
{
    memset(s, 0, sizeof *s);
    s->work.logits = s->logits;
    s->work.p = s->p;
    s->work.order = s->order;
}

/* A sampler with every option off at the given temperature. */
static dl_sampler plain_sampler(double temperature)
{
    dl_sampler sampler = {
        .temperature = temperature,
        .top_k = 0,
        .top_p = 1.0,
        .min_p = 0.0,
        .repetition_penalty = 1.0,
    };
    return sampler;
}

/* ---- repetition penalty ---- */

static void penalty_divides_positive_multiplies_rest(void **state)
{
    (void)state;
    double logits[6] = {2.0, -2.0, 0.0, -INFINITY, 3.0, 1.5};
    const uint8_t seen[6] = {1, 1, 1, 1, 0, 1};

    dl_apply_repetition_penalty(logits, seen, 6, 2.0);
    assert_same(logits[0], 1.0);
    assert_same(logits[1], -4.0);
    assert_same(logits[2], 0.0);
    assert_same(logits[3], -INFINITY);
    assert_same(logits[4], 3.0);
    assert_same(logits[5], 0.75);
}

static void penalty_below_one_favours_seen_items(void **state)
{
    (void)state;
    double logits[3] = {2.0, -2.0, 0.0};
    const uint8_t seen[3] = {1, 1, 1};

    dl_apply_repetition_penalty(logits, seen, 3, 0.5);
    assert_same(logits[0], 4.0);
    assert_same(logits[1], -1.0);
    assert_same(logits[2], 0.0);
}

static void penalty_off_changes_nothing(void **state)
{
    (void)state;
    double logits[3] = {2.0, -2.0, 0.0};
    const uint8_t seen[3] = {1, 1, 1};

    dl_apply_repetition_penalty(logits, NULL, 3, 2.0);
    assert_same(logits[0], 2.0);
    assert_same(logits[1], -2.0);

    dl_apply_repetition_penalty(logits, seen, 3, 1.0);
    assert_same(logits[0], 2.0);
    assert_same(logits[1], -2.0);
    assert_same(logits[2], 0.0);
}

/* ---- top-k ---- */

static void top_k_one_keeps_only_the_max(void **state)
{
    (void)state;
    double p[4] = {0.25, 0.5, 0.125, 0.125};
    size_t order[4];

    dl_filter_top_k(p, 4, 1, order);
    assert_same(p[0], 0.0);
    assert_same(p[1], 1.0);
    assert_same(p[2], 0.0);
    assert_same(p[3], 0.0);
}

static void top_k_off_changes_nothing(void **state)
{
    (void)state;
    const double original[4] = {0.25, 0.5, 0.125, 0.125};
    const int ks[3] = {0, 4, 10};
    size_t order[4];

    for (size_t c = 0; c < 3; c++) {
        double p[4];
        memcpy(p, original, sizeof p);
        dl_filter_top_k(p, 4, ks[c], order);
        for (size_t i = 0; i < 4; i++)
            assert_same(p[i], original[i]);
    }
}

static void top_k_boundary_tie_keeps_lower_index(void **state)
{
    (void)state;
    double p[4] = {0.125, 0.5, 0.125, 0.25};
    size_t order[4];

    /* Items 0 and 2 tie for third place, and item 0 stays because of its
     * lower index. The kept mass is 7/8. */
    dl_filter_top_k(p, 4, 3, order);
    assert_same(p[0], 1.0 / 7.0);
    assert_same(p[1], 4.0 / 7.0);
    assert_same(p[2], 0.0);
    assert_same(p[3], 2.0 / 7.0);

    double uniform[5] = {0.2, 0.2, 0.2, 0.2, 0.2};
    size_t order5[5];
    dl_filter_top_k(uniform, 5, 2, order5);
    assert_same(uniform[0], 0.5);
    assert_same(uniform[1], 0.5);
    assert_same(uniform[2], 0.0);
    assert_same(uniform[3], 0.0);
    assert_same(uniform[4], 0.0);
}

/* ---- top-p ---- */

static void top_p_zero_keeps_top_item(void **state)
{
    (void)state;
    double p[3] = {0.25, 0.25, 0.5};
    size_t order[3];

    dl_filter_top_p(p, 3, 0.0, order);
    assert_same(p[0], 0.0);
    assert_same(p[1], 0.0);
    assert_same(p[2], 1.0);

    /* With a tie at the top the lower index is the top item. */
    double tied[3] = {0.375, 0.375, 0.25};
    dl_filter_top_p(tied, 3, 0.0, order);
    assert_same(tied[0], 1.0);
    assert_same(tied[1], 0.0);
    assert_same(tied[2], 0.0);
}

static void top_p_one_keeps_all(void **state)
{
    (void)state;
    const double original[4] = {0.25, 0.5, 0.125, 0.125};
    double p[4];
    size_t order[4];

    memcpy(p, original, sizeof p);
    dl_filter_top_p(p, 4, 1.0, order);
    for (size_t i = 0; i < 4; i++)
        assert_same(p[i], original[i]);
}

static void top_p_stops_once_mass_reaches_it(void **state)
{
    (void)state;
    size_t order[4];

    /* Mass before the third item is 0.75, not < 0.75, so it goes. */
    double at[4] = {0.5, 0.25, 0.125, 0.125};
    dl_filter_top_p(at, 4, 0.75, order);
    assert_same(at[0], 2.0 / 3.0);
    assert_same(at[1], 1.0 / 3.0);
    assert_same(at[2], 0.0);
    assert_same(at[3], 0.0);

    /* Just above 0.75 the third item stays, and of the tied pair only the
     * lower index, because the mass before item 3 is then 0.875. */
    double above[4] = {0.5, 0.25, 0.125, 0.125};
    dl_filter_top_p(above, 4, nextafter(0.75, 1.0), order);
    assert_same(above[0], 4.0 / 7.0);
    assert_same(above[1], 2.0 / 7.0);
    assert_same(above[2], 1.0 / 7.0);
    assert_same(above[3], 0.0);

    /* Tied items are walked lower index first: 0.5, then item 0. */
    double tied[3] = {0.25, 0.25, 0.5};
    dl_filter_top_p(tied, 3, 0.6, order);
    assert_same(tied[0], 1.0 / 3.0);
    assert_same(tied[1], 0.0);
    assert_same(tied[2], 2.0 / 3.0);
}

/* ---- min-p ---- */

static void min_p_keeps_items_at_threshold(void **state)
{
    (void)state;

    /* The threshold 0.25 * 0.5 = 0.125 equals the smallest items. */
    double p[4] = {0.125, 0.5, 0.25, 0.125};
    dl_filter_min_p(p, 4, 0.25);
    assert_same(p[0], 0.125);
    assert_same(p[1], 0.5);
    assert_same(p[2], 0.25);
    assert_same(p[3], 0.125);

    /* Threshold 0.25: item 2 sits on it and stays. */
    double q[4] = {0.125, 0.5, 0.25, 0.125};
    dl_filter_min_p(q, 4, 0.5);
    assert_same(q[0], 0.0);
    assert_same(q[1], 2.0 / 3.0);
    assert_same(q[2], 1.0 / 3.0);
    assert_same(q[3], 0.0);

    /* min_p = 1 keeps every item tied with the max. */
    double tied[3] = {0.375, 0.25, 0.375};
    dl_filter_min_p(tied, 3, 1.0);
    assert_same(tied[0], 0.5);
    assert_same(tied[1], 0.0);
    assert_same(tied[2], 0.5);
}

static void min_p_zero_changes_nothing(void **state)
{
    (void)state;
    double p[3] = {0.75, 0.25, 0.0};

    dl_filter_min_p(p, 3, 0.0);
    assert_same(p[0], 0.75);
    assert_same(p[1], 0.25);
    assert_same(p[2], 0.0);
}

static void filters_never_empty_distribution(void **state)
{
    (void)state;
    size_t order[5];

    /* The strictest settings of all three leave the top item alone. */
    double p[5] = {0.125, 0.25, 0.25, 0.0, 0.375};
    dl_filter_top_k(p, 5, 1, order);
    dl_filter_top_p(p, 5, 0.0, order);
    dl_filter_min_p(p, 5, 1.0);
    assert_same(p[0], 0.0);
    assert_same(p[1], 0.0);
    assert_same(p[2], 0.0);
    assert_same(p[3], 0.0);
    assert_same(p[4], 1.0);

    /* Through dl_sample with a tie at the max, top_k = 1 keeps item 1, so
     * every u draws it. */
    scratch s;
    scratch_init(&s);
    dl_sampler sampler = plain_sampler(1.0);
    sampler.top_k = 1;
    sampler.top_p = 0.0;
    sampler.min_p = 1.0;
    const double logits[5] = {0.5, 2.0, 2.0, -INFINITY, 1.0};
    for (int i = 0; i < 100; i++) {
        size_t chosen = 99;
        dl_error err = {{0}};
        double u = (i + 0.5) / 100.0;
        assert_int_equal(dl_sample(&sampler, logits, NULL, 5, u, &s.work,
                                   &chosen, &err), 0);
        assert_int_equal(chosen, 1);
    }
}

/* ---- temperature 0 ---- */

static void temperature_zero_takes_first_argmax(void **state)
{
    (void)state;
    scratch s;
    scratch_init(&s);
    dl_sampler sampler = plain_sampler(0.0);
    dl_error err = {{0}};
    size_t chosen = 99;

    /* The filters are skipped at temperature 0, and of the tied items 1
     * and 2 the lower index wins. */
    sampler.top_k = 1;
    sampler.top_p = 0.0;
    sampler.min_p = 1.0;
    const double logits[4] = {1.0, 3.0, 3.0, -INFINITY};
    assert_int_equal(dl_sample(&sampler, logits, NULL, 4, 0.99, &s.work,
                               &chosen, &err), 0);
    assert_int_equal(chosen, 1);
}

static void temperature_zero_uses_penalised_logits(void **state)
{
    (void)state;
    scratch s;
    scratch_init(&s);
    dl_sampler sampler = plain_sampler(0.0);
    sampler.repetition_penalty = 2.0;
    dl_error err = {{0}};
    size_t chosen = 99;

    /* Item 1 drops from 3 to 1.5, so item 2 is the argmax. */
    const double logits[4] = {1.0, 3.0, 3.0, -INFINITY};
    const uint8_t seen[4] = {0, 1, 0, 1};
    assert_int_equal(dl_sample(&sampler, logits, seen, 4, 0.0, &s.work,
                               &chosen, &err), 0);
    assert_int_equal(chosen, 2);

    /* A seen negative logit is multiplied: item 1 goes from -0.5 to -1.5
     * and loses to item 0 at -1. */
    sampler.repetition_penalty = 3.0;
    const double negative[3] = {-1.0, -0.5, -INFINITY};
    const uint8_t seen_second[3] = {0, 1, 0};
    assert_int_equal(dl_sample(&sampler, negative, seen_second, 3, 0.0,
                               &s.work, &chosen, &err), 0);
    assert_int_equal(chosen, 0);
}

/* ---- categorical draw ---- */

static void draw_with_u_zero_takes_first_positive_item(void **state)
{
    (void)state;
    const double p[5] = {0.0, 0.0, 0.5, 0.0, 0.5};

    assert_int_equal(dl_draw_categorical(p, 5, 0.0), 2);
}

static void draw_just_below_one_takes_last_positive_item(void **state)
{
    (void)state;
    const double p[5] = {0.25, 0.0, 0.75, 0.0, 0.0};
    double u = nextafter(1.0, 0.0);

    assert_int_equal(dl_draw_categorical(p, 5, u), 2);
}

static void draw_never_picks_zero_mass_item(void **state)
{
    (void)state;
    const double p[8] = {0.0, 0.25, 0.0, 0.0, 0.5, 0.0, 0.25, 0.0};

    /* On a cumulative boundary the target is not exceeded yet, so the
     * draw moves on to the next item with mass. */
    assert_int_equal(dl_draw_categorical(p, 8, 0.25), 4);
    assert_int_equal(dl_draw_categorical(p, 8, 0.75), 6);
    assert_int_equal(dl_draw_categorical(p, 8, nextafter(0.25, 0.0)), 1);

    for (int i = 0; i < 1000; i++) {
        double u = i / 1000.0;
        size_t item = dl_draw_categorical(p, 8, u);
        assert_true(item < 8);
        assert_true(p[item] > 0.0);
    }
}

static void draw_at_u_one_falls_back_to_last_positive(void **state)
{
    (void)state;
    const double p[5] = {0.25, 0.0, 0.75, 0.0, 0.0};

    /* u = 1 is outside the contract. It reproduces the case where u * total
     * rounds up to the total, so no cumulative sum exceeds the target. */
    assert_int_equal(dl_draw_categorical(p, 5, 1.0), 2);
}

static void draw_without_mass_returns_n(void **state)
{
    (void)state;
    const double p[3] = {0.0, 0.0, 0.0};

    assert_int_equal(dl_draw_categorical(p, 3, 0.5), 3);
}

/* ---- dl_sample frequencies ---- */

/* Draws N times with u = (i + 0.5) / N and checks each item's count. */
static void expect_counts(const dl_sampler *sampler, const double *logits,
                          const uint8_t *seen, size_t n, int draws,
                          const int *expected)
{
    scratch s;
    scratch_init(&s);
    int counts[MAX_ITEMS] = {0};

    for (int i = 0; i < draws; i++) {
        size_t chosen = MAX_ITEMS;
        dl_error err = {{0}};
        double u = (i + 0.5) / draws;
        int status = dl_sample(sampler, logits, seen, n, u, &s.work, &chosen,
                               &err);
        if (status != 0)
            fail_msg("dl_sample failed at u = %.17g: %s", u, err.message);
        assert_true(chosen < n);
        counts[chosen]++;
    }

    for (size_t item = 0; item < n; item++) {
        if (counts[item] != expected[item])
            fail_msg("item %zu was drawn %d times, expected %d", item,
                     counts[item], expected[item]);
    }
}

static void sample_frequencies_match_softmax(void **state)
{
    (void)state;
    dl_sampler sampler = plain_sampler(1.0);

    /* Weights 1, 0, 2, 1 out of 4. */
    const double logits[4] = {0.0, -INFINITY, log(2.0), 0.0};
    const int expected[4] = {100, 0, 200, 100};
    expect_counts(&sampler, logits, NULL, 4, 400, expected);
}

static void sample_frequencies_match_filtered_distribution(void **state)
{
    (void)state;
    dl_sampler sampler = {
        .temperature = 2.0,
        .top_k = 5,
        .top_p = 0.9,
        .min_p = 0.2,
        .repetition_penalty = 3.0,
    };

    /* After the penalty (items 0, 2, 4 and 6 seen) and T = 2 the weights
     * exp(logit / 2) are 8, 4, 0, 2, 1, 1 and 1/2 (total 16.5).
     * top_k = 5 drops the 1/2: 8, 4, 2, 1, 1 out of 16.
     * top_p = 0.9 keeps 8, 4, 2 and the first 1 (mass before it 14/16 <
     * 0.9, after it 15/16): 8, 4, 2, 1 out of 15.
     * min_p = 0.2 sets the threshold at 0.2 * 8/15 = 1.6/15 and drops the
     * 1: 8, 4, 2 out of 14, so 1400 draws give 800, 400 and 200. */
    const double logits[7] = {
        6.0 * log(8.0),         /* seen, positive: / 3 -> 2 ln 8 */
        2.0 * log(4.0),
        -INFINITY,              /* seen, masked: stays -inf */
        2.0 * log(2.0),
        0.0,                    /* seen, zero: stays 0 */
        0.0,
        2.0 * log(0.5) / 3.0,   /* seen, negative: * 3 -> 2 ln 1/2 */
    };
    const uint8_t seen[7] = {1, 0, 1, 0, 1, 0, 1};
    const int expected[7] = {800, 400, 0, 200, 0, 0, 0};
    expect_counts(&sampler, logits, seen, 7, 1400, expected);
}

/* ---- errors ---- */

/* Runs dl_sample, expecting failure with exactly the given message and
 * *chosen left alone. */
static void expect_sample_error(const dl_sampler *sampler,
                                const double *logits, const uint8_t *seen,
                                size_t n, double u, const char *message)
{
    scratch s;
    scratch_init(&s);
    dl_error err = {{0}};
    size_t chosen = 77;

    assert_int_equal(dl_sample(sampler, logits, seen, n, u, &s.work, &chosen,
                               &err), -1);
    assert_string_equal(err.message, message);
    assert_int_equal(chosen, 77);
}

static void sample_rejects_nan_logit(void **state)
{
    (void)state;
    dl_sampler sampler = plain_sampler(1.0);
    const double logits[5] = {0.0, 1.0, -INFINITY, NAN, 2.0};
    const double negative_nan[2] = {0.0, -NAN};

    expect_sample_error(&sampler, logits, NULL, 5, 0.5,
                        "logit of item 3 is nan: logits must be finite or -inf");

    /* A NaN with its sign bit set is reported the same way. */
    expect_sample_error(&sampler, negative_nan, NULL, 2, 0.5,
                        "logit of item 1 is nan: logits must be finite or -inf");
}

static void sample_rejects_positive_infinity(void **state)
{
    (void)state;
    dl_sampler sampler = plain_sampler(0.0);
    const double logits[3] = {0.0, INFINITY, 1.0};

    expect_sample_error(&sampler, logits, NULL, 3, 0.5,
                        "logit of item 1 is inf: logits must be finite or -inf");
}

static void sample_rejects_all_masked(void **state)
{
    (void)state;
    dl_sampler sampler = plain_sampler(1.0);
    const double logits[3] = {-INFINITY, -INFINITY, -INFINITY};

    expect_sample_error(&sampler, logits, NULL, 3, 0.5,
                        "every item is masked (-inf): nothing to sample");

    sampler.temperature = 0.0;
    expect_sample_error(&sampler, logits, NULL, 3, 0.5,
                        "every item is masked (-inf): nothing to sample");
}

static void sample_rejects_penalty_overflow(void **state)
{
    (void)state;
    dl_sampler sampler = plain_sampler(1.0);
    const uint8_t seen[2] = {1, 1};

    /* 1e308 / 0.5 and -1e308 * 10 both leave the double range. */
    sampler.repetition_penalty = 0.5;
    const double large[2] = {1e308, 0.0};
    expect_sample_error(&sampler, large, seen, 2, 0.5,
                        "logit of item 0 is inf after the repetition penalty: "
                        "logits must be finite or -inf");

    sampler.repetition_penalty = 10.0;
    const double small[2] = {-1e308, -INFINITY};
    expect_sample_error(&sampler, small, seen, 2, 0.5,
                        "every item is masked (-inf) after the repetition "
                        "penalty: nothing to sample");
}

static void sample_rejects_invalid_sampler(void **state)
{
    (void)state;
    const double logits[2] = {0.0, 1.0};
    dl_sampler sampler;

    sampler = plain_sampler(-1.0);
    expect_sample_error(&sampler, logits, NULL, 2, 0.5,
                        "sampler temperature -1 is invalid: it must be a "
                        "finite number >= 0");

    sampler = plain_sampler(INFINITY);
    expect_sample_error(&sampler, logits, NULL, 2, 0.5,
                        "sampler temperature inf is invalid: it must be a "
                        "finite number >= 0");

    sampler = plain_sampler(1.0);
    sampler.top_k = -2;
    expect_sample_error(&sampler, logits, NULL, 2, 0.5,
                        "sampler top_k -2 is invalid: it must be >= 0 "
                        "(0 turns it off)");

    sampler = plain_sampler(1.0);
    sampler.top_p = 1.5;
    expect_sample_error(&sampler, logits, NULL, 2, 0.5,
                        "sampler top_p 1.5 is invalid: it must be in [0, 1] "
                        "(1 turns it off)");

    sampler = plain_sampler(1.0);
    sampler.min_p = -0.25;
    expect_sample_error(&sampler, logits, NULL, 2, 0.5,
                        "sampler min_p -0.25 is invalid: it must be in [0, 1] "
                        "(0 turns it off)");

    sampler = plain_sampler(1.0);
    sampler.repetition_penalty = 0.0;
    expect_sample_error(&sampler, logits, NULL, 2, 0.5,
                        "sampler repetition_penalty 0 is invalid: it must be "
                        "a finite number > 0 (1 turns it off)");
}

static void sample_rejects_u_outside_unit_interval(void **state)
{
    (void)state;
    dl_sampler sampler = plain_sampler(1.0);
    const double logits[2] = {0.0, 1.0};

    expect_sample_error(&sampler, logits, NULL, 2, 1.0,
                        "uniform draw u = 1 is invalid: it must be in [0, 1)");
    expect_sample_error(&sampler, logits, NULL, 2, -0.5,
                        "uniform draw u = -0.5 is invalid: it must be in "
                        "[0, 1)");
}

static void sample_rejects_zero_items(void **state)
{
    (void)state;
    dl_sampler sampler = plain_sampler(1.0);
    const double logits[1] = {0.0};

    expect_sample_error(&sampler, logits, NULL, 0, 0.5,
                        "cannot sample from 0 items: n must be at least 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(penalty_divides_positive_multiplies_rest),
        cmocka_unit_test(penalty_below_one_favours_seen_items),
        cmocka_unit_test(penalty_off_changes_nothing),
        cmocka_unit_test(top_k_one_keeps_only_the_max),
        cmocka_unit_test(top_k_off_changes_nothing),
        cmocka_unit_test(top_k_boundary_tie_keeps_lower_index),
        cmocka_unit_test(top_p_zero_keeps_top_item),
        cmocka_unit_test(top_p_one_keeps_all),
        cmocka_unit_test(top_p_stops_once_mass_reaches_it),
        cmocka_unit_test(min_p_keeps_items_at_threshold),
        cmocka_unit_test(min_p_zero_changes_nothing),
        cmocka_unit_test(filters_never_empty_distribution),
        cmocka_unit_test(temperature_zero_takes_first_argmax),
        cmocka_unit_test(temperature_zero_uses_penalised_logits),
        cmocka_unit_test(draw_with_u_zero_takes_first_positive_item),
        cmocka_unit_test(draw_just_below_one_takes_last_positive_item),
        cmocka_unit_test(draw_never_picks_zero_mass_item),
        cmocka_unit_test(draw_at_u_one_falls_back_to_last_positive),
        cmocka_unit_test(draw_without_mass_returns_n),
        cmocka_unit_test(sample_frequencies_match_softmax),
        cmocka_unit_test(sample_frequencies_match_filtered_distribution),
        cmocka_unit_test(sample_rejects_nan_logit),
        cmocka_unit_test(sample_rejects_positive_infinity),
        cmocka_unit_test(sample_rejects_all_masked),
        cmocka_unit_test(sample_rejects_penalty_overflow),
        cmocka_unit_test(sample_rejects_invalid_sampler),
        cmocka_unit_test(sample_rejects_u_outside_unit_interval),
        cmocka_unit_test(sample_rejects_zero_items),
    };

    /* The return value is the number of failed tests, so any failure gives
     * a non-zero exit status. */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
