/* render.c - dl_render: load a results file, draw every figure into
 * OUT/figures, then write report.html, report.pdf and manifest.json; see
 * render.h.
 *
 * Order of work:
 *   1. the checks that need nothing written: SOURCE_DATE_EPOCH, the file
 *      name, and loading the file;
 *   2. the results file is placed in OUT (linked or copied) and checked
 *      against the file loaded;
 *   3. the old manifest and reports are removed;
 *   4. each figure is built and written in each format, and figure files
 *      of earlier renders that this one did not draw are removed;
 *   5. the two reports, and the manifest last, because it hashes every
 *      other file.
 * Figures that need a kept run's attention rows are left out, with the
 * reason in the report, when the file keeps none (keep_attention = 0).
 *
 * The file loaded and the file placed must be one file, although the
 * path is read twice. So a descriptor opened before loading pins the
 * loaded file, and its status is compared after loading. A copy reads
 * the descriptor, and a link must end up with the descriptor's inode.
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

_Static_assert(PLOT_PPI_MIN <= DL_RESULTS_PNG_PPI_MIN && DL_RESULTS_PNG_PPI_MAX <= PLOT_PPI_MAX,
               "every png_ppi dl_results_load accepts must be drawable");

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

/* Returns dir/name, malloc'ed, without doubling a '/' that ends dir. */
static char *join_path(const char *dir, const char *name)
{
    size_t length = strlen(dir);
    while (length > 1 && dir[length - 1] == '/')
        length--;
    const char *separator = length > 0 && dir[length - 1] == '/' ? "" : "/";
    size_t size = length + strlen(name) + 2;
    char *path = malloc(size);
    if (path != NULL)
        snprintf(path, size, "%.*s%s%s", (int)length, dir, separator, name);
    return path;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* ---- the results file ---- */

/* The results file as it was loaded: a descriptor opened just before
 * loading, and the file's status at that time. Later steps compare with
 * it, because the path may name another file by then. */
typedef struct {
    int fd;
    struct stat st;
} render_source;

static bool same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* True when a and b describe the same file with the same size and
 * modification time. */
static bool same_version(const struct stat *a, const struct stat *b)
{
    return same_inode(a, b) && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Fails unless the descriptor still has the status it had before loading
 * and path still names that file. So the file loaded is the descriptor's,
 * and no other process wrote to it meanwhile. */
static int source_check(const render_source *source, const char *path, dl_error *err)
{
    struct stat now, named;
    if (fstat(source->fd, &now) != 0 || stat(path, &named) != 0 ||
        !same_version(&now, &source->st) || !same_version(&named, &source->st))
        return dl_error_set(err, "%s: the file was replaced or written to while driftlab read "
                            "it; render again once nothing else writes it", path);
    return 0;
}

/* Reads up to size bytes at offset from fd, retrying short reads. Returns
 * the count read (less than size only at the end of the file), or -1. */
static ssize_t read_at(int fd, unsigned char *data, size_t size, off_t offset)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, data + got, size - got, offset + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* True when the file at path contains the same bytes as the source. */
static bool same_contents(const render_source *source, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char *a = malloc(COPY_CHUNK), *b = malloc(COPY_CHUNK);
    bool same = fd >= 0 && a != NULL && b != NULL;
    for (off_t offset = 0; same;) {
        ssize_t na = read_at(source->fd, a, COPY_CHUNK, offset);
        ssize_t nb = read_at(fd, b, COPY_CHUNK, offset);
        same = na >= 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
        if (na <= 0)
            break;
        offset += na;
    }
    free(a);
    free(b);
    if (fd >= 0)
        close(fd);
    return same;
}

/* Copies the source's bytes (from its descriptor, not its path) to a
 * temporary file renamed to `to`. */
static int copy_source(const render_source *source, const char *from, const char *to,
                       dl_error *err)
{
    char *temporary = NULL;
    int fd = open_temporary(to, &temporary, err);
    if (fd < 0)
        return -1;
    unsigned char *chunk = malloc(COPY_CHUNK);
    int status = chunk != NULL ? 0 : dl_error_set(err, "out of memory copying %s", from);
    for (off_t offset = 0; status == 0;) {
        ssize_t got = read_at(source->fd, chunk, COPY_CHUNK, offset);
        if (got < 0)
            status = dl_error_set(err, "%s: reading failed: %s", from, strerror(errno));
        else if (got > 0 && write_all(fd, chunk, (size_t)got) != 0)
            status = dl_error_set(err, "%s: writing failed: %s", temporary, strerror(errno));
        if (got <= 0)
            break;
        offset += got;
    }
    free(chunk);
    return finish_temporary(fd, temporary, to, status, err);
}

/* Fails unless the file at target is the loaded results file: the same
 * inode when it was linked, else the same size with the source unchanged
 * since loading, and in every case the same config_sha256. */
static int placed_check(const char *target, const render_source *source, bool linked,
                        const dl_results *results, dl_error *err)
{
    struct stat placed, now;
    if (stat(target, &placed) != 0)
        return dl_error_set(err, "%s: cannot read after placing it: %s", target,
                            strerror(errno));
    bool same = same_inode(&placed, &source->st) ||
                (!linked && placed.st_size == source->st.st_size &&
                 fstat(source->fd, &now) == 0 && same_version(&now, &source->st));
    if (!same)
        return dl_error_set(err, "%s is not the file that was loaded from %s, which was "
                            "replaced or written to meanwhile; render again once nothing "
                            "else writes it", target, results->path);

    dl_results placed_results;
    if (dl_results_load_settings(target, &placed_results, err) != 0)
        return -1;
    int status = 0;
    if (strcmp(placed_results.config_sha256, results->config_sha256) != 0)
        status = dl_error_set(err, "%s has config_sha256 %s, but the file loaded from %s has "
                              "%s; render again once nothing else writes it", target,
                              placed_results.config_sha256, results->path,
                              results->config_sha256);
    dl_results_free(&placed_results);
    return status;
}

/* Makes out_dir/NAME, with NAME the results file's own name, the loaded
 * results file. Nothing is placed when it already is that file or has the
 * same bytes. Otherwise it becomes a hard link when possible, else a copy
 * of the source's bytes. Either way the file is checked against the
 * loaded one (placed_check). When this call created the file, *placed
 * receives its malloc'ed path, which a render that fails later removes
 * again. Otherwise *placed is NULL. A file this call created and that
 * fails the check is removed at once. */
static int place_results(const char *results_path, const render_source *source,
                         const dl_results *results, const char *out_dir, char **placed,
                         dl_error *err)
{
    *placed = NULL;
    char *target = join_path(out_dir, base_name(results_path));
    if (target == NULL)
        return dl_error_set(err, "out of memory");

    struct stat existing;
    bool linked = false, created = false;
    int status = 0;
    if (stat(target, &existing) == 0) {
        bool same = same_inode(&source->st, &existing) ||
                    (S_ISREG(existing.st_mode) && existing.st_size == source->st.st_size &&
                     same_contents(source, target));
        if (!same)
            status = dl_error_set(err, "%s: exists and is not a copy of %s; remove it or "
                                  "render into another folder", target, results_path);
        linked = same_inode(&source->st, &existing);
    } else if (linkat(AT_FDCWD, results_path, AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0) {
        /* AT_SYMLINK_FOLLOW: a results path that is a symbolic link gets
         * its file linked, not the link itself */
        created = true;
        linked = true;
    } else {
        dl_log_verbose("cannot link %s to %s (%s); copying it", results_path, target,
                       strerror(errno));
        status = copy_source(source, results_path, target, err);
        created = status == 0;
    }

    if (status == 0)
        status = placed_check(target, source, linked, results, err);
    if (status != 0 && created)
        unlink(target);
    if (status == 0 && created)
        *placed = target;
    else
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

/* True when list contains path. */
static bool path_list_has(const path_list *list, const char *path)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->path[i], path) == 0)
            return true;
    return false;
}

/* Removes every OUT/figures/NAME.EXT of a driftlab figure name and format
 * that this render did not write, so the folder shows only what the
 * report describes. Examples are the PNGs of an earlier render with more
 * formats, or the single-run figures of a run that kept attention rows.
 * Files of other names are left alone. */
static int remove_stale_figures(const char *out_dir, const path_list *written, dl_error *err)
{
    static const plot_format formats[3] = {PLOT_FORMAT_SVG, PLOT_FORMAT_PDF, PLOT_FORMAT_PNG};
    char relative[256];
    for (int id = 0; id < DL_FIGURE_COUNT; id++) {
        for (int f = 0; f < 3; f++) {
            snprintf(relative, sizeof relative, "figures/%s.%s",
                     dl_figure_name((dl_figure_id)id), plot_format_extension(formats[f]));
            if (path_list_has(written, relative))
                continue;
            char *path = join_path(out_dir, relative);
            if (path == NULL)
                return dl_error_set(err, "out of memory");
            int status = 0;
            if (unlink(path) == 0)
                dl_log_verbose("removed %s, which this render did not draw", path);
            else if (errno != ENOENT)
                status = dl_error_set(err, "%s: cannot remove this figure of an earlier "
                                      "render: %s", path, strerror(errno));
            free(path);
            if (status != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- the whole render ---- */

/* The files that state that a folder is complete, in the order they are
 * removed: the manifest first, so that no state of the removal claims
 * more than the folder holds. */
static const char *const report_names[3] = {"manifest.json", "report.html", "report.pdf"};

int dl_render_remove_reports(const char *out_dir, dl_error *err)
{
    for (size_t i = 0; i < sizeof report_names / sizeof report_names[0]; i++) {
        char *path = join_path(out_dir, report_names[i]);
        if (path == NULL)
            return dl_error_set(err, "out of memory");
        int status = 0;
        if (unlink(path) != 0 && errno != ENOENT)
            status = dl_error_set(err, "%s: cannot remove the report of the earlier results: "
                                  "%s", path, strerror(errno));
        free(path);
        if (status != 0)
            return -1;
    }
    return 0;
}

int dl_render_check_environment(dl_error *err)
{
    char date[32];
    return plot_source_date(date, sizeof date, err);
}

typedef struct {
    render_source source;
    dl_results results;
    bool loaded;
    char *placed;      /* the results file this render linked or copied, or NULL */
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
    if (state->source.fd >= 0)
        close(state->source.fd);
    free(state->placed);
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

/* Opens and loads the results file, and checks that what was loaded is
 * the file the descriptor holds. */
static int load_source(render_state *state, const char *results_path, dl_error *err)
{
    state->source.fd = open(results_path, O_RDONLY | O_CLOEXEC);
    int open_errno = errno;
    if (state->source.fd >= 0 && fstat(state->source.fd, &state->source.st) != 0)
        return dl_error_set(err, "%s: cannot read its status: %s", results_path,
                            strerror(errno));
    if (dl_results_load(results_path, &state->results, err) != 0)
        return -1;
    state->loaded = true;
    if (state->source.fd < 0)
        return dl_error_set(err, "%s: cannot open: %s", results_path, strerror(open_errno));
    return source_check(&state->source, results_path, err);
}

/* Writes report.html, report.pdf and, last, manifest.json, which hashes
 * every other file. */
static int write_reports(render_state *state, const char *out_dir, dl_error *err)
{
    render_buffer html = {NULL, 0, 0, false}, pdf = {NULL, 0, 0, false};
    render_buffer manifest = {NULL, 0, 0, false};
    int status = render_report_html(&html, &state->results, state->entries, state->n_entries,
                                    state->skipped, state->n_skipped, err);
    if (status == 0)
        status = write_report(out_dir, "report.html", &html, &state->written, err);
    if (status == 0)
        status = render_report_pdf(&pdf, &state->results, state->entries, state->n_entries,
                                   state->skipped, state->n_skipped, err);
    if (status == 0)
        status = write_report(out_dir, "report.pdf", &pdf, &state->written, err);
    if (status == 0)
        status = render_manifest(&manifest, out_dir, (const char *const *)state->written.path,
                                 state->written.count, &state->results, err);
    if (status == 0)
        status = write_report(out_dir, "manifest.json", &manifest, NULL, err);
    render_buffer_free(&html);
    render_buffer_free(&pdf);
    render_buffer_free(&manifest);
    return status;
}

int dl_render(const char *results_path, const char *out_dir, unsigned formats, dl_error *err)
{
    /* what can be checked before anything is written */
    if (dl_render_check_environment(err) != 0 ||
        render_check_file_name(results_path, base_name(results_path), err) != 0)
        return -1;

    render_state state;
    memset(&state, 0, sizeof state);
    state.source.fd = -1;
    int status = load_source(&state, results_path, err);
    if (status == 0 && formats == 0)
        formats = state.results.figures.formats;
    if (formats == 0)
        formats = DL_FORMAT_SVG | DL_FORMAT_PDF | DL_FORMAT_PNG;

    /* The results file first, because a different file of its name stops
     * the render before anything changes. Then the old reports go, so a
     * render that fails midway leaves no report or manifest that claims
     * the folder is complete. */
    if (status == 0)
        status = dl_output_folder_create(out_dir, err);
    if (status == 0)
        status = place_results(results_path, &state.source, &state.results, out_dir,
                               &state.placed, err);
    if (status == 0)
        status = path_list_add(&state.written, base_name(results_path), err);
    if (status == 0)
        status = dl_render_remove_reports(out_dir, err);

    char *figures_dir = status == 0 ? join_path(out_dir, "figures") : NULL;
    if (status == 0 && figures_dir == NULL)
        status = dl_error_set(err, "out of memory");
    if (status == 0)
        status = dl_output_folder_create(figures_dir, err);
    free(figures_dir);
    if (status == 0)
        status = draw_figures(&state, out_dir, formats, err);
    if (status == 0)
        status = remove_stale_figures(out_dir, &state.written, err);
    if (status == 0)
        status = write_reports(&state, out_dir, err);

    /* a results file this render placed leaves with the failed render */
    if (status != 0 && state.placed != NULL && unlink(state.placed) == 0)
        dl_log_verbose("removed %s again, because the render failed", state.placed);
    state_free(&state);
    return status;
}
