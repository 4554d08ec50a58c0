/* results.h - reading results.h5 back for figures, the report and info.
 *
 * Implemented in store_read.c, because only the store includes HDF5.
 * dl_results_load reads the small, summary-level part of a file at once:
 * the versions, the config, the model settings, the axes, the per-point
 * summaries over seeds and the figure settings. The per-run data of a
 * kept seed (tokens, attention rows) is read on demand with
 * dl_results_load_run, so a large sweep never has to fit in memory.
 *
 * A file has /drift, /lora or both. The drift fields below are zeroed
 * when has_drift is false; the /lora group is read whole into lora
 * (lora_results.h) when has_lora is true.
 */
#ifndef DRIFTLAB_RESULTS_H
#define DRIFTLAB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "lora_results.h"
#include "store.h"

/* One sweep axis as stored: a coordinate of /drift. */
typedef struct {
    dl_sweep_key key;
    size_t length;
    double *values;      /* [length] */
} dl_results_axis;

/* Range of /figures png_ppi that dl_results_load accepts, pixels per
 * inch: the range config.c accepts for [figures] png_ppi, so a file
 * written by driftlab always passes. */
#define DL_RESULTS_PNG_PPI_MIN 36.0
#define DL_RESULTS_PNG_PPI_MAX 600.0

/* Figure choices, from the [figures] section of the config and stored in
 * the /figures group so that render repeats them. */
typedef struct {
    double temperature;  /* temperature of the single-run figures */
    int64_t seed;        /* seed value of the single-run figures (a kept seed) */
    double png_ppi;      /* PNG resolution in pixels per inch */
    int strip_steps;     /* small multiples in the token strip */
    unsigned formats;    /* DL_FORMAT_* bits */
} dl_figure_settings;

typedef struct {
    char *path;
    bool has_drift;       /* the file has /drift: every drift field is set */
    bool has_lora;        /* the file has /lora: lora is set */

    /* root attributes */
    char *driftlab_version;
    char *config_name;
    char *config_text;
    char *config_sha256;  /* 64 hex digits */
    uint64_t master_seed;

    /* model settings (attributes of /drift) */
    dl_rule rule;
    dl_projection projection;
    int clusters, tokens_per_cluster, vocab_size, d_model, d_head;
    int prompt_length, steps, n_positions, keep_attention;
    double scalar[DL_SWEEP_COUNT]; /* value of each sweepable key that is
                                      not an axis; NaN for axes */

    /* axes in file order, then seeds */
    size_t n_axes;
    dl_results_axis axes[DL_SWEEP_COUNT];
    size_t n_points;      /* product of the axis lengths */
    size_t n_seeds;
    int64_t *seeds;       /* [n_seeds] */
    size_t n_kept;        /* seeds with attention rows: the first n_kept */

    /* per point, row-major over the axes as in plan.h */
    double *summary[DL_METRIC_COUNT][DL_STAT_COUNT]; /* [n_points][steps] */
    double *half_life_of_median;                     /* [n_points] */
    double *final_lock_in;  /* [n_points][n_seeds]: lock_in at the last step */
    double *half_life;      /* [n_points][n_seeds]: per-run half-life */

    dl_figure_settings figures;

    dl_lora_results lora; /* zeroed unless has_lora */
} dl_results;

/* Reads the summary-level part of the results file at path into results,
 * which owns every array and string; the file is closed again. Returns 0,
 * or -1 with err naming the file and the missing or malformed dataset or
 * attribute, and then results is zeroed with nothing allocated. It also
 * rejects:
 * - a folder, a file of another format_version, and a file with neither
 *   /drift nor /lora;
 * - an unfinished run (a .partial file, say): a run not marked in
 *   /drift/run_done, or a summary not written;
 * - a config_text whose SHA-256 is not config_sha256;
 * - a png_ppi outside DL_RESULTS_PNG_PPI_MIN .. DL_RESULTS_PNG_PPI_MAX.
 * A file without /drift may lack /figures: the figure settings then come
 * from the [figures] section of the stored config_text.
 * Free with dl_results_free. */
int dl_results_load(const char *path, dl_results *results, dl_error *err);

/* Like dl_results_load, but reads only the settings: root attributes,
 * model settings, axes, seeds and figure settings. summary,
 * half_life_of_median, final_lock_in and half_life stay NULL. For
 * describing a file without reading its per-point arrays, so it accepts
 * unfinished runs and does not check config_text against config_sha256. */
int dl_results_load_settings(const char *path, dl_results *results,
                             dl_error *err);

/* Frees what dl_results_load allocated and zeroes results; results may be
 * zeroed or loaded. */
void dl_results_free(dl_results *results);

/* Value of key at the sweep point: the axis value, or the scalar. NaN for
 * a key outside dl_sweep_key or a point outside [0, n_points). */
double dl_results_value(const dl_results *results, dl_sweep_key key,
                        size_t point);

/* Index of the axis of key, or -1 when key is not an axis. */
int dl_results_axis_index(const dl_results *results, dl_sweep_key key);

/* One kept run, read on demand. */
typedef struct {
    int32_t *tokens;           /* [n_positions] */
    int32_t *clusters;         /* [n_positions] */
    double *attention;         /* [steps][n_positions], NaN beyond */
    double *metric[DL_METRIC_COUNT]; /* [steps] */
} dl_results_run;

/* Reads the run at point of the kept seed kept_index (< n_kept; kept seed
 * i is seeds[i]) from the file at results->path, reopening it. Needs
 * results->has_drift. run owns its arrays. Returns 0, or -1 with err
 * set. It fails when point or
 * kept_index is out of range, when the file contains another config than
 * when results was loaded, or when a dataset is missing or has another
 * shape. run is then zeroed with nothing allocated. Free with
 * dl_results_run_free. */
int dl_results_load_run(const dl_results *results, size_t point,
                        size_t kept_index, dl_results_run *run, dl_error *err);

/* Frees what dl_results_load_run allocated and zeroes run; run may be
 * zeroed or loaded. */
void dl_results_run_free(dl_results_run *run);

#endif
