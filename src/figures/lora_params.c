/* lora_params.c - trained parameters r (D + N) against rank on a log y
 * axis, beside the D N parameters of a full-rank update.
 *
 * The counts follow from D, N and the ranks alone, so the figure needs no
 * per-fit dataset; they equal /lora/parameter_count.
 */
#include "figures_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dl_figure_lora_params(const dl_results *results, const plot_theme *theme, dl_figure *out,
                          dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t n = lora->n_ranks;
    size_t *order = malloc(n * sizeof *order);
    double *x = malloc(n * sizeof *x), *count = malloc(n * sizeof *count);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    if (status == 0 && (order == NULL || x == NULL || count == NULL))
        status = dl_error_set(err, "out of memory for the parameter count figure");

    double full = (double)lora->D * (double)lora->N;
    if (status == 0) {
        fig_lora_rank_order(lora, order);
        for (size_t i = 0; i < n; i++) {
            x[i] = fig_lora_rank_x(lora, order, i);
            count[i] = (double)lora->rank[order[i]] * ((double)lora->D + (double)lora->N);
        }
    }

    char full_label[96];
    snprintf(full_label, sizeof full_label, "full rank <i>D N</i> = %.0f", full);
    plot_style style = plot_style_category(0);
    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL ||
        plot_figure_set_title(figure, "Trained parameters against rank", err) != 0 ||
        fig_lora_rank_axis(panel, lora, order, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, "Trained parameters", NULL, err) != 0 ||
        plot_panel_add_line(panel, x, count, n, style, NULL, err) != 0 ||
        plot_panel_add_points(panel, x, count, n, style, "LoRA <i>r</i> (<i>D</i> + <i>N</i>)",
                              err) != 0 ||
        plot_panel_add_hline(panel, full, NULL, err) != 0 ||
        fig_add_marker_key(panel, theme, full_label, err) != 0)
        status = -1;
    if (status == 0)
        plot_panel_set_legend(panel, PLOT_LEGEND_BOTTOM_RIGHT);

    if (status == 0) {
        size_t smallest = 0, largest = 0;
        dl_lora_rank_extremes(lora, &smallest, &largest);
        double low = (double)lora->rank[smallest] * ((double)lora->D + (double)lora->N);
        double high = (double)lora->rank[largest] * ((double)lora->D + (double)lora->N);
        fig_text_append(&caption, "Parameters an adapter of rank r trains, r (D + N) with "
                        "D = %d and N = %d, against r, beside the D N = %.0f parameters of a "
                        "full-rank update (dashed). ", lora->D, lora->N, full);
        if (n == 1)
            fig_text_append(&caption, "The sweep has one rank, r = %lld: %.0f parameters, "
                            "%.4g %% of D N.", (long long)lora->rank[smallest], low,
                            100.0 * low / full);
        else
            fig_text_append(&caption, "From r = %lld to r = %lld the count grows from %.0f "
                            "(%.4g %% of D N) to %.0f (%.4g %%).",
                            (long long)lora->rank[smallest], (long long)lora->rank[largest],
                            low, 100.0 * low / full, high, 100.0 * high / full);
        fig_text_append(&caption, " The count depends on no seed, alpha or scaling.");
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    free(order);
    free(x);
    free(count);
    return status;
}
