/* progress.h - the progress line of a long sweep on a terminal.
 *
 * Prints "runs DONE/TOTAL, RATE runs/s, about T left" to stderr, rewriting
 * one line at most ten times a second. It prints nothing unless enabled,
 * which the caller decides (stderr is a terminal and -q was not given).
 */
#ifndef DRIFTLAB_PROGRESS_H
#define DRIFTLAB_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool enabled;
    size_t total;
    size_t skipped;      /* runs already done before this start (--resume) */
    double start_time;   /* seconds, monotonic clock */
    double last_print;
    bool printed;
} dl_progress;

void dl_progress_start(dl_progress *progress, size_t total, size_t skipped,
                       bool enabled);

/* Reports that done runs of total are finished (skipped ones included). */
void dl_progress_update(dl_progress *progress, size_t done);

/* Ends the line, if one was printed. */
void dl_progress_finish(dl_progress *progress);

#endif
