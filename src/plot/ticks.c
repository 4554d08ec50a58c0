/* ticks.c - nice tick steps and exact decimal tick labels; see ticks.h.
 *
 * A linear step is stored as an integer mantissa m in {10, 20, 25, 50} and
 * a power of ten e, step = m * 10^e. Tick j is (j * m) * 10^e: the integer
 * j * m is exact, and scaling it by an exact power of ten rounds once, so
 * the tick is the double nearest to the decimal number it stands for. The
 * label is printed from the same integer by placing the decimal point, so
 * no binary rounding ever reaches the text.
 */
#include "ticks.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MINUS_SIGN "\xe2\x88\x92" /* U+2212, as UTF-8 */

/* Indices within this distance of an integer count as that integer, so a
 * data bound that is a tick up to rounding gets no extra step. */
#define INDEX_TOLERANCE 1e-9

/* Ranges narrower than this fraction of their magnitude are treated as
 * constant, because their tick labels would need more digits than a
 * double has. */
#define RELATIVE_SPAN_MIN 1e-12

/* 10^k for 0 <= k <= 22 is exact in binary64. */
static const double exact_powers[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Returns n * 10^exponent rounded once when |exponent| <= 22.
 * NOTE: beyond 10^+-22 the power itself is rounded (pow), so the tick may
 * be one ulp away from the nearest double; its label stays exact. */
static double decimal_value(int64_t n, int exponent)
{
    if (exponent >= 0 && exponent <= 22)
        return (double)n * exact_powers[exponent];
    if (exponent < 0 && exponent >= -22)
        return (double)n / exact_powers[-exponent];
    return (double)n * pow(10.0, exponent);
}

static double power_of_ten(int exponent)
{
    return decimal_value(1, exponent);
}

/* Returns floor(log10(x)) for x > 0, corrected for log10 rounding so that
 * power_of_ten(result) <= x < power_of_ten(result + 1). */
static int floor_log10(double x)
{
    int d = (int)floor(log10(x));
    while (d > -400 && power_of_ten(d) > x)
        d--;
    while (d < 400 && power_of_ten(d + 1) <= x)
        d++;
    return d;
}

static int ceil_log10(double x)
{
    int d = floor_log10(x);
    if (power_of_ten(d) < x)
        d++;
    return d;
}

/* ---- labels ---- */

/* Writes n * 10^shift with exactly `decimals` decimals into out. The digits
 * dropped by `decimals` must be zero, which the callers guarantee. */
static void format_decimal(char *out, size_t size, int64_t n, int shift, int decimals)
{
    const char *sign = n < 0 ? MINUS_SIGN : "";
    uint64_t magnitude = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

    if (shift >= 0) {
        char zeros[32] = "";
        int count = shift < 31 ? shift : 31;
        memset(zeros, '0', (size_t)count);
        zeros[count] = '\0';
        if (magnitude == 0)
            snprintf(out, size, "0");
        else
            snprintf(out, size, "%s%llu%s", sign, (unsigned long long)magnitude, zeros);
        return;
    }

    /* digits of |n| with enough leading zeros for one integer digit; the
     * callers' shifts stay above -25, the clamp only bounds the buffer */
    char digits[64];
    int places = -shift < 40 ? -shift : 40;
    snprintf(digits, sizeof digits, "%0*llu", (places + 1) & 63, (unsigned long long)magnitude);
    int length = (int)strlen(digits);
    int integer_length = length - places;
    if (magnitude == 0)
        sign = "";
    if (decimals == 0)
        snprintf(out, size, "%s%.*s", sign, integer_length, digits);
    else
        snprintf(out, size, "%s%.*s.%.*s", sign, integer_length, digits, decimals,
                 digits + integer_length);
}

/* Writes the markup 10<sup>d</sup>, with a multiplier when m is not 1. */
static void format_power(char *out, size_t size, int mantissa, int d)
{
    const char *sign = d < 0 ? MINUS_SIGN : "";
    int magnitude = d < 0 ? -d : d;
    if (mantissa == 1)
        snprintf(out, size, "10<sup>%s%d</sup>", sign, magnitude);
    else
        snprintf(out, size, "%d\xc3\x97" "10<sup>%s%d</sup>", mantissa, sign, magnitude);
}

static uint64_t magnitude_of(int64_t n)
{
    return n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
}

static int digit_count(uint64_t n)
{
    int count = 1;
    while (n >= 10) {
        n /= 10;
        count++;
    }
    return count;
}

/* ---- linear axes ---- */

static const int step_mantissas[4] = {10, 20, 25, 50};

static int check_bounds(double data_min, double data_max, size_t max_count, dl_error *err)
{
    if (!isfinite(data_min) || !isfinite(data_max))
        return dl_error_set(err,
                            "axis range [%g, %g] is invalid: data must be finite "
                            "(remove NaN and infinite values first)",
                            data_min, data_max);
    if (data_min > data_max)
        return dl_error_set(err, "axis range [%g, %g] is invalid: the minimum exceeds the maximum",
                            data_min, data_max);
    if (max_count < 3 || max_count > PLOT_TICKS_MAX)
        return dl_error_set(err, "tick count %zu is invalid: must be from 3 to %d", max_count,
                            PLOT_TICKS_MAX);
    return 0;
}

static bool is_constant(double lo, double hi)
{
    double magnitude = fmax(fabs(lo), fabs(hi));
    return hi - lo <= RELATIVE_SPAN_MIN * magnitude;
}

/* True when the step m * 10^exponent (m in step_mantissas) is a whole
 * number. */
static bool is_whole_step(int mantissa, int exponent)
{
    return exponent >= 0 || (exponent == -1 && mantissa % 10 == 0);
}

/* plot_ticks_linear, and plot_ticks_integer when integer is true. */
static int place_linear(plot_ticks *ticks, double data_min, double data_max,
                        plot_range_mode mode, size_t max_count, bool integer, dl_error *err)
{
    if (check_bounds(data_min, data_max, max_count, err) != 0)
        return -1;

    /* pad a constant series so that it sits inside a real range */
    double lo = data_min, hi = data_max;
    if (is_constant(lo, hi)) {
        if (mode == PLOT_RANGE_EXACT)
            return dl_error_set(err, "axis limits [%g, %g] are invalid: the lower limit must be "
                                "below the upper limit", data_min, data_max);
        double centre = 0.5 * (lo + hi);
        double pad = centre == 0.0 ? 1.0 : 0.1 * fabs(centre);
        lo = centre - pad;
        hi = centre + pad;
    }
    double span = hi - lo;
    if (!isfinite(span))
        return dl_error_set(err, "axis range [%g, %g] is too wide to place ticks on", data_min,
                            data_max);

    /* try steps from below span / max_count upward; the smallest that
     * gives at most max_count ticks wins */
    int k_start = (int)floor(log10(span / (double)max_count)) - 1;
    if (integer && k_start < 0)
        k_start = 0; /* the first step tried is 1 */
    bool found = false;
    int64_t first = 0, last = 0;
    int mantissa = 0, exponent = 0;
    for (int k = k_start; k <= k_start + 4 && !found; k++) {
        for (int i = 0; i < 4 && !found; i++) {
            int m = step_mantissas[i];
            if (integer && !is_whole_step(m, k - 1))
                continue;
            double step = decimal_value(m, k - 1);
            double a = lo / step, b = hi / step;
            double f, l;
            if (mode == PLOT_RANGE_NICE) {
                f = floor(a + INDEX_TOLERANCE);
                l = ceil(b - INDEX_TOLERANCE);
            } else {
                f = ceil(a - INDEX_TOLERANCE);
                l = floor(b + INDEX_TOLERANCE);
            }
            /* a range narrower than two whole numbers has one integer tick */
            double n = l - f + 1.0;
            if (n >= (integer ? 1.0 : 2.0) && n <= (double)max_count) {
                found = true;
                first = (int64_t)f;
                last = (int64_t)l;
                mantissa = m;
                exponent = k - 1;
            }
        }
    }
    if (!found)
        return dl_error_set(err, "no tick step fits axis range [%g, %g] with at most %zu ticks",
                            data_min, data_max, max_count);

    /* labels show value / 10^display when the numbers get long */
    uint64_t largest = magnitude_of(first) > magnitude_of(last) ? magnitude_of(first)
                                                                : magnitude_of(last);
    int magnitude = digit_count(largest * (uint64_t)mantissa) - 1 + exponent;
    int display = !integer && (magnitude >= 5 || magnitude < -3) ? magnitude : 0;
    int shift = exponent - display;
    int decimals = mantissa % 10 == 0 ? -shift - 1 : -shift;
    if (decimals < 0)
        decimals = 0;

    memset(ticks, 0, sizeof *ticks);
    ticks->count = (size_t)(last - first + 1);
    for (size_t j = 0; j < ticks->count; j++) {
        int64_t n = (first + (int64_t)j) * mantissa;
        ticks->value[j] = decimal_value(n, exponent);
        format_decimal(ticks->label[j], PLOT_TICK_LABEL_MAX, n, shift, decimals);
    }
    ticks->exponent = display;
    ticks->step = decimal_value(mantissa, exponent);
    if (mode == PLOT_RANGE_NICE) {
        ticks->lo = ticks->value[0];
        ticks->hi = ticks->value[ticks->count - 1];
    } else {
        ticks->lo = lo;
        ticks->hi = hi;
    }
    return 0;
}

int plot_ticks_linear(plot_ticks *ticks, double data_min, double data_max,
                      plot_range_mode mode, size_t max_count, dl_error *err)
{
    return place_linear(ticks, data_min, data_max, mode, max_count, false, err);
}

int plot_ticks_integer(plot_ticks *ticks, double data_min, double data_max,
                       plot_range_mode mode, size_t max_count, dl_error *err)
{
    return place_linear(ticks, data_min, data_max, mode, max_count, true, err);
}

/* ---- log axes ---- */

static bool inside(double value, double lo, double hi)
{
    double slack = 1e-12;
    return value >= lo * (1.0 - slack) && value <= hi * (1.0 + slack);
}

/* Labels 1, 2 and 5 times each decade: plain decimals when every label
 * lies in [10^-3, 10^4], else m x 10^d. */
static void place_125(plot_ticks *ticks, int d0, int d1, double lo, double hi)
{
    static const int mantissas[3] = {1, 2, 5};
    bool plain = d0 >= -3 && d1 <= 4;
    for (int d = d0; d <= d1; d++) {
        for (int i = 0; i < 3; i++) {
            double value = decimal_value(mantissas[i], d);
            if (!inside(value, lo, hi) || ticks->count == PLOT_TICKS_MAX)
                continue;
            char *label = ticks->label[ticks->count];
            if (plain)
                format_decimal(label, PLOT_TICK_LABEL_MAX, mantissas[i], d, d < 0 ? -d : 0);
            else
                format_power(label, PLOT_TICK_LABEL_MAX, mantissas[i], d);
            ticks->value[ticks->count++] = value;
        }
    }
}

/* Insertion sort: the minor ticks are a few dozen values at most. */
static void sort_increasing(double *values, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        double value = values[i];
        size_t j = i;
        while (j > 0 && values[j - 1] > value) {
            values[j] = values[j - 1];
            j--;
        }
        values[j] = value;
    }
}

static size_t decades_labelled(int d0, int d1, double lo, double hi, int stride)
{
    size_t count = 0;
    for (int d = d0; d <= d1; d++)
        if (((d % stride) + stride) % stride == 0 && inside(power_of_ten(d), lo, hi))
            count++;
    return count;
}

int plot_ticks_log(plot_ticks *ticks, double data_min, double data_max,
                   plot_range_mode mode, size_t max_count, dl_error *err)
{
    if (check_bounds(data_min, data_max, max_count, err) != 0)
        return -1;
    if (data_min <= 0.0)
        return dl_error_set(err, "log axis range [%g, %g] is invalid: values must be above 0",
                            data_min, data_max);

    /* the range in whole decades */
    double lo = data_min, hi = data_max;
    int d0 = floor_log10(lo);
    int d1 = ceil_log10(hi);
    if (mode == PLOT_RANGE_EXACT && is_constant(lo, hi))
        return dl_error_set(err, "axis limits [%g, %g] are invalid: the lower limit must be "
                            "below the upper limit", data_min, data_max);
    if (d0 == d1) {
        d0--;
        d1++;
    }
    if (mode == PLOT_RANGE_NICE) {
        lo = power_of_ten(d0);
        hi = power_of_ten(d1);
    }
    if (!(lo > 0.0) || !isfinite(hi))
        return dl_error_set(err, "log axis range [%g, %g] is too wide to place ticks on",
                            data_min, data_max);

    memset(ticks, 0, sizeof *ticks);
    ticks->lo = lo;
    ticks->hi = hi;
    int decades = d1 - d0;

    /* every stride-th decade is labelled; the stride steps through round
     * numbers until the labels fit */
    static const int strides[] = {1, 2, 3, 4, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000};
    size_t stride_index = 0;
    int stride = strides[0];
    while (decades_labelled(d0, d1, lo, hi, stride) > max_count &&
           stride_index + 1 < sizeof strides / sizeof strides[0])
        stride = strides[++stride_index];
    bool use_125 = decades <= 1 || decades_labelled(d0, d1, lo, hi, stride) < 2;

    if (use_125) {
        place_125(ticks, d0, d1, lo, hi);
        if (ticks->count >= 2)
            return 0;
        /* fewer than two of 1, 2, 5 fit: fall back to the decade ticks */
        ticks->count = 0;
    }

    /* unlabelled decades become minor ticks unless there are too many to
     * list them all: a partial set would mark only part of the axis */
    size_t in_range = decades_labelled(d0, d1, lo, hi, 1);
    bool minor_decades = in_range - decades_labelled(d0, d1, lo, hi, stride) <= PLOT_MINOR_TICKS_MAX;
    for (int d = d0; d <= d1; d++) {
        double value = power_of_ten(d);
        if (!inside(value, lo, hi))
            continue;
        bool labelled = ((d % stride) + stride) % stride == 0;
        if (labelled && ticks->count < PLOT_TICKS_MAX) {
            format_power(ticks->label[ticks->count], PLOT_TICK_LABEL_MAX, 1, d);
            ticks->value[ticks->count++] = value;
        } else if (!labelled && minor_decades) {
            ticks->minor[ticks->minor_count++] = value;
        }
    }

    /* over two or three decades, 2 and 5 times each decade as minor ticks */
    if (decades <= 3) {
        for (int d = d0; d <= d1; d++) {
            for (int m = 2; m <= 5; m += 3) {
                double value = decimal_value(m, d);
                if (inside(value, lo, hi) && ticks->minor_count < PLOT_MINOR_TICKS_MAX)
                    ticks->minor[ticks->minor_count++] = value;
            }
        }
    }
    sort_increasing(ticks->minor, ticks->minor_count);
    return 0;
}
