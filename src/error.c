/* error.c - formatting of error messages; see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dl_error_set(dl_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;

    va_list args;
    va_start(args, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, args);
    va_end(args);
    return -1;
}

int dl_error_prefix(dl_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return -1;

    char prefix[DL_ERROR_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, args);
    va_end(args);

    /* the prefix and its separator first, then as much of the old message
     * as still fits */
    char joined[DL_ERROR_MAX];
    size_t used = strlen(prefix);
    memcpy(joined, prefix, used);
    if (used + 2 < sizeof joined) {
        joined[used++] = ':';
        joined[used++] = ' ';
    }
    size_t rest = strlen(err->message);
    if (rest > sizeof joined - 1 - used)
        rest = sizeof joined - 1 - used;
    memcpy(joined + used, err->message, rest);
    joined[used + rest] = '\0';
    memcpy(err->message, joined, sizeof joined);
    return -1;
}
