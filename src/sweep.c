/* sweep.c - the sweep engine; see sweep.h. */
#include "sweep.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "drift.h"
#include "log.h"
#include "progress.h"
#include "store.h"
#include "summary.h"

/* Runs per thread in one batch: enough to keep dynamic scheduling busy
 * when run times differ, few enough to keep the batch's memory small. */
#define RUNS_PER_THREAD_IN_BATCH 4

static volatile sig_atomic_t stop_requested = 0;

void dl_sweep_request_stop(void)
{
    stop_requested = 1;
}

int dl_sweep_stop_requested(void)
{
    return stop_requested != 0;
}

int dl_sweep_thread_count(int requested)
{
    return requested > 0 ? requested : omp_get_max_threads();
}

/* ---- estimates ----------------------------------------------------- */

static double world_bytes(const dl_config *cfg)
{
    double V = (double)cfg->clusters * cfg->tokens_per_cluster;
    return 8.0 * ((double)cfg->clusters * cfg->d_model + V * cfg->d_model
                  + 3.0 * cfg->d_model * cfg->d_head) + 4.0 * (V + cfg->prompt_length);
}

static double run_bytes(const dl_config *cfg, bool keep_attention)
{
    double positions = (double)cfg->prompt_length + cfg->steps;
    double V = (double)cfg->clusters * cfg->tokens_per_cluster;
    double metrics = 8.0 * 4 * cfg->steps + 4.0 * 2 * positions;
    double caches = 8.0 * (2 * positions * cfg->d_head + positions + 3 * V)
                    + 8.0 * V * cfg->d_head;
    double attention = keep_attention ? 8.0 * cfg->steps * positions : 0.0;
    return metrics + caches + attention + world_bytes(cfg);
}

void dl_sweep_estimate_plan(const dl_plan *plan, int threads,
                            dl_sweep_estimate *estimate)
{
    const dl_config *cfg = plan->config;
    size_t batch = (size_t)threads * RUNS_PER_THREAD_IN_BATCH;
    if (batch > plan->n_runs)
        batch = plan->n_runs;
    estimate->batch_runs = batch;

    /* two batches of runs with attention rows (one computed, one written),
     * plus one point's summaries */
    double summaries = 8.0 * (double)plan->n_seeds * cfg->steps * 2;
    estimate->memory = 2.0 * (double)batch * run_bytes(cfg, true) + summaries;

    double points = (double)plan->n_points, seeds = (double)plan->n_seeds;
    double positions = (double)plan->n_positions;
    double per_run = 8.0 * 4 * cfg->steps + 4.0 * 2 * positions + 8.0 + 1.0;
    double attention = 8.0 * cfg->keep_attention * cfg->steps * positions;
    double per_point_summary = 8.0 * (4 * 5 * cfg->steps + 1);
    double worlds = (double)dl_plan_world_count(plan) * seeds * world_bytes(cfg);
    estimate->output = points * (seeds * per_run + attention + per_point_summary)
                       + worlds;
}

/* ---- one run --------------------------------------------------------- */

typedef struct {
    size_t point, seed_index;
    bool owns_world;
    dl_drift_world world;
    dl_drift_result result;
    int status;
    dl_error error;
} run_slot;

static void run_one(const dl_plan *plan, run_slot *slot)
{
    const dl_config *cfg = plan->config;
    dl_drift_params params;
    dl_plan_point_params(plan, slot->point, &params);
    int64_t seed = cfg->seeds[slot->seed_index];
    bool keep = slot->seed_index < (size_t)cfg->keep_attention;

    slot->status = dl_drift_world_make(&slot->world, &params, cfg->master_seed, seed,
                                       &slot->error);
    if (slot->status == 0)
        slot->status = dl_drift_result_alloc(&slot->result, &params, keep, &slot->error);
    if (slot->status == 0)
        slot->status = dl_drift_run(&slot->world, &params, cfg->master_seed, seed,
                                    &slot->result, &slot->error);
}

/* Describes the run of slot for error messages, e.g.
 * "run temperature=0.5 seed=3". */
static void describe_run(char *out, size_t size, const dl_plan *plan,
                         size_t point, size_t seed_index)
{
    size_t index[DL_SWEEP_COUNT];
    dl_plan_point_indices(plan, point, index);
    size_t used = (size_t)snprintf(out, size, "run");
    for (size_t a = 0; a < plan->n_axes && used < size; a++) {
        dl_sweep_key key = plan->axis_key[a];
        used += (size_t)snprintf(out + used, size - used, " %s=%g", dl_sweep_key_name(key),
                                 plan->config->sweep[key].values[index[a]]);
    }
    if (used < size)
        snprintf(out + used, size - used, " seed=%lld",
                 (long long)plan->config->seeds[seed_index]);
}

/* Fills the slots of one batch with the runs pending[0..count-1]. */
static void prepare_batch(const dl_plan *plan, run_slot *slots, const size_t *pending,
                          size_t count)
{
    for (size_t i = 0; i < count; i++) {
        memset(&slots[i], 0, sizeof slots[i]);
        slots[i].point = pending[i] / plan->n_seeds;
        slots[i].seed_index = pending[i] % plan->n_seeds;
        slots[i].owns_world = dl_plan_point_owns_world(plan, slots[i].point);
    }
}

static void free_batch(run_slot *slots, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        dl_drift_world_free(&slots[i].world);
        dl_drift_result_free(&slots[i].result);
    }
}

/* Writes the finished runs of a batch in plan order and frees them. The
 * first failed run or failed write sets err; later runs are freed only. */
static int write_batch(dl_store *store, const dl_plan *plan, run_slot *slots,
                       size_t count, dl_error *err)
{
    int status = 0;
    for (size_t i = 0; i < count && status == 0; i++) {
        run_slot *slot = &slots[i];
        if (slot->status != 0) {
            char where[256];
            describe_run(where, sizeof where, plan, slot->point, slot->seed_index);
            status = dl_error_set(err, "%s: %s", where, slot->error.message);
            break;
        }
        status = dl_store_write_run(store, slot->point, slot->seed_index,
                                    slot->owns_world ? &slot->world : NULL, &slot->result,
                                    err);
    }
    free_batch(slots, count);
    return status;
}

/* ---- summaries --------------------------------------------------------- */

static int write_summaries(dl_store *store, const dl_plan *plan,
                           dl_point_key_numbers *key_numbers, dl_error *err)
{
    size_t seeds = plan->n_seeds, steps = (size_t)plan->config->steps;
    double *values = malloc(seeds * steps * sizeof *values);
    double *series = malloc(steps * sizeof *series);
    double *work = malloc(seeds * sizeof *work);
    int status = 0;
    if (values == NULL || series == NULL || work == NULL) {
        status = dl_error_set(err, "out of memory for the summaries of %zu seeds x %zu steps",
                              seeds, steps);
        goto done;
    }

    static const double percentile[DL_STAT_COUNT] = {0, 0, 10, 50, 90};
    for (size_t point = 0; point < plan->n_points && status == 0; point++) {
        for (int m = 0; m < DL_METRIC_COUNT && status == 0; m++) {
            status = dl_store_read_point_metric(store, (dl_metric)m, point, values, err);
            for (int s = 0; s < DL_STAT_COUNT && status == 0; s++) {
                if (s == DL_STAT_MEAN)
                    dl_summary_mean(series, values, seeds, steps);
                else if (s == DL_STAT_SD)
                    dl_summary_sd(series, values, seeds, steps);
                else
                    dl_summary_percentile(series, values, seeds, steps, percentile[s], work);
                status = dl_store_write_point_summary(store, (dl_metric)m, (dl_stat)s,
                                                      point, series, err);
                if (status != 0)
                    break;

                dl_point_key_numbers *key = key_numbers + point;
                if (m == DL_METRIC_PROMPT_ATTENTION && s == DL_STAT_P50) {
                    key->final_prompt_attention = series[steps - 1];
                    key->half_life = dl_half_life(series, steps, 0.5);
                    status = dl_store_write_point_half_life(store, point, key->half_life,
                                                            err);
                }
                if (m == DL_METRIC_LOCK_IN && s == DL_STAT_MEAN)
                    key->final_lock_in = series[steps - 1];
            }
        }
    }

done:
    free(values);
    free(series);
    free(work);
    return status;
}

/* ---- the sweep ----------------------------------------------------------- */

int dl_sweep_check_limits(const dl_plan *plan, int threads, dl_error *err)
{
    const dl_config *cfg = plan->config;
    dl_sweep_estimate estimate;
    dl_sweep_estimate_plan(plan, threads, &estimate);
    double mb = 1024.0 * 1024.0;
    if (estimate.memory / mb > cfg->max_memory_mb)
        return dl_error_set(err, "%s: the plan needs an estimated %.3g MB of memory, above "
                            "max_memory_mb = %g; raise max_memory_mb in [experiment] or "
                            "shrink the sweep", cfg->path, estimate.memory / mb,
                            cfg->max_memory_mb);
    if (estimate.output / mb > cfg->max_output_mb)
        return dl_error_set(err, "%s: the plan writes an estimated %.3g MB of results, above "
                            "max_output_mb = %g; raise max_output_mb in [experiment] or "
                            "shrink the sweep", cfg->path, estimate.output / mb,
                            cfg->max_output_mb);
    return 0;
}

int dl_sweep_run(const dl_config *cfg, const char *results_path,
                 const dl_sweep_options *options,
                 dl_point_key_numbers **key_numbers_out, dl_error *err)
{
    dl_plan plan;
    dl_plan_init(&plan, cfg);
    int threads = dl_sweep_thread_count(options->threads);
    if ((size_t)threads > plan.n_runs)
        threads = (int)plan.n_runs; /* idle threads would only cost memory */
    if (dl_sweep_check_limits(&plan, threads, err) != 0)
        return -1;

    dl_store *store = options->resume
                          ? dl_store_resume(results_path, &plan, DRIFTLAB_VERSION, err)
                          : dl_store_create(results_path, &plan, DRIFTLAB_VERSION, err);
    if (store == NULL)
        return -1;

    /* the runs still to do, in plan order */
    size_t *pending = malloc(plan.n_runs * sizeof *pending);
    size_t batch_capacity = (size_t)threads * RUNS_PER_THREAD_IN_BATCH;
    run_slot *computing = calloc(batch_capacity, sizeof *computing);
    run_slot *writing = calloc(batch_capacity, sizeof *writing);
    if (pending == NULL || computing == NULL || writing == NULL) {
        free(pending);
        free(computing);
        free(writing);
        dl_store_abandon(store);
        return dl_error_set(err, "out of memory planning %zu runs", plan.n_runs);
    }
    size_t n_pending = 0;
    for (size_t run = 0; run < plan.n_runs; run++)
        if (!options->resume
            || !dl_store_run_done(store, run / plan.n_seeds, run % plan.n_seeds))
            pending[n_pending++] = run;
    dl_log_verbose("%zu runs on %d threads, %zu already done", n_pending, threads,
                   plan.n_runs - n_pending);

    dl_progress progress;
    dl_progress_start(&progress, plan.n_runs, plan.n_runs - n_pending, options->show_progress);
    size_t finished = plan.n_runs - n_pending;
    size_t computed = finished;
    size_t writing_count = 0;
    int status = 0;

    /* Batch k is computed by every thread while the calling thread first
     * writes batch k - 1, so compression overlaps the simulation. The loop
     * runs once more after the last batch to write it. */
    for (size_t first = 0; status == 0 && (first < n_pending || writing_count > 0);
         first += batch_capacity) {
        size_t count = 0;
        if (first < n_pending && !stop_requested) {
            count = n_pending - first < batch_capacity ? n_pending - first : batch_capacity;
            prepare_batch(&plan, computing, pending + first, count);
        }

        size_t done_in_batch = 0;
        int write_status = 0;
        #pragma omp parallel num_threads(threads)
        {
            #pragma omp master
            write_status = write_batch(store, &plan, writing, writing_count, err);

            #pragma omp for schedule(dynamic, 1)
            for (size_t i = 0; i < count; i++) {
                run_one(&plan, &computing[i]);
                size_t done_now;
                #pragma omp atomic capture
                done_now = ++done_in_batch;
                if (omp_get_thread_num() == 0)
                    dl_progress_update(&progress, computed + done_now);
            }
        }
        status = write_status;
        finished += writing_count;
        computed += count;
        dl_progress_update(&progress, computed);

        run_slot *swap = writing;
        writing = computing;
        computing = swap;
        writing_count = count;

        if (status == 0 && stop_requested && count == 0 && finished < plan.n_runs)
            status = dl_error_set(err, "interrupted after %zu of %zu runs; the finished runs "
                                  "are kept in %s.partial, continue with --resume",
                                  finished, plan.n_runs, results_path);
    }
    free_batch(writing, writing_count);
    dl_progress_finish(&progress);
    free(pending);
    free(computing);
    free(writing);

    dl_point_key_numbers *key_numbers = NULL;
    if (status == 0) {
        key_numbers = calloc(plan.n_points, sizeof *key_numbers);
        if (key_numbers == NULL)
            status = dl_error_set(err, "out of memory for %zu sweep points", plan.n_points);
    }
    if (status == 0)
        status = write_summaries(store, &plan, key_numbers, err);
    if (status != 0) {
        free(key_numbers);
        dl_store_abandon(store);
        return -1;
    }
    if (dl_store_finish_with(store, options->extra_writer,
                             options->extra_writer_context, err) != 0) {
        free(key_numbers);
        return -1;
    }
    if (key_numbers_out != NULL)
        *key_numbers_out = key_numbers;
    else
        free(key_numbers);
    return 0;
}
