/* lora_probe.c - the softmax of the probe input through the base W, the
 * teacher W* and the adapted W + U, as grouped bars, one panel per alpha.
 *
 * Shown: up to PROBE_ALPHAS alphas spread evenly over the sorted alphas
 * (all of them when there are that few), the rank of the shape diagram
 * (dl_lora_diagram_rank), the first scaling and the first seed. Of the N
 * outputs, the PROBE_TOKENS with the largest teacher probability are
 * drawn, in ascending token order, so the bars stay readable for any N;
 * fewer when their labels would overlap, down to PROBE_TOKENS_MIN.
 */
#include "figures_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_ALPHAS 4
#define PROBE_TOKENS 10
#define PROBE_TOKENS_MIN 3

/* Writes the tokens with the largest teacher probability, at most
 * max_tokens, in ascending order into tokens; returns their count. */
static size_t tokens_choose(const double *teacher, size_t n, size_t max_tokens, size_t *tokens)
{
    size_t count = n < max_tokens ? n : max_tokens;
    /* selection by rank: token t is chosen when fewer than count tokens
     * beat it (larger probability, or equal with a lower index) */
    size_t chosen = 0;
    for (size_t t = 0; t < n && chosen < count; t++) {
        size_t beaten_by = 0;
        for (size_t u = 0; u < n && beaten_by < count; u++)
            if (teacher[u] > teacher[t] || (teacher[u] == teacher[t] && u < t))
                beaten_by++;
        if (beaten_by < count)
            tokens[chosen++] = t;
    }
    return chosen;
}

/* Writes the alpha indices shown into alphas; returns their count. */
static size_t alphas_choose(const dl_lora_results *lora, const size_t *sorted, size_t *alphas)
{
    size_t n = lora->n_alphas;
    if (n <= PROBE_ALPHAS) {
        memcpy(alphas, sorted, n * sizeof *alphas);
        return n;
    }
    for (size_t i = 0; i < PROBE_ALPHAS; i++)
        alphas[i] = sorted[(i * (n - 1) + (PROBE_ALPHAS - 1) / 2) / (PROBE_ALPHAS - 1)];
    return PROBE_ALPHAS;
}

/* Builds the figure with at most max_tokens tokens per panel. */
static int probe_build(const dl_results *results, const plot_theme *theme, size_t max_tokens,
                       dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t n_tokens = lora->n_tokens, rank = dl_lora_diagram_rank(lora);
    const double *base = lora->probe_base, *teacher = lora->probe_teacher; /* seed 0 */

    size_t *sorted = malloc(lora->n_alphas * sizeof *sorted);
    size_t alphas[PROBE_ALPHAS], tokens[PROBE_TOKENS];
    if (sorted == NULL)
        return dl_error_set(err, "out of memory for the probe figure");
    fig_lora_alpha_order(lora, sorted);
    size_t n_alphas = alphas_choose(lora, sorted, alphas);
    size_t shown = tokens_choose(teacher, n_tokens, max_tokens, tokens);
    free(sorted);

    /* one or two panels in a row, three or four in a 2 x 2 grid */
    int rows = n_alphas <= 2 ? 1 : 2;
    int columns = n_alphas <= 1 ? 1 : 2;
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, rows,
                                          columns, theme, err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;

    char *labels[PROBE_TOKENS] = {NULL};
    char text[48], number[40];
    for (size_t i = 0; status == 0 && i < shown; i++) {
        snprintf(text, sizeof text, "%zu", tokens[i]);
        labels[i] = strdup(text);
        if (labels[i] == NULL)
            status = dl_error_set(err, "out of memory for the token labels");
    }

    double top = 0.0;
    for (size_t p = 0; status == 0 && p < n_alphas; p++)
        for (size_t i = 0; i < shown; i++) {
            const double *adapted = lora->probe_adapted +
                                    dl_lora_fit_index(lora, rank, alphas[p], 0, 0) * n_tokens;
            top = top > adapted[tokens[i]] ? top : adapted[tokens[i]];
            top = top > base[tokens[i]] ? top : base[tokens[i]];
            top = top > teacher[tokens[i]] ? top : teacher[tokens[i]];
        }

    static const char *const series[3] = {"base", "teacher", "adapted"};
    const plot_rgb colors[3] = {{0.62, 0.62, 0.62}, plot_palette_color(1),
                                plot_palette_color(0)};
    double values[PROBE_TOKENS * 3];
    for (size_t p = 0; status == 0 && p < n_alphas; p++) {
        const double *adapted = lora->probe_adapted +
                                dl_lora_fit_index(lora, rank, alphas[p], 0, 0) * n_tokens;
        for (size_t i = 0; i < shown; i++) {
            values[3 * i] = base[tokens[i]];
            values[3 * i + 1] = teacher[tokens[i]];
            values[3 * i + 2] = adapted[tokens[i]];
        }
        plot_panel *panel = plot_figure_add_panel(figure, (int)p / 2, (int)p % 2, 1, 1, err);
        bool keyed = p + 1 == (size_t)columns;
        snprintf(text, sizeof text, "alpha = %s",
                 fig_lora_alpha_text(lora->alpha[alphas[p]], number, sizeof number));
        if (panel == NULL || plot_panel_set_title(panel, text, err) != 0 ||
            plot_panel_set_categories(panel, PLOT_X, (const char *const *)labels, shown,
                                      err) != 0 ||
            plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_CATEGORY, "Output token", NULL,
                                err) != 0 ||
            plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "Probability", NULL, err) != 0 ||
            plot_panel_set_limits(panel, PLOT_Y, 0.0, 1.08 * (top > 0.0 ? top : 1.0), err) != 0 ||
            plot_panel_add_bars(panel, values, shown, 3, keyed ? series : NULL, colors, err) != 0)
            status = -1;
        /* the legend right of the last panel of the first row, where it
         * covers no bar */
        if (status == 0 && keyed)
            plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);
    }
    if (status == 0)
        status = plot_figure_set_title(figure, "Softmax of the probe input", err);

    if (status == 0) {
        fig_text_append(&caption, "Softmax of one probe input through the frozen base W "
                        "(grey), the teacher W* = W + dW* (orange) and the adapted W + U "
                        "(blue) after training, one panel per alpha");
        if (lora->n_alphas > n_alphas)
            fig_text_append(&caption, " (%zu of the %zu alphas, spread over their range)",
                            n_alphas, lora->n_alphas);
        fig_text_append(&caption, ". ");
        if (shown < n_tokens)
            fig_text_append(&caption, "The %zu of the N = %zu outputs with the largest teacher "
                            "probability are shown. ", shown, n_tokens);
        else
            fig_text_append(&caption, "All N = %zu outputs are shown. ", n_tokens);
        fig_text_append(&caption, "One seed, no statistic over seeds; the rank is the %s.",
                        lora->rank[rank] == lora->task_rank ? "task rank"
                                                            : "middle rank of the sweep");
        fig_lora_append_fixed(&caption, lora, (long)rank, -1, 0, 0);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    for (size_t i = 0; i < shown; i++)
        free(labels[i]);
    return status;
}

int dl_figure_lora_probe(const dl_results *results, const plot_theme *theme, dl_figure *out,
                         dl_error *err)
{
    /* fewer tokens until the token labels of a panel fit side by side,
     * which long token numbers (N of 1000 and more) need */
    for (size_t max_tokens = PROBE_TOKENS; max_tokens > PROBE_TOKENS_MIN; max_tokens--) {
        dl_error layout_error;
        if (probe_build(results, theme, max_tokens, out, err) != 0)
            return -1;
        if (plot_figure_layout(out->figure, &layout_error) == 0)
            return 0;
        dl_figure_free(out);
    }
    return probe_build(results, theme, PROBE_TOKENS_MIN, out, err);
}
