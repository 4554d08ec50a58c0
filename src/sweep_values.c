/* sweep_values.c - parsing of one value text into a list of numbers; see
 * sweep_values.h for the syntax.
 *
 * The separators decide the form, checked in this order: a comma makes a
 * list, ".." an integer range, ':' a linear or log range, and anything else
 * is a scalar. Every number passes a grammar check (optional sign, digits
 * with an optional fraction, optional exponent) before strtod reads it, so
 * strtod's extras (hexadecimal floats, "inf", "nan", leading spaces) never
 * get through. A number that must be an integer is read from its digits
 * instead of with strtod, so that a text such as 9007199254740993, which
 * no double holds, is rejected rather than rounded.
 *
 * Leaves out: ranges inside a list, units, arithmetic expressions.
 */
#define _POSIX_C_SOURCE 200809L

#include "sweep_values.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Maximum length of user text quoted in a reason. */
#define QUOTE_MAX 80

/* DL_SWEEP_VALUES_INTEGER_LIMIT as it reads in reasons. */
#define INTEGER_LIMIT_TEXT "+-2^53 = +-9007199254740992"

/* Reason endings for a number that must be an integer, after the number.
 * Callers tell them apart by address. */
static const char NOT_AN_INTEGER[] = "is not an integer";
static const char INTEGER_TOO_LARGE[] =
    "is too large: integers must lie within " INTEGER_LIMIT_TEXT;

/* ---- text helpers ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Narrows [*begin, *end) to exclude surrounding spaces and tabs. */
static void trim(const char **begin, const char **end)
{
    while (*begin < *end && is_blank(**begin))
        (*begin)++;
    while (*end > *begin && is_blank((*end)[-1]))
        (*end)--;
}

/* Copies text[0..length) into buffer for quoting, shortened with "..." when
 * it is longer than QUOTE_MAX characters. */
static const char *quote(char *buffer, size_t size, const char *text,
                         size_t length)
{
    if (length > QUOTE_MAX)
        snprintf(buffer, size, "%.*s...", QUOTE_MAX, text);
    else
        snprintf(buffer, size, "%.*s", (int)length, text);
    return buffer;
}

static const char *find_in(const char *begin, const char *end, char c)
{
    return memchr(begin, c, (size_t)(end - begin));
}

static const char *find_dots(const char *begin, const char *end)
{
    for (const char *p = begin; p + 1 < end; p++) {
        if (p[0] == '.' && p[1] == '.')
            return p;
    }
    return NULL;
}

/* ---- numbers in the C locale ---- */

/* The thread's locale while a number is read or written. strtod and
 * snprintf follow LC_NUMERIC, and a program that called setlocale(LC_ALL,
 * "") in a German locale would otherwise read "0.5" as 0. */
typedef struct {
    locale_t c_locale;
    locale_t previous;
} locale_switch;

/* NOTE: when newlocale fails (out of memory) the thread keeps its locale,
 * which is the C locale unless the program called setlocale. */
static void enter_c_locale(locale_switch *state)
{
    state->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    state->previous = (locale_t)0;
    if (state->c_locale != (locale_t)0)
        state->previous = uselocale(state->c_locale);
}

static void leave_c_locale(locale_switch *state)
{
    if (state->c_locale == (locale_t)0)
        return;
    uselocale(state->previous);
    freelocale(state->c_locale);
}

/* True when s[0..n) is [+-]digits[.digits][(e|E)[+-]digits] with at least
 * one digit before the exponent. */
static bool is_decimal_number(const char *s, size_t n)
{
    size_t i = 0;
    size_t digits = 0;

    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && isdigit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;

    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exponent_digits = 0;
        while (i < n && isdigit((unsigned char)s[i])) {
            i++;
            exponent_digits++;
        }
        if (exponent_digits == 0)
            return false;
    }
    return i == n;
}

/* True for "nan", "inf" and "infinity" with an optional sign, in any case. */
static bool names_non_finite(const char *s, size_t n)
{
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        s++;
        n--;
    }
    return (n == 3 && strncasecmp(s, "nan", 3) == 0)
        || (n == 3 && strncasecmp(s, "inf", 3) == 0)
        || (n == 8 && strncasecmp(s, "infinity", 8) == 0);
}

/* Checks that [begin, end), without surrounding blanks, is one finite
 * decimal number. Returns 0, or -1 with the reason in err. */
static int check_number_text(const char *begin, const char *end,
                             dl_error *err)
{
    char shown[QUOTE_MAX + 4];
    size_t n = (size_t)(end - begin);

    if (n == 0)
        return dl_error_set(err, "a number is missing");
    if (names_non_finite(begin, n))
        return dl_error_set(err, "'%s' is not a finite number",
                            quote(shown, sizeof shown, begin, n));
    if (!is_decimal_number(begin, n))
        return dl_error_set(err, "'%s' is not a number",
                            quote(shown, sizeof shown, begin, n));
    return 0;
}

int dl_sweep_values_parse_number(const char *text, size_t length,
                                 double *value, dl_error *err)
{
    const char *begin = text;
    const char *end = text + length;
    char shown[QUOTE_MAX + 4];

    trim(&begin, &end);
    size_t n = (size_t)(end - begin);
    if (check_number_text(begin, end, err) != 0)
        return -1;

    /* strtod needs a terminated string, and the item sits inside the line */
    char *copy = strndup(begin, n);
    if (copy == NULL)
        return dl_error_set(err, "out of memory");

    locale_switch locale;
    enter_c_locale(&locale);
    double parsed = strtod(copy, NULL);
    leave_c_locale(&locale);
    free(copy);

    /* an underflow to zero or a subnormal is kept, as numpy.float64 does */
    if (isinf(parsed))
        return dl_error_set(err, "'%s' is out of range: the magnitude must "
                            "be below 1.8e308",
                            quote(shown, sizeof shown, begin, n));

    *value = parsed == 0.0 ? 0.0 : parsed;
    return 0;
}

const char *dl_sweep_values_format(double value, char *buffer, size_t size)
{
    locale_switch locale;
    enter_c_locale(&locale);

    /* integers read better in full than as 2e+06 */
    if (value == floor(value) && fabs(value) < 1e16) {
        snprintf(buffer, size, "%.0f", value);
        leave_c_locale(&locale);
        return buffer;
    }

    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buffer, size, "%.*g", digits, value);
        if (strtod(buffer, NULL) == value)
            break;
    }

    leave_c_locale(&locale);
    return buffer;
}

/* ---- integers read from their digits ---- */

typedef enum {
    INTEGER_TEXT_OK = 0,
    INTEGER_TEXT_NOT_WHOLE,  /* the text has a nonzero fraction */
    INTEGER_TEXT_TOO_LARGE   /* the magnitude exceeds 2^53 */
} integer_text_status;

/* Mantissa digits of a decimal number text: the integer part followed by
 * the fraction part, without the '.'. */
typedef struct {
    const char *integer_part;
    size_t integer_length;
    const char *fraction_part;
    size_t fraction_length;
} mantissa_digits;

static char mantissa_digit(const mantissa_digits *m, size_t k)
{
    if (k < m->integer_length)
        return m->integer_part[k];
    return m->fraction_part[k - m->integer_length];
}

/* Reads the exponent digits [p, end) into a value clamped to +-limit, so
 * that any number of digits is safe to read. */
static long long read_exponent(const char *p, const char *end,
                               long long limit)
{
    bool negative = false;
    if (p < end && (*p == '+' || *p == '-')) {
        negative = *p == '-';
        p++;
    }

    long long exponent = 0;
    for (; p < end && exponent <= limit; p++)
        exponent = 10 * exponent + (*p - '0');
    if (exponent > limit)
        exponent = limit;
    return negative ? -exponent : exponent;
}

/* Reads s[0..n), which is_decimal_number accepted, as the exact value the
 * digits write, without rounding through a double. On INTEGER_TEXT_OK the
 * value, a whole number within +-2^53, is stored in *value. */
static integer_text_status read_integer_text(const char *s, size_t n,
                                             int64_t *value)
{
    const char *p = s;
    const char *end = s + n;
    bool negative = false;
    mantissa_digits m = {0};

    if (*p == '+' || *p == '-') {
        negative = *p == '-';
        p++;
    }
    m.integer_part = p;
    while (p < end && isdigit((unsigned char)*p))
        p++;
    m.integer_length = (size_t)(p - m.integer_part);
    if (p < end && *p == '.')
        p++;
    m.fraction_part = p;
    while (p < end && isdigit((unsigned char)*p))
        p++;
    m.fraction_length = (size_t)(p - m.fraction_part);

    /* Past n + 20 in magnitude the exponent alone decides the outcome,
     * because the mantissa has at most n digits. A larger exponent makes
     * the value too large, and a smaller one leaves a fraction. */
    long long limit = (long long)n + 20;
    long long exponent = 0;
    if (p < end)
        exponent = read_exponent(p + 1, end, limit);

    size_t length = m.integer_length + m.fraction_length;
    size_t first = 0;
    while (first < length && mantissa_digit(&m, first) == '0')
        first++;
    if (first == length) {
        *value = 0;
        return INTEGER_TEXT_OK;
    }
    size_t last = length - 1;
    while (mantissa_digit(&m, last) == '0')
        last--;

    /* the value is digits[first..last] times 10^power */
    long long power = exponent - (long long)m.fraction_length
                    + (long long)(length - 1 - last);
    long long significant = (long long)(last - first + 1);
    if (power < 0)
        return INTEGER_TEXT_NOT_WHOLE;
    if (significant + power > 16)
        return INTEGER_TEXT_TOO_LARGE;  /* at least 10^16 > 2^53 */

    /* at most 16 digits, so below 10^16 and exact in a uint64_t */
    uint64_t magnitude = 0;
    for (size_t k = first; k <= last; k++)
        magnitude = 10 * magnitude + (uint64_t)(mantissa_digit(&m, k) - '0');
    for (long long k = 0; k < power; k++)
        magnitude *= 10;
    if (magnitude > (uint64_t)DL_SWEEP_VALUES_INTEGER_LIMIT)
        return INTEGER_TEXT_TOO_LARGE;

    *value = negative ? -(int64_t)magnitude : (int64_t)magnitude;
    return INTEGER_TEXT_OK;
}

/* Reads [begin, end) as one number. With DL_SWEEP_VALUES_INTEGER in flags
 * the text must write a whole number within +-2^53. When it does not,
 * returns -1 with *problem set to the end of the reason (NOT_AN_INTEGER or
 * INTEGER_TOO_LARGE) and err untouched, so that the caller can name the
 * value. Any other failure returns -1 with *problem NULL and the reason in
 * err. */
static int read_number(const char *begin, const char *end, unsigned flags,
                       double *value, const char **problem, dl_error *err)
{
    *problem = NULL;
    if (!(flags & DL_SWEEP_VALUES_INTEGER))
        return dl_sweep_values_parse_number(begin, (size_t)(end - begin),
                                            value, err);

    trim(&begin, &end);
    if (check_number_text(begin, end, err) != 0)
        return -1;

    int64_t integer = 0;
    switch (read_integer_text(begin, (size_t)(end - begin), &integer)) {
    case INTEGER_TEXT_OK:
        *value = (double)integer;  /* exact, because |integer| <= 2^53 */
        return 0;
    case INTEGER_TEXT_NOT_WHOLE:
        *problem = NOT_AN_INTEGER;
        return -1;
    case INTEGER_TEXT_TOO_LARGE:
        *problem = INTEGER_TOO_LARGE;
        return -1;
    }
    return -1;
}

/* ---- numpy's ranges ---- */

void dl_sweep_values_linspace(double *out, double start, double stop,
                              size_t count)
{
    if (count == 1) {
        out[0] = start;
        return;
    }

    double div = (double)(count - 1);
    double delta = stop - start;
    double step = delta / div;

    for (size_t i = 0; i < count; i++) {
        double y = (double)i;

        /* numpy divides first when the step underflows to zero */
        if (step == 0.0)
            y = (y / div) * delta;
        else
            y = y * step;
        out[i] = y + start;
    }
    out[count - 1] = stop;
}

void dl_sweep_values_geomspace(double *out, double start, double stop,
                               size_t count)
{
    dl_sweep_values_linspace(out, log10(start), log10(stop), count);
    for (size_t i = 0; i < count; i++)
        out[i] = pow(10.0, out[i]);

    /* 10^log10(x) need not give x back, so numpy pins both ends */
    out[0] = start;
    if (count > 1)
        out[count - 1] = stop;
}

/* ---- the five forms ---- */

static int allocate(dl_sweep_values *out, size_t count,
                    dl_sweep_values_form form, dl_error *err)
{
    out->values = malloc(count * sizeof *out->values);
    if (out->values == NULL)
        return dl_error_set(err, "out of memory for %zu values", count);
    out->count = count;
    out->form = form;
    return 0;
}

static int parse_scalar(const char *begin, const char *end, unsigned flags,
                        dl_sweep_values *out, dl_error *err)
{
    char shown[QUOTE_MAX + 4];
    const char *problem;
    double value;

    if (read_number(begin, end, flags, &value, &problem, err) != 0) {
        if (problem != NULL)
            dl_error_set(err, "%s %s",
                         quote(shown, sizeof shown, begin,
                               (size_t)(end - begin)),
                         problem);
        return -1;
    }
    if (allocate(out, 1, DL_SWEEP_VALUES_SCALAR, err) != 0)
        return -1;
    out->values[0] = value;
    return 0;
}

/* Parses one list item, with a hint when it is a range. */
static int parse_item(const char *begin, const char *end, size_t index,
                      unsigned flags, double *value, dl_error *err)
{
    char shown[QUOTE_MAX + 4];
    const char *problem;

    trim(&begin, &end);
    if (begin == end)
        return dl_error_set(err, "item %zu of the list is empty", index + 1);

    if (read_number(begin, end, flags, value, &problem, err) == 0)
        return 0;
    if (problem != NULL)
        return dl_error_set(err, "item %zu (%s) %s", index + 1,
                            quote(shown, sizeof shown, begin,
                                  (size_t)(end - begin)),
                            problem);

    if (find_in(begin, end, ':') != NULL || find_dots(begin, end) != NULL)
        return dl_error_set(err, "'%s' is not a number: a comma list takes "
                            "plain numbers, not ranges",
                            quote(shown, sizeof shown, begin,
                                  (size_t)(end - begin)));
    return -1;
}

static int parse_list(const char *begin, const char *end, unsigned flags,
                      dl_sweep_values *out, dl_error *err)
{
    size_t count = 1;
    for (const char *p = begin; p < end; p++)
        count += *p == ',';
    if (count > DL_SWEEP_VALUES_MAX)
        return dl_error_set(err, "the list has %zu items; at most %d are "
                            "allowed", count, DL_SWEEP_VALUES_MAX);

    if (allocate(out, count, DL_SWEEP_VALUES_LIST, err) != 0)
        return -1;

    const char *item = begin;
    for (size_t i = 0; i < count; i++) {
        const char *comma = find_in(item, end, ',');
        const char *item_end = comma != NULL ? comma : end;

        if (parse_item(item, item_end, i, flags, &out->values[i], err)
            != 0)
            return -1;
        item = item_end + 1;
    }
    return 0;
}

/* Parses a range count: an integer from 1 to DL_SWEEP_VALUES_MAX. */
static int parse_count(const char *begin, const char *end, size_t *count,
                       dl_error *err)
{
    char shown[QUOTE_MAX + 4];
    double value;

    trim(&begin, &end);
    const char *text = quote(shown, sizeof shown, begin, (size_t)(end - begin));
    if (dl_sweep_values_parse_number(begin, (size_t)(end - begin), &value,
                                     err) != 0
        || value < 1.0 || value != floor(value))
        return dl_error_set(err, "count must be an integer >= 1, got %s",
                            text);
    if (value > DL_SWEEP_VALUES_MAX)
        return dl_error_set(err, "count must be at most %d, got %s",
                            DL_SWEEP_VALUES_MAX, text);

    /* strtod rounds 2.0000000000000001 to 2, so check the digits too */
    int64_t exact;
    if (read_integer_text(begin, (size_t)(end - begin), &exact)
        != INTEGER_TEXT_OK)
        return dl_error_set(err, "count must be an integer >= 1, got %s",
                            text);

    *count = (size_t)value;
    return 0;
}

/* Splits start:stop:count[:log] at its colons into at most four fields.
 * Returns the number of fields, or 5 when there are more than four. */
static int split_fields(const char *begin, const char *end,
                        const char *field[4], const char *field_end[4])
{
    int n = 0;
    const char *p = begin;

    for (;;) {
        const char *colon = find_in(p, end, ':');
        if (n == 4)
            return 5;

        field[n] = p;
        field_end[n] = colon != NULL ? colon : end;
        n++;
        if (colon == NULL)
            return n;
        p = colon + 1;
    }
}

/* Parses the start or the stop of start:stop:count, named by which. They
 * are the first and the last value, so with DL_SWEEP_VALUES_INTEGER their
 * digits must write exact integers. */
static int parse_range_end_value(const char *begin, const char *end,
                                 unsigned flags, const char *which,
                                 double *value, dl_error *err)
{
    char shown[QUOTE_MAX + 4];
    const char *problem;

    if (read_number(begin, end, flags, value, &problem, err) == 0)
        return 0;
    if (problem == NULL)
        return -1;

    trim(&begin, &end);
    return dl_error_set(err, "the %s of the range (%s) %s", which,
                        quote(shown, sizeof shown, begin,
                              (size_t)(end - begin)),
                        problem);
}

static int parse_range(const char *begin, const char *end, unsigned flags,
                       dl_sweep_values *out, dl_error *err)
{
    const char *field[4];
    const char *field_end[4];
    char shown[QUOTE_MAX + 4];

    int n = split_fields(begin, end, field, field_end);
    if (n != 3 && n != 4)
        return dl_error_set(err, "'%s' is not a range: write "
                            "start:stop:count or start:stop:count:log",
                            quote(shown, sizeof shown, begin,
                                  (size_t)(end - begin)));

    bool logarithmic = false;
    if (n == 4) {
        const char *kind = field[3];
        const char *kind_end = field_end[3];
        trim(&kind, &kind_end);
        if ((size_t)(kind_end - kind) != 3 || strncmp(kind, "log", 3) != 0)
            return dl_error_set(err, "the fourth field of a range must be "
                                "'log', got '%s'",
                                quote(shown, sizeof shown, kind,
                                      (size_t)(kind_end - kind)));
        logarithmic = true;
    }

    double start = 0.0;
    double stop = 0.0;
    size_t count = 0;
    if (parse_range_end_value(field[0], field_end[0], flags, "start",
                              &start, err) != 0
        || parse_range_end_value(field[1], field_end[1], flags, "stop", &stop,
                                 err) != 0
        || parse_count(field[2], field_end[2], &count, err) != 0)
        return -1;

    if (logarithmic && (start <= 0.0 || stop <= 0.0)) {
        char start_text[32], stop_text[32];
        return dl_error_set(err, "a log range needs start > 0 and stop > 0, "
                            "got start %s and stop %s",
                            dl_sweep_values_format(start, start_text,
                                                   sizeof start_text),
                            dl_sweep_values_format(stop, stop_text,
                                                   sizeof stop_text));
    }
    if (!isfinite(stop - start))
        return dl_error_set(err, "the range is too wide: stop - start "
                            "overflows a double");

    dl_sweep_values_form form = logarithmic ? DL_SWEEP_VALUES_LOG_RANGE
                                            : DL_SWEEP_VALUES_LINEAR_RANGE;
    if (allocate(out, count, form, err) != 0)
        return -1;
    if (logarithmic)
        dl_sweep_values_geomspace(out->values, start, stop, count);
    else
        dl_sweep_values_linspace(out->values, start, stop, count);
    return 0;
}

/* Parses one end of a..b, which must be an exact integer. */
static int parse_range_end(const char *begin, const char *end, double *value,
                           dl_error *err)
{
    char shown[QUOTE_MAX + 4];
    const char *problem;

    if (read_number(begin, end, DL_SWEEP_VALUES_INTEGER, value, &problem,
                    err) == 0)
        return 0;
    if (problem == NULL)
        return -1;

    trim(&begin, &end);
    quote(shown, sizeof shown, begin, (size_t)(end - begin));
    if (problem == INTEGER_TOO_LARGE)
        return dl_error_set(err, "the ends of an integer range a..b must lie "
                            "within " INTEGER_LIMIT_TEXT ", got '%s'", shown);
    return dl_error_set(err, "the ends of an integer range a..b must be "
                        "integers, got '%s'", shown);
}

static int parse_integer_range(const char *begin, const char *end,
                               const char *dots, dl_sweep_values *out,
                               dl_error *err)
{
    double first = 0.0;
    double last = 0.0;
    char first_text[32], last_text[32];

    if (parse_range_end(begin, dots, &first, err) != 0
        || parse_range_end(dots + 2, end, &last, err) != 0)
        return -1;

    dl_sweep_values_format(first, first_text, sizeof first_text);
    dl_sweep_values_format(last, last_text, sizeof last_text);
    if (first > last)
        return dl_error_set(err, "an integer range a..b needs a <= b, got "
                            "%s..%s", first_text, last_text);

    /* exact, because both ends are integers within 2^53 */
    double count = last - first + 1.0;
    if (count > DL_SWEEP_VALUES_MAX)
        return dl_error_set(err, "%s..%s has %.0f values; at most %d are "
                            "allowed", first_text, last_text, count,
                            DL_SWEEP_VALUES_MAX);

    if (allocate(out, (size_t)count, DL_SWEEP_VALUES_INTEGER_RANGE, err) != 0)
        return -1;
    for (size_t i = 0; i < out->count; i++)
        out->values[i] = first + (double)i;
    return 0;
}

/* ---- checks on the values ---- */

static int check_integers(const dl_sweep_values *values, dl_error *err)
{
    char shown[32];

    for (size_t i = 0; i < values->count; i++) {
        double v = values->values[i];
        if (v == floor(v) && fabs(v) <= DL_SWEEP_VALUES_INTEGER_LIMIT)
            continue;

        dl_sweep_values_format(v, shown, sizeof shown);
        const char *problem = v == floor(v) ? INTEGER_TOO_LARGE
                                            : NOT_AN_INTEGER;
        if (values->form == DL_SWEEP_VALUES_SCALAR)
            return dl_error_set(err, "%s %s", shown, problem);
        if (values->form == DL_SWEEP_VALUES_LIST)
            return dl_error_set(err, "item %zu (%s) %s", i + 1, shown,
                                problem);
        return dl_error_set(err, "value %zu of the range (%s) %s", i + 1,
                            shown, problem);
    }
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static int check_duplicates(const dl_sweep_values *values, dl_error *err)
{
    if (values->count < 2)
        return 0;

    double *sorted = malloc(values->count * sizeof *sorted);
    if (sorted == NULL)
        return dl_error_set(err, "out of memory for %zu values",
                            values->count);
    memcpy(sorted, values->values, values->count * sizeof *sorted);
    qsort(sorted, values->count, sizeof *sorted, compare_doubles);

    int status = 0;
    for (size_t i = 1; i < values->count; i++) {
        if (sorted[i] == sorted[i - 1]) {
            char shown[32];
            dl_sweep_values_format(sorted[i], shown, sizeof shown);
            status = dl_error_set(err, "the value %s appears more than once; "
                                  "each value of a sweep must be distinct",
                                  shown);
            break;
        }
    }
    free(sorted);
    return status;
}

/* ---- entry points ---- */

static int parse_form(const char *begin, const char *end, unsigned flags,
                      dl_sweep_values *out, dl_error *err)
{
    const char *dots = find_dots(begin, end);

    if (find_in(begin, end, ',') != NULL)
        return parse_list(begin, end, flags, out, err);
    if (dots != NULL)
        return parse_integer_range(begin, end, dots, out, err);
    if (find_in(begin, end, ':') != NULL)
        return parse_range(begin, end, flags, out, err);
    return parse_scalar(begin, end, flags, out, err);
}

int dl_sweep_values_parse(const char *text, unsigned flags,
                          dl_sweep_values *out, dl_error *err)
{
    const char *begin = text;
    const char *end = text + strlen(text);

    out->values = NULL;
    out->count = 0;
    out->form = DL_SWEEP_VALUES_SCALAR;

    trim(&begin, &end);
    if (begin == end)
        return dl_error_set(err, "the value is empty: give a number, a comma "
                            "list or a range");

    int status = parse_form(begin, end, flags, out, err);
    if (status == 0 && (flags & DL_SWEEP_VALUES_INTEGER))
        status = check_integers(out, err);
    if (status == 0 && !(flags & DL_SWEEP_VALUES_KEEP_DUPLICATES))
        status = check_duplicates(out, err);

    if (status != 0)
        dl_sweep_values_free(out);
    return status;
}

void dl_sweep_values_free(dl_sweep_values *out)
{
    free(out->values);
    out->values = NULL;
    out->count = 0;
}
