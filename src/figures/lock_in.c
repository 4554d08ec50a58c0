/* lock_in.c - final lock-in against temperature, with its spread across
 * seeds.
 *
 * Lock-in at the last step is the share of the generated tokens that fall
 * in the most frequent cluster among them. For each temperature the
 * figure computes, from the stored per-run values (dl_results
 * .final_lock_in), the median and the 10th and 90th percentiles across
 * seeds, interpolated linearly as numpy.percentile does by default
 * (dl_summary_percentile). The median is drawn as points joined by a
 * line, and the percentile range as a vertical segment at each
 * temperature. A dashed line marks the lowest possible lock-in,
 * ceil(steps / clusters) / steps, which the generated tokens reach when
 * they are spread evenly over the clusters.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

/* Fills median, p10 and p90 [count] from the per-run final lock-in. */
static int lock_in_stats(const dl_results *results, const fig_points *points, double *median,
                         double *p10, double *p90, dl_error *err)
{
    double *work = malloc(results->n_seeds * sizeof *work);
    if (work == NULL)
        return dl_error_set(err, "out of memory for the lock-in percentiles");
    for (size_t i = 0; i < points->count; i++) {
        const double *seeds = results->final_lock_in + points->point[i] * results->n_seeds;
        dl_summary_percentile(&median[i], seeds, results->n_seeds, 1, 50.0, work);
        dl_summary_percentile(&p10[i], seeds, results->n_seeds, 1, 10.0, work);
        dl_summary_percentile(&p90[i], seeds, results->n_seeds, 1, 90.0, work);
    }
    free(work);
    return 0;
}

/* Computes the x range: the temperatures with 5 % of their span on each
 * side, so that the end markers are not clipped, or +-0.5 round a single
 * temperature.
 * NOTE: the temperature axis is linear here, as on the colour bar of the
 * line figures and the prompt attention map beyond 8 temperatures, so a
 * log-spaced or uneven sweep (0.01:10:9:log) crowds its low temperatures
 * into a corner. */
static void temperature_limits(const fig_points *points, double *lo, double *hi)
{
    double min = points->temperature[0], max = points->temperature[0];
    for (size_t i = 1; i < points->count; i++) {
        min = fmin(min, points->temperature[i]);
        max = fmax(max, points->temperature[i]);
    }
    double pad = max > min ? 0.05 * (max - min) : 0.5;
    *lo = min - pad;
    *hi = max + pad;
}

int dl_figure_lock_in(const dl_results *results, const plot_theme *theme, dl_figure *out,
                      dl_error *err)
{
    memset(out, 0, sizeof *out);
    fig_points points;
    if (fig_points_by_temperature(results, &points, err) != 0)
        return -1;

    size_t n = points.count;
    double *median = malloc(n * sizeof *median), *p10 = malloc(n * sizeof *p10);
    double *p90 = malloc(n * sizeof *p90);
    double *range_x = malloc(3 * n * sizeof *range_x), *range_y = malloc(3 * n * sizeof *range_y);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    if (status == 0 && (median == NULL || p10 == NULL || p90 == NULL || range_x == NULL ||
                        range_y == NULL))
        status = dl_error_set(err, "out of memory for the lock-in figure");
    if (status == 0)
        status = lock_in_stats(results, &points, median, p10, p90, err);

    /* the 10-90 % ranges as one line broken by NaN between temperatures */
    for (size_t i = 0; status == 0 && i < n; i++) {
        range_x[3 * i] = range_x[3 * i + 1] = points.temperature[i];
        range_x[3 * i + 2] = NAN;
        range_y[3 * i] = p10[i];
        range_y[3 * i + 1] = p90[i];
        range_y[3 * i + 2] = NAN;
    }

    double lo = 0.0, hi = 1.0;
    temperature_limits(&points, &lo, &hi);
    plot_style range_style = plot_style_category(0);
    range_style.width = 0.6 * theme->line_width;
    plot_style median_style = plot_style_category(0);
    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    int even_share = (results->steps + results->clusters - 1) / results->clusters;
    double floor_value = (double)even_share / results->steps;
    if (panel == NULL ||
        plot_figure_set_title(figure, "Final lock-in against temperature", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Temperature <i>T</i>", NULL,
                            err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "Final lock-in", NULL, err) != 0 ||
        plot_panel_set_limits(panel, PLOT_X, lo, hi, err) != 0 ||
        plot_panel_set_limits(panel, PLOT_Y, 0.0, 1.05, err) != 0 ||
        plot_panel_add_line(panel, range_x, range_y, 3 * n, range_style,
                            "10\xe2\x80\x93" "90 % of seeds", err) != 0 ||
        (n >= 2 && plot_panel_add_line(panel, points.temperature, median, n, median_style, NULL,
                                       err) != 0) ||
        plot_panel_add_points(panel, points.temperature, median, n, median_style,
                              "median over seeds", err) != 0 ||
        plot_panel_add_hline(panel, floor_value, NULL, err) != 0 ||
        fig_add_marker_key(panel, theme, "lowest possible", err) != 0)
        status = -1;
    if (status == 0)
        plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);

    if (status == 0) {
        char first[40], last[40], lowest[32];
        fig_text_append(&caption, "Lock-in after the last step: the share of the %d generated "
                        "tokens that fall in the most frequent cluster among them, against the "
                        "temperature. Points: median over %zu seeds; vertical segments: 10th "
                        "to 90th percentile across seeds. The dashed line is the lowest "
                        "possible lock-in, %d/%d = %s, reached when the generated tokens are "
                        "spread evenly over the %d clusters.", results->steps,
                        results->n_seeds, even_share, results->steps,
                        fig_number(floor_value, lowest, sizeof lowest), results->clusters);
        if (points.swept)
            fig_text_append(&caption, " Temperatures from %s to %s.",
                            fig_temperature_text(&points, points.temperature[0], first,
                                                 sizeof first),
                            fig_temperature_text(&points, points.temperature[n - 1], last,
                                                 sizeof last));
        fig_append_sweep_note(&caption, results, &points);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    free(median);
    free(p10);
    free(p90);
    free(range_x);
    free(range_y);
    fig_points_free(&points);
    return status;
}
