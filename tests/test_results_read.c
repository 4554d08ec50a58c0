/* test_results_read.c - unit tests of the results.h5 reader (results.h).
 *
 * The group setup parses a config with two sweep axes (temperature, then
 * top_p), 3 seeds and keep_attention = 2, runs the real sweep into a
 * folder made with mkdtemp, and loads the file. Independently of the
 * sweep and the store, it also runs every run itself with
 * dl_drift_world_make and dl_drift_run from parameters written out here,
 * and computes the statistics over seeds in this file. The tests compare
 * what the reader returns with those runs and statistics.
 *
 * Broken files are made with HDF5 directly and must give errors that name
 * the file and the object. They are a missing file, not HDF5, a missing
 * dataset, another format version, no /figures, a run not done, a
 * summary not written, an edited config_text and png_ppi out of range.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "config.h"
#include "digest.h"
#include "drift.h"
#include "results.h"
#include "sweep.h"

/* ---- the sweep under test ---- */

#define MASTER_SEED 5
#define N_SEEDS 3
#define N_KEPT 2
#define STEPS 10
#define PROMPT_LENGTH 5
#define N_POSITIONS (PROMPT_LENGTH + STEPS)
#define N_TEMPERATURES 3
#define N_TOP_P 2
#define N_POINTS (N_TEMPERATURES * N_TOP_P)

static const char config_text[] =
    "[experiment]\n"
    "seed = 5\n"
    "seeds = 3\n"
    "formats = png, svg\n"
    "\n"
    "[drift]\n"
    "clusters = 3\n"
    "tokens_per_cluster = 4\n"
    "d_model = 8\n"
    "prompt_length = 5\n"
    "steps = 10\n"
    "temperature = 0.5, 1, 2\n"
    "top_p = 0.8, 1\n"
    "keep_attention = 2\n"
    "\n"
    "[figures]\n"
    "temperature = 1\n"
    "seed = 1\n"
    "png_ppi = 200\n"
    "strip_steps = 3\n";

static const double temperatures[N_TEMPERATURES] = {0.5, 1.0, 2.0};
static const double top_ps[N_TOP_P] = {0.8, 1.0};

/* One sweep without axes or attention rows, for the scalar layout. */
static const char plain_config_text[] =
    "[experiment]\n"
    "seeds = 2\n"
    "[drift]\n"
    "clusters = 2\n"
    "tokens_per_cluster = 3\n"
    "d_model = 4\n"
    "prompt_length = 3\n"
    "steps = 6\n"
    "keep_attention = 0\n";

/* The runs of the sweep computed in this file, indexed [point][seed]. */
typedef struct {
    double metric[DL_METRIC_COUNT][STEPS];
    int32_t tokens[N_POSITIONS];
    int32_t clusters[N_POSITIONS];
    double attention[STEPS * N_POSITIONS]; /* kept seeds only */
} expected_run;

typedef struct {
    char folder[64];
    char path[128];        /* folder/results.h5 */
    char plain_path[128];  /* folder/plain.h5 */
    dl_config cfg;
    dl_results results;
    expected_run runs[N_POINTS][N_SEEDS];
} fixture;

/* Parameters of sweep point point, written out from the config above:
 * temperature is the first axis and varies slowest. */
static void point_params(size_t point, dl_drift_params *params)
{
    memset(params, 0, sizeof *params);
    params->clusters = 3;
    params->tokens_per_cluster = 4;
    params->d_model = 8;
    params->d_head = 8;
    params->projection = DL_PROJECTION_IDENTITY;
    params->cluster_spread = 0.5;
    params->prompt_length = PROMPT_LENGTH;
    params->prompt = NULL;
    params->steps = STEPS;
    params->rule = DL_RULE_CLUSTER;
    params->gain = 8.0;
    params->gain_out = 8.0;
    params->temperature = temperatures[point / N_TOP_P];
    params->top_k = 0;
    params->top_p = top_ps[point % N_TOP_P];
    params->min_p = 0.0;
    params->repetition_penalty = 1.0;
}

static void expected_runs_compute(fixture *f)
{
    for (size_t point = 0; point < N_POINTS; point++) {
        dl_drift_params params;
        point_params(point, &params);
        for (size_t s = 0; s < N_SEEDS; s++) {
            bool keep = s < N_KEPT;
            dl_drift_world world;
            dl_drift_result result;
            dl_error err;
            memset(&world, 0, sizeof world);
            memset(&result, 0, sizeof result);
            if (dl_drift_world_make(&world, &params, MASTER_SEED, (int64_t)s,
                                    &err) != 0
                || dl_drift_result_alloc(&result, &params, keep, &err) != 0
                || dl_drift_run(&world, &params, MASTER_SEED, (int64_t)s,
                                &result, &err) != 0)
                fail_msg("run (point %zu, seed %zu): %s", point, s,
                         err.message);

            expected_run *run = &f->runs[point][s];
            const double *series[DL_METRIC_COUNT] = {
                result.prompt_attention, result.sink_attention,
                result.entropy, result.lock_in,
            };
            for (int m = 0; m < DL_METRIC_COUNT; m++)
                memcpy(run->metric[m], series[m], sizeof run->metric[m]);
            memcpy(run->tokens, result.tokens, sizeof run->tokens);
            memcpy(run->clusters, result.clusters, sizeof run->clusters);
            if (keep)
                memcpy(run->attention, result.attention,
                       sizeof run->attention);
            dl_drift_result_free(&result);
            dl_drift_world_free(&world);
        }
    }
}

/* Parses text and runs its sweep into path. */
static void sweep_run(const char *text, const char *name, const char *path,
                      dl_config *cfg)
{
    if (dl_config_parse(text, name, cfg, stderr) != 0)
        fail_msg("the test config %s does not parse", name);
    dl_sweep_options options = {.threads = 2, .resume = false,
                                .show_progress = false};
    dl_error err;
    if (dl_sweep_run(cfg, path, &options, NULL, &err) != 0)
        fail_msg("sweep of %s failed: %s", name, err.message);
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->folder, "/tmp/driftlab_test_results_XXXXXX");
    assert_non_null(mkdtemp(f->folder));
    snprintf(f->path, sizeof f->path, "%s/results.h5", f->folder);
    snprintf(f->plain_path, sizeof f->plain_path, "%s/plain.h5", f->folder);

    sweep_run(config_text, "read.ini", f->path, &f->cfg);
    expected_runs_compute(f);

    dl_error err;
    if (dl_results_load(f->path, &f->results, &err) != 0)
        fail_msg("loading %s failed: %s", f->path, err.message);
    *state = f;
    return 0;
}

/* Removes every file in the scratch folder and the folder. The tests
 * create only the names listed here. */
static int group_teardown(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {
        "results.h5", "plain.h5", "not_hdf5.h5", "no_summary.h5",
        "version_2.h5", "no_figures.h5", "unfinished.h5", "no_mean.h5",
        "edited_config.h5", "ppi_1200.h5", "ppi_20.h5",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s", f->folder, names[i]);
        unlink(path);
    }
    rmdir(f->folder);
    dl_results_free(&f->results);
    dl_config_free(&f->cfg);
    free(f);
    return 0;
}

/* ---- statistics over seeds, written out here ---- */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double mean_of(const double *values, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += values[i];
    return sum / (double)n;
}

/* Sample standard deviation, divisor n - 1. */
static double sd_of(const double *values, size_t n)
{
    double mean = mean_of(values, n);
    double squares = 0.0;
    for (size_t i = 0; i < n; i++)
        squares += (values[i] - mean) * (values[i] - mean);
    return sqrt(squares / (double)(n - 1));
}

/* numpy.percentile's default: linear interpolation between the order
 * statistics around position q / 100 * (n - 1). */
static double percentile_of(const double *values, size_t n, double q)
{
    double sorted[N_SEEDS];
    memcpy(sorted, values, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_doubles);

    double position = q / 100.0 * (double)(n - 1);
    size_t below = (size_t)floor(position);
    size_t above = below + 1 < n ? below + 1 : below;
    double fraction = position - (double)below;
    return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

static double first_step_below_half(const double *series, size_t steps)
{
    for (size_t t = 0; t < steps; t++)
        if (series[t] < 0.5)
            return (double)t;
    return NAN;
}

/* Fails unless actual equals expected to 1e-12 (summation order only), or
 * both are NaN. */
static void assert_close(double actual, double expected, const char *what,
                         size_t point, size_t step)
{
    if (isnan(actual) && isnan(expected))
        return;
    double tolerance = 1e-12 * (1.0 + fabs(expected));
    if (!(fabs(actual - expected) <= tolerance))
        fail_msg("%s at point %zu, step %zu is %.17g, expected %.17g", what,
                 point, step, actual, expected);
}

/* Fails unless the doubles are equal, NaN matching NaN. */
static void assert_same_double(double actual, double expected,
                               const char *what, size_t point, size_t index)
{
    if (isnan(actual) && isnan(expected))
        return;
    if (actual != expected)
        fail_msg("%s at point %zu, index %zu is %.17g, expected %.17g", what,
                 point, index, actual, expected);
}

/* ---- loaded settings ---- */

static void load_reads_root_and_model(void **state)
{
    fixture *f = *state;
    const dl_results *r = &f->results;

    assert_string_equal(r->path, f->path);
    assert_string_equal(r->driftlab_version, DRIFTLAB_VERSION);
    assert_string_equal(r->config_name, "read");
    assert_string_equal(r->config_text, config_text);
    assert_int_equal(strlen(r->config_sha256), 64);
    assert_true(r->master_seed == MASTER_SEED);

    assert_int_equal(r->rule, DL_RULE_CLUSTER);
    assert_int_equal(r->projection, DL_PROJECTION_IDENTITY);
    assert_int_equal(r->clusters, 3);
    assert_int_equal(r->tokens_per_cluster, 4);
    assert_int_equal(r->vocab_size, 12);
    assert_int_equal(r->d_model, 8);
    assert_int_equal(r->d_head, 8);
    assert_int_equal(r->prompt_length, PROMPT_LENGTH);
    assert_int_equal(r->steps, STEPS);
    assert_int_equal(r->n_positions, N_POSITIONS);
    assert_int_equal(r->keep_attention, N_KEPT);
}

static void load_reads_axes_and_seeds(void **state)
{
    fixture *f = *state;
    const dl_results *r = &f->results;

    assert_int_equal(r->n_axes, 2);
    assert_int_equal(r->axes[0].key, DL_SWEEP_TEMPERATURE);
    assert_int_equal(r->axes[0].length, N_TEMPERATURES);
    for (size_t i = 0; i < N_TEMPERATURES; i++)
        assert_true(r->axes[0].values[i] == temperatures[i]);
    assert_int_equal(r->axes[1].key, DL_SWEEP_TOP_P);
    assert_int_equal(r->axes[1].length, N_TOP_P);
    for (size_t i = 0; i < N_TOP_P; i++)
        assert_true(r->axes[1].values[i] == top_ps[i]);

    /* the axes equal the config's */
    const dl_config *cfg = &f->cfg;
    assert_int_equal(r->n_axes, cfg->n_axes);
    for (size_t a = 0; a < cfg->n_axes; a++) {
        const dl_value_list *list = &cfg->sweep[cfg->axes[a]];
        assert_int_equal(r->axes[a].key, cfg->axes[a]);
        assert_int_equal(r->axes[a].length, list->count);
        assert_memory_equal(r->axes[a].values, list->values,
                            list->count * sizeof *list->values);
    }

    assert_int_equal(r->n_points, N_POINTS);
    assert_int_equal(r->n_seeds, N_SEEDS);
    for (size_t s = 0; s < N_SEEDS; s++)
        assert_int_equal(r->seeds[s], (int64_t)s);
    assert_int_equal(r->n_kept, N_KEPT);
}

static void scalars_hold_unswept_values(void **state)
{
    fixture *f = *state;
    const dl_results *r = &f->results;

    assert_true(isnan(r->scalar[DL_SWEEP_TEMPERATURE]));
    assert_true(isnan(r->scalar[DL_SWEEP_TOP_P]));
    assert_true(r->scalar[DL_SWEEP_TOP_K] == 0.0);
    assert_true(r->scalar[DL_SWEEP_MIN_P] == 0.0);
    assert_true(r->scalar[DL_SWEEP_REPETITION_PENALTY] == 1.0);
    assert_true(r->scalar[DL_SWEEP_GAIN] == 8.0);
    assert_true(r->scalar[DL_SWEEP_GAIN_OUT] == 8.0);
    assert_true(r->scalar[DL_SWEEP_CLUSTER_SPREAD] == 0.5);
}

static void value_and_axis_index_follow_points(void **state)
{
    fixture *f = *state;
    const dl_results *r = &f->results;

    assert_int_equal(dl_results_axis_index(r, DL_SWEEP_TEMPERATURE), 0);
    assert_int_equal(dl_results_axis_index(r, DL_SWEEP_TOP_P), 1);
    assert_int_equal(dl_results_axis_index(r, DL_SWEEP_GAIN), -1);

    for (size_t point = 0; point < N_POINTS; point++) {
        dl_drift_params params;
        point_params(point, &params);
        assert_true(dl_results_value(r, DL_SWEEP_TEMPERATURE, point)
                    == params.temperature);
        assert_true(dl_results_value(r, DL_SWEEP_TOP_P, point)
                    == params.top_p);
        assert_true(dl_results_value(r, DL_SWEEP_GAIN, point) == 8.0);
    }
    assert_true(isnan(dl_results_value(r, DL_SWEEP_TEMPERATURE, N_POINTS)));
    assert_true(isnan(dl_results_value(r, DL_SWEEP_COUNT, 0)));
}

static void figure_settings_round_trip(void **state)
{
    fixture *f = *state;
    const dl_figure_settings *figures = &f->results.figures;

    assert_true(figures->temperature == 1.0);
    assert_int_equal(figures->seed, 1);
    assert_true(figures->png_ppi == 200.0);
    assert_int_equal(figures->strip_steps, 3);
    assert_int_equal(figures->formats, DL_FORMAT_PNG | DL_FORMAT_SVG);

    /* and they are the config's */
    assert_true(figures->temperature == f->cfg.figure_temperature);
    assert_int_equal(figures->seed, f->cfg.figure_seed);
    assert_true(figures->png_ppi == f->cfg.png_ppi);
    assert_int_equal(figures->strip_steps, f->cfg.strip_steps);
    assert_int_equal(figures->formats, f->cfg.formats);
}

/* ---- per-point arrays ---- */

static void summaries_match_recomputed_statistics(void **state)
{
    fixture *f = *state;
    const dl_results *r = &f->results;
    static const double percentiles[DL_STAT_COUNT] = {
        [DL_STAT_P10] = 10, [DL_STAT_P50] = 50, [DL_STAT_P90] = 90,
    };

    for (size_t point = 0; point < N_POINTS; point++) {
        for (int m = 0; m < DL_METRIC_COUNT; m++) {
            for (size_t t = 0; t < STEPS; t++) {
                double values[N_SEEDS];
                for (size_t s = 0; s < N_SEEDS; s++)
                    values[s] = f->runs[point][s].metric[m][t];

                for (int st = 0; st < DL_STAT_COUNT; st++) {
                    double expected;
                    if (st == DL_STAT_MEAN)
                        expected = mean_of(values, N_SEEDS);
                    else if (st == DL_STAT_SD)
                        expected = sd_of(values, N_SEEDS);
                    else
                        expected = percentile_of(values, N_SEEDS,
                                                 percentiles[st]);

                    char what[64];
                    snprintf(what, sizeof what, "%s_%s",
                             dl_store_metric_name((dl_metric)m),
                             dl_store_stat_name((dl_stat)st));
                    assert_close(r->summary[m][st][point * STEPS + t],
                                 expected, what, point, t);
                }
            }
        }
    }
}

static void half_life_of_median_matches_median(void **state)
{
    fixture *f = *state;
    const dl_results *r = &f->results;

    for (size_t point = 0; point < N_POINTS; point++) {
        const double *median =
            r->summary[DL_METRIC_PROMPT_ATTENTION][DL_STAT_P50]
            + point * STEPS;
        assert_same_double(r->half_life_of_median[point],
                           first_step_below_half(median, STEPS),
                           "half_life_of_median", point, 0);
    }
}

static void per_run_values_match_runs(void **state)
{
    fixture *f = *state;
    const dl_results *r = &f->results;

    for (size_t point = 0; point < N_POINTS; point++) {
        for (size_t s = 0; s < N_SEEDS; s++) {
            const expected_run *run = &f->runs[point][s];
            assert_same_double(r->final_lock_in[point * N_SEEDS + s],
                               run->metric[DL_METRIC_LOCK_IN][STEPS - 1],
                               "final_lock_in", point, s);
            assert_same_double(
                r->half_life[point * N_SEEDS + s],
                first_step_below_half(
                    run->metric[DL_METRIC_PROMPT_ATTENTION], STEPS),
                "half_life", point, s);
        }
    }
}

/* ---- one kept run ---- */

static void load_run_matches_model(void **state)
{
    fixture *f = *state;

    for (size_t point = 0; point < N_POINTS; point++) {
        for (size_t k = 0; k < N_KEPT; k++) {
            dl_results_run run;
            dl_error err;
            if (dl_results_load_run(&f->results, point, k, &run, &err) != 0)
                fail_msg("load_run(%zu, %zu): %s", point, k, err.message);

            const expected_run *expected = &f->runs[point][k];
            assert_memory_equal(run.tokens, expected->tokens,
                                sizeof expected->tokens);
            assert_memory_equal(run.clusters, expected->clusters,
                                sizeof expected->clusters);
            for (int m = 0; m < DL_METRIC_COUNT; m++)
                for (size_t t = 0; t < STEPS; t++)
                    assert_same_double(run.metric[m][t],
                                       expected->metric[m][t],
                                       dl_store_metric_name((dl_metric)m),
                                       point, t);
            for (size_t i = 0; i < STEPS * N_POSITIONS; i++)
                assert_same_double(run.attention[i], expected->attention[i],
                                   "attention", point, i);

            /* row t covers positions 0 .. P + t - 1 */
            for (size_t t = 0; t < STEPS; t++) {
                size_t context = PROMPT_LENGTH + t;
                assert_false(isnan(run.attention[t * N_POSITIONS
                                                 + context - 1]));
                if (context < N_POSITIONS)
                    assert_true(isnan(run.attention[t * N_POSITIONS
                                                    + context]));
            }
            dl_results_run_free(&run);
            assert_null(run.tokens);
        }
    }
}

static void assert_run_zeroed(const dl_results_run *run)
{
    static const dl_results_run zero;
    if (memcmp(run, &zero, sizeof zero) != 0)
        fail_msg("the run was not zeroed after a failed load");
}

static void load_run_rejects_out_of_range(void **state)
{
    fixture *f = *state;
    dl_results_run run;
    dl_error err;

    assert_int_equal(dl_results_load_run(&f->results, N_POINTS, 0, &run,
                                         &err), -1);
    assert_non_null(strstr(err.message, "point 6 is outside the 6 sweep "
                           "points"));
    assert_run_zeroed(&run);

    assert_int_equal(dl_results_load_run(&f->results, 0, N_KEPT, &run, &err),
                     -1);
    assert_non_null(strstr(err.message, "kept seed index 2 is outside the 2 "
                           "seeds whose attention rows are stored"));
    assert_run_zeroed(&run);
}

/* ---- settings only, and a file without axes ---- */

static void load_settings_leaves_arrays_out(void **state)
{
    fixture *f = *state;
    dl_results r;
    dl_error err;

    if (dl_results_load_settings(f->path, &r, &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(r.n_points, N_POINTS);
    assert_int_equal(r.n_kept, N_KEPT);
    assert_true(r.figures.png_ppi == 200.0);
    for (int m = 0; m < DL_METRIC_COUNT; m++)
        for (int s = 0; s < DL_STAT_COUNT; s++)
            assert_null(r.summary[m][s]);
    assert_null(r.half_life_of_median);
    assert_null(r.final_lock_in);
    assert_null(r.half_life);
    dl_results_free(&r);
}

static void file_without_axes_has_one_point(void **state)
{
    fixture *f = *state;
    dl_config cfg;
    sweep_run(plain_config_text, "plain.ini", f->plain_path, &cfg);

    dl_results r;
    dl_error err;
    if (dl_results_load(f->plain_path, &r, &err) != 0)
        fail_msg("%s", err.message);
    assert_int_equal(r.n_axes, 0);
    assert_int_equal(r.n_points, 1);
    assert_int_equal(r.n_seeds, 2);
    assert_int_equal(r.n_kept, 0);
    assert_int_equal(r.keep_attention, 0);
    assert_true(r.scalar[DL_SWEEP_TEMPERATURE] == 1.0);
    assert_true(dl_results_value(&r, DL_SWEEP_TEMPERATURE, 0) == 1.0);

    /* defaults: lowest temperature, first seed, 150 ppi, 4 strip steps */
    assert_true(r.figures.temperature == 1.0);
    assert_int_equal(r.figures.seed, 0);
    assert_true(r.figures.png_ppi == 150.0);
    assert_int_equal(r.figures.strip_steps, 4);
    assert_int_equal(r.figures.formats,
                     DL_FORMAT_SVG | DL_FORMAT_PDF | DL_FORMAT_PNG);

    const double *median = r.summary[DL_METRIC_PROMPT_ATTENTION][DL_STAT_P50];
    assert_same_double(r.half_life_of_median[0],
                       first_step_below_half(median, 6),
                       "half_life_of_median", 0, 0);

    dl_results_run run;
    assert_int_equal(dl_results_load_run(&r, 0, 0, &run, &err), -1);
    assert_non_null(strstr(err.message, "(keep_attention = 0)"));

    dl_results_free(&r);
    dl_config_free(&cfg);
}

/* ---- broken files ---- */

static void assert_results_zeroed(const dl_results *results)
{
    static const dl_results zero;
    if (memcmp(results, &zero, sizeof zero) != 0)
        fail_msg("the results were not zeroed after a failed load");
}

/* Loads path, expecting failure with a message containing each of the
 * NULL-terminated fragments. */
static void assert_load_fails_with(const char *path, ...)
{
    dl_results r;
    dl_error err;
    assert_int_equal(dl_results_load(path, &r, &err), -1);
    assert_results_zeroed(&r);

    va_list fragments;
    va_start(fragments, path);
    for (const char *fragment = va_arg(fragments, const char *);
         fragment != NULL; fragment = va_arg(fragments, const char *))
        if (strstr(err.message, fragment) == NULL)
            fail_msg("no \"%s\" in the message: %s", fragment, err.message);
    va_end(fragments);
}

/* Copies the results file to folder/name and returns the copy's path. */
static void copy_results(const fixture *f, const char *name, char *copy,
                         size_t size)
{
    snprintf(copy, size, "%s/%s", f->folder, name);
    FILE *in = fopen(f->path, "rb");
    FILE *out = fopen(copy, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, in)) > 0)
        assert_int_equal(fwrite(buffer, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void missing_file_is_named(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/absent.h5", f->folder);
    assert_load_fails_with(path, path, "cannot open: No such file or "
                           "directory", NULL);
}

static void non_hdf5_file_is_rejected(void **state)
{
    fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/not_hdf5.h5", f->folder);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("[drift]\nsteps = 4\n", file);
    fclose(file);

    assert_load_fails_with(path, path, "is not an HDF5 file", NULL);
}

static void missing_summary_dataset_is_named(void **state)
{
    fixture *f = *state;
    char path[160];
    copy_results(f, "no_summary.h5", path, sizeof path);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    assert_true(H5Ldelete(file, "drift/prompt_attention_mean",
                          H5P_DEFAULT) >= 0);
    H5Fclose(file);

    assert_load_fails_with(path, path, "/drift/prompt_attention_mean: the "
                           "dataset is missing", NULL);

    /* the settings alone do not need it */
    dl_results r;
    dl_error err;
    assert_int_equal(dl_results_load_settings(path, &r, &err), 0);
    dl_results_free(&r);
}

static void other_format_version_is_rejected(void **state)
{
    fixture *f = *state;
    char path[160];
    copy_results(f, "version_2.h5", path, sizeof path);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t attribute = H5Aopen(file, "format_version", H5P_DEFAULT);
    assert_true(attribute >= 0);
    const int32_t version = 2;
    assert_true(H5Awrite(attribute, H5T_NATIVE_INT32, &version) >= 0);
    H5Aclose(attribute);
    H5Fclose(file);

    assert_load_fails_with(path, path, "has results format version 2, this "
                           "driftlab reads version 1", NULL);
}

static void missing_figures_group_is_named(void **state)
{
    fixture *f = *state;
    char path[160];
    copy_results(f, "no_figures.h5", path, sizeof path);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    assert_true(H5Ldelete(file, "figures", H5P_DEFAULT) >= 0);
    H5Fclose(file);

    assert_load_fails_with(path, path, "/figures: the group is missing",
                           NULL);
}

/* Copies the results file to folder/name and opens the copy for
 * writing. */
static hid_t open_copy(const fixture *f, const char *name, char *path,
                       size_t size)
{
    copy_results(f, name, path, size);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    return file;
}

/* Overwrites the first element of dataset name with *value, read as
 * memory_type. */
static void first_element_write(hid_t file, const char *name,
                                hid_t memory_type, const void *value)
{
    hid_t dataset = H5Dopen2(file, name, H5P_DEFAULT);
    assert_true(dataset >= 0);
    hid_t space = H5Dget_space(dataset);
    int rank = H5Sget_simple_extent_ndims(space);
    assert_true(rank >= 1);
    hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
    for (int d = 0; d < rank; d++)
        count[d] = 1;
    assert_true(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL,
                                    count, NULL) >= 0);
    hsize_t one = 1;
    hid_t memory = H5Screate_simple(1, &one, NULL);
    assert_true(H5Dwrite(dataset, memory_type, memory, space, H5P_DEFAULT,
                         value) >= 0);
    H5Sclose(memory);
    H5Sclose(space);
    H5Dclose(dataset);
}

static void unfinished_run_is_rejected(void **state)
{
    fixture *f = *state;
    char path[160];
    hid_t file = open_copy(f, "unfinished.h5", path, sizeof path);
    const uint8_t not_done = 0;
    first_element_write(file, "drift/run_done", H5T_NATIVE_UINT8, &not_done);
    H5Fclose(file);

    assert_load_fails_with(path, path, "only 17 of 18 runs are done, so the "
                           "figures would be incomplete",
                           "driftlab run --resume", NULL);

    /* info describes unfinished files */
    dl_results r;
    dl_error err;
    assert_int_equal(dl_results_load_settings(path, &r, &err), 0);
    dl_results_free(&r);
}

static void unwritten_summary_is_rejected(void **state)
{
    fixture *f = *state;
    char path[160];
    hid_t file = open_copy(f, "no_mean.h5", path, sizeof path);
    const double fill = NAN;
    first_element_write(file, "drift/lock_in_mean", H5T_NATIVE_DOUBLE,
                        &fill);
    H5Fclose(file);

    assert_load_fails_with(path, path, "/drift/lock_in_mean is missing at "
                           "sweep point 0, step 0",
                           "driftlab run --resume", NULL);
}

static void edited_config_text_is_rejected(void **state)
{
    fixture *f = *state;
    char path[160];
    hid_t file = open_copy(f, "edited_config.h5", path, sizeof path);
    static const char edited[] = "[drift]\nsteps = 99\n";
    assert_true(H5Adelete(file, "config_text") >= 0);
    hid_t type = H5Tcopy(H5T_C_S1);
    assert_true(H5Tset_size(type, H5T_VARIABLE) >= 0);
    assert_true(H5Tset_cset(type, H5T_CSET_UTF8) >= 0);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attribute = H5Acreate2(file, "config_text", type, space,
                                 H5P_DEFAULT, H5P_DEFAULT);
    assert_true(attribute >= 0);
    const char *text = edited;
    assert_true(H5Awrite(attribute, type, &text) >= 0);
    H5Aclose(attribute);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);

    char edited_digest[65];
    assert_int_equal(dl_sha256_hex(edited, strlen(edited), edited_digest), 0);
    assert_load_fails_with(path, path, edited_digest,
                           f->results.config_sha256, NULL);
}

static void png_ppi_outside_range_is_rejected(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *name;
        double ppi;
        const char *shown;
    } cases[] = {
        {"ppi_1200.h5", 1200.0, "png_ppi is 1200"},
        {"ppi_20.h5", 20.0, "png_ppi is 20"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[160];
        hid_t file = open_copy(f, cases[i].name, path, sizeof path);
        hid_t group = H5Gopen2(file, "figures", H5P_DEFAULT);
        hid_t attribute = H5Aopen(group, "png_ppi", H5P_DEFAULT);
        assert_true(attribute >= 0);
        assert_true(H5Awrite(attribute, H5T_NATIVE_DOUBLE, &cases[i].ppi)
                    >= 0);
        H5Aclose(attribute);
        H5Gclose(group);
        H5Fclose(file);

        assert_load_fails_with(path, path, "/figures", cases[i].shown,
                               "from 36 to 600 pixels per inch", NULL);
    }
}

static void folder_is_named_as_folder(void **state)
{
    fixture *f = *state;
    assert_load_fails_with(f->folder, f->folder, "is a folder, not a "
                           "results file", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_reads_root_and_model),
        cmocka_unit_test(load_reads_axes_and_seeds),
        cmocka_unit_test(scalars_hold_unswept_values),
        cmocka_unit_test(value_and_axis_index_follow_points),
        cmocka_unit_test(figure_settings_round_trip),
        cmocka_unit_test(summaries_match_recomputed_statistics),
        cmocka_unit_test(half_life_of_median_matches_median),
        cmocka_unit_test(per_run_values_match_runs),
        cmocka_unit_test(load_run_matches_model),
        cmocka_unit_test(load_run_rejects_out_of_range),
        cmocka_unit_test(load_settings_leaves_arrays_out),
        cmocka_unit_test(file_without_axes_has_one_point),
        cmocka_unit_test(missing_file_is_named),
        cmocka_unit_test(non_hdf5_file_is_rejected),
        cmocka_unit_test(missing_summary_dataset_is_named),
        cmocka_unit_test(other_format_version_is_rejected),
        cmocka_unit_test(missing_figures_group_is_named),
        cmocka_unit_test(unfinished_run_is_rejected),
        cmocka_unit_test(unwritten_summary_is_rejected),
        cmocka_unit_test(edited_config_text_is_rejected),
        cmocka_unit_test(png_ppi_outside_range_is_rejected),
        cmocka_unit_test(folder_is_named_as_folder),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
