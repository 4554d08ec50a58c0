/* attention_heatmap.c - the attention-migration matrix of one run:
 * generation step (rows) x key position (columns).
 *
 * Cell (s, i) is the attention weight, in percent, that the query of step
 * s gives to position i, as stored. Positions after the query are NaN and
 * stay blank, so the matrix fills a triangle above the prompt. The
 * colour scale is fixed to [0, the largest weight of the run], and a
 * dashed line marks the boundary between the prompt and the generated
 * tokens. When the matrix has more columns or rows than the device has
 * pixels, the plotting layer averages them (plot_bin_columns).
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dl_figure_attention_heatmap(const dl_results *results,
                                const dl_figure_run_choice *choice,
                                const dl_results_run *run, const plot_theme *theme,
                                dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    size_t steps = (size_t)results->steps, positions = (size_t)results->n_positions;
    double *values = malloc(steps * positions * sizeof *values);
    if (values == NULL)
        return dl_error_set(err, "out of memory for the attention heat map");

    /* percent, and the largest weight of the run */
    double largest = 0.0;
    for (size_t k = 0; k < steps * positions; k++) {
        values[k] = 100.0 * run->attention[k];
        if (!isnan(values[k]) && values[k] > largest)
            largest = values[k];
    }
    if (!(largest > 0.0)) {
        free(values);
        return dl_error_set(err, "%s: the attention rows of the run at point %zu, kept seed "
                            "%zu hold no positive weight; the file is damaged or unfinished",
                            results->path, choice->point, choice->kept_index);
    }

    char temperature[40], seed[32], title[160];
    if (fig_point_temperature_text(results, choice->point, temperature, sizeof temperature,
                                   err) != 0) {
        free(values);
        return -1;
    }
    snprintf(seed, sizeof seed, "%lld", (long long)results->seeds[choice->kept_index]);
    snprintf(title, sizeof title, "Attention migration in one run (<i>T</i> = %s, seed %s)",
             temperature, seed);

    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    plot_panel *panel = figure != NULL ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    int status = 0;
    double prompt = results->prompt_length;
    if (panel == NULL ||
        plot_figure_set_title(figure, title, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Key position", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "Generation step", NULL, err) != 0 ||
        plot_panel_add_heatmap(panel, values, steps, positions, -0.5, (double)positions - 0.5,
                               -0.5, (double)steps - 0.5, PLOT_COLORMAP_VIRIDIS, 0.0, largest,
                               err) != 0 ||
        plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, 0.0, largest,
                                "Attention weight (%)", err) != 0 ||
        plot_panel_add_vline(panel, prompt - 0.5, "generated \xe2\x86\x92", err) != 0)
        status = -1;
    if (status == 0) {
        plot_panel_set_grid(panel, PLOT_Y, 0);
        plot_panel_set_integer_ticks(panel, PLOT_X);
        plot_panel_set_integer_ticks(panel, PLOT_Y);
    }
    free(values);

    if (status == 0) {
        char number[32];
        fig_text_append(&caption, "Attention weight, in percent, that the latest query of each "
                        "generation step (row) gives to each key position (column), for one run "
                        "at T = %s with seed %s. Positions 0 to %d are the prompt; the dashed "
                        "line marks where the generated tokens begin. Blank cells are positions "
                        "not yet generated. The colour scale runs from 0 to the largest weight "
                        "of the run, %s %%.", temperature, seed, results->prompt_length - 1,
                        fig_number(largest, number, sizeof number));
        if (results->n_axes > (dl_results_axis_index(results, DL_SWEEP_TEMPERATURE) >= 0 ? 1u
                                                                                       : 0u)) {
            fig_text_append(&caption, " Other sweep axes at their first value: ");
            fig_append_fixed_axes(&caption, results);
            fig_text_append(&caption, ".");
        }
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    return status;
}
