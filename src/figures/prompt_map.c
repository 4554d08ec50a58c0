/* prompt_map.c - temperature x step map of the median prompt attention,
 * with the half-life of the median marked on each temperature's row.
 *
 * Rows are temperatures and columns steps; each cell is the stored median
 * over seeds (prompt_attention_p50) in percent, on the fixed colour scale
 * [0, 100] %. The marker of a row sits at its stored half_life_of_median;
 * a row whose median never falls below 50 % has none.
 *
 * The temperature axis is a category axis (one equal row per value,
 * labelled with it) for up to CATEGORY_MAX temperatures. With more, it is
 * a linear axis. Evenly spaced temperatures then make one heat map whose
 * rows are centred on their values. Uneven ones make one heat map per row
 * that reaches halfway to each neighbour, so row heights follow the
 * spacing of the values.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most temperatures shown as labelled categories; beyond this their
 * labels would crowd a slide-sized axis. */
#define CATEGORY_MAX 8

/* Relative tolerance for calling a temperature axis evenly spaced. */
#define EVEN_TOLERANCE 1e-9

static bool evenly_spaced(const fig_points *points)
{
    if (points->count < 3)
        return true;
    double step = points->temperature[1] - points->temperature[0];
    for (size_t i = 2; i < points->count; i++) {
        double gap = points->temperature[i] - points->temperature[i - 1];
        if (fabs(gap - step) > EVEN_TOLERANCE * fabs(step))
            return false;
    }
    return step > 0.0;
}

/* Adds the rows of the map on a linear temperature axis. The points are
 * in ascending order of temperature (fig_points_by_temperature). */
static int add_linear_rows(plot_panel *panel, const fig_points *points, const double *values,
                           size_t steps, dl_error *err)
{
    size_t n = points->count;
    double x0 = -0.5, x1 = (double)steps - 0.5;
    const double *t = points->temperature;

    if (evenly_spaced(points)) {
        double half = 0.5 * (t[1] - t[0]);
        return plot_panel_add_heatmap(panel, values, n, steps, x0, x1, t[0] - half,
                                      t[n - 1] + half, PLOT_COLORMAP_VIRIDIS, 0.0, 100.0, err);
    }
    for (size_t i = 0; i < n; i++) {
        double below = i > 0 ? 0.5 * (t[i] + t[i - 1]) : t[i] - 0.5 * (t[1] - t[0]);
        double above = i + 1 < n ? 0.5 * (t[i] + t[i + 1]) : t[i] + 0.5 * (t[i] - t[i - 1]);
        if (plot_panel_add_heatmap(panel, values + i * steps, 1, steps, x0, x1, below, above,
                                   PLOT_COLORMAP_VIRIDIS, 0.0, 100.0, err) != 0)
            return -1;
    }
    return 0;
}

static int add_category_rows(plot_panel *panel, const fig_points *points, const double *values,
                             size_t steps, dl_error *err)
{
    size_t n = points->count;
    char **labels = calloc(n, sizeof *labels);
    if (labels == NULL)
        return dl_error_set(err, "out of memory for the temperature labels");
    int status = 0;
    char number[40];
    for (size_t i = 0; i < n && status == 0; i++) {
        labels[i] = strdup(fig_temperature_text(points, points->temperature[i], number,
                                                sizeof number));
        if (labels[i] == NULL)
            status = dl_error_set(err, "out of memory for the temperature labels");
    }
    if (status == 0 &&
        (plot_panel_set_categories(panel, PLOT_Y, (const char *const *)labels, n, err) != 0 ||
         plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_CATEGORY, "Temperature <i>T</i>", NULL,
                             err) != 0 ||
         plot_panel_add_heatmap(panel, values, n, steps, -0.5, (double)steps - 0.5, -0.5,
                                (double)n - 0.5, PLOT_COLORMAP_VIRIDIS, 0.0, 100.0, err) != 0))
        status = -1;
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
    return status;
}

int dl_figure_prompt_attention_map(const dl_results *results, const plot_theme *theme,
                                   dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    fig_points points;
    if (fig_points_by_temperature(results, &points, err) != 0)
        return -1;
    size_t n = points.count, steps = (size_t)results->steps;
    bool categories = n <= CATEGORY_MAX;

    double *values = malloc(n * steps * sizeof *values);
    double *half_x = malloc(n * sizeof *half_x), *half_y = malloc(n * sizeof *half_y);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    if (status == 0 && (values == NULL || half_x == NULL || half_y == NULL))
        status = dl_error_set(err, "out of memory for the prompt attention map");

    /* the medians in percent, and each row's half-life */
    size_t marked = 0;
    for (size_t i = 0; status == 0 && i < n; i++) {
        const double *p50 = fig_summary(results, DL_METRIC_PROMPT_ATTENTION, DL_STAT_P50,
                                        points.point[i]);
        for (size_t s = 0; s < steps; s++)
            values[i * steps + s] = 100.0 * p50[s];
        half_x[i] = results->half_life_of_median[points.point[i]];
        half_y[i] = categories ? (double)i : points.temperature[i];
        if (!isnan(half_x[i]))
            marked++;
    }

    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL ||
        plot_figure_set_title(figure, "Median prompt attention by temperature and step",
                              err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Generation step", NULL, err) != 0)
        status = -1;
    if (status == 0 && categories)
        status = add_category_rows(panel, &points, values, steps, err);
    if (status == 0 && !categories) {
        status = plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "Temperature <i>T</i>",
                                     NULL, err);
        if (status == 0)
            status = add_linear_rows(panel, &points, values, steps, err);
    }
    plot_style marker = {theme->text, 0.0, PLOT_DASH_SOLID};
    if (status == 0 &&
        (plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, 0.0, 100.0,
                                 "Median prompt attention (%)", err) != 0 ||
         plot_panel_add_points(panel, half_x, half_y, n, marker, "half-life", err) != 0))
        status = -1;
    if (status == 0) {
        plot_panel_set_integer_ticks(panel, PLOT_X);
        plot_panel_set_grid(panel, PLOT_Y, 0);
        plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);
    }

    if (status == 0) {
        fig_text_append(&caption, "Median over %zu seeds of the share of the latest query's "
                        "attention that falls on the prompt, in percent, for each temperature "
                        "(row) and generation step (column). Dots mark the half-life of each "
                        "row, the first step at which the median falls below 50 %%",
                        results->n_seeds);
        if (marked < n)
            fig_text_append(&caption, "; a row without a dot stays at or above 50 %% for all "
                            "%zu steps", steps);
        fig_text_append(&caption, ".");
        fig_append_sweep_note(&caption, results, &points);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    free(values);
    free(half_x);
    free(half_y);
    fig_points_free(&points);
    return status;
}
