/* store_read.c - reading results.h5 back; the implementation of results.h.
 *
 * Format: docs/results-format.md, format version 1. dl_results_load reads
 * the attributes of /, /drift and /figures, the coordinates and the
 * per-point arrays into memory and closes the file again. So a dl_results
 * contains no HDF5 id, and dl_results_load_run reopens the file for each run
 * and reads it with hyperslabs.
 *
 * Invariants:
 * - The sweep axes are the dimensions of /drift/run_done before its last
 *   one, seed, each named by the coordinate attached to it, as in
 *   store_info.c. Every other dataset must have the shape these give.
 * - dl_results_load accepts only a finished file: every run_done set,
 *   every summary written and config_text matching config_sha256.
 *   dl_results_load_settings skips these checks, so info can describe a
 *   .partial file.
 * - Every failure names the file, the object and what was expected.
 * - On failure nothing stays allocated or open, and the output struct is
 *   zeroed.
 *
 * A file may have /drift, /lora or both; /lora is read by
 * store_lora_read.c.
 *
 * Leaves out: the per-world datasets (embedding, projections, prompt) and
 * the per-run series of seeds that are not kept.
 */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "store_internal.h"

/* Maximum size in bytes, NUL included, of a dimension name. */
#define READ_NAME_MAX 64

/* An open results file and its /drift group. */
typedef struct {
    const char *path;
    hid_t file;
    hid_t drift;
} reader;

/* Element type class a dataset must have. */
typedef enum {
    KIND_FLOAT = 0,
    KIND_INTEGER,
    KIND_NUMBER     /* integer or float, as a sweep axis */
} value_kind;

static const char *const kind_names[] = {
    [KIND_FLOAT] = "floating-point",
    [KIND_INTEGER] = "integer",
    [KIND_NUMBER] = "numeric",
};

/* ---- sizes ---- */

/* Sets *product = a * b; returns false when that overflows size_t. */
static bool size_multiply(size_t a, size_t b, size_t *product)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *product = a * b;
    return true;
}

/* Writes "2 x 3 x 12" (or "scalar") into text. */
static void shape_text(int rank, const hsize_t *dims, char *text,
                       size_t size)
{
    size_t used = 0;
    snprintf(text, size, "scalar");
    for (int d = 0; d < rank && used < size; d++) {
        int n = snprintf(text + used, size - used, "%s%llu",
                         d > 0 ? " x " : "", (unsigned long long)dims[d]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* ---- attributes ---- */

/* Reads an integer attribute that must lie in [min, max]. */
static int attribute_read_int(hid_t object, const char *file,
                              const char *object_name, const char *name,
                              int64_t min, int64_t max, int *value,
                              dl_error *err)
{
    int64_t stored = 0;
    if (dl_store_read_int64_attribute(object, file, object_name, name,
                                      &stored, err) != 0)
        return -1;
    if (stored < min || stored > max)
        return dl_error_set(err, "%s: %s: attribute %s is %lld, expected an "
                            "integer from %lld to %lld", file, object_name,
                            name, (long long)stored, (long long)min,
                            (long long)max);
    *value = (int)stored;
    return 0;
}

/* ---- datasets ---- */

/* Opens /drift/name and checks its element type class and its shape
 * against rank and dims. Returns the dataset, or a negative id with err
 * set. */
static hid_t dataset_open(const reader *r, const char *name, value_kind kind,
                          int rank, const hsize_t *dims, dl_error *err)
{
    char object[READ_NAME_MAX + 16];
    snprintf(object, sizeof object, "/drift/%s", name);

    htri_t exists = H5Lexists(r->drift, name, H5P_DEFAULT);
    if (exists <= 0) {
        dl_error_set(err, "%s: %s: the dataset is missing", r->path, object);
        return H5I_INVALID_HID;
    }
    hid_t dataset = H5Dopen2(r->drift, name, H5P_DEFAULT);
    if (dataset < 0) {
        dl_store_h5_fail(err, r->path, object, "opening the dataset failed");
        return H5I_INVALID_HID;
    }

    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    int status = 0;
    hsize_t stored[H5S_MAX_RANK];
    int stored_rank = space >= 0
        ? H5Sget_simple_extent_dims(space, stored, NULL) : -1;
    H5T_class_t type_class = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    bool class_ok = kind == KIND_FLOAT ? type_class == H5T_FLOAT
                  : kind == KIND_INTEGER ? type_class == H5T_INTEGER
                  : type_class == H5T_FLOAT || type_class == H5T_INTEGER;

    if (type < 0 || stored_rank < 0) {
        status = dl_store_h5_fail(err, r->path, object,
                                  "reading the type and shape failed");
    } else if (!class_ok) {
        status = dl_error_set(err, "%s: %s: the dataset's elements are not "
                              "%s", r->path, object, kind_names[kind]);
    } else {
        bool same = stored_rank == rank;
        for (int d = 0; same && d < rank; d++)
            same = stored[d] == dims[d];
        if (!same) {
            char found[128], expected[128];
            shape_text(stored_rank, stored, found, sizeof found);
            shape_text(rank, dims, expected, sizeof expected);
            status = dl_error_set(err, "%s: %s: the dataset has shape %s, "
                                  "expected %s", r->path, object, found,
                                  expected);
        }
    }

    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (status != 0) {
        H5Dclose(dataset);
        return H5I_INVALID_HID;
    }
    return dataset;
}

/* Reads the block start[d] .. start[d] + count[d] - 1 of /drift/name,
 * whose shape must be dims, into buffer in row-major order. With rank 0
 * it reads the scalar. */
static int slab_read(const reader *r, const char *name, value_kind kind,
                     int rank, const hsize_t *dims, const hsize_t *start,
                     const hsize_t *count, hid_t memory_type, void *buffer,
                     dl_error *err)
{
    hid_t dataset = dataset_open(r, name, kind, rank, dims, err);
    if (dataset < 0)
        return -1;

    char object[READ_NAME_MAX + 16];
    snprintf(object, sizeof object, "/drift/%s", name);
    hid_t file_space = H5Dget_space(dataset);
    hid_t memory_space = H5I_INVALID_HID;
    int status = 0;

    hsize_t n_elements = 1;
    for (int d = 0; d < rank; d++)
        n_elements *= count[d];
    if (file_space < 0) {
        status = dl_store_h5_fail(err, r->path, object,
                                  "reading the shape failed");
    } else if (rank == 0) {
        memory_space = H5Screate(H5S_SCALAR);
        if (memory_space < 0 || H5Sselect_all(file_space) < 0)
            status = dl_store_h5_fail(err, r->path, object,
                                      "selecting the value failed");
    } else {
        memory_space = H5Screate_simple(1, &n_elements, NULL);
        if (memory_space < 0
            || H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL,
                                   count, NULL) < 0)
            status = dl_store_h5_fail(err, r->path, object,
                                      "selecting the block failed");
    }

    if (status == 0 && n_elements > 0
        && H5Dread(dataset, memory_type, memory_space, file_space,
                   H5P_DEFAULT, buffer) < 0)
        status = dl_store_h5_fail(err, r->path, object,
                                  "reading the dataset failed");

    if (memory_space >= 0)
        H5Sclose(memory_space);
    if (file_space >= 0)
        H5Sclose(file_space);
    H5Dclose(dataset);
    return status;
}

/* Reads the whole of /drift/name, whose shape must be dims. */
static int whole_read(const reader *r, const char *name, value_kind kind,
                      int rank, const hsize_t *dims, hid_t memory_type,
                      void *buffer, dl_error *err)
{
    hsize_t start[H5S_MAX_RANK] = {0};
    return slab_read(r, name, kind, rank, dims, start, dims, memory_type,
                     buffer, err);
}

/* ---- the file and its groups ---- */

/* Opens path read-only after checking that it exists, is HDF5 and has
 * format_version 1 and /drift or /lora. r->drift stays invalid without
 * /drift. */
static int reader_open(reader *r, const char *path, dl_error *err)
{
    r->path = path;
    r->file = H5I_INVALID_HID;
    r->drift = H5I_INVALID_HID;

    /* Check the file before HDF5 does, for a plain message. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return dl_error_set(err, "%s is a folder, not a results file; give the "
                            "results file inside it, such as %s/results.h5",
                            path, path);
    FILE *probe = fopen(path, "rb");
    if (probe == NULL)
        return dl_error_set(err, "%s: cannot open: %s", path,
                            strerror(errno));
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0)
        return dl_error_set(err, "%s is not an HDF5 file, so it is not a "
                            "driftlab results file", path);

    r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->file < 0)
        return dl_store_h5_fail(err, path, "/", "opening the file failed");

    if (H5Aexists(r->file, "format_version") <= 0)
        return dl_error_set(err, "%s is not a driftlab results file: the "
                            "root attribute format_version is missing", path);
    int64_t format = 0;
    if (dl_store_read_int64_attribute(r->file, path, "/", "format_version",
                                      &format, err) != 0)
        return -1;
    if (format != DL_STORE_FORMAT_VERSION)
        return dl_error_set(err, "%s has results format version %lld, this "
                            "driftlab reads version %d only", path,
                            (long long)format, DL_STORE_FORMAT_VERSION);

    htri_t has_drift = H5Lexists(r->file, "drift", H5P_DEFAULT);
    htri_t has_lora = H5Lexists(r->file, "lora", H5P_DEFAULT);
    if (has_drift <= 0 && has_lora <= 0)
        return dl_error_set(err, "%s is not a driftlab results file: it has "
                            "neither a /drift nor a /lora group", path);
    if (has_drift <= 0)
        return 0;
    r->drift = H5Gopen2(r->file, "drift", H5P_DEFAULT);
    if (r->drift < 0)
        return dl_store_h5_fail(err, path, "/drift",
                                "opening the group failed");
    return 0;
}

static void reader_close(reader *r)
{
    if (r->drift >= 0)
        H5Gclose(r->drift);
    if (r->file >= 0)
        H5Fclose(r->file);
    r->drift = H5I_INVALID_HID;
    r->file = H5I_INVALID_HID;
}

static bool is_sha256_hex(const char *text)
{
    if (strlen(text) != 64)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static int root_read(const reader *r, dl_results *results, dl_error *err)
{
    const char *path = r->path;
    if (dl_store_read_string_attribute(r->file, path, "/", "driftlab_version",
                                       &results->driftlab_version, err) != 0
        || dl_store_read_string_attribute(r->file, path, "/", "config_name",
                                          &results->config_name, err) != 0
        || dl_store_read_string_attribute(r->file, path, "/", "config_text",
                                          &results->config_text, err) != 0
        || dl_store_read_string_attribute(r->file, path, "/", "config_sha256",
                                          &results->config_sha256, err) != 0
        || dl_store_read_uint64_attribute(r->file, path, "/", "master_seed",
                                          &results->master_seed, err) != 0)
        return -1;

    /* these reach messages, the terminal and the report */
    if (dl_store_text_check(path, "/", "attribute driftlab_version",
                            results->driftlab_version, err) != 0
        || dl_store_text_check(path, "/", "attribute config_name",
                               results->config_name, err) != 0
        || dl_store_text_check(path, "/", "attribute config_sha256",
                               results->config_sha256, err) != 0)
        return -1;
    if (!is_sha256_hex(results->config_sha256))
        return dl_error_set(err, "%s: /: attribute config_sha256 is '%.80s', "
                            "expected 64 lowercase hex digits", path,
                            results->config_sha256);
    return 0;
}

/* Reads the model settings, the attributes of /drift other than the
 * values of the sweepable keys. */
static int model_read(const reader *r, dl_results *results, dl_error *err)
{
    const char *path = r->path;
    char *rule = NULL, *projection = NULL;
    int status = -1;

    if (dl_store_read_string_attribute(r->drift, path, "/drift", "rule",
                                       &rule, err) != 0
        || dl_store_read_string_attribute(r->drift, path, "/drift",
                                          "projection", &projection,
                                          err) != 0
        || dl_store_text_check(path, "/drift", "attribute rule", rule, err) != 0
        || dl_store_text_check(path, "/drift", "attribute projection", projection,
                               err) != 0)
        goto done;

    if (strcmp(rule, "cluster") == 0) {
        results->rule = DL_RULE_CLUSTER;
    } else if (strcmp(rule, "lm") == 0) {
        results->rule = DL_RULE_LM;
    } else {
        dl_error_set(err, "%s: /drift: attribute rule is '%.40s', expected "
                     "'cluster' or 'lm'", path, rule);
        goto done;
    }
    if (strcmp(projection, "identity") == 0) {
        results->projection = DL_PROJECTION_IDENTITY;
    } else if (strcmp(projection, "random") == 0) {
        results->projection = DL_PROJECTION_RANDOM;
    } else {
        dl_error_set(err, "%s: /drift: attribute projection is '%.40s', "
                     "expected 'identity' or 'random'", path, projection);
        goto done;
    }

    const struct {
        const char *name;
        int64_t min;
        int *value;
    } ints[] = {
        {"clusters", 1, &results->clusters},
        {"tokens_per_cluster", 1, &results->tokens_per_cluster},
        {"vocab_size", 1, &results->vocab_size},
        {"d_model", 1, &results->d_model},
        {"d_head", 1, &results->d_head},
        {"prompt_length", 1, &results->prompt_length},
        {"steps", 1, &results->steps},
        {"keep_attention", 0, &results->keep_attention},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (attribute_read_int(r->drift, path, "/drift", ints[i].name,
                               ints[i].min, INT32_MAX, ints[i].value,
                               err) != 0)
            goto done;

    if ((int64_t)results->clusters * results->tokens_per_cluster
        != results->vocab_size) {
        dl_error_set(err, "%s: /drift: attribute vocab_size is %d, expected "
                     "clusters x tokens_per_cluster = %d x %d", path,
                     results->vocab_size, results->clusters,
                     results->tokens_per_cluster);
        goto done;
    }
    if ((int64_t)results->prompt_length + results->steps > INT32_MAX) {
        dl_error_set(err, "%s: /drift: prompt_length + steps exceeds %d "
                     "positions", path, (int)INT32_MAX);
        goto done;
    }
    results->n_positions = results->prompt_length + results->steps;
    status = 0;

done:
    free(projection);
    free(rule);
    return status;
}

/* Finds the sweep axes: the dimensions of run_done before the last,
 * which must be seed. Fills n_axes and each axis's key and length. */
static int axes_find(const reader *r, dl_results *results,
                     hsize_t *seed_count, dl_error *err)
{
    const char *path = r->path;
    if (H5Lexists(r->drift, "run_done", H5P_DEFAULT) <= 0)
        return dl_error_set(err, "%s: /drift/run_done: the dataset is "
                            "missing, so the sweep axes are unknown", path);
    hid_t run_done = H5Dopen2(r->drift, "run_done", H5P_DEFAULT);
    if (run_done < 0)
        return dl_store_h5_fail(err, path, "/drift/run_done",
                                "opening the dataset failed");

    int status = -1;
    hid_t space = H5Dget_space(run_done);
    hsize_t dims[H5S_MAX_RANK];
    int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    if (rank < 0) {
        dl_store_h5_fail(err, path, "/drift/run_done",
                         "reading the shape failed");
        goto done;
    }
    if (rank < 1 || rank > DL_SWEEP_COUNT + 1) {
        dl_error_set(err, "%s: /drift/run_done: the dataset has rank %d, "
                     "expected 1 to %d (the sweep axes, then seed)", path,
                     rank, DL_SWEEP_COUNT + 1);
        goto done;
    }

    char name[READ_NAME_MAX];
    dl_store_dimension_name(run_done, (unsigned)(rank - 1), name,
                            sizeof name, "");
    if (strcmp(name, "seed") != 0) {
        dl_error_set(err, "%s: /drift/run_done: the last dimension is "
                     "labelled '%s', expected 'seed'", path, name);
        goto done;
    }
    *seed_count = dims[rank - 1];

    results->n_axes = 0;
    for (int d = 0; d < rank - 1; d++) {
        dl_store_dimension_name(run_done, (unsigned)d, name, sizeof name,
                                "");
        int key = -1;
        for (int k = 0; k < DL_SWEEP_COUNT; k++)
            if (strcmp(name, dl_sweep_key_name((dl_sweep_key)k)) == 0)
                key = k;
        if (key < 0) {
            dl_error_set(err, "%s: /drift/run_done: dimension %d is labelled "
                         "'%s', expected a sweepable key such as "
                         "temperature or top_p", path, d, name);
            goto done;
        }
        for (size_t a = 0; a < results->n_axes; a++)
            if (results->axes[a].key == (dl_sweep_key)key) {
                dl_error_set(err, "%s: /drift/run_done: the axis %s appears "
                             "twice", path, name);
                goto done;
            }
        if (dims[d] < 1) {
            dl_error_set(err, "%s: /drift/%s: the axis has no values", path,
                         name);
            goto done;
        }
        dl_results_axis *axis = &results->axes[results->n_axes++];
        axis->key = (dl_sweep_key)key;
        axis->length = (size_t)dims[d];
    }
    status = 0;

done:
    if (space >= 0)
        H5Sclose(space);
    H5Dclose(run_done);
    return status;
}

/* Reads the values of each axis, and the sweepable keys that are not
 * axes from the attributes of /drift. */
static int axis_values_read(const reader *r, dl_results *results,
                            dl_error *err)
{
    for (size_t a = 0; a < results->n_axes; a++) {
        dl_results_axis *axis = &results->axes[a];
        axis->values = malloc(axis->length * sizeof *axis->values);
        if (axis->values == NULL)
            return dl_error_set(err, "%s: /drift/%s: out of memory", r->path,
                                dl_sweep_key_name(axis->key));
        hsize_t length = axis->length;
        if (whole_read(r, dl_sweep_key_name(axis->key), KIND_NUMBER, 1,
                       &length, H5T_NATIVE_DOUBLE, axis->values, err) != 0)
            return -1;
    }

    for (int k = 0; k < DL_SWEEP_COUNT; k++) {
        results->scalar[k] = NAN;
        if (dl_results_axis_index(results, (dl_sweep_key)k) >= 0)
            continue;
        if (dl_store_read_double_attribute(r->drift, r->path, "/drift",
                                  dl_sweep_key_name((dl_sweep_key)k),
                                  &results->scalar[k], err) != 0)
            return -1;
    }
    return 0;
}

/* Reads seed and kept_seed. The kept seeds must be the first seeds. */
static int seeds_read(const reader *r, dl_results *results,
                      hsize_t seed_count, dl_error *err)
{
    const char *path = r->path;
    if (seed_count < 1)
        return dl_error_set(err, "%s: /drift/seed: the file has no seeds",
                            path);
    results->n_seeds = (size_t)seed_count;
    results->seeds = malloc(results->n_seeds * sizeof *results->seeds);
    if (results->seeds == NULL)
        return dl_error_set(err, "%s: /drift/seed: out of memory", path);
    if (whole_read(r, "seed", KIND_INTEGER, 1, &seed_count, H5T_NATIVE_INT64,
                   results->seeds, err) != 0)
        return -1;

    size_t keep = (size_t)results->keep_attention;
    results->n_kept = keep < results->n_seeds ? keep : results->n_seeds;
    if (results->n_kept == 0)
        return 0;

    hsize_t kept_count = results->n_kept;
    int64_t *kept_seeds = malloc(results->n_kept * sizeof *kept_seeds);
    if (kept_seeds == NULL)
        return dl_error_set(err, "%s: /drift/kept_seed: out of memory", path);
    int status = whole_read(r, "kept_seed", KIND_INTEGER, 1, &kept_count,
                            H5T_NATIVE_INT64, kept_seeds, err);
    if (status == 0
        && memcmp(kept_seeds, results->seeds,
                  results->n_kept * sizeof *kept_seeds) != 0)
        status = dl_error_set(err, "%s: /drift/kept_seed: the values are not "
                              "the first %zu seeds", path, results->n_kept);
    free(kept_seeds);
    return status;
}

/* Takes the figure settings from the [figures] section of the stored
 * config, for a file without /drift: driftlab writes /figures only beside
 * /drift. The config was validated when it ran, so a parse failure means
 * a damaged file. */
static int figures_from_config(dl_results *results, dl_error *err)
{
    char *messages = NULL;
    size_t size = 0;
    FILE *diag = open_memstream(&messages, &size);
    if (diag == NULL)
        return dl_error_set(err, "%s: out of memory", results->path);
    dl_config cfg;
    int parsed = dl_config_parse(results->config_text, results->config_name,
                                 &cfg, diag);
    fclose(diag);
    int status = 0;
    if (parsed != 0) {
        size_t length = messages != NULL ? strcspn(messages, "\n") : 0;
        status = dl_error_set(err, "%s: /figures is missing and the stored "
                              "config_text does not parse (%.*s), so the "
                              "figure settings are unknown", results->path,
                              (int)length, messages != NULL ? messages : "");
    } else {
        results->figures.temperature = NAN;
        results->figures.seed = cfg.n_seeds > 0 ? cfg.seeds[0] : 0;
        results->figures.png_ppi = cfg.png_ppi;
        results->figures.strip_steps = 1;
        results->figures.formats = cfg.formats;
        dl_config_free(&cfg);
    }
    free(messages);
    return status;
}

/* Sets *formats to the DL_FORMAT_* bits of text such as "svg,pdf,png". */
static int formats_parse(const char *text, const char *path,
                         unsigned *formats, dl_error *err)
{
    *formats = 0;
    const char *item = text;
    while (*item != '\0') {
        size_t length = strcspn(item, ",");
        unsigned bit = 0;
        if (length == 3 && memcmp(item, "svg", 3) == 0)
            bit = DL_FORMAT_SVG;
        else if (length == 3 && memcmp(item, "pdf", 3) == 0)
            bit = DL_FORMAT_PDF;
        else if (length == 3 && memcmp(item, "png", 3) == 0)
            bit = DL_FORMAT_PNG;
        if (bit == 0)
            return dl_error_set(err, "%s: /figures: attribute formats is "
                                "'%.40s', expected a comma list of svg, pdf "
                                "and png", path, text);
        *formats |= bit;
        item += length;
        if (*item == ',')
            item++;
    }
    return 0;
}

static int figures_read(const reader *r, dl_results *results,
                        dl_error *err)
{
    const char *path = r->path;
    if (H5Lexists(r->file, "figures", H5P_DEFAULT) <= 0) {
        if (!results->has_drift)
            return figures_from_config(results, err);
        return dl_error_set(err, "%s: /figures: the group is missing, so the "
                            "figure settings are unknown", path);
    }
    hid_t group = H5Gopen2(r->file, "figures", H5P_DEFAULT);
    if (group < 0)
        return dl_store_h5_fail(err, path, "/figures",
                                "opening the group failed");

    dl_figure_settings *figures = &results->figures;
    char *formats = NULL;
    int status = -1;
    if (dl_store_read_double_attribute(group, path, "/figures", "temperature",
                              &figures->temperature, err) != 0
        || dl_store_read_int64_attribute(group, path, "/figures", "seed",
                                         &figures->seed, err) != 0
        || dl_store_read_double_attribute(group, path, "/figures", "png_ppi",
                                 &figures->png_ppi, err) != 0
        || attribute_read_int(group, path, "/figures", "strip_steps", 1,
                              results->has_drift ? results->steps
                                                 : INT32_MAX,
                              &figures->strip_steps, err) != 0
        || dl_store_read_string_attribute(group, path, "/figures", "formats",
                                          &formats, err) != 0
        || formats_parse(formats, path, &figures->formats, err) != 0)
        goto done;

    if (!isfinite(figures->temperature) || figures->temperature < 0) {
        dl_error_set(err, "%s: /figures: attribute temperature is %g, "
                     "expected a temperature >= 0", path,
                     figures->temperature);
        goto done;
    }
    if (!(figures->png_ppi >= DL_RESULTS_PNG_PPI_MIN
          && figures->png_ppi <= DL_RESULTS_PNG_PPI_MAX)) {
        dl_error_set(err, "%s: /figures: attribute png_ppi is %g, expected "
                     "a resolution from %g to %g pixels per inch, the range "
                     "of [figures] png_ppi", path, figures->png_ppi,
                     DL_RESULTS_PNG_PPI_MIN, DL_RESULTS_PNG_PPI_MAX);
        goto done;
    }
    status = 0;

done:
    free(formats);
    H5Gclose(group);
    return status;
}

/* Writes the lengths of the axes into dims and returns their count. */
static int axis_dims(const dl_results *results, hsize_t *dims)
{
    for (size_t a = 0; a < results->n_axes; a++)
        dims[a] = results->axes[a].length;
    return (int)results->n_axes;
}

/* Fails unless every element of /drift/run_done is set. A run that is not
 * done still contains fill values, and the summaries are written only
 * after the last run, so figures drawn from such a file would be
 * incomplete. */
static int runs_done_check(const reader *r, const dl_results *results,
                           dl_error *err)
{
    size_t n_runs;
    if (!size_multiply(results->n_points, results->n_seeds, &n_runs))
        return dl_error_set(err, "%s: %zu sweep points x %zu seeds do not "
                            "fit in memory", r->path, results->n_points,
                            results->n_seeds);
    uint8_t *done = malloc(n_runs);
    if (done == NULL)
        return dl_error_set(err, "%s: /drift/run_done: out of memory",
                            r->path);

    hsize_t dims[MAX_RANK];
    int n_axes = axis_dims(results, dims);
    dims[n_axes] = results->n_seeds;
    int status = whole_read(r, "run_done", KIND_INTEGER, n_axes + 1, dims,
                            H5T_NATIVE_UINT8, done, err);
    size_t n_done = 0;
    for (size_t i = 0; status == 0 && i < n_runs; i++)
        n_done += done[i] != 0;
    free(done);
    if (status == 0 && n_done < n_runs)
        status = dl_error_set(err, "%s: only %zu of %zu runs are done, so the "
                              "figures would be incomplete; finish the run "
                              "with driftlab run --resume", r->path, n_done,
                              n_runs);
    return status;
}

/* Fails when a mean over seeds is NaN. Every metric of a finished run is
 * finite at every step, so a NaN mean is a fill value: the run stopped
 * while it was writing the summaries, after its last run was done. */
static int summaries_check(const dl_results *results, dl_error *err)
{
    size_t steps = (size_t)results->steps;
    for (int m = 0; m < DL_METRIC_COUNT; m++) {
        const double *mean = results->summary[m][DL_STAT_MEAN];
        for (size_t i = 0; i < results->n_points * steps; i++)
            if (isnan(mean[i]))
                return dl_error_set(err, "%s: /drift/%s_mean is missing at "
                                    "sweep point %zu, step %zu, so the "
                                    "summaries were not all written; finish "
                                    "the run with driftlab run --resume",
                                    results->path,
                                    dl_store_metric_name((dl_metric)m),
                                    i / steps, i % steps);
    }
    return 0;
}

/* Fails unless config_text hashes to config_sha256, so that a report never
 * shows a config other than the one that ran. */
static int config_digest_check(const dl_results *results, dl_error *err)
{
    char digest[65];
    if (dl_sha256_hex(results->config_text, strlen(results->config_text),
                      digest) != 0)
        return dl_error_set(err, "%s: computing the SHA-256 of config_text "
                            "failed in OpenSSL", results->path);
    if (strcmp(digest, results->config_sha256) != 0)
        return dl_error_set(err, "%s: /: attribute config_text has SHA-256 "
                            "%s, but attribute config_sha256 is %s; the file "
                            "was edited or damaged, so run the config again",
                            results->path, digest, results->config_sha256);
    return 0;
}

/* Reads the per-point summaries, half_life_of_median, and the per-run
 * final lock-in and half-life. */
static int arrays_read(const reader *r, dl_results *results, dl_error *err)
{
    const char *path = r->path;
    size_t steps = (size_t)results->steps;
    size_t series_count, run_count, bytes;
    if (!size_multiply(results->n_points, steps, &series_count)
        || !size_multiply(series_count, sizeof(double), &bytes)
        || !size_multiply(results->n_points, results->n_seeds, &run_count)
        || !size_multiply(run_count, sizeof(double), &bytes))
        return dl_error_set(err, "%s: %zu sweep points x %zu steps x %zu "
                            "seeds do not fit in memory", path,
                            results->n_points, steps, results->n_seeds);

    hsize_t dims[MAX_RANK];
    int n_axes = axis_dims(results, dims);

    /* METRIC_STAT [AXIS..., step] */
    dims[n_axes] = steps;
    for (int m = 0; m < DL_METRIC_COUNT; m++) {
        for (int s = 0; s < DL_STAT_COUNT; s++) {
            char name[READ_NAME_MAX];
            snprintf(name, sizeof name, "%s_%s",
                     dl_store_metric_name((dl_metric)m),
                     dl_store_stat_name((dl_stat)s));
            double *values = malloc(series_count * sizeof *values);
            results->summary[m][s] = values;
            if (values == NULL)
                return dl_error_set(err, "%s: /drift/%s: out of memory",
                                    path, name);
            if (whole_read(r, name, KIND_FLOAT, n_axes + 1, dims,
                           H5T_NATIVE_DOUBLE, values, err) != 0)
                return -1;
        }
    }

    /* half_life_of_median [AXIS...], a scalar without axes */
    results->half_life_of_median =
        malloc(results->n_points * sizeof *results->half_life_of_median);
    if (results->half_life_of_median == NULL)
        return dl_error_set(err, "%s: /drift/half_life_of_median: out of "
                            "memory", path);
    if (whole_read(r, "half_life_of_median", KIND_FLOAT, n_axes, dims,
                   H5T_NATIVE_DOUBLE, results->half_life_of_median,
                   err) != 0)
        return -1;

    /* half_life [AXIS..., seed] */
    dims[n_axes] = results->n_seeds;
    results->half_life = malloc(run_count * sizeof *results->half_life);
    if (results->half_life == NULL)
        return dl_error_set(err, "%s: /drift/half_life: out of memory", path);
    if (whole_read(r, "half_life", KIND_FLOAT, n_axes + 1, dims,
                   H5T_NATIVE_DOUBLE, results->half_life, err) != 0)
        return -1;

    /* lock_in [AXIS..., seed, step] at its last step */
    dims[n_axes + 1] = steps;
    hsize_t start[MAX_RANK] = {0}, count[MAX_RANK];
    memcpy(count, dims, sizeof count);
    start[n_axes + 1] = steps - 1;
    count[n_axes + 1] = 1;
    results->final_lock_in = malloc(run_count
                                    * sizeof *results->final_lock_in);
    if (results->final_lock_in == NULL)
        return dl_error_set(err, "%s: /drift/lock_in: out of memory", path);
    return slab_read(r, "lock_in", KIND_FLOAT, n_axes + 2, dims, start, count,
                     H5T_NATIVE_DOUBLE, results->final_lock_in, err);
}

/* Reads what dl_results_load_settings reads, and with arrays also what
 * only dl_results_load reads. */
static int results_read(const char *path, dl_results *results, bool arrays,
                        dl_error *err)
{
    memset(results, 0, sizeof *results);
    dl_store_h5_silence();
    if (path == NULL)
        return dl_error_set(err, "results file: no file name given");

    reader r;
    hsize_t seed_count = 0;
    int status = -1;
    if (reader_open(&r, path, err) != 0)
        goto done;

    results->path = strdup(path);
    if (results->path == NULL) {
        dl_error_set(err, "%s: out of memory", path);
        goto done;
    }
    results->has_drift = r.drift >= 0;
    if (root_read(&r, results, err) != 0)
        goto done;
    if (results->has_drift
        && (model_read(&r, results, err) != 0
            || axes_find(&r, results, &seed_count, err) != 0
            || axis_values_read(&r, results, err) != 0
            || seeds_read(&r, results, seed_count, err) != 0))
        goto done;
    if (figures_read(&r, results, err) != 0)
        goto done;
    if (H5Lexists(r.file, "lora", H5P_DEFAULT) > 0) {
        if (dl_store_lora_read(r.file, path, &results->lora, err) != 0)
            goto done;
        results->has_lora = true;
    }
    if (!results->has_drift) {
        if (arrays && config_digest_check(results, err) != 0)
            goto done;
        status = 0;
        goto done;
    }

    results->n_points = 1;
    for (size_t a = 0; a < results->n_axes; a++)
        if (!size_multiply(results->n_points, results->axes[a].length,
                           &results->n_points)) {
            dl_error_set(err, "%s: the sweep axes have too many points",
                         path);
            goto done;
        }

    if (arrays
        && (config_digest_check(results, err) != 0
            || runs_done_check(&r, results, err) != 0
            || arrays_read(&r, results, err) != 0
            || summaries_check(results, err) != 0))
        goto done;
    status = 0;

done:
    reader_close(&r);
    if (status != 0)
        dl_results_free(results);
    return status;
}

/* ---- public functions ---- */

int dl_results_load(const char *path, dl_results *results, dl_error *err)
{
    return results_read(path, results, true, err);
}

int dl_results_load_settings(const char *path, dl_results *results,
                             dl_error *err)
{
    return results_read(path, results, false, err);
}

void dl_results_free(dl_results *results)
{
    if (results == NULL)
        return;
    free(results->path);
    free(results->driftlab_version);
    free(results->config_name);
    free(results->config_text);
    free(results->config_sha256);
    for (size_t a = 0; a < DL_SWEEP_COUNT; a++)
        free(results->axes[a].values);
    free(results->seeds);
    for (int m = 0; m < DL_METRIC_COUNT; m++)
        for (int s = 0; s < DL_STAT_COUNT; s++)
            free(results->summary[m][s]);
    free(results->half_life_of_median);
    free(results->final_lock_in);
    free(results->half_life);
    dl_lora_results_free(&results->lora);
    memset(results, 0, sizeof *results);
}

int dl_results_axis_index(const dl_results *results, dl_sweep_key key)
{
    for (size_t a = 0; a < results->n_axes; a++)
        if (results->axes[a].key == key)
            return (int)a;
    return -1;
}

/* Writes the axis indices of point, row-major with the last axis fastest,
 * as in dl_plan_point_indices. */
static void point_indices(const dl_results *results, size_t point,
                          size_t *index)
{
    for (size_t a = results->n_axes; a-- > 0;) {
        index[a] = point % results->axes[a].length;
        point /= results->axes[a].length;
    }
}

double dl_results_value(const dl_results *results, dl_sweep_key key,
                        size_t point)
{
    if ((int)key < 0 || key >= DL_SWEEP_COUNT || point >= results->n_points)
        return NAN;

    int axis = dl_results_axis_index(results, key);
    if (axis < 0)
        return results->scalar[key];
    size_t index[DL_SWEEP_COUNT];
    point_indices(results, point, index);
    return results->axes[axis].values[index[axis]];
}

void dl_results_run_free(dl_results_run *run)
{
    if (run == NULL)
        return;
    free(run->tokens);
    free(run->clusters);
    free(run->attention);
    for (int m = 0; m < DL_METRIC_COUNT; m++)
        free(run->metric[m]);
    memset(run, 0, sizeof *run);
}

/* Allocates the arrays of run for n_positions and steps. */
static int run_alloc(const dl_results *results, dl_results_run *run,
                     dl_error *err)
{
    size_t positions = (size_t)results->n_positions;
    size_t steps = (size_t)results->steps;
    size_t cells;
    if (!size_multiply(steps, positions, &cells)
        || !size_multiply(cells, sizeof(double), &cells))
        return dl_error_set(err, "%s: %zu steps x %zu positions of attention "
                            "do not fit in memory", results->path, steps,
                            positions);

    run->tokens = malloc(positions * sizeof *run->tokens);
    run->clusters = malloc(positions * sizeof *run->clusters);
    run->attention = malloc(cells);
    bool ok = run->tokens != NULL && run->clusters != NULL
              && run->attention != NULL;
    for (int m = 0; m < DL_METRIC_COUNT; m++) {
        run->metric[m] = malloc(steps * sizeof *run->metric[m]);
        ok = ok && run->metric[m] != NULL;
    }
    if (!ok)
        return dl_error_set(err, "%s: out of memory for one run",
                            results->path);
    return 0;
}

/* Fails unless the file at r still contains the config it had when
 * results was loaded. */
static int same_file_check(const reader *r, const dl_results *results,
                           dl_error *err)
{
    char *sha256 = NULL;
    if (dl_store_read_string_attribute(r->file, r->path, "/", "config_sha256",
                                       &sha256, err) != 0)
        return -1;
    int status = 0;
    if (strcmp(sha256, results->config_sha256) != 0)
        status = dl_error_set(err, "%s: the file now contains another config "
                              "(config_sha256 %.64s) than when it was loaded "
                              "(%s); load it again", r->path, sha256,
                              results->config_sha256);
    free(sha256);
    return status;
}

int dl_results_load_run(const dl_results *results, size_t point,
                        size_t kept_index, dl_results_run *run, dl_error *err)
{
    memset(run, 0, sizeof *run);
    dl_store_h5_silence();
    if (results == NULL || results->path == NULL)
        return dl_error_set(err, "results file: no results loaded");
    if (point >= results->n_points)
        return dl_error_set(err, "%s: point %zu is outside the %zu sweep "
                            "points", results->path, point,
                            results->n_points);
    if (kept_index >= results->n_kept)
        return dl_error_set(err, "%s: kept seed index %zu is outside the %zu "
                            "seeds whose attention rows are stored "
                            "(keep_attention = %d)", results->path,
                            kept_index, results->n_kept,
                            results->keep_attention);

    if (!results->has_drift)
        return dl_error_set(err, "%s: the file has no /drift group, so it has "
                            "no drift runs", results->path);

    reader r = {results->path, H5I_INVALID_HID, H5I_INVALID_HID};
    int status = -1;
    if (run_alloc(results, run, err) != 0
        || reader_open(&r, results->path, err) != 0
        || same_file_check(&r, results, err) != 0)
        goto done;
    if (r.drift < 0) {
        dl_error_set(err, "%s: the group /drift is missing; load the file "
                     "again", r.path);
        goto done;
    }

    /* the block [axis indices..., kept_index, whole rest] of each dataset;
     * kept seed i is seed index i */
    size_t index[DL_SWEEP_COUNT];
    point_indices(results, point, index);
    hsize_t dims[MAX_RANK], start[MAX_RANK], count[MAX_RANK];
    int n_axes = axis_dims(results, dims);
    for (int a = 0; a < n_axes; a++) {
        start[a] = index[a];
        count[a] = 1;
    }
    start[n_axes] = kept_index;
    count[n_axes] = 1;
    start[n_axes + 1] = 0;
    start[n_axes + 2] = 0;

    /* tokens and clusters [AXIS..., seed, position] */
    dims[n_axes] = results->n_seeds;
    dims[n_axes + 1] = (hsize_t)results->n_positions;
    count[n_axes + 1] = dims[n_axes + 1];
    if (slab_read(&r, "tokens", KIND_INTEGER, n_axes + 2, dims, start, count,
                  H5T_NATIVE_INT32, run->tokens, err) != 0
        || slab_read(&r, "clusters", KIND_INTEGER, n_axes + 2, dims, start,
                     count, H5T_NATIVE_INT32, run->clusters, err) != 0)
        goto done;

    /* the metric series [AXIS..., seed, step] */
    dims[n_axes + 1] = (hsize_t)results->steps;
    count[n_axes + 1] = dims[n_axes + 1];
    for (int m = 0; m < DL_METRIC_COUNT; m++)
        if (slab_read(&r, dl_store_metric_name((dl_metric)m), KIND_FLOAT,
                      n_axes + 2, dims, start, count, H5T_NATIVE_DOUBLE,
                      run->metric[m], err) != 0)
            goto done;

    /* attention [AXIS..., kept_seed, step, position] */
    dims[n_axes] = results->n_kept;
    dims[n_axes + 2] = (hsize_t)results->n_positions;
    count[n_axes + 2] = dims[n_axes + 2];
    if (slab_read(&r, "attention", KIND_FLOAT, n_axes + 3, dims, start, count,
                  H5T_NATIVE_DOUBLE, run->attention, err) != 0)
        goto done;
    status = 0;

done:
    reader_close(&r);
    if (status != 0)
        dl_results_run_free(run);
    return status;
}
