/* plot_legend.c - legends and colour bars.
 *
 * A legend lists, in the order they were added, every series, band and bar
 * series that has a label: a sample of its mark (a line, a dot, a filled
 * square) then the label. It sits in a corner inside the data area or
 * right of it.
 *
 * A colour bar is a vertical strip right of the data area that shows the
 * colour map from vmin at the bottom to vmax at the top. It is drawn as a
 * 1 x 256 image, so every entry of the published table appears. Its ticks
 * lie inside [vmin, vmax], and its title reads bottom to top.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define HALF_PI 1.57079632679489661923

/* One legend row: the element and, for bars, the series. */
typedef struct {
    const plot_element *element;
    size_t series;
    const char *label;
} legend_entry;

/* Calls visit for each legend entry; returns the number of entries. */
static size_t for_each_entry(const plot_panel *panel,
                             void (*visit)(const legend_entry *entry, void *context),
                             void *context)
{
    size_t count = 0;
    for (size_t i = 0; i < panel->element_count; i++) {
        const plot_element *e = &panel->elements[i];
        switch (e->kind) {
        case ELEMENT_LINE:
        case ELEMENT_STEP:
        case ELEMENT_POINTS:
        case ELEMENT_BAND:
            if (e->label != NULL) {
                legend_entry entry = {e, 0, e->label};
                visit(&entry, context);
                count++;
            }
            break;
        case ELEMENT_BARS:
            for (size_t s = 0; s < e->series; s++) {
                if (e->series_labels[s] != NULL) {
                    legend_entry entry = {e, s, e->series_labels[s]};
                    visit(&entry, context);
                    count++;
                }
            }
            break;
        default:
            break;
        }
    }
    return count;
}

typedef struct {
    plot_text *text;
    const plot_theme *theme;
    double width, height;
    size_t rows;
} legend_size;

static double row_gap(const plot_theme *theme)
{
    return 0.3 * theme->legend_size;
}

static void measure_entry(const legend_entry *entry, void *context)
{
    legend_size *size = context;
    plot_size s = plot_text_size(size->text, entry->label, size->theme->legend_size);
    double width = size->theme->legend_sample_length + size->theme->label_pad * 1.5 + s.width;
    size->width = fmax(size->width, width);
    size->height += s.height + (size->rows > 0 ? row_gap(size->theme) : 0.0);
    size->rows++;
}

void plot_legend_measure(plot_panel *panel, plot_text *text)
{
    const plot_theme *theme = panel->figure->theme;
    panel->legend_width = 0.0;
    panel->legend_height = 0.0;
    if (panel->legend == PLOT_LEGEND_NONE)
        return;

    legend_size size = {text, theme, 0.0, 0.0, 0};
    if (for_each_entry(panel, measure_entry, &size) == 0)
        return;
    panel->legend_width = size.width + 2.0 * theme->legend_pad;
    panel->legend_height = size.height + 2.0 * theme->legend_pad;
}

/* ---- drawing the legend ---- */

typedef struct {
    plot_text *text;
    cairo_t *cr;
    const plot_theme *theme;
    double x, y; /* top-left of the next row */
} legend_cursor;

static void draw_sample(const legend_entry *entry, const plot_theme *theme, cairo_t *cr,
                        double x, double middle)
{
    const plot_element *e = entry->element;
    double length = theme->legend_sample_length;
    double square = 0.7 * theme->legend_size;

    switch (e->kind) {
    case ELEMENT_BAND:
        plot_set_color(cr, e->fill, theme->band_alpha);
        cairo_rectangle(cr, x, middle - 0.5 * square, length, square);
        cairo_fill(cr);
        break;
    case ELEMENT_BARS:
        plot_set_color(cr, e->colors[entry->series], 1.0);
        cairo_rectangle(cr, x + 0.5 * (length - square), middle - 0.5 * square, square, square);
        cairo_fill(cr);
        break;
    case ELEMENT_POINTS:
        plot_set_color(cr, e->style.color, 1.0);
        cairo_arc(cr, x + 0.5 * length, middle, 0.5 * theme->marker_size, 0.0, 4.0 * HALF_PI);
        cairo_fill(cr);
        break;
    default:
        plot_set_color(cr, e->style.color, 1.0);
        plot_set_dash(cr, e->style.dash, plot_style_width(e->style, theme), theme);
        cairo_move_to(cr, x, middle);
        cairo_line_to(cr, x + length, middle);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0.0);
        break;
    }
}

static void draw_entry(const legend_entry *entry, void *context)
{
    legend_cursor *cursor = context;
    const plot_theme *theme = cursor->theme;
    plot_size s = plot_text_size(cursor->text, entry->label, theme->legend_size);
    double middle = cursor->y + 0.5 * s.height;

    draw_sample(entry, theme, cursor->cr, cursor->x, middle);
    plot_text_show(cursor->text, cursor->cr, entry->label, theme->legend_size,
                   cursor->x + theme->legend_sample_length + 1.5 * theme->label_pad, cursor->y,
                   PLOT_ANCHOR_TOP_LEFT, 0.0, theme->text);
    cursor->y += s.height + row_gap(theme);
}

void plot_legend_draw(const plot_panel *panel, plot_text *text, cairo_t *cr)
{
    const plot_theme *theme = panel->figure->theme;
    if (panel->legend == PLOT_LEGEND_NONE || panel->legend_width <= 0.0)
        return;

    /* the frame's top-left corner */
    const plot_rect *a = &panel->area;
    double inset = theme->legend_pad;
    double w = panel->legend_width, h = panel->legend_height;
    double x = a->x + a->width - inset - w, y = a->y + inset;
    switch (panel->legend) {
    case PLOT_LEGEND_TOP_LEFT:
        x = a->x + inset;
        break;
    case PLOT_LEGEND_BOTTOM_RIGHT:
        y = a->y + a->height - inset - h;
        break;
    case PLOT_LEGEND_BOTTOM_LEFT:
        x = a->x + inset;
        y = a->y + a->height - inset - h;
        break;
    case PLOT_LEGEND_OUTSIDE_RIGHT:
        x = a->x + a->width + panel->colorbar_extent + theme->legend_pad;
        y = a->y;
        break;
    default:
        break;
    }

    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    plot_set_color(cr, theme->legend_background, theme->legend_alpha);
    cairo_fill_preserve(cr);
    cairo_set_line_width(cr, 0.6 * theme->axis_width);
    plot_set_color(cr, theme->legend_frame, 1.0);
    cairo_stroke(cr);

    legend_cursor cursor = {text, cr, theme, x + theme->legend_pad, y + theme->legend_pad};
    for_each_entry(panel, draw_entry, &cursor);
    cairo_restore(cr);
}

/* ---- colour bars ---- */

double plot_colorbar_measure(plot_panel *panel, plot_text *text, double last_label_half)
{
    const plot_theme *theme = panel->figure->theme;
    panel->colorbar_offset = fmax(theme->colorbar_gap, last_label_half + theme->label_pad);
    double widest = 0.0;
    for (size_t i = 0; i < panel->colorbar_ticks.count; i++)
        widest = fmax(widest, plot_text_size(text, panel->colorbar_ticks.label[i],
                                             theme->tick_label_size).width);

    double extent = panel->colorbar_offset + theme->colorbar_width + theme->tick_length +
                    theme->label_pad + widest;
    char *title = plot_title_markup(panel->colorbar_title, NULL, panel->colorbar_ticks.exponent);
    if (title != NULL) {
        extent += theme->label_pad + plot_text_size(text, title, theme->axis_title_size).height;
        free(title);
    }
    panel->colorbar_extent = extent;
    return extent;
}

int plot_colorbar_draw(const plot_panel *panel, plot_text *text, cairo_t *cr,
                       double device_ppi, dl_error *err)
{
    (void)device_ppi;
    const plot_theme *theme = panel->figure->theme;
    const plot_rect *a = &panel->area;
    double left = a->x + a->width + panel->colorbar_offset;
    double width = theme->colorbar_width;

    /* the strip: one pixel per table entry, top row = vmax */
    cairo_surface_t *strip = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, PLOT_COLORMAP_ENTRIES);
    if (cairo_surface_status(strip) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(strip);
        return dl_error_set(err, "could not create the colour bar image");
    }
    cairo_surface_flush(strip);
    unsigned char *pixels = cairo_image_surface_get_data(strip);
    int stride = cairo_image_surface_get_stride(strip);
    for (int row = 0; row < PLOT_COLORMAP_ENTRIES; row++) {
        double t = (double)(PLOT_COLORMAP_ENTRIES - 1 - row) / (PLOT_COLORMAP_ENTRIES - 1);
        plot_rgb c = plot_colormap_lookup(panel->colorbar_map, t);
        uint32_t pixel = 0xff000000u | (uint32_t)lround(c.r * 255.0) << 16 |
                         (uint32_t)lround(c.g * 255.0) << 8 | (uint32_t)lround(c.b * 255.0);
        *(uint32_t *)(void *)(pixels + (size_t)row * (size_t)stride) = pixel;
    }
    cairo_surface_mark_dirty(strip);

    cairo_save(cr);
    cairo_translate(cr, left, a->y);
    cairo_scale(cr, width, a->height / PLOT_COLORMAP_ENTRIES);
    cairo_set_source_surface(cr, strip, 0.0, 0.0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0.0, 0.0, 1.0, PLOT_COLORMAP_ENTRIES);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(strip);

    /* frame, ticks on the right, labels, title */
    cairo_save(cr);
    plot_set_color(cr, theme->axis, 1.0);
    cairo_set_line_width(cr, 0.6 * theme->axis_width);
    cairo_rectangle(cr, left, a->y, width, a->height);
    cairo_stroke(cr);
    cairo_set_line_width(cr, theme->tick_width);
    const plot_ticks *ticks = &panel->colorbar_ticks;
    double span = ticks->hi - ticks->lo;
    double right = left + width;
    double widest = 0.0;
    for (size_t i = 0; i < ticks->count; i++) {
        double py = a->y + a->height - (ticks->value[i] - ticks->lo) / span * a->height;
        cairo_move_to(cr, right, py);
        cairo_line_to(cr, right + theme->tick_length, py);
        cairo_stroke(cr);
        plot_text_show(text, cr, ticks->label[i], theme->tick_label_size,
                       right + theme->tick_length + theme->label_pad, py, PLOT_ANCHOR_LEFT, 0.0,
                       theme->text);
        widest = fmax(widest, plot_text_size(text, ticks->label[i], theme->tick_label_size).width);
    }
    char *title = plot_title_markup(panel->colorbar_title, NULL, ticks->exponent);
    bool title_missing = panel->colorbar_title != NULL && title == NULL;
    if (title != NULL) {
        plot_text_show(text, cr, title, theme->axis_title_size,
                       right + theme->tick_length + 2.0 * theme->label_pad + widest,
                       a->y + 0.5 * a->height, PLOT_ANCHOR_TOP, -HALF_PI, theme->text);
        free(title);
    }
    cairo_restore(cr);
    if (title_missing)
        return dl_error_set(err, "out of memory drawing a colour bar title");
    return 0;
}
