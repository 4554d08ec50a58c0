/* render_files.c - the file work of dl_render, declared in
 * render_internal.h. It writes files through temporary files, places the
 * results file in OUT and keeps the list of files written. It also removes
 * stale figures and old reports.
 *
 * The results file placed in OUT must be the file loaded, although its
 * path is read twice. So render.c opens a descriptor (render_source)
 * before loading. A copy reads that descriptor, and a link must end up
 * with the descriptor's inode.
 */
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "log.h"
#include "output.h"
#include "render_internal.h"

#define COPY_CHUNK (1u << 20)

/* ---- reading files and paths ---- */

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

char *render_join_path(const char *dir, const char *name)
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

const char *render_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* ---- placing the results file ---- */

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

int render_source_check(const render_source *source, const char *path, dl_error *err)
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
    int fd = dl_atomic_file_open(to, &temporary, err);
    if (fd < 0)
        return -1;
    unsigned char *chunk = malloc(COPY_CHUNK);
    int status = chunk != NULL ? 0 : dl_error_set(err, "out of memory copying %s", from);
    for (off_t offset = 0; status == 0;) {
        ssize_t got = read_at(source->fd, chunk, COPY_CHUNK, offset);
        if (got < 0)
            status = dl_error_set(err, "%s: reading failed: %s", from, strerror(errno));
        else if (got > 0 && dl_write_all(fd, chunk, (size_t)got) != 0)
            status = dl_error_set(err, "%s: writing failed: %s", temporary, strerror(errno));
        if (got <= 0)
            break;
        offset += got;
    }
    free(chunk);
    return dl_atomic_file_finish(fd, temporary, to, status, err);
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

int render_place_results(const char *results_path, const render_source *source,
                         const dl_results *results, const char *out_dir, char **placed,
                         dl_error *err)
{
    *placed = NULL;
    char *target = render_join_path(out_dir, render_base_name(results_path));
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

/* ---- the list of files written ---- */

int render_path_list_add(render_path_list *list, const char *path, dl_error *err)
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

void render_path_list_free(render_path_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->path[i]);
    free(list->path);
}

/* True when list contains path. */
static bool path_list_has(const render_path_list *list, const char *path)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->path[i], path) == 0)
            return true;
    return false;
}

/* ---- removing stale figures and old reports ---- */

int render_remove_stale_figures(const char *out_dir, const render_path_list *written,
                                dl_error *err)
{
    static const plot_format formats[3] = {PLOT_FORMAT_SVG, PLOT_FORMAT_PDF, PLOT_FORMAT_PNG};
    char relative[256];
    for (int id = 0; id < DL_FIGURE_COUNT; id++) {
        for (int f = 0; f < 3; f++) {
            snprintf(relative, sizeof relative, "figures/%s.%s",
                     dl_figure_name((dl_figure_id)id), plot_format_extension(formats[f]));
            if (path_list_has(written, relative))
                continue;
            char *path = render_join_path(out_dir, relative);
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

/* The files that state that a folder is complete, in the order they are
 * removed: the manifest first, so that no state of the removal claims
 * more than the folder holds. */
static const char *const report_names[3] = {"manifest.json", "report.html", "report.pdf"};

int dl_render_remove_reports(const char *out_dir, dl_error *err)
{
    for (size_t i = 0; i < sizeof report_names / sizeof report_names[0]; i++) {
        char *path = render_join_path(out_dir, report_names[i]);
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
