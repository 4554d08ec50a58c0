/* sweep_values.h - parsing of one config value text into a list of numbers.
 *
 * A value text is one of
 *   a scalar           0.7
 *   a comma list       0, 0.5, 1              (each item a scalar)
 *   a linear range     start:stop:count       numpy.linspace(start, stop, count)
 *   a log range        start:stop:count:log   numpy.geomspace(start, stop, count)
 *   an integer range   a..b                   a, a+1, ..., b
 * Numbers are decimal and read with strtod in the C locale. NaN, infinity,
 * hexadecimal floats, trailing text ("0.5x"), empty list items ("1,,2") and
 * repeated values are rejected, because a repeated value would repeat a
 * coordinate of a sweep axis.
 *
 * This module knows nothing of config keys: the allowed range of a key
 * (">= 0", "in [0, 1]") is checked by the config, which also adds the file,
 * line and key to the reasons returned here.
 */
#ifndef DRIFTLAB_SWEEP_VALUES_H
#define DRIFTLAB_SWEEP_VALUES_H

#include <stddef.h>

#include "error.h"

/* Maximum number of values one text may produce. It is a sanity bound far
 * above any plottable axis, so that a typo such as 0:1:10000000000 is
 * rejected before anything is allocated. */
#define DL_SWEEP_VALUES_MAX 1000000

/* Integers are exact in a double up to 2^53, so integer values and range
 * ends must lie within +-2^53. An integer is read from its digits, so a
 * text beyond this limit is rejected instead of rounded to a double. */
#define DL_SWEEP_VALUES_INTEGER_LIMIT 9007199254740992.0

/* The syntax form a value text was written in. */
typedef enum {
    DL_SWEEP_VALUES_SCALAR = 0,
    DL_SWEEP_VALUES_LIST,
    DL_SWEEP_VALUES_LINEAR_RANGE,
    DL_SWEEP_VALUES_LOG_RANGE,
    DL_SWEEP_VALUES_INTEGER_RANGE
} dl_sweep_values_form;

/* Flags of dl_sweep_values_parse. */
enum {
    /* Every value must be an integer (top_k, seeds, token ids). Each
     * number in the text must then write a whole number within +-2^53
     * exactly: 2.0000000000000001 and 9007199254740993 are rejected,
     * although strtod would round them to the integers 2 and 2^53. */
    DL_SWEEP_VALUES_INTEGER = 1u << 0,
    /* Allow repeated values, for lists that are data rather than an axis
     * (a prompt may repeat a token). */
    DL_SWEEP_VALUES_KEEP_DUPLICATES = 1u << 1
};

/* Values parsed from one text, in the order the text gives them. */
typedef struct {
    double *values;   /* count values, malloc'd */
    size_t count;     /* 1 to DL_SWEEP_VALUES_MAX */
    dl_sweep_values_form form;
} dl_sweep_values;

/* Parses text (one whole value, surrounding whitespace ignored) into out.
 * flags is a combination of DL_SWEEP_VALUES_* flags.
 * On success returns 0 and out->values is a malloc'd array that the caller
 * frees with dl_sweep_values_free. On failure returns -1, leaves out empty
 * (values NULL, count 0) and writes the reason to err, without the key or
 * line (for example "'0.5x' is not a number"). */
int dl_sweep_values_parse(const char *text, unsigned flags,
                          dl_sweep_values *out, dl_error *err);

/* Frees out->values and empties out. out may already be empty. */
void dl_sweep_values_free(dl_sweep_values *out);

/* Parses text[0..length) as one finite decimal number, ignoring
 * surrounding spaces and tabs. Returns 0 and stores the number in *value,
 * or returns -1 with the reason in err. "-0" is stored as +0. */
int dl_sweep_values_parse_number(const char *text, size_t length,
                                 double *value, dl_error *err);

/* Fills out[0..count) as numpy.linspace(start, stop, count) does (numpy
 * 1.24): step = (stop - start) / (count - 1), out[i] = i * step + start,
 * the last value set to stop exactly; count 1 gives start. count >= 1.
 * NOTE: bit equality needs the multiply and the add rounded separately.
 * gcc 12 keeps them apart with -std=c11, even with -march=native, but a
 * build with -ffp-contract=fast or -ffast-math may fuse them. */
void dl_sweep_values_linspace(double *out, double start, double stop,
                              size_t count);

/* Fills out[0..count) as numpy.geomspace(start, stop, count) does:
 * 10^linspace(log10(start), log10(stop), count) with the first and last
 * values set to start and stop exactly. start > 0, stop > 0, count >= 1.
 * NOTE: the inner values match numpy only to within a relative
 * (4 ln(10) max(|log10 start|, |log10 stop|) + 2) * 2^-52, about 1e-14 for
 * ends in [1e-8, 1e8], not to within 1 ulp. numpy 1.24 on an AVX-512 CPU
 * uses its own SIMD log10, which differs from glibc's by 1 ulp for about
 * 8% of inputs, and pow amplifies that. test_sweep_values checks both the
 * bound and exact agreement on ends that both log10s round alike. */
void dl_sweep_values_geomspace(double *out, double start, double stop,
                               size_t count);

/* Writes value into buffer for messages: an integer below 1e16 in full,
 * anything else as the shortest %g text that reads back as value (at most
 * 17 significant digits). Returns buffer. */
const char *dl_sweep_values_format(double value, char *buffer, size_t size);

#endif
