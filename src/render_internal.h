/* render_internal.h - pieces of the render module shared by render.c,
 * render_files.c, report_html.c, report_pdf.c and manifest.c. They are an
 * in-memory byte buffer, atomic file writes, the placing of the results
 * file, the list of files written, the clean-up of an output folder and
 * the list of drawn figures. Not part of the public interface; callers
 * use render.h.
 */
#ifndef DRIFTLAB_RENDER_INTERNAL_H
#define DRIFTLAB_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

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

/* ---- paths and the files of an output folder (render_files.c) ---- */

/* Returns dir/name, malloc'ed, without doubling a '/' that ends dir. */
char *render_join_path(const char *dir, const char *name);

/* Returns the part of path after its last '/'. */
const char *render_base_name(const char *path);

/* The results file as it was loaded: a descriptor opened just before
 * loading, and the file's status at that time. Later steps compare with
 * it, because the path may name another file by then. */
typedef struct {
    int fd;
    struct stat st;
} render_source;

/* Fails unless the descriptor still has the status it had before loading
 * and path still names that file. So the file loaded is the descriptor's,
 * and no other process wrote to it meanwhile. */
int render_source_check(const render_source *source, const char *path, dl_error *err);

/* Makes out_dir/NAME, with NAME the results file's own name, the loaded
 * results file. Nothing is placed when it already is that file or has the
 * same bytes. Otherwise it becomes a hard link when possible, else a copy
 * of the source's bytes. Either way the file is checked against the
 * loaded one: the same inode when linked, else the same size with the
 * source unchanged since loading, and in every case the same
 * config_sha256. When this call created the file, *placed receives its
 * malloc'ed path, which a render that fails later removes again.
 * Otherwise *placed is NULL. A file this call created and that fails the
 * check is removed at once. */
int render_place_results(const char *results_path, const render_source *source,
                         const dl_results *results, const char *out_dir, char **placed,
                         dl_error *err);

/* The relative paths of the files written, for the manifest. */
typedef struct {
    char **path;
    size_t count, capacity;
} render_path_list;

/* Appends a copy of path to list. Returns 0, or -1 with err set when
 * memory runs out. */
int render_path_list_add(render_path_list *list, const char *path, dl_error *err);
void render_path_list_free(render_path_list *list);

/* Removes every OUT/figures/NAME.EXT of a driftlab figure name and format
 * that this render did not write, so the folder shows only what the
 * report describes. Examples are the PNGs of an earlier render with more
 * formats, or the single-run figures of a run that kept attention rows.
 * Files of other names are left alone. */
int render_remove_stale_figures(const char *out_dir, const render_path_list *written,
                                dl_error *err);

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
