/* atomic_file.c - writing files through a temporary file; see
 * atomic_file.h. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dl_write_all(int fd, const void *data, size_t size)
{
    const unsigned char *bytes = data;
    while (size > 0) {
        ssize_t written = write(fd, bytes, size);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        bytes += written;
        size -= (size_t)written;
    }
    return 0;
}

int dl_atomic_file_open(const char *path, char **temporary, dl_error *err)
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

int dl_atomic_file_finish(int fd, char *temporary, const char *path, int status,
                          dl_error *err)
{
    if (close(fd) != 0 && status == 0)
        status = dl_error_set(err, "%s: closing failed: %s", temporary, strerror(errno));
    if (status == 0 && rename(temporary, path) != 0)
        status = dl_error_set(err, "%s: cannot rename the temporary file into place: %s",
                              path, strerror(errno));
    if (status != 0)
        unlink(temporary);
    free(temporary);
    return status;
}

int dl_atomic_file_write(const char *path, const void *data, size_t size,
                         dl_error *err)
{
    char *temporary = NULL;
    int fd = dl_atomic_file_open(path, &temporary, err);
    if (fd < 0)
        return -1;
    int status = 0;
    if (dl_write_all(fd, data, size) != 0)
        status = dl_error_set(err, "%s: writing failed: %s", temporary, strerror(errno));
    return dl_atomic_file_finish(fd, temporary, path, status, err);
}
