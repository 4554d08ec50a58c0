/* sweep.h - the sweep engine: every run of a plan, in parallel, into the
 * results file.
 *
 * Runs are computed by OpenMP threads with dynamic scheduling in batches
 * of a few runs per thread. While the threads compute one batch, the
 * thread that called dl_sweep_run writes the previous one to the store in
 * plan order and then joins the computing. So memory stays bounded by two
 * batches, compression overlaps the simulation, and the file receives the
 * same writes in the same order on any thread count. Summaries over seeds
 * are computed from the file at the end.
 */
#ifndef DRIFTLAB_SWEEP_H
#define DRIFTLAB_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"
#include "plan.h"
#include "store.h"

typedef struct {
    int threads;        /* 0: as many as OpenMP offers */
    bool resume;        /* continue PATH.partial, skipping finished runs */
    bool show_progress; /* print the progress line on stderr */
    /* called before results.h5.partial is closed and renamed, to add
     * groups such as /lora; NULL: nothing */
    dl_store_extra_writer extra_writer;
    void *extra_writer_context;
} dl_sweep_options;

/* Estimates of a plan's cost, in bytes. */
typedef struct {
    double memory;  /* peak working memory of the sweep */
    double output;  /* results.h5 before compression */
    size_t batch_runs;
} dl_sweep_estimate;

/* Number of threads a sweep with this request will use. */
int dl_sweep_thread_count(int requested);

/* Fills estimate for plan run on threads threads. */
void dl_sweep_estimate_plan(const dl_plan *plan, int threads,
                            dl_sweep_estimate *estimate);

/* Key numbers of one sweep point, for the summary a run prints. */
typedef struct {
    double final_prompt_attention; /* median over seeds at the last step */
    double half_life;              /* of that median; NaN: never below 0.5 */
    double final_lock_in;          /* mean over seeds at the last step */
} dl_point_key_numbers;

/* Checks the plan's estimates against the config's max_memory_mb and
 * max_output_mb. Returns 0, or -1 with err naming the limit, the estimate
 * and what to change. */
int dl_sweep_check_limits(const dl_plan *plan, int threads, dl_error *err);

/* Runs every run of cfg into results_path (through results_path.partial).
 * When key_numbers is not NULL it receives n_points entries, which the
 * caller frees. Returns 0; or -1 with err set, leaving results_path
 * untouched and the partial file for --resume when runs had finished.
 * Plans above the config's memory or output limits are rejected before
 * any run. */
int dl_sweep_run(const dl_config *cfg, const char *results_path,
                 const dl_sweep_options *options,
                 dl_point_key_numbers **key_numbers, dl_error *err);

/* Set from a signal handler: the sweep stops after the current batch. */
void dl_sweep_request_stop(void);

/* True once dl_sweep_request_stop was called, for other sweeps (the LoRA
 * sweep) that stop on the same interrupt. */
int dl_sweep_stop_requested(void);

#endif
