/* store.h - results.h5: the only module that includes HDF5.
 *
 * Layout of /drift, where every dimension is a 1-D coordinate dataset made
 * an HDF5 dimension scale and attached to each dataset that has it. Units,
 * fill values and reading examples are in docs/results-format.md.
 *
 *   coordinates   AXIS... (one per sweep axis, file order), seed, step,
 *                 position, token, prompt_position, kept_seed,
 *                 embedding_dim, head_dim
 *   per run       prompt_attention, sink_attention, attention_entropy,
 *                 lock_in                   [AXIS..., seed, step]
 *                 tokens, clusters          [AXIS..., seed, position]
 *                 half_life                 [AXIS..., seed]
 *                 attention                 [AXIS..., kept_seed, step, position]
 *                                  (attention and kept_seed only when
 *                                   keep_attention > 0)
 *                 run_done                  [AXIS..., seed]
 *   per world     embedding   [WAXIS..., seed, token, embedding_dim]
 *                 query_projection, key_projection, value_projection
 *                             [WAXIS..., seed, embedding_dim, head_dim]
 *                 prompt      [WAXIS..., seed, prompt_position]
 *   fixed         cluster_of_token [token]
 *   per point     METRIC_mean, METRIC_sd, METRIC_p10, METRIC_p50,
 *                 METRIC_p90 for each per-run metric  [AXIS..., step]
 *                 half_life_of_median                 [AXIS...]
 *
 * /figures has no datasets: its attributes temperature, seed, png_ppi,
 * strip_steps and formats are the figure settings of the config.
 *
 * WAXIS are the world axes (cluster_spread when it is swept). The file is
 * written to PATH.partial and renamed to PATH by dl_store_finish. Object
 * modification times are off, so the same writes give the same bytes.
 */
#ifndef DRIFTLAB_STORE_H
#define DRIFTLAB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drift.h"
#include "error.h"
#include "plan.h"

typedef struct dl_store dl_store;

/* Per-run metric series, in the order of dl_store_metric_name. */
typedef enum {
    DL_METRIC_PROMPT_ATTENTION = 0,
    DL_METRIC_SINK_ATTENTION,
    DL_METRIC_ENTROPY,
    DL_METRIC_LOCK_IN,
    DL_METRIC_COUNT
} dl_metric;

/* Summary statistics over seeds, in the order of dl_store_stat_name. */
typedef enum {
    DL_STAT_MEAN = 0,
    DL_STAT_SD,
    DL_STAT_P10,
    DL_STAT_P50,
    DL_STAT_P90,
    DL_STAT_COUNT
} dl_stat;

/* Dataset names: "prompt_attention", ... and "mean", "p10", ...; NULL for
 * a value outside the enum. */
const char *dl_store_metric_name(dl_metric metric);
const char *dl_store_stat_name(dl_stat stat);

/* Creates PATH.partial for the plan, overwriting any old one. Writes the
 * root attributes (format_version, driftlab_version, config_name,
 * config_text, config_sha256 as 64 hex digits, master_seed), the /drift
 * attributes, the /figures attributes (the [figures] settings that render
 * repeats), the coordinates and every dataset of /drift with its fill
 * value (NaN, or -1 for integers, 0 for run_done). No path is stored, so
 * the bytes do not depend on where the config lives. The config text must
 * be UTF-8 without NUL bytes. Returns a store, or NULL with err set, and
 * then removes a half-built PATH.partial. */
dl_store *dl_store_create(const char *path, const dl_plan *plan,
                          const char *version, dl_error *err);

/* Opens PATH.partial left by an interrupted run of the same config for
 * --resume. Fails with err set when it is missing, unreadable, contains
 * another config (compared by config_sha256), was written by another
 * driftlab version, or its coordinates and dataset shapes differ from the
 * plan's. */
dl_store *dl_store_resume(const char *path, const dl_plan *plan,
                          const char *version, dl_error *err);

/* True when the run (point, seed_index) is marked done in the file. */
bool dl_store_run_done(dl_store *store, size_t point, size_t seed_index);

/* Writes one finished run: its metrics, tokens, clusters, half-life, the
 * attention rows when seed_index < keep_attention (result->attention must
 * then be set), its world when world is not NULL and
 * dl_plan_point_owns_world(point) (world is ignored at other points), and
 * then its run_done flag. A world without projections (identity) is
 * stored with identity matrices. Must be called from one thread at a
 * time. */
int dl_store_write_run(dl_store *store, size_t point, size_t seed_index,
                       const dl_drift_world *world,
                       const dl_drift_result *result, dl_error *err);

/* Reads metric for every seed of point into values[n_seeds][steps]. */
int dl_store_read_point_metric(dl_store *store, dl_metric metric,
                               size_t point, double *values, dl_error *err);

/* Writes the summary series values[steps] of metric and stat for point. */
int dl_store_write_point_summary(dl_store *store, dl_metric metric,
                                 dl_stat stat, size_t point,
                                 const double *values, dl_error *err);

/* Writes the half-life of the median prompt attention of point
 * (NaN: never below 0.5). */
int dl_store_write_point_half_life(dl_store *store, size_t point,
                                   double half_life, dl_error *err);

/* Flushes, closes and renames PATH.partial to PATH. Fails, keeping
 * PATH.partial for --resume and PATH untouched, when a run is not marked
 * done or closing or renaming fails. Frees the store, also on failure. */
int dl_store_finish(dl_store *store, dl_error *err);

/* Writes more groups into the open results file, whose HDF5 file id is
 * file, before the store closes it. Returns 0, or -1 with err set. */
typedef int (*dl_store_extra_writer)(int64_t file, const char *partial_path,
                                     void *context, dl_error *err);

/* Like dl_store_finish, but calls writer (when not NULL) with context
 * after the run check and before closing. A failed writer leaves
 * PATH.partial for --resume, as a failed close does. */
int dl_store_finish_with(dl_store *store, dl_store_extra_writer writer,
                         void *context, dl_error *err);

/* Closes the store after a failed or interrupted run, keeping PATH.partial
 * for --resume. Frees the store. */
void dl_store_abandon(dl_store *store);

/* Prints a human summary of the results file at path to out: versions,
 * config name and SHA-256, axes with their values, seeds, steps, datasets
 * with shapes, and whether every run is done. */
int dl_store_print_info(const char *path, FILE *out, dl_error *err);

#endif
