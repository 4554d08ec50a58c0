/* test_sweep_values.c - unit tests of the value syntax: scalars, lists,
 * linear and log ranges against numpy, integer ranges, and every rejection.
 *
 * The numpy expectations are hard-coded. They were printed on Debian 12
 * (numpy 1.24.2, x86-64 with AVX-512) by
 *   /usr/bin/python3 -c 'import numpy as np;
 *       print(", ".join(repr(float(x)) for x in np.linspace(0.1, 0.9, 7)))'
 * and the same with np.geomspace for the log ranges. repr prints the
 * shortest text that reads back as the same double, so the literals below
 * are numpy's values exactly.
 */
#define _POSIX_C_SOURCE 200809L

#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sweep_values.h"

/* ---- helpers ---- */

/* Distance in units in the last place between two finite doubles of the
 * same sign. */
static int64_t ulp_distance(double a, double b)
{
    int64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x > y ? x - y : y - x;
}

static dl_sweep_values parse_ok(const char *text, unsigned flags)
{
    dl_sweep_values values;
    dl_error err = {{0}};

    if (dl_sweep_values_parse(text, flags, &values, &err) != 0)
        fail_msg("'%s' was rejected: %s", text, err.message);
    return values;
}

/* Checks that text is rejected with a reason that contains expected, and
 * that the output is left empty. */
static void assert_rejected(const char *text, unsigned flags,
                            const char *expected)
{
    static double sentinel[1];
    dl_sweep_values values = {sentinel, 99, DL_SWEEP_VALUES_LIST};
    dl_error err = {{0}};

    if (dl_sweep_values_parse(text, flags, &values, &err) == 0)
        fail_msg("'%s' was accepted, expected rejection with \"%s\"", text,
                 expected);
    if (strstr(err.message, expected) == NULL)
        fail_msg("'%s': reason \"%s\" does not contain \"%s\"", text,
                 err.message, expected);
    assert_null(values.values);
    assert_int_equal(values.count, 0);
}

static void assert_values_exact(const dl_sweep_values *values,
                                const double *expected, size_t count)
{
    assert_int_equal(values->count, count);
    for (size_t i = 0; i < count; i++) {
        if (values->values[i] != expected[i])
            fail_msg("value %zu is %.17g, expected %.17g", i,
                     values->values[i], expected[i]);
    }
}

static void assert_values_within_ulps(const double *actual,
                                      const double *expected, size_t count,
                                      int64_t max_ulps)
{
    for (size_t i = 0; i < count; i++) {
        int64_t distance = ulp_distance(actual[i], expected[i]);
        if (distance > max_ulps)
            fail_msg("value %zu is %.17g, numpy gives %.17g: %lld ulp apart, "
                     "at most %lld allowed", i, actual[i], expected[i],
                     (long long)distance, (long long)max_ulps);
    }
}

/* ---- the five forms ---- */

static void scalar_parses_to_one_value(void **state)
{
    (void)state;
    dl_sweep_values values = parse_ok("0.7", 0);
    assert_int_equal(values.form, DL_SWEEP_VALUES_SCALAR);
    assert_values_exact(&values, (double[]){0.7}, 1);
    dl_sweep_values_free(&values);

    values = parse_ok("  -2.5e-3\t", 0);
    assert_values_exact(&values, (double[]){-0.0025}, 1);
    dl_sweep_values_free(&values);

    values = parse_ok(".5", 0);
    assert_values_exact(&values, (double[]){0.5}, 1);
    dl_sweep_values_free(&values);

    values = parse_ok("+3.", 0);
    assert_values_exact(&values, (double[]){3.0}, 1);
    dl_sweep_values_free(&values);
}

static void negative_zero_is_stored_as_zero(void **state)
{
    (void)state;
    dl_sweep_values values = parse_ok("-0", 0);
    assert_false(signbit(values.values[0]));
    dl_sweep_values_free(&values);
}

static void comma_list_keeps_text_order(void **state)
{
    (void)state;
    dl_sweep_values values = parse_ok("0, 0.5, 1", 0);
    assert_int_equal(values.form, DL_SWEEP_VALUES_LIST);
    assert_values_exact(&values, (double[]){0.0, 0.5, 1.0}, 3);
    dl_sweep_values_free(&values);

    values = parse_ok("2,1 ,\t0.25", 0);
    assert_values_exact(&values, (double[]){2.0, 1.0, 0.25}, 3);
    dl_sweep_values_free(&values);
}

static void linear_range_matches_numpy_linspace(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double expected[11];
        size_t count;
    } cases[] = {
        {"0:1:5", {0.0, 0.25, 0.5, 0.75, 1.0}, 5},
        {"0.1:0.9:7", {0.1, 0.23333333333333334, 0.3666666666666667, 0.5,
                       0.6333333333333333, 0.7666666666666666, 0.9}, 7},
        {"-1.5:2.25:11", {-1.5, -1.125, -0.75, -0.375, 0.0, 0.375, 0.75,
                          1.125, 1.5, 1.875, 2.25}, 11},
        {"0.3:0.1:4", {0.3, 0.23333333333333334, 0.16666666666666666, 0.1},
         4},
        {"2:2:1", {2.0}, 1},
    };

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dl_sweep_values values = parse_ok(cases[c].text, 0);
        assert_int_equal(values.form, DL_SWEEP_VALUES_LINEAR_RANGE);
        assert_int_equal(values.count, cases[c].count);

        /* linspace is promised bit for bit, not only to 1 ulp */
        assert_values_within_ulps(values.values, cases[c].expected,
                                  cases[c].count, 0);
        dl_sweep_values_free(&values);
    }
}

static void log_range_matches_numpy_geomspace(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double expected[13];
        size_t count;
    } cases[] = {
        {"0.01:100:9:log", {0.01, 0.03162277660168379, 0.09999999999999999,
                            0.31622776601683794, 1.0, 3.162277660168379, 10.0,
                            31.622776601683796, 100.0}, 9},
        {"0.1:10:7:log", {0.1, 0.21544346900318834, 0.46415888336127786, 1.0,
                          2.1544346900318834, 4.641588833612777, 10.0}, 7},
        {"0.001:2:12:log", {0.001, 0.0019956925494548057,
                            0.003982788751949426, 0.007948421838317881,
                            0.015862606242654863, 0.031656885093401615,
                            0.06317740971984853, 0.12608268587175545,
                            0.25162227680951305, 0.5021607031055999,
                            1.0021583738168334, 2.0}, 12},
        {"3:7:5:log", {3.0, 3.707792751067341, 4.58257569495584,
                       5.663746980991549, 7.0}, 5},
        {"100:0.01:5:log", {100.0, 10.0, 1.0, 0.09999999999999999, 0.01}, 5},
        {"1e-6:1e6:13:log", {1e-06, 9.999999999999999e-06,
                             9.999999999999999e-05, 0.001, 0.01,
                             0.09999999999999999, 1.0, 10.0, 100.0, 1000.0,
                             10000.0, 100000.0, 1000000.0}, 13},
        {"5:5:1:log", {5.0}, 1},
    };

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        dl_sweep_values values = parse_ok(cases[c].text, 0);
        assert_int_equal(values.form, DL_SWEEP_VALUES_LOG_RANGE);
        assert_int_equal(values.count, cases[c].count);
        assert_values_within_ulps(values.values, cases[c].expected,
                                  cases[c].count, 1);

        /* numpy pins both ends to the text's values */
        assert_true(values.values[0] == cases[c].expected[0]);
        assert_true(values.values[values.count - 1]
                    == cases[c].expected[cases[c].count - 1]);
        dl_sweep_values_free(&values);
    }
}

/* Ends whose log10 numpy's SIMD code and glibc round differently: the
 * inner values then differ by more than 1 ulp (here up to 15), but stay
 * within the relative bound stated in sweep_values.h. */
static void log_range_stays_within_bound_when_log10s_differ(void **state)
{
    (void)state;
    static const double numpy[7] = {
        14976.11335488, 2543.82119526363, 432.08982999343283,
        73.39416053745269, 12.4666271388041, 2.1175634557283125, 0.3596863,
    };
    double actual[7];

    dl_sweep_values_geomspace(actual, 14976.11335488, 0.3596863, 7);

    double largest_log = fmax(fabs(log10(14976.11335488)),
                              fabs(log10(0.3596863)));
    double bound = (4.0 * log(10.0) * largest_log + 2.0) * ldexp(1.0, -52);
    for (size_t i = 0; i < 7; i++) {
        double relative = fabs(actual[i] - numpy[i]) / numpy[i];
        if (relative > bound)
            fail_msg("value %zu is %.17g, numpy gives %.17g: relative "
                     "difference %g exceeds the bound %g", i, actual[i],
                     numpy[i], relative, bound);
    }
    assert_true(actual[0] == numpy[0]);
    assert_true(actual[6] == numpy[6]);
}

static void integer_range_is_inclusive(void **state)
{
    (void)state;
    dl_sweep_values values = parse_ok("3..7", 0);
    assert_int_equal(values.form, DL_SWEEP_VALUES_INTEGER_RANGE);
    assert_values_exact(&values, (double[]){3, 4, 5, 6, 7}, 5);
    dl_sweep_values_free(&values);

    values = parse_ok(" -2 .. 1 ", DL_SWEEP_VALUES_INTEGER);
    assert_values_exact(&values, (double[]){-2, -1, 0, 1}, 4);
    dl_sweep_values_free(&values);

    values = parse_ok("4..4", 0);
    assert_values_exact(&values, (double[]){4}, 1);
    dl_sweep_values_free(&values);
}

static void linear_range_of_integers_passes_integer_check(void **state)
{
    (void)state;
    dl_sweep_values values = parse_ok("0:10:6", DL_SWEEP_VALUES_INTEGER);
    assert_values_exact(&values, (double[]){0, 2, 4, 6, 8, 10}, 6);
    dl_sweep_values_free(&values);
}

static void repeated_values_allowed_when_kept(void **state)
{
    (void)state;
    dl_sweep_values values = parse_ok("1, 1, 0",
                                      DL_SWEEP_VALUES_INTEGER
                                      | DL_SWEEP_VALUES_KEEP_DUPLICATES);
    assert_values_exact(&values, (double[]){1, 1, 0}, 3);
    dl_sweep_values_free(&values);
}

/* ---- rejections ---- */

static void trailing_text_is_not_a_number(void **state)
{
    (void)state;
    assert_rejected("0.5x", 0, "'0.5x' is not a number");
    assert_rejected("1 2", 0, "'1 2' is not a number");
    assert_rejected("0x10", 0, "'0x10' is not a number");
    assert_rejected("1e", 0, "'1e' is not a number");
    assert_rejected(".", 0, "'.' is not a number");
    assert_rejected("abc", 0, "'abc' is not a number");
}

static void non_finite_text_is_rejected(void **state)
{
    (void)state;
    assert_rejected("nan", 0, "'nan' is not a finite number");
    assert_rejected("NaN", 0, "'NaN' is not a finite number");
    assert_rejected("inf", 0, "'inf' is not a finite number");
    assert_rejected("-Infinity", 0, "'-Infinity' is not a finite number");
    assert_rejected("0, inf", 0, "'inf' is not a finite number");
    assert_rejected("1e999", 0, "'1e999' is out of range");
}

static void empty_text_and_items_are_rejected(void **state)
{
    (void)state;
    assert_rejected("", 0, "the value is empty");
    assert_rejected("   ", 0, "the value is empty");
    assert_rejected("1,,2", 0, "item 2 of the list is empty");
    assert_rejected("1, 2,", 0, "item 3 of the list is empty");
    assert_rejected(",1", 0, "item 1 of the list is empty");
}

static void repeated_values_are_rejected(void **state)
{
    (void)state;
    assert_rejected("0.5, 1, 0.5", 0, "the value 0.5 appears more than once");
    assert_rejected("0, -0", 0, "the value 0 appears more than once");
    assert_rejected("1:1:3", 0, "the value 1 appears more than once");
    assert_rejected("2:2:2:log", 0, "the value 2 appears more than once");
}

static void count_must_be_integer_at_least_one(void **state)
{
    (void)state;
    assert_rejected("0:1:0", 0, "count must be an integer >= 1, got 0");
    assert_rejected("0:1:-3", 0, "count must be an integer >= 1, got -3");
    assert_rejected("0:1:2.5", 0, "count must be an integer >= 1, got 2.5");
    assert_rejected("0:1:x", 0, "count must be an integer >= 1, got x");
    assert_rejected("0:1:2000000", 0, "count must be at most 1000000");
    assert_rejected("1:2:0:log", 0, "count must be an integer >= 1, got 0");
}

static void log_range_needs_positive_ends(void **state)
{
    (void)state;
    assert_rejected("0:1:5:log", 0, "a log range needs start > 0 and "
                    "stop > 0, got start 0 and stop 1");
    assert_rejected("-1:-10:3:log", 0, "a log range needs start > 0");
}

static void malformed_ranges_are_rejected(void **state)
{
    (void)state;
    assert_rejected("1:2", 0, "'1:2' is not a range: write start:stop:count");
    assert_rejected("1:2:3:4:5", 0, "is not a range");
    assert_rejected("1:2:3:lin", 0, "the fourth field of a range must be "
                    "'log', got 'lin'");
    assert_rejected("1:2:3:LOG", 0, "must be 'log', got 'LOG'");
    assert_rejected(":2:3", 0, "a number is missing");
    assert_rejected("-1e308:1e308:3", 0, "the range is too wide");
}

static void malformed_integer_ranges_are_rejected(void **state)
{
    (void)state;
    assert_rejected("5..3", 0, "an integer range a..b needs a <= b, got 5..3");
    assert_rejected("1.5..3", 0, "the ends of an integer range a..b must be "
                    "integers, got '1.5'");
    assert_rejected("1...3", 0, "got '.3'");
    assert_rejected("1..", 0, "a number is missing");
    assert_rejected("0..2000000", 0, "0..2000000 has 2000001 values; at most "
                    "1000000 are allowed");
}

static void range_inside_list_gets_a_hint(void **state)
{
    (void)state;
    assert_rejected("0, 0:1:3", 0, "'0:1:3' is not a number: a comma list "
                    "takes plain numbers, not ranges");
    assert_rejected("1..3, 5", 0, "a comma list takes plain numbers");
}

static void integer_flag_rejects_fractions(void **state)
{
    (void)state;
    assert_rejected("0.5", DL_SWEEP_VALUES_INTEGER, "0.5 is not an integer");
    assert_rejected("1, 2.5", DL_SWEEP_VALUES_INTEGER,
                    "item 2 (2.5) is not an integer");
    assert_rejected("0:10:4", DL_SWEEP_VALUES_INTEGER,
                    "value 2 of the range (3.3333333333333335) is not an "
                    "integer");
    assert_rejected("1e300", DL_SWEEP_VALUES_INTEGER,
                    "integers must lie within +-2^53");
}

/* ---- integers read from their digits ---- */

static void integer_text_is_read_exactly(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double expected;
    } cases[] = {
        {"9007199254740992", 9007199254740992.0},
        {"-9007199254740992", -9007199254740992.0},
        {"+0009007199254740991", 9007199254740991.0},
        {"1e3", 1000.0},
        {"1.50e1", 15.0},
        {"2.000", 2.0},
        {".5e1", 5.0},
        {"-0", 0.0},
        {"0.0e-999", 0.0},
        {"0e99999999999999999999", 0.0},
        {"90071992547409920e-1", 9007199254740992.0},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dl_sweep_values values = parse_ok(cases[i].text,
                                          DL_SWEEP_VALUES_INTEGER);
        assert_int_equal(values.count, 1);
        if (values.values[0] != cases[i].expected)
            fail_msg("'%s' gave %.17g, expected %.17g", cases[i].text,
                     values.values[0], cases[i].expected);
        dl_sweep_values_free(&values);
    }

    dl_sweep_values values = parse_ok("9007199254740990..9007199254740992",
                                      0);
    assert_values_exact(&values, (double[]){9007199254740990.0,
                                            9007199254740991.0,
                                            9007199254740992.0}, 3);
    dl_sweep_values_free(&values);
}

static void integers_above_two_to_53_are_rejected(void **state)
{
    (void)state;
    const unsigned integer = DL_SWEEP_VALUES_INTEGER;

    assert_rejected("9007199254740993", integer,
                    "9007199254740993 is too large: integers must lie "
                    "within +-2^53 = +-9007199254740992");
    assert_rejected("-9007199254740993", integer,
                    "-9007199254740993 is too large: integers must lie "
                    "within +-2^53 = +-9007199254740992");
    assert_rejected("9.007199254740993e15", integer,
                    "9.007199254740993e15 is too large");
    assert_rejected("18446744073709551617", integer,
                    "18446744073709551617 is too large");
    assert_rejected("1e99999999999999999999", integer,
                    "1e99999999999999999999 is too large");
    assert_rejected("9007199254740993, 9007199254740992", integer,
                    "item 1 (9007199254740993) is too large: integers must "
                    "lie within +-2^53 = +-9007199254740992");
    assert_rejected("0:9007199254740993:2", integer,
                    "the stop of the range (9007199254740993) is too large");
    assert_rejected("9007199254740993:0:2", integer,
                    "the start of the range (9007199254740993) is too "
                    "large");

    /* the ends of a..b are integers whatever the key */
    assert_rejected("9007199254740993..9007199254740993", 0,
                    "the ends of an integer range a..b must lie within "
                    "+-2^53 = +-9007199254740992, got '9007199254740993'");
    assert_rejected("0..9007199254740993", 0, "got '9007199254740993'");
    assert_rejected("-9007199254740993..0", 0, "got '-9007199254740993'");
}

static void tiny_fraction_in_integer_is_rejected(void **state)
{
    (void)state;
    const unsigned integer = DL_SWEEP_VALUES_INTEGER;

    /* each of these reads as a whole double, but the text is not whole */
    assert_rejected("2.0000000000000001", integer,
                    "2.0000000000000001 is not an integer");
    assert_rejected("1, 3.0000000000000001", integer,
                    "item 2 (3.0000000000000001) is not an integer");
    assert_rejected("1e-400", integer, "1e-400 is not an integer");
    assert_rejected("5e-99999999999999999999", integer,
                    "5e-99999999999999999999 is not an integer");
    assert_rejected("0.0000000000000001:4:5", integer,
                    "the start of the range (0.0000000000000001) is not an "
                    "integer");
    assert_rejected("1.0000000000000001..3", 0,
                    "the ends of an integer range a..b must be integers, "
                    "got '1.0000000000000001'");
    assert_rejected("0:1:2.0000000000000001", 0,
                    "count must be an integer >= 1, got 2.0000000000000001");
}

/* ---- numbers and formatting ---- */

static void numbers_are_read_in_c_locale(void **state)
{
    (void)state;
    const char *locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8"};
    const char *chosen = NULL;

    for (size_t i = 0; i < 3 && chosen == NULL; i++)
        chosen = setlocale(LC_NUMERIC, locales[i]);
    if (chosen == NULL) {
        print_message("no locale with a decimal comma is installed; "
                      "skipping\n");
        skip();
    }

    dl_sweep_values values = parse_ok("0.5", 0);
    char text[32];
    dl_sweep_values_format(0.25, text, sizeof text);
    setlocale(LC_NUMERIC, "C");

    assert_values_exact(&values, (double[]){0.5}, 1);
    assert_string_equal(text, "0.25");
    dl_sweep_values_free(&values);
}

static void format_gives_shortest_round_trip(void **state)
{
    (void)state;
    char text[32];

    assert_string_equal(dl_sweep_values_format(0.1, text, sizeof text),
                        "0.1");
    assert_string_equal(dl_sweep_values_format(-0.5, text, sizeof text),
                        "-0.5");
    assert_string_equal(dl_sweep_values_format(1.0 / 3.0, text, sizeof text),
                        "0.3333333333333333");
    assert_string_equal(dl_sweep_values_format(2e6, text, sizeof text),
                        "2000000");
    assert_string_equal(dl_sweep_values_format(1e22, text, sizeof text),
                        "1e+22");
}

static void parse_number_reads_a_slice(void **state)
{
    (void)state;
    double value = 0;
    dl_error err = {{0}};

    assert_int_equal(dl_sweep_values_parse_number(" 12.5 , 7", 6, &value,
                                                  &err), 0);
    assert_true(value == 12.5);
    assert_int_equal(dl_sweep_values_parse_number("12.5x", 5, &value, &err),
                     -1);
    assert_string_equal(err.message, "'12.5x' is not a number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scalar_parses_to_one_value),
        cmocka_unit_test(negative_zero_is_stored_as_zero),
        cmocka_unit_test(comma_list_keeps_text_order),
        cmocka_unit_test(linear_range_matches_numpy_linspace),
        cmocka_unit_test(log_range_matches_numpy_geomspace),
        cmocka_unit_test(log_range_stays_within_bound_when_log10s_differ),
        cmocka_unit_test(integer_range_is_inclusive),
        cmocka_unit_test(linear_range_of_integers_passes_integer_check),
        cmocka_unit_test(repeated_values_allowed_when_kept),
        cmocka_unit_test(trailing_text_is_not_a_number),
        cmocka_unit_test(non_finite_text_is_rejected),
        cmocka_unit_test(empty_text_and_items_are_rejected),
        cmocka_unit_test(repeated_values_are_rejected),
        cmocka_unit_test(count_must_be_integer_at_least_one),
        cmocka_unit_test(log_range_needs_positive_ends),
        cmocka_unit_test(malformed_ranges_are_rejected),
        cmocka_unit_test(malformed_integer_ranges_are_rejected),
        cmocka_unit_test(range_inside_list_gets_a_hint),
        cmocka_unit_test(integer_flag_rejects_fractions),
        cmocka_unit_test(integer_text_is_read_exactly),
        cmocka_unit_test(integers_above_two_to_53_are_rejected),
        cmocka_unit_test(tiny_fraction_in_integer_is_rejected),
        cmocka_unit_test(numbers_are_read_in_c_locale),
        cmocka_unit_test(format_gives_shortest_round_trip),
        cmocka_unit_test(parse_number_reads_a_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
