/* manifest.c - manifest.json: every output file of a render with its size
 * and SHA-256, so a reader can check that a folder is complete and
 * unchanged.
 *
 * Format (UTF-8 JSON, two-space indent, one file per line, "\n" line
 * ends, keys in this order):
 *   {
 *     "driftlab_version": "0.1.0",        the driftlab that rendered
 *     "config_sha256": "...",             from the results file
 *     "files": [
 *       {"path": "figures/lock-in.pdf", "size": 12345, "sha256": "..."},
 *       ...
 *     ]
 *   }
 * Paths are relative to the output folder with '/' separators, sorted by
 * strcmp (byte order), and the manifest does not list itself. Nothing in
 * it depends on the time or the output folder's location. JSON text is
 * UTF-8, so a path that is not valid UTF-8 cannot be listed:
 * render_check_file_name rejects such a results file name before a render
 * writes anything, and the writer fails rather than write invalid JSON.
 * Control characters are escaped (\n, \t, or \u00XX).
 *
 * Files are hashed through a read-only mapping, so a large results file
 * is not copied into memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "digest.h"
#include "render_internal.h"

/* Hashes the file at path into hex and its size into *size. */
static int hash_file(const char *path, char hex[65], uint64_t *size, dl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dl_error_set(err, "%s: cannot open to hash it: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int status = dl_error_set(err, "%s: cannot read its size: %s", path, strerror(errno));
        close(fd);
        return status;
    }
    *size = (uint64_t)st.st_size;

    int status = 0;
    if (st.st_size == 0) {
        if (dl_sha256_hex("", 0, hex) != 0)
            status = dl_error_set(err, "%s: computing its SHA-256 failed in OpenSSL", path);
    } else {
        void *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            status = dl_error_set(err, "%s: cannot map it to hash it: %s", path,
                                  strerror(errno));
        } else {
            if (dl_sha256_hex(data, (size_t)st.st_size, hex) != 0)
                status = dl_error_set(err, "%s: computing its SHA-256 failed in OpenSSL",
                                      path);
            munmap(data, (size_t)st.st_size);
        }
    }
    close(fd);
    return status;
}

int render_check_file_name(const char *path, const char *name, dl_error *err)
{
    const char *end = NULL;
    if (g_utf8_validate(name, -1, &end))
        return 0;

    /* the path with every byte from the first invalid one on as \xNN, so
     * the message itself stays valid text */
    size_t valid = (size_t)(end - path);
    char shown[256];
    snprintf(shown, sizeof shown, "%.*s", (int)(valid < 200 ? valid : 200), path);
    for (const unsigned char *p = (const unsigned char *)path + valid;
         *p != '\0' && strlen(shown) + 5 < sizeof shown; p++) {
        size_t used = strlen(shown);
        if (*p >= 0x20 && *p < 0x7f)
            snprintf(shown + used, sizeof shown - used, "%c", *p);
        else
            snprintf(shown + used, sizeof shown - used, "\\x%02X", *p);
    }
    return dl_error_set(err, "%s: the file name is not valid UTF-8, so manifest.json could "
                        "not list it; rename the file to a UTF-8 name and render again",
                        shown);
}

/* Appends text as a JSON string. Returns -1, with nothing appended, when
 * text is not valid UTF-8, which JSON cannot carry. */
static int append_json_string(render_buffer *out, const char *text)
{
    if (!g_utf8_validate(text, -1, NULL))
        return -1;
    render_buffer_append(out, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        const char *escape = *p == '"'    ? "\\\""
                             : *p == '\\' ? "\\\\"
                             : *p == '\n'  ? "\\n"
                             : *p == '\r'  ? "\\r"
                             : *p == '\t'  ? "\\t"
                             : *p == '\b'  ? "\\b"
                             : *p == '\f'  ? "\\f"
                                           : NULL;
        if (escape != NULL)
            render_buffer_append(out, escape, 2);
        else if (*p < 0x20 || *p == 0x7f)
            render_buffer_printf(out, "\\u%04x", *p);
        else
            render_buffer_append(out, p, 1);
    }
    render_buffer_append(out, "\"", 1);
    return 0;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int render_manifest(render_buffer *out, const char *out_dir, const char *const *paths,
                    size_t n, const dl_results *results, dl_error *err)
{
    const char **sorted = malloc((n > 0 ? n : 1) * sizeof *sorted);
    if (sorted == NULL)
        return dl_error_set(err, "out of memory sorting the manifest");
    memcpy(sorted, paths, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_paths);

    int status = 0;
    render_buffer_printf(out, "{\n  \"driftlab_version\": ");
    if (append_json_string(out, DRIFTLAB_VERSION) != 0)
        status = dl_error_set(err, "manifest.json: the driftlab version is not valid UTF-8");
    render_buffer_printf(out, ",\n  \"config_sha256\": ");
    if (status == 0 && append_json_string(out, results->config_sha256) != 0)
        status = dl_error_set(err, "manifest.json: config_sha256 is not valid UTF-8");
    render_buffer_printf(out, ",\n  \"files\": [\n");

    for (size_t i = 0; i < n && status == 0; i++) {
        size_t length = strlen(out_dir) + strlen(sorted[i]) + 2;
        char *path = malloc(length);
        if (path == NULL) {
            status = dl_error_set(err, "out of memory");
            break;
        }
        snprintf(path, length, "%s/%s", out_dir, sorted[i]);
        char hex[65];
        uint64_t size = 0;
        status = hash_file(path, hex, &size, err);
        free(path);
        if (status != 0)
            break;
        render_buffer_printf(out, "    {\"path\": ");
        if (append_json_string(out, sorted[i]) != 0) {
            status = render_check_file_name(sorted[i], sorted[i], err);
            break;
        }
        render_buffer_printf(out, ", \"size\": %llu, \"sha256\": \"%s\"}%s\n",
                             (unsigned long long)size, hex, i + 1 < n ? "," : "");
    }
    free(sorted);
    if (status != 0)
        return -1;

    render_buffer_printf(out, "  ]\n}\n");
    if (out->failed)
        return dl_error_set(err, "out of memory building manifest.json");
    return 0;
}
