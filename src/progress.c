/* progress.c - the progress line; see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dl_progress_start(dl_progress *progress, size_t total, size_t skipped,
                       bool enabled)
{
    progress->enabled = enabled;
    progress->total = total;
    progress->skipped = skipped;
    progress->start_time = now_seconds();
    progress->last_print = 0.0;
    progress->printed = false;
}

static void format_duration(char *out, size_t size, double seconds)
{
    if (seconds < 90)
        snprintf(out, size, "%.0f s", seconds);
    else if (seconds < 5400)
        snprintf(out, size, "%.0f min", seconds / 60);
    else
        snprintf(out, size, "%.1f h", seconds / 3600);
}

void dl_progress_update(dl_progress *progress, size_t done)
{
    if (!progress->enabled)
        return;
    double now = now_seconds();
    if (done < progress->total && now - progress->last_print < 0.1)
        return;
    progress->last_print = now;

    double elapsed = now - progress->start_time;
    size_t run_now = done - progress->skipped;
    double rate = elapsed > 0 ? (double)run_now / elapsed : 0.0;
    char left[32] = "unknown";
    if (rate > 0)
        format_duration(left, sizeof left, (double)(progress->total - done) / rate);

    fprintf(stderr, "\rdriftlab: runs %zu/%zu, %.1f runs/s, about %s left   ",
            done, progress->total, rate, left);
    fflush(stderr);
    progress->printed = true;
}

void dl_progress_finish(dl_progress *progress)
{
    if (progress->printed)
        fputc('\n', stderr);
    progress->printed = false;
}
