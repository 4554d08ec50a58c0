/* token_strip.c - the token strip: one run's context at a few steps, each
 * token a tile coloured by its cluster with a bar of the latest query's
 * attention above it.
 *
 * Layout (grid of 16 columns):
 *   row per shown step   [prompt panel][generated panel][metrics text]
 *   last row             [x title     ][x title        ][cluster key ]
 * The prompt panel shows positions 0 .. P-1 and carries the y axis. The
 * generated panel shows generated positions on the same y scale. Tiles
 * sit below y = 0 and bars rise above it. The tiles must stay shallower
 * than the y tick step the layout settles on, or a negative tick would
 * fall on them. So the figure is built twice. The first build keeps the
 * tiles shallower than the finest step the layout could choose. The
 * second, once the axis height is known, makes them deeper, and it is
 * kept only when the real layout puts no tick below 0.
 *
 * The shown steps are spread evenly from the first to the last step:
 * round(i (steps - 1) / (k - 1)) for i = 0 .. k-1, k = strip_steps. The
 * step s row shows the context of step s (positions 0 .. P+s-1, each with
 * its attention weight) plus the token sampled at step s (position P+s,
 * a tile without a bar), so the row's lock-in, recorded after that token
 * is appended, matches its tiles.
 *
 * Long runs: the grid columns are split so that prompt and generated
 * tiles are about equally wide. When fewer than MIN_TILE points per
 * generated tile would remain, each row shows a window of the most recent
 * generated positions instead of all of them. Tiles carry no text, so
 * nothing can overlap however narrow they get.
 * NOTE: a prompt much longer than the generated window (hundreds of
 * tokens) still gets all of its positions, so its tiles can become
 * thinner than a point.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_COLUMNS 16
#define GRID_ROWS_MAX 16 /* the largest grid plot_figure_new accepts */
#define ROWS_MAX 12      /* the config allows at most 12 small multiples */
#define MIN_TILE 5.0     /* narrowest generated tile before windowing, points */
#define KEY_CLUSTERS_PER_LINE 4

/* The geometry chosen for one strip. */
typedef struct {
    size_t rows;                   /* shown steps */
    int step[ROWS_MAX];
    int prompt_columns, generated_columns, metric_columns;
    int row_span;                  /* grid rows per shown step */
    size_t window;                 /* generated positions shown per row */
    double height;                 /* figure height, points */
    double title_raise;            /* the bottom row's text starts this far
                                      above its data area, points, to sit
                                      close to the tick labels above it */
} strip_layout;

/* ---- sizes ---- */

/* Width in points of a panel spanning n grid columns. */
static double span_width(const plot_theme *theme, int n)
{
    double cell = (theme->figure_width - 2.0 * theme->outer_margin -
                   (GRID_COLUMNS - 1) * theme->panel_gap) / GRID_COLUMNS;
    return n * cell + (n - 1) * theme->panel_gap;
}

static void metric_markup(const dl_results_run *run, int step, char *markup, size_t size)
{
    snprintf(markup, size,
             "<b>step %d</b>\nprompt attention %.1f %%\nentropy %.2f\nlock-in %.2f", step,
             100.0 * run->metric[DL_METRIC_PROMPT_ATTENTION][step],
             run->metric[DL_METRIC_ENTROPY][step], run->metric[DL_METRIC_LOCK_IN][step]);
}

/* Builds the cluster key: "Cluster" and a coloured square per cluster,
 * KEY_CLUSTERS_PER_LINE to a line. Returns malloc'ed markup or NULL with
 * err set.
 * NOTE: with more than PLOT_PALETTE_SIZE (8) clusters the tile colours
 * repeat (cluster c takes colour c mod 8), so two clusters can look
 * alike. The key then shows the first eight and notes the repetition. */
static char *key_markup(const dl_results *results, dl_error *err)
{
    fig_text key = {NULL, 0, 0, false};
    size_t shown = (size_t)results->clusters < PLOT_PALETTE_SIZE ? (size_t)results->clusters
                                                                : PLOT_PALETTE_SIZE;
    fig_text_append(&key, "Cluster");
    for (size_t c = 0; c < shown; c++) {
        plot_rgb colour = plot_palette_color(c);
        fig_text_append(&key, "%s<span foreground=\"#%02X%02X%02X\">\xe2\x96\xa0</span> %zu",
                        c % KEY_CLUSTERS_PER_LINE == 0 ? "\n" : "  ",
                        (unsigned)lround(255.0 * colour.r), (unsigned)lround(255.0 * colour.g),
                        (unsigned)lround(255.0 * colour.b), c);
    }
    if ((size_t)results->clusters > shown)
        fig_text_append(&key, " \xe2\x80\xa6\n(colours repeat)");
    return fig_text_take(&key, err);
}

static int choose_layout(const dl_results *results, const dl_results_run *run,
                         const plot_theme *theme, strip_layout *layout, dl_error *err)
{
    int steps = results->steps, prompt = results->prompt_length;

    /* the steps: evenly spaced, first and last included, no repeats */
    int wanted = results->figures.strip_steps;
    if (wanted < 1)
        wanted = 1;
    if (wanted > ROWS_MAX)
        wanted = ROWS_MAX;
    if (wanted > steps)
        wanted = steps;
    layout->rows = 0;
    for (int i = 0; i < wanted; i++) {
        int s = wanted == 1 ? steps - 1
                            : (int)lround((double)i * (steps - 1) / (double)(wanted - 1));
        if (layout->rows == 0 || layout->step[layout->rows - 1] != s)
            layout->step[layout->rows++] = s;
    }

    /* the metrics column: as wide as its widest text */
    double widest = 0.0, width, height;
    char markup[256];
    for (size_t r = 0; r < layout->rows; r++) {
        metric_markup(run, layout->step[r], markup, sizeof markup);
        if (plot_text_measure(theme, markup, theme->annotation_size, &width, &height, err) != 0)
            return -1;
        widest = fmax(widest, width);
    }
    layout->metric_columns = 1;
    while (span_width(theme, layout->metric_columns) < widest + theme->label_pad + 2.0)
        layout->metric_columns++;

    /* margins: the prompt panel's y tick labels and title plus half an x
     * tick label at each end, and half an x tick label at each end of the
     * generated panel */
    double label_width, label_height, title_width, title_height;
    if (plot_text_measure(theme, "100", theme->tick_label_size, &label_width, &label_height,
                          err) != 0 ||
        plot_text_measure(theme, "Attention (%)", theme->axis_title_size, &title_width,
                          &title_height, err) != 0)
        return -1;
    double prompt_margin = theme->tick_length + 2.0 * theme->label_pad + label_width +
                           title_height + label_width;
    double generated_margin = label_width + 2.0;

    /* split the rest so that prompt and generated tiles are alike, but
     * give the generated tokens at least half of it, and each panel room
     * for a few tick labels */
    int rest = GRID_COLUMNS - layout->metric_columns;
    double best = INFINITY;
    for (int p = 1; p <= rest / 2; p++) {
        double prompt_width = span_width(theme, p) - prompt_margin;
        double generated_width = span_width(theme, rest - p) - generated_margin;
        if (prompt_width < 4.0 * label_width || generated_width < 4.0 * label_width)
            continue;
        size_t fit = (size_t)(generated_width / MIN_TILE);
        size_t window = fit < (size_t)steps ? fit : (size_t)steps;
        if (window < 1)
            window = 1;
        double mismatch = fabs(log((prompt_width / prompt) / (generated_width / window)));
        if (mismatch < best) {
            best = mismatch;
            layout->prompt_columns = p;
            layout->generated_columns = rest - p;
            layout->window = window;
        }
    }
    if (!isfinite(best))
        return dl_error_set(err, "the token strip's labels leave no room for its tiles in a "
                            "%.0f pt wide figure", theme->figure_width);

    /* heights: each strip gets 4.5 tick-label heights of data area, and
     * the bottom row must fit the key, which starts title_raise points
     * above its data area */
    double data_height = 4.5 * label_height;
    double row_box = data_height + theme->tick_length + theme->label_pad + label_height +
                     0.5 * label_height;
    char *key = key_markup(results, err);
    if (key == NULL)
        return -1;
    double key_width, key_height;
    int status = plot_text_measure(theme, key, theme->annotation_size, &key_width, &key_height,
                                   err);
    free(key);
    if (status != 0)
        return -1;
    layout->title_raise = theme->panel_gap + 2.0 - theme->label_pad;
    layout->row_span = 2 * (int)layout->rows + 1 <= GRID_ROWS_MAX ? 2 : 1;
    double cell = (row_box - (layout->row_span - 1) * theme->panel_gap) / layout->row_span;
    cell = fmax(cell, fmax(theme->min_area, key_height - layout->title_raise) + 2.0);
    double figure_title_width, figure_title_height;
    if (plot_text_measure(theme, "Token strip", theme->figure_title_size, &figure_title_width,
                          &figure_title_height, err) != 0)
        return -1;
    int grid_rows = (int)layout->rows * layout->row_span + 1;
    layout->height = fmax(theme->figure_height,
                          2.0 * theme->outer_margin + figure_title_height + theme->title_pad +
                              grid_rows * cell + (grid_rows - 1) * theme->panel_gap);
    return 0;
}

/* ---- one row ---- */

/* The y range: bars reach `top`, tiles go down to -depth. */
typedef struct {
    double top, depth;
    double largest;  /* the largest bar, percent */
} strip_scale;

static int choose_scale(const dl_results *results, const dl_results_run *run,
                        const strip_layout *layout, strip_scale *scale, dl_error *err)
{
    size_t positions = (size_t)results->n_positions;
    double largest = 0.0;
    for (size_t r = 0; r < layout->rows; r++) {
        const double *row = run->attention + (size_t)layout->step[r] * positions;
        for (size_t i = 0; i < positions; i++)
            if (!isnan(row[i]))
                largest = fmax(largest, 100.0 * row[i]);
    }
    if (!(largest > 0.0))
        return dl_error_set(err, "%s: the shown attention rows hold no positive weight; the "
                            "file is damaged or unfinished", results->path);

    plot_ticks ticks;
    if (plot_ticks_linear(&ticks, 0.0, largest, PLOT_RANGE_NICE, PLOT_TICKS_DEFAULT_COUNT,
                          err) != 0)
        return -1;
    scale->top = ticks.hi;
    scale->depth = 0.9 * ticks.step;
    scale->largest = largest;
    return 0;
}

/* Returns the y tick step the plotting layer settles on for [lo, hi] on
 * an axis `height` points tall, or 0 when it would fail, and the lowest
 * tick in *first. It repeats plot_layout.c's rule: the tick budget falls
 * from 8 to 3 until neighbouring labels, all `spacing` points apart at
 * the least, no longer overlap. */
static double settled_step(double lo, double hi, double height, double spacing, double *first)
{
    for (size_t budget = PLOT_TICKS_DEFAULT_COUNT; budget >= 3; budget--) {
        plot_ticks ticks;
        if (plot_ticks_linear(&ticks, lo, hi, PLOT_RANGE_EXACT, budget, NULL) != 0)
            return 0.0;
        if (ticks.count < 2 || ticks.step / (hi - lo) * height >= spacing) {
            *first = ticks.value[0];
            return ticks.step;
        }
    }
    return 0.0;
}

/* Chooses a deeper tile zone once the axis height is known. The
 * candidates are y ranges built on nice tick steps whose settled ticks
 * stay at or above 0. The winner gives the tiles up to tile_share of the
 * axis and the bars the most of the rest. Returns false when no candidate
 * beats the safe scale. */
static bool choose_deeper_scale(const strip_scale *safe, double height, double spacing,
                                strip_scale *deeper)
{
    const double tile_share = 0.22;
    static const double mantissas[4] = {1.0, 2.0, 2.5, 5.0};
    double best_score = safe->depth / (safe->top + safe->depth) / tile_share +
                        safe->largest / (safe->top + safe->depth);
    bool found = false;
    int decade = (int)floor(log10(safe->largest));

    for (int k = decade - 2; k <= decade + 1; k++) {
        for (int m = 0; m < 4; m++) {
            double step = mantissas[m] * pow(10.0, k);
            double tops[2] = {safe->largest, ceil(safe->largest / step - 1e-9) * step};
            for (int t = 0; t < 2; t++) {
                double top = tops[t];
                double depth = fmin(0.9 * step, tile_share / (1.0 - tile_share) * top);
                double first = 0.0;
                double settled = settled_step(-depth, top, height, spacing, &first);
                if (!(settled > 0.0) || first < 0.0 || depth >= settled)
                    continue;
                double range = top + depth;
                double score = fmin(depth / range, tile_share) / tile_share +
                               safe->largest / range;
                if (score > best_score) {
                    best_score = score;
                    deeper->top = top;
                    deeper->depth = depth;
                    deeper->largest = safe->largest;
                    found = true;
                }
            }
        }
    }
    return found;
}

/* Adds the tiles (one bar element per palette colour) and the attention
 * bars of one step to panel. tiles[] and bars[] are scratch arrays of
 * n_positions values. */
static int add_step(plot_panel *panel, const dl_results *results, const dl_results_run *run,
                    int step, size_t first, size_t last, const strip_scale *scale,
                    const plot_theme *theme, double *tiles, double *bars, dl_error *err)
{
    size_t positions = (size_t)results->n_positions;
    size_t context = (size_t)(results->prompt_length + step); /* positions attended */
    const double *attention = run->attention + (size_t)step * positions;
    size_t colours = (size_t)results->clusters < PLOT_PALETTE_SIZE ? (size_t)results->clusters
                                                                  : PLOT_PALETTE_SIZE;

    for (size_t c = 0; c < colours; c++) {
        bool any = false;
        for (size_t i = 0; i < positions; i++) {
            bool shown = i >= first && i <= last && run->clusters[i] >= 0 &&
                         (size_t)run->clusters[i] % PLOT_PALETTE_SIZE == c;
            tiles[i] = shown ? -scale->depth : NAN;
            any = any || shown;
        }
        plot_rgb colour = plot_palette_color(c);
        if (any && plot_panel_add_bars(panel, tiles, positions, 1, NULL, &colour, err) != 0)
            return -1;
    }

    /* bars in a grey lighter than the theme's annotations, so that they
     * stand apart from a black tile (the last Okabe-Ito colour) below */
    for (size_t i = 0; i < positions; i++)
        bars[i] = i >= first && i <= last && i < context ? 100.0 * attention[i] : NAN;
    plot_rgb grey = {0.6 * theme->annotation.r + 0.4 * theme->background.r,
                     0.6 * theme->annotation.g + 0.4 * theme->background.g,
                     0.6 * theme->annotation.b + 0.4 * theme->background.b};
    return plot_panel_add_bars(panel, bars, positions, 1, NULL, &grey, err);
}

static int add_row(plot_figure *figure, const dl_results *results, const dl_results_run *run,
                   const strip_layout *layout, const strip_scale *scale, size_t r,
                   const plot_theme *theme, double *tiles, double *bars,
                   plot_panel **axis_panel, dl_error *err)
{
    int step = layout->step[r];
    int grid_row = (int)r * layout->row_span;
    size_t prompt = (size_t)results->prompt_length;

    /* the window of generated positions: the latest ones up to step's token */
    size_t newest = (size_t)step;
    size_t oldest = newest + 1 > layout->window ? newest + 1 - layout->window : 0;
    double window_lo = (double)(prompt + oldest) - 0.5;
    double window_hi = window_lo + (double)layout->window;

    plot_panel *left = plot_figure_add_panel(figure, grid_row, 0, layout->row_span,
                                             layout->prompt_columns, err);
    if (left == NULL ||
        plot_panel_set_axis(left, PLOT_Y, PLOT_SCALE_LINEAR, "Attention", "%", err) != 0 ||
        plot_panel_set_limits(left, PLOT_X, -0.5, (double)prompt - 0.5, err) != 0 ||
        plot_panel_set_limits(left, PLOT_Y, -scale->depth, scale->top, err) != 0 ||
        add_step(left, results, run, step, 0, prompt - 1, scale, theme, tiles, bars, err) != 0)
        return -1;
    plot_panel_set_integer_ticks(left, PLOT_X);
    if (axis_panel != NULL)
        *axis_panel = left;

    plot_panel *right = plot_figure_add_panel(figure, grid_row, layout->prompt_columns,
                                              layout->row_span, layout->generated_columns, err);
    if (right == NULL ||
        plot_panel_set_limits(right, PLOT_X, window_lo, window_hi, err) != 0 ||
        plot_panel_set_limits(right, PLOT_Y, -scale->depth, scale->top, err) != 0 ||
        add_step(right, results, run, step, prompt + oldest, prompt + newest, scale, theme,
                 tiles, bars, err) != 0)
        return -1;
    plot_panel_set_integer_ticks(right, PLOT_X);
    plot_panel_hide_axis(right, PLOT_Y);

    /* the metrics beside the row */
    char markup[256];
    metric_markup(run, step, markup, sizeof markup);
    plot_panel *metrics = plot_figure_add_panel(figure, grid_row,
                                                layout->prompt_columns + layout->generated_columns,
                                                layout->row_span, layout->metric_columns, err);
    if (metrics == NULL ||
        plot_panel_set_limits(metrics, PLOT_X, 0.0, 1.0, err) != 0 ||
        plot_panel_set_limits(metrics, PLOT_Y, 0.0, 1.0, err) != 0 ||
        plot_panel_add_text(metrics, 0.0, 0.5, markup, PLOT_ANCHOR_LEFT, err) != 0)
        return -1;
    plot_panel_hide_axis(metrics, PLOT_X);
    plot_panel_hide_axis(metrics, PLOT_Y);
    return 0;
}

/* ---- the bottom row: x titles and the cluster key ---- */

/* Adds a panel without axes that shows markup. The text starts raise
 * points above the panel's top edge, which works because text is not
 * clipped. area_height is the data area's height from a previous layout,
 * or 0 to put the text at the top edge. */
static plot_panel *add_text_panel(plot_figure *figure, int grid_row, int column, int span,
                                  double x, const char *markup, plot_anchor anchor,
                                  double raise, double area_height, dl_error *err)
{
    double y = area_height > 0.0 ? 1.0 + raise / area_height : 1.0;
    plot_panel *panel = plot_figure_add_panel(figure, grid_row, column, 1, span, err);
    if (panel == NULL ||
        plot_panel_set_limits(panel, PLOT_X, 0.0, 1.0, err) != 0 ||
        plot_panel_set_limits(panel, PLOT_Y, 0.0, 1.0, err) != 0 ||
        plot_panel_add_text(panel, x, y, markup, anchor, err) != 0)
        return NULL;
    plot_panel_hide_axis(panel, PLOT_X);
    plot_panel_hide_axis(panel, PLOT_Y);
    return panel;
}

static plot_panel *add_bottom_row(plot_figure *figure, const dl_results *results,
                                  const strip_layout *layout, double area_height, dl_error *err)
{
    int grid_row = (int)layout->rows * layout->row_span;
    char generated[96];
    if (layout->window < (size_t)results->steps)
        snprintf(generated, sizeof generated, "Generated position (latest %zu)", layout->window);
    else
        snprintf(generated, sizeof generated, "Generated position");
    char *key = key_markup(results, err);
    if (key == NULL)
        return NULL;

    double raise = layout->title_raise;
    plot_panel *first = add_text_panel(figure, grid_row, 0, layout->prompt_columns, 0.5,
                                       "Prompt position", PLOT_ANCHOR_TOP, raise, area_height,
                                       err);
    if (first == NULL ||
        add_text_panel(figure, grid_row, layout->prompt_columns, layout->generated_columns, 0.5,
                       generated, PLOT_ANCHOR_TOP, raise, area_height, err) == NULL ||
        add_text_panel(figure, grid_row, layout->prompt_columns + layout->generated_columns,
                       layout->metric_columns, 0.0, key, PLOT_ANCHOR_TOP_LEFT, raise,
                       area_height, err) == NULL)
        first = NULL;
    free(key);
    return first;
}

/* ---- the figure ---- */

/* temperature is the run's temperature as fig_point_temperature_text
 * writes it. */
static void write_caption(fig_text *caption, const dl_results *results,
                          const dl_figure_run_choice *choice, const strip_layout *layout,
                          const char *temperature)
{
    fig_text_append(caption, "The context of one run at T = %s with seed %lld, at step",
                    temperature, (long long)results->seeds[choice->kept_index]);
    if (layout->rows == 1)
        fig_text_append(caption, " %d.", layout->step[0]);
    for (size_t r = 0; layout->rows > 1 && r < layout->rows; r++)
        fig_text_append(caption, "%s%d%s", r == 0 ? "s " : (r + 1 == layout->rows ? " and " : ", "),
                        layout->step[r], r + 1 == layout->rows ? " (one row each)." : "");
    fig_text_append(caption, " Each tile is one token, coloured by its cluster; the bar above "
                    "it is the attention weight, in percent, that the step's query gives to "
                    "that position. The %d prompt tokens are on the left and the generated "
                    "tokens on the right, where the last tile of a row is the token sampled at "
                    "that step, which has no bar yet.", results->prompt_length);
    if (layout->window < (size_t)results->steps)
        fig_text_append(caption, " Only the latest %zu generated positions of each row are "
                        "shown.", layout->window);
    fig_text_append(caption, " Beside each row: the share of attention on the prompt, the "
                    "entropy of the attention row divided by ln n for n positions, and the "
                    "lock-in after the step (share of generated tokens in the most frequent "
                    "cluster).");
    if (results->n_axes > (dl_results_axis_index(results, DL_SWEEP_TEMPERATURE) >= 0 ? 1u : 0u)) {
        fig_text_append(caption, " Other sweep axes at their first value: ");
        fig_append_fixed_axes(caption, results);
        fig_text_append(caption, ".");
    }
}

/* The panels a built strip reports back for the second pass. */
typedef struct {
    plot_panel *axis;   /* the first row's prompt panel, which has the y axis */
    plot_panel *bottom; /* the first panel of the bottom row */
} strip_panels;

static plot_figure *build_strip(const dl_results *results, const dl_figure_run_choice *choice,
                                const dl_results_run *run, const strip_layout *layout,
                                const strip_scale *scale, double bottom_height,
                                const char *temperature, const plot_theme *theme,
                                strip_panels *panels, dl_error *err)
{
    size_t positions = (size_t)results->n_positions;
    double *tiles = malloc(positions * sizeof *tiles), *bars = malloc(positions * sizeof *bars);
    int grid_rows = (int)layout->rows * layout->row_span + 1;
    plot_figure *figure = plot_figure_new(theme->figure_width, layout->height, grid_rows,
                                          GRID_COLUMNS, theme, err);
    int status = figure != NULL ? 0 : -1;
    if (status == 0 && (tiles == NULL || bars == NULL))
        status = dl_error_set(err, "out of memory for the token strip");

    char title[160];
    snprintf(title, sizeof title, "Token strip: where the latest query looks (<i>T</i> = %s, "
             "seed %lld)", temperature, (long long)results->seeds[choice->kept_index]);
    if (status == 0)
        status = plot_figure_set_title(figure, title, err);
    for (size_t r = 0; status == 0 && r < layout->rows; r++)
        status = add_row(figure, results, run, layout, scale, r, theme, tiles, bars,
                         r == 0 ? &panels->axis : NULL, err);
    if (status == 0) {
        panels->bottom = add_bottom_row(figure, results, layout, bottom_height, err);
        status = panels->bottom != NULL ? 0 : -1;
    }
    free(tiles);
    free(bars);
    if (status != 0) {
        plot_figure_free(figure);
        return NULL;
    }
    return figure;
}

/* True when no y tick of the laid-out axis panel falls below 0, on the
 * tiles. */
static bool ticks_clear_of_tiles(const strip_panels *panels)
{
    const plot_ticks *ticks = plot_panel_ticks(panels->axis, PLOT_Y);
    return ticks->count > 0 && ticks->value[0] >= 0.0;
}

int dl_figure_token_strip(const dl_results *results, const dl_figure_run_choice *choice,
                          const dl_results_run *run, const plot_theme *theme,
                          dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    if (results->steps < 1)
        return dl_error_set(err, "%s: the run has no generation step to draw", results->path);

    strip_layout layout = {0};
    strip_scale safe = {0.0, 0.0, 0.0};
    char temperature[40];
    if (fig_point_temperature_text(results, choice->point, temperature, sizeof temperature,
                                   err) != 0 ||
        choose_layout(results, run, theme, &layout, err) != 0 ||
        choose_scale(results, run, &layout, &safe, err) != 0)
        return -1;

    /* first pass: tiles shallower than the tick step of an 8-tick budget,
     * the finest step the layout starts from */
    strip_panels panels = {NULL, NULL};
    plot_figure *figure = build_strip(results, choice, run, &layout, &safe, 0.0, temperature,
                                      theme, &panels, err);
    if (figure == NULL || plot_figure_layout(figure, err) != 0) {
        plot_figure_free(figure);
        return -1;
    }

    /* second pass: with the axis height known, a deeper tile zone and
     * the bottom row's text raised to the tick labels above it. It
     * replaces the first pass only when the real layout puts no tick on
     * the tiles. */
    double zero_height, zero_width, spacing;
    if (plot_text_measure(theme, "0", theme->tick_label_size, &zero_width, &zero_height,
                          err) != 0) {
        plot_figure_free(figure);
        return -1;
    }
    spacing = zero_height + 0.4 * theme->tick_label_size;
    strip_scale scale = safe;
    choose_deeper_scale(&safe, plot_panel_area(panels.axis).height, spacing, &scale);
    double bottom_height = plot_panel_area(panels.bottom).height;
    dl_error ignored;
    plot_figure *second = build_strip(results, choice, run, &layout, &scale, bottom_height,
                                      temperature, theme, &panels, err);
    if (second == NULL) {
        plot_figure_free(figure);
        return -1;
    }
    if (plot_figure_layout(second, &ignored) == 0 && ticks_clear_of_tiles(&panels)) {
        plot_figure_free(figure);
        figure = second;
    } else {
        plot_figure_free(second);
    }

    fig_text caption = {NULL, 0, 0, false};
    write_caption(&caption, results, choice, &layout, temperature);
    return fig_finish(figure, &caption, out, err);
}
