/* error.h - one shape for every error message driftlab reports.
 *
 * A function that can fail takes a `dl_error *` as its last argument, fills
 * it with one complete sentence (where, what was wrong, what is allowed) and
 * returns -1. The caller prints the message to stderr or adds context to it.
 * Success returns 0 and leaves the error untouched.
 */
#ifndef DRIFTLAB_ERROR_H
#define DRIFTLAB_ERROR_H

#include <stddef.h>

#define DL_ERROR_MAX 1024

typedef struct {
    char message[DL_ERROR_MAX];
} dl_error;

/* Formats the message into err (when err is not NULL) and returns -1, so a
 * caller can write `return dl_error_set(err, "...", ...);`. */
int dl_error_set(dl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Puts "prefix: " in front of the message already in err. Returns -1. */
int dl_error_prefix(dl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
