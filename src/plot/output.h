/* output.h - writing a figure to an SVG, PDF or PNG file.
 *
 * Sizes: SVG and PDF pages are the figure size in points. A PNG is
 * round(points * ppi / 72) pixels on each side at the caller's ppi, with
 * the drawing scaled by ppi / 72.
 * NOTE: cairo writes no pHYs chunk, so a PNG does not record its
 * resolution, and viewers and word processors that size images by it
 * assume their default (often 72 or 96 ppi).
 *
 * Reproducibility: the same drawing calls give the same bytes in all three
 * formats, on the same cairo, Pango, fontconfig and font files.
 * - PDF: cairo 1.16 stamps /CreationDate with the current time. It is
 *   removed unless the environment variable SOURCE_DATE_EPOCH (seconds
 *   since 1970-01-01 UTC, as reproducible-builds.org specifies it) is set
 *   and not empty. Then that time is the creation date. An empty value
 *   counts as unset, following the reproducible-builds convention. cairo
 *   1.16 writes a date it is
 *   given without the optional "D:" prefix; poppler reads it either way.
 *   Fonts are embedded as subsets by cairo.
 * - SVG: cairo 1.16 names the root group and embedded images after a
 *   process-wide surface counter ("surface12", "image40"), so those ids
 *   depend on how many surfaces the process made before. The writer
 *   renumbers them in order of appearance.
 * - SVG images: cairo 1.16 writes no filter for an image drawn with
 *   CAIRO_FILTER_NEAREST, and browsers and librsvg smooth it. The writer
 *   gives every <image> element style="image-rendering:pixelated" and
 *   image-rendering="optimizeSpeed", so heat-map cells stay sharp, also
 *   where report.html inlines the SVG.
 * - PNG: cairo and libpng write no time chunk.
 *
 * Atomicity: the file is rendered in memory, written to a temporary file
 * in the same folder and renamed over `path` only when all of it was
 * written, so a failed render never leaves a partial file behind.
 * NOTE: the temporary file is not fsync'ed, so a power loss right after
 * the rename may still lose the new contents.
 */
#ifndef DRIFTLAB_PLOT_OUTPUT_H
#define DRIFTLAB_PLOT_OUTPUT_H

#include "error.h"
#include "plot.h"

typedef enum { PLOT_FORMAT_SVG, PLOT_FORMAT_PDF, PLOT_FORMAT_PNG } plot_format;

/* PNG resolutions accepted, pixels per inch: the documented range of the
 * [figures] key png_ppi, so no resolution a results file may hold fails
 * here (render.c asserts that at compile time). */
#define PLOT_PPI_MIN 36.0
#define PLOT_PPI_MAX 600.0

/* Writes the creation date for PDFs, SOURCE_DATE_EPOCH as an ISO 8601
 * UTC date ("1970-01-01T00:00:00Z"), into date, or "" when the variable
 * is unset or empty. size must be at least 21. Returns -1 with err naming
 * the value when it is not a whole number of seconds before the year
 * 10000. Callers that write several files check it once before writing
 * anything. */
int plot_source_date(char *date, size_t size, dl_error *err);

/* Returns the file extension of a format without the dot: "svg". */
const char *plot_format_extension(plot_format format);

/* Parses "svg", "pdf" or "png" (lower case) into *format. Returns -1 with
 * err set for any other name. */
int plot_format_from_name(const char *name, plot_format *format, dl_error *err);

/* Computes the pixel size of a PNG of width x height points at ppi.
 * Returns -1 with err set when ppi is outside [PLOT_PPI_MIN, PLOT_PPI_MAX]
 * or a side would exceed cairo's 32767-pixel limit. */
int plot_png_size(double width, double height, double ppi, int *width_px, int *height_px,
                  dl_error *err);

/* Lays out and draws figure into `path` in `format`. ppi is the PNG
 * resolution in pixels per inch and is ignored for SVG and PDF, whose
 * embedded images use the theme's vector_ppi. Returns 0 on success. On
 * failure returns -1 with err set (layout, font, cairo, an invalid
 * SOURCE_DATE_EPOCH, or a file error with the path and the system's
 * reason), and the file at `path`, if any, is unchanged. */
int plot_figure_write(plot_figure *figure, const char *path, plot_format format, double ppi,
                      dl_error *err);

#endif
