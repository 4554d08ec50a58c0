/* lora_spectra.c - singular values of the task update dW* and of the
 * learned update U at each rank, in descending order, on a log y axis.
 *
 * One seed (the first), one scaling (the first) and one alpha: the first
 * alpha above 0 (dl_lora_shown_alpha), because alpha = 0 leaves U = 0
 * with no spectrum.
 * A rank-r update has at most r singular values above rounding noise, or
 * 2r with init svd, whose U subtracts the rank-r start. So values below
 * SPECTRUM_CUTOFF times the largest singular value of dW* are left out
 * (the line stops there), and the caption counts them. A dW* of 0 gives
 * no scale, and dl_figure_lora_skip_reason skips the figure then.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Relative size below which a singular value counts as rounding noise:
 * far above the 2^-52 relative rounding of dgesdd and far below any
 * singular value a fit produces on purpose. */
#define SPECTRUM_CUTOFF 1e-10

/* Most singular values drawn with point markers; more would merge into
 * a thick band, so longer spectra are lines only. */
#define SPECTRUM_POINTS_MAX 40

int dl_figure_lora_spectra(const dl_results *results, const plot_theme *theme, dl_figure *out,
                           dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t n = lora->n_ranks, count = lora->n_singular;
    size_t alpha = dl_lora_shown_alpha(lora);

    size_t *order = malloc(n * sizeof *order);
    double *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    if (status == 0 && (order == NULL || x == NULL || y == NULL))
        status = dl_error_set(err, "out of memory for the spectra figure");

    const double *task = lora->task_singular_values; /* seed 0 */
    double cutoff = SPECTRUM_CUTOFF * task[0];
    size_t left_out = 0;
    if (status == 0) {
        fig_lora_rank_order(lora, order);
        for (size_t k = 0; k < count; k++) {
            x[k] = (double)(k + 1);
            y[k] = task[k] > cutoff ? task[k] : NAN;
            left_out += !(task[k] > cutoff);
        }
    }

    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    plot_style task_style = {theme->text, 0.0, PLOT_DASH_DASHED};
    if (panel == NULL ||
        plot_figure_set_title(figure, "Singular values of the updates", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Index", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, "Singular value", NULL, err) != 0 ||
        plot_panel_set_limits(panel, PLOT_X, 0.5, (double)count + 0.5, err) != 0 ||
        plot_panel_add_line(panel, x, y, count, task_style, "task dW*", err) != 0)
        status = -1;
    if (status == 0)
        plot_panel_set_integer_ticks(panel, PLOT_X);

    for (size_t i = 0; status == 0 && i < n; i++) {
        const double *values = lora->singular_values +
                               dl_lora_fit_index(lora, order[i], alpha, 0, 0) * count;
        for (size_t k = 0; k < count; k++) {
            y[k] = values[k] > cutoff ? values[k] : NAN;
            left_out += !(values[k] > cutoff);
        }
        char label[48];
        snprintf(label, sizeof label, "<i>U</i> at <i>r</i> = %lld",
                 (long long)lora->rank[order[i]]);
        plot_style style = {fig_lora_rank_color(i, n), 0.0, PLOT_DASH_SOLID};
        if (plot_panel_add_line(panel, x, y, count, style,
                                fig_lora_rank_labelled(i, n) ? label : NULL, err) != 0 ||
            (count <= SPECTRUM_POINTS_MAX &&
             plot_panel_add_points(panel, x, y, count, style, NULL, err) != 0))
            status = -1;
    }
    /* the task's points again on top, where the updates that match it
     * would cover them */
    for (size_t k = 0; status == 0 && k < count; k++)
        y[k] = task[k] > cutoff ? task[k] : NAN;
    if (status == 0 && count <= SPECTRUM_POINTS_MAX &&
        plot_panel_add_points(panel, x, y, count, task_style, NULL, err) != 0)
        status = -1;
    if (status == 0)
        plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);

    if (status == 0) {
        bool svd = fig_lora_init_svd(lora);
        fig_text_append(&caption, "Singular values, largest first, of the task update dW* "
                        "(true rank %d, dashed) and of the learned update %s at each rank, "
                        "for one seed (no statistic over seeds).", lora->task_rank,
                        svd ? "U = s B A \xe2\x88\x92 s B_init A_init (init = svd)"
                            : "U = s B A");
        if (left_out > 0)
            fig_text_append(&caption, " Singular values below %g times the largest of dW* "
                            "(%zu of them) are rounding noise and are left out: %s",
                            SPECTRUM_CUTOFF, left_out,
                            svd ? "with init = svd the update of rank-r factors has at most "
                                  "2r singular values above 0."
                                : "an update of rank r has at most r singular values above "
                                  "0.");
        fig_lora_append_alpha_note(&caption, lora, alpha);
        fig_lora_append_fixed(&caption, lora, -1, (long)alpha, 0, 0);
        if (n > FIG_LORA_LEGEND_RANKS_MAX)
            fig_text_append(&caption, " The legend names %d of the %zu ranks; the colours "
                            "run from dark (smallest rank) to light (largest).",
                            FIG_LORA_LEGEND_RANKS_MAX, n);
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
