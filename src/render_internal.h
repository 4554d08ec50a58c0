/* render_internal.h - pieces of the render module shared by render.c,
 * report_html.c, report_pdf.c and manifest.c: an in-memory byte buffer,
 * atomic file writes and the list of drawn figures. Not part of the
 * public interface; callers use render.h.
 */
#ifndef DRIFTLAB_RENDER_INTERNAL_H
#define DRIFTLAB_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "figures.h"
#include "results.h"

/* ---- bytes in memory ---- */

/* A growing byte buffer. After an allocation failure it stays failed and
 * ignores further appends, so writers check once at the end. */
typedef struct {
    unsigned char *data;
    size_t size, capacity;
    bool failed;
} render_buffer;

void render_buffer_append(render_buffer *buffer, const void *data, size_t size);
void render_buffer_printf(render_buffer *buffer, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void render_buffer_free(render_buffer *buffer);

/* Writes size bytes to a temporary file beside path and renames it to
 * path. Returns 0, or -1 with err naming the file and the system's reason;
 * path is then unchanged and no temporary file is left. */
int render_write_atomically(const char *path, const void *data, size_t size, dl_error *err);

/* ---- the drawn figures ---- */

/* One figure of the report, in the order the report shows them. */
typedef struct {
    dl_figure_id id;
    dl_figure built;   /* figure and caption */
    char *svg;         /* the figure's SVG file text, NUL-terminated */
    size_t svg_size;
} render_entry;

/* A figure the report could not draw, with the reason shown in its
 * place. */
typedef struct {
    dl_figure_id id;
    const char *reason; /* plain text, static */
} render_skipped;

/* Writes report.html's text into out: one self-contained page with every
 * entry's SVG inline (ids made unique per figure), its caption, the key
 * numbers per sweep point, the escaped config text, the versions and the
 * config's SHA-256. Returns 0, or -1 with err set when memory runs out. */
int render_report_html(render_buffer *out, const dl_results *results,
                       const render_entry *entries, size_t n_entries,
                       const render_skipped *skipped, size_t n_skipped, dl_error *err);

/* Writes report.pdf's bytes into out: one page per entry, the figure on
 * top and its caption wrapped below, with the reason of each skipped
 * figure under the caption of the page that follows it in figure order.
 * The creation date follows SOURCE_DATE_EPOCH as output.h describes for
 * figure PDFs. Returns 0, or -1 with err set (font, cairo or an invalid
 * SOURCE_DATE_EPOCH). */
int render_report_pdf(render_buffer *out, const dl_results *results, render_entry *entries,
                      size_t n_entries, const render_skipped *skipped, size_t n_skipped,
                      dl_error *err);

/* Writes manifest.json's text into out for the files at the n paths
 * relative to out_dir (each is read to hash it): path, size in bytes and
 * SHA-256, sorted by path. Returns 0, or -1 with err naming a file that
 * cannot be read. */
int render_manifest(render_buffer *out, const char *out_dir, const char *const *paths,
                    size_t n, const dl_results *results, dl_error *err);

/* Fails with err when name, the part of path (a suffix of it) that
 * manifest.json lists, is not valid UTF-8; the message shows path with
 * the invalid bytes as \xNN. Returns 0 otherwise. */
int render_check_file_name(const char *path, const char *name, dl_error *err);

/* Reads the whole file at path into *data (NUL-terminated, caller frees)
 * and its size into *size. Returns 0, or -1 with err set. */
int render_read_file(const char *path, char **data, size_t *size, dl_error *err);

#endif
