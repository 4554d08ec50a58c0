/* test_plot_ticks.c - tick placement and labels on linear and log axes.
 *
 * Tick values are compared with ==: they are built as an integer scaled by
 * an exact power of ten in one rounding, so 0.2 must be the double nearest
 * to 0.2, the same double as the literal.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ticks.h"

#define MINUS "\xe2\x88\x92" /* U+2212 */

static void assert_labels(const plot_ticks *ticks, const char *const *expected, size_t n)
{
    assert_int_equal(ticks->count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(ticks->label[i], expected[i]);
}

static bool has_tick(const plot_ticks *ticks, double value)
{
    for (size_t i = 0; i < ticks->count; i++)
        if (ticks->value[i] == value)
            return true;
    return false;
}

/* ---- linear ---- */

static void linear_zero_to_one(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_linear(&ticks, 0.0, 1.0, PLOT_RANGE_NICE, 8, &err), 0);

    static const char *const labels[] = {"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"};
    assert_labels(&ticks, labels, 6);
    static const double values[] = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
    for (size_t i = 0; i < 6; i++)
        assert_true(ticks.value[i] == values[i]);
    assert_true(ticks.lo == 0.0);
    assert_true(ticks.hi == 1.0);
    assert_true(ticks.step == 0.2);
    assert_int_equal(ticks.exponent, 0);
}

static void linear_crossing_zero_has_zero(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_linear(&ticks, -3.0, 7.0, PLOT_RANGE_NICE, 8, &err), 0);

    assert_true(has_tick(&ticks, 0.0));
    assert_true(ticks.lo <= -3.0);
    assert_true(ticks.hi >= 7.0);
    assert_in_range(ticks.count, 4, 8);
    static const char *const labels[] = {MINUS "4", MINUS "2", "0", "2", "4", "6", "8"};
    assert_labels(&ticks, labels, 7);
}

static void linear_constant_series_is_padded(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_linear(&ticks, 5.0, 5.0, PLOT_RANGE_NICE, 8, &err), 0);
    assert_true(ticks.lo < 5.0);
    assert_true(ticks.hi > 5.0);
    assert_true(has_tick(&ticks, 5.0));
    assert_in_range(ticks.count, 4, 8);

    assert_int_equal(plot_ticks_linear(&ticks, 0.0, 0.0, PLOT_RANGE_NICE, 8, &err), 0);
    assert_true(ticks.lo == -1.0);
    assert_true(ticks.hi == 1.0);
    assert_true(has_tick(&ticks, 0.0));
}

static void linear_labels_have_no_binary_noise(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    /* 0.1 + 0.2 is 0.30000000000000004 in binary64 */
    assert_int_equal(plot_ticks_linear(&ticks, 0.1, 0.1 + 0.2, PLOT_RANGE_NICE, 8, &err), 0);
    static const char *const labels[] = {"0.10", "0.15", "0.20", "0.25", "0.30"};
    assert_labels(&ticks, labels, 5);
    assert_true(ticks.value[4] == 0.3);
}

static void linear_labels_share_decimals(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    /* step 2.5 needs one decimal, so every label gets one */
    assert_int_equal(plot_ticks_linear(&ticks, -5.0, 5.0, PLOT_RANGE_NICE, 5, &err), 0);
    assert_true(ticks.step == 2.5);
    size_t decimals = SIZE_MAX;
    for (size_t i = 0; i < ticks.count; i++) {
        const char *point = strchr(ticks.label[i], '.');
        size_t label_decimals = point == NULL ? 0 : strlen(point + 1);
        if (decimals == SIZE_MAX)
            decimals = label_decimals;
        assert_int_equal(label_decimals, decimals);
    }
    assert_true(has_tick(&ticks, 0.0));
    static const char *const labels[] = {MINUS "5.0", MINUS "2.5", "0.0", "2.5", "5.0"};
    assert_labels(&ticks, labels, 5);
}

static void linear_large_values_get_exponent(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_linear(&ticks, 0.0, 123456.0, PLOT_RANGE_NICE, 8, &err), 0);
    assert_int_equal(ticks.exponent, 5);
    assert_string_equal(ticks.label[1], "0.2");
    assert_true(ticks.value[1] == 20000.0);
    assert_true(ticks.hi >= 123456.0);
}

static void linear_small_values_get_exponent(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_linear(&ticks, -1e-4, 2e-4, PLOT_RANGE_NICE, 8, &err), 0);
    assert_int_equal(ticks.exponent, -4);
    assert_string_equal(ticks.label[0], MINUS "1.0");
    assert_true(has_tick(&ticks, 0.0));
}

static void linear_exact_mode_keeps_limits(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_linear(&ticks, 0.13, 0.97, PLOT_RANGE_EXACT, 8, &err), 0);
    assert_true(ticks.lo == 0.13);
    assert_true(ticks.hi == 0.97);
    assert_true(ticks.value[0] >= 0.13);
    assert_true(ticks.value[ticks.count - 1] <= 0.97);
    assert_string_equal(ticks.label[0], "0.2");
}

static void linear_respects_tick_budget(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    for (size_t budget = 3; budget <= 12; budget++) {
        assert_int_equal(plot_ticks_linear(&ticks, 0.0, 97.0, PLOT_RANGE_NICE, budget, &err), 0);
        assert_true(ticks.count <= budget);
        assert_true(ticks.count >= 2);
    }
}

static void linear_rejects_nan(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err = {""};
    assert_int_equal(plot_ticks_linear(&ticks, NAN, 1.0, PLOT_RANGE_NICE, 8, &err), -1);
    assert_non_null(strstr(err.message, "finite"));
    assert_int_equal(plot_ticks_linear(&ticks, 0.0, NAN, PLOT_RANGE_NICE, 8, &err), -1);
}

static void linear_rejects_infinity(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err = {""};
    assert_int_equal(plot_ticks_linear(&ticks, 0.0, INFINITY, PLOT_RANGE_NICE, 8, &err), -1);
    assert_non_null(strstr(err.message, "finite"));
}

static void linear_rejects_reversed_range(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err = {""};
    assert_int_equal(plot_ticks_linear(&ticks, 2.0, 1.0, PLOT_RANGE_NICE, 8, &err), -1);
    assert_non_null(strstr(err.message, "[2, 1]"));
}

static void linear_rejects_tiny_budget(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err = {""};
    assert_int_equal(plot_ticks_linear(&ticks, 0.0, 1.0, PLOT_RANGE_NICE, 2, &err), -1);
    assert_int_equal(plot_ticks_linear(&ticks, 0.0, 1.0, PLOT_RANGE_NICE, PLOT_TICKS_MAX + 1, &err),
                     -1);
}

static void linear_rejects_overflowing_range(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err = {""};
    assert_int_equal(plot_ticks_linear(&ticks, -1e308, 1e308, PLOT_RANGE_NICE, 8, &err), -1);
    assert_non_null(strstr(err.message, "too wide"));
}

/* ---- integer ---- */

static void integer_labels_are_never_scaled(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_integer(&ticks, 0.0, 123456.0, PLOT_RANGE_NICE, 8, &err), 0);
    assert_int_equal(ticks.exponent, 0);
    assert_string_equal(ticks.label[1], "20000");
    assert_true(ticks.value[1] == 20000.0);
    for (size_t i = 0; i < ticks.count; i++)
        assert_null(strchr(ticks.label[i], '.'));
}

static void integer_positions_past_99999(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_integer(&ticks, 99997.5, 100001.5, PLOT_RANGE_EXACT, 8, &err),
                     0);
    static const char *const labels[] = {"99998", "99999", "100000", "100001"};
    assert_labels(&ticks, labels, 4);
    assert_int_equal(ticks.exponent, 0);
    assert_true(ticks.value[2] == 100000.0);
}

static void integer_steps_are_whole(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;

    /* one step: a heat map row from -0.5 to 0.5 gets the tick 0 alone */
    assert_int_equal(plot_ticks_integer(&ticks, -0.5, 0.5, PLOT_RANGE_EXACT, 8, &err), 0);
    static const char *const one[] = {"0"};
    assert_labels(&ticks, one, 1);

    /* three steps: 0, 1, 2 and nothing between */
    assert_int_equal(plot_ticks_integer(&ticks, -0.5, 2.5, PLOT_RANGE_EXACT, 8, &err), 0);
    static const char *const three[] = {"0", "1", "2"};
    assert_labels(&ticks, three, 3);
    assert_true(ticks.step == 1.0);

    /* a padded single value */
    assert_int_equal(plot_ticks_integer(&ticks, 0.0, 0.0, PLOT_RANGE_NICE, 8, &err), 0);
    for (size_t i = 0; i < ticks.count; i++)
        assert_true(ticks.value[i] == floor(ticks.value[i]));

    /* every budget keeps whole steps; 2.5 is never one */
    for (size_t budget = 3; budget <= 12; budget++) {
        assert_int_equal(plot_ticks_integer(&ticks, 0.0, 7.0, PLOT_RANGE_NICE, budget, &err), 0);
        assert_true(ticks.step >= 1.0);
        assert_true(ticks.step == floor(ticks.step));
    }
}

static void integer_rejects_range_without_integer(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_integer(&ticks, 0.2, 0.8, PLOT_RANGE_EXACT, 8, &err), -1);
    assert_non_null(strstr(err.message, "[0.2, 0.8]"));
}

/* ---- log ---- */

static void log_milli_to_kilo_has_decades(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_log(&ticks, 0.001, 1000.0, PLOT_RANGE_NICE, 8, &err), 0);

    static const char *const labels[] = {
        "10<sup>" MINUS "3</sup>", "10<sup>" MINUS "2</sup>", "10<sup>" MINUS "1</sup>",
        "10<sup>0</sup>", "10<sup>1</sup>", "10<sup>2</sup>", "10<sup>3</sup>",
    };
    assert_labels(&ticks, labels, 7);
    static const double values[] = {0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0};
    for (size_t i = 0; i < 7; i++)
        assert_true(ticks.value[i] == values[i]);
    assert_true(ticks.lo == 0.001);
    assert_true(ticks.hi == 1000.0);
    assert_int_equal(ticks.minor_count, 0); /* six decades: no 2 and 5 sub-ticks */
}

static void log_one_decade_labels_1_2_5(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_log(&ticks, 1.0, 10.0, PLOT_RANGE_NICE, 8, &err), 0);
    static const char *const labels[] = {"1", "2", "5", "10"};
    assert_labels(&ticks, labels, 4);

    assert_int_equal(plot_ticks_log(&ticks, 0.01, 0.1, PLOT_RANGE_NICE, 8, &err), 0);
    static const char *const small[] = {"0.01", "0.02", "0.05", "0.1"};
    assert_labels(&ticks, small, 4);
}

static void log_few_decades_get_2_5_minor(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_log(&ticks, 0.3, 40.0, PLOT_RANGE_NICE, 8, &err), 0);
    assert_int_equal(ticks.count, 4); /* 0.1, 1, 10, 100 */
    static const double minor[] = {0.2, 0.5, 2.0, 5.0, 20.0, 50.0};
    assert_int_equal(ticks.minor_count, 6);
    for (size_t i = 0; i < 6; i++)
        assert_true(ticks.minor[i] == minor[i]);
}

static void log_constant_series_is_padded(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_log(&ticks, 10.0, 10.0, PLOT_RANGE_NICE, 8, &err), 0);
    assert_true(ticks.lo == 1.0);
    assert_true(ticks.hi == 100.0);

    assert_int_equal(plot_ticks_log(&ticks, 5.0, 5.0, PLOT_RANGE_NICE, 8, &err), 0);
    assert_true(ticks.lo == 1.0);
    assert_true(ticks.hi == 10.0);
}

static void log_many_decades_thin_labels(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err;
    assert_int_equal(plot_ticks_log(&ticks, 1e-300, 1e300, PLOT_RANGE_NICE, 8, &err), 0);
    assert_in_range(ticks.count, 2, 8);
    assert_string_equal(ticks.label[0], "10<sup>" MINUS "300</sup>");
    assert_true(has_tick(&ticks, 1.0));
}

static void log_rejects_zero_and_negative(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err = {""};
    assert_int_equal(plot_ticks_log(&ticks, 0.0, 10.0, PLOT_RANGE_NICE, 8, &err), -1);
    assert_non_null(strstr(err.message, "above 0"));
    assert_int_equal(plot_ticks_log(&ticks, -1.0, 10.0, PLOT_RANGE_NICE, 8, &err), -1);
}

static void log_rejects_nan(void **state)
{
    (void)state;
    plot_ticks ticks;
    dl_error err = {""};
    assert_int_equal(plot_ticks_log(&ticks, 1.0, NAN, PLOT_RANGE_NICE, 8, &err), -1);
    assert_non_null(strstr(err.message, "finite"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_zero_to_one),
        cmocka_unit_test(linear_crossing_zero_has_zero),
        cmocka_unit_test(linear_constant_series_is_padded),
        cmocka_unit_test(linear_labels_have_no_binary_noise),
        cmocka_unit_test(linear_labels_share_decimals),
        cmocka_unit_test(linear_large_values_get_exponent),
        cmocka_unit_test(linear_small_values_get_exponent),
        cmocka_unit_test(linear_exact_mode_keeps_limits),
        cmocka_unit_test(linear_respects_tick_budget),
        cmocka_unit_test(linear_rejects_nan),
        cmocka_unit_test(linear_rejects_infinity),
        cmocka_unit_test(linear_rejects_reversed_range),
        cmocka_unit_test(linear_rejects_tiny_budget),
        cmocka_unit_test(linear_rejects_overflowing_range),
        cmocka_unit_test(integer_labels_are_never_scaled),
        cmocka_unit_test(integer_positions_past_99999),
        cmocka_unit_test(integer_steps_are_whole),
        cmocka_unit_test(integer_rejects_range_without_integer),
        cmocka_unit_test(log_milli_to_kilo_has_decades),
        cmocka_unit_test(log_one_decade_labels_1_2_5),
        cmocka_unit_test(log_few_decades_get_2_5_minor),
        cmocka_unit_test(log_constant_series_is_padded),
        cmocka_unit_test(log_many_decades_thin_labels),
        cmocka_unit_test(log_rejects_zero_and_negative),
        cmocka_unit_test(log_rejects_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
