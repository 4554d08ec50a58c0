/* log.c - levelled diagnostics on stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static dl_log_level current_level = DL_LOG_NORMAL;

void dl_log_set_level(dl_log_level level)
{
    current_level = level;
}

dl_log_level dl_log_get_level(void)
{
    return current_level;
}

static void emit(const char *tag, const char *fmt, va_list args)
{
    fprintf(stderr, "driftlab: %s", tag);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
}

void dl_log_error(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    emit("error: ", fmt, args);
    va_end(args);
}

void dl_log_info(const char *fmt, ...)
{
    if (current_level < DL_LOG_NORMAL)
        return;
    va_list args;
    va_start(args, fmt);
    emit("", fmt, args);
    va_end(args);
}

void dl_log_verbose(const char *fmt, ...)
{
    if (current_level < DL_LOG_VERBOSE)
        return;
    va_list args;
    va_start(args, fmt);
    emit("", fmt, args);
    va_end(args);
}
