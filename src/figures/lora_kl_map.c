/* lora_kl_map.c - rank x alpha map of the median eval KL over seeds, one
 * panel per scaling (at most MAP_PANELS), on one log colour scale.
 *
 * Every panel has a data area of the same width, the colour bar beside
 * the last one. When the labels of side-by-side panels overlap, the
 * panels go in two rows of a figure twice the theme's height, and when
 * that fails too only the first scaling is drawn. The caption names how many scalings
 * are shown.
 *
 * Cells hold log10 of the median eval KL, values below
 * FIG_LORA_LOG_FLOOR raised to it, over the range of the values shown
 * (half a decade either side when they are all equal). Ranks (rows,
 * smallest at the bottom) and alphas (columns) are categories in
 * ascending order.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most scalings drawn side by side; the format allows three. */
#define MAP_PANELS 3

/* Builds the category labels of ranks and alphas in ascending order. */
static int labels_build(const dl_lora_results *lora, const size_t *rank_order,
                        const size_t *alpha_order, char **rank_labels, char **alpha_labels,
                        dl_error *err)
{
    char text[48], number[40];
    for (size_t i = 0; i < lora->n_ranks; i++) {
        snprintf(text, sizeof text, "%lld", (long long)lora->rank[rank_order[i]]);
        rank_labels[i] = strdup(text);
        if (rank_labels[i] == NULL)
            return dl_error_set(err, "out of memory for the rank labels");
    }
    for (size_t i = 0; i < lora->n_alphas; i++) {
        alpha_labels[i] = strdup(fig_lora_alpha_text(lora->alpha[alpha_order[i]], number,
                                                      sizeof number));
        if (alpha_labels[i] == NULL)
            return dl_error_set(err, "out of memory for the alpha labels");
    }
    return 0;
}

/* Builds the map with panels panels in a grid of grid_rows x grid_cols,
 * filled row by row, on a figure grid_rows times the theme's height. */
static int map_build(const dl_results *results, const plot_theme *theme, size_t panels,
                     int grid_rows, int grid_cols, dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t rows = lora->n_ranks, cols = lora->n_alphas;
    size_t *rank_order = malloc(rows * sizeof *rank_order);
    size_t *alpha_order = malloc(cols * sizeof *alpha_order);
    char **rank_labels = calloc(rows, sizeof *rank_labels);
    char **alpha_labels = calloc(cols, sizeof *alpha_labels);
    double *cells = malloc(panels * rows * cols * sizeof *cells);
    plot_figure *figure = plot_figure_new(theme->figure_width,
                                          theme->figure_height * (double)grid_rows, grid_rows,
                                          grid_cols, theme, err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    /* the colour bar sits right of the last panel only, and must not make
     * that panel narrower than the others: they share the alphas */
    if (status == 0)
        plot_figure_set_equal_areas(figure);
    if (status == 0 && (rank_order == NULL || alpha_order == NULL || rank_labels == NULL ||
                        alpha_labels == NULL || cells == NULL))
        status = dl_error_set(err, "out of memory for the eval KL map");
    if (status == 0) {
        fig_lora_rank_order(lora, rank_order);
        fig_lora_alpha_order(lora, alpha_order);
        status = labels_build(lora, rank_order, alpha_order, rank_labels, alpha_labels, err);
    }

    /* log10 of the medians, and their common range */
    size_t raised = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t p = 0; status == 0 && p < panels; p++)
        for (size_t r = 0; r < rows; r++)
            for (size_t a = 0; a < cols; a++) {
                double median = dl_lora_median_over_seeds(lora, lora->eval_kl, rank_order[r],
                                                          alpha_order[a], p);
                double value = log10(fig_lora_floor(median, &raised));
                cells[(p * rows + r) * cols + a] = value;
                lo = fmin(lo, value);
                hi = fmax(hi, value);
            }
    /* a range of a few ulps (medians equal but for rounding) is too
     * narrow for a colour bar, so it is treated as a single value */
    if (status == 0 && !(hi - lo > 1e-9 * fmax(1.0, fmax(fabs(lo), fabs(hi))))) {
        lo -= 0.5;
        hi += 0.5;
    }

    for (size_t p = 0; status == 0 && p < panels; p++) {
        plot_panel *panel = plot_figure_add_panel(figure, (int)p / grid_cols,
                                                  (int)p % grid_cols, 1, 1, err);
        char title[64];
        snprintf(title, sizeof title, "scaling %s", lora->scaling[p]);
        if (panel == NULL || plot_panel_set_title(panel, title, err) != 0 ||
            plot_panel_set_categories(panel, PLOT_X, (const char *const *)alpha_labels, cols,
                                      err) != 0 ||
            plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_CATEGORY, "alpha", NULL, err) != 0 ||
            plot_panel_set_categories(panel, PLOT_Y, (const char *const *)rank_labels, rows,
                                      err) != 0 ||
            plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_CATEGORY, "Rank <i>r</i>", NULL,
                                err) != 0 ||
            plot_panel_add_heatmap(panel, cells + p * rows * cols, rows, cols, -0.5,
                                   (double)cols - 0.5, -0.5, (double)rows - 0.5,
                                   PLOT_COLORMAP_VIRIDIS, lo, hi, err) != 0)
            status = -1;
        if (status == 0 && p + 1 == panels)
            status = plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, lo, hi,
                                             "log<sub>10</sub> median eval KL (nats)", err);
        if (status == 0)
            plot_panel_set_grid(panel, PLOT_Y, 0);
    }
    if (status == 0)
        status = plot_figure_set_title(figure, "Eval KL by rank and alpha", err);

    if (status == 0) {
        fig_text_append(&caption, "Median over %zu seed%s of the eval KL(teacher \xe2\x80\x96 "
                        "adapted) on held-out inputs, for each rank (row) and alpha (column), "
                        "as log10 of the KL in nats on one colour scale for all panels.",
                        lora->n_seeds, lora->n_seeds == 1 ? "" : "s");
        if (panels == 1 && lora->n_scalings > 1)
            fig_text_append(&caption, " Only the first of the %zu scalings, %s, is shown: "
                            "the labels of more panels would overlap.", lora->n_scalings,
                            lora->scaling[0]);
        else if (lora->n_scalings > panels)
            fig_text_append(&caption, " The first %zu of the %zu scalings are shown, one "
                            "panel each.", panels, lora->n_scalings);
        else if (panels > 1)
            fig_text_append(&caption, " One panel per scaling.");
        else
            fig_text_append(&caption, " Scaling %s (the only value).", lora->scaling[0]);
        if (raised > 0)
            fig_text_append(&caption, " Values below %g nats are drawn at %g.",
                            FIG_LORA_LOG_FLOOR, FIG_LORA_LOG_FLOOR);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    for (size_t i = 0; rank_labels != NULL && i < rows; i++)
        free(rank_labels[i]);
    for (size_t i = 0; alpha_labels != NULL && i < cols; i++)
        free(alpha_labels[i]);
    free(rank_labels);
    free(alpha_labels);
    free(rank_order);
    free(alpha_order);
    free(cells);
    return status;
}

int dl_figure_lora_kl_map(const dl_results *results, const plot_theme *theme, dl_figure *out,
                          dl_error *err)
{
    /* Panels side by side, else in two rows of a figure twice as tall,
     * else only the first scaling: many alphas leave narrow panels no
     * room for their labels. */
    size_t n = results->lora.n_scalings < MAP_PANELS ? results->lora.n_scalings : MAP_PANELS;
    const int grids[2][2] = {{1, (int)n}, {2, ((int)n + 1) / 2}};
    for (int i = 0; i < 2 && n > 1; i++) {
        dl_error layout_error;
        if (map_build(results, theme, n, grids[i][0], grids[i][1], out, err) != 0)
            return -1;
        if (plot_figure_layout(out->figure, &layout_error) == 0)
            return 0;
        dl_figure_free(out);
    }
    return map_build(results, theme, 1, 1, 1, out, err);
}
