/* lora_kl_rank.c - eval KL and relative error against rank, with the
 * full-rank baseline and the Eckart-Young optimum.
 *
 * Left panel: the median over seeds of eval KL at each rank, points
 * joined by a line, with a band from the 10th to the 90th percentile, and
 * a dashed line at the median full-rank eval KL. Right panel: the median
 * relative error ||U - dW*||_F / ||dW*||_F with its band, and the median
 * Eckart-Young optimum (the least relative error of any rank-r update)
 * as a dashed line. Both y axes are log; the optimum is 0 up to rounding
 * from the task rank on (without task noise), which a log axis cannot
 * show, so the line stops there and the caption states it. When every
 * relative error is NaN (dW* = 0) the right panel is left out. With init
 * svd the optimum is no bound, and the caption says so. Alpha is
 * dl_lora_shown_alpha, scaling its first value.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An optimum below this is 0 up to rounding: the tail sum of the
 * singular values of dW* past its true rank is a few 1e-16 of its norm. */
#define OPTIMUM_ZERO 1e-12

/* Median, p10 and p90 over seeds of values at each rank in ascending
 * order, floored for a log axis. */
static int rank_stats(const dl_lora_results *lora, const double *values, const size_t *order,
                      size_t alpha, double *median, double *p10, double *p90, size_t *raised, dl_error *err)
{
    for (size_t i = 0; i < lora->n_ranks; i++) {
        if (dl_lora_percentile_over_seeds(lora, values, order[i], alpha, 0, 50.0,
                                          &median[i]) != 0 ||
            dl_lora_percentile_over_seeds(lora, values, order[i], alpha, 0, 10.0, &p10[i]) != 0 ||
            dl_lora_percentile_over_seeds(lora, values, order[i], alpha, 0, 90.0, &p90[i]) != 0)
            return dl_error_set(err, "out of memory for the statistics over seeds");
        median[i] = fig_lora_floor(median[i], raised);
        p10[i] = fig_lora_floor(p10[i], raised);
        p90[i] = fig_lora_floor(p90[i], raised);
    }
    return 0;
}

/* Adds the median line, its points and the band to panel. */
static int add_stat_series(plot_panel *panel, const double *x, const double *median,
                           const double *p10, const double *p90, size_t n, size_t color,
                           const char *label, dl_error *err)
{
    plot_style style = plot_style_category(color);
    if (n >= 2 && plot_panel_add_band(panel, x, p10, p90, n, style.color, NULL, err) != 0)
        return -1;
    if (n == 1) {
        /* one rank: the percentile range as a vertical segment */
        const double segment_x[2] = {x[0], x[0]}, segment_y[2] = {p10[0], p90[0]};
        if (plot_panel_add_line(panel, segment_x, segment_y, 2, style, NULL, err) != 0)
            return -1;
    }
    if (plot_panel_add_line(panel, x, median, n, style, NULL, err) != 0 ||
        plot_panel_add_points(panel, x, median, n, style, label, err) != 0)
        return -1;
    return 0;
}

/* Returns the smallest value of values[n] that is not NaN, or NaN. */
static double smallest_of(const double *values, size_t n)
{
    double smallest = NAN;
    for (size_t i = 0; i < n; i++)
        if (!isnan(values[i]) && !(values[i] >= smallest))
            smallest = values[i];
    return smallest;
}

/* Appends the caption of the right panel: what it shows, which update U
 * is (init svd subtracts its start), and where the optimum is 0 or NaN. */
static void append_error_caption(fig_text *caption, const dl_lora_results *lora, size_t n,
                                 size_t optimum_zero, size_t optimum_nan, size_t error_nan)
{
    fig_text_append(caption, " Right: relative error \xe2\x80\x96U \xe2\x88\x92 "
                    "dW*\xe2\x80\x96 / \xe2\x80\x96" "dW*\xe2\x80\x96 of the learned "
                    "update U, with the Eckart\xe2\x80\x93Young optimum (the least error of "
                    "any update of rank r, median over seeds) dashed.");
    if (fig_lora_init_svd(lora))
        fig_text_append(caption, " With init = svd the update is U = s B A \xe2\x88\x92 "
                        "s B_init A_init, which can reach rank 2r, so the rank-r optimum is "
                        "a reference and not a bound: the error can fall below it.");
    if (optimum_zero > 0)
        fig_text_append(caption, " The optimum is 0 (below %g, rounding) at %zu of the %zu "
                        "ranks, those at or above the true rank of dW*, and a log axis cannot "
                        "show it.", OPTIMUM_ZERO, optimum_zero, n);
    if (optimum_nan > 0)
        fig_text_append(caption, " The optimum is NaN in the file at %zu of the %zu ranks and "
                        "is not drawn there.", optimum_nan, n);
    if (error_nan > 0)
        fig_text_append(caption, " The relative error is NaN in the file at %zu of the %zu "
                        "ranks and is not drawn there.", error_nan, n);
}

int dl_figure_lora_kl_rank(const dl_results *results, const plot_theme *theme, dl_figure *out,
                           dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t alpha = dl_lora_shown_alpha(lora);
    size_t n = lora->n_ranks;
    size_t *order = malloc(n * sizeof *order);
    double *x = malloc(n * sizeof *x), *stats = malloc(7 * n * sizeof *stats);
    plot_figure *figure = NULL;
    fig_text caption = {NULL, 0, 0, false};
    int status = 0;
    if (order == NULL || x == NULL || stats == NULL)
        status = dl_error_set(err, "out of memory for the eval KL against rank figure");

    double *kl = stats, *kl10 = stats + n, *kl90 = stats + 2 * n;
    double *re = stats + 3 * n, *re10 = stats + 4 * n, *re90 = stats + 5 * n;
    double *optimum = stats + 6 * n;
    size_t raised = 0, optimum_zero = 0, optimum_nan = 0, error_nan = 0;
    if (status == 0) {
        fig_lora_rank_order(lora, order);
        for (size_t i = 0; i < n; i++)
            x[i] = fig_lora_rank_x(lora, order, i);
        status = rank_stats(lora, lora->eval_kl, order, alpha, kl, kl10, kl90, &raised, err);
    }
    if (status == 0) {
        size_t unused = 0;
        status = rank_stats(lora, lora->relative_error, order, alpha, re, re10, re90, &unused, err);
    }
    for (size_t i = 0; status == 0 && i < n; i++) {
        error_nan += isnan(re[i]);
        optimum[i] = dl_lora_median_over_seeds(lora, lora->eckart_young_error, order[i], alpha,
                                               0);
        if (isnan(optimum[i])) {
            optimum_nan++;
        } else if (!(optimum[i] > OPTIMUM_ZERO)) {
            optimum[i] = NAN; /* 0 has no place on a log axis */
            optimum_zero++;
        }
    }
    /* relative errors are NaN at every rank when dW* = 0 (task_scale = 0):
     * the right panel would be empty, so it is left out */
    bool error_panel = error_nan < n;
    double baseline = dl_lora_median(lora->full_rank_eval_kl, lora->n_seeds, 1);
    double baseline_drawn = fig_lora_floor(baseline, &raised);
    double kl_smallest = fmin(baseline_drawn, smallest_of(kl10, n));
    double error_smallest = fmin(smallest_of(re10, n), smallest_of(optimum, n));

    if (status == 0)
        figure = plot_figure_new(theme->figure_width, theme->figure_height, 1,
                                 error_panel ? 2 : 1, theme, err);
    plot_panel *left = figure != NULL ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    plot_panel *right = left != NULL && error_panel
                            ? plot_figure_add_panel(figure, 0, 1, 1, 1, err) : NULL;
    char label[96], number[40];
    snprintf(label, sizeof label, "full rank (%s nats)",
             fig_number(baseline, number, sizeof number));
    if (left == NULL || (error_panel && right == NULL) ||
        plot_figure_set_title(figure, "Fit of the new task against rank", err) != 0 ||
        plot_panel_set_title(left, "Eval KL", err) != 0 ||
        fig_lora_rank_axis(left, lora, order, err) != 0 ||
        plot_panel_set_axis(left, PLOT_Y, PLOT_SCALE_LOG, "Eval KL", "nats", err) != 0 ||
        fig_lora_log_room(left, PLOT_Y, kl_smallest, err) != 0 ||
        add_stat_series(left, x, kl, kl10, kl90, n, 0, "median over seeds", err) != 0 ||
        plot_panel_add_hline(left, baseline_drawn, NULL, err) != 0 ||
        fig_add_marker_key(left, theme, label, err) != 0)
        status = -1;
    if (status == 0 && error_panel &&
        (plot_panel_set_title(right, "Relative error of the update", err) != 0 ||
         fig_lora_rank_axis(right, lora, order, err) != 0 ||
         plot_panel_set_axis(right, PLOT_Y, PLOT_SCALE_LOG, "Relative error", NULL, err) != 0 ||
         fig_lora_log_room(right, PLOT_Y, error_smallest, err) != 0 ||
         add_stat_series(right, x, re, re10, re90, n, 1, "median over seeds", err) != 0))
        status = -1;
    if (status == 0 && error_panel && optimum_zero + optimum_nan < n) {
        plot_style dashed = {theme->annotation, 0.0, PLOT_DASH_DASHED};
        if (plot_panel_add_line(right, x, optimum, n, dashed, "Eckart\xe2\x80\x93Young optimum",
                                err) != 0 ||
            plot_panel_add_points(right, x, optimum, n, dashed, NULL, err) != 0)
            status = -1;
    }
    if (status == 0) {
        plot_panel_set_legend(left, PLOT_LEGEND_TOP_RIGHT);
        if (error_panel)
            plot_panel_set_legend(right, PLOT_LEGEND_BOTTOM_LEFT);
    }

    if (status == 0) {
        fig_text_append(&caption, "%seval KL(teacher \xe2\x80\x96 adapted) on the held-out "
                        "inputs against the adapter rank; points are the median over %zu "
                        "seed%s and the band spans the 10th to 90th percentile. The dashed "
                        "line is the median eval KL of the full-rank baseline, %s nats.",
                        error_panel ? "Left: " : "", lora->n_seeds,
                        lora->n_seeds == 1 ? "" : "s", number);
        if (error_panel)
            append_error_caption(&caption, lora, n, optimum_zero, optimum_nan, error_nan);
        else
            fig_text_append(&caption, " The relative error \xe2\x80\x96U \xe2\x88\x92 "
                            "dW*\xe2\x80\x96 / \xe2\x80\x96" "dW*\xe2\x80\x96 is not "
                            "shown: it is NaN at every rank in the file, as it is when dW* "
                            "= 0 (task_scale = 0) and the ratio is undefined.");
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
    free(stats);
    return status;
}
