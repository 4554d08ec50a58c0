/* store_lora_read.c - reading the /lora group of results.h5 into a
 * dl_lora_results (lora_results.h).
 *
 * Format: docs/results-format.md, "The /lora group". The coordinates fix
 * every shape: each dataset must have exactly the dimensions its table
 * row gives, in that order, each labelled by the coordinate attached to
 * it, or reading fails with the dataset, the shape found and the shape
 * expected. Values are read as doubles (integers up to 2^53 are exact).
 *
 * Optional parts: a file without the `scaling` coordinate (written before
 * that axis existed) has per-fit datasets without that dimension and one
 * scaling, its /lora attribute `scaling`. The datasets marked "may be
 * NULL" in lora_results.h, and the coordinates only they use, may be
 * missing; a dataset that is present must match its coordinates.
 *
 * On failure nothing stays allocated or open and the struct is zeroed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lora_results.h"
#include "store_internal.h"

/* Maximum size in bytes, NUL included, of a dimension name. */
#define NAME_MAX_BYTES 64

/* Coordinates of /lora in the order of the format's table. */
typedef enum {
    LC_RANK = 0,
    LC_ALPHA,
    LC_SCALING,
    LC_SEED,
    LC_STEP_SAMPLE,
    LC_SINGULAR_INDEX,
    LC_TOKEN,
    LC_PHI_I,
    LC_PHI_J,
    LC_COUNT
} lora_coord;

static const char *const coord_names[LC_COUNT] = {
    [LC_RANK] = "rank",
    [LC_ALPHA] = "alpha",
    [LC_SCALING] = "scaling",
    [LC_SEED] = "seed",
    [LC_STEP_SAMPLE] = "step_sample",
    [LC_SINGULAR_INDEX] = "singular_index",
    [LC_TOKEN] = "token",
    [LC_PHI_I] = "phi_i",
    [LC_PHI_J] = "phi_j",
};

/* The open /lora group and the coordinate lengths; 0 marks a coordinate
 * the file does not contain. */
typedef struct {
    const char *path;
    hid_t group;
    hsize_t length[LC_COUNT];
} lora_reader;

/* Returns the length of the 1-D dataset name in r->group, 0 when it is
 * missing, or -1 with err set when it is not one-dimensional. */
static int coord_length(const lora_reader *r, const char *name, hsize_t *length,
                        dl_error *err)
{
    *length = 0;
    htri_t exists = H5Lexists(r->group, name, H5P_DEFAULT);
    if (exists < 0)
        return dl_store_h5_fail(err, r->path, "/lora", "looking up %s failed", name);
    if (exists == 0)
        return 0;
    hid_t dataset = H5Dopen2(r->group, name, H5P_DEFAULT);
    hid_t space = dataset >= 0 ? H5Dget_space(dataset) : H5I_INVALID_HID;
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    int status = 0;
    if (rank != 1)
        status = dl_error_set(err, "%s: /lora/%s: the coordinate has %d dimensions, "
                              "expected 1", r->path, name, rank);
    else
        H5Sget_simple_extent_dims(space, length, NULL);
    if (space >= 0)
        H5Sclose(space);
    if (dataset >= 0)
        H5Dclose(dataset);
    return status;
}

/* Writes "3 x 2 x 5" into text. */
static void shape_text(int rank, const hsize_t *dims, char *text, size_t size)
{
    size_t used = 0;
    snprintf(text, size, "scalar");
    for (int d = 0; d < rank && used < size; d++) {
        int n = snprintf(text + used, size - used, "%s%llu", d > 0 ? " x " : "",
                         (unsigned long long)dims[d]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Writes "(rank, alpha, seed)" for the coordinates coords[rank] into text. */
static void dims_text(int rank, const lora_coord *coords, char *text, size_t size)
{
    size_t used = 0;
    snprintf(text, size, "()");
    for (int d = 0; d < rank && used < size; d++) {
        int n = snprintf(text + used, size - used, "%s%s%s", d == 0 ? "(" : ", ",
                         coord_names[coords[d]], d + 1 == rank ? ")" : "");
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Reads /lora/name, whose dimensions must be the coordinates coords[n]
 * in that order (scaling left out when the file has none), into a new
 * array of doubles in *values. A missing dataset is an error when
 * required, else *values stays NULL. */
static int dataset_read(const lora_reader *r, const char *name, const lora_coord *coords,
                        int n, bool required, double **values, dl_error *err)
{
    char object[NAME_MAX_BYTES + 16];
    snprintf(object, sizeof object, "/lora/%s", name);
    *values = NULL;

    htri_t exists = H5Lexists(r->group, name, H5P_DEFAULT);
    if (exists < 0)
        return dl_store_h5_fail(err, r->path, object, "looking up the dataset failed");
    if (exists == 0) {
        if (!required)
            return 0;
        return dl_error_set(err, "%s: %s: the dataset is missing", r->path, object);
    }

    /* the expected dimensions, without scaling in a file that has none */
    lora_coord wanted[H5S_MAX_RANK];
    hsize_t expected[H5S_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < n; d++) {
        if (coords[d] == LC_SCALING && r->length[LC_SCALING] == 0)
            continue;
        if (r->length[coords[d]] == 0)
            return dl_error_set(err, "%s: %s: the dataset has the dimension %s, but the "
                                "coordinate /lora/%s is missing", r->path, object,
                                coord_names[coords[d]], coord_names[coords[d]]);
        wanted[rank] = coords[d];
        expected[rank++] = r->length[coords[d]];
    }

    hid_t dataset = H5Dopen2(r->group, name, H5P_DEFAULT);
    if (dataset < 0)
        return dl_store_h5_fail(err, r->path, object, "opening the dataset failed");
    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    hsize_t found[H5S_MAX_RANK];
    int found_rank = space >= 0 ? H5Sget_simple_extent_dims(space, found, NULL) : -1;
    H5T_class_t type_class = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    int status = 0;

    if (type < 0 || found_rank < 0) {
        status = dl_store_h5_fail(err, r->path, object, "reading the type and shape failed");
    } else if (type_class != H5T_FLOAT && type_class != H5T_INTEGER) {
        status = dl_error_set(err, "%s: %s: the dataset's elements are not numbers", r->path,
                              object);
    } else {
        bool same = found_rank == rank;
        for (int d = 0; same && d < rank; d++)
            same = found[d] == expected[d];
        if (!same) {
            char found_text[128], expected_text[128], names[160];
            shape_text(found_rank, found, found_text, sizeof found_text);
            shape_text(rank, expected, expected_text, sizeof expected_text);
            dims_text(rank, wanted, names, sizeof names);
            status = dl_error_set(err, "%s: %s: the dataset has shape %s, expected %s %s",
                                  r->path, object, found_text, expected_text, names);
        }
    }

    /* each dimension labelled by its coordinate, so that two axes of one
     * length cannot be swapped unnoticed; a coordinate is its own scale */
    bool is_coordinate = rank == 1 && strcmp(name, coord_names[wanted[0]]) == 0;
    for (int d = 0; status == 0 && !is_coordinate && d < rank; d++) {
        char label[NAME_MAX_BYTES];
        dl_store_dimension_name(dataset, (unsigned)d, label, sizeof label, "");
        if (strcmp(label, coord_names[wanted[d]]) != 0)
            status = dl_error_set(err, "%s: %s: dimension %d is labelled '%s', expected "
                                  "'%s'", r->path, object, d, label, coord_names[wanted[d]]);
    }

    size_t count = 1;
    for (int d = 0; d < rank; d++)
        count *= (size_t)expected[d];
    if (status == 0) {
        *values = malloc((count > 0 ? count : 1) * sizeof **values);
        if (*values == NULL)
            status = dl_error_set(err, "%s: %s: out of memory", r->path, object);
    }
    if (status == 0 && count > 0 &&
        H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *values) < 0)
        status = dl_store_h5_fail(err, r->path, object, "reading the dataset failed");
    if (status != 0) {
        free(*values);
        *values = NULL;
    }

    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(dataset);
    return status;
}

/* Reads the string coordinate /lora/scaling, variable- or fixed-length,
 * into lora->scaling. */
static int scaling_read(const lora_reader *r, dl_lora_results *lora, dl_error *err)
{
    size_t n = (size_t)r->length[LC_SCALING];
    lora->scaling = calloc(n, sizeof *lora->scaling);
    if (lora->scaling == NULL)
        return dl_error_set(err, "%s: /lora/scaling: out of memory", r->path);
    lora->n_scalings = n;

    hid_t dataset = H5Dopen2(r->group, "scaling", H5P_DEFAULT);
    hid_t file_type = dataset >= 0 ? H5Dget_type(dataset) : H5I_INVALID_HID;
    if (file_type < 0 || H5Tget_class(file_type) != H5T_STRING) {
        if (file_type >= 0)
            H5Tclose(file_type);
        if (dataset >= 0)
            H5Dclose(dataset);
        return dl_error_set(err, "%s: /lora/scaling: the coordinate is not a string "
                            "dataset", r->path);
    }

    hid_t memory_type = H5Tcopy(H5T_C_S1);
    int status = 0;
    if (H5Tis_variable_str(file_type) > 0) {
        char **texts = calloc(n, sizeof *texts);
        if (texts == NULL || H5Tset_size(memory_type, H5T_VARIABLE) < 0 ||
            H5Tset_cset(memory_type, H5T_CSET_UTF8) < 0 ||
            H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, texts) < 0)
            status = dl_store_h5_fail(err, r->path, "/lora/scaling", "reading the values "
                                      "failed");
        for (size_t i = 0; status == 0 && i < n; i++) {
            lora->scaling[i] = strdup(texts[i] != NULL ? texts[i] : "");
            if (lora->scaling[i] == NULL)
                status = dl_error_set(err, "%s: /lora/scaling: out of memory", r->path);
        }
        if (texts != NULL) {
            for (size_t i = 0; i < n; i++)
                if (texts[i] != NULL)
                    H5free_memory(texts[i]);
        }
        free(texts);
    } else {
        size_t width = H5Tget_size(file_type);
        char *block = calloc(n * width + 1, 1);
        if (block == NULL || H5Tset_size(memory_type, width) < 0 ||
            H5Tset_strpad(memory_type, H5T_STR_NULLPAD) < 0 ||
            H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, block) < 0)
            status = dl_store_h5_fail(err, r->path, "/lora/scaling", "reading the values "
                                      "failed");
        for (size_t i = 0; status == 0 && i < n; i++) {
            lora->scaling[i] = strndup(block + i * width, width);
            if (lora->scaling[i] == NULL)
                status = dl_error_set(err, "%s: /lora/scaling: out of memory", r->path);
        }
        free(block);
    }
    H5Tclose(memory_type);
    H5Tclose(file_type);
    H5Dclose(dataset);
    return status;
}

/* Reads the attributes D, N, task_rank, steps and init of /lora. */
static int attributes_read(const lora_reader *r, dl_lora_results *lora, dl_error *err)
{
    const struct {
        const char *name;
        int *value;
    } ints[] = {
        {"D", &lora->D}, {"N", &lora->N}, {"task_rank", &lora->task_rank},
        {"steps", &lora->steps},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t value = 0;
        if (dl_store_read_int64_attribute(r->group, r->path, "/lora", ints[i].name, &value,
                                          err) != 0)
            return -1;
        if (value < 1 || value > INT32_MAX)
            return dl_error_set(err, "%s: /lora: attribute %s is %lld, expected an integer "
                                "from 1 to %d", r->path, ints[i].name, (long long)value,
                                INT32_MAX);
        *ints[i].value = (int)value;
    }
    return dl_store_read_string_attribute(r->group, r->path, "/lora", "init", &lora->init,
                                          err);
}

/* Reads the numeric coordinates and checks their values. */
static int coords_read(const lora_reader *r, dl_lora_results *lora, dl_error *err)
{
    const struct {
        lora_coord coord;
        size_t *count;
    } required[] = {
        {LC_RANK, &lora->n_ranks}, {LC_ALPHA, &lora->n_alphas},
        {LC_SEED, &lora->n_seeds}, {LC_STEP_SAMPLE, &lora->n_samples},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const char *name = coord_names[required[i].coord];
        if (r->length[required[i].coord] == 0)
            return dl_error_set(err, "%s: /lora/%s: the coordinate is missing or has no "
                                "values", r->path, name);
        *required[i].count = (size_t)r->length[required[i].coord];
    }

    double *rank = NULL, *seed = NULL, *step = NULL;
    const lora_coord rank_dim[1] = {LC_RANK}, alpha_dim[1] = {LC_ALPHA};
    const lora_coord seed_dim[1] = {LC_SEED}, step_dim[1] = {LC_STEP_SAMPLE};
    int status = -1;
    if (dataset_read(r, "rank", rank_dim, 1, true, &rank, err) != 0 ||
        dataset_read(r, "alpha", alpha_dim, 1, true, &lora->alpha, err) != 0 ||
        dataset_read(r, "seed", seed_dim, 1, true, &seed, err) != 0 ||
        dataset_read(r, "step_sample", step_dim, 1, true, &step, err) != 0)
        goto done;

    lora->rank = malloc(lora->n_ranks * sizeof *lora->rank);
    lora->seed = malloc(lora->n_seeds * sizeof *lora->seed);
    lora->step_sample = malloc(lora->n_samples * sizeof *lora->step_sample);
    if (lora->rank == NULL || lora->seed == NULL || lora->step_sample == NULL) {
        dl_error_set(err, "%s: /lora: out of memory for the coordinates", r->path);
        goto done;
    }
    int limit = lora->D < lora->N ? lora->D : lora->N;
    for (size_t i = 0; i < lora->n_ranks; i++) {
        if (!(rank[i] >= 1 && rank[i] <= limit)) {
            dl_error_set(err, "%s: /lora/rank: value %g is invalid: a rank must be from 1 to "
                         "min(D, N) = %d", r->path, rank[i], limit);
            goto done;
        }
        lora->rank[i] = (int64_t)rank[i];
    }
    for (size_t i = 0; i < lora->n_alphas; i++)
        if (!(isfinite(lora->alpha[i]) && lora->alpha[i] >= 0)) {
            dl_error_set(err, "%s: /lora/alpha: value %g is invalid: alpha must be finite "
                         "and >= 0", r->path, lora->alpha[i]);
            goto done;
        }
    for (size_t i = 0; i < lora->n_seeds; i++)
        lora->seed[i] = (int64_t)seed[i];
    for (size_t i = 0; i < lora->n_samples; i++)
        lora->step_sample[i] = (int64_t)step[i];
    status = 0;

done:
    free(rank);
    free(seed);
    free(step);
    return status;
}

/* Checks the lengths of the optional coordinates against D, N and the
 * ranks, and stores them. */
static int optional_lengths_check(const lora_reader *r, dl_lora_results *lora, dl_error *err)
{
    size_t smallest = 0, largest = 0;
    dl_lora_rank_extremes(lora, &smallest, &largest);
    const struct {
        lora_coord coord;
        long long expected;
        const char *what;
        size_t *count;
    } checks[] = {
        {LC_SINGULAR_INDEX, lora->D < lora->N ? lora->D : lora->N, "min(D, N)",
         &lora->n_singular},
        {LC_TOKEN, lora->N, "N", &lora->n_tokens},
        {LC_PHI_I, (long long)lora->rank[smallest], "the smallest rank", &lora->n_phi_i},
        {LC_PHI_J, (long long)lora->rank[largest], "the largest rank", &lora->n_phi_j},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        hsize_t length = r->length[checks[i].coord];
        if (length != 0 && (long long)length != checks[i].expected)
            return dl_error_set(err, "%s: /lora/%s: the coordinate has %llu values, expected "
                                "%s = %lld", r->path, coord_names[checks[i].coord],
                                (unsigned long long)length, checks[i].what,
                                checks[i].expected);
        *checks[i].count = (size_t)length;
    }
    return 0;
}

/* Reads every dataset the figures use. */
static int datasets_read(const lora_reader *r, dl_lora_results *lora, dl_error *err)
{
    enum { FIT = 4 };
    /* the per-fit dimensions, then step_sample for loss_curve */
    const lora_coord fit[FIT + 1] = {LC_RANK, LC_ALPHA, LC_SCALING, LC_SEED,
                                     LC_STEP_SAMPLE};
    const lora_coord spectrum[5] = {LC_RANK, LC_ALPHA, LC_SCALING, LC_SEED,
                                    LC_SINGULAR_INDEX};
    const lora_coord probe[5] = {LC_RANK, LC_ALPHA, LC_SCALING, LC_SEED,
                                 LC_TOKEN};
    const lora_coord seed_only[1] = {LC_SEED};
    const lora_coord seed_curve[2] = {LC_SEED, LC_STEP_SAMPLE};
    const lora_coord seed_spectrum[2] = {LC_SEED, LC_SINGULAR_INDEX};
    const lora_coord seed_probe[2] = {LC_SEED, LC_TOKEN};
    const lora_coord phi[5] = {LC_ALPHA, LC_SCALING, LC_SEED, LC_PHI_I,
                               LC_PHI_J};
    const struct {
        const char *name;
        const lora_coord *coords;
        int n;
        bool required;
        double **values;
    } datasets[] = {
        {"eval_kl", fit, FIT, true, &lora->eval_kl},
        {"forgetting", fit, FIT, true, &lora->forgetting},
        {"final_loss", fit, FIT, true, &lora->final_loss},
        {"relative_error", fit, FIT, true, &lora->relative_error},
        {"eckart_young_error", fit, FIT, true, &lora->eckart_young_error},
        {"loss_curve", fit, FIT + 1, true, &lora->loss_curve},
        {"singular_values", spectrum, 5, false, &lora->singular_values},
        {"probe_adapted", probe, 5, false, &lora->probe_adapted},
        {"task_singular_values", seed_spectrum, 2, false, &lora->task_singular_values},
        {"probe_base", seed_probe, 2, false, &lora->probe_base},
        {"probe_teacher", seed_probe, 2, false, &lora->probe_teacher},
        {"full_rank_eval_kl", seed_only, 1, true, &lora->full_rank_eval_kl},
        {"full_rank_forgetting", seed_only, 1, true, &lora->full_rank_forgetting},
        {"full_rank_relative_error", seed_only, 1, false, &lora->full_rank_relative_error},
        {"full_rank_loss_curve", seed_curve, 2, false, &lora->full_rank_loss_curve},
        {"train_teacher_entropy", seed_only, 1, false, &lora->train_teacher_entropy},
        {"phi", phi, 5, false, &lora->phi},
    };
    for (size_t i = 0; i < sizeof datasets / sizeof datasets[0]; i++)
        if (dataset_read(r, datasets[i].name, datasets[i].coords, datasets[i].n,
                         datasets[i].required, datasets[i].values, err) != 0)
            return -1;
    return 0;
}

/* Fails unless every scaling is standard, rslora or none, the values the
 * config accepts; figures and reports show them as text. */
static int scalings_check(const char *path, const dl_lora_results *lora, dl_error *err)
{
    for (size_t i = 0; i < lora->n_scalings; i++) {
        const char *value = lora->scaling[i];
        if (strcmp(value, "standard") != 0 && strcmp(value, "rslora") != 0 &&
            strcmp(value, "none") != 0)
            return dl_error_set(err, "%s: /lora/scaling: value '%.40s' is invalid: a scaling "
                                "is standard, rslora or none", path, value);
    }
    return 0;
}

int dl_store_lora_read(int64_t file, const char *path, dl_lora_results *lora, dl_error *err)
{
    memset(lora, 0, sizeof *lora);
    lora_reader r = {path, H5I_INVALID_HID, {0}};
    r.group = H5Gopen2((hid_t)file, "lora", H5P_DEFAULT);
    if (r.group < 0)
        return dl_store_h5_fail(err, path, "/lora", "opening the group failed");

    int status = -1;
    for (int c = 0; c < LC_COUNT; c++)
        if (coord_length(&r, coord_names[c], &r.length[c], err) != 0)
            goto done;
    if (attributes_read(&r, lora, err) != 0 || coords_read(&r, lora, err) != 0 ||
        optional_lengths_check(&r, lora, err) != 0)
        goto done;

    if (r.length[LC_SCALING] > 0) {
        if (scaling_read(&r, lora, err) != 0)
            goto done;
    } else {
        /* a file of the layout without the scaling axis: one scaling */
        lora->scaling = calloc(1, sizeof *lora->scaling);
        if (lora->scaling == NULL) {
            dl_error_set(err, "%s: /lora: out of memory", path);
            goto done;
        }
        lora->n_scalings = 1;
        if (dl_store_read_string_attribute(r.group, path, "/lora", "scaling",
                                           &lora->scaling[0], err) != 0)
            goto done;
    }
    if (scalings_check(path, lora, err) != 0 || datasets_read(&r, lora, err) != 0)
        goto done;
    status = 0;

done:
    H5Gclose(r.group);
    if (status != 0)
        dl_lora_results_free(lora);
    return status;
}
