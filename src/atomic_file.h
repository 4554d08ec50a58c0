/* atomic_file.h - writing a file so that readers see the old or the new
 * version, never a half-written one.
 *
 * The data goes to a new temporary file beside the target (same folder,
 * so rename(2) is atomic on one file system), which is renamed over the
 * target only after every byte was written and the file closed. On any
 * failure the temporary file is removed and the target is left as it was.
 * NOTE: there is no fsync, so a power cut right after the rename can still
 * lose the new contents on some file systems.
 */
#ifndef DRIFTLAB_ATOMIC_FILE_H
#define DRIFTLAB_ATOMIC_FILE_H

#include <stddef.h>

#include "error.h"

/* Opens a new temporary file beside path, named PATH.PID.N.tmp and created
 * with O_EXCL so that a name left by another process is skipped. On
 * success returns the descriptor and stores the malloc'ed name in
 * *temporary; returns -1 with err set otherwise. */
int dl_atomic_file_open(const char *path, char **temporary, dl_error *err);

/* Closes fd and renames temporary to path; when status is already -1, or
 * either step fails, removes temporary instead. Frees temporary. Returns 0
 * or -1 (err set by this call or by the caller that passed -1). */
int dl_atomic_file_finish(int fd, char *temporary, const char *path, int status,
                          dl_error *err);

/* Writes size bytes of data to fd, retrying after interrupts. Returns 0 or
 * -1 with errno set. */
int dl_write_all(int fd, const void *data, size_t size);

/* Writes data[size] to path through a temporary file. Returns 0, or -1
 * with err naming the file and the failed step. */
int dl_atomic_file_write(const char *path, const void *data, size_t size,
                         dl_error *err);

#endif
