/* lora_phi.c - the subspace similarity phi(i, j) between the A factors
 * learned at the smallest and the largest rank of the sweep, as an
 * i x j map on the fixed colour scale [0, 1], at the first scaling and
 * seed and at dl_lora_shown_alpha: with alpha = 0 the gradients are 0,
 * so A keeps its random start.
 *
 * phi(i, j) = ||V1_i^T V2_j||_F^2 / min(i, j) with V1_i the top-i right
 * singular vectors of the smaller A and V2_j the top-j of the larger
 * (docs/lora.md). Rows are i = 1 .. r_min from the bottom up, columns
 * j = 1 .. r_max.
 */
#include "figures_internal.h"

#include <stdio.h>
#include <string.h>

int dl_figure_lora_phi(const dl_results *results, const plot_theme *theme, dl_figure *out,
                       dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t rows = lora->n_phi_i, cols = lora->n_phi_j;
    size_t alpha = dl_lora_shown_alpha(lora);
    /* [alpha][scaling][seed][i][j] at the shown alpha, scaling 0, seed 0 */
    const double *phi = lora->phi + alpha * lora->n_scalings * lora->n_seeds * rows * cols;

    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL ||
        plot_figure_set_title(figure, "Subspace similarity of A at two ranks", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR,
                            "<i>j</i>: top right-singular vectors of A at the largest rank",
                            NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "<i>i</i>: at the smallest rank",
                            NULL, err) != 0 ||
        plot_panel_add_heatmap(panel, phi, rows, cols, 0.5, (double)cols + 0.5, 0.5,
                               (double)rows + 0.5, PLOT_COLORMAP_VIRIDIS, 0.0, 1.0, err) != 0 ||
        plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, 0.0, 1.0,
                                "&#966;(<i>i</i>, <i>j</i>)", err) != 0)
        status = -1;
    if (status == 0) {
        plot_panel_set_integer_ticks(panel, PLOT_X);
        plot_panel_set_integer_ticks(panel, PLOT_Y);
        plot_panel_set_grid(panel, PLOT_Y, 0);
    }

    if (status == 0) {
        fig_text_append(&caption, "Subspace similarity \xcf\x86(i, j) = \xe2\x80\x96V1_i\xe1\xb5\x80 "
                        "V2_j\xe2\x80\x96\xc2\xb2 / min(i, j) between the top-i right-singular "
                        "vectors of A learned at the smallest rank, r = %zu (rows), and the "
                        "top-j of A learned at the largest rank, r = %zu (columns); 1 means "
                        "one subspace contains the other, and independent random subspaces "
                        "give about max(i, j) / N with N = %d. One seed, no statistic over "
                        "seeds.", rows, cols, lora->N);
        /* alpha = 0 gives zero gradients, so A never leaves its start */
        if (lora->alpha[alpha] == 0.0)
            fig_text_append(&caption, " With alpha = 0 nothing is learned: both A "
                            "factors are their random starts.");
        fig_lora_append_alpha_note(&caption, lora, alpha);
        fig_lora_append_fixed(&caption, lora, -1, (long)alpha, 0, 0);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    return status;
}
