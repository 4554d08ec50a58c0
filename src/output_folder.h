/* output_folder.h - the folder a run or render writes into.
 *
 * A folder is prepared once per command. It is created with its parents
 * when it is missing and locked with flock(2) for as long as the command
 * runs. So a second driftlab process that targets the same folder stops at
 * once instead of truncating files the first one is writing. The lock is on the
 * folder itself, so no lock file is left behind; the kernel releases it
 * when the process ends, also after a crash.
 */
#ifndef DRIFTLAB_OUTPUT_FOLDER_H
#define DRIFTLAB_OUTPUT_FOLDER_H

#include "error.h"

/* Creates dir and its parents as mkdir -p does. Returns 0, or -1 with err
 * set when a folder cannot be created or dir exists as something else. */
int dl_output_folder_create(const char *dir, dl_error *err);

/* Creates dir and its parents as mkdir -p does, then takes an exclusive
 * lock on it. Returns the file descriptor that holds the lock (>= 0), or
 * -1 with err set when dir cannot be created, is not a folder, or is
 * locked by another process. */
int dl_output_folder_lock(const char *dir, dl_error *err);

/* Releases the lock taken by dl_output_folder_lock; fd may be -1. */
void dl_output_folder_unlock(int fd);

#endif
