/* store_info.c - `driftlab info`: a summary of what a results file contains.
 *
 * Opens a finished results.h5 (or a .partial one) read-only. It prints the
 * versions, the config name and SHA-256, the master seed, each sweep axis
 * with its values, and the seeds, steps and positions. The model settings,
 * the values of the keys that are not swept and the figure settings follow,
 * read with dl_results_load_settings. Then come how many runs are done and
 * every dataset of /drift with its type, shape and dimension names. The
 * sweep axes are the scales attached to run_done, so the listing follows
 * the file and needs no config.
 *
 * With /lora it adds a LoRA summary: D, N, the task rank, the ranks,
 * alphas, scalings and seeds, the median eval KL over seeds of each rank
 * at the first alpha and scaling, and the full-rank baseline. A file with
 * /lora only gets the root attributes and that summary.
 *
 * Left out: the data values themselves (use h5py or xarray).
 *
 * Names and strings from the file are printed only when they are UTF-8
 * without control characters, and nothing is printed unless the whole
 * file reads.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "store_internal.h"
#include "sweep_values.h"
#include "utf8.h"

/* Axis value lists longer than this print their head and last value. */
#define INFO_MAX_VALUES 10

/* Maximum size in bytes, NUL included, of a dataset or dimension name. */
#define INFO_NAME_MAX 64

/* Formats value as the config does: an integer below 1e16 in full (150,
 * not 1.5e+02), anything else with the fewest significant digits that
 * read back to the same double, so 0.1 prints as 0.1. */
static void format_double(double value, char *text, size_t size)
{
    dl_sweep_values_format(value, text, size);
}

/* Prints the elements of a 1-D integer or float dataset on one line,
 * shortened to the first values and the last one when there are many. */
static int values_print(hid_t dataset, const char *file, const char *object,
                        FILE *out, dl_error *err)
{
    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    double *values = NULL;
    int status = -1;
    hsize_t length = 0;
    if (type < 0 || space < 0 || H5Sget_simple_extent_ndims(space) != 1
        || H5Sget_simple_extent_dims(space, &length, NULL) != 1) {
        dl_error_set(err, "%s: %s: the coordinate is not one-dimensional",
                     file, object);
        goto done;
    }
    H5T_class_t type_class = H5Tget_class(type);
    if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
        dl_error_set(err, "%s: %s: the coordinate is not numeric", file,
                     object);
        goto done;
    }

    /* Integers up to 2^53 are exact as doubles; axis values and seeds fit. */
    values = malloc((length > 0 ? (size_t)length : 1) * sizeof *values);
    if (values == NULL) {
        dl_error_set(err, "%s: %s: out of memory", file, object);
        goto done;
    }
    if (length > 0 && H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, values) < 0) {
        dl_store_h5_fail(err, file, object, "reading the values failed");
        goto done;
    }

    fprintf(out, "%llu value%s:", (unsigned long long)length,
            length == 1 ? "" : "s");
    for (hsize_t i = 0; i < length; i++) {
        if (length > INFO_MAX_VALUES && i == INFO_MAX_VALUES - 2) {
            fprintf(out, " ...,");
            i = length - 1;
        }
        char text[32];
        format_double(values[i], text, sizeof text);
        fprintf(out, " %s%s", text, i + 1 < length ? "," : "");
    }
    fprintf(out, "\n");
    status = 0;

done:
    free(values);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return status;
}

/* Writes a numpy-style name of the element type, e.g. "float64". */
static void type_name(hid_t type, char *name, size_t size)
{
    size_t bits = 8 * H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(name, size, "%sint%zu",
                 H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
        break;
    case H5T_FLOAT:
        snprintf(name, size, "float%zu", bits);
        break;
    case H5T_STRING:
        snprintf(name, size, "string");
        break;
    default:
        snprintf(name, size, "other");
        break;
    }
}

/* Prints one dataset of /drift: name, type, shape and dimension names. */
static int dataset_print(hid_t group, const char *name, const char *file,
                         FILE *out, dl_error *err)
{
    char object[INFO_NAME_MAX + 16];
    snprintf(object, sizeof object, "/drift/%s", name);

    hid_t dataset = H5Dopen2(group, name, H5P_DEFAULT);
    if (dataset < 0)
        return dl_store_h5_fail(err, file, object, "opening the dataset "
                                "failed");
    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    int status = 0;
    hsize_t dims[H5S_MAX_RANK];
    int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    if (type < 0 || rank < 0) {
        status = dl_store_h5_fail(err, file, object, "reading the type and "
                                  "shape failed");
        goto done;
    }

    char type_text[16];
    type_name(type, type_text, sizeof type_text);
    fprintf(out, "  %-30s %-8s ", name, type_text);
    if (rank == 0)
        fprintf(out, "scalar");
    for (int d = 0; d < rank; d++)
        fprintf(out, "%s%llu", d > 0 ? " x " : "",
                (unsigned long long)dims[d]);

    /* A coordinate labels itself; other datasets list their dimensions. */
    if (H5DSis_scale(dataset) > 0) {
        fprintf(out, "  coordinate");
    } else if (rank > 0) {
        fprintf(out, "  (");
        for (int d = 0; d < rank; d++) {
            char dim_name[INFO_NAME_MAX];
            dl_store_dimension_name(dataset, (unsigned)d, dim_name,
                                    sizeof dim_name, "?");
            if (dl_store_text_check(file, object, "a dimension name", dim_name,
                           err) != 0) {
                status = -1;
                goto done;
            }
            fprintf(out, "%s%s", d > 0 ? ", " : "", dim_name);
        }
        fprintf(out, ")");
    }
    fprintf(out, "\n");

done:
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(dataset);
    return status;
}

/* Prints every dataset of /drift, in name order. */
static int datasets_print(hid_t group, const char *file, FILE *out,
                          dl_error *err)
{
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0)
        return dl_store_h5_fail(err, file, "/drift", "listing the group "
                                "failed");

    fprintf(out, "datasets in /drift (%llu):\n",
            (unsigned long long)info.nlinks);
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[INFO_NAME_MAX];
        ssize_t length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME,
                                            H5_ITER_INC, i, name, sizeof name,
                                            H5P_DEFAULT);
        if (length < 0)
            return dl_store_h5_fail(err, file, "/drift", "reading the name "
                                    "of link %llu failed",
                                    (unsigned long long)i);
        if ((size_t)length >= sizeof name)
            return dl_error_set(err, "%s: /drift: link %llu has a name longer "
                                "than %d bytes, which no driftlab dataset "
                                "has", file, (unsigned long long)i,
                                INFO_NAME_MAX - 1);
        if (dl_store_text_check(file, "/drift", "a link name", name, err) != 0
            || dataset_print(group, name, file, out, err) != 0)
            return -1;
    }
    return 0;
}

/* Prints each sweep axis with its values: the dimensions of run_done
 * before its last one, seed. */
static int axes_print(hid_t group, hid_t run_done, int rank, const char *file,
                      FILE *out, dl_error *err)
{
    fprintf(out, "sweep axes:       %d%s\n", rank - 1,
            rank - 1 == 0 ? " (one point)" : ", slowest first");
    for (int d = 0; d < rank - 1; d++) {
        char name[INFO_NAME_MAX];
        dl_store_dimension_name(run_done, (unsigned)d, name, sizeof name,
                                "?");
        if (dl_store_text_check(file, "/drift/run_done", "a dimension name", name,
                       err) != 0)
            return -1;
        char object[INFO_NAME_MAX + 16];
        snprintf(object, sizeof object, "/drift/%s", name);

        hid_t axis = H5Dopen2(group, name, H5P_DEFAULT);
        if (axis < 0)
            return dl_store_h5_fail(err, file, "/drift/run_done",
                                    "opening the coordinate of dimension %d "
                                    "failed", d);
        fprintf(out, "  %-16s ", name);
        int status = values_print(axis, file, object, out, err);
        H5Dclose(axis);
        if (status != 0)
            return -1;
    }
    return 0;
}

/* Prints how many elements of run_done are set. */
static int runs_print(hid_t run_done, const char *file, FILE *out,
                      dl_error *err)
{
    hid_t space = H5Dget_space(run_done);
    hssize_t n_runs = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (space >= 0)
        H5Sclose(space);
    if (n_runs < 0)
        return dl_store_h5_fail(err, file, "/drift/run_done",
                                "reading the shape failed");

    uint8_t *done = malloc(n_runs > 0 ? (size_t)n_runs : 1);
    if (done == NULL)
        return dl_error_set(err, "%s: /drift/run_done: out of memory", file);
    if (n_runs > 0 && H5Dread(run_done, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, done) < 0) {
        free(done);
        return dl_store_h5_fail(err, file, "/drift/run_done",
                                "reading the flags failed");
    }
    long long n_done = 0;
    for (hssize_t r = 0; r < n_runs; r++)
        n_done += done[r] != 0;
    free(done);

    fprintf(out, "runs:             %lld of %lld runs done\n", n_done,
            (long long)n_runs);
    return 0;
}

/* Prints the root attributes: versions, config and master seed. */
static int root_print(hid_t file_id, const char *file, FILE *out,
                      dl_error *err)
{
    char *version = NULL, *name = NULL, *sha256 = NULL;
    uint64_t master_seed = 0;
    int status = -1;
    if (dl_store_read_string_attribute(file_id, file, "/", "driftlab_version",
                                       &version, err) != 0
        || dl_store_read_string_attribute(file_id, file, "/", "config_name",
                                          &name, err) != 0
        || dl_store_read_string_attribute(file_id, file, "/", "config_sha256",
                                          &sha256, err) != 0
        || dl_store_read_uint64_attribute(file_id, file, "/", "master_seed",
                                          &master_seed, err) != 0
        || dl_store_text_check(file, "/", "attribute driftlab_version", version,
                      err) != 0
        || dl_store_text_check(file, "/", "attribute config_name", name, err) != 0
        || dl_store_text_check(file, "/", "attribute config_sha256", sha256, err) != 0)
        goto done;

    fprintf(out, "format:           %d, written by driftlab %s\n",
            DL_STORE_FORMAT_VERSION, version);
    fprintf(out, "config:           %s\n", name);
    fprintf(out, "config SHA-256:   %s\n", sha256);
    fprintf(out, "master seed:      %" PRIu64 "\n", master_seed);
    status = 0;

done:
    free(sha256);
    free(name);
    free(version);
    return status;
}

/* Prints the seeds, steps and positions of /drift. */
static int sizes_print(hid_t group, const char *file, FILE *out,
                       dl_error *err)
{
    int64_t steps = 0, prompt_length = 0;
    if (dl_store_read_int64_attribute(group, file, "/drift", "steps", &steps,
                                      err) != 0
        || dl_store_read_int64_attribute(group, file, "/drift",
                                         "prompt_length", &prompt_length,
                                         err) != 0)
        return -1;

    hid_t seed = H5Dopen2(group, "seed", H5P_DEFAULT);
    if (seed < 0)
        return dl_store_h5_fail(err, file, "/drift/seed",
                                "opening the coordinate failed");
    fprintf(out, "seeds:            ");
    int status = values_print(seed, file, "/drift/seed", out, err);
    H5Dclose(seed);
    if (status != 0)
        return -1;

    fprintf(out, "steps:            %lld\n", (long long)steps);
    fprintf(out, "positions:        %lld (prompt %lld + %lld steps)\n",
            (long long)(prompt_length + steps), (long long)prompt_length,
            (long long)steps);
    return 0;
}

/* Prints the DL_FORMAT_* bits as "svg, pdf, png". */
static void formats_print(unsigned formats, FILE *out)
{
    const char *separator = "";
    if (formats & DL_FORMAT_SVG) {
        fprintf(out, "svg");
        separator = ", ";
    }
    if (formats & DL_FORMAT_PDF) {
        fprintf(out, "%spdf", separator);
        separator = ", ";
    }
    if (formats & DL_FORMAT_PNG)
        fprintf(out, "%spng", separator);
    if (formats == 0)
        fprintf(out, "none");
}

/* Prints the model settings, the value of each sweepable key that is not
 * an axis, and the figure settings. */
static int settings_print(const char *path, FILE *out, dl_error *err)
{
    dl_results results;
    if (dl_results_load_settings(path, &results, err) != 0)
        return -1;

    fprintf(out, "model:            rule %s, projection %s\n",
            dl_rule_name(results.rule),
            dl_projection_name(results.projection));
    fprintf(out, "vocabulary:       %d clusters x %d tokens = %d tokens\n",
            results.clusters, results.tokens_per_cluster,
            results.vocab_size);
    fprintf(out, "head:             d_model %d, d_head %d\n", results.d_model,
            results.d_head);

    fprintf(out, "fixed values:    ");
    const char *separator = " ";
    for (int k = 0; k < DL_SWEEP_COUNT; k++) {
        if (dl_results_axis_index(&results, (dl_sweep_key)k) >= 0)
            continue;
        char text[32];
        format_double(results.scalar[k], text, sizeof text);
        fprintf(out, "%s%s %s", separator, dl_sweep_key_name((dl_sweep_key)k),
                text);
        separator = ", ";
    }
    fprintf(out, "%s\n", separator[0] == ' ' ? " none (every key is swept)"
                                             : "");

    if (results.n_kept > 0)
        fprintf(out, "attention rows:   stored for the first %zu seed%s "
                "(keep_attention = %d)\n", results.n_kept,
                results.n_kept == 1 ? "" : "s", results.keep_attention);
    else
        fprintf(out, "attention rows:   not stored (keep_attention = 0)\n");

    const dl_figure_settings *figures = &results.figures;
    char temperature[32], ppi[32];
    format_double(figures->temperature, temperature, sizeof temperature);
    format_double(figures->png_ppi, ppi, sizeof ppi);
    fprintf(out, "figures:          temperature %s, seed %" PRId64 ", png_ppi "
            "%s, strip_steps %d, formats ", temperature, figures->seed, ppi,
            figures->strip_steps);
    formats_print(figures->formats, out);
    fprintf(out, "\n");

    dl_results_free(&results);
    return 0;
}

/* Prints "label n values: v1, v2, ..." for integers. */
static void integers_print(const char *label, const int64_t *values, size_t n,
                           FILE *out)
{
    fprintf(out, "%s%zu value%s:", label, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        if (n > INFO_MAX_VALUES && i == INFO_MAX_VALUES - 2) {
            fprintf(out, " ...,");
            i = n - 1;
        }
        fprintf(out, " %" PRId64 "%s", values[i], i + 1 < n ? "," : "");
    }
    fprintf(out, "\n");
}

/* Prints the LoRA summary: sizes, axes, seeds, the median eval KL of each
 * rank at the alpha the figures show (dl_lora_shown_alpha) and the first
 * scaling, and the full-rank baseline. */
static int lora_print(hid_t file_id, const char *path, FILE *out,
                      dl_error *err)
{
    dl_lora_results lora;
    if (dl_store_lora_read((int64_t)file_id, path, &lora, err) != 0)
        return -1;

    char text[32];
    fprintf(out, "lora:             D %d x N %d, task rank %d, init %s, %d "
            "steps\n", lora.D, lora.N, lora.task_rank, lora.init, lora.steps);
    integers_print("lora ranks:       ", lora.rank, lora.n_ranks, out);
    fprintf(out, "lora alphas:      %zu value%s:", lora.n_alphas,
            lora.n_alphas == 1 ? "" : "s");
    for (size_t i = 0; i < lora.n_alphas; i++) {
        format_double(lora.alpha[i], text, sizeof text);
        fprintf(out, " %s%s", text, i + 1 < lora.n_alphas ? "," : "");
    }
    fprintf(out, "\nlora scalings:    %zu value%s:", lora.n_scalings,
            lora.n_scalings == 1 ? "" : "s");
    for (size_t i = 0; i < lora.n_scalings; i++)
        fprintf(out, " %s%s", lora.scaling[i],
                i + 1 < lora.n_scalings ? "," : "");
    fprintf(out, "\n");
    integers_print("lora seeds:       ", lora.seed, lora.n_seeds, out);

    /* the alpha of the figures and the report's table, because alpha 0
     * leaves the base model unchanged and its eval KL shows no rank */
    size_t alpha = dl_lora_shown_alpha(&lora);
    format_double(lora.alpha[alpha], text, sizeof text);
    fprintf(out, "median eval KL over seeds at alpha %s (%s), scaling %s "
            "(nats):\n", text, lora.alpha[alpha] > 0.0
                ? "the first alpha above 0, as in the figures"
                : "every alpha is 0",
            lora.scaling[0]);
    for (size_t r = 0; r < lora.n_ranks; r++)
        fprintf(out, "  rank %-10" PRId64 "%.6g\n", lora.rank[r],
                dl_lora_median_over_seeds(&lora, lora.eval_kl, r, alpha, 0));
    fprintf(out, "  full rank      %.6g (forgetting %.6g)\n",
            dl_lora_median(lora.full_rank_eval_kl, lora.n_seeds, 1),
            dl_lora_median(lora.full_rank_forgetting, lora.n_seeds, 1));
    dl_lora_results_free(&lora);
    return 0;
}

/* Prints the summary of path to out; dl_store_print_info buffers it. */
static int info_print(const char *path, FILE *out, dl_error *err)
{
    dl_store_h5_silence();

    /* Check the file before HDF5 does, for a plain message. */
    FILE *probe = fopen(path, "rb");
    if (probe == NULL)
        return dl_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0)
        return dl_error_set(err, "%s is not an HDF5 file, so it is not a "
                            "driftlab results file", path);

    hid_t file_id = H5I_INVALID_HID, group = H5I_INVALID_HID;
    hid_t run_done = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int status = -1;

    file_id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file_id < 0) {
        dl_store_h5_fail(err, path, "/", "opening the file failed");
        goto done;
    }

    /* What makes it a driftlab file: format_version, /drift, run_done. */
    htri_t has_format = H5Aexists(file_id, "format_version");
    if (has_format <= 0) {
        dl_error_set(err, "%s is not a driftlab results file: the root "
                     "attribute format_version is missing", path);
        goto done;
    }
    int64_t format = 0;
    if (dl_store_read_int64_attribute(file_id, path, "/", "format_version",
                                      &format, err) != 0)
        goto done;
    if (format != DL_STORE_FORMAT_VERSION) {
        dl_error_set(err, "%s has results format version %lld, this driftlab "
                     "reads version %d", path, (long long)format,
                     DL_STORE_FORMAT_VERSION);
        goto done;
    }
    htri_t has_drift = H5Lexists(file_id, "drift", H5P_DEFAULT);
    htri_t has_lora = H5Lexists(file_id, "lora", H5P_DEFAULT);
    if (has_drift <= 0 && has_lora <= 0) {
        dl_error_set(err, "%s is not a driftlab results file: it has neither "
                     "a /drift nor a /lora group", path);
        goto done;
    }
    if (has_drift <= 0) {
        fprintf(out, "results file:     %s\n", path);
        if (root_print(file_id, path, out, err) != 0
            || lora_print(file_id, path, out, err) != 0)
            goto done;
        status = 0;
        goto done;
    }
    group = H5Gopen2(file_id, "drift", H5P_DEFAULT);
    if (group < 0) {
        dl_store_h5_fail(err, path, "/drift", "opening the group failed");
        goto done;
    }
    if (H5Lexists(group, "run_done", H5P_DEFAULT) <= 0) {
        dl_error_set(err, "%s is not a complete driftlab results file: the "
                     "dataset /drift/run_done is missing", path);
        goto done;
    }
    run_done = H5Dopen2(group, "run_done", H5P_DEFAULT);
    space = run_done >= 0 ? H5Dget_space(run_done) : H5I_INVALID_HID;
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (rank < 1) {
        dl_store_h5_fail(err, path, "/drift/run_done",
                         "reading the dimensions failed");
        goto done;
    }

    fprintf(out, "results file:     %s\n", path);
    if (root_print(file_id, path, out, err) != 0
        || axes_print(group, run_done, rank, path, out, err) != 0
        || sizes_print(group, path, out, err) != 0
        || settings_print(path, out, err) != 0
        || runs_print(run_done, path, out, err) != 0
        || datasets_print(group, path, out, err) != 0
        || (has_lora > 0 && lora_print(file_id, path, out, err) != 0))
        goto done;
    status = 0;

done:
    if (space >= 0)
        H5Sclose(space);
    if (run_done >= 0)
        H5Dclose(run_done);
    if (group >= 0)
        H5Gclose(group);
    if (file_id >= 0)
        H5Fclose(file_id);
    return status;
}

int dl_store_print_info(const char *path, FILE *out, dl_error *err)
{
    /* The summary is printed only when the whole file reads, so that a
     * bad file gives the error alone and no listing that looks complete. */
    char *text = NULL;
    size_t size = 0;
    FILE *buffer = open_memstream(&text, &size);
    if (buffer == NULL)
        return dl_error_set(err, "%s: out of memory for the summary", path);
    int status = info_print(path, buffer, err);
    if (fclose(buffer) != 0 && status == 0)
        status = dl_error_set(err, "%s: out of memory for the summary", path);
    if (status == 0 && fwrite(text, 1, size, out) != size)
        status = dl_error_set(err, "writing the summary of %s failed: %s", path,
                              strerror(errno));
    free(text);
    return status;
}
