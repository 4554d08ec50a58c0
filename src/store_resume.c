/* store_resume.c - reopening PATH.partial for --resume.
 *
 * dl_store_resume reopens a partial file only when it is an HDF5 file
 * whose format_version, config_sha256 and driftlab_version match this run.
 * Its coordinate values and its datasets' element types and shapes must
 * also match the layout built from the current plan. It then loads
 * run_done into memory, so dl_store_run_done reports the runs already
 * complete. Because store.c writes a run's run_done flag after all of its
 * datasets, a run marked done in the file is complete.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opens coordinate c and checks its length and values against the plan. */
static int coord_check(dl_store *store, int c, dl_error *err)
{
    const store_coord *coord = &store->coord[c];
    char object[64];
    snprintf(object, sizeof object, "/drift/%s", coord->name);

    size_t bytes = (size_t)coord->length * dl_store_value_size(coord->type);
    void *expected = malloc(bytes);
    void *stored = malloc(bytes);
    hid_t id = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int status = -1;
    if (expected == NULL || stored == NULL) {
        dl_error_set(err, "%s: %s: out of memory", store->partial_path,
                     object);
        goto done;
    }
    dl_store_coord_values(store, c, expected);

    id = H5Dopen2(store->group, coord->name, H5P_DEFAULT);
    if (id < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "opening the coordinate failed");
        goto done;
    }
    space = H5Dget_space(id);
    hsize_t length = 0;
    if (space < 0 || H5Sget_simple_extent_ndims(space) != 1
        || H5Sget_simple_extent_dims(space, &length, NULL) != 1) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "the coordinate is not one-dimensional");
        goto done;
    }
    if (length != coord->length) {
        dl_error_set(err, "%s: %s: the coordinate has %llu values, the "
                     "current plan has %llu", store->partial_path, object,
                     (unsigned long long)length,
                     (unsigned long long)coord->length);
        goto done;
    }
    if (H5Dread(id, dl_store_value_memory_type(coord->type), H5S_ALL, H5S_ALL,
                H5P_DEFAULT, stored) < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "reading the coordinate failed");
        goto done;
    }
    if (memcmp(expected, stored, bytes) != 0) {
        dl_error_set(err, "%s: %s: the coordinate values differ from the "
                     "current plan", store->partial_path, object);
        goto done;
    }
    status = 0;

done:
    if (space >= 0)
        H5Sclose(space);
    if (id >= 0)
        H5Dclose(id);
    free(stored);
    free(expected);
    return status;
}

/* Opens variable v of an existing file and checks its type and shape. */
static int var_open(dl_store *store, store_var *v, dl_error *err)
{
    char object[80];
    snprintf(object, sizeof object, "/drift/%s", v->name);

    hid_t dapl = dl_store_dataset_access_create(v);
    if (dapl < 0)
        return dl_store_h5_fail(err, store->partial_path, object,
                                "setting up the chunk cache failed");
    v->id = H5Dopen2(store->group, v->name, dapl);
    H5Pclose(dapl);
    if (v->id < 0)
        return dl_store_h5_fail(err, store->partial_path, object,
                                "opening the dataset failed");

    hid_t type = H5Dget_type(v->id);
    hid_t space = H5Dget_space(v->id);
    int status = 0;
    hsize_t dims[H5S_MAX_RANK];
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (type < 0 || H5Tequal(type, dl_store_value_file_type(v->type)) <= 0) {
        status = dl_error_set(err, "%s: %s: the dataset has another element "
                              "type than the current layout",
                              store->partial_path, object);
    } else if (rank != v->rank
               || H5Sget_simple_extent_dims(space, dims, NULL) != rank) {
        status = dl_error_set(err, "%s: %s: the dataset has rank %d, the "
                              "current layout has %d", store->partial_path,
                              object, rank, v->rank);
    } else {
        for (int d = 0; d < rank; d++)
            if (dims[d] != v->dims[d]) {
                status = dl_error_set(err, "%s: %s: dimension %d has length "
                                      "%llu, the current layout has %llu",
                                      store->partial_path, object, d,
                                      (unsigned long long)dims[d],
                                      (unsigned long long)v->dims[d]);
                break;
            }
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return status;
}

/* Checks the root attributes of a partial file against this config and
 * this driftlab version. */
static int root_attributes_check(dl_store *store, const char *version,
                                 const char *sha256, dl_error *err)
{
    const char *file = store->partial_path;
    int64_t format = 0;
    char *stored_sha = NULL, *stored_version = NULL;
    int status = -1;

    if (dl_store_read_int64_attribute(store->file, file, "/",
                                      "format_version", &format, err) != 0
        || dl_store_read_string_attribute(store->file, file, "/",
                                          "config_sha256", &stored_sha,
                                          err) != 0
        || dl_store_read_string_attribute(store->file, file, "/",
                                          "driftlab_version", &stored_version,
                                          err) != 0)
        goto done;

    if (format != DL_STORE_FORMAT_VERSION) {
        dl_error_set(err, "%s: format_version is %lld, this driftlab writes "
                     "%d; run without --resume to start over", file,
                     (long long)format, DL_STORE_FORMAT_VERSION);
        goto done;
    }
    if (strcmp(stored_sha, sha256) != 0) {
        dl_error_set(err, "%s: the file was written for another config "
                     "(config_sha256 %s, the current config has %s); run "
                     "without --resume to start over", file, stored_sha,
                     sha256);
        goto done;
    }
    if (strcmp(stored_version, version) != 0) {
        dl_error_set(err, "%s: the file was written by driftlab %s, this is "
                     "driftlab %s, and runs of two versions may differ; run "
                     "without --resume to start over", file, stored_version,
                     version);
        goto done;
    }
    status = 0;

done:
    free(stored_version);
    free(stored_sha);
    return status;
}

dl_store *dl_store_resume(const char *path, const dl_plan *plan,
                          const char *version, dl_error *err)
{
    char sha256[65];
    dl_store *store = dl_store_prepare(path, plan, sha256, err);
    if (store == NULL)
        return NULL;
    if (version == NULL)
        version = "unknown";

    /* The file must exist and be HDF5 before HDF5 opens it. */
    hid_t fapl = H5I_INVALID_HID;
    FILE *probe = fopen(store->partial_path, "rb");
    if (probe == NULL) {
        dl_error_set(err, "%s: cannot resume: %s; run without --resume to "
                     "start over", store->partial_path, strerror(errno));
        goto fail;
    }
    fclose(probe);
    if (H5Fis_hdf5(store->partial_path) <= 0) {
        dl_error_set(err, "%s: cannot resume: not an HDF5 file, perhaps cut "
                     "short by a crash; run without --resume to start over",
                     store->partial_path);
        goto fail;
    }

    fapl = dl_store_file_access_create();
    if (fapl < 0) {
        dl_store_h5_fail(err, store->partial_path, "/",
                         "setting up the file failed");
        goto fail;
    }
    store->file = H5Fopen(store->partial_path, H5F_ACC_RDWR, fapl);
    if (store->file < 0) {
        dl_store_h5_fail(err, store->partial_path, "/",
                         "opening the file to resume failed; run without "
                         "--resume to start over");
        goto fail;
    }
    if (root_attributes_check(store, version, sha256, err) != 0)
        goto fail;

    /* the layout: coordinates and data variables */
    store->group = H5Gopen2(store->file, "drift", H5P_DEFAULT);
    if (store->group < 0) {
        dl_store_h5_fail(err, store->partial_path, "/drift",
                         "opening the group failed");
        goto fail;
    }
    for (int c = 0; c < COORD_AXIS + (int)plan->n_axes; c++)
        if (store->coord[c].length > 0 && coord_check(store, c, err) != 0)
            goto fail;
    for (int i = 0; i < VAR_COUNT; i++)
        if (store->var[i].present && var_open(store, &store->var[i], err) != 0)
            goto fail;

    /* run_done in memory; its row-major order is the run order */
    if (H5Dread(store->var[VAR_RUN_DONE].id, H5T_NATIVE_UINT8, H5S_ALL,
                H5S_ALL, H5P_DEFAULT, store->run_done) < 0) {
        dl_store_h5_fail(err, store->partial_path, "/drift/run_done",
                         "reading the dataset failed");
        goto fail;
    }

    H5Pclose(fapl);
    return store;

fail:
    if (fapl >= 0)
        H5Pclose(fapl);
    dl_store_close(store, NULL);
    dl_store_free(store);
    return NULL;
}
