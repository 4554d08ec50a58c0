/* plot_series.c - drawing the elements of a laid-out panel.
 *
 * Elements are drawn in layers so that the order of adding them changes
 * nothing but the order within a layer: heat maps, shaded bands, bars,
 * lines and step series, point markers, marker lines, then chips and text.
 * Everything up to the marker lines is clipped to the data area; chips and
 * text are placed by the caller and are not clipped.
 *
 * A NaN coordinate, or a value <= 0 on a log axis, ends a line, step
 * series or band, and the next finite point starts a new piece.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdbool.h>

#define FULL_TURN 6.28318530717958647692

/* ---- shared drawing helpers ---- */

void plot_set_color(cairo_t *cr, plot_rgb color, double alpha)
{
    if (alpha >= 1.0)
        cairo_set_source_rgb(cr, color.r, color.g, color.b);
    else
        cairo_set_source_rgba(cr, color.r, color.g, color.b, alpha);
}

double plot_style_width(plot_style style, const plot_theme *theme)
{
    return style.width > 0.0 ? style.width : theme->line_width;
}

void plot_set_dash(cairo_t *cr, plot_dash dash, double width, const plot_theme *theme)
{
    cairo_set_line_width(cr, width);
    if (dash == PLOT_DASH_DASHED) {
        double pattern[2] = {theme->dash_length + width, 0.6 * theme->dash_length + width};
        cairo_set_dash(cr, pattern, 2, 0.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    } else if (dash == PLOT_DASH_DOTTED) {
        double pattern[2] = {0.0, 2.0 * width};
        cairo_set_dash(cr, pattern, 2, 0.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    } else {
        cairo_set_dash(cr, NULL, 0, 0.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    }
}

/* Maps point i of a series; returns false when it cannot be shown. */
static bool map_point(const plot_panel *panel, double x, double y, double *px, double *py)
{
    *px = plot_panel_x(panel, x);
    *py = plot_panel_y(panel, y);
    return isfinite(*px) && isfinite(*py);
}

/* ---- series ---- */

static void draw_line(const plot_panel *panel, const plot_element *e, cairo_t *cr, bool step)
{
    const plot_theme *theme = panel->figure->theme;
    bool pen_down = false;
    double last_py = 0.0;

    for (size_t i = 0; i < e->n; i++) {
        double px, py;
        if (!map_point(panel, e->x[i], e->y[i], &px, &py)) {
            pen_down = false;
            continue;
        }
        if (!pen_down) {
            cairo_move_to(cr, px, py);
        } else if (step) {
            /* hold the previous value up to this x, then jump */
            cairo_line_to(cr, px, last_py);
            cairo_line_to(cr, px, py);
        } else {
            cairo_line_to(cr, px, py);
        }
        pen_down = true;
        last_py = py;
    }

    plot_set_color(cr, e->style.color, 1.0);
    plot_set_dash(cr, e->style.dash, plot_style_width(e->style, theme), theme);
    cairo_set_line_join(cr, step ? CAIRO_LINE_JOIN_MITER : CAIRO_LINE_JOIN_ROUND);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0.0);
}

static void draw_points(const plot_panel *panel, const plot_element *e, cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    double radius = 0.5 * theme->marker_size;
    for (size_t i = 0; i < e->n; i++) {
        double px, py;
        if (!map_point(panel, e->x[i], e->y[i], &px, &py))
            continue;
        cairo_new_sub_path(cr);
        cairo_arc(cr, px, py, radius, 0.0, FULL_TURN);
    }
    plot_set_color(cr, e->style.color, 1.0);
    cairo_fill_preserve(cr);
    /* a thin background-coloured ring keeps overlapping markers apart */
    cairo_set_line_width(cr, 0.5);
    plot_set_color(cr, theme->background, 1.0);
    cairo_stroke(cr);
}

/* Fills one piece of a band, points first .. last, all showable. */
static void fill_band_piece(const plot_panel *panel, const plot_element *e, size_t first,
                            size_t last, cairo_t *cr)
{
    for (size_t i = first; i <= last; i++) {
        double px = plot_panel_x(panel, e->x[i]);
        double py = plot_panel_y(panel, e->y2[i]);
        if (i == first)
            cairo_move_to(cr, px, py);
        else
            cairo_line_to(cr, px, py);
    }
    for (size_t i = last + 1; i-- > first;)
        cairo_line_to(cr, plot_panel_x(panel, e->x[i]), plot_panel_y(panel, e->y[i]));
    cairo_close_path(cr);
}

static void draw_band(const plot_panel *panel, const plot_element *e, cairo_t *cr)
{
    size_t start = 0;
    bool open = false;
    for (size_t i = 0; i <= e->n; i++) {
        double px, py_lo, py_hi;
        bool showable = i < e->n && map_point(panel, e->x[i], e->y[i], &px, &py_lo) &&
                        map_point(panel, e->x[i], e->y2[i], &px, &py_hi);
        if (showable && !open) {
            start = i;
            open = true;
        } else if (!showable && open) {
            if (i - start >= 2)
                fill_band_piece(panel, e, start, i - 1, cr);
            open = false;
        }
    }
    plot_set_color(cr, e->fill, panel->figure->theme->band_alpha);
    cairo_fill(cr);
}

static void draw_bars(const plot_panel *panel, const plot_element *e, cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    const plot_axis *y = &panel->axis[PLOT_Y];
    double base = y->scale == PLOT_SCALE_LOG ? y->ticks.lo : 0.0;
    double width = 0.8 / (double)e->series;

    for (size_t s = 0; s < e->series; s++) {
        for (size_t g = 0; g < e->groups; g++) {
            double value = e->values[g * e->series + s];
            double left = (double)g - 0.4 + (double)s * width;
            double px0, px1, py0, py1;
            if (!map_point(panel, left, base, &px0, &py0) ||
                !map_point(panel, left + width, value, &px1, &py1))
                continue;
            cairo_rectangle(cr, px0, fmin(py0, py1), px1 - px0, fabs(py1 - py0));
        }
        plot_set_color(cr, e->colors[s], 1.0);
        cairo_fill_preserve(cr);
        /* background-coloured edges separate touching bars */
        cairo_set_line_width(cr, 0.5);
        plot_set_color(cr, theme->background, 1.0);
        cairo_stroke(cr);
    }
}

/* ---- annotations ---- */

static void draw_marker_line(const plot_panel *panel, plot_text *text, const plot_element *e,
                             cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    const plot_rect *a = &panel->area;
    bool vertical = e->kind == ELEMENT_VLINE;
    double position = vertical ? plot_panel_x(panel, e->at_x) : plot_panel_y(panel, e->at_y);
    if (!isfinite(position))
        return;

    cairo_save(cr);
    plot_set_color(cr, theme->annotation, 1.0);
    plot_set_dash(cr, PLOT_DASH_DASHED, theme->annotation_width, theme);
    if (vertical) {
        cairo_move_to(cr, position, a->y);
        cairo_line_to(cr, position, a->y + a->height);
    } else {
        cairo_move_to(cr, a->x, position);
        cairo_line_to(cr, a->x + a->width, position);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
    if (e->label == NULL)
        return;

    /* A vertical line's label goes right of it, or left when it would run
     * past the data area. A horizontal line's label sits above its right
     * end. A translucent backing keeps either readable over data. */
    double pad = 0.5 * theme->label_pad + theme->annotation_width;
    plot_size s = plot_text_size(text, e->label, theme->annotation_size);
    double left, top;
    plot_anchor anchor;
    if (vertical) {
        bool fits_right = position + pad + s.width <= a->x + a->width;
        anchor = fits_right ? PLOT_ANCHOR_TOP_LEFT : PLOT_ANCHOR_TOP_RIGHT;
        left = fits_right ? position + pad : position - pad - s.width;
        top = a->y + pad;
    } else {
        anchor = PLOT_ANCHOR_BOTTOM_RIGHT;
        left = a->x + a->width - pad - s.width;
        top = position - pad - s.height;
    }
    double halo = 0.25 * theme->label_pad;
    cairo_rectangle(cr, left - halo, top, s.width + 2.0 * halo, s.height);
    plot_set_color(cr, theme->legend_background, theme->legend_alpha);
    cairo_fill(cr);
    double x = anchor == PLOT_ANCHOR_TOP_RIGHT || anchor == PLOT_ANCHOR_BOTTOM_RIGHT
                   ? left + s.width : left;
    double y = anchor == PLOT_ANCHOR_BOTTOM_RIGHT ? top + s.height : top;
    plot_text_show(text, cr, e->label, theme->annotation_size, x, y, anchor, 0.0,
                   theme->annotation);
}

static void rounded_rectangle(cairo_t *cr, double x, double y, double w, double h, double r)
{
    r = fmin(r, 0.5 * fmin(w, h));
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - r, y + r, r, -0.25 * FULL_TURN, 0.0);
    cairo_arc(cr, x + w - r, y + h - r, r, 0.0, 0.25 * FULL_TURN);
    cairo_arc(cr, x + r, y + h - r, r, 0.25 * FULL_TURN, 0.5 * FULL_TURN);
    cairo_arc(cr, x + r, y + r, r, 0.5 * FULL_TURN, 0.75 * FULL_TURN);
    cairo_close_path(cr);
}

static void draw_chip(const plot_panel *panel, plot_text *text, const plot_element *e,
                      cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    double px, py;
    if (!map_point(panel, e->at_x, e->at_y, &px, &py))
        return;

    plot_size s = plot_text_size(text, e->label, theme->chip_label_size);
    double w = s.width + 2.0 * theme->chip_pad;
    double h = s.height + theme->chip_pad;
    rounded_rectangle(cr, px - 0.5 * w, py - 0.5 * h, w, h, theme->chip_radius);
    plot_set_color(cr, e->fill, 1.0);
    cairo_fill(cr);
    plot_text_show(text, cr, e->label, theme->chip_label_size, px, py, PLOT_ANCHOR_CENTER, 0.0,
                   plot_contrast_text_color(e->fill));
}

/* ---- layers ---- */

static bool in_layer(element_kind kind, int layer)
{
    switch (layer) {
    case 0:
        return kind == ELEMENT_HEATMAP;
    case 1:
        return kind == ELEMENT_BAND;
    case 2:
        return kind == ELEMENT_BARS;
    case 3:
        return kind == ELEMENT_LINE || kind == ELEMENT_STEP;
    case 4:
        return kind == ELEMENT_POINTS;
    case 5:
        return kind == ELEMENT_VLINE || kind == ELEMENT_HLINE;
    default:
        return kind == ELEMENT_CHIP || kind == ELEMENT_TEXT;
    }
}

int plot_series_draw(const plot_panel *panel, plot_text *text, cairo_t *cr,
                     double device_ppi, dl_error *err)
{
    const plot_theme *theme = panel->figure->theme;
    const plot_rect *a = &panel->area;

    cairo_save(cr);
    cairo_rectangle(cr, a->x, a->y, a->width, a->height);
    cairo_clip(cr);
    for (int layer = 0; layer <= 5; layer++) {
        for (size_t i = 0; i < panel->element_count; i++) {
            const plot_element *e = &panel->elements[i];
            if (!in_layer(e->kind, layer))
                continue;
            cairo_save(cr);
            switch (e->kind) {
            case ELEMENT_HEATMAP:
                if (plot_heatmap_draw(panel, e, cr, device_ppi, err) != 0) {
                    cairo_restore(cr);
                    cairo_restore(cr);
                    return -1;
                }
                break;
            case ELEMENT_BAND:
                draw_band(panel, e, cr);
                break;
            case ELEMENT_BARS:
                draw_bars(panel, e, cr);
                break;
            case ELEMENT_LINE:
            case ELEMENT_STEP:
                draw_line(panel, e, cr, e->kind == ELEMENT_STEP);
                break;
            case ELEMENT_POINTS:
                draw_points(panel, e, cr);
                break;
            default:
                draw_marker_line(panel, text, e, cr);
                break;
            }
            cairo_restore(cr);
        }
    }
    cairo_restore(cr);

    /* chips and text: placed by the caller, not clipped */
    for (size_t i = 0; i < panel->element_count; i++) {
        const plot_element *e = &panel->elements[i];
        if (e->kind == ELEMENT_CHIP)
            draw_chip(panel, text, e, cr);
        else if (e->kind == ELEMENT_TEXT) {
            double px, py;
            if (map_point(panel, e->at_x, e->at_y, &px, &py))
                plot_text_show(text, cr, e->label, theme->annotation_size, px, py, e->anchor, 0.0,
                               theme->text);
        }
    }
    return 0;
}
