/* summary.c - statistics over seeds; see summary.h. */
#include "summary.h"

#include <math.h>
#include <stdlib.h>

void dl_summary_mean(double *out, const double *values, size_t n_seeds,
                     size_t steps)
{
    for (size_t t = 0; t < steps; t++) {
        double sum = 0.0;
        for (size_t s = 0; s < n_seeds; s++)
            sum += values[s * steps + t];
        out[t] = sum / (double)n_seeds;
    }
}

void dl_summary_sd(double *out, const double *values, size_t n_seeds,
                   size_t steps)
{
    for (size_t t = 0; t < steps; t++) {
        if (n_seeds < 2) {
            out[t] = NAN;
            continue;
        }

        /* two passes: the mean, then squared deviations from it */
        double sum = 0.0;
        for (size_t s = 0; s < n_seeds; s++)
            sum += values[s * steps + t];
        double mean = sum / (double)n_seeds;
        double squares = 0.0;
        for (size_t s = 0; s < n_seeds; s++) {
            double deviation = values[s * steps + t] - mean;
            squares += deviation * deviation;
        }
        out[t] = sqrt(squares / (double)(n_seeds - 1));
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation written as numpy writes it, so that both round the
 * same way: from a when t < 0.5, from b otherwise. */
static double lerp(double a, double b, double t)
{
    double difference = b - a;
    return t >= 0.5 ? b - difference * (1.0 - t) : a + difference * t;
}

void dl_summary_percentile(double *out, const double *values, size_t n_seeds,
                           size_t steps, double q, double *work)
{
    double position = q / 100.0 * (double)(n_seeds - 1);
    size_t below = (size_t)floor(position);
    if (below > n_seeds - 1)
        below = n_seeds - 1;
    size_t above = below + 1 < n_seeds ? below + 1 : below;
    double fraction = position - (double)below;

    for (size_t t = 0; t < steps; t++) {
        for (size_t s = 0; s < n_seeds; s++)
            work[s] = values[s * steps + t];
        qsort(work, n_seeds, sizeof *work, compare_doubles);
        out[t] = lerp(work[below], work[above], fraction);
    }
}

double dl_half_life(const double *series, size_t steps, double threshold)
{
    for (size_t t = 0; t < steps; t++)
        if (series[t] < threshold)
            return (double)t;
    return NAN;
}
