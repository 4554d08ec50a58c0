/* metric_curves.c - prompt attention and attention entropy against the
 * generation step, one line per temperature.
 *
 * Each line is the median over seeds (the stored p50 series) and each
 * band spans the stored 10th to 90th percentile, so every value drawn is
 * a stored summary. Colours follow fig_temperature_color. Up to
 * FIG_LEGEND_MAX temperatures get a legend entry and a band each. With
 * more, a colour bar replaces the legend, and only the lowest and highest
 * temperature keep their band, because many overlapping bands hide the
 * lines.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What distinguishes the two figures. */
typedef struct {
    dl_metric metric;
    double scale;          /* stored value to drawn value: 100 for percent */
    double y_max;          /* top of the y axis */
    bool y_from_zero;      /* the y axis starts at 0; otherwise at a tick
                              below the lowest value drawn */
    const char *title;     /* figure title, markup */
    const char *y_title;   /* markup */
    const char *y_unit;    /* markup or NULL */
    const char *what;      /* caption: what the lines show */
    bool half_life_line;   /* mark 50 %, the threshold of the half-life */
} curve_kind;

static int add_temperature(plot_panel *panel, const dl_results *results, const fig_points *points,
                           size_t i, const curve_kind *kind, const double *step, double *buffer,
                           dl_error *err)
{
    size_t steps = (size_t)results->steps;
    bool colorbar = fig_uses_colorbar(points);
    plot_rgb color = fig_temperature_color(points, i);
    char number[40], label[96];

    /* the band: every temperature, or the two extremes under a colour bar */
    bool band = !colorbar || i == 0 || i + 1 == points->count;
    if (band && steps >= 2) {
        const double *p10 = fig_summary(results, kind->metric, DL_STAT_P10, points->point[i]);
        const double *p90 = fig_summary(results, kind->metric, DL_STAT_P90, points->point[i]);
        double *lo = buffer, *hi = buffer + steps;
        for (size_t s = 0; s < steps; s++) {
            lo[s] = kind->scale * p10[s];
            hi[s] = kind->scale * p90[s];
        }
        if (plot_panel_add_band(panel, step, lo, hi, steps, color, NULL, err) != 0)
            return -1;
    }

    const double *p50 = fig_summary(results, kind->metric, DL_STAT_P50, points->point[i]);
    for (size_t s = 0; s < steps; s++)
        buffer[s] = kind->scale * p50[s];
    snprintf(label, sizeof label, "<i>T</i> = %s",
             fig_temperature_text(points, points->temperature[i], number, sizeof number));
    plot_style style = {color, 0.0, PLOT_DASH_SOLID};
    if (steps == 1)
        return plot_panel_add_points(panel, step, buffer, steps, style, colorbar ? NULL : label,
                                     err);
    return plot_panel_add_line(panel, step, buffer, steps, style, colorbar ? NULL : label, err);
}

/* Sets the y range: [0, y_max], or from a tick below the lowest value
 * drawn (the 10th percentiles) up to y_max, so that a metric that varies
 * little near its maximum is not drawn as a flat line. */
static int set_y_limits(plot_panel *panel, const dl_results *results, const fig_points *points,
                        const curve_kind *kind, dl_error *err)
{
    double lowest = 0.0;
    if (!kind->y_from_zero) {
        lowest = kind->y_max;
        for (size_t i = 0; i < points->count; i++) {
            const double *p10 = fig_summary(results, kind->metric, DL_STAT_P10, points->point[i]);
            for (int s = 0; s < results->steps; s++)
                if (kind->scale * p10[s] < lowest)
                    lowest = kind->scale * p10[s];
        }
        plot_ticks ticks;
        if (lowest < kind->y_max &&
            plot_ticks_linear(&ticks, lowest, kind->y_max, PLOT_RANGE_NICE,
                              PLOT_TICKS_DEFAULT_COUNT, err) == 0)
            lowest = ticks.lo;
        else
            lowest = kind->y_max - 0.1 * fabs(kind->y_max);
    }
    return plot_panel_set_limits(panel, PLOT_Y, lowest, kind->y_max, err);
}

static void write_caption(fig_text *caption, const dl_results *results, const fig_points *points,
                          const curve_kind *kind)
{
    char number[40];
    fig_text_append(caption, "%s, against the generation step", kind->what);
    if (points->swept)
        fig_text_append(caption, ", one line per temperature (%zu temperatures from %s",
                        points->count,
                        fig_temperature_text(points, points->temperature[0], number,
                                             sizeof number));
    if (points->swept)
        fig_text_append(caption, " to %s).",
                        fig_temperature_text(points, points->temperature[points->count - 1],
                                             number, sizeof number));
    else
        fig_text_append(caption, ".");

    fig_text_append(caption, " Lines: median over %zu seeds.", results->n_seeds);
    if (fig_uses_colorbar(points))
        fig_text_append(caption, " The colour bar gives the temperature of each line; the "
                        "shaded bands, drawn for the lowest and the highest temperature only, "
                        "span the 10th to 90th percentile across seeds.");
    else
        fig_text_append(caption, " Shaded bands: 10th to 90th percentile across seeds.");
    if (kind->half_life_line)
        fig_text_append(caption, " The dashed line marks 50 %%: the half-life is the first step "
                        "at which the median falls below it.");
    fig_append_sweep_note(caption, results, points);
}

static int metric_figure(const dl_results *results, const curve_kind *kind,
                         const plot_theme *theme, dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    fig_points points;
    if (fig_points_by_temperature(results, &points, err) != 0)
        return -1;
    size_t steps = (size_t)results->steps;
    double *step = fig_step_axis(results->steps, err);
    double *buffer = malloc(2 * steps * sizeof *buffer);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = step != NULL && figure != NULL ? 0 : -1;
    if (status == 0 && buffer == NULL)
        status = dl_error_set(err, "out of memory for the %s figure",
                              dl_store_metric_name(kind->metric));

    /* axes */
    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL ||
        plot_figure_set_title(figure, kind->title, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Generation step", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, kind->y_title, kind->y_unit,
                            err) != 0 ||
        (steps >= 2 && plot_panel_set_limits(panel, PLOT_X, 0.0, (double)(steps - 1), err) != 0))
        status = -1;

    /* one line (and band) per temperature, coolest first, after the keys
     * of the bands and the marker line */
    if (status == 0)
        plot_panel_set_integer_ticks(panel, PLOT_X);
    if (status == 0 && steps >= 2)
        status = fig_add_band_key(panel, theme, "10\xe2\x80\x93" "90 % of seeds", err);
    if (status == 0 && kind->half_life_line)
        status = fig_add_marker_key(panel, theme, "half-life threshold", err);
    for (size_t i = 0; status == 0 && i < points.count; i++)
        status = add_temperature(panel, results, &points, i, kind, step, buffer, err);

    if (status == 0)
        status = set_y_limits(panel, results, &points, kind, err);
    if (status == 0 && kind->half_life_line)
        status = plot_panel_add_hline(panel, 0.5 * kind->scale, NULL, err);
    if (status == 0 && fig_uses_colorbar(&points)) {
        double lo = points.temperature[0], hi = points.temperature[0];
        for (size_t i = 1; i < points.count; i++) {
            lo = lo < points.temperature[i] ? lo : points.temperature[i];
            hi = hi > points.temperature[i] ? hi : points.temperature[i];
        }
        status = plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, lo, hi,
                                         "Temperature <i>T</i>", err);
    }
    if (status == 0)
        plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);

    if (status == 0) {
        write_caption(&caption, results, &points, kind);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    free(step);
    free(buffer);
    fig_points_free(&points);
    return status;
}

int dl_figure_prompt_attention(const dl_results *results, const plot_theme *theme,
                               dl_figure *out, dl_error *err)
{
    static const curve_kind kind = {
        .metric = DL_METRIC_PROMPT_ATTENTION,
        .scale = 100.0,
        .y_max = 100.0,
        .y_from_zero = true,
        .title = "Prompt attention during generation",
        .y_title = "Prompt attention",
        .y_unit = "%",
        .what = "Share of the latest query's attention that falls on the prompt",
        .half_life_line = true,
    };
    return metric_figure(results, &kind, theme, out, err);
}

int dl_figure_attention_entropy(const dl_results *results, const plot_theme *theme,
                                dl_figure *out, dl_error *err)
{
    static const curve_kind kind = {
        .metric = DL_METRIC_ENTROPY,
        .scale = 1.0,
        .y_max = 1.0,
        .y_from_zero = false,
        .title = "Attention entropy during generation",
        .y_title = "Normalised entropy H(<i>a</i>) / ln <i>n</i>",
        .y_unit = NULL,
        .what = "Entropy of the latest query's attention over the n positions in context, "
                "divided by ln n (1: uniform attention, 0: all on one position)",
        .half_life_line = false,
    };
    return metric_figure(results, &kind, theme, out, err);
}
