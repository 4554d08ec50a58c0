/* summary.h - statistics over the seeds of a sweep point.
 *
 * Inputs are values[n_seeds][steps] (one metric series per seed); outputs
 * are one value per step. The standard deviation is the sample one
 * (divisor n - 1; NaN for a single seed). Percentiles interpolate linearly
 * between order statistics at position q / 100 * (n - 1), which is
 * numpy.percentile's default method.
 */
#ifndef DRIFTLAB_SUMMARY_H
#define DRIFTLAB_SUMMARY_H

#include <stddef.h>

/* out[steps] = mean over seeds of values[n_seeds][steps]. */
void dl_summary_mean(double *out, const double *values, size_t n_seeds,
                     size_t steps);

/* out[steps] = sample standard deviation over seeds. */
void dl_summary_sd(double *out, const double *values, size_t n_seeds,
                   size_t steps);

/* out[steps] = q-th percentile over seeds (q in [0, 100]); work holds
 * n_seeds doubles. */
void dl_summary_percentile(double *out, const double *values, size_t n_seeds,
                           size_t steps, double q, double *work);

/* Returns the first step whose value is below threshold, or NaN when no
 * step is. */
double dl_half_life(const double *series, size_t steps, double threshold);

#endif
