/* render.c - dl_render: load a results file, draw every figure into
 * OUT/figures, then write report.html, report.pdf and manifest.json; see
 * render.h.
 *
 * Order of work: the results file is placed in OUT first (linked or
 * copied), then each figure is built and written in each format, then the
 * two reports, and the manifest last, because it hashes every other file.
 * Figures that need a kept run's attention rows are left out, with the
 * reason in the report, when the file keeps none (keep_attention = 0).
 */
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "output_folder.h"
#include "render_internal.h"
#include "theme.h"

#define COPY_CHUNK (1u << 20)

/* ---- the buffer ---- */

void render_buffer_append(render_buffer *buffer, const void *data, size_t size)
{
    if (buffer->failed || size == 0)
        return;
    if (buffer->size + size + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity == 0 ? 65536 : buffer->capacity;
        while (capacity < buffer->size + size + 1)
            capacity *= 2;
        unsigned char *grown = realloc(buffer->data, capacity);
        if (grown == NULL) {
            buffer->failed = true;
            return;
        }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, data, size);
    buffer->size += size;
    buffer->data[buffer->size] = '\0'; /* text stays a C string */
}

void render_buffer_printf(render_buffer *buffer, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int needed = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (needed < 0) {
        buffer->failed = true;
        return;
    }
    char *text = malloc((size_t)needed + 1);
    if (text == NULL) {
        buffer->failed = true;
        return;
    }
    va_start(args, fmt);
    vsnprintf(text, (size_t)needed + 1, fmt, args);
    va_end(args);
    render_buffer_append(buffer, text, (size_t)needed);
    free(text);
}

void render_buffer_free(render_buffer *buffer)
{
    free(buffer->data);
    *buffer = (render_buffer){NULL, 0, 0, false};
}

/* ---- files ---- */

static int write_all(int fd, const unsigned char *data, size_t size)
{
    while (size > 0) {
        ssize_t written = write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += written;
        size -= (size_t)written;
    }
    return 0;
}

/* Opens a new temporary file beside path; *temporary receives its
 * malloc'ed name. Returns the descriptor, or -1 with err set. */
static int open_temporary(const char *path, char **temporary, dl_error *err)
{
    size_t size = strlen(path) + 48;
    *temporary = malloc(size);
    if (*temporary == NULL) {
        dl_error_set(err, "%s: out of memory naming the temporary file", path);
        return -1;
    }
    /* O_EXCL: a name left by another process is skipped, never reused */
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(*temporary, size, "%s.%ld.%d.tmp", path, (long)getpid(), attempt);
        fd = open(*temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        dl_error_set(err, "%s: cannot create a temporary file beside it: %s", path,
                     strerror(errno));
        free(*temporary);
        *temporary = NULL;
    }
    return fd;
}

/* Closes fd and renames temporary to path, or removes temporary when
 * status is already -1 or either step fails. Frees temporary. */
static int finish_temporary(int fd, char *temporary, const char *path, int status,
                            dl_error *err)
{
    if (close(fd) != 0 && status == 0)
        status = dl_error_set(err, "%s: closing failed: %s", temporary, strerror(errno));
    if (status == 0 && rename(temporary, path) != 0)
        status = dl_error_set(err, "%s: cannot rename the temporary file into place: %s", path,
                              strerror(errno));
    if (status != 0)
        unlink(temporary);
    free(temporary);
    return status;
}

int render_write_atomically(const char *path, const void *data, size_t size, dl_error *err)
{
    char *temporary = NULL;
    int fd = open_temporary(path, &temporary, err);
    if (fd < 0)
        return -1;
    int status = 0;
    if (write_all(fd, data, size) != 0)
        status = dl_error_set(err, "%s: writing failed: %s", temporary, strerror(errno));
    return finish_temporary(fd, temporary, path, status, err);
}

int render_read_file(const char *path, char **data, size_t *size, dl_error *err)
{
    *data = NULL;
    *size = 0;
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return dl_error_set(err, "%s: cannot open: %s", path, strerror(errno));

    render_buffer buffer = {NULL, 0, 0, false};
    unsigned char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0)
        render_buffer_append(&buffer, chunk, got);
    int failed_read = ferror(file);
    fclose(file);
    if (failed_read) {
        render_buffer_free(&buffer);
        return dl_error_set(err, "%s: reading failed", path);
    }
    if (buffer.failed) {
        render_buffer_free(&buffer);
        return dl_error_set(err, "%s: out of memory reading the file", path);
    }
    if (buffer.data == NULL)
        render_buffer_append(&buffer, "", 0);
    *size = buffer.size;
    *data = buffer.data != NULL ? (char *)buffer.data : calloc(1, 1);
    if (*data == NULL)
        return dl_error_set(err, "%s: out of memory reading the file", path);
    return 0;
}

static char *join_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    if (path != NULL)
        snprintf(path, size, "%s/%s", dir, name);
    return path;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* True when the files at a and b hold the same bytes. */
static bool same_contents(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa != NULL && fb != NULL;
    static unsigned char chunk_a[65536], chunk_b[65536];
    while (same) {
        size_t na = fread(chunk_a, 1, sizeof chunk_a, fa);
        size_t nb = fread(chunk_b, 1, sizeof chunk_b, fb);
        if (na != nb || memcmp(chunk_a, chunk_b, na) != 0)
            same = false;
        if (na == 0 || nb == 0)
            break;
    }
    same = same && !ferror(fa) && !ferror(fb);
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return same;
}

static int copy_file(const char *from, const char *to, dl_error *err)
{
    FILE *source = fopen(from, "rb");
    if (source == NULL)
        return dl_error_set(err, "%s: cannot open: %s", from, strerror(errno));
    char *temporary = NULL;
    int fd = open_temporary(to, &temporary, err);
    if (fd < 0) {
        fclose(source);
        return -1;
    }
    unsigned char *chunk = malloc(COPY_CHUNK);
    int status = chunk != NULL ? 0 : dl_error_set(err, "out of memory copying %s", from);
    size_t got;
    while (status == 0 && (got = fread(chunk, 1, COPY_CHUNK, source)) > 0)
        if (write_all(fd, chunk, got) != 0)
            status = dl_error_set(err, "%s: writing failed: %s", temporary, strerror(errno));
    if (status == 0 && ferror(source))
        status = dl_error_set(err, "%s: reading failed", from);
    free(chunk);
    fclose(source);
    return finish_temporary(fd, temporary, to, status, err);
}

/* Makes out_dir/NAME, with NAME the results file's own name, the results
 * file. Nothing is done when it already is that file or has the same
 * bytes. Otherwise it becomes a hard link when possible, else a copy. */
static int place_results(const char *results_path, const char *out_dir, dl_error *err)
{
    char *target = join_path(out_dir, base_name(results_path));
    if (target == NULL)
        return dl_error_set(err, "out of memory");

    struct stat source, existing;
    int status = 0;
    if (stat(results_path, &source) != 0) {
        status = dl_error_set(err, "%s: cannot read: %s", results_path, strerror(errno));
    } else if (stat(target, &existing) == 0) {
        bool same = (source.st_dev == existing.st_dev && source.st_ino == existing.st_ino) ||
                    (source.st_size == existing.st_size && same_contents(results_path, target));
        if (!same)
            status = dl_error_set(err, "%s: exists and is not a copy of %s; remove it or "
                                  "render into another folder", target, results_path);
    } else if (link(results_path, target) != 0) {
        dl_log_verbose("cannot link %s to %s (%s); copying it", results_path, target,
                       strerror(errno));
        status = copy_file(results_path, target, err);
    }
    free(target);
    return status;
}

/* ---- figures ---- */

/* The relative paths of the files written, for the manifest. */
typedef struct {
    char **path;
    size_t count, capacity;
} path_list;

static int path_list_add(path_list *list, const char *path, dl_error *err)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity == 0 ? 32 : 2 * list->capacity;
        char **grown = realloc(list->path, capacity * sizeof *grown);
        if (grown == NULL)
            return dl_error_set(err, "out of memory listing the output files");
        list->path = grown;
        list->capacity = capacity;
    }
    list->path[list->count] = strdup(path);
    if (list->path[list->count] == NULL)
        return dl_error_set(err, "out of memory listing the output files");
    list->count++;
    return 0;
}

static void path_list_free(path_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->path[i]);
    free(list->path);
}

/* Writes entry's figure as OUT/figures/NAME.EXT in each format and keeps
 * its SVG text for the HTML report (drawn into a temporary file and
 * removed when SVG is not among the formats). */
static int write_figure(const char *out_dir, render_entry *entry, unsigned formats, double ppi,
                        path_list *written, dl_error *err)
{
    static const struct {
        unsigned bit;
        plot_format format;
    } order[3] = {
        {DL_FORMAT_SVG, PLOT_FORMAT_SVG},
        {DL_FORMAT_PDF, PLOT_FORMAT_PDF},
        {DL_FORMAT_PNG, PLOT_FORMAT_PNG},
    };
    const char *name = dl_figure_name(entry->id);
    char relative[256];

    for (int i = 0; i < 3; i++) {
        if ((formats & order[i].bit) == 0)
            continue;
        snprintf(relative, sizeof relative, "figures/%s.%s", name,
                 plot_format_extension(order[i].format));
        char *path = join_path(out_dir, relative);
        if (path == NULL)
            return dl_error_set(err, "out of memory");
        int status = plot_figure_write(entry->built.figure, path, order[i].format, ppi, err);
        if (status == 0)
            status = path_list_add(written, relative, err);
        if (status == 0 && order[i].format == PLOT_FORMAT_SVG)
            status = render_read_file(path, &entry->svg, &entry->svg_size, err);
        free(path);
        if (status != 0)
            return -1;
    }
    if (entry->svg != NULL)
        return 0;

    /* the HTML report needs the SVG even when it is not an output */
    snprintf(relative, sizeof relative, "figures/.%s.report.svg", name);
    char *path = join_path(out_dir, relative);
    if (path == NULL)
        return dl_error_set(err, "out of memory");
    int status = plot_figure_write(entry->built.figure, path, PLOT_FORMAT_SVG, ppi, err);
    if (status == 0) {
        status = render_read_file(path, &entry->svg, &entry->svg_size, err);
        unlink(path);
    }
    free(path);
    return status;
}

/* ---- the whole render ---- */

typedef struct {
    dl_results results;
    bool loaded;
    dl_results_run run;
    bool has_run;
    render_entry entries[DL_FIGURE_COUNT];
    size_t n_entries;
    render_skipped skipped[DL_FIGURE_COUNT];
    size_t n_skipped;
    path_list written;
} render_state;

static void state_free(render_state *state)
{
    for (size_t i = 0; i < state->n_entries; i++) {
        dl_figure_free(&state->entries[i].built);
        free(state->entries[i].svg);
    }
    if (state->has_run)
        dl_results_run_free(&state->run);
    if (state->loaded)
        dl_results_free(&state->results);
    path_list_free(&state->written);
}

/* Builds and writes every figure; single-run figures are skipped with a
 * reason when no kept run can be chosen. */
static int draw_figures(render_state *state, const char *out_dir, unsigned formats,
                        dl_error *err)
{
    const dl_results *results = &state->results;
    dl_figure_run_choice choice = {0, 0};
    dl_error run_error;
    if (dl_figures_choose_run(results, &choice, &run_error) == 0) {
        if (dl_results_load_run(results, choice.point, choice.kept_index, &state->run, err) != 0)
            return -1;
        state->has_run = true;
    } else if (results->n_kept > 0) {
        dl_error_set(err, "%s", run_error.message);
        return -1;
    }

    for (int id = 0; id < DL_FIGURE_COUNT; id++) {
        if (dl_figure_needs_run((dl_figure_id)id) && !state->has_run) {
            state->skipped[state->n_skipped++] = (render_skipped){
                (dl_figure_id)id, "Not drawn: no seed keeps its attention rows "
                                  "(keep_attention = 0)."};
            dl_log_info("%s: %s not drawn: keep_attention = 0 stores no attention rows",
                        results->path, dl_figure_name((dl_figure_id)id));
            continue;
        }
        render_entry *entry = &state->entries[state->n_entries];
        memset(entry, 0, sizeof *entry);
        entry->id = (dl_figure_id)id;
        if (dl_figure_build(entry->id, results, &choice, state->has_run ? &state->run : NULL,
                            plot_theme_slide(), &entry->built, err) != 0)
            return dl_error_prefix(err, "%s: figure %s", results->path,
                                   dl_figure_name(entry->id));
        state->n_entries++;
        if (write_figure(out_dir, entry, formats, results->figures.png_ppi, &state->written,
                         err) != 0)
            return -1;
        dl_log_verbose("drew %s", dl_figure_name(entry->id));
    }
    return 0;
}

/* Writes one report file from its buffer and lists it. */
static int write_report(const char *out_dir, const char *name, render_buffer *buffer,
                        path_list *written, dl_error *err)
{
    char *path = join_path(out_dir, name);
    if (path == NULL)
        return dl_error_set(err, "out of memory");
    int status = 0;
    if (buffer->failed)
        status = dl_error_set(err, "%s: out of memory building the file", path);
    else
        status = render_write_atomically(path, buffer->data, buffer->size, err);
    free(path);
    if (status == 0 && written != NULL)
        status = path_list_add(written, name, err);
    return status;
}

int dl_render(const char *results_path, const char *out_dir, unsigned formats, dl_error *err)
{
    render_state state;
    memset(&state, 0, sizeof state);
    if (dl_results_load(results_path, &state.results, err) != 0)
        return -1;
    state.loaded = true;
    if (formats == 0)
        formats = state.results.figures.formats;
    if (formats == 0)
        formats = DL_FORMAT_SVG | DL_FORMAT_PDF | DL_FORMAT_PNG;

    char *figures_dir = join_path(out_dir, "figures");
    int status = figures_dir != NULL ? 0 : dl_error_set(err, "out of memory");
    if (status == 0)
        status = dl_output_folder_create(figures_dir, err);
    free(figures_dir);
    if (status == 0)
        status = place_results(results_path, out_dir, err);
    if (status == 0)
        status = path_list_add(&state.written, base_name(results_path), err);
    if (status == 0)
        status = draw_figures(&state, out_dir, formats, err);

    /* the reports */
    render_buffer html = {NULL, 0, 0, false}, pdf = {NULL, 0, 0, false};
    if (status == 0)
        status = render_report_html(&html, &state.results, state.entries, state.n_entries,
                                    state.skipped, state.n_skipped, err);
    if (status == 0)
        status = write_report(out_dir, "report.html", &html, &state.written, err);
    if (status == 0)
        status = render_report_pdf(&pdf, &state.results, state.entries, state.n_entries, err);
    if (status == 0)
        status = write_report(out_dir, "report.pdf", &pdf, &state.written, err);
    render_buffer_free(&html);
    render_buffer_free(&pdf);

    /* the manifest hashes everything above */
    render_buffer manifest = {NULL, 0, 0, false};
    if (status == 0)
        status = render_manifest(&manifest, out_dir, (const char *const *)state.written.path,
                                 state.written.count, &state.results, err);
    if (status == 0)
        status = write_report(out_dir, "manifest.json", &manifest, NULL, err);
    render_buffer_free(&manifest);

    state_free(&state);
    return status;
}
