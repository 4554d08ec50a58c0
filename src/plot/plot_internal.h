/* plot_internal.h - the figure, panel and element records shared by the
 * plot_*.c files, and the Pango text helpers they draw with. Not part of
 * the public interface: figure code includes plot.h only.
 *
 * Ownership: a figure owns its panels; a panel owns its elements; an
 * element owns every array and string it points to. plot_figure_free
 * releases all of them.
 */
#ifndef DRIFTLAB_PLOT_INTERNAL_H
#define DRIFTLAB_PLOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <pango/pangocairo.h>

#include "plot.h"

#define PLOT_GRID_MAX 16

typedef enum {
    ELEMENT_LINE,
    ELEMENT_STEP,
    ELEMENT_POINTS,
    ELEMENT_BAND,
    ELEMENT_BARS,
    ELEMENT_HEATMAP,
    ELEMENT_CHIP,
    ELEMENT_VLINE,
    ELEMENT_HLINE,
    ELEMENT_TEXT,
} element_kind;

/* One thing drawn in a panel. Fields a kind does not use stay zero. */
typedef struct {
    element_kind kind;
    char *label;       /* legend entry (series) or shown text (chips, markers, text) */
    plot_style style;
    plot_rgb fill;     /* bands and chips */

    /* series: n points; bands use y as the lower and y2 as the upper edge */
    size_t n;
    double *x, *y, *y2;

    /* bars: groups x series values, one colour and legend label per series */
    size_t groups, series;
    double *values;
    plot_rgb *colors;
    char **series_labels;

    /* heat map: rows x cols values over [x0, x1] x [y0, y1] */
    size_t rows, cols;
    double x0, x1, y0, y1;
    plot_colormap map;
    double vmin, vmax;

    /* chips, marker lines and text: a data point and an anchor */
    double at_x, at_y;
    plot_anchor anchor;
} plot_element;

typedef struct {
    plot_scale scale;
    char *title;         /* markup, or NULL */
    char *unit;          /* markup, or NULL for a dimensionless quantity */
    bool has_limits;
    double limit_lo, limit_hi;
    char **categories;
    size_t category_count;
    bool hidden;
    bool grid;
    bool integer;        /* ticks from plot_ticks_integer */
    double *tick_values; /* fixed ticks (plot_panel_set_tick_values), or NULL */
    char **tick_labels;
    size_t tick_count;
    bool has_include;    /* the range also covers [include_lo, include_hi] */
    double include_lo, include_hi;

    /* set by layout */
    size_t max_ticks;    /* shrinks while tick labels overlap */
    plot_ticks ticks;
    double label_extent; /* widest (y) or tallest (x) tick label, points */
} plot_axis;

/* Space round a data area, points. */
typedef struct {
    double left, right, top, bottom;
} plot_margins;

struct plot_panel {
    plot_figure *figure;
    int row, col, row_span, col_span;
    char *title;
    plot_axis axis[2];
    plot_legend_position legend;

    plot_element *elements;
    size_t element_count, element_capacity;

    bool has_colorbar;
    plot_colormap colorbar_map;
    double colorbar_vmin, colorbar_vmax;
    char *colorbar_title;
    plot_ticks colorbar_ticks;

    /* set by layout, points */
    plot_rect box;        /* the grid cells the panel covers */
    plot_margins needed;  /* what its own labels need */
    plot_margins margins; /* after alignment with its grid row and column */
    plot_rect area;       /* the data area */
    double colorbar_offset; /* data area to colour bar, clear of x tick labels */
    double colorbar_extent; /* colour bar and its labels, right of the area */
    double legend_width, legend_height;
};

struct plot_figure {
    const plot_theme *theme;
    double width, height;
    int rows, cols;
    char *title;
    char *title_text;     /* the title without markup */
    plot_panel **panels;
    size_t panel_count;
    bool laid_out;
    bool equal_areas;     /* plot_figure_set_equal_areas */
    double title_height;  /* set by layout */
};

/* ---- text (plot_text.c) ---- */

/* A Pango font map and context fixed for device-independent metrics: no
 * hinting, unrounded glyph positions, 72 units per inch, and an identity
 * matrix. The matrix is never updated from a cairo context because Pango
 * 1.50 then places <sub> and <sup> by device pixels and so moves them on a
 * scaled (PNG) surface; cairo scales the glyphs itself when it draws. */
typedef struct plot_text plot_text;

typedef struct {
    double width, height;
} plot_size;

/* Opens a text context for theme's font. Returns NULL with err set when
 * fontconfig resolves the family to a different font. Close with
 * plot_text_close. */
plot_text *plot_text_open(const plot_theme *theme, dl_error *err);
void plot_text_close(plot_text *text);

/* Returns the logical extents of markup at size points. */
plot_size plot_text_size(plot_text *text, const char *markup, double size);

/* Draws markup at size points with its box placed on (x, y) by anchor,
 * rotated by angle radians about (x, y). The anchor applies in the text's
 * own frame, before the rotation. */
void plot_text_show(plot_text *text, cairo_t *cr, const char *markup, double size, double x,
                    double y, plot_anchor anchor, double angle, plot_rgb color);

/* Checks that markup parses. field_name names the string in the error. */
int plot_markup_check(const char *markup, const char *field_name, dl_error *err);

/* Returns a malloc'ed copy of markup without its tags, or NULL when out of
 * memory or the markup is invalid. */
char *plot_markup_plain_text(const char *markup);

/* ---- shared helpers ---- */

/* Maps a data value to a position in points along the laid-out axis:
 * x from the left edge of the area, y from its bottom edge upward, so
 * callers add area.x or subtract from area.y + area.height. */
double plot_axis_position(const plot_axis *axis, double value, double length);
double plot_panel_x(const plot_panel *panel, double x);
double plot_panel_y(const plot_panel *panel, double y);

void plot_set_color(cairo_t *cr, plot_rgb color, double alpha);
void plot_set_dash(cairo_t *cr, plot_dash dash, double width, const plot_theme *theme);
double plot_style_width(plot_style style, const plot_theme *theme);
const char *plot_panel_name(const plot_panel *panel, char *buffer, size_t size);

/* Legend and colour bar (plot_legend.c): measure during layout, draw after
 * the data. */
void plot_legend_measure(plot_panel *panel, plot_text *text);
void plot_legend_draw(const plot_panel *panel, plot_text *text, cairo_t *cr);
/* Measures the colour bar; last_label_half is how far the last x tick
 * label sticks out right of the data area. Returns the colour bar's
 * extent right of the data area. */
double plot_colorbar_measure(plot_panel *panel, plot_text *text, double last_label_half);
int plot_colorbar_draw(const plot_panel *panel, plot_text *text, cairo_t *cr,
                       double device_ppi, dl_error *err);

/* Heat maps (plot_heatmap.c). */
int plot_heatmap_draw(const plot_panel *panel, const plot_element *element, cairo_t *cr,
                      double device_ppi, dl_error *err);

/* Axes (plot_axes.c): tick marks, tick labels, axis titles and grid. */
void plot_axes_draw_grid(const plot_panel *panel, cairo_t *cr);
void plot_axes_draw(const plot_panel *panel, plot_text *text, cairo_t *cr);
/* Returns "title (unit)" as markup, with a tick exponent k other than 0
 * folded in as "title (x10^k unit)", in a malloc'ed string the caller
 * frees. Without a title the factor is the whole title ("x10^k"), so
 * scaled labels are never shown unmarked. NULL when there is neither a
 * title nor a factor, or memory runs out. */
char *plot_title_markup(const char *title, const char *unit, int exponent);
char *plot_axis_title_markup(const plot_axis *axis);

/* Series and annotations (plot_series.c). */
int plot_series_draw(const plot_panel *panel, plot_text *text, cairo_t *cr,
                     double device_ppi, dl_error *err);

#endif
