/* plot.h - figures made of panels, drawn with cairo, text set with Pango.
 *
 * A figure is a grid of rows x cols cells of equal size. Each panel covers
 * a rectangle of cells and has an x and a y axis. The caller adds elements
 * to panels: lines, step series, point markers, shaded bands, grouped
 * bars, heat maps, chips, marker lines and text. Every element copies the
 * data it is given. Nothing is measured or drawn until the figure is laid
 * out (plot_figure_layout), which output.h does before writing a file.
 *
 * Coordinates: figure and layout lengths are in points (1/72 inch) with the
 * origin at the top-left corner and y growing downward, as in cairo. Data
 * coordinates are the axis units the caller uses.
 *
 * Layout: the margins round each data area come from the measured extents
 * of its tick labels, axis titles, panel title, colour bar and outside
 * legend. Panels that start in one grid column share their left margin,
 * and panels that end in one column share their right margin. Grid rows
 * align top and bottom margins the same way. When the labels leave a data
 * area smaller than the theme's min_area, layout fails instead of
 * clipping them. Tick counts shrink from 8 until neighbouring tick labels
 * no longer overlap.
 *
 * Text: every string is Pango markup (`W<sub>q</sub>`, `&#945;` or a
 * UTF-8 `α`); markup is checked when it is added, and invalid markup is
 * rejected with the parser's message. Escape literal '<' and '&' as
 * `&lt;` and `&amp;`.
 *
 * Left out: polar and 3-D axes, twin axes, error bars, automatic legend
 * placement that avoids the data, and labels that rotate to fit.
 */
#ifndef DRIFTLAB_PLOT_H
#define DRIFTLAB_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include <cairo.h>

#include "colormap.h"
#include "error.h"
#include "theme.h"
#include "ticks.h"

typedef struct plot_figure plot_figure;
typedef struct plot_panel plot_panel;

typedef enum { PLOT_X, PLOT_Y } plot_axis_id;

typedef enum {
    PLOT_SCALE_LINEAR,
    PLOT_SCALE_LOG,      /* log10; every value on the axis must be > 0 */
    PLOT_SCALE_CATEGORY, /* categories at 0, 1, ..., n - 1 */
} plot_scale;

typedef enum {
    PLOT_LEGEND_NONE,
    PLOT_LEGEND_TOP_RIGHT, /* inside the data area */
    PLOT_LEGEND_TOP_LEFT,
    PLOT_LEGEND_BOTTOM_RIGHT,
    PLOT_LEGEND_BOTTOM_LEFT,
    PLOT_LEGEND_OUTSIDE_RIGHT, /* right of the data area and colour bar */
} plot_legend_position;

typedef enum { PLOT_DASH_SOLID, PLOT_DASH_DASHED, PLOT_DASH_DOTTED } plot_dash;

/* Where a text's box sits relative to its anchor point. */
typedef enum {
    PLOT_ANCHOR_TOP_LEFT,
    PLOT_ANCHOR_TOP,
    PLOT_ANCHOR_TOP_RIGHT,
    PLOT_ANCHOR_LEFT,
    PLOT_ANCHOR_CENTER,
    PLOT_ANCHOR_RIGHT,
    PLOT_ANCHOR_BOTTOM_LEFT,
    PLOT_ANCHOR_BOTTOM,
    PLOT_ANCHOR_BOTTOM_RIGHT,
} plot_anchor;

/* How a series is stroked. width is in points; 0 takes the theme's
 * line_width. */
typedef struct {
    plot_rgb color;
    double width;
    plot_dash dash;
} plot_style;

/* A rectangle in points, origin top-left. */
typedef struct {
    double x, y, width, height;
} plot_rect;

/* Returns a solid style in palette colour `index` and the theme width. */
plot_style plot_style_category(size_t index);

/* ---- figures and panels ---- */

/* Creates an empty figure of width x height points split into rows x cols
 * grid cells. theme must outlive the figure. Returns NULL with err set
 * when a size is not positive and finite, the grid is empty or larger than
 * 16 x 16, or memory runs out. Free with plot_figure_free. */
plot_figure *plot_figure_new(double width, double height, int rows, int cols,
                             const plot_theme *theme, dl_error *err);

/* Frees the figure, its panels and every copied array. NULL is a no-op. */
void plot_figure_free(plot_figure *figure);

/* Sets the figure title, drawn centred above all panels. */
int plot_figure_set_title(plot_figure *figure, const char *markup, dl_error *err);

/* Returns the figure title as plain text without markup (for document
 * metadata), or "" when there is none. Owned by the figure. */
const char *plot_figure_title_text(const plot_figure *figure);

double plot_figure_width(const plot_figure *figure);
double plot_figure_height(const plot_figure *figure);
const plot_theme *plot_figure_theme(const plot_figure *figure);

/* Adds a panel covering grid cells [row, row + row_span) x [col, col +
 * col_span). Returns the panel, owned by the figure, or NULL with err set
 * when the cells fall outside the grid or overlap another panel, or memory
 * runs out. */
plot_panel *plot_figure_add_panel(plot_figure *figure, int row, int col, int row_span,
                                  int col_span, dl_error *err);

/* Sets the panel title, drawn above the data area, left-aligned with it. */
int plot_panel_set_title(plot_panel *panel, const char *markup, dl_error *err);

/* Sets an axis's scale and title. unit is markup for the unit, shown as
 * "title (unit)", or NULL for a dimensionless quantity. Fails on invalid
 * markup. The default is a linear axis with no title. */
int plot_panel_set_axis(plot_panel *panel, plot_axis_id axis, plot_scale scale,
                        const char *title, const char *unit, dl_error *err);

/* Fixes an axis's range to [lo, hi] in data units; ticks fall inside it.
 * Without limits the axis covers its data, extended to nice tick values
 * (heat maps: exactly their extent). Fails when lo >= hi or a limit is
 * not finite. */
int plot_panel_set_limits(plot_panel *panel, plot_axis_id axis, double lo, double hi,
                          dl_error *err);

/* Marks a linear axis as counting whole units, such as token positions
 * or generation steps: its ticks fall on integers only and are labelled
 * with the integers in full, never scaled by a power of ten (see
 * plot_ticks_integer). */
void plot_panel_set_integer_ticks(plot_panel *panel, plot_axis_id axis);

/* Returns whether item i of count is kept when there is room for budget
 * (>= 1) of them: all when count <= budget, else budget items evenly
 * spaced in order with the first and the last among them (only the first
 * when budget is 1). Layout thins fixed ticks and category labels with
 * it, and figures can thin legend entries the same way. */
bool plot_keep_evenly(size_t i, size_t count, size_t budget);

/* Most categories of an axis. At most PLOT_TICKS_MAX of them are labelled:
 * when there are more, or when their labels overlap, layout labels every
 * k-th category. */
#define PLOT_CATEGORIES_MAX 4096

/* Fixes the ticks of a linear or log axis: 1 <= n <= PLOT_CATEGORIES_MAX
 * values (increasing) with their labels (markup, copied, each under
 * PLOT_TICK_LABEL_MAX bytes). Only values inside the axis range get a
 * tick, and there are no minor ticks. When there are more than
 * PLOT_TICKS_MAX or neighbouring labels overlap, layout keeps every k-th
 * tick, the first included. */
int plot_panel_set_tick_values(plot_panel *panel, plot_axis_id axis, const double *values,
                               const char *const *labels, size_t n, dl_error *err);

/* Extends an axis's data range to cover value, as an invisible point
 * would; a NICE range then grows to the ticks round it. Limits set with
 * plot_panel_set_limits take precedence. Fails on a value that is not
 * finite. */
int plot_panel_include(plot_panel *panel, plot_axis_id axis, double value, dl_error *err);

/* Gives every data area of the figure the same width. Each grid column
 * keeps the margins its panels need, and the width left over is shared
 * equally, so a colour bar in one column does not narrow its data area.
 * A figure with a panel that spans several columns keeps the usual
 * layout. */
void plot_figure_set_equal_areas(plot_figure *figure);

/* Returns the number of panels of figure and the panel at index (in the
 * order they were added), for tests and callers that inspect a layout. */
size_t plot_figure_panel_count(const plot_figure *figure);
plot_panel *plot_figure_panel(const plot_figure *figure, size_t index);

/* Makes an axis categorical with n labels (markup) at 0 .. n - 1,
 * 1 <= n <= PLOT_CATEGORIES_MAX. The labels are copied. */
int plot_panel_set_categories(plot_panel *panel, plot_axis_id axis, const char *const *labels,
                              size_t n, dl_error *err);

/* Hides an axis: no line, ticks, labels or title, and no margin for them. */
void plot_panel_hide_axis(plot_panel *panel, plot_axis_id axis);

/* Turns the grid lines at an axis's major ticks on or off. By default
 * the y axis has them and the x axis does not. */
void plot_panel_set_grid(plot_panel *panel, plot_axis_id axis, int on);

void plot_panel_set_legend(plot_panel *panel, plot_legend_position position);

/* ---- series; every function copies its arrays ---- */

/* Adds a polyline through (x[i], y[i]). A NaN in x or y breaks the line.
 * label is legend markup or NULL for no legend entry. Fails on n == 0, an
 * infinite value, invalid markup, or memory exhaustion. */
int plot_panel_add_line(plot_panel *panel, const double *x, const double *y, size_t n,
                        plot_style style, const char *label, dl_error *err);

/* Adds a step series: y[i] applies from x[i] to x[i + 1], and the last
 * value ends at x[n - 1] ("post" steps). Same rules as
 * plot_panel_add_line. */
int plot_panel_add_step(plot_panel *panel, const double *x, const double *y, size_t n,
                        plot_style style, const char *label, dl_error *err);

/* Adds filled circle markers at (x[i], y[i]); NaN points are skipped. */
int plot_panel_add_points(plot_panel *panel, const double *x, const double *y, size_t n,
                          plot_style style, const char *label, dl_error *err);

/* Adds a band filled between lo[i] and hi[i] over x[i], in `color` at the
 * theme's band_alpha. A NaN in any of the three arrays splits the band. */
int plot_panel_add_band(plot_panel *panel, const double *x, const double *lo, const double *hi,
                        size_t n, plot_rgb color, const char *label, dl_error *err);

/* Adds grouped bars: values is groups x series, row-major (values[g *
 * series + s]). Group g is centred at x = g; the bars of one group share
 * 80 % of a unit side by side. series_labels (series entries, or NULL)
 * feed the legend; colors (series entries) or NULL for the palette. Bars
 * start at 0 on a linear axis and at the axis minimum on a log axis. */
int plot_panel_add_bars(plot_panel *panel, const double *values, size_t groups, size_t series,
                        const char *const *series_labels, const plot_rgb *colors,
                        dl_error *err);

/* Adds a heat map of a rows x cols matrix (values[r * cols + c]). Column c
 * covers x from x0 + c * (x1 - x0) / cols onward, row r covers y from y0 +
 * r * (y1 - y0) / rows, so y1 < y0 puts row 0 at the top. Colours come
 * from `map` over the fixed scale [vmin, vmax] (values outside clamp to
 * the ends; NaN cells stay transparent), so panels of one sweep can share
 * a scale. When more columns (rows) fall on one device pixel than one,
 * they are averaged with plot_bin_columns (plot_bin_rows). Fails unless
 * vmin < vmax, both finite, and the extent is finite and non-empty. */
int plot_panel_add_heatmap(plot_panel *panel, const double *values, size_t rows, size_t cols,
                           double x0, double x1, double y0, double y1, plot_colormap map,
                           double vmin, double vmax, dl_error *err);

/* Adds a colour bar right of the data area for `map` over [vmin, vmax],
 * with ticks inside that range and a title (markup, may be NULL). One per
 * panel; a second call replaces the first. */
int plot_panel_add_colorbar(plot_panel *panel, plot_colormap map, double vmin, double vmax,
                            const char *title, dl_error *err);

/* ---- annotations ---- */

/* Adds a chip: a rounded rectangle filled with `fill`, centred at data
 * point (x, y), sized to its label (markup) plus the theme's chip_pad,
 * with the label in black or white, whichever contrasts more. */
int plot_panel_add_chip(plot_panel *panel, double x, double y, const char *label,
                        plot_rgb fill, dl_error *err);

/* Adds a dashed vertical line across the data area at x, with an optional
 * label (markup) at its top, right of the line. */
int plot_panel_add_vline(plot_panel *panel, double x, const char *label, dl_error *err);

/* Adds a dashed horizontal line at y, with an optional label (markup) at
 * its right end, above the line. */
int plot_panel_add_hline(plot_panel *panel, double y, const char *label, dl_error *err);

/* Adds text (markup) at data point (x, y), placed by `anchor`. */
int plot_panel_add_text(plot_panel *panel, double x, double y, const char *markup,
                        plot_anchor anchor, dl_error *err);

/* ---- layout and drawing ---- */

/* Computes axis ranges, ticks and every margin. Drawing calls it when the
 * figure changed since the last layout. Returns 0, or -1 with err naming
 * the panel when data cannot be shown (a value <= 0 on a log axis, no
 * finite data) or the labels leave no room for a data area. */
int plot_figure_layout(plot_figure *figure, dl_error *err);

/* Returns the data area of a laid-out panel, in points. */
plot_rect plot_panel_area(const plot_panel *panel);

/* Returns the ticks of a laid-out panel's axis, owned by the panel. On a
 * category axis the values are 0 .. n - 1 and the labels are empty: the
 * shown labels are those given to plot_panel_set_categories. */
const plot_ticks *plot_panel_ticks(const plot_panel *panel, plot_axis_id axis);

/* Draws the figure on cr, one cairo unit per point, origin at the current
 * user-space origin. device_ppi is the resolution of the target in pixels
 * per inch (it sets the heat-map binning); use the theme's vector_ppi for
 * PDF and SVG. Lays the figure out first if needed. Returns 0, or -1 with
 * err set on a layout failure, a missing font, or a cairo error. */
int plot_figure_draw(plot_figure *figure, cairo_t *cr, double device_ppi, dl_error *err);

/* ---- text measurement ---- */

/* Measures markup set in the theme's font at `size` points: *width and
 * *height receive the logical extents in points. Returns -1 with err set on
 * invalid markup or when the theme's font family is not installed. */
int plot_text_measure(const plot_theme *theme, const char *markup, double size, double *width,
                      double *height, dl_error *err);

/* ---- heat-map binning: pure functions ---- */

/* Averages the columns of in (rows x cols, row-major) into out (rows x
 * out_cols). Column c goes to output column floor((2c + 1) * out_cols /
 * (2 * cols)), the column that contains its centre; NaN values are left
 * out of the mean and an output cell with no finite value is NaN. Needs
 * 1 <= out_cols <= cols; returns -1 with err set otherwise, else 0. */
int plot_bin_columns(double *out, const double *in, size_t rows, size_t cols, size_t out_cols,
                     dl_error *err);

/* The same along rows: in (rows x cols) into out (out_rows x cols). */
int plot_bin_rows(double *out, const double *in, size_t rows, size_t cols, size_t out_rows,
                  dl_error *err);

#endif
