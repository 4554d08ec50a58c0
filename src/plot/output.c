/* output.c - SVG, PDF and PNG files from a figure; see output.h. */
#include "output.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"

/* cairo's limit on image surface sides, pixels */
#define CAIRO_IMAGE_MAX 32767

/* ---- formats ---- */

const char *plot_format_extension(plot_format format)
{
    switch (format) {
    case PLOT_FORMAT_SVG:
        return "svg";
    case PLOT_FORMAT_PDF:
        return "pdf";
    case PLOT_FORMAT_PNG:
        return "png";
    }
    return "unknown";
}

int plot_format_from_name(const char *name, plot_format *format, dl_error *err)
{
    static const plot_format all[3] = {PLOT_FORMAT_SVG, PLOT_FORMAT_PDF, PLOT_FORMAT_PNG};
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, plot_format_extension(all[i])) == 0) {
            *format = all[i];
            return 0;
        }
    }
    return dl_error_set(err, "figure format '%s' is invalid: must be svg, pdf or png", name);
}

int plot_png_size(double width, double height, double ppi, int *width_px, int *height_px,
                  dl_error *err)
{
    if (!(ppi >= PLOT_PPI_MIN && ppi <= PLOT_PPI_MAX))
        return dl_error_set(err, "PNG resolution %g ppi is invalid: must be from %g to %g "
                            "pixels per inch", ppi, PLOT_PPI_MIN, PLOT_PPI_MAX);
    double w = round(width * ppi / 72.0), h = round(height * ppi / 72.0);
    if (!(w >= 1.0 && w <= CAIRO_IMAGE_MAX && h >= 1.0 && h <= CAIRO_IMAGE_MAX))
        return dl_error_set(err, "PNG of %.0f x %.0f pixels is invalid: each side must be from "
                            "1 to %d pixels (lower the resolution)", w, h, CAIRO_IMAGE_MAX);
    *width_px = (int)w;
    *height_px = (int)h;
    return 0;
}

/* ---- an in-memory stream for cairo ---- */

typedef struct {
    unsigned char *data;
    size_t size, capacity;
    bool failed;
} buffer;

static cairo_status_t buffer_write(void *closure, const unsigned char *data, unsigned int length)
{
    buffer *b = closure;
    if (b->failed)
        return CAIRO_STATUS_WRITE_ERROR;
    if (b->size + length > b->capacity) {
        size_t capacity = b->capacity == 0 ? 65536 : b->capacity;
        while (capacity < b->size + length)
            capacity *= 2;
        unsigned char *grown = realloc(b->data, capacity);
        if (grown == NULL) {
            b->failed = true;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->size, data, length);
    b->size += length;
    return CAIRO_STATUS_SUCCESS;
}

/* ---- PDF dates ---- */

int plot_source_date(char *date, size_t size, dl_error *err)
{
    date[0] = '\0';
    const char *text = getenv("SOURCE_DATE_EPOCH");
    if (text == NULL || text[0] == '\0')
        return 0;

    bool digits = true;
    for (const char *p = text; *p != '\0'; p++)
        digits = digits && isdigit((unsigned char)*p);
    errno = 0;
    long long seconds = digits ? strtoll(text, NULL, 10) : -1;
    if (!digits || errno == ERANGE || seconds > 253402300799LL)
        return dl_error_set(err, "SOURCE_DATE_EPOCH='%s' is invalid: must be a whole number of "
                            "seconds since 1970-01-01 UTC, before the year 10000, or empty for "
                            "no date", text);

    time_t when = (time_t)seconds;
    struct tm utc;
    if (gmtime_r(&when, &utc) == NULL)
        return dl_error_set(err, "SOURCE_DATE_EPOCH='%s' could not be converted to a date", text);
    strftime(date, size, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return 0;
}

/* ---- SVG ids ---- */

/* Copies the SVG text in `from` to `to`, renumbering the ids cairo derives
 * from its process-wide surface counter ("surfaceN" or "imageN", as given
 * by prefix) as prefix1, prefix2, ... in order of first appearance. Only
 * ids right after '"' or '#' (an id attribute or a reference) change.
 * Returns -1 when memory runs out. */
static int renumber_ids(const buffer *from, buffer *to, const char *prefix)
{
    const size_t prefix_length = strlen(prefix);
    unsigned long *seen = NULL;
    size_t seen_count = 0, seen_capacity = 0;
    size_t copied = 0, in = 0;
    int status = 0;

    while (in < from->size && status == 0) {
        bool match = in > 0 && (from->data[in - 1] == '"' || from->data[in - 1] == '#') &&
                     in + prefix_length < from->size &&
                     memcmp(from->data + in, prefix, prefix_length) == 0 &&
                     isdigit(from->data[in + prefix_length]);
        if (!match) {
            in++;
            continue;
        }

        /* the number after the prefix, and its place in order of appearance */
        size_t end = in + prefix_length;
        unsigned long number = 0;
        while (end < from->size && isdigit(from->data[end]))
            number = number * 10 + (unsigned long)(from->data[end++] - '0');
        size_t index = 0;
        while (index < seen_count && seen[index] != number)
            index++;
        if (index == seen_count) {
            if (seen_count == seen_capacity) {
                size_t capacity = seen_capacity == 0 ? 16 : 2 * seen_capacity;
                unsigned long *grown = realloc(seen, capacity * sizeof *grown);
                if (grown == NULL) {
                    status = -1;
                    break;
                }
                seen = grown;
                seen_capacity = capacity;
            }
            seen[seen_count++] = number;
        }

        char replacement[64];
        int length = snprintf(replacement, sizeof replacement, "%s%zu", prefix, index + 1);
        if (buffer_write(to, from->data + copied, (unsigned int)(in - copied)) != CAIRO_STATUS_SUCCESS ||
            buffer_write(to, (const unsigned char *)replacement, (unsigned int)length) !=
                CAIRO_STATUS_SUCCESS)
            status = -1;
        copied = in = end;
    }
    if (status == 0 &&
        buffer_write(to, from->data + copied, (unsigned int)(from->size - copied)) !=
            CAIRO_STATUS_SUCCESS)
        status = -1;
    free(seen);
    return status;
}

/* ---- SVG images ---- */

static bool svg_text_write(buffer *to, const unsigned char *data, size_t size)
{
    return size == 0 || buffer_write(to, data, (unsigned int)size) == CAIRO_STATUS_SUCCESS;
}

/* Returns the position of needle in data[from, to), or to when absent. */
static size_t svg_find(const buffer *b, size_t from, size_t to, const char *needle)
{
    size_t length = strlen(needle);
    for (size_t i = from; i + length <= to; i++)
        if (memcmp(b->data + i, needle, length) == 0)
            return i;
    return to;
}

/* Copies the SVG text in `from` to `to` with every <image> element set to
 * render pixelated. cairo 1.16's SVG surface drops CAIRO_FILTER_NEAREST,
 * so browsers and librsvg would otherwise smooth a heat map's cells.
 * style="image-rendering:pixelated" is the CSS form current browsers
 * follow, and image-rendering="optimizeSpeed" the SVG 1.1 attribute that
 * librsvg and older viewers follow. A tag that already sets
 * image-rendering is left alone, and an existing style attribute gets the
 * property prepended, so no attribute is ever written twice. Returns -1
 * when memory runs out. */
static int pixelate_images(const buffer *from, buffer *to)
{
    static const char tag[] = "<image";
    static const char attributes[] =
        " style=\"image-rendering:pixelated\" image-rendering=\"optimizeSpeed\"";
    static const char property[] = "image-rendering:pixelated;";
    const size_t tag_length = sizeof tag - 1;
    size_t copied = 0;

    for (size_t at = svg_find(from, 0, from->size, tag); at < from->size;
         at = svg_find(from, at + tag_length, from->size, tag)) {
        size_t name_end = at + tag_length;
        if (name_end >= from->size || !isspace(from->data[name_end]))
            continue; /* another element whose name starts with "image" */
        size_t tag_end = svg_find(from, name_end, from->size, ">");
        if (svg_find(from, name_end, tag_end, "image-rendering") < tag_end)
            continue;

        size_t style = svg_find(from, name_end, tag_end, " style=\"");
        size_t insert = style < tag_end ? style + strlen(" style=\"") : name_end;
        const char *text = style < tag_end ? property : attributes;
        if (!svg_text_write(to, from->data + copied, insert - copied) ||
            !svg_text_write(to, (const unsigned char *)text, strlen(text)))
            return -1;
        copied = insert;
    }
    return svg_text_write(to, from->data + copied, from->size - copied) ? 0 : -1;
}

/* Renumbers the surface and image ids (renumber_ids) and makes every
 * image render pixelated (pixelate_images), replacing b's contents. */
static int normalise_svg(buffer *b)
{
    buffer first = {NULL, 0, 0, false}, second = {NULL, 0, 0, false};
    buffer third = {NULL, 0, 0, false};
    if (renumber_ids(b, &first, "surface") != 0 || renumber_ids(&first, &second, "image") != 0 ||
        pixelate_images(&second, &third) != 0) {
        free(first.data);
        free(second.data);
        free(third.data);
        return -1;
    }
    free(first.data);
    free(second.data);
    free(b->data);
    *b = third;
    return 0;
}

/* ---- rendering into memory ---- */

static int finish_surface(cairo_surface_t *surface, cairo_t *cr, buffer *b, const char *what,
                          dl_error *err)
{
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (b->failed)
        return dl_error_set(err, "out of memory rendering %s", what);
    if (status != CAIRO_STATUS_SUCCESS)
        return dl_error_set(err, "rendering %s failed: %s", what, cairo_status_to_string(status));
    return 0;
}

static int render_vector(plot_figure *figure, plot_format format, buffer *b, dl_error *err)
{
    double width = plot_figure_width(figure), height = plot_figure_height(figure);
    cairo_surface_t *surface;
    char date[32];

    if (format == PLOT_FORMAT_PDF) {
        if (plot_source_date(date, sizeof date, err) != 0)
            return -1;
        surface = cairo_pdf_surface_create_for_stream(buffer_write, b, width, height);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "driftlab");
        if (plot_figure_title_text(figure)[0] != '\0')
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE,
                                           plot_figure_title_text(figure));
        /* NULL removes the creation time cairo stamped on the surface */
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE,
                                       date[0] != '\0' ? date : NULL);
    } else {
        surface = cairo_svg_surface_create_for_stream(buffer_write, b, width, height);
        cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PT);
    }

    cairo_t *cr = cairo_create(surface);
    if (plot_figure_draw(figure, cr, plot_figure_theme(figure)->vector_ppi, err) != 0) {
        cairo_destroy(cr);
        cairo_surface_destroy(surface);
        return -1;
    }
    if (finish_surface(surface, cr, b, plot_format_extension(format), err) != 0)
        return -1;
    if (format == PLOT_FORMAT_SVG && normalise_svg(b) != 0)
        return dl_error_set(err, "out of memory post-processing the SVG");
    return 0;
}

static int render_png(plot_figure *figure, double ppi, buffer *b, dl_error *err)
{
    int width_px, height_px;
    if (plot_png_size(plot_figure_width(figure), plot_figure_height(figure), ppi, &width_px,
                      &height_px, err) != 0)
        return -1;

    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width_px, height_px);
    cairo_t *cr = cairo_create(surface);
    cairo_scale(cr, ppi / 72.0, ppi / 72.0);
    if (plot_figure_draw(figure, cr, ppi, err) != 0) {
        cairo_destroy(cr);
        cairo_surface_destroy(surface);
        return -1;
    }
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_write_to_png_stream(surface, buffer_write, b);
    cairo_surface_destroy(surface);
    if (b->failed)
        return dl_error_set(err, "out of memory encoding the PNG");
    if (status != CAIRO_STATUS_SUCCESS)
        return dl_error_set(err, "rendering png failed: %s", cairo_status_to_string(status));
    return 0;
}

/* ---- writing the file ---- */

int plot_figure_write(plot_figure *figure, const char *path, plot_format format, double ppi,
                      dl_error *err)
{
    buffer b = {NULL, 0, 0, false};
    int status = format == PLOT_FORMAT_PNG ? render_png(figure, ppi, &b, err)
                                           : render_vector(figure, format, &b, err);
    if (status == 0)
        status = dl_atomic_file_write(path, b.data, b.size, err);
    else
        dl_error_prefix(err, "%s", path);
    free(b.data);
    return status;
}
