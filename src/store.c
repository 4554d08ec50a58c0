/* store.c - writing results.h5, the HDF5 file of one config's drift runs.
 *
 * Format: store.h lists the datasets of /drift and their dimensions, and
 * docs/results-format.md gives units, fill values and how to read them.
 * The /figures group holds only attributes: the [figures] settings of the
 * config and its figure formats.
 * Every dimension is a 1-D coordinate dataset made an HDF5 dimension scale
 * and attached to each dataset that has it, so h5py, h5netcdf and xarray
 * see named dimensions with coordinate values.
 *
 * Invariants:
 * - Writes go to PATH.partial. dl_store_finish renames it to PATH only
 *   after every run is marked done and the file closed cleanly, so PATH
 *   never contains a half-written file.
 * - A run's run_done flag is written after all of its datasets, so a run
 *   marked done in a resumed file is complete.
 * - No object stores a modification time, and nothing written depends on
 *   the clock, the path or the thread count, so the same sequence of calls
 *   gives the same bytes.
 * - Chunks span a contiguous range of runs in plan order, and each
 *   dataset's chunk cache has room for two chunks, so the one chunk that
 *   is partly written stays in memory and is compressed once.
 * - One thread at a time calls into the store, because the store object
 *   has no lock and the write order decides the bytes. (Debian 12's
 *   serial HDF5 1.10.8 is built thread-safe, but it serialises every call.)
 *
 * The /lora group is written by store_lora.c through dl_store_finish_with.
 * Left out: parallel HDF5.
 *
 * The layout tables and chunk choice are in store_layout.c, resuming is in
 * store_resume.c and the HDF5 error and attribute helpers are in
 * store_h5.c. store_internal.h declares the types and functions they
 * share.
 */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

/* ---- tunables ---- */

/* Smallest chunk cache per open dataset (HDF5 1.10's default is 1 MiB). */
#define CHUNK_CACHE_MIN_BYTES ((size_t)1024 * 1024)

/* Hash slots of each chunk cache: a prime far above the chunks it holds. */
#define CHUNK_CACHE_SLOTS 521

/* zlib level, from 1 (fastest) to 9 (smallest). */
#define DEFLATE_LEVEL 4

/* ---- store lifetime ---- */

void dl_store_free(dl_store *store)
{
    if (store == NULL)
        return;
    free(store->path);
    free(store->partial_path);
    free(store->run_done);
    free(store);
}

/* Allocates a store for path with every HDF5 id invalid. */
dl_store *dl_store_alloc(const char *path, const dl_plan *plan,
                         dl_error *err)
{
    if (path == NULL || path[0] == '\0') {
        dl_error_set(err, "results store: no output file name given");
        return NULL;
    }

    dl_store *store = calloc(1, sizeof *store);
    if (store == NULL)
        goto out_of_memory;
    store->plan = plan;
    store->file = H5I_INVALID_HID;
    store->group = H5I_INVALID_HID;
    for (int i = 0; i < VAR_COUNT; i++)
        store->var[i].id = H5I_INVALID_HID;

    size_t length = strlen(path);
    const char suffix[] = ".partial";
    store->path = malloc(length + 1);
    store->partial_path = malloc(length + sizeof suffix);
    store->run_done = calloc(plan->n_runs, 1);
    if (store->path == NULL || store->partial_path == NULL
        || store->run_done == NULL)
        goto out_of_memory;
    memcpy(store->path, path, length + 1);
    memcpy(store->partial_path, path, length);
    memcpy(store->partial_path + length, suffix, sizeof suffix);
    return store;

out_of_memory:
    dl_store_free(store);
    dl_error_set(err, "%s: out of memory setting up the results store", path);
    return NULL;
}

/* Silences HDF5's error printing, checks plan and its config text, and
 * allocates a store for path with its layout built. Writes the config's
 * SHA-256 in hex into sha256. Returns NULL with err set on failure. */
dl_store *dl_store_prepare(const char *path, const dl_plan *plan,
                           char sha256[65], dl_error *err)
{
    dl_store_h5_silence();
    if (dl_store_plan_check(plan, err) != 0)
        return NULL;
    if (dl_store_config_text_check(plan->config, sha256, err) != 0)
        return NULL;
    dl_store *store = dl_store_alloc(path, plan, err);
    if (store == NULL)
        return NULL;
    dl_store_layout_build(store);
    return store;
}

/* Closes every open dataset, /drift and the file, all of them even when
 * one fails, and returns -1 with err describing the first failure. With
 * err NULL, after an earlier failure, it reports nothing. */
int dl_store_close(dl_store *store, dl_error *err)
{
    int status = 0;
    for (int i = 0; i < VAR_COUNT; i++) {
        store_var *v = &store->var[i];
        if (v->id < 0)
            continue;
        if (H5Dclose(v->id) < 0 && status == 0 && err != NULL)
            status = dl_store_h5_fail(err, store->partial_path, "/drift",
                                      "closing dataset %s failed", v->name);
        v->id = H5I_INVALID_HID;
    }
    if (store->group >= 0) {
        if (H5Gclose(store->group) < 0 && status == 0 && err != NULL)
            status = dl_store_h5_fail(err, store->partial_path, "/drift",
                                      "closing the group failed");
        store->group = H5I_INVALID_HID;
    }
    if (store->file >= 0) {
        /* H5Fclose flushes the chunk caches, so a full disk shows here. */
        if (H5Fclose(store->file) < 0 && status == 0 && err != NULL)
            status = dl_store_h5_fail(err, store->partial_path, "/",
                                      "closing the file failed, so its "
                                      "data may be incomplete");
        store->file = H5I_INVALID_HID;
    }
    return status;
}

/* File access: close every object with the file, so an abandoned store
 * leaves nothing open. */
hid_t dl_store_file_access_create(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return H5I_INVALID_HID;
    if (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

/* Dataset access: a chunk cache of at least two chunks (see the file
 * comment). Chunks that are fully read or written are evicted first. */
hid_t dl_store_dataset_access_create(const store_var *v)
{
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0)
        return H5I_INVALID_HID;
    size_t cache_bytes = 2 * v->chunk_bytes;
    if (cache_bytes < CHUNK_CACHE_MIN_BYTES)
        cache_bytes = CHUNK_CACHE_MIN_BYTES;
    if (H5Pset_chunk_cache(dapl, CHUNK_CACHE_SLOTS, cache_bytes, 1.0) < 0) {
        H5Pclose(dapl);
        return H5I_INVALID_HID;
    }
    return dapl;
}

/* ---- creating the file ---- */

int dl_store_root_attributes_write(hid_t root, const char *file,
                                   const dl_config *cfg, const char *version,
                                   const char *sha256, dl_error *err)
{
    if (dl_store_attribute_write_int32(root, file, "/", "format_version",
                                       DL_STORE_FORMAT_VERSION, err) != 0
        || dl_store_attribute_write_string(root, file, "/", "driftlab_version",
                                           version, err) != 0
        || dl_store_attribute_write_string(root, file, "/", "config_name",
                                           cfg->name != NULL ? cfg->name : "",
                                           err) != 0
        || dl_store_attribute_write_string(root, file, "/", "config_text",
                                           cfg->text, err) != 0
        || dl_store_attribute_write_string(root, file, "/", "config_sha256",
                                           sha256, err) != 0
        || dl_store_attribute_write(root, file, "/", "master_seed",
                                    H5T_STD_U64LE, H5T_NATIVE_UINT64,
                                    &cfg->master_seed, err) != 0)
        return -1;
    return 0;
}

/* Writes the attributes of /drift: the model settings and the value of
 * every sweepable key that is not swept, so a reader needs no config. */
static int drift_attributes_write(dl_store *store, dl_error *err)
{
    const dl_config *cfg = store->plan->config;
    const char *file = store->partial_path;
    hid_t group = store->group;

    if (dl_store_attribute_write_string(group, file, "/drift", "rule",
                                        dl_rule_name(cfg->rule), err) != 0
        || dl_store_attribute_write_string(group, file, "/drift", "projection",
                                           dl_projection_name(cfg->projection),
                                           err) != 0)
        return -1;

    const struct {
        const char *name;
        int value;
    } ints[] = {
        {"clusters", cfg->clusters},
        {"tokens_per_cluster", cfg->tokens_per_cluster},
        {"vocab_size", cfg->clusters * cfg->tokens_per_cluster},
        {"d_model", cfg->d_model},
        {"d_head", cfg->d_head},
        {"prompt_length", cfg->prompt_length},
        {"steps", cfg->steps},
        {"keep_attention", cfg->keep_attention},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (dl_store_attribute_write_int32(group, file, "/drift", ints[i].name,
                                           ints[i].value, err) != 0)
            return -1;

    for (int k = 0; k < DL_SWEEP_COUNT; k++) {
        const dl_value_list *list = &cfg->sweep[k];
        if (list->count != 1 || list->values == NULL)
            continue;
        const char *name = dl_sweep_key_name((dl_sweep_key)k);
        int status;
        if (dl_sweep_key_is_integer((dl_sweep_key)k)) {
            int64_t value = (int64_t)list->values[0];
            status = dl_store_attribute_write(group, file, "/drift", name,
                                              H5T_STD_I64LE, H5T_NATIVE_INT64,
                                              &value, err);
        } else {
            status = dl_store_attribute_write(group, file, "/drift", name,
                                              H5T_IEEE_F64LE,
                                              H5T_NATIVE_DOUBLE,
                                              &list->values[0], err);
        }
        if (status != 0)
            return -1;
    }
    return 0;
}

/* Writes the DL_FORMAT_* bits as "svg,pdf,png", in that order. */
static void formats_text(unsigned formats, char *text, size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {DL_FORMAT_SVG, "svg"},
        {DL_FORMAT_PDF, "pdf"},
        {DL_FORMAT_PNG, "png"},
    };

    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((formats & names[i].bit) == 0)
            continue;
        int n = snprintf(text + used, size - used, "%s%s",
                         used > 0 ? "," : "", names[i].name);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

/* Creates /figures with the figure settings as attributes, so figures can
 * be drawn again from the file alone. gcpl turns off modification times. */
static int figures_group_write(dl_store *store, hid_t gcpl, dl_error *err)
{
    const dl_config *cfg = store->plan->config;
    const char *file = store->partial_path;

    hid_t group = H5Gcreate2(store->file, "figures", H5P_DEFAULT, gcpl,
                             H5P_DEFAULT);
    if (group < 0)
        return dl_store_h5_fail(err, file, "/figures",
                                "creating the group failed");

    char formats[16];
    formats_text(cfg->formats, formats, sizeof formats);
    int status = 0;
    if (dl_store_attribute_write(group, file, "/figures", "temperature",
                                 H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                 &cfg->figure_temperature, err) != 0
        || dl_store_attribute_write(group, file, "/figures", "seed",
                                    H5T_STD_I64LE, H5T_NATIVE_INT64,
                                    &cfg->figure_seed, err) != 0
        || dl_store_attribute_write(group, file, "/figures", "png_ppi",
                                    H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                    &cfg->png_ppi, err) != 0
        || dl_store_attribute_write_int32(group, file, "/figures",
                                          "strip_steps", cfg->strip_steps,
                                          err) != 0
        || dl_store_attribute_write_string(group, file, "/figures",
                                           "formats", formats, err) != 0)
        status = -1;

    if (H5Gclose(group) < 0 && status == 0)
        status = dl_store_h5_fail(err, file, "/figures",
                                  "closing the group failed");
    return status;
}

/* Writes units, long_name and description onto a dataset. */
static int dataset_attributes_write(hid_t dataset, const char *file,
                                    const char *object_name,
                                    const char *units, const char *long_name,
                                    const char *description, dl_error *err)
{
    if (dl_store_attribute_write_string(dataset, file, object_name, "units",
                                        units, err) != 0
        || dl_store_attribute_write_string(dataset, file, object_name,
                                           "long_name", long_name, err) != 0
        || dl_store_attribute_write_string(dataset, file, object_name,
                                           "description", description,
                                           err) != 0)
        return -1;
    return 0;
}

/* Creates coordinate c in /drift with its values, makes it a dimension
 * scale named after itself and sets *id to the open dataset. */
static int coord_create(dl_store *store, int c, hid_t *id, dl_error *err)
{
    const store_coord *coord = &store->coord[c];
    char object[64];
    snprintf(object, sizeof object, "/drift/%s", coord->name);

    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    void *values = NULL;
    int status = -1;

    values = malloc((size_t)coord->length * dl_store_value_size(coord->type));
    if (values == NULL) {
        dl_error_set(err, "%s: %s: out of memory", store->partial_path,
                     object);
        goto done;
    }
    dl_store_coord_values(store, c, values);

    space = H5Screate_simple(1, &coord->length, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "setting up the dataset failed");
        goto done;
    }

    *id = H5Dcreate2(store->group, coord->name,
                     dl_store_value_file_type(coord->type), space,
                     H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (*id < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "creating the coordinate failed");
        goto done;
    }
    if (H5Dwrite(*id, dl_store_value_memory_type(coord->type), H5S_ALL,
                 H5S_ALL, H5P_DEFAULT, values) < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "writing the coordinate values failed");
        goto done;
    }
    if (H5DSset_scale(*id, coord->name) < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "making the coordinate a dimension scale failed");
        goto done;
    }
    status = dataset_attributes_write(*id, store->partial_path, object,
                                      coord->units, coord->long_name,
                                      coord->description, err);

done:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    free(values);
    return status;
}

/* Creates variable v: chunked, shuffled and deflated (scalars stay
 * contiguous), filled with NaN, -1 or 0 until written. */
static int var_create(dl_store *store, store_var *v, dl_error *err)
{
    char object[80];
    snprintf(object, sizeof object, "/drift/%s", v->name);

    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hid_t dapl = H5I_INVALID_HID;
    int status = -1;

    const double nan_fill = NAN;
    const int32_t int_fill = -1;
    const uint8_t flag_fill = 0;
    const void *fill = v->type == VALUE_F64 ? (const void *)&nan_fill
                     : v->type == VALUE_U8 ? (const void *)&flag_fill
                     : (const void *)&int_fill;
    hid_t fill_type = v->type == VALUE_F64 ? H5T_NATIVE_DOUBLE
                    : v->type == VALUE_U8 ? H5T_NATIVE_UINT8
                    : H5T_NATIVE_INT32;

    space = v->rank == 0 ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(v->rank, v->dims, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    dapl = dl_store_dataset_access_create(v);
    if (space < 0 || dcpl < 0 || dapl < 0
        || H5Pset_obj_track_times(dcpl, 0) < 0
        || H5Pset_fill_value(dcpl, fill_type, fill) < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "setting up the dataset failed");
        goto done;
    }
    if (v->rank > 0
        && (H5Pset_chunk(dcpl, v->rank, v->chunk) < 0
            || H5Pset_shuffle(dcpl) < 0
            || H5Pset_deflate(dcpl, DEFLATE_LEVEL) < 0)) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "setting chunking and compression failed");
        goto done;
    }

    v->id = H5Dcreate2(store->group, v->name,
                       dl_store_value_file_type(v->type), space, H5P_DEFAULT,
                       dcpl, dapl);
    if (v->id < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "creating the dataset failed");
        goto done;
    }
    status = dataset_attributes_write(v->id, store->partial_path, object,
                                      v->units, v->long_name, v->description,
                                      err);

done:
    if (dapl >= 0)
        H5Pclose(dapl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return status;
}

/* Attaches to every dimension of v the coordinate that labels it. */
static int var_attach_scales(dl_store *store, store_var *v,
                             const hid_t *coord_id, dl_error *err)
{
    for (int d = 0; d < v->rank; d++) {
        if (H5DSattach_scale(v->id, coord_id[v->coord[d]], (unsigned)d) < 0) {
            char object[80];
            snprintf(object, sizeof object, "/drift/%s", v->name);
            return dl_store_h5_fail(err, store->partial_path, object,
                                    "attaching coordinate %s to dimension "
                                    "%d failed",
                                    store->coord[v->coord[d]].name, d);
        }
    }
    return 0;
}

/* Writes cluster_of_token: token j is in cluster j / tokens_per_cluster. */
static int cluster_of_token_write(dl_store *store, dl_error *err)
{
    const dl_config *cfg = store->plan->config;
    store_var *v = &store->var[VAR_CLUSTER_OF_TOKEN];
    size_t n_tokens = (size_t)v->dims[0];

    int32_t *cluster = malloc(n_tokens * sizeof *cluster);
    if (cluster == NULL)
        return dl_error_set(err, "%s: /drift/cluster_of_token: out of memory",
                            store->partial_path);
    for (size_t j = 0; j < n_tokens; j++)
        cluster[j] = (int32_t)(j / (size_t)cfg->tokens_per_cluster);

    int status = 0;
    if (H5Dwrite(v->id, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                 cluster) < 0)
        status = dl_store_h5_fail(err, store->partial_path,
                                  "/drift/cluster_of_token",
                                  "writing the dataset failed");
    free(cluster);
    return status;
}

dl_store *dl_store_create(const char *path, const dl_plan *plan,
                          const char *version, dl_error *err)
{
    char sha256[65];
    dl_store *store = dl_store_prepare(path, plan, sha256, err);
    if (store == NULL)
        return NULL;

    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    hid_t gcpl = H5I_INVALID_HID;
    hid_t coord_id[COORD_MAX];
    for (int c = 0; c < COORD_MAX; c++)
        coord_id[c] = H5I_INVALID_HID;
    bool created = false;

    /* The file: an old partial file is removed first, not truncated in
     * place, so a symbolic link named like it never redirects the write,
     * and the exclusive create then fails rather than reuse a file that
     * appeared in between. */
    if (unlink(store->partial_path) != 0 && errno != ENOENT) {
        dl_error_set(err, "%s: cannot remove the old partial file: %s",
                     store->partial_path, strerror(errno));
        goto fail;
    }
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    fapl = dl_store_file_access_create();
    if (fcpl < 0 || fapl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0) {
        dl_store_h5_fail(err, store->partial_path, "/",
                         "setting up the file failed");
        goto fail;
    }
    store->file = H5Fcreate(store->partial_path, H5F_ACC_EXCL, fcpl, fapl);
    if (store->file < 0) {
        dl_store_h5_fail(err, store->partial_path, "/",
                         "creating the file failed; check that the folder "
                         "exists and is writable");
        goto fail;
    }
    created = true;
    if (dl_store_root_attributes_write(store->file, store->partial_path,
                                       store->plan->config,
                                       version != NULL ? version : "unknown",
                                       sha256, err) != 0)
        goto fail;

    /* the /drift group and its attributes */
    gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0) {
        dl_store_h5_fail(err, store->partial_path, "/drift",
                         "setting up the group failed");
        goto fail;
    }
    store->group = H5Gcreate2(store->file, "drift", H5P_DEFAULT, gcpl,
                              H5P_DEFAULT);
    if (store->group < 0) {
        dl_store_h5_fail(err, store->partial_path, "/drift",
                         "creating the group failed");
        goto fail;
    }
    if (drift_attributes_write(store, err) != 0)
        goto fail;

    /* coordinates, axes first in file order */
    for (size_t a = 0; a < plan->n_axes; a++)
        if (coord_create(store, COORD_AXIS + (int)a,
                         &coord_id[COORD_AXIS + a], err) != 0)
            goto fail;
    for (int c = 0; c < COORD_FIXED_COUNT; c++)
        if (store->coord[c].length > 0
            && coord_create(store, c, &coord_id[c], err) != 0)
            goto fail;

    /* data variables with their dimension scales */
    for (int i = 0; i < VAR_COUNT; i++) {
        store_var *v = &store->var[i];
        if (!v->present)
            continue;
        if (var_create(store, v, err) != 0
            || var_attach_scales(store, v, coord_id, err) != 0)
            goto fail;
    }
    if (cluster_of_token_write(store, err) != 0)
        goto fail;

    /* the figure settings */
    if (figures_group_write(store, gcpl, err) != 0)
        goto fail;

    for (int c = 0; c < COORD_MAX; c++)
        if (coord_id[c] >= 0)
            H5Dclose(coord_id[c]);
    H5Pclose(gcpl);
    H5Pclose(fapl);
    H5Pclose(fcpl);
    return store;

fail:
    for (int c = 0; c < COORD_MAX; c++)
        if (coord_id[c] >= 0)
            H5Dclose(coord_id[c]);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    dl_store_close(store, NULL);
    /* A half-built file cannot be resumed, so it goes. */
    if (created)
        remove(store->partial_path);
    dl_store_free(store);
    return NULL;
}

/* ---- writing runs ---- */

bool dl_store_run_done(dl_store *store, size_t point, size_t seed_index)
{
    if (store == NULL || point >= store->plan->n_points
        || seed_index >= store->plan->n_seeds)
        return false;
    return store->run_done[point * store->plan->n_seeds + seed_index] != 0;
}

/* Selects in v the block at index lead[0 .. n_lead-1] of its leading
 * dimensions and the whole of the others, as a file space, and a 1-D
 * memory space of the block's elements. */
static int block_select(const dl_store *store, const store_var *v,
                        const hsize_t *lead, int n_lead, hid_t *file_space,
                        hid_t *memory_space, const char *what, dl_error *err)
{
    char object[80];
    snprintf(object, sizeof object, "/drift/%s", v->name);

    *memory_space = H5I_INVALID_HID;
    *file_space = H5Dget_space(v->id);
    if (*file_space < 0)
        return dl_store_h5_fail(err, store->partial_path, object,
                                "%s failed", what);

    if (v->rank == 0) {
        *memory_space = H5Screate(H5S_SCALAR);
        if (*memory_space < 0 || H5Sselect_all(*file_space) < 0)
            return dl_store_h5_fail(err, store->partial_path, object,
                                    "%s failed", what);
        return 0;
    }

    hsize_t start[MAX_RANK], count[MAX_RANK];
    hsize_t n_elements = 1;
    for (int d = 0; d < v->rank; d++) {
        start[d] = d < n_lead ? lead[d] : 0;
        count[d] = d < n_lead ? 1 : v->dims[d];
        n_elements *= count[d];
    }
    if (H5Sselect_hyperslab(*file_space, H5S_SELECT_SET, start, NULL, count,
                            NULL) < 0)
        return dl_store_h5_fail(err, store->partial_path, object,
                                "%s failed", what);
    *memory_space = H5Screate_simple(1, &n_elements, NULL);
    if (*memory_space < 0)
        return dl_store_h5_fail(err, store->partial_path, object,
                                "%s failed", what);
    return 0;
}

/* Writes buffer (memory_type) to the block of v at lead; see
 * block_select. what names the operation in an error message. */
static int block_write(const dl_store *store, const store_var *v,
                       const hsize_t *lead, int n_lead, hid_t memory_type,
                       const void *buffer, const char *what, dl_error *err)
{
    hid_t file_space, memory_space;
    int status = block_select(store, v, lead, n_lead, &file_space,
                              &memory_space, what, err);
    if (status == 0 && H5Dwrite(v->id, memory_type, memory_space, file_space,
                                H5P_DEFAULT, buffer) < 0) {
        char object[80];
        snprintf(object, sizeof object, "/drift/%s", v->name);
        status = dl_store_h5_fail(err, store->partial_path, object,
                                  "%s failed", what);
    }
    if (memory_space >= 0)
        H5Sclose(memory_space);
    if (file_space >= 0)
        H5Sclose(file_space);
    return status;
}

/* Reads the block of v at lead into buffer; see block_select. */
static int block_read(const dl_store *store, const store_var *v,
                      const hsize_t *lead, int n_lead, hid_t memory_type,
                      void *buffer, const char *what, dl_error *err)
{
    hid_t file_space, memory_space;
    int status = block_select(store, v, lead, n_lead, &file_space,
                              &memory_space, what, err);
    if (status == 0 && H5Dread(v->id, memory_type, memory_space, file_space,
                               H5P_DEFAULT, buffer) < 0) {
        char object[80];
        snprintf(object, sizeof object, "/drift/%s", v->name);
        status = dl_store_h5_fail(err, store->partial_path, object,
                                  "%s failed", what);
    }
    if (memory_space >= 0)
        H5Sclose(memory_space);
    if (file_space >= 0)
        H5Sclose(file_space);
    return status;
}

/* Returns the first step whose prompt attention is below 0.5, or NaN. */
static double half_life_of(const double *prompt_attention, int steps)
{
    for (int t = 0; t < steps; t++)
        if (prompt_attention[t] < 0.5)
            return (double)t;
    return NAN;
}

/* Writes the world of a seed at the world axes' indices: embedding,
 * projections (the identity when the world has none) and prompt. */
static int world_write(dl_store *store, const size_t *axis_index,
                       size_t seed_index, const dl_drift_world *world,
                       const char *what, dl_error *err)
{
    const dl_config *cfg = store->plan->config;
    if (world->vocab_size != cfg->clusters * cfg->tokens_per_cluster
        || world->d_model != cfg->d_model || world->d_head != cfg->d_head
        || world->prompt_length != cfg->prompt_length
        || world->embedding == NULL || world->prompt == NULL)
        return dl_error_set(err, "%s: %s: the world (vocabulary %d, d_model "
                            "%d, d_head %d, prompt %d) does not match the "
                            "plan", store->partial_path, what,
                            world->vocab_size, world->d_model, world->d_head,
                            world->prompt_length);

    hsize_t lead[MAX_RANK];
    int n_lead = 0;
    for (size_t w = 0; w < store->n_world_axes; w++)
        lead[n_lead++] = axis_index[store->world_axis[w]];
    lead[n_lead++] = seed_index;

    if (block_write(store, &store->var[VAR_EMBEDDING], lead, n_lead,
                    H5T_NATIVE_DOUBLE, world->embedding, what, err) != 0
        || block_write(store, &store->var[VAR_PROMPT], lead, n_lead,
                       H5T_NATIVE_INT32, world->prompt, what, err) != 0)
        return -1;

    /* identity projections: d_head equals d_model */
    double *identity = NULL;
    if (world->wq == NULL || world->wk == NULL || world->wv == NULL) {
        if (world->d_head != world->d_model)
            return dl_error_set(err, "%s: %s: the world has no projections "
                                "and d_head %d differs from d_model %d",
                                store->partial_path, what, world->d_head,
                                world->d_model);
        size_t d = (size_t)world->d_model;
        identity = calloc(d * d, sizeof *identity);
        if (identity == NULL)
            return dl_error_set(err, "%s: %s: out of memory",
                                store->partial_path, what);
        for (size_t i = 0; i < d; i++)
            identity[i * d + i] = 1.0;
    }
    const double *projection[3] = {
        world->wq != NULL ? world->wq : identity,
        world->wk != NULL ? world->wk : identity,
        world->wv != NULL ? world->wv : identity,
    };
    int status = 0;
    for (int p = 0; p < 3 && status == 0; p++)
        status = block_write(store, &store->var[VAR_QUERY_PROJECTION + p],
                             lead, n_lead, H5T_NATIVE_DOUBLE, projection[p],
                             what, err);
    free(identity);
    return status;
}

int dl_store_write_run(dl_store *store, size_t point, size_t seed_index,
                       const dl_drift_world *world,
                       const dl_drift_result *result, dl_error *err)
{
    const dl_plan *plan = store->plan;
    const dl_config *cfg = plan->config;
    if (point >= plan->n_points || seed_index >= plan->n_seeds)
        return dl_error_set(err, "%s: run (point %zu, seed index %zu) is "
                            "outside the plan of %zu points and %zu seeds",
                            store->partial_path, point, seed_index,
                            plan->n_points, plan->n_seeds);

    size_t run = point * plan->n_seeds + seed_index;
    char what[96];
    snprintf(what, sizeof what, "writing run %zu (point %zu, seed index %zu)",
             run, point, seed_index);
    if (result == NULL || result->steps != cfg->steps
        || result->prompt_length != cfg->prompt_length
        || result->n_positions != plan->n_positions)
        return dl_error_set(err, "%s: %s: the result does not have the "
                            "plan's %d steps and %d positions",
                            store->partial_path, what, cfg->steps,
                            plan->n_positions);

    size_t axis_index[DL_SWEEP_COUNT];
    dl_plan_point_indices(plan, point, axis_index);
    hsize_t lead[MAX_RANK];
    int n_lead = 0;
    for (size_t a = 0; a < plan->n_axes; a++)
        lead[n_lead++] = axis_index[a];
    lead[n_lead++] = seed_index;

    /* the metric series, tokens, clusters and half-life */
    const double *series[DL_METRIC_COUNT] = {
        [DL_METRIC_PROMPT_ATTENTION] = result->prompt_attention,
        [DL_METRIC_SINK_ATTENTION] = result->sink_attention,
        [DL_METRIC_ENTROPY] = result->entropy,
        [DL_METRIC_LOCK_IN] = result->lock_in,
    };
    for (int m = 0; m < DL_METRIC_COUNT; m++)
        if (block_write(store, &store->var[VAR_PROMPT_ATTENTION + m], lead,
                        n_lead, H5T_NATIVE_DOUBLE, series[m], what, err) != 0)
            return -1;
    if (block_write(store, &store->var[VAR_TOKENS], lead, n_lead,
                    H5T_NATIVE_INT32, result->tokens, what, err) != 0
        || block_write(store, &store->var[VAR_CLUSTERS], lead, n_lead,
                       H5T_NATIVE_INT32, result->clusters, what, err) != 0)
        return -1;
    double half_life = half_life_of(result->prompt_attention, cfg->steps);
    if (block_write(store, &store->var[VAR_HALF_LIFE], lead, n_lead,
                    H5T_NATIVE_DOUBLE, &half_life, what, err) != 0)
        return -1;

    /* attention rows of the kept seeds; kept_seed i is seed index i */
    if (seed_index < store->n_kept) {
        if (result->attention == NULL)
            return dl_error_set(err, "%s: %s: seed index %zu is among the "
                                "first keep_attention = %d seeds, but the "
                                "result has no attention rows",
                                store->partial_path, what, seed_index,
                                cfg->keep_attention);
        if (block_write(store, &store->var[VAR_ATTENTION], lead, n_lead,
                        H5T_NATIVE_DOUBLE, result->attention, what, err) != 0)
            return -1;
    }

    /* the world, once: from the first point that has it */
    if (world != NULL && dl_plan_point_owns_world(plan, point)
        && world_write(store, axis_index, seed_index, world, what, err) != 0)
        return -1;

    /* done flag last, so a flagged run is complete */
    const uint8_t done = 1;
    if (block_write(store, &store->var[VAR_RUN_DONE], lead, n_lead,
                    H5T_NATIVE_UINT8, &done, what, err) != 0)
        return -1;
    store->run_done[run] = 1;
    return 0;
}

/* ---- per-point summaries ---- */

/* Fills lead with the axis indices of point; returns their count, or -1
 * with err set when point is outside the plan. */
static int point_lead(const dl_store *store, size_t point, hsize_t *lead,
                      dl_error *err)
{
    const dl_plan *plan = store->plan;
    if (point >= plan->n_points)
        return dl_error_set(err, "%s: point %zu is outside the plan of %zu "
                            "points", store->partial_path, point,
                            plan->n_points);
    size_t axis_index[DL_SWEEP_COUNT];
    dl_plan_point_indices(plan, point, axis_index);
    for (size_t a = 0; a < plan->n_axes; a++)
        lead[a] = axis_index[a];
    return (int)plan->n_axes;
}

int dl_store_read_point_metric(dl_store *store, dl_metric metric,
                               size_t point, double *values, dl_error *err)
{
    if ((int)metric < 0 || metric >= DL_METRIC_COUNT)
        return dl_error_set(err, "%s: unknown metric %d", store->partial_path,
                            (int)metric);
    hsize_t lead[MAX_RANK];
    int n_lead = point_lead(store, point, lead, err);
    if (n_lead < 0)
        return -1;

    char what[64];
    snprintf(what, sizeof what, "reading point %zu", point);
    return block_read(store, &store->var[VAR_PROMPT_ATTENTION + (int)metric],
                      lead, n_lead, H5T_NATIVE_DOUBLE, values, what, err);
}

int dl_store_write_point_summary(dl_store *store, dl_metric metric,
                                 dl_stat stat, size_t point,
                                 const double *values, dl_error *err)
{
    if ((int)metric < 0 || metric >= DL_METRIC_COUNT || (int)stat < 0
        || stat >= DL_STAT_COUNT)
        return dl_error_set(err, "%s: unknown metric %d or statistic %d",
                            store->partial_path, (int)metric, (int)stat);
    hsize_t lead[MAX_RANK];
    int n_lead = point_lead(store, point, lead, err);
    if (n_lead < 0)
        return -1;

    char what[64];
    snprintf(what, sizeof what, "writing the summary of point %zu", point);
    const store_var *v =
        &store->var[VAR_SUMMARY + (int)metric * DL_STAT_COUNT + (int)stat];
    return block_write(store, v, lead, n_lead, H5T_NATIVE_DOUBLE, values,
                       what, err);
}

int dl_store_write_point_half_life(dl_store *store, size_t point,
                                   double half_life, dl_error *err)
{
    hsize_t lead[MAX_RANK];
    int n_lead = point_lead(store, point, lead, err);
    if (n_lead < 0)
        return -1;

    char what[64];
    snprintf(what, sizeof what, "writing the half-life of point %zu", point);
    return block_write(store, &store->var[VAR_HALF_LIFE_OF_MEDIAN], lead,
                       n_lead, H5T_NATIVE_DOUBLE, &half_life, what, err);
}

/* ---- closing ---- */

int dl_store_finish(dl_store *store, dl_error *err)
{
    return dl_store_finish_with(store, NULL, NULL, err);
}

int dl_store_finish_with(dl_store *store, dl_store_extra_writer writer,
                         void *context, dl_error *err)
{
    if (store == NULL)
        return dl_error_set(err, "results store: no store to finish");

    size_t missing = 0;
    for (size_t r = 0; r < store->plan->n_runs; r++)
        missing += store->run_done[r] == 0;
    if (missing > 0) {
        dl_error_set(err, "%s: %zu of %zu runs are not done, so the results "
                     "stay in this file for --resume", store->partial_path,
                     missing, store->plan->n_runs);
        dl_store_close(store, NULL);
        dl_store_free(store);
        return -1;
    }

    if (writer != NULL
        && writer((int64_t)store->file, store->partial_path, context, err) != 0) {
        dl_store_close(store, NULL);
        dl_store_free(store);
        return -1;
    }

    int status = dl_store_close(store, err);
    if (status == 0 && rename(store->partial_path, store->path) != 0)
        status = dl_error_set(err, "%s: renaming it to %s failed: %s",
                              store->partial_path, store->path,
                              strerror(errno));
    dl_store_free(store);
    return status;
}

void dl_store_abandon(dl_store *store)
{
    if (store == NULL)
        return;
    dl_store_close(store, NULL);
    dl_store_free(store);
}
