/* store_adapter.c - reading stored adapters, writing merged weights and
 * stacked adapters; see store_adapter.h.
 *
 * Every dataset is read whole into memory: an adapter is r (D + N)
 * values and the base D N, both small next to the /drift arrays.
 */
#include "store_adapter.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

struct dl_adapter_file {
    char *path;
    hid_t file;
    hid_t adapters;   /* /lora/adapters */
    double *base;     /* /lora/base/W [rows][cols] */
    size_t rows, cols;
    int64_t seed;
    char **names;     /* adapter groups in creation order */
    size_t count;
};

/* ---- reading datasets and attributes ---- */

/* Writes a short name of an HDF5 type, as numpy would call it, into
 * text[size]. */
static void describe_type(hid_t type, char *text, size_t size)
{
    size_t bits = 8 * H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_FLOAT:
        snprintf(text, size, "float%zu", bits);
        return;
    case H5T_INTEGER:
        snprintf(text, size, "%sint%zu",
                 H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
        return;
    case H5T_STRING:
        snprintf(text, size, "a string");
        return;
    case H5T_COMPOUND:
        snprintf(text, size, "a compound type");
        return;
    default:
        snprintf(text, size, "a type of HDF5 class %d", (int)H5Tget_class(type));
        return;
    }
}

/* Returns H5I_DATASET, H5I_GROUP or another kind for the object name of
 * loc, or H5I_BADID when it cannot be opened. H5Oopen and H5Iget_type
 * work alike in HDF5 1.10 and 1.12, unlike H5Oget_info. */
static H5I_type_t object_kind(hid_t loc, const char *name)
{
    hid_t object = H5Oopen(loc, name, H5P_DEFAULT);
    if (object < 0)
        return H5I_BADID;
    H5I_type_t kind = H5Iget_type(object);
    H5Oclose(object);
    return kind;
}

/* Reads dataset name of loc, a float64 matrix, into a new array
 * values [dims[0]][dims[1]], after checking that it exists, is float64
 * and 2-D with both sizes >= 1, and that every value is finite. object is
 * the dataset's full path for messages. */
static int matrix_read(hid_t loc, const char *file, const char *object,
                       const char *name, double **values, size_t dims[2],
                       dl_error *err)
{
    *values = NULL;
    htri_t exists = H5Lexists(loc, name, H5P_DEFAULT);
    if (exists < 0)
        return dl_store_h5_fail(err, file, object, "looking up the dataset failed");
    if (exists == 0)
        return dl_error_set(err, "%s: %s is missing", file, object);

    H5I_type_t kind = object_kind(loc, name);
    if (kind == H5I_BADID)
        return dl_store_h5_fail(err, file, object, "opening the object failed");
    if (kind != H5I_DATASET)
        return dl_error_set(err, "%s: %s is not a dataset: it must be a float64 "
                            "matrix", file, object);

    hid_t dataset = H5Dopen2(loc, name, H5P_DEFAULT);
    if (dataset < 0)
        return dl_store_h5_fail(err, file, object, "opening the dataset failed");
    hid_t type = H5Dget_type(dataset);
    hid_t space = H5Dget_space(dataset);
    int status = -1;
    if (type < 0 || space < 0) {
        dl_store_h5_fail(err, file, object, "reading the type and shape failed");
        goto done;
    }

    if (H5Tget_class(type) != H5T_FLOAT || H5Tget_size(type) != 8) {
        char text[64];
        describe_type(type, text, sizeof text);
        dl_error_set(err, "%s: %s is %s: it must be float64", file, object, text);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t extent[H5S_MAX_RANK];
    if (rank < 0 || H5Sget_simple_extent_dims(space, extent, NULL) < 0) {
        dl_store_h5_fail(err, file, object, "reading the shape failed");
        goto done;
    }
    if (rank != 2) {
        dl_error_set(err, "%s: %s has %d dimensions: it must be a matrix (2 "
                     "dimensions)", file, object, rank);
        goto done;
    }
    if (extent[0] == 0 || extent[1] == 0 || extent[0] > 1000000000
        || extent[1] > 1000000000 / extent[0]) {
        dl_error_set(err, "%s: %s is %llu x %llu: both sizes must be at least 1 "
                     "and the matrix at most 10^9 values", file, object,
                     (unsigned long long)extent[0], (unsigned long long)extent[1]);
        goto done;
    }

    size_t rows = (size_t)extent[0], cols = (size_t)extent[1];
    *values = malloc(rows * cols * sizeof **values);
    if (*values == NULL) {
        dl_error_set(err, "%s: %s: out of memory for %zu x %zu values", file,
                     object, rows, cols);
        goto done;
    }
    if (H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                *values) < 0) {
        dl_store_h5_fail(err, file, object, "reading the values failed");
        goto done;
    }
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite((*values)[i])) {
            dl_error_set(err, "%s: %s[%zu][%zu] is %g: every value must be finite",
                         file, object, i / cols, i % cols, (*values)[i]);
            goto done;
        }
    dims[0] = rows;
    dims[1] = cols;
    status = 0;

done:
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

/* Reads the scalar numeric attribute name of object as a double, which
 * must be finite. */
static int double_attribute_read(hid_t object, const char *file,
                                 const char *object_name, const char *name,
                                 double *value, dl_error *err)
{
    if (dl_store_read_double_attribute(object, file, object_name, name, value,
                                       err) != 0)
        return -1;
    if (!isfinite(*value))
        return dl_error_set(err, "%s: %s: attribute %s is %g: it must be finite",
                            file, object_name, name, *value);
    return 0;
}

/* ---- opening a results file ---- */

/* The link info type that H5Literate passes: H5L_info2_t since HDF5 1.12. */
#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t link_info;
#else
typedef H5L_info_t link_info;
#endif

/* Why listing the adapters stopped. */
typedef enum {
    LIST_OK = 0,
    LIST_OUT_OF_MEMORY,
    LIST_NOT_A_GROUP,  /* an entry of /lora/adapters is not a group */
    LIST_BAD_NAME      /* a name that is not UTF-8 or has control bytes */
} list_problem;

typedef struct {
    dl_adapter_file *file;
    size_t capacity;
    list_problem problem;
    char shown[200];   /* the offending name, escaped */
} name_list;

/* Appends each child group of /lora/adapters to the file's names, and
 * stops at an entry that is not a group or has a name that is not
 * printable text. */
static herr_t name_visit(hid_t group, const char *name, const link_info *link,
                         void *data)
{
    (void)link;
    name_list *list = data;
    if (!dl_store_text_escape(name, list->shown, sizeof list->shown)) {
        list->problem = LIST_BAD_NAME;
        return -1;
    }
    if (object_kind(group, name) != H5I_GROUP) {
        list->problem = LIST_NOT_A_GROUP;
        return -1;
    }

    dl_adapter_file *file = list->file;
    if (file->count == list->capacity) {
        size_t capacity = list->capacity == 0 ? 16 : 2 * list->capacity;
        char **names = realloc(file->names, capacity * sizeof *names);
        if (names == NULL) {
            list->problem = LIST_OUT_OF_MEMORY;
            return -1;
        }
        file->names = names;
        list->capacity = capacity;
    }
    size_t length = strlen(name) + 1;
    file->names[file->count] = malloc(length);
    if (file->names[file->count] == NULL) {
        list->problem = LIST_OUT_OF_MEMORY;
        return -1;
    }
    memcpy(file->names[file->count++], name, length);
    return 0;
}

/* Lists the adapters in creation order, or by name when the file does not
 * track the creation order of /lora/adapters. */
static int names_read(dl_adapter_file *file, dl_error *err)
{
    hid_t gcpl = H5Gget_create_plist(file->adapters);
    unsigned order_flags = 0;
    if (gcpl < 0 || H5Pget_link_creation_order(gcpl, &order_flags) < 0) {
        if (gcpl >= 0)
            H5Pclose(gcpl);
        return dl_store_h5_fail(err, file->path, "/lora/adapters",
                                "reading the group's properties failed");
    }
    H5Pclose(gcpl);
    H5_index_t index = (order_flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER
                                                              : H5_INDEX_NAME;

    name_list list = {.file = file};
    hsize_t position = 0;
    if (H5Literate(file->adapters, index, H5_ITER_INC, &position, name_visit,
                    &list) < 0) {
        if (list.problem == LIST_OUT_OF_MEMORY)
            return dl_error_set(err, "%s: /lora/adapters: out of memory listing "
                                "the adapters", file->path);
        if (list.problem == LIST_NOT_A_GROUP)
            return dl_error_set(err, "%s: /lora/adapters/%s is not a group: every "
                                "entry of /lora/adapters is an adapter group with B "
                                "and A", file->path, list.shown);
        if (list.problem == LIST_BAD_NAME)
            return dl_error_set(err, "%s: /lora/adapters: the name '%s' is invalid: "
                                "names are UTF-8 without control characters",
                                file->path, list.shown);
        return dl_store_h5_fail(err, file->path, "/lora/adapters",
                                "listing the adapters failed");
    }
    return 0;
}

/* Checks that /lora, /lora/base and /lora/adapters exist, one level at a
 * time, because H5Lexists fails on a path whose parent is missing. */
static int layout_check(const dl_adapter_file *file, dl_error *err)
{
    static const struct {
        const char *path;
        const char *missing;
    } levels[] = {
        {"lora", "the file has no /lora group, so it stores no adapters; "
                 "write one with driftlab run on a config with a [lora] section"},
        {"lora/base", "/lora/base is missing, so the file stores no base W; "
                      "it was written before driftlab stored adapters"},
        {"lora/adapters", "/lora/adapters is missing, so the file stores no "
                          "adapters; it was written before driftlab stored them"},
    };
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        htri_t exists = H5Lexists(file->file, levels[i].path, H5P_DEFAULT);
        if (exists < 0)
            return dl_store_h5_fail(err, file->path, levels[i].path,
                                    "looking up the group failed");
        if (exists == 0)
            return dl_error_set(err, "%s: %s", file->path, levels[i].missing);
    }
    return 0;
}

/* Reads the seed attribute of /lora/base/W. */
static int seed_read(hid_t base, const char *path, int64_t *seed, dl_error *err)
{
    hid_t w = H5Dopen2(base, "W", H5P_DEFAULT);
    if (w < 0)
        return dl_store_h5_fail(err, path, "/lora/base/W", "opening the dataset failed");
    int status = dl_store_read_int64_attribute(w, path, "/lora/base/W", "seed", seed,
                                               err);
    H5Dclose(w);
    return status;
}

dl_adapter_file *dl_adapter_file_open(const char *path, dl_error *err)
{
    dl_store_h5_silence();
    if (access(path, R_OK) != 0) {
        dl_error_set(err, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    dl_adapter_file *file = calloc(1, sizeof *file);
    if (file == NULL) {
        dl_error_set(err, "%s: out of memory", path);
        return NULL;
    }
    file->file = H5I_INVALID_HID;
    file->adapters = H5I_INVALID_HID;
    file->path = malloc(strlen(path) + 1);
    if (file->path == NULL) {
        dl_error_set(err, "%s: out of memory", path);
        goto fail;
    }
    strcpy(file->path, path);

    file->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file->file < 0) {
        dl_store_h5_fail(err, path, "/", "opening the file failed; it must be an "
                         "HDF5 results file written by driftlab run");
        goto fail;
    }
    if (layout_check(file, err) != 0)
        goto fail;

    hid_t base = H5Gopen2(file->file, "lora/base", H5P_DEFAULT);
    if (base < 0) {
        dl_store_h5_fail(err, path, "/lora/base", "opening the group failed");
        goto fail;
    }
    size_t dims[2];
    int status = matrix_read(base, path, "/lora/base/W", "W", &file->base, dims, err);
    if (status == 0)
        status = seed_read(base, path, &file->seed, err);
    H5Gclose(base);
    if (status != 0)
        goto fail;
    file->rows = dims[0];
    file->cols = dims[1];

    file->adapters = H5Gopen2(file->file, "lora/adapters", H5P_DEFAULT);
    if (file->adapters < 0) {
        dl_store_h5_fail(err, path, "/lora/adapters", "opening the group failed");
        goto fail;
    }
    if (names_read(file, err) != 0)
        goto fail;
    return file;

fail:
    dl_adapter_file_close(file);
    return NULL;
}

void dl_adapter_file_close(dl_adapter_file *file)
{
    if (file == NULL)
        return;
    if (file->adapters >= 0)
        H5Gclose(file->adapters);
    if (file->file >= 0)
        H5Fclose(file->file);
    for (size_t i = 0; i < file->count; i++)
        free(file->names[i]);
    free(file->names);
    free(file->base);
    free(file->path);
    free(file);
}

const char *dl_adapter_file_path(const dl_adapter_file *file)
{
    return file->path;
}

const double *dl_adapter_file_base(const dl_adapter_file *file, size_t *rows,
                                   size_t *cols)
{
    *rows = file->rows;
    *cols = file->cols;
    return file->base;
}

int64_t dl_adapter_file_seed(const dl_adapter_file *file)
{
    return file->seed;
}

size_t dl_adapter_file_count(const dl_adapter_file *file)
{
    return file->count;
}

const char *dl_adapter_file_name(const dl_adapter_file *file, size_t index)
{
    return file->names[index];
}

/* ---- reading one adapter ---- */

/* Sets err to "adapter NAME not found" with the stored names listed, as
 * many as fit in the message. */
static int name_not_found(const dl_adapter_file *file, const char *name,
                          dl_error *err)
{
    if (file->count == 0)
        return dl_error_set(err, "%s: adapter '%s' not found: /lora/adapters is "
                            "empty", file->path, name);

    char list[DL_ERROR_MAX / 2];
    size_t used = 0;
    list[0] = '\0';
    for (size_t i = 0; i < file->count; i++) {
        const char *separator = i == 0 ? "" : ", ";
        size_t length = strlen(separator) + strlen(file->names[i]);
        /* room for this name and for ", ... (N in all)" after it */
        if (used + length + 40 >= sizeof list) {
            snprintf(list + used, sizeof list - used, ", ... (%zu in all)", file->count);
            break;
        }
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", separator,
                                 file->names[i]);
    }
    return dl_error_set(err, "%s: adapter '%s' not found; the file stores %s", file->path,
                        name, list);
}

/* Parses a scaling or init name against the names the enum's name
 * function gives for 0 .. count-1; returns the value or -1. */
static int enum_parse(const char *text, const char *(*name_of)(int), int count)
{
    for (int value = 0; value < count; value++)
        if (strcmp(text, name_of(value)) == 0)
            return value;
    return -1;
}

static const char *scaling_name(int value)
{
    return dl_lora_scaling_name((dl_lora_scaling)value);
}

static const char *init_name(int value)
{
    return dl_lora_init_name((dl_lora_init)value);
}

/* The attributes of one adapter group. */
typedef struct {
    int64_t rank;
    double alpha;
    double scale;
    dl_lora_scaling scaling;
    char *init;
    bool has_start;
} adapter_attributes;

static int attributes_read(hid_t group, const char *file, const char *object,
                           adapter_attributes *attributes, dl_error *err)
{
    char *scaling = NULL;
    int status = -1;
    attributes->init = NULL;
    if (dl_store_read_int64_attribute(group, file, object, "rank", &attributes->rank,
                                      err) != 0
        || double_attribute_read(group, file, object, "alpha", &attributes->alpha,
                                 err) != 0
        || double_attribute_read(group, file, object, "scale", &attributes->scale,
                                 err) != 0
        || dl_store_read_string_attribute(group, file, object, "scaling", &scaling,
                                          err) != 0
        || dl_store_read_string_attribute(group, file, object, "init",
                                          &attributes->init, err) != 0)
        goto done;

    if (attributes->rank < 1 || attributes->rank > 1000000) {
        dl_error_set(err, "%s: %s: attribute rank is %lld: it must be from 1 to "
                     "1000000", file, object, (long long)attributes->rank);
        goto done;
    }
    int parsed = enum_parse(scaling, scaling_name, 3);
    if (parsed < 0) {
        dl_error_set(err, "%s: %s: attribute scaling is '%s': it must be standard, "
                     "rslora or none", file, object, scaling);
        goto done;
    }
    attributes->scaling = (dl_lora_scaling)parsed;
    if (strcmp(attributes->init, DL_ADAPTER_INIT_STACKED) != 0
        && enum_parse(attributes->init, init_name, 3) < 0) {
        dl_error_set(err, "%s: %s: attribute init is '%s': it must be kaiming, "
                     "gaussian, svd or " DL_ADAPTER_INIT_STACKED, file, object,
                     attributes->init);
        goto done;
    }
    attributes->has_start = strcmp(attributes->init, "svd") == 0;
    status = 0;

done:
    free(scaling);
    if (status != 0) {
        free(attributes->init);
        attributes->init = NULL;
    }
    return status;
}

/* Reads the factors B and A (or B_init and A_init) of one group into
 * adapter, checking their shapes against the base and the rank
 * attribute. */
static int factors_read(hid_t group, const dl_adapter_file *file, const char *name,
                        const char *b_name, const char *a_name,
                        const adapter_attributes *attributes,
                        dl_lora_adapter *adapter, dl_error *err)
{
    char b_object[512], a_object[512];
    snprintf(b_object, sizeof b_object, "/lora/adapters/%s/%s", name, b_name);
    snprintf(a_object, sizeof a_object, "/lora/adapters/%s/%s", name, a_name);

    double *b = NULL, *a = NULL;
    size_t b_dims[2], a_dims[2];
    int status = -1;
    if (matrix_read(group, file->path, b_object, b_name, &b, b_dims, err) != 0
        || matrix_read(group, file->path, a_object, a_name, &a, a_dims, err) != 0)
        goto done;

    /* the shape check calls the factors B and A, so a start is named */
    if (dl_lora_check_shapes(b_dims[0], b_dims[1], a_dims[0], a_dims[1], file->rows,
                             file->cols, err) != 0) {
        if (strcmp(b_name, "B") == 0)
            dl_error_prefix(err, "%s: /lora/adapters/%s", file->path, name);
        else
            dl_error_prefix(err, "%s: /lora/adapters/%s, start factors %s and %s",
                            file->path, name, b_name, a_name);
        goto done;
    }
    if (b_dims[1] != (size_t)attributes->rank) {
        dl_error_set(err, "%s: %s is %zu x %zu but the attribute rank of "
                     "/lora/adapters/%s is %lld: %s must have rank columns",
                     file->path, b_object, b_dims[0], b_dims[1], name,
                     (long long)attributes->rank, b_name);
        goto done;
    }

    adapter->rank = (int)attributes->rank;
    adapter->input_dim = (int)file->rows;
    adapter->output_dim = (int)file->cols;
    adapter->alpha = attributes->alpha;
    adapter->scaling = attributes->scaling;
    adapter->scale = attributes->scale;
    adapter->b = b;
    adapter->a = a;
    b = a = NULL;
    status = 0;

done:
    free(b);
    free(a);
    return status;
}

int dl_adapter_file_read(const dl_adapter_file *file, const char *name,
                         dl_lora_trained *trained, char *init, size_t size,
                         dl_error *err)
{
    memset(trained, 0, sizeof *trained);
    bool known = false;
    for (size_t i = 0; i < file->count && !known; i++)
        known = strcmp(file->names[i], name) == 0;
    if (!known)
        return name_not_found(file, name, err);
    if (file->rows > 1000000 || file->cols > 1000000)
        return dl_error_set(err, "%s: /lora/base/W is %zu x %zu: each size must be "
                            "at most 1000000", file->path, file->rows, file->cols);

    char object[512];
    snprintf(object, sizeof object, "/lora/adapters/%s", name);
    hid_t group = H5Gopen2(file->adapters, name, H5P_DEFAULT);
    if (group < 0)
        return dl_store_h5_fail(err, file->path, object, "opening the group failed");

    adapter_attributes attributes;
    int status = attributes_read(group, file->path, object, &attributes, err);
    if (status == 0)
        status = factors_read(group, file, name, "B", "A", &attributes,
                              &trained->trained, err);
    if (status == 0 && attributes.has_start) {
        status = factors_read(group, file, name, "B_init", "A_init", &attributes,
                              &trained->start, err);
        trained->has_start = status == 0;
    }
    if (status == 0) {
        double expected = dl_lora_scale(attributes.alpha, (int)attributes.rank,
                                        attributes.scaling);
        if (attributes.scale != expected)
            status = dl_error_set(err, "%s: %s: attribute scale is %.17g but alpha "
                                  "%.17g, rank %lld and scaling %s give %.17g",
                                  file->path, object, attributes.scale,
                                  attributes.alpha, (long long)attributes.rank,
                                  dl_lora_scaling_name(attributes.scaling), expected);
    }
    if (status == 0 && dl_lora_trained_check(trained, file->rows, file->cols, err) != 0)
        status = dl_error_prefix(err, "%s: %s", file->path, object);
    if (status == 0)
        snprintf(init, size, "%s", attributes.init);

    free(attributes.init);
    H5Gclose(group);
    if (status != 0)
        dl_lora_trained_free(trained);
    return status;
}

/* ---- writing ---- */

/* Creates PATH.partial for writing, removing an old one first so that a
 * symbolic link of that name never redirects the write. */
static hid_t partial_create(const char *partial, dl_error *err)
{
    if (unlink(partial) != 0 && errno != ENOENT) {
        dl_error_set(err, "%s: cannot remove the old partial file: %s", partial,
                     strerror(errno));
        return H5I_INVALID_HID;
    }
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t fapl = dl_store_file_access_create();
    hid_t file = H5I_INVALID_HID;
    if (fcpl < 0 || fapl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0)
        dl_store_h5_fail(err, partial, "/", "setting up the file failed");
    else if ((file = H5Fcreate(partial, H5F_ACC_EXCL, fcpl, fapl)) < 0)
        dl_store_h5_fail(err, partial, "/", "creating the file failed; check that "
                         "the folder exists and is writable");
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return file;
}

/* Closes file and renames partial to path when status is 0; removes
 * partial otherwise. Returns the final status. */
static int partial_finish(hid_t file, const char *partial, const char *path,
                          int status, dl_error *err)
{
    if (file >= 0 && H5Fclose(file) < 0 && status == 0)
        status = dl_store_h5_fail(err, partial, "/", "closing the file failed, so "
                                  "its data may be incomplete");
    if (status == 0 && rename(partial, path) != 0)
        status = dl_error_set(err, "%s: renaming it to %s failed: %s", partial, path,
                              strerror(errno));
    if (status != 0)
        remove(partial);
    return status;
}

/* Creates group name in loc without times, tracking link creation order. */
static hid_t group_create(hid_t loc, const char *file, const char *object,
                          const char *name, dl_error *err)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t group = H5I_INVALID_HID;
    if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0
        || H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED
                                                | H5P_CRT_ORDER_INDEXED) < 0)
        dl_store_h5_fail(err, file, object, "setting up the group failed");
    else if ((group = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0)
        dl_store_h5_fail(err, file, object, "creating the group failed");
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return group;
}

/* Writes the float64 matrix values [rows][cols] as dataset name of loc and
 * returns it open, or a negative id with err set. */
static hid_t matrix_write(hid_t loc, const char *file, const char *object,
                          const char *name, const double *values, size_t rows,
                          size_t cols, dl_error *err)
{
    hsize_t dims[2] = {rows, cols};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t dataset = H5I_INVALID_HID;
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0)
        dl_store_h5_fail(err, file, object, "setting up the dataset failed");
    else if ((dataset = H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                   dcpl, H5P_DEFAULT)) < 0)
        dl_store_h5_fail(err, file, object, "creating the dataset failed");
    else if (H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                      values) < 0) {
        dl_store_h5_fail(err, file, object, "writing the values failed");
        H5Dclose(dataset);
        dataset = H5I_INVALID_HID;
    }
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return dataset;
}

/* Writes a 1-D attribute of count values: strings (memory_type a string
 * type) or doubles. */
static int array_attribute_write(hid_t object, const char *file,
                                 const char *object_name, const char *name,
                                 hid_t file_type, hid_t memory_type,
                                 const void *values, size_t count, dl_error *err)
{
    hsize_t dims[1] = {count};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t attribute = space < 0 ? H5I_INVALID_HID
                                : H5Acreate2(object, name, file_type, space,
                                             H5P_DEFAULT, H5P_DEFAULT);
    int status = 0;
    if (attribute < 0 || H5Awrite(attribute, memory_type, values) < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "writing attribute %s failed", name);
    if (attribute >= 0)
        H5Aclose(attribute);
    if (space >= 0)
        H5Sclose(space);
    return status;
}

static int names_attribute_write(hid_t object, const char *file,
                                 const char *object_name, const char *name,
                                 const char *const *names, size_t count,
                                 dl_error *err)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    int status;
    if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0
        || H5Tset_cset(type, H5T_CSET_UTF8) < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "making the string type of attribute %s failed",
                                  name);
    else
        status = array_attribute_write(object, file, object_name, name, type, type,
                                       names, count, err);
    if (type >= 0)
        H5Tclose(type);
    return status;
}

/* Writes description, results_file, merged_file, adapters (or sources)
 * and weights from provenance to object. */
static int provenance_write(hid_t object, const char *file, const char *object_name,
                            const dl_adapter_provenance *provenance,
                            const char *names_attribute, dl_error *err)
{
    if (dl_store_attribute_write_string(object, file, object_name, "description",
                                        provenance->description, err) != 0
        || dl_store_attribute_write_string(object, file, object_name, "results_file",
                                           provenance->results_file, err) != 0)
        return -1;
    if (provenance->merged_file != NULL
        && dl_store_attribute_write_string(object, file, object_name, "merged_file",
                                           provenance->merged_file, err) != 0)
        return -1;
    if (names_attribute_write(object, file, object_name, names_attribute,
                              provenance->names, provenance->count, err) != 0)
        return -1;
    return array_attribute_write(object, file, object_name, "weights", H5T_IEEE_F64LE,
                                 H5T_NATIVE_DOUBLE, provenance->weights,
                                 provenance->count, err);
}

/* Returns path + ".partial" in a new string, or NULL with err set. */
static char *partial_name(const char *path, dl_error *err)
{
    size_t length = strlen(path) + sizeof ".partial";
    char *partial = malloc(length);
    if (partial == NULL)
        dl_error_set(err, "%s: out of memory", path);
    else
        snprintf(partial, length, "%s.partial", path);
    return partial;
}

int dl_adapter_weights_write(const char *path, const double *w, size_t rows,
                             size_t cols, const dl_adapter_provenance *provenance,
                             dl_error *err)
{
    dl_store_h5_silence();
    char *partial = partial_name(path, err);
    if (partial == NULL)
        return -1;
    int status = -1;
    hid_t file = partial_create(partial, err);
    if (file >= 0) {
        hid_t dataset = matrix_write(file, partial, "/W", "W", w, rows, cols, err);
        if (dataset >= 0) {
            status = provenance_write(dataset, partial, "/W", provenance, "adapters",
                                      err);
            H5Dclose(dataset);
        }
    }
    status = partial_finish(file, partial, path, status, err);
    free(partial);
    return status;
}

int dl_adapter_weights_read(const char *path, double **w, size_t *rows,
                            size_t *cols, dl_error *err)
{
    dl_store_h5_silence();
    *w = NULL;
    if (access(path, R_OK) != 0)
        return dl_error_set(err, "%s: cannot read: %s", path, strerror(errno));
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return dl_store_h5_fail(err, path, "/", "opening the file failed; it must be "
                                "an HDF5 file written by driftlab adapter merge");
    size_t dims[2];
    int status = matrix_read(file, path, "/W", "W", w, dims, err);
    H5Fclose(file);
    if (status == 0) {
        *rows = dims[0];
        *cols = dims[1];
    }
    return status;
}

/* Writes /lora/base/W and /lora/adapters/stacked into the open file. */
static int stacked_groups_write(hid_t file, const char *partial,
                                const dl_adapter_file *source,
                                const dl_lora_adapter *stacked,
                                const dl_adapter_provenance *provenance,
                                dl_error *err)
{
    hid_t lora = H5I_INVALID_HID, base = H5I_INVALID_HID, adapters = H5I_INVALID_HID;
    hid_t group = H5I_INVALID_HID, dataset = H5I_INVALID_HID;
    const char *object = "/lora/adapters/stacked";
    int status = -1;

    lora = group_create(file, partial, "/lora", "lora", err);
    if (lora < 0 || (base = group_create(lora, partial, "/lora/base", "base", err)) < 0)
        goto done;
    dataset = matrix_write(base, partial, "/lora/base/W", "W", source->base,
                           source->rows, source->cols, err);
    if (dataset < 0
        || dl_store_attribute_write(dataset, partial, "/lora/base/W", "seed",
                                    H5T_STD_I64LE, H5T_NATIVE_INT64, &source->seed,
                                    err) != 0
        || dl_store_attribute_write_string(dataset, partial, "/lora/base/W",
                                           "description", "frozen base W that the "
                                           "stacked adapter adapts", err) != 0)
        goto done;
    H5Dclose(dataset);
    dataset = H5I_INVALID_HID;

    adapters = group_create(lora, partial, "/lora/adapters", "adapters", err);
    if (adapters < 0
        || (group = group_create(adapters, partial, object, "stacked", err)) < 0)
        goto done;

    size_t d = (size_t)stacked->input_dim, n = (size_t)stacked->output_dim;
    size_t r = (size_t)stacked->rank;
    int64_t rank = stacked->rank;
    hid_t b = matrix_write(group, partial, "/lora/adapters/stacked/B", "B", stacked->b,
                           d, r, err);
    if (b < 0)
        goto done;
    H5Dclose(b);
    hid_t a = matrix_write(group, partial, "/lora/adapters/stacked/A", "A", stacked->a,
                           r, n, err);
    if (a < 0)
        goto done;
    H5Dclose(a);

    if (dl_store_attribute_write(group, partial, object, "rank", H5T_STD_I64LE,
                                 H5T_NATIVE_INT64, &rank, err) != 0
        || dl_store_attribute_write(group, partial, object, "alpha", H5T_IEEE_F64LE,
                                    H5T_NATIVE_DOUBLE, &stacked->alpha, err) != 0
        || dl_store_attribute_write_string(group, partial, object, "scaling",
                                           dl_lora_scaling_name(stacked->scaling),
                                           err) != 0
        || dl_store_attribute_write_string(group, partial, object, "init",
                                           DL_ADAPTER_INIT_STACKED, err) != 0
        || dl_store_attribute_write(group, partial, object, "scale", H5T_IEEE_F64LE,
                                    H5T_NATIVE_DOUBLE, &stacked->scale, err) != 0
        || dl_store_attribute_write(group, partial, object, "seed", H5T_STD_I64LE,
                                    H5T_NATIVE_INT64, &source->seed, err) != 0
        || provenance_write(group, partial, object, provenance, "sources", err) != 0)
        goto done;
    status = 0;

done:
    if (dataset >= 0)
        H5Dclose(dataset);
    if (group >= 0)
        H5Gclose(group);
    if (adapters >= 0)
        H5Gclose(adapters);
    if (base >= 0)
        H5Gclose(base);
    if (lora >= 0)
        H5Gclose(lora);
    return status;
}

int dl_adapter_stacked_write(const char *path, const dl_adapter_file *source,
                             const dl_lora_adapter *stacked,
                             const dl_adapter_provenance *provenance,
                             dl_error *err)
{
    dl_store_h5_silence();
    char *partial = partial_name(path, err);
    if (partial == NULL)
        return -1;
    int status = -1;
    hid_t file = partial_create(partial, err);
    if (file >= 0)
        status = stacked_groups_write(file, partial, source, stacked, provenance, err);
    status = partial_finish(file, partial, path, status, err);
    free(partial);
    return status;
}
