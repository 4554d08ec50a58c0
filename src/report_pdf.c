/* report_pdf.c - report.pdf: every figure with its caption, one per page.
 *
 * Each page is as wide as its figure and as tall as the figure plus the
 * caption set below it, wrapped to the figure's width less two outer
 * margins on each side, in the theme's font at caption_size. The note of
 * a figure that was not drawn follows the caption of the next page, as
 * report.html places it. Captions are
 * set with Pango as the plotting layer sets figure text: a font map of
 * their own, hinting off, unrounded glyph positions and 72 units per
 * inch. So the page is the same on every machine with the same fonts.
 *
 * Metadata and reproducibility: the creator is "driftlab" and the title
 * names the config. cairo 1.16 stamps /CreationDate with the current
 * time. The date is removed unless SOURCE_DATE_EPOCH (seconds since
 * 1970-01-01 UTC) is set and not empty, and then that time is the
 * creation date, as for figure PDFs (plot_source_date).
 */
#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "render_internal.h"
#include "theme.h"

static cairo_status_t write_to_buffer(void *closure, const unsigned char *data,
                                      unsigned int length)
{
    render_buffer *buffer = closure;
    render_buffer_append(buffer, data, length);
    return buffer->failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

/* A Pango context with device-independent metrics, as plot_text.c makes. */
static PangoContext *caption_context(PangoFontMap **font_map)
{
    *font_map = pango_cairo_font_map_new();
    PangoContext *context = pango_font_map_create_context(*font_map);
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(context, options);
    cairo_font_options_destroy(options);
    pango_context_set_round_glyph_positions(context, FALSE);
    pango_cairo_context_set_resolution(context, 72.0);
    return context;
}

/* Returns the markup of the notes that page `page` of n_entries shows
 * for the figures that were not drawn, "" when it shows none. A skipped
 * figure is noted on the page of the first drawn figure after it, as
 * report.html places it, or else on the last page. The caller frees the
 * text with g_free. */
static char *skipped_notes(const render_entry *entries, size_t n_entries, size_t page,
                           const render_skipped *skipped, size_t n_skipped)
{
    GString *notes = g_string_new(NULL);
    for (size_t s = 0; s < n_skipped; s++) {
        bool after_previous = page == 0 || skipped[s].id > entries[page - 1].id;
        bool before_this = skipped[s].id < entries[page].id || page + 1 == n_entries;
        if (!after_previous || !before_this)
            continue;
        char *reason = g_markup_escape_text(skipped[s].reason, -1);
        g_string_append_printf(notes, "\n\n<b>%s</b>: %s", dl_figure_name(skipped[s].id),
                               reason);
        g_free(reason);
    }
    return g_string_free(notes, FALSE);
}

/* Lays out "Figure N. CAPTION" and the notes (markup) wrapped to width
 * points. Returns the layout (caller unrefs) or NULL when memory runs
 * out. */
static PangoLayout *caption_layout(PangoContext *context, const plot_theme *theme,
                                   size_t number, const char *caption, const char *notes,
                                   double width)
{
    char *escaped = g_markup_escape_text(caption, -1);
    char *markup = g_strdup_printf("<b>Figure %zu.</b> %s%s", number, escaped, notes);
    g_free(escaped);
    if (markup == NULL)
        return NULL;

    PangoLayout *layout = pango_layout_new(context);
    PangoFontDescription *font = pango_font_description_new();
    pango_font_description_set_family(font, theme->font_family);
    pango_font_description_set_absolute_size(font, theme->caption_size * PANGO_SCALE);
    pango_layout_set_font_description(layout, font);
    pango_font_description_free(font);
    pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD);
    pango_layout_set_markup(layout, markup, -1);
    g_free(markup);
    return layout;
}

int render_report_pdf(render_buffer *out, const dl_results *results, render_entry *entries,
                      size_t n_entries, const render_skipped *skipped, size_t n_skipped,
                      dl_error *err)
{
    const plot_theme *theme = plot_theme_slide();
    char date[32];
    if (plot_source_date(date, sizeof date, err) != 0)
        return -1;

    /* fail early, as figures do, when the theme's font is substituted */
    double width, height;
    if (plot_text_measure(theme, "Figure", theme->caption_size, &width, &height, err) != 0)
        return -1;
    if (n_entries == 0)
        return dl_error_set(err, "report.pdf: no figure was drawn, so the report would be empty");

    cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(
        write_to_buffer, out, plot_figure_width(entries[0].built.figure),
        plot_figure_height(entries[0].built.figure));
    char *title = g_strdup_printf("driftlab report: %s", results->config_name);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
    g_free(title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "driftlab");
    /* NULL removes the creation time cairo stamped on the surface */
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE,
                                   date[0] != '\0' ? date : NULL);
    cairo_t *cr = cairo_create(surface);

    PangoFontMap *font_map = NULL;
    PangoContext *context = caption_context(&font_map);
    int status = 0;
    for (size_t i = 0; i < n_entries && status == 0; i++) {
        plot_figure *figure = entries[i].built.figure;
        double page_width = plot_figure_width(figure);
        double margin = 2.0 * theme->outer_margin;

        /* the caption's height fixes the page's */
        char *notes = skipped_notes(entries, n_entries, i, skipped, n_skipped);
        PangoLayout *layout = caption_layout(context, theme, i + 1, entries[i].built.caption,
                                             notes, page_width - 2.0 * margin);
        g_free(notes);
        if (layout == NULL) {
            status = dl_error_set(err, "out of memory setting a caption of report.pdf");
            break;
        }
        PangoRectangle logical;
        pango_layout_get_extents(layout, NULL, &logical);
        double caption_height = (double)logical.height / PANGO_SCALE;
        double page_height = plot_figure_height(figure) + theme->outer_margin + caption_height +
                             margin;
        cairo_pdf_surface_set_size(surface, page_width, page_height);

        /* white page, the figure, then the caption */
        cairo_save(cr);
        cairo_set_source_rgb(cr, theme->background.r, theme->background.g, theme->background.b);
        cairo_paint(cr);
        cairo_restore(cr);
        if (plot_figure_draw(figure, cr, theme->vector_ppi, err) != 0) {
            g_object_unref(layout);
            status = dl_error_prefix(err, "report.pdf, page %zu", i + 1);
            break;
        }
        cairo_save(cr);
        cairo_set_source_rgb(cr, theme->text.r, theme->text.g, theme->text.b);
        cairo_move_to(cr, margin - (double)logical.x / PANGO_SCALE,
                      plot_figure_height(figure) + theme->outer_margin -
                          (double)logical.y / PANGO_SCALE);
        pango_cairo_show_layout(cr, layout);
        cairo_restore(cr);
        g_object_unref(layout);
        cairo_show_page(cr);
    }
    g_object_unref(context);
    g_object_unref(font_map);

    cairo_status_t cairo_result = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (cairo_result == CAIRO_STATUS_SUCCESS)
        cairo_result = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (status != 0)
        return -1;
    if (out->failed)
        return dl_error_set(err, "out of memory writing report.pdf");
    if (cairo_result != CAIRO_STATUS_SUCCESS)
        return dl_error_set(err, "writing report.pdf failed: %s",
                            cairo_status_to_string(cairo_result));
    return 0;
}
