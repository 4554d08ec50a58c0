/* lora_loss.c - training loss against optimiser step: the median over
 * seeds at each recorded step, one line per rank in ascending order of
 * rank, and the full-rank baseline dashed when the file stores its curve.
 * Log y axis; alpha is dl_lora_shown_alpha, scaling its first value.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

/* Writes the median over seeds of curves [seed][n_samples] into median,
 * floored for the log axis. */
static void median_curve(const double *curves, size_t n_seeds, size_t n_samples, double *median,
                         double *work, size_t *raised)
{
    dl_summary_percentile(median, curves, n_seeds, n_samples, 50.0, work);
    for (size_t t = 0; t < n_samples; t++)
        median[t] = fig_lora_floor(median[t], raised);
}

int dl_figure_lora_loss(const dl_results *results, const plot_theme *theme, dl_figure *out,
                        dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t alpha = dl_lora_shown_alpha(lora);
    size_t n = lora->n_ranks, samples = lora->n_samples;
    size_t *order = malloc(n * sizeof *order);
    double *x = malloc(samples * sizeof *x), *median = malloc(samples * sizeof *median);
    double *work = malloc(lora->n_seeds * sizeof *work);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    if (status == 0 && (order == NULL || x == NULL || median == NULL || work == NULL))
        status = dl_error_set(err, "out of memory for the loss curve figure");
    if (status == 0) {
        fig_lora_rank_order(lora, order);
        for (size_t t = 0; t < samples; t++)
            x[t] = (double)lora->step_sample[t];
    }

    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL ||
        plot_figure_set_title(figure, "Training loss against step", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Optimiser step", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, "Training loss", "nats", err) != 0)
        status = -1;
    if (status == 0)
        plot_panel_set_integer_ticks(panel, PLOT_X);

    size_t raised = 0;
    for (size_t i = 0; status == 0 && i < n; i++) {
        const double *curves = lora->loss_curve +
                               dl_lora_fit_index(lora, order[i], alpha, 0, 0) * samples;
        median_curve(curves, lora->n_seeds, samples, median, work, &raised);
        char label[48];
        snprintf(label, sizeof label, "<i>r</i> = %lld", (long long)lora->rank[order[i]]);
        plot_style style = {fig_lora_rank_color(i, n), 0.0, PLOT_DASH_SOLID};
        status = plot_panel_add_line(panel, x, median, samples, style, label, err);
    }
    bool baseline = lora->full_rank_loss_curve != NULL;
    if (status == 0 && baseline) {
        median_curve(lora->full_rank_loss_curve, lora->n_seeds, samples, median, work, &raised);
        plot_style style = {theme->text, 0.0, PLOT_DASH_DASHED};
        status = plot_panel_add_line(panel, x, median, samples, style, "full rank", err);
    }
    if (status == 0)
        plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);

    if (status == 0) {
        fig_text_append(&caption, "Cross-entropy of the adapted model against the teacher on "
                        "the training inputs, after each recorded optimiser step (%zu points "
                        "from step 0 to %lld), median over %zu seed%s, one line per rank",
                        samples, (long long)lora->step_sample[samples - 1], lora->n_seeds,
                        lora->n_seeds == 1 ? "" : "s");
        if (baseline)
            fig_text_append(&caption, "; dashed: the full-rank baseline, which trains all "
                            "D N = %.0f entries of dW.", (double)lora->D * lora->N);
        else
            fig_text_append(&caption, ". The file has no /lora/full_rank_loss_curve, so the "
                            "full-rank baseline is not shown.");
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
    free(median);
    free(work);
    return status;
}
