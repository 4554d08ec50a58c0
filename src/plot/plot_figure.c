/* plot_figure.c - creating figures and panels and adding elements to them.
 *
 * Every add function checks its input, copies it, and marks the figure for
 * a new layout. On failure nothing is added and the panel is unchanged.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

static char *copy_string(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

static double *copy_doubles(const double *values, size_t n)
{
    double *copy = malloc(n * sizeof *copy);
    if (copy != NULL)
        memcpy(copy, values, n * sizeof *copy);
    return copy;
}

static void free_strings(char **strings, size_t n)
{
    if (strings == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(strings[i]);
    free(strings);
}

static void free_element(plot_element *element)
{
    free(element->label);
    free(element->x);
    free(element->y);
    free(element->y2);
    free(element->values);
    free(element->colors);
    free_strings(element->series_labels, element->series);
}

static int optional_markup(const char *markup, const char *field_name, dl_error *err)
{
    return markup == NULL ? 0 : plot_markup_check(markup, field_name, err);
}

plot_style plot_style_category(size_t index)
{
    return (plot_style){plot_palette_color(index), 0.0, PLOT_DASH_SOLID};
}

const char *plot_panel_name(const plot_panel *panel, char *buffer, size_t size)
{
    snprintf(buffer, size, "panel (row %d, column %d)", panel->row, panel->col);
    return buffer;
}

/* ---- figures ---- */

plot_figure *plot_figure_new(double width, double height, int rows, int cols,
                             const plot_theme *theme, dl_error *err)
{
    if (!(isfinite(width) && width > 0.0 && isfinite(height) && height > 0.0)) {
        dl_error_set(err, "figure size %g x %g pt is invalid: both sides must be positive",
                     width, height);
        return NULL;
    }
    if (rows < 1 || cols < 1 || rows > PLOT_GRID_MAX || cols > PLOT_GRID_MAX) {
        dl_error_set(err, "figure grid %d x %d is invalid: rows and columns must be from 1 to %d",
                     rows, cols, PLOT_GRID_MAX);
        return NULL;
    }

    plot_figure *figure = calloc(1, sizeof *figure);
    if (figure == NULL) {
        dl_error_set(err, "out of memory creating a figure");
        return NULL;
    }
    figure->theme = theme;
    figure->width = width;
    figure->height = height;
    figure->rows = rows;
    figure->cols = cols;
    return figure;
}

static void free_panel(plot_panel *panel)
{
    for (size_t i = 0; i < panel->element_count; i++)
        free_element(&panel->elements[i]);
    free(panel->elements);
    for (int a = 0; a < 2; a++) {
        free(panel->axis[a].title);
        free(panel->axis[a].unit);
        free_strings(panel->axis[a].categories, panel->axis[a].category_count);
        free(panel->axis[a].tick_values);
        free_strings(panel->axis[a].tick_labels, panel->axis[a].tick_count);
    }
    free(panel->title);
    free(panel->colorbar_title);
    free(panel);
}

void plot_figure_free(plot_figure *figure)
{
    if (figure == NULL)
        return;
    for (size_t i = 0; i < figure->panel_count; i++)
        free_panel(figure->panels[i]);
    free(figure->panels);
    free(figure->title);
    free(figure->title_text);
    free(figure);
}

int plot_figure_set_title(plot_figure *figure, const char *markup, dl_error *err)
{
    if (plot_markup_check(markup, "figure title", err) != 0)
        return -1;
    char *title = copy_string(markup);
    char *plain = plot_markup_plain_text(markup);
    if (title == NULL || plain == NULL) {
        free(title);
        free(plain);
        return dl_error_set(err, "out of memory setting the figure title");
    }
    free(figure->title);
    free(figure->title_text);
    figure->title = title;
    figure->title_text = plain;
    figure->laid_out = false;
    return 0;
}

const char *plot_figure_title_text(const plot_figure *figure)
{
    return figure->title_text != NULL ? figure->title_text : "";
}

double plot_figure_width(const plot_figure *figure)
{
    return figure->width;
}

double plot_figure_height(const plot_figure *figure)
{
    return figure->height;
}

const plot_theme *plot_figure_theme(const plot_figure *figure)
{
    return figure->theme;
}

static bool cells_overlap(const plot_panel *p, int row, int col, int row_span, int col_span)
{
    return row < p->row + p->row_span && p->row < row + row_span && col < p->col + p->col_span &&
           p->col < col + col_span;
}

plot_panel *plot_figure_add_panel(plot_figure *figure, int row, int col, int row_span,
                                  int col_span, dl_error *err)
{
    if (row < 0 || col < 0 || row_span < 1 || col_span < 1 || row + row_span > figure->rows ||
        col + col_span > figure->cols) {
        dl_error_set(err, "panel cells rows %d..%d, columns %d..%d are invalid: the grid has "
                     "%d rows and %d columns", row, row + row_span - 1, col, col + col_span - 1,
                     figure->rows, figure->cols);
        return NULL;
    }
    for (size_t i = 0; i < figure->panel_count; i++) {
        if (cells_overlap(figure->panels[i], row, col, row_span, col_span)) {
            dl_error_set(err, "panel at row %d, column %d overlaps the panel at row %d, column %d",
                         row, col, figure->panels[i]->row, figure->panels[i]->col);
            return NULL;
        }
    }

    plot_panel *panel = calloc(1, sizeof *panel);
    plot_panel **grown = realloc(figure->panels, (figure->panel_count + 1) * sizeof *grown);
    if (panel == NULL || grown == NULL) {
        free(panel);
        if (grown != NULL)
            figure->panels = grown;
        dl_error_set(err, "out of memory adding a panel");
        return NULL;
    }
    figure->panels = grown;
    panel->figure = figure;
    panel->row = row;
    panel->col = col;
    panel->row_span = row_span;
    panel->col_span = col_span;
    panel->axis[PLOT_X].scale = PLOT_SCALE_LINEAR;
    panel->axis[PLOT_Y].scale = PLOT_SCALE_LINEAR;
    panel->axis[PLOT_Y].grid = true;
    panel->legend = PLOT_LEGEND_NONE;
    figure->panels[figure->panel_count++] = panel;
    figure->laid_out = false;
    return panel;
}

/* ---- panel settings ---- */

int plot_panel_set_title(plot_panel *panel, const char *markup, dl_error *err)
{
    if (plot_markup_check(markup, "panel title", err) != 0)
        return -1;
    char *title = copy_string(markup);
    if (title == NULL)
        return dl_error_set(err, "out of memory setting a panel title");
    free(panel->title);
    panel->title = title;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_set_axis(plot_panel *panel, plot_axis_id axis, plot_scale scale,
                        const char *title, const char *unit, dl_error *err)
{
    if (optional_markup(title, "axis title", err) != 0 || optional_markup(unit, "axis unit", err) != 0)
        return -1;
    char *title_copy = copy_string(title);
    char *unit_copy = copy_string(unit);
    if ((title != NULL && title_copy == NULL) || (unit != NULL && unit_copy == NULL)) {
        free(title_copy);
        free(unit_copy);
        return dl_error_set(err, "out of memory setting an axis title");
    }
    free(panel->axis[axis].title);
    free(panel->axis[axis].unit);
    panel->axis[axis].title = title_copy;
    panel->axis[axis].unit = unit_copy;
    panel->axis[axis].scale = scale;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_set_limits(plot_panel *panel, plot_axis_id axis, double lo, double hi,
                          dl_error *err)
{
    if (!(isfinite(lo) && isfinite(hi) && lo < hi))
        return dl_error_set(err, "axis limits [%g, %g] are invalid: both must be finite and the "
                            "lower below the upper", lo, hi);
    panel->axis[axis].has_limits = true;
    panel->axis[axis].limit_lo = lo;
    panel->axis[axis].limit_hi = hi;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_set_categories(plot_panel *panel, plot_axis_id axis, const char *const *labels,
                              size_t n, dl_error *err)
{
    if (n == 0 || n > PLOT_CATEGORIES_MAX)
        return dl_error_set(err, "%zu categories are invalid: an axis takes 1 to %d", n,
                            PLOT_CATEGORIES_MAX);
    for (size_t i = 0; i < n; i++)
        if (plot_markup_check(labels[i], "category label", err) != 0)
            return -1;

    char **copy = calloc(n, sizeof *copy);
    if (copy == NULL)
        return dl_error_set(err, "out of memory copying category labels");
    for (size_t i = 0; i < n; i++) {
        copy[i] = copy_string(labels[i]);
        if (copy[i] == NULL) {
            free_strings(copy, n);
            return dl_error_set(err, "out of memory copying category labels");
        }
    }
    free_strings(panel->axis[axis].categories, panel->axis[axis].category_count);
    panel->axis[axis].categories = copy;
    panel->axis[axis].category_count = n;
    panel->axis[axis].scale = PLOT_SCALE_CATEGORY;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_set_tick_values(plot_panel *panel, plot_axis_id axis, const double *values,
                               const char *const *labels, size_t n, dl_error *err)
{
    if (n == 0 || n > PLOT_CATEGORIES_MAX)
        return dl_error_set(err, "%zu tick values are invalid: an axis takes 1 to %d", n,
                            PLOT_CATEGORIES_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]) || (i > 0 && !(values[i] > values[i - 1])))
            return dl_error_set(err, "tick value %g is invalid: tick values must be finite "
                                "and increasing", values[i]);
        if (strlen(labels[i]) >= PLOT_TICK_LABEL_MAX)
            return dl_error_set(err, "tick label '%.20s...' is too long: a label takes at "
                                "most %d bytes", labels[i], PLOT_TICK_LABEL_MAX - 1);
        if (plot_markup_check(labels[i], "tick label", err) != 0)
            return -1;
    }

    double *value_copy = malloc(n * sizeof *value_copy);
    char **label_copy = calloc(n, sizeof *label_copy);
    int status = value_copy != NULL && label_copy != NULL ? 0 : -1;
    for (size_t i = 0; status == 0 && i < n; i++) {
        value_copy[i] = values[i];
        label_copy[i] = copy_string(labels[i]);
        if (label_copy[i] == NULL)
            status = -1;
    }
    if (status != 0) {
        free(value_copy);
        free_strings(label_copy, n);
        return dl_error_set(err, "out of memory copying tick values");
    }
    plot_axis *target = &panel->axis[axis];
    free(target->tick_values);
    free_strings(target->tick_labels, target->tick_count);
    target->tick_values = value_copy;
    target->tick_labels = label_copy;
    target->tick_count = n;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_include(plot_panel *panel, plot_axis_id axis, double value, dl_error *err)
{
    if (!isfinite(value))
        return dl_error_set(err, "axis value %g is invalid: it must be finite", value);
    plot_axis *target = &panel->axis[axis];
    if (!target->has_include || value < target->include_lo)
        target->include_lo = value;
    if (!target->has_include || value > target->include_hi)
        target->include_hi = value;
    target->has_include = true;
    panel->figure->laid_out = false;
    return 0;
}

void plot_figure_set_equal_areas(plot_figure *figure)
{
    figure->equal_areas = true;
    figure->laid_out = false;
}

size_t plot_figure_panel_count(const plot_figure *figure)
{
    return figure->panel_count;
}

plot_panel *plot_figure_panel(const plot_figure *figure, size_t index)
{
    return index < figure->panel_count ? figure->panels[index] : NULL;
}

void plot_panel_set_integer_ticks(plot_panel *panel, plot_axis_id axis)
{
    panel->axis[axis].integer = true;
    panel->figure->laid_out = false;
}

void plot_panel_hide_axis(plot_panel *panel, plot_axis_id axis)
{
    panel->axis[axis].hidden = true;
    panel->axis[axis].grid = false;
    panel->figure->laid_out = false;
}

void plot_panel_set_grid(plot_panel *panel, plot_axis_id axis, int on)
{
    panel->axis[axis].grid = on != 0;
}

void plot_panel_set_legend(plot_panel *panel, plot_legend_position position)
{
    panel->legend = position;
    panel->figure->laid_out = false;
}

/* ---- elements ---- */

/* Appends a zeroed element of `kind`; returns NULL when out of memory. */
static plot_element *append_element(plot_panel *panel, element_kind kind)
{
    if (panel->element_count == panel->element_capacity) {
        size_t capacity = panel->element_capacity == 0 ? 8 : 2 * panel->element_capacity;
        plot_element *grown = realloc(panel->elements, capacity * sizeof *grown);
        if (grown == NULL)
            return NULL;
        panel->elements = grown;
        panel->element_capacity = capacity;
    }
    plot_element *element = &panel->elements[panel->element_count];
    memset(element, 0, sizeof *element);
    element->kind = kind;
    return element;
}

/* Rejects infinite values; NaN is allowed and marks a gap. */
static int check_series_values(const double *values, size_t n, const char *array_name,
                               dl_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (isinf(values[i]))
            return dl_error_set(err, "%s[%zu] = %g is invalid: values must be finite "
                                "(NaN marks a gap)", array_name, i, values[i]);
    return 0;
}

static int add_series(plot_panel *panel, element_kind kind, const double *x, const double *y,
                      size_t n, plot_style style, const char *label, dl_error *err)
{
    if (n == 0)
        return dl_error_set(err, "a series needs at least one point");
    if (check_series_values(x, n, "x", err) != 0 || check_series_values(y, n, "y", err) != 0 ||
        optional_markup(label, "legend label", err) != 0)
        return -1;

    plot_element *element = append_element(panel, kind);
    if (element == NULL)
        return dl_error_set(err, "out of memory adding a series");
    element->n = n;
    element->style = style;
    element->x = copy_doubles(x, n);
    element->y = copy_doubles(y, n);
    element->label = copy_string(label);
    if (element->x == NULL || element->y == NULL || (label != NULL && element->label == NULL)) {
        free_element(element);
        return dl_error_set(err, "out of memory copying a series of %zu points", n);
    }
    panel->element_count++;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_add_line(plot_panel *panel, const double *x, const double *y, size_t n,
                        plot_style style, const char *label, dl_error *err)
{
    return add_series(panel, ELEMENT_LINE, x, y, n, style, label, err);
}

int plot_panel_add_step(plot_panel *panel, const double *x, const double *y, size_t n,
                        plot_style style, const char *label, dl_error *err)
{
    return add_series(panel, ELEMENT_STEP, x, y, n, style, label, err);
}

int plot_panel_add_points(plot_panel *panel, const double *x, const double *y, size_t n,
                          plot_style style, const char *label, dl_error *err)
{
    return add_series(panel, ELEMENT_POINTS, x, y, n, style, label, err);
}

int plot_panel_add_band(plot_panel *panel, const double *x, const double *lo, const double *hi,
                        size_t n, plot_rgb color, const char *label, dl_error *err)
{
    if (n < 2)
        return dl_error_set(err, "a band needs at least two points, got %zu", n);
    if (check_series_values(hi, n, "band upper edge", err) != 0)
        return -1;
    plot_style style = {color, 0.0, PLOT_DASH_SOLID};
    if (add_series(panel, ELEMENT_BAND, x, lo, n, style, label, err) != 0)
        return -1;

    plot_element *element = &panel->elements[panel->element_count - 1];
    element->fill = color;
    element->y2 = copy_doubles(hi, n);
    if (element->y2 == NULL) {
        free_element(element);
        panel->element_count--;
        return dl_error_set(err, "out of memory copying a band of %zu points", n);
    }
    return 0;
}

int plot_panel_add_bars(plot_panel *panel, const double *values, size_t groups, size_t series,
                        const char *const *series_labels, const plot_rgb *colors,
                        dl_error *err)
{
    if (groups == 0 || series == 0)
        return dl_error_set(err, "grouped bars need at least one group and one series, got "
                            "%zu x %zu", groups, series);
    if (check_series_values(values, groups * series, "bar value", err) != 0)
        return -1;
    for (size_t s = 0; series_labels != NULL && s < series; s++)
        if (optional_markup(series_labels[s], "bar series label", err) != 0)
            return -1;

    plot_element *element = append_element(panel, ELEMENT_BARS);
    if (element == NULL)
        return dl_error_set(err, "out of memory adding bars");
    element->groups = groups;
    element->series = series;
    element->values = copy_doubles(values, groups * series);
    element->colors = malloc(series * sizeof *element->colors);
    element->series_labels = calloc(series, sizeof *element->series_labels);
    bool failed = element->values == NULL || element->colors == NULL ||
                  element->series_labels == NULL;
    for (size_t s = 0; !failed && s < series; s++) {
        element->colors[s] = colors != NULL ? colors[s] : plot_palette_color(s);
        if (series_labels != NULL && series_labels[s] != NULL) {
            element->series_labels[s] = copy_string(series_labels[s]);
            failed = element->series_labels[s] == NULL;
        }
    }
    if (failed) {
        free_element(element);
        return dl_error_set(err, "out of memory copying %zu x %zu bars", groups, series);
    }
    panel->element_count++;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_add_heatmap(plot_panel *panel, const double *values, size_t rows, size_t cols,
                           double x0, double x1, double y0, double y1, plot_colormap map,
                           double vmin, double vmax, dl_error *err)
{
    if (rows == 0 || cols == 0)
        return dl_error_set(err, "heat map of %zu x %zu cells is empty", rows, cols);
    if (!(isfinite(vmin) && isfinite(vmax) && vmin < vmax))
        return dl_error_set(err, "heat map scale [%g, %g] is invalid: vmin and vmax must be "
                            "finite and vmin below vmax", vmin, vmax);
    if (!(isfinite(x0) && isfinite(x1) && isfinite(y0) && isfinite(y1)) || x0 == x1 || y0 == y1)
        return dl_error_set(err, "heat map extent x %g..%g, y %g..%g is invalid: it must be "
                            "finite with x0 != x1 and y0 != y1", x0, x1, y0, y1);
    if (check_series_values(values, rows * cols, "heat map value", err) != 0)
        return -1;

    plot_element *element = append_element(panel, ELEMENT_HEATMAP);
    if (element == NULL)
        return dl_error_set(err, "out of memory adding a heat map");
    element->rows = rows;
    element->cols = cols;
    element->values = copy_doubles(values, rows * cols);
    if (element->values == NULL)
        return dl_error_set(err, "out of memory copying a heat map of %zu x %zu", rows, cols);
    element->x0 = x0;
    element->x1 = x1;
    element->y0 = y0;
    element->y1 = y1;
    element->map = map;
    element->vmin = vmin;
    element->vmax = vmax;
    panel->element_count++;
    panel->axis[PLOT_Y].grid = false;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_add_colorbar(plot_panel *panel, plot_colormap map, double vmin, double vmax,
                            const char *title, dl_error *err)
{
    if (!(isfinite(vmin) && isfinite(vmax) && vmin < vmax))
        return dl_error_set(err, "colour bar scale [%g, %g] is invalid: vmin and vmax must be "
                            "finite and vmin below vmax", vmin, vmax);
    if (optional_markup(title, "colour bar title", err) != 0)
        return -1;
    char *copy = copy_string(title);
    if (title != NULL && copy == NULL)
        return dl_error_set(err, "out of memory setting a colour bar title");
    free(panel->colorbar_title);
    panel->colorbar_title = copy;
    panel->has_colorbar = true;
    panel->colorbar_map = map;
    panel->colorbar_vmin = vmin;
    panel->colorbar_vmax = vmax;
    panel->figure->laid_out = false;
    return 0;
}

/* Adds an element placed at one data point with optional text. */
static int add_placed(plot_panel *panel, element_kind kind, double x, double y,
                      const char *markup, plot_anchor anchor, plot_rgb fill, dl_error *err)
{
    if (!isfinite(x) || !isfinite(y))
        return dl_error_set(err, "annotation position (%g, %g) is invalid: it must be finite",
                            x, y);
    if (optional_markup(markup, "annotation text", err) != 0)
        return -1;
    plot_element *element = append_element(panel, kind);
    if (element == NULL)
        return dl_error_set(err, "out of memory adding an annotation");
    element->label = copy_string(markup);
    if (markup != NULL && element->label == NULL)
        return dl_error_set(err, "out of memory adding an annotation");
    element->at_x = x;
    element->at_y = y;
    element->anchor = anchor;
    element->fill = fill;
    panel->element_count++;
    panel->figure->laid_out = false;
    return 0;
}

int plot_panel_add_chip(plot_panel *panel, double x, double y, const char *label,
                        plot_rgb fill, dl_error *err)
{
    if (label == NULL)
        return dl_error_set(err, "a chip needs a label");
    return add_placed(panel, ELEMENT_CHIP, x, y, label, PLOT_ANCHOR_CENTER, fill, err);
}

int plot_panel_add_vline(plot_panel *panel, double x, const char *label, dl_error *err)
{
    return add_placed(panel, ELEMENT_VLINE, x, 0.0, label, PLOT_ANCHOR_TOP_LEFT,
                      (plot_rgb){0, 0, 0}, err);
}

int plot_panel_add_hline(plot_panel *panel, double y, const char *label, dl_error *err)
{
    return add_placed(panel, ELEMENT_HLINE, 0.0, y, label, PLOT_ANCHOR_BOTTOM_RIGHT,
                      (plot_rgb){0, 0, 0}, err);
}

int plot_panel_add_text(plot_panel *panel, double x, double y, const char *markup,
                        plot_anchor anchor, dl_error *err)
{
    if (markup == NULL)
        return dl_error_set(err, "a text annotation needs text");
    return add_placed(panel, ELEMENT_TEXT, x, y, markup, anchor, (plot_rgb){0, 0, 0}, err);
}
