/* lora_fit_forgetting.c - new-task fit against forgetting: one point per
 * rank at (median forgetting, median eval KL) over seeds, coloured by its
 * rank, and the full-rank baseline as a labelled point of its own.
 * Both axes are log, since the values span many decades. They reach a
 * decade below the floor when a point sits near it. Alpha is
 * dl_lora_shown_alpha, scaling its first value.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum number of ranks that get one legend entry each. */
#define RANK_KEYS_MAX 12

/* Returns the smallest of values[n] and also, NaN left out. */
static double smallest_of(const double *values, size_t n, double also)
{
    double smallest = also;
    for (size_t i = 0; i < n; i++)
        if (!isnan(values[i]) && !(values[i] >= smallest))
            smallest = values[i];
    return smallest;
}

int dl_figure_lora_fit_forgetting(const dl_results *results, const plot_theme *theme,
                                  dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t alpha = dl_lora_shown_alpha(lora);
    size_t n = lora->n_ranks;
    size_t *order = malloc(n * sizeof *order);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    if (status == 0 && (order == NULL || x == NULL || y == NULL))
        status = dl_error_set(err, "out of memory for the fit against forgetting figure");

    size_t raised = 0;
    if (status == 0) {
        fig_lora_rank_order(lora, order);
        for (size_t i = 0; i < n; i++) {
            x[i] = fig_lora_floor(dl_lora_median_over_seeds(lora, lora->forgetting, order[i],
                                                            alpha, 0), &raised);
            y[i] = fig_lora_floor(dl_lora_median_over_seeds(lora, lora->eval_kl, order[i], alpha, 0),
                                  &raised);
        }
    }
    double full_forgetting = dl_lora_median(lora->full_rank_forgetting, lora->n_seeds, 1);
    double full_kl = dl_lora_median(lora->full_rank_eval_kl, lora->n_seeds, 1);
    double full_x = fig_lora_floor(full_forgetting, &raised);
    double full_y = fig_lora_floor(full_kl, &raised);

    /* a thin grey path through the ranks in ascending order, then one
     * coloured point per rank in the legend (text labels beside the
     * smallest and largest rank instead, when a legend would be too long) */
    plot_style path_style = {theme->grid, 0.0, PLOT_DASH_SOLID};
    plot_style full_style = {theme->text, 0.0, PLOT_DASH_SOLID};
    bool keyed = n <= RANK_KEYS_MAX;
    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL ||
        plot_figure_set_title(figure, "New-task fit against forgetting", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LOG, "Forgetting", "nats", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, "Eval KL", "nats", err) != 0 ||
        fig_lora_log_room(panel, PLOT_X, smallest_of(x, n, full_x), err) != 0 ||
        fig_lora_log_room(panel, PLOT_Y, smallest_of(y, n, full_y), err) != 0 ||
        (n >= 2 && plot_panel_add_line(panel, x, y, n, path_style, NULL, err) != 0) ||
        plot_panel_add_points(panel, &full_x, &full_y, 1, full_style, "full rank", err) != 0 ||
        plot_panel_add_text(panel, full_x, full_y, " full rank", PLOT_ANCHOR_LEFT, err) != 0)
        status = -1;
    for (size_t i = 0; status == 0 && i < n; i++) {
        char label[48];
        snprintf(label, sizeof label, "%s<i>r</i> = %lld", keyed ? "" : " ",
                 (long long)lora->rank[order[i]]);
        plot_style style = {fig_lora_rank_color(i, n), 0.0, PLOT_DASH_SOLID};
        status = plot_panel_add_points(panel, &x[i], &y[i], 1, style, keyed ? label : NULL, err);
        if (status == 0 && !keyed && (i == 0 || i + 1 == n))
            status = plot_panel_add_text(panel, x[i], y[i], label, PLOT_ANCHOR_LEFT, err);
    }
    if (status == 0) {
        plot_panel_set_grid(panel, PLOT_X, 1);
        plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);
    }

    if (status == 0) {
        char kl_text[40], forgetting_text[40];
        fig_text_append(&caption, "Each point is one rank (colours from the smallest rank, "
                        "dark, to the largest, light; the grey path joins them in order of "
                        "rank): its eval KL(teacher \xe2\x80\x96 "
                        "adapted) on held-out inputs of the new task against its forgetting, "
                        "KL(base \xe2\x80\x96 adapted) on old-task inputs, each the median "
                        "over %zu seed%s. Lower left is better on both. The full-rank "
                        "baseline has eval KL %s nats and forgetting %s nats (medians).",
                        lora->n_seeds, lora->n_seeds == 1 ? "" : "s",
                        fig_number(full_kl, kl_text, sizeof kl_text),
                        fig_number(full_forgetting, forgetting_text, sizeof forgetting_text));
        if (raised > 0)
            fig_text_append(&caption, " Values below %g nats are drawn at %g.",
                            FIG_LORA_LOG_FLOOR, FIG_LORA_LOG_FLOOR);
        fig_lora_append_alpha_note(&caption, lora, alpha);
        fig_lora_append_fixed(&caption, lora, -1, (long)alpha, 0, -1);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    free(order);
    free(x);
    free(y);
    return status;
}
