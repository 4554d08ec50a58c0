/* output_folder.c - creating and locking the output folder; see
 * output_folder.h. */
#include "output_folder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int dl_output_folder_create(const char *dir, dl_error *err)
{
    char *path = strdup(dir);
    if (path == NULL)
        return dl_error_set(err, "out of memory");
    size_t length = strlen(path);
    for (size_t i = 1; i <= length; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            dl_error_set(err, "%s: cannot create folder: %s", path, strerror(errno));
            free(path);
            return -1;
        }
        path[i] = saved;
    }
    free(path);

    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return dl_error_set(err, "%s: exists and is not a folder", dir);
    return 0;
}

int dl_output_folder_lock(const char *dir, dl_error *err)
{
    if (dl_output_folder_create(dir, err) != 0)
        return -1;

    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dl_error_set(err, "%s: cannot open folder: %s", dir, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        close(fd);
        if (saved == EWOULDBLOCK)
            return dl_error_set(err, "%s: another driftlab process is writing to this "
                                "folder; wait for it to finish or choose another folder "
                                "with -o", dir);
        return dl_error_set(err, "%s: cannot lock folder: %s", dir, strerror(saved));
    }
    return fd;
}

void dl_output_folder_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
