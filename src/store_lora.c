/* store_lora.c - writing the /lora group of results.h5; see store_lora.h.
 *
 * Datasets are small (one value per run, or one curve per run), so they
 * are written whole and contiguous, without chunking or compression.
 */
#include "store_lora.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

/* Coordinates of /lora, in creation order. */
enum {
    LORA_COORD_RANK = 0,
    LORA_COORD_ALPHA,
    LORA_COORD_SEED,
    LORA_COORD_STEP_SAMPLE,
    LORA_COORD_COUNT
};

/* One dataset of /lora with its attributes. */
typedef struct {
    const char *name;
    const char *units;
    const char *long_name;
    const char *description;
} lora_var_text;

/* Creates dataset name in group with the given shape and values, its
 * units, long_name and description attributes, and returns it open in
 * *id. */
static int dataset_create(hid_t group, const char *file, const lora_var_text *text,
                          hid_t file_type, hid_t memory_type, int rank,
                          const hsize_t *dims, const void *values, hid_t *id,
                          dl_error *err)
{
    char object[80];
    snprintf(object, sizeof object, "/lora/%s", text->name);

    int status = -1;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    *id = H5I_INVALID_HID;
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
        dl_store_h5_fail(err, file, object, "setting up the dataset failed");
        goto done;
    }
    *id = H5Dcreate2(group, text->name, file_type, space, H5P_DEFAULT, dcpl,
                     H5P_DEFAULT);
    if (*id < 0) {
        dl_store_h5_fail(err, file, object, "creating the dataset failed");
        goto done;
    }
    if (H5Dwrite(*id, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) {
        dl_store_h5_fail(err, file, object, "writing the values failed");
        goto done;
    }
    if (dl_store_attribute_write_string(*id, file, object, "units", text->units,
                                        err) != 0
        || dl_store_attribute_write_string(*id, file, object, "long_name",
                                           text->long_name, err) != 0
        || dl_store_attribute_write_string(*id, file, object, "description",
                                           text->description, err) != 0)
        goto done;
    status = 0;

done:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return status;
}

/* Creates the coordinates rank, alpha, seed and step_sample as dimension
 * scales, open in coord[]. */
static int coords_create(hid_t group, const char *file, const dl_config *cfg,
                         const dl_lora_sweep_result *result, hid_t *coord,
                         dl_error *err)
{
    static const lora_var_text texts[LORA_COORD_COUNT] = {
        {"rank", "1", "adapter rank r",
         "rank of the LoRA update B A, with B D x r and A r x N"},
        {"alpha", "1", "LoRA alpha",
         "alpha of the adapter; the scaling key turns it into the scale s"},
        {"seed", "1", "seed",
         "seed of the task and of the adapter's random streams"},
        {"step_sample", "1", "optimiser step",
         "optimiser step after which each loss_curve point was recorded"},
    };
    size_t lengths[LORA_COORD_COUNT] = {result->n_ranks, result->n_alphas,
                                        result->n_seeds, result->curve_length};
    size_t longest = 0;
    for (int c = 0; c < LORA_COORD_COUNT; c++)
        if (lengths[c] > longest)
            longest = lengths[c];

    int64_t *integers = malloc((longest > 0 ? longest : 1) * sizeof *integers);
    if (integers == NULL)
        return dl_error_set(err, "%s: /lora: out of memory for the coordinates",
                            file);

    int status = 0;
    for (int c = 0; c < LORA_COORD_COUNT && status == 0; c++) {
        hsize_t dims[1] = {lengths[c]};
        const void *values = integers;
        hid_t file_type = H5T_STD_I64LE, memory_type = H5T_NATIVE_INT64;
        for (size_t i = 0; i < lengths[c]; i++) {
            if (c == LORA_COORD_RANK)
                integers[i] = (int64_t)cfg->lora_rank.values[i];
            else if (c == LORA_COORD_SEED)
                integers[i] = cfg->seeds[i];
            else if (c == LORA_COORD_STEP_SAMPLE)
                integers[i] = result->curve_steps[i];
        }
        if (c == LORA_COORD_ALPHA) {
            values = cfg->lora_alpha.values;
            file_type = H5T_IEEE_F64LE;
            memory_type = H5T_NATIVE_DOUBLE;
        }
        status = dataset_create(group, file, &texts[c], file_type, memory_type,
                                1, dims, values, &coord[c], err);
        if (status == 0 && H5DSset_scale(coord[c], texts[c].name) < 0)
            status = dl_store_h5_fail(err, file, "/lora",
                                      "making %s a dimension scale failed",
                                      texts[c].name);
    }
    free(integers);
    return status;
}

/* Creates one data variable and attaches the coordinates of its
 * dimensions. */
static int var_create(hid_t group, const char *file, const lora_var_text *text,
                      hid_t file_type, hid_t memory_type, int rank,
                      const hsize_t *dims, const int *coord_of_dim,
                      const hid_t *coord, const void *values, dl_error *err)
{
    hid_t id;
    int status = dataset_create(group, file, text, file_type, memory_type,
                                rank, dims, values, &id, err);
    for (int d = 0; d < rank && status == 0; d++)
        if (H5DSattach_scale(id, coord[coord_of_dim[d]], (unsigned)d) < 0)
            status = dl_store_h5_fail(err, file, "/lora",
                                      "attaching dimension %d of %s failed", d,
                                      text->name);
    if (id >= 0)
        H5Dclose(id);
    return status;
}

static int group_attributes_write(hid_t group, const char *file,
                                  const dl_config *cfg, dl_error *err)
{
    const dl_lora_task_params *task = &cfg->lora_task;
    const dl_lora_train_params *train = &cfg->lora_train;
    const struct {
        const char *name;
        int value;
    } integers[] = {
        {"D", task->input_dim}, {"N", task->output_dim},
        {"task_rank", task->task_rank}, {"n_train", task->n_train},
        {"n_eval", task->n_eval}, {"n_old", task->n_old},
        {"steps", train->steps}, {"batch_size", train->batch_size},
        {"curve_length", train->curve_length},
    };
    const struct {
        const char *name;
        double value;
    } reals[] = {
        {"task_scale", task->task_scale}, {"task_decay", task->task_decay},
        {"task_noise", task->task_noise},
        {"learning_rate", train->learning_rate},
    };
    const struct {
        const char *name;
        const char *value;
    } names[] = {
        {"scaling", dl_lora_scaling_name(cfg->lora_adapter.scaling)},
        {"init", dl_lora_init_name(cfg->lora_adapter.init)},
        {"optimizer", dl_lora_optimizer_name(train->optimizer)},
    };

    for (size_t i = 0; i < sizeof integers / sizeof integers[0]; i++)
        if (dl_store_attribute_write_int32(group, file, "/lora",
                                           integers[i].name, integers[i].value,
                                           err) != 0)
            return -1;
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (dl_store_attribute_write(group, file, "/lora", reals[i].name,
                                     H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                     &reals[i].value, err) != 0)
            return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (dl_store_attribute_write_string(group, file, "/lora", names[i].name,
                                            names[i].value, err) != 0)
            return -1;
    return 0;
}

static int vars_create(hid_t group, const char *file,
                       const dl_lora_sweep_result *result, const hid_t *coord,
                       dl_error *err)
{
    static const int run_coords[3] = {LORA_COORD_RANK, LORA_COORD_ALPHA,
                                      LORA_COORD_SEED};
    static const int curve_coords[4] = {LORA_COORD_RANK, LORA_COORD_ALPHA,
                                        LORA_COORD_SEED, LORA_COORD_STEP_SAMPLE};
    static const int seed_coords[1] = {LORA_COORD_SEED};
    hsize_t run_dims[4] = {result->n_ranks, result->n_alphas, result->n_seeds,
                           result->curve_length};
    hsize_t seed_dims[1] = {result->n_seeds};

    const struct {
        lora_var_text text;
        const double *values;
    } per_run[] = {
        {{"eval_kl", "nat", "eval KL divergence",
          "mean over the eval rows of KL(teacher || adapted)"},
         result->eval_kl},
        {{"forgetting", "nat", "forgetting",
          "mean over the old-task rows of KL(base || adapted)"},
         result->forgetting},
        {{"final_loss", "nat", "final training loss",
          "cross-entropy against the teacher after the last step"},
         result->final_loss},
        {{"relative_error", "1", "relative error of the update",
          "||U - dW*||_F / ||dW*||_F of the learned update U"},
         result->relative_error},
        {{"eckart_young_error", "1", "Eckart-Young optimum",
          "smallest relative error any update of the adapter's rank can reach"},
         result->eckart_young_error},
        {{"parameter_ratio", "1", "parameter ratio",
          "trained parameters r (D + N) divided by D N"},
         result->parameter_ratio},
    };

    for (size_t i = 0; i < sizeof per_run / sizeof per_run[0]; i++)
        if (var_create(group, file, &per_run[i].text, H5T_IEEE_F64LE,
                       H5T_NATIVE_DOUBLE, 3, run_dims, run_coords, coord,
                       per_run[i].values, err) != 0)
            return -1;

    const lora_var_text count_text = {"parameter_count", "1", "parameter count",
                                      "trained parameters r (D + N)"};
    if (var_create(group, file, &count_text, H5T_STD_I64LE, H5T_NATIVE_LLONG, 3,
                   run_dims, run_coords, coord, result->parameter_count, err) != 0)
        return -1;

    const lora_var_text curve_text = {"loss_curve", "nat", "training loss",
                                      "training cross-entropy after step_sample "
                                      "optimiser steps"};
    if (var_create(group, file, &curve_text, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 4,
                   run_dims, curve_coords, coord, result->loss_curve, err) != 0)
        return -1;

    const lora_var_text full_kl = {"full_rank_eval_kl", "nat",
                                   "full-rank eval KL divergence",
                                   "eval KL of dW trained directly on the same "
                                   "task, the baseline of every rank"};
    const lora_var_text full_forgetting = {"full_rank_forgetting", "nat",
                                           "full-rank forgetting",
                                           "forgetting of dW trained directly "
                                           "on the same task"};
    if (var_create(group, file, &full_kl, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                   seed_dims, seed_coords, coord, result->full_rank_eval_kl,
                   err) != 0
        || var_create(group, file, &full_forgetting, H5T_IEEE_F64LE,
                      H5T_NATIVE_DOUBLE, 1, seed_dims, seed_coords, coord,
                      result->full_rank_forgetting, err) != 0)
        return -1;
    return 0;
}

int dl_store_lora_write(int64_t file_id, const char *file_name,
                        const dl_config *cfg,
                        const dl_lora_sweep_result *result, dl_error *err)
{
    hid_t file = (hid_t)file_id;
    hid_t coord[LORA_COORD_COUNT];
    for (int c = 0; c < LORA_COORD_COUNT; c++)
        coord[c] = H5I_INVALID_HID;
    hid_t group = H5I_INVALID_HID;
    int status = -1;

    htri_t exists = H5Lexists(file, "lora", H5P_DEFAULT);
    if (exists < 0 || (exists > 0 && H5Ldelete(file, "lora", H5P_DEFAULT) < 0)) {
        dl_store_h5_fail(err, file_name, "/lora",
                         "removing the group of an earlier run failed");
        return -1;
    }

    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0) {
        dl_store_h5_fail(err, file_name, "/lora", "setting up the group failed");
        goto done;
    }
    group = H5Gcreate2(file, "lora", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (group < 0) {
        dl_store_h5_fail(err, file_name, "/lora", "creating the group failed");
        goto done;
    }
    if (group_attributes_write(group, file_name, cfg, err) != 0
        || coords_create(group, file_name, cfg, result, coord, err) != 0
        || vars_create(group, file_name, result, coord, err) != 0)
        goto done;
    status = 0;

done:
    for (int c = 0; c < LORA_COORD_COUNT; c++)
        if (coord[c] >= 0)
            H5Dclose(coord[c]);
    if (group >= 0)
        H5Gclose(group);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return status;
}

int dl_store_lora_create(const char *path, const dl_config *cfg,
                         const char *version,
                         const dl_lora_sweep_result *result, dl_error *err)
{
    char sha256[65];
    if (dl_store_config_text_check(cfg, sha256, err) != 0)
        return -1;

    size_t length = strlen(path) + sizeof ".partial";
    char *partial = malloc(length);
    if (partial == NULL)
        return dl_error_set(err, "%s: out of memory", path);
    snprintf(partial, length, "%s.partial", path);

    dl_store_h5_silence();
    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID, file = H5I_INVALID_HID;
    int status = -1;

    /* removed first, as dl_store_create does, so that a symbolic link
     * named like the partial file never redirects the write */
    if (unlink(partial) != 0 && errno != ENOENT) {
        dl_error_set(err, "%s: cannot remove the old partial file: %s", partial,
                     strerror(errno));
        goto done;
    }
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    fapl = dl_store_file_access_create();
    if (fcpl < 0 || fapl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0) {
        dl_store_h5_fail(err, partial, "/", "setting up the file failed");
        goto done;
    }
    file = H5Fcreate(partial, H5F_ACC_EXCL, fcpl, fapl);
    if (file < 0) {
        dl_store_h5_fail(err, partial, "/", "creating the file failed; check "
                         "that the folder exists and is writable");
        goto done;
    }
    if (dl_store_root_attributes_write(file, partial, cfg,
                                       version != NULL ? version : "unknown",
                                       sha256, err) != 0
        || dl_store_lora_write((int64_t)file, partial, cfg, result, err) != 0)
        goto done;

    hid_t closing = file;
    file = H5I_INVALID_HID;
    if (H5Fclose(closing) < 0) {
        dl_store_h5_fail(err, partial, "/", "closing the file failed, so its "
                         "data may be incomplete");
        goto done;
    }
    if (rename(partial, path) != 0) {
        dl_error_set(err, "%s: renaming it to %s failed: %s", partial, path,
                     strerror(errno));
        goto done;
    }
    status = 0;

done:
    if (file >= 0)
        H5Fclose(file);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (status != 0)
        remove(partial);
    free(partial);
    return status;
}
