/* lora_shape.c - the shape diagram of W + s B A with the run's D, N and
 * one rank r, drawn to scale: the frozen W (D x N), B (D x r) and A
 * (r x N) as rectangles whose sides are proportional to their sizes, with
 * the parameter counts r (D + N) and D N and their ratio.
 *
 * The rank is dl_lora_diagram_rank: the task rank when the sweep has it,
 * else the middle rank. The panel has hidden axes whose data units are
 * points: the figure is laid out once to learn the size of the data
 * area, and the rectangles are placed in it. Hidden axes and a fixed
 * title give the same margins however the data changes, so the second
 * layout at drawing time keeps that area.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Layout iterations that widen the gaps until no two labels overlap;
 * the gaps only grow, and two passes settle every case tried. */
#define GAP_PASSES 3

typedef struct {
    double x0, y0, x1, y1; /* points, y up */
} box;

/* Adds a filled rectangle with an outline. */
static int rectangle_add(plot_panel *panel, box b, plot_rgb color, dl_error *err)
{
    const double x[2] = {b.x0, b.x1}, lo[2] = {b.y0, b.y0}, hi[2] = {b.y1, b.y1};
    const double outline_x[5] = {b.x0, b.x1, b.x1, b.x0, b.x0};
    const double outline_y[5] = {b.y0, b.y0, b.y1, b.y1, b.y0};
    plot_style style = {color, 0.0, PLOT_DASH_SOLID};
    if (plot_panel_add_band(panel, x, lo, hi, 2, color, NULL, err) != 0 ||
        plot_panel_add_line(panel, outline_x, outline_y, 5, style, NULL, err) != 0)
        return -1;
    return 0;
}

/* Measures markup at the annotation size. */
static int text_width(const plot_theme *theme, const char *markup, double *width,
                      double *height, dl_error *err)
{
    return plot_text_measure(theme, markup, theme->annotation_size, width, height, err);
}

int dl_figure_lora_shape(const dl_results *results, const plot_theme *theme, dl_figure *out,
                         dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t index = dl_lora_diagram_rank(lora);
    long long r = (long long)lora->rank[index];
    double d = lora->D, n = lora->N;
    double trained = (double)r * (d + n), full = d * n;

    char title[96], w_dims[96], b_dims[96], a_dims[96], count_line[160], ratio_line[160];
    snprintf(title, sizeof title, "LoRA update <i>W</i> + <i>s</i> <i>B A</i> at rank %lld", r);
    snprintf(w_dims, sizeof w_dims, "<i>D</i> \xc3\x97 <i>N</i> = %d \xc3\x97 %d", lora->D,
             lora->N);
    snprintf(b_dims, sizeof b_dims, "<i>D</i> \xc3\x97 <i>r</i> = %d \xc3\x97 %lld", lora->D, r);
    snprintf(a_dims, sizeof a_dims, "<i>r</i> \xc3\x97 <i>N</i> = %lld \xc3\x97 %d", r, lora->N);
    snprintf(count_line, sizeof count_line,
             "trained: <i>r</i> (<i>D</i> + <i>N</i>) = %lld \xc3\x97 (%d + %d) = %.0f "
             "parameters", r, lora->D, lora->N, trained);
    snprintf(ratio_line, sizeof ratio_line,
             "frozen <i>W</i>: <i>D N</i> = %.0f;  ratio %.4g (%.3g %%)", full, trained / full,
             100.0 * trained / full);

    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL || plot_figure_set_title(figure, title, err) != 0 ||
        plot_panel_set_limits(panel, PLOT_X, 0.0, 1.0, err) != 0 ||
        plot_panel_set_limits(panel, PLOT_Y, 0.0, 1.0, err) != 0)
        status = -1;
    if (status == 0) {
        plot_panel_hide_axis(panel, PLOT_X);
        plot_panel_hide_axis(panel, PLOT_Y);
        plot_panel_set_grid(panel, PLOT_X, 0);
        plot_panel_set_grid(panel, PLOT_Y, 0);
        status = plot_figure_layout(figure, err);
    }

    /* the sizes of the texts, in points */
    double line = 0.0, plus_w = 0.0, dot_w = 0.0, w_dims_w = 0.0, b_dims_w = 0.0;
    double a_dims_w = 0.0, unused = 0.0;
    if (status == 0 &&
        (text_width(theme, "+ <i>s</i> \xc2\xb7", &plus_w, &line, err) != 0 ||
         text_width(theme, "\xc2\xb7", &dot_w, &unused, err) != 0 ||
         text_width(theme, w_dims, &w_dims_w, &unused, err) != 0 ||
         text_width(theme, b_dims, &b_dims_w, &unused, err) != 0 ||
         text_width(theme, a_dims, &a_dims_w, &unused, err) != 0))
        status = -1;

    plot_rect area = status == 0 ? plot_panel_area(panel) : (plot_rect){0, 0, 1, 1};
    double pad = 0.5 * line;
    double top_space = line + pad, bottom_space = 3.0 * line + 2.0 * pad;
    double gap_plus = plus_w + 2.0 * pad, gap_dot = dot_w + 2.0 * pad;
    double unit = 0.0;
    for (int pass = 0; status == 0 && pass <= GAP_PASSES; pass++) {
        double across = (area.width - gap_plus - gap_dot) / (2.0 * n + (double)r);
        double down = (area.height - top_space - bottom_space) / d;
        unit = fmin(across, down);
        if (!(unit > 0.0)) {
            status = dl_error_set(err, "the shape diagram has no room for D = %d, N = %d and "
                                  "r = %lld", lora->D, lora->N, r);
            break;
        }
        /* the labels under W and B must not meet; the last pass only
         * fits the unit to the final gap */
        double need = 0.5 * (w_dims_w - n * unit) + 0.5 * (b_dims_w - (double)r * unit) + pad;
        if (pass < GAP_PASSES)
            gap_plus = fmax(gap_plus, need);
    }

    /* W, then B, then A with its top level with B's */
    double total = (2.0 * n + (double)r) * unit + gap_plus + gap_dot;
    double left = 0.5 * (area.width - total);
    double top = area.height - top_space;
    box w = {left, top - d * unit, left + n * unit, top};
    box b = {w.x1 + gap_plus, top - d * unit, w.x1 + gap_plus + (double)r * unit, top};
    box a = {b.x1 + gap_dot, top - (double)r * unit, b.x1 + gap_dot + n * unit, top};
    double middle = top - 0.5 * d * unit;

    plot_rgb frozen = {0.72, 0.72, 0.72};
    if (status == 0 &&
        (rectangle_add(panel, w, frozen, err) != 0 ||
         rectangle_add(panel, b, plot_palette_color(0), err) != 0 ||
         rectangle_add(panel, a, plot_palette_color(1), err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (w.x0 + w.x1), top + 0.25 * pad,
                             "<b><i>W</i></b> (frozen)", PLOT_ANCHOR_BOTTOM, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (b.x0 + b.x1), top + 0.25 * pad, "<b><i>B</i></b>",
                             PLOT_ANCHOR_BOTTOM, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (a.x0 + a.x1), top + 0.25 * pad, "<b><i>A</i></b>",
                             PLOT_ANCHOR_BOTTOM, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (w.x1 + b.x0), middle, "+ <i>s</i> \xc2\xb7",
                             PLOT_ANCHOR_CENTER, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (b.x1 + a.x0), top - 0.5 * (double)r * unit,
                             "\xc2\xb7", PLOT_ANCHOR_CENTER, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (w.x0 + w.x1), w.y0 - 0.25 * pad, w_dims,
                             PLOT_ANCHOR_TOP, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (b.x0 + b.x1), b.y0 - 0.25 * pad, b_dims,
                             PLOT_ANCHOR_TOP, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * (a.x0 + a.x1), a.y0 - 0.25 * pad, a_dims,
                             PLOT_ANCHOR_TOP, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * area.width, 2.0 * line + pad, count_line,
                             PLOT_ANCHOR_TOP, err) != 0 ||
         plot_panel_add_text(panel, 0.5 * area.width, line, ratio_line, PLOT_ANCHOR_TOP,
                             err) != 0 ||
         plot_panel_set_limits(panel, PLOT_X, 0.0, area.width, err) != 0 ||
         plot_panel_set_limits(panel, PLOT_Y, 0.0, area.height, err) != 0))
        status = -1;

    if (status == 0) {
        fig_text_append(&caption, "The adapted weights W + s B A of one layer, drawn to scale "
                        "for D = %d inputs and N = %d outputs at rank r = %lld (the %s): the "
                        "frozen base W (D \xc3\x97 N, grey), B (D \xc3\x97 r, blue) and A "
                        "(r \xc3\x97 N, orange). The adapter trains r (D + N) = %.0f "
                        "parameters instead of the D N = %.0f of a full update, a ratio of "
                        "%.4g. The scale s = alpha / r for standard scaling, alpha / sqrt(r) "
                        "for rslora, alpha for none.", lora->D, lora->N, r,
                        r == lora->task_rank ? "task rank, one of the swept ranks"
                                             : "middle rank of the sweep, which lacks the "
                                               "task rank",
                        trained, full, trained / full);
        fig_text_append(&caption, " Sizes only: no seed, alpha or scaling enters.");
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    return status;
}
