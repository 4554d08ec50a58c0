/* ticks.h - tick placement and tick labels for linear and log axes.
 *
 * Linear axes: the major step is m * 10^k with m in {1, 2, 2.5, 5}; the
 * smallest step that gives at most `max_count` ticks wins. In NICE mode
 * the axis range grows outward to the nearest multiples of the step, so
 * the first and last ticks are the axis ends. In EXACT mode the range is
 * kept, and the ticks are the multiples of the step inside it. Every tick
 * is an integer multiple of the step, so a range that crosses zero has a
 * tick at 0. Tick values are computed as (integer * m) scaled by a power
 * of ten in one rounding, and labels are printed from those integers, so a
 * label never shows binary noise such as 0.30000000000000004. All labels
 * of one axis have the same number of decimals. When the largest label
 * would be 10^5 or more, or below 10^-3, labels show value / 10^exponent,
 * and the caller puts "x10^exponent" beside the axis.
 *
 * Log axes: ticks sit on decades 10^d. Over at most one decade the
 * labelled ticks are 1, 2 and 5 times each decade; over two or three
 * decades 2 and 5 times each decade become unlabelled minor ticks; over
 * more decades every n-th decade is labelled so that at most `max_count`
 * labels remain, and the other decades become minor ticks. Decade labels
 * are 10<sup>d</sup>.
 *
 * Labels are Pango markup in UTF-8, with U+2212 MINUS SIGN for negative
 * numbers. All functions are pure: no I/O, no allocation.
 *
 * Left out: offset notation for narrow ranges far from zero (1000001 to
 * 1000002 gets long labels), dates, and symmetric-log axes.
 */
#ifndef DRIFTLAB_PLOT_TICKS_H
#define DRIFTLAB_PLOT_TICKS_H

#include <stddef.h>

#include "error.h"

#define PLOT_TICKS_MAX 32
#define PLOT_MINOR_TICKS_MAX 64
#define PLOT_TICK_LABEL_MAX 48
/* the usual upper bound on labelled ticks; with it an axis gets 4 to 8 */
#define PLOT_TICKS_DEFAULT_COUNT 8

typedef enum {
    PLOT_RANGE_NICE,  /* extend the data range to the enclosing ticks */
    PLOT_RANGE_EXACT, /* keep the range; ticks only inside it */
} plot_range_mode;

/* Ticks of one axis, in data units. */
typedef struct {
    double lo, hi;      /* the axis range */
    size_t count;       /* labelled (major) ticks, increasing */
    double value[PLOT_TICKS_MAX];
    char label[PLOT_TICKS_MAX][PLOT_TICK_LABEL_MAX];
    size_t minor_count; /* unlabelled ticks, increasing */
    double minor[PLOT_MINOR_TICKS_MAX];
    int exponent;       /* linear axes: labels show value / 10^exponent */
    double step;        /* linear axes: distance between major ticks; 0 on log axes */
} plot_ticks;

/* Places ticks on a linear axis covering [data_min, data_max].
 *
 * data_min == data_max (a constant series) is padded to +-10 % of the
 * value, or to [-1, 1] for 0, in NICE mode. max_count is the largest
 * number of labelled ticks wanted, from 3 to PLOT_TICKS_MAX.
 *
 * Returns 0 and fills *ticks. Returns -1 with err set, *ticks unspecified,
 * when a bound is NaN or infinite, data_min > data_max, EXACT mode gets
 * data_min == data_max, max_count is out of range, or the range is too
 * wide to represent. */
int plot_ticks_linear(plot_ticks *ticks, double data_min, double data_max,
                      plot_range_mode mode, size_t max_count, dl_error *err);

/* Places ticks on a linear axis of whole numbers (token positions,
 * steps) as plot_ticks_linear does, with two differences. The step is a
 * whole number (1, 2, 5, 10, 20, 25, ...), so ticks fall on integers
 * only, and an EXACT range that contains a single integer gets that one
 * tick. The labels are the integers in full: exponent is always 0, so
 * position 100000 reads "100000" and never "1.0" with a x10^5 factor that
 * an untitled axis could not show. Returns -1 with err set for the
 * failures of plot_ticks_linear and when an EXACT range contains no
 * integer. */
int plot_ticks_integer(plot_ticks *ticks, double data_min, double data_max,
                       plot_range_mode mode, size_t max_count, dl_error *err);

/* Places ticks on a log10 axis covering [data_min, data_max].
 *
 * NICE mode extends the range to whole decades; a constant series that is
 * a power of ten gets one decade on each side. Both bounds must be finite
 * and positive. Returns 0 and fills *ticks, or -1 with err set for the
 * same failures as plot_ticks_linear and for a bound <= 0. */
int plot_ticks_log(plot_ticks *ticks, double data_min, double data_max,
                   plot_range_mode mode, size_t max_count, dl_error *err);

#endif
