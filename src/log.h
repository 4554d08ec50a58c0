/* log.h - levelled diagnostics on stderr.
 *
 * Levels: quiet prints errors only, normal adds progress and short notes,
 * verbose adds the resolved plan and per-stage timings. Messages below the
 * current level are not formatted at all.
 */
#ifndef DRIFTLAB_LOG_H
#define DRIFTLAB_LOG_H

typedef enum {
    DL_LOG_QUIET = 0,
    DL_LOG_NORMAL = 1,
    DL_LOG_VERBOSE = 2
} dl_log_level;

void dl_log_set_level(dl_log_level level);
dl_log_level dl_log_get_level(void);

/* Prints "driftlab: error: MESSAGE" at every level. */
void dl_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "driftlab: MESSAGE" at the normal and verbose levels. */
void dl_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "driftlab: MESSAGE" at the verbose level only. */
void dl_log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
