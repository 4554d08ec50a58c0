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
 * Sizes and values from the file are checked before use, because a small
 * crafted file can declare any shape and hold any bytes. D and N are at
 * most the config's limit, ranks at most min(D, N), and every product of
 * dimensions is checked against a budget of values (values_budget). Each
 * value must be one that driftlab writes (value_rules), and strings must
 * be UTF-8 without control characters, so that none reaches a terminal.
 *
 * On failure nothing stays allocated or open and the struct is zeroed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lora_results.h"
#include "store_internal.h"
#include "sweep_values.h"
#include "utf8.h"

/* Maximum size in bytes, NUL included, of a dimension name. */
#define NAME_MAX_BYTES 64

/* Largest D and N, the limit the config applies to [lora]. */
#define LORA_DIMENSION_MAX 1000000

/* Largest steps of [lora], the limit the config applies. */
#define LORA_STEPS_MAX 100000000

/* Values read from /lora in all: at most 2^26 (512 MiB of doubles), or
 * 8 per byte of the file when that is more. A few kilobytes of HDF5 can
 * declare any shape, because chunks never written read as zeros, so the
 * shapes alone cannot bound the allocation. NOTE: 64 bytes of values per
 * byte of file is an estimate of how well real results compress. A real
 * file of mostly zeros with more than 512 MiB of values could exceed it,
 * and then it is rejected. */
#define LORA_VALUES_MIN_BUDGET ((size_t)1 << 26)
#define LORA_VALUES_PER_FILE_BYTE 8

/* How far below 0 a KL divergence, loss or entropy may be: rounding
 * leaves some a few 1e-17 below 0. */
#define DIVERGENCE_TOLERANCE 1e-12

/* How far a softmax row may sum from 1, and phi may exceed 1. NOTE: the
 * rounding of a softmax grows with the size of its logits, so logits far
 * above 1e6 could miss this in a file driftlab wrote. */
#define PROBABILITY_TOLERANCE 1e-9

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

/* What the values of a dataset may be. */
typedef enum {
    RULE_FINITE = 0,     /* any finite number */
    RULE_COORDINATE,     /* checked in coords_read */
    RULE_DIVERGENCE,     /* KL, loss, forgetting, entropy: finite, >= -1e-12 */
    RULE_NONNEGATIVE,    /* finite and >= 0 */
    RULE_RELATIVE_ERROR, /* finite and >= 0, or NaN where dW* = 0 */
    RULE_PROBABILITY,    /* in [0, 1], each row over token sums to 1 */
    RULE_SIMILARITY,     /* phi: in [0, 1 + 1e-9] */
} value_rule;

/* The rule of every numeric dataset of the format; a name not listed
 * gets RULE_FINITE. */
static const struct {
    const char *name;
    value_rule rule;
} value_rules[] = {
    {"rank", RULE_COORDINATE},
    {"alpha", RULE_COORDINATE},
    {"seed", RULE_COORDINATE},
    {"step_sample", RULE_COORDINATE},
    {"eval_kl", RULE_DIVERGENCE},
    {"forgetting", RULE_DIVERGENCE},
    {"final_loss", RULE_DIVERGENCE},
    {"loss_curve", RULE_DIVERGENCE},
    {"full_rank_eval_kl", RULE_DIVERGENCE},
    {"full_rank_forgetting", RULE_DIVERGENCE},
    {"full_rank_final_loss", RULE_DIVERGENCE},
    {"full_rank_loss_curve", RULE_DIVERGENCE},
    {"train_teacher_entropy", RULE_DIVERGENCE},
    {"relative_error", RULE_RELATIVE_ERROR},
    {"eckart_young_error", RULE_RELATIVE_ERROR},
    {"full_rank_relative_error", RULE_RELATIVE_ERROR},
    {"singular_values", RULE_NONNEGATIVE},
    {"task_singular_values", RULE_NONNEGATIVE},
    {"full_rank_singular_values", RULE_NONNEGATIVE},
    {"effective_rank", RULE_NONNEGATIVE},
    {"amplification", RULE_NONNEGATIVE},
    {"parameter_count", RULE_NONNEGATIVE},
    {"parameter_ratio", RULE_NONNEGATIVE},
    {"scale", RULE_NONNEGATIVE},
    {"probe_adapted", RULE_PROBABILITY},
    {"probe_base", RULE_PROBABILITY},
    {"probe_teacher", RULE_PROBABILITY},
    {"full_rank_probe", RULE_PROBABILITY},
    {"phi", RULE_SIMILARITY},
};

/* The open /lora group, the coordinate lengths (0 marks a coordinate the
 * file does not contain), the values left in the budget, and the struct
 * being filled, whose coordinates name positions in messages. */
typedef struct {
    const char *path;
    hid_t group;
    hsize_t length[LC_COUNT];
    size_t values_left;
    const dl_lora_results *lora;
} lora_reader;

/* Multiplies *count by factor; returns false, leaving *count as it was,
 * when the product would exceed limit. */
static bool count_multiply(size_t *count, hsize_t factor, size_t limit)
{
    if (factor != 0 && *count > limit / factor)
        return false;
    *count *= (size_t)factor;
    return true;
}

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

/* Returns the budget of values of the file at r->path; see
 * LORA_VALUES_MIN_BUDGET. */
static size_t values_budget(const lora_reader *r)
{
    hid_t file = H5Iget_file_id(r->group);
    hsize_t bytes = 0;
    if (file >= 0) {
        if (H5Fget_filesize(file, &bytes) < 0)
            bytes = 0;
        H5Fclose(file);
    }
    size_t budget = LORA_VALUES_MIN_BUDGET;
    if (bytes <= SIZE_MAX / LORA_VALUES_PER_FILE_BYTE &&
        (size_t)bytes * LORA_VALUES_PER_FILE_BYTE > budget)
        budget = (size_t)bytes * LORA_VALUES_PER_FILE_BYTE;
    return budget;
}

/* Returns the rule of dataset name (value_rules). */
static value_rule rule_of(const char *name)
{
    for (size_t i = 0; i < sizeof value_rules / sizeof value_rules[0]; i++)
        if (strcmp(value_rules[i].name, name) == 0)
            return value_rules[i].rule;
    return RULE_FINITE;
}

/* Writes the position of element flat of an array of shape dims[rank]
 * over coords, as "rank 4, alpha 8, scaling standard, seed 9, token
 * index 3": coordinate values where the reader has them, else indices. */
static void position_text(const lora_reader *r, const lora_coord *coords,
                          const hsize_t *dims, int rank, size_t flat, char *text,
                          size_t size)
{
    size_t index[H5S_MAX_RANK];
    for (int d = rank - 1; d >= 0; d--) {
        index[d] = flat % (size_t)dims[d];
        flat /= (size_t)dims[d];
    }

    const dl_lora_results *lora = r->lora;
    size_t used = 0;
    text[0] = '\0';
    for (int d = 0; d < rank && used < size; d++) {
        const char *name = coord_names[coords[d]];
        const char *separator = d > 0 ? ", " : "";
        size_t i = index[d];
        char number[32];
        int n;
        switch (coords[d]) {
        case LC_RANK:
            n = snprintf(text + used, size - used, "%s%s %lld", separator, name,
                         (long long)lora->rank[i]);
            break;
        case LC_ALPHA:
            n = snprintf(text + used, size - used, "%s%s %s", separator, name,
                         dl_sweep_values_format(lora->alpha[i], number, sizeof number));
            break;
        case LC_SCALING:
            n = snprintf(text + used, size - used, "%s%s %s", separator, name,
                         lora->scaling[i]);
            break;
        case LC_SEED:
            n = snprintf(text + used, size - used, "%s%s %lld", separator, name,
                         (long long)lora->seed[i]);
            break;
        case LC_STEP_SAMPLE:
            n = snprintf(text + used, size - used, "%sstep %lld", separator,
                         (long long)lora->step_sample[i]);
            break;
        default:
            n = snprintf(text + used, size - used, "%s%s index %zu", separator, name, i);
            break;
        }
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Returns whether value may be stored under rule; task_is_zero is true
 * when dW* of the value's seed is 0. */
static bool value_allowed(value_rule rule, double value, bool task_is_zero)
{
    switch (rule) {
    case RULE_COORDINATE:
        return true;
    case RULE_DIVERGENCE:
        return isfinite(value) && value >= -DIVERGENCE_TOLERANCE;
    case RULE_NONNEGATIVE:
        return isfinite(value) && value >= 0.0;
    case RULE_RELATIVE_ERROR:
        return isnan(value) ? task_is_zero : isfinite(value) && value >= 0.0;
    case RULE_PROBABILITY:
        return value >= 0.0 && value <= 1.0;
    case RULE_SIMILARITY:
        return value >= 0.0 && value <= 1.0 + PROBABILITY_TOLERANCE;
    case RULE_FINITE:
    default:
        return isfinite(value);
    }
}

/* Returns what rule allows, for a message. */
static const char *rule_text(value_rule rule)
{
    switch (rule) {
    case RULE_DIVERGENCE:
        return "a KL divergence, loss or entropy is finite and >= -1e-12 nats";
    case RULE_NONNEGATIVE:
        return "the values are finite and >= 0";
    case RULE_RELATIVE_ERROR:
        return "a relative error is finite and >= 0, or NaN for a seed whose "
               "task_singular_values are all 0 (dW* = 0)";
    case RULE_PROBABILITY:
        return "a probability is from 0 to 1";
    case RULE_SIMILARITY:
        return "phi is from 0 to 1 + 1e-9";
    case RULE_COORDINATE:
    case RULE_FINITE:
    default:
        return "the values are finite";
    }
}

/* Returns whether every task singular value of seed s is 0, so that dW*
 * is 0 and relative errors are 0 / 0; false when the file has none. */
static bool task_is_zero(const dl_lora_results *lora, size_t s)
{
    if (lora->task_singular_values == NULL)
        return false;
    const double *sigma = lora->task_singular_values + s * lora->n_singular;
    for (size_t i = 0; i < lora->n_singular; i++)
        if (sigma[i] != 0.0)
            return false;
    return true;
}

/* Fails unless the values[count] of /lora/name, of shape dims[rank] over
 * coords, follow the dataset's rule. The message gives the first bad
 * value and its position. */
static int values_check(const lora_reader *r, const char *name, const lora_coord *coords,
                        const hsize_t *dims, int rank, const double *values, size_t count,
                        dl_error *err)
{
    value_rule rule = rule_of(name);
    if (rule == RULE_COORDINATE)
        return 0;

    /* the seed of element k is (k / seed_stride) % n_seeds */
    size_t seed_stride = 0;
    for (int d = rank - 1; d >= 0; d--) {
        if (coords[d] == LC_SEED) {
            seed_stride = 1;
            for (int e = d + 1; e < rank; e++)
                seed_stride *= (size_t)dims[e];
            break;
        }
    }

    char number[32], position[256];
    for (size_t k = 0; k < count; k++) {
        bool zero = rule == RULE_RELATIVE_ERROR && isnan(values[k]) && seed_stride > 0 &&
                    task_is_zero(r->lora, (k / seed_stride) % r->lora->n_seeds);
        if (value_allowed(rule, values[k], zero))
            continue;
        position_text(r, coords, dims, rank, k, position, sizeof position);
        return dl_error_set(err, "%s: /lora/%s: value %s at (%s) is invalid: %s", r->path,
                            name, dl_sweep_values_format(values[k], number, sizeof number),
                            position, rule_text(rule));
    }

    /* a softmax over token, the last dimension, sums to 1 */
    if (rule == RULE_PROBABILITY && rank > 0 && coords[rank - 1] == LC_TOKEN) {
        size_t row_length = (size_t)dims[rank - 1];
        for (size_t start = 0; row_length > 0 && start < count; start += row_length) {
            double sum = 0.0;
            for (size_t j = 0; j < row_length; j++)
                sum += values[start + j];
            if (fabs(sum - 1.0) <= PROBABILITY_TOLERANCE)
                continue;
            position_text(r, coords, dims, rank - 1, start / row_length, position,
                          sizeof position);
            return dl_error_set(err, "%s: /lora/%s: the softmax at (%s) sums to %.17g, "
                                "expected 1 within 1e-9", r->path, name, position, sum);
        }
    }
    return 0;
}

/* Reads /lora/name, whose dimensions must be the coordinates coords[n]
 * in that order (scaling left out when the file has none), into a new
 * array of doubles in *values. A missing dataset is an error when
 * required, else *values stays NULL. */
static int dataset_read(lora_reader *r, const char *name, const lora_coord *coords,
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
        if (strcmp(label, coord_names[wanted[d]]) != 0) {
            char escaped[200];
            dl_store_text_escape(label, escaped, sizeof escaped);
            status = dl_error_set(err, "%s: %s: dimension %d is labelled '%s', expected "
                                  "'%s'", r->path, object, d, escaped, coord_names[wanted[d]]);
        }
    }

    /* the shape matches the coordinates, whose lengths come from the
     * file too, so the product is checked before anything is allocated */
    size_t count = 1;
    bool fits = true;
    for (int d = 0; fits && d < rank; d++)
        fits = count_multiply(&count, expected[d], r->values_left);
    if (status == 0 && !fits) {
        char expected_text[128];
        shape_text(rank, expected, expected_text, sizeof expected_text);
        status = dl_error_set(err, "%s: %s: the dataset's shape %s has more values than the "
                              "%zu left of the %zu that driftlab reads from /lora of this "
                              "file", r->path, object, expected_text, r->values_left,
                              values_budget(r));
    }
    if (status == 0) {
        *values = malloc((count > 0 ? count : 1) * sizeof **values);
        if (*values == NULL)
            status = dl_error_set(err, "%s: %s: out of memory", r->path, object);
    }
    if (status == 0 && count > 0 &&
        H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *values) < 0)
        status = dl_store_h5_fail(err, r->path, object, "reading the dataset failed");
    if (status == 0) {
        r->values_left -= count;
        status = values_check(r, name, wanted, expected, rank, *values, count, err);
    }
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
    /* three names, each at most once (scalings_check), and n <= 3 keeps
     * n * width small */
    if (r->length[LC_SCALING] > 3)
        return dl_error_set(err, "%s: /lora/scaling: the coordinate has %llu values, "
                            "expected at most 3: standard, rslora and none, each once",
                            r->path, (unsigned long long)r->length[LC_SCALING]);
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
        if (width == 0 || width > NAME_MAX_BYTES) {
            H5Tclose(memory_type);
            H5Tclose(file_type);
            H5Dclose(dataset);
            return dl_error_set(err, "%s: /lora/scaling: the strings are %zu bytes wide, "
                                "expected 1 to %d", r->path, width, NAME_MAX_BYTES);
        }
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

/* Reads the attributes D, N, task_rank, steps and init of /lora, each
 * within the limits of the config, so that D + N fits an int and D N a
 * double exactly. */
/* Fails when /lora/base/W exists and is not D x N: the figures take D and
 * N from the attributes, so they must describe the stored base. Files
 * without a stored base pass. */
static int base_shape_check(const lora_reader *r, int d, int n, dl_error *err)
{
    htri_t has_base = H5Lexists(r->group, "base", H5P_DEFAULT);
    htri_t has_w = has_base > 0 ? H5Lexists(r->group, "base/W", H5P_DEFAULT) : 0;
    if (has_base < 0 || has_w < 0)
        return dl_store_h5_fail(err, r->path, "/lora/base/W", "looking it up failed");
    if (has_w == 0)
        return 0;
    hid_t w = H5Dopen2(r->group, "base/W", H5P_DEFAULT);
    hid_t space = w >= 0 ? H5Dget_space(w) : H5I_INVALID_HID;
    hsize_t dims[2] = {0, 0};
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (rank == 2)
        H5Sget_simple_extent_dims(space, dims, NULL);
    if (space >= 0)
        H5Sclose(space);
    if (w >= 0)
        H5Dclose(w);
    if (rank < 0)
        return dl_store_h5_fail(err, r->path, "/lora/base/W", "reading its shape failed");
    if (rank != 2 || dims[0] != (hsize_t)d || dims[1] != (hsize_t)n)
        return dl_error_set(err, "%s: /lora/base/W is %llu x %llu, but the attributes "
                            "D and N of /lora say %d x %d", r->path,
                            (unsigned long long)dims[0],
                            (unsigned long long)(rank == 2 ? dims[1] : 0), d, n);
    return 0;
}

static int attributes_read(const lora_reader *r, dl_lora_results *lora, dl_error *err)
{
    const struct {
        const char *name;
        int *value;
        int64_t max;
        const char *max_text;
    } ints[] = {
        {"D", &lora->D, LORA_DIMENSION_MAX, "the config's limit"},
        {"N", &lora->N, LORA_DIMENSION_MAX, "the config's limit"},
        {"task_rank", &lora->task_rank, 0, "min(D, N)"},
        {"steps", &lora->steps, LORA_STEPS_MAX, "the config's limit"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t value = 0;
        if (dl_store_read_int64_attribute(r->group, r->path, "/lora", ints[i].name, &value,
                                          err) != 0)
            return -1;
        /* task_rank follows D and N in the table */
        int64_t max = ints[i].value == &lora->task_rank
                          ? (lora->D < lora->N ? lora->D : lora->N)
                          : ints[i].max;
        if (value < 1 || value > max)
            return dl_error_set(err, "%s: /lora: attribute %s is %lld, expected an integer "
                                "from 1 to %lld (%s)", r->path, ints[i].name,
                                (long long)value, (long long)max, ints[i].max_text);
        *ints[i].value = (int)value;
    }

    if (base_shape_check(r, lora->D, lora->N, err) != 0)
        return -1;

    if (dl_store_read_string_attribute(r->group, r->path, "/lora", "init", &lora->init,
                                       err) != 0 ||
        dl_store_text_check(r->path, "/lora", "attribute init", lora->init, err) != 0)
        return -1;
    if (strcmp(lora->init, "kaiming") != 0 && strcmp(lora->init, "gaussian") != 0 &&
        strcmp(lora->init, "svd") != 0)
        return dl_error_set(err, "%s: /lora: attribute init is '%.40s', expected kaiming, "
                            "gaussian or svd", r->path, lora->init);
    return 0;
}

/* A coordinate value and its index, sorted by distinct_check. */
typedef struct {
    double value;
    size_t index;
} indexed_value;

/* Orders by value, then by index. */
static int indexed_value_compare(const void *a, const void *b)
{
    const indexed_value *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Fails unless values[n] of coordinate name, none of them NaN, has no
 * repeated value; the message names the first index that repeats an
 * earlier one. Sorting keeps this fast for a million seeds. */
static int distinct_check(const char *path, const char *name, const double *values,
                          size_t n, dl_error *err)
{
    indexed_value *sorted = malloc((n > 0 ? n : 1) * sizeof *sorted);
    if (sorted == NULL)
        return dl_error_set(err, "%s: /lora/%s: out of memory", path, name);
    for (size_t i = 0; i < n; i++)
        sorted[i] = (indexed_value){values[i], i};
    qsort(sorted, n, sizeof *sorted, indexed_value_compare);

    /* equal values sort together, by index; the first repeat is the
     * smallest index that follows an equal value */
    size_t repeat = n, first = 0;
    for (size_t i = 1; i < n; i++)
        if (sorted[i].value == sorted[i - 1].value && sorted[i].index < repeat) {
            repeat = sorted[i].index;
            first = sorted[i - 1].index;
        }
    free(sorted);
    if (repeat == n)
        return 0;
    char number[32];
    return dl_error_set(err, "%s: /lora/%s: value %s at index %zu repeats index %zu: the "
                        "values of a coordinate are distinct", path, name,
                        dl_sweep_values_format(values[repeat], number, sizeof number),
                        repeat, first);
}

/* Fails unless every values[n] of coordinate name is an integer from
 * min to max; kind names the values in the message ("seeds"). */
static int integers_check(const char *path, const char *name, const double *values,
                          size_t n, double min, double max, const char *kind, dl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (values[i] >= min && values[i] <= max && values[i] == floor(values[i]))
            continue;
        char number[32], low[32], high[32];
        return dl_error_set(err, "%s: /lora/%s: value %s at index %zu is invalid: %s are "
                            "integers from %s to %s", path, name,
                            dl_sweep_values_format(values[i], number, sizeof number), i, kind,
                            dl_sweep_values_format(min, low, sizeof low),
                            dl_sweep_values_format(max, high, sizeof high));
    }
    return 0;
}

/* Reads the numeric coordinates and checks their values. */
static int coords_read(lora_reader *r, dl_lora_results *lora, dl_error *err)
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

    /* the checks come before the conversions to int64_t, which are
     * undefined for values out of its range */
    int limit = lora->D < lora->N ? lora->D : lora->N;
    if (integers_check(r->path, "rank", rank, lora->n_ranks, 1, limit,
                       "ranks (up to min(D, N))", err) != 0 ||
        distinct_check(r->path, "rank", rank, lora->n_ranks, err) != 0 ||
        integers_check(r->path, "seed", seed, lora->n_seeds, 0,
                       DL_SWEEP_VALUES_INTEGER_LIMIT, "seeds", err) != 0 ||
        distinct_check(r->path, "seed", seed, lora->n_seeds, err) != 0 ||
        integers_check(r->path, "step_sample", step, lora->n_samples, 0, lora->steps,
                       "optimiser steps (up to the attribute steps)", err) != 0)
        goto done;
    for (size_t i = 0; i < lora->n_alphas; i++)
        if (!(isfinite(lora->alpha[i]) && lora->alpha[i] >= 0)) {
            char number[32];
            dl_error_set(err, "%s: /lora/alpha: value %s at index %zu is invalid: alpha "
                         "must be finite and >= 0", r->path,
                         dl_sweep_values_format(lora->alpha[i], number, sizeof number), i);
            goto done;
        }
    if (distinct_check(r->path, "alpha", lora->alpha, lora->n_alphas, err) != 0)
        goto done;
    /* the loss curves are drawn against step in file order */
    for (size_t i = 1; i < lora->n_samples; i++)
        if (!(step[i] > step[i - 1])) {
            dl_error_set(err, "%s: /lora/step_sample: value %.0f at index %zu is invalid: "
                         "the steps increase, and the one before is %.0f", r->path, step[i],
                         i, step[i - 1]);
            goto done;
        }

    lora->rank = malloc(lora->n_ranks * sizeof *lora->rank);
    lora->seed = malloc(lora->n_seeds * sizeof *lora->seed);
    lora->step_sample = malloc(lora->n_samples * sizeof *lora->step_sample);
    if (lora->rank == NULL || lora->seed == NULL || lora->step_sample == NULL) {
        dl_error_set(err, "%s: /lora: out of memory for the coordinates", r->path);
        goto done;
    }
    for (size_t i = 0; i < lora->n_ranks; i++)
        lora->rank[i] = (int64_t)rank[i];
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
static int datasets_read(lora_reader *r, dl_lora_results *lora, dl_error *err)
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
        /* first, because values_check looks up where dW* = 0 */
        {"task_singular_values", seed_spectrum, 2, false, &lora->task_singular_values},
        {"eval_kl", fit, FIT, true, &lora->eval_kl},
        {"forgetting", fit, FIT, true, &lora->forgetting},
        {"final_loss", fit, FIT, true, &lora->final_loss},
        {"relative_error", fit, FIT, true, &lora->relative_error},
        {"eckart_young_error", fit, FIT, true, &lora->eckart_young_error},
        {"loss_curve", fit, FIT + 1, true, &lora->loss_curve},
        {"singular_values", spectrum, 5, false, &lora->singular_values},
        {"probe_adapted", probe, 5, false, &lora->probe_adapted},
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
 * config accepts, each at most once; figures and reports show them as
 * text. */
static int scalings_check(const char *path, const dl_lora_results *lora, dl_error *err)
{
    for (size_t i = 0; i < lora->n_scalings; i++) {
        const char *value = lora->scaling[i];
        char what[48];
        snprintf(what, sizeof what, "value %zu", i);
        if (dl_store_text_check(path, "/lora/scaling", what, value, err) != 0)
            return -1;
        if (strcmp(value, "standard") != 0 && strcmp(value, "rslora") != 0 &&
            strcmp(value, "none") != 0)
            return dl_error_set(err, "%s: /lora/scaling: value '%.40s' is invalid: a scaling "
                                "is standard, rslora or none", path, value);
        for (size_t j = 0; j < i; j++)
            if (strcmp(lora->scaling[j], value) == 0)
                return dl_error_set(err, "%s: /lora/scaling: value '%s' at index %zu repeats "
                                    "index %zu: the values of a coordinate are distinct",
                                    path, value, i, j);
    }
    return 0;
}

int dl_store_lora_read(int64_t file, const char *path, dl_lora_results *lora, dl_error *err)
{
    memset(lora, 0, sizeof *lora);
    lora_reader r = {path, H5I_INVALID_HID, {0}, 0, lora};
    r.group = H5Gopen2((hid_t)file, "lora", H5P_DEFAULT);
    if (r.group < 0)
        return dl_store_h5_fail(err, path, "/lora", "opening the group failed");
    r.values_left = values_budget(&r);

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
                                           &lora->scaling[0], err) != 0 ||
            dl_store_text_check(path, "/lora", "attribute scaling", lora->scaling[0], err) != 0)
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
