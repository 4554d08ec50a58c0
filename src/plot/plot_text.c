/* plot_text.c - all text of the plotting layer, measured and drawn with
 * Pango (pangocairo) so that markup, kerning, Greek letters and
 * sub/superscripts come out the same in SVG, PDF and PNG.
 *
 * Metrics are device independent: hint metrics and hinting are off and
 * glyph positions are not rounded, so a layout measured once is valid on
 * every surface and at every PNG resolution. Font sizes are absolute, in
 * points, and the context resolution is 72 so that one Pango point is one
 * cairo unit.
 */
#include "plot_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct plot_text {
    PangoFontMap *font_map;
    PangoContext *context;
    PangoFontDescription *font;
};

void plot_text_close(plot_text *text)
{
    if (text == NULL)
        return;
    if (text->font != NULL)
        pango_font_description_free(text->font);
    if (text->context != NULL)
        g_object_unref(text->context);
    if (text->font_map != NULL)
        g_object_unref(text->font_map);
    free(text);
}

/* Fails when fontconfig substitutes another family for the theme's. */
static int check_family(plot_text *text, const char *family, dl_error *err)
{
    PangoFont *font = pango_font_map_load_font(text->font_map, text->context, text->font);
    if (font == NULL)
        return dl_error_set(err, "font family '%s' could not be loaded: "
                            "apt-get install fonts-dejavu-core", family);

    PangoFontDescription *loaded = pango_font_describe(font);
    const char *loaded_family = pango_font_description_get_family(loaded);
    int status = 0;
    if (loaded_family == NULL || strcasecmp(loaded_family, family) != 0)
        status = dl_error_set(err, "font family '%s' is not installed (fontconfig chose '%s'): "
                              "apt-get install fonts-dejavu-core",
                              family, loaded_family != NULL ? loaded_family : "nothing");
    pango_font_description_free(loaded);
    g_object_unref(font);
    return status;
}

plot_text *plot_text_open(const plot_theme *theme, dl_error *err)
{
    plot_text *text = calloc(1, sizeof *text);
    if (text == NULL) {
        dl_error_set(err, "out of memory opening the text context");
        return NULL;
    }

    text->font_map = pango_cairo_font_map_new();
    text->context = pango_font_map_create_context(text->font_map);

    /* device-independent metrics; grey antialiasing for PNG */
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(text->context, options);
    cairo_font_options_destroy(options);
    pango_context_set_round_glyph_positions(text->context, FALSE);
    pango_cairo_context_set_resolution(text->context, 72.0);

    text->font = pango_font_description_new();
    pango_font_description_set_family(text->font, theme->font_family);
    pango_font_description_set_absolute_size(text->font, 10.0 * PANGO_SCALE);

    if (check_family(text, theme->font_family, err) != 0) {
        plot_text_close(text);
        return NULL;
    }
    return text;
}

static PangoLayout *make_layout(plot_text *text, const char *markup, double size)
{
    PangoLayout *layout = pango_layout_new(text->context);
    pango_font_description_set_absolute_size(text->font, size * PANGO_SCALE);
    pango_layout_set_font_description(layout, text->font);
    pango_layout_set_markup(layout, markup, -1);
    return layout;
}

plot_size plot_text_size(plot_text *text, const char *markup, double size)
{
    PangoLayout *layout = make_layout(text, markup, size);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    g_object_unref(layout);
    return (plot_size){(double)logical.width / PANGO_SCALE, (double)logical.height / PANGO_SCALE};
}

/* Offset of the box's top-left corner from the anchor point. */
static void anchor_offset(plot_anchor anchor, double width, double height, double *dx, double *dy)
{
    switch (anchor) {
    case PLOT_ANCHOR_TOP_LEFT:
    case PLOT_ANCHOR_LEFT:
    case PLOT_ANCHOR_BOTTOM_LEFT:
        *dx = 0.0;
        break;
    case PLOT_ANCHOR_TOP:
    case PLOT_ANCHOR_CENTER:
    case PLOT_ANCHOR_BOTTOM:
        *dx = -0.5 * width;
        break;
    default:
        *dx = -width;
        break;
    }
    switch (anchor) {
    case PLOT_ANCHOR_TOP_LEFT:
    case PLOT_ANCHOR_TOP:
    case PLOT_ANCHOR_TOP_RIGHT:
        *dy = 0.0;
        break;
    case PLOT_ANCHOR_LEFT:
    case PLOT_ANCHOR_CENTER:
    case PLOT_ANCHOR_RIGHT:
        *dy = -0.5 * height;
        break;
    default:
        *dy = -height;
        break;
    }
}

void plot_text_show(plot_text *text, cairo_t *cr, const char *markup, double size, double x,
                    double y, plot_anchor anchor, double angle, plot_rgb color)
{
    PangoLayout *layout = make_layout(text, markup, size);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    double width = (double)logical.width / PANGO_SCALE;
    double height = (double)logical.height / PANGO_SCALE;
    double dx, dy;
    anchor_offset(anchor, width, height, &dx, &dy);

    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (angle != 0.0)
        cairo_rotate(cr, angle);
    cairo_move_to(cr, dx - (double)logical.x / PANGO_SCALE, dy - (double)logical.y / PANGO_SCALE);
    plot_set_color(cr, color, 1.0);
    pango_cairo_show_layout(cr, layout);
    cairo_restore(cr);
    g_object_unref(layout);
}

int plot_markup_check(const char *markup, const char *field_name, dl_error *err)
{
    GError *error = NULL;
    if (!pango_parse_markup(markup, -1, 0, NULL, NULL, NULL, &error)) {
        dl_error_set(err, "%s '%s' is not valid Pango markup: %s (escape '<' and '&' as "
                     "&lt; and &amp;)", field_name, markup, error != NULL ? error->message : "parse failed");
        if (error != NULL)
            g_error_free(error);
        return -1;
    }
    return 0;
}

char *plot_markup_plain_text(const char *markup)
{
    char *parsed = NULL;
    if (!pango_parse_markup(markup, -1, 0, NULL, &parsed, NULL, NULL))
        return NULL;
    char *copy = strdup(parsed);
    g_free(parsed);
    return copy;
}

int plot_text_measure(const plot_theme *theme, const char *markup, double size, double *width,
                      double *height, dl_error *err)
{
    if (plot_markup_check(markup, "text", err) != 0)
        return -1;
    plot_text *text = plot_text_open(theme, err);
    if (text == NULL)
        return -1;
    plot_size extent = plot_text_size(text, markup, size);
    plot_text_close(text);
    *width = extent.width;
    *height = extent.height;
    return 0;
}
