/* plot_demo.c - draws one figure that uses every part of the plotting
 * layer and writes it as SVG, PDF and PNG, for tests/test_plot_output.py
 * and for looking at.
 *
 * Usage: plot_demo OUTDIR [PPI]
 * writes OUTDIR/demo.svg, demo.pdf and demo.png (PPI pixels per inch,
 * default 150) and prints one line "width_pt=W height_pt=H ppi=P" on
 * stdout. Exit status 0 on success, 1 on any error (message on stderr).
 *
 * The data are synthetic curves shaped like the drift results, not a
 * simulation: the figure exists to exercise the drawing code.
 *
 * The figure is a 4:3 slide (720 x 540 pt) with three panels:
 * - top left: lines on a log axis with 10-90 % bands, a step series, a
 *   legend, a dashed marker with a label, and a text annotation;
 * - top right: a 600 x 608 attention heat map, binned at PNG resolution,
 *   with a colour bar on a fixed scale;
 * - bottom: grouped bars over a category axis with subscripted labels,
 *   token chips coloured by cluster, a marker, and an outside legend.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "plot.h"

#define STEPS 41
#define HEAT_ROWS 600
#define HEAT_PROMPT 8
#define HEAT_COLS (HEAT_PROMPT + HEAT_ROWS)
#define TOKENS 16
#define PROMPT_TOKENS 6

static int fail(const dl_error *err)
{
    fprintf(stderr, "plot_demo: %s\n", err->message);
    return -1;
}

/* Prompt attention against step for two temperatures, with bands. */
static int drift_panel(plot_figure *figure, dl_error *err)
{
    plot_panel *panel = plot_figure_add_panel(figure, 0, 0, 1, 1, err);
    if (panel == NULL)
        return -1;

    double step[STEPS], cold[STEPS], hot[STEPS], cold_lo[STEPS], cold_hi[STEPS];
    double hot_lo[STEPS], hot_hi[STEPS], lock_in[STEPS];
    for (int i = 0; i < STEPS; i++) {
        step[i] = i;
        cold[i] = fmax(exp(-i / 6.0), 2e-3);
        hot[i] = 0.25 + 0.75 * exp(-i / 15.0);
        cold_lo[i] = cold[i] / 1.8;
        cold_hi[i] = fmin(cold[i] * 1.8, 1.0);
        hot_lo[i] = hot[i] / 1.3;
        hot_hi[i] = fmin(hot[i] * 1.3, 1.0);
        lock_in[i] = i == 0 ? 0.1 : fmin(1.0, 0.1 * ceil(i / 4.0));
    }

    plot_style cold_style = plot_style_category(0);
    plot_style hot_style = plot_style_category(1);
    plot_style lock_style = {plot_palette_color(2), 0.0, PLOT_DASH_DASHED};
    if (plot_panel_set_title(panel, "Prompt attention drifts away", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Generation step", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, "Prompt attention", NULL, err) != 0 ||
        plot_panel_add_band(panel, step, cold_lo, cold_hi, STEPS, cold_style.color,
                            "10\xe2\x80\x93" "90 % of seeds", err) != 0 ||
        plot_panel_add_band(panel, step, hot_lo, hot_hi, STEPS, hot_style.color, NULL, err) != 0 ||
        plot_panel_add_line(panel, step, cold, STEPS, cold_style, "<i>T</i> = 0.5", err) != 0 ||
        plot_panel_add_line(panel, step, hot, STEPS, hot_style, "<i>T</i> = 1.5", err) != 0 ||
        plot_panel_add_step(panel, step, lock_in, STEPS, lock_style, "lock-in, <i>T</i> = 0.5",
                            err) != 0 ||
        plot_panel_add_vline(panel, 6.0 * log(2.0), "t<sub>\xc2\xbd</sub>", err) != 0 ||
        plot_panel_add_text(panel, 39.0, 0.05, "attention on W<sub>q</sub> \xc2\xb7 \xce\xb1",
                            PLOT_ANCHOR_BOTTOM_RIGHT, err) != 0)
        return -1;
    plot_panel_set_legend(panel, PLOT_LEGEND_BOTTOM_LEFT);
    return 0;
}

/* Attention rows of a long generation: step x position, causal. */
static int heatmap_panel(plot_figure *figure, dl_error *err)
{
    plot_panel *panel = plot_figure_add_panel(figure, 0, 1, 1, 1, err);
    if (panel == NULL)
        return -1;

    double *attention = malloc((size_t)HEAT_ROWS * HEAT_COLS * sizeof *attention);
    if (attention == NULL)
        return dl_error_set(err, "out of memory for the heat map");
    for (int r = 0; r < HEAT_ROWS; r++) {
        int visible = HEAT_PROMPT + r + 1;
        double prompt_share = exp(-r / 150.0);
        double recent_sum = 0.0;
        for (int c = HEAT_PROMPT; c < visible; c++)
            recent_sum += exp(-(visible - 1 - c) / 60.0);
        for (int c = 0; c < HEAT_COLS; c++) {
            double *cell = &attention[(size_t)r * HEAT_COLS + c];
            if (c >= visible)
                *cell = NAN; /* positions after the query: no attention */
            else if (c < HEAT_PROMPT)
                *cell = prompt_share / HEAT_PROMPT;
            else
                *cell = (1.0 - prompt_share) * exp(-(visible - 1 - c) / 60.0) / recent_sum;
        }
    }

    int status = 0;
    if (plot_panel_set_title(panel, "Attention migrates to new tokens", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Key position", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "Query step", NULL, err) != 0 ||
        plot_panel_add_heatmap(panel, attention, HEAT_ROWS, HEAT_COLS, 0.0, HEAT_COLS, 0.0,
                               HEAT_ROWS, PLOT_COLORMAP_VIRIDIS, 0.0, 0.02, err) != 0 ||
        plot_panel_add_colorbar(panel, PLOT_COLORMAP_VIRIDIS, 0.0, 0.02,
                                "Attention weight a<sub>ij</sub>", err) != 0)
        status = -1;
    free(attention);
    return status;
}

/* Softmax bars per context position with token chips above them. */
static int token_panel(plot_figure *figure, dl_error *err)
{
    static const char *const words[TOKENS] = {"the", "cat", "sat", "on", "a", "mat",
                                              "and", "the", "cat", "saw", "the", "cat",
                                              "and", "the", "cat", "sat"};
    static const int cluster[TOKENS] = {0, 1, 2, 3, 0, 4, 5, 0, 1, 2, 0, 1, 5, 0, 1, 2};
    char labels[TOKENS][32];
    const char *label_pointers[TOKENS];
    double values[TOKENS * 2];
    for (int i = 0; i < TOKENS; i++) {
        snprintf(labels[i], sizeof labels[i], "t<sub>%d</sub>", i);
        label_pointers[i] = labels[i];
        double early = i < PROMPT_TOKENS ? 14.0 - 1.5 * i : 2.0 + 0.3 * i;
        double late = i < PROMPT_TOKENS ? 1.0 + 0.2 * i : 1.5 * (i - PROMPT_TOKENS + 1);
        values[i * 2] = early;
        values[i * 2 + 1] = late;
    }
    static const char *const series[2] = {"query at step 1", "latest query"};

    plot_panel *panel = plot_figure_add_panel(figure, 1, 0, 1, 2, err);
    if (panel == NULL)
        return -1;
    if (plot_panel_set_title(panel, "Token strip: clusters and attention per position", err) != 0 ||
        plot_panel_set_categories(panel, PLOT_X, label_pointers, TOKENS, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_CATEGORY, "Context position", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LINEAR, "Softmax weight", "%", err) != 0 ||
        plot_panel_set_limits(panel, PLOT_Y, 0.0, 25.0, err) != 0 ||
        plot_panel_add_bars(panel, values, TOKENS, 2, series, NULL, err) != 0 ||
        plot_panel_add_vline(panel, PROMPT_TOKENS - 0.5, "generated \xe2\x86\x92", err) != 0)
        return -1;
    for (int i = 0; i < TOKENS; i++)
        if (plot_panel_add_chip(panel, i, 20.0, words[i], plot_palette_color((size_t)cluster[i] + 2),
                                err) != 0)
            return -1;
    plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: plot_demo OUTDIR [PPI]\n");
        return 1;
    }
    double ppi = argc == 3 ? strtod(argv[2], NULL) : 150.0;

    dl_error err = {""};
    const plot_theme *theme = plot_theme_slide();
    plot_figure *figure = plot_figure_new(720.0, 540.0, 2, 2, theme, &err);
    if (figure == NULL) {
        fail(&err);
        return 1;
    }

    int status = plot_figure_set_title(figure, "Context drift: every element of the plotting layer",
                                       &err);
    if (status == 0)
        status = drift_panel(figure, &err);
    if (status == 0)
        status = heatmap_panel(figure, &err);
    if (status == 0)
        status = token_panel(figure, &err);

    static const plot_format formats[3] = {PLOT_FORMAT_SVG, PLOT_FORMAT_PDF, PLOT_FORMAT_PNG};
    for (int i = 0; i < 3 && status == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/demo.%s", argv[1], plot_format_extension(formats[i]));
        status = plot_figure_write(figure, path, formats[i], ppi, &err);
    }
    if (status == 0)
        printf("width_pt=%g height_pt=%g ppi=%g\n", plot_figure_width(figure),
               plot_figure_height(figure), ppi);
    else
        fail(&err);
    plot_figure_free(figure);
    return status == 0 ? 0 : 1;
}
