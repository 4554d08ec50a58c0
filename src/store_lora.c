/* store_lora.c - writing the /lora group of results.h5; see store_lora.h.
 *
 * Every dataset is written whole, from the arrays of a finished sweep.
 * Small ones are contiguous; large ones (spectra, probes and curves of a
 * research sweep) are chunked and compressed.
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
    LORA_COORD_SCALING,
    LORA_COORD_SEED,
    LORA_COORD_STEP_SAMPLE,
    LORA_COORD_SINGULAR_INDEX,
    LORA_COORD_TOKEN,
    LORA_COORD_PHI_I,
    LORA_COORD_PHI_J,
    LORA_COORD_COUNT
};


/* Most dimensions of a /lora dataset: rank, alpha, scaling, seed and one
 * more. */
#define LORA_DIMS_MAX 5

/* One dataset of /lora with its attributes. */
typedef struct {
    const char *name;
    const char *units;
    const char *long_name;
    const char *description;
} lora_var_text;

/* Datasets of more than this many bytes with two or more dimensions are
 * chunked (one index of the first dimension per chunk) and compressed with
 * shuffle and deflate, as /drift's are. */
#define LORA_COMPRESS_BYTES (64 * 1024)
#define LORA_DEFLATE_LEVEL 4

/* Sets dcpl up for a dataset of the given shape: no modification time,
 * and chunks with compression when it is large. */
static int layout_set(hid_t dcpl, hid_t file_type, int rank, const hsize_t *dims)
{
    if (H5Pset_obj_track_times(dcpl, 0) < 0)
        return -1;
    double bytes = (double)H5Tget_size(file_type);
    for (int d = 0; d < rank; d++)
        bytes *= (double)dims[d];
    if (rank < 2 || bytes <= LORA_COMPRESS_BYTES || dims[0] == 0)
        return 0;
    hsize_t chunk[LORA_DIMS_MAX + 1];
    chunk[0] = 1;
    for (int d = 1; d < rank; d++)
        chunk[d] = dims[d] > 0 ? dims[d] : 1;
    if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0
        || H5Pset_deflate(dcpl, LORA_DEFLATE_LEVEL) < 0)
        return -1;
    return 0;
}

/* Creates dataset text->name in group (named group_path in messages) with
 * the given shape and values and its units, long_name and description
 * attributes, and returns it open in *id. */
static int dataset_create(hid_t group, const char *group_path, const char *file,
                          const lora_var_text *text, hid_t file_type,
                          hid_t memory_type, int rank, const hsize_t *dims,
                          const void *values, hid_t *id, dl_error *err)
{
    char object[160];
    snprintf(object, sizeof object, "%s/%s", group_path, text->name);

    int status = -1;
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    *id = H5I_INVALID_HID;
    if (space < 0 || dcpl < 0 || layout_set(dcpl, file_type, rank, dims) < 0) {
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

/* Lengths of the coordinates of a result. */
static void coord_lengths(const dl_lora_sweep_result *result,
                          size_t lengths[LORA_COORD_COUNT])
{
    lengths[LORA_COORD_RANK] = result->n_ranks;
    lengths[LORA_COORD_ALPHA] = result->n_alphas;
    lengths[LORA_COORD_SCALING] = result->n_scalings;
    lengths[LORA_COORD_SEED] = result->n_seeds;
    lengths[LORA_COORD_STEP_SAMPLE] = result->curve_length;
    lengths[LORA_COORD_SINGULAR_INDEX] = result->singular_count;
    lengths[LORA_COORD_TOKEN] = result->output_dim;
    lengths[LORA_COORD_PHI_I] = result->phi_rows;
    lengths[LORA_COORD_PHI_J] = result->phi_cols;
}

/* Fills integers with the values of integer coordinate c. */
static void coord_integers(int c, const dl_config *cfg,
                           const dl_lora_sweep_result *result, size_t length,
                           int64_t *integers)
{
    for (size_t i = 0; i < length; i++) {
        if (c == LORA_COORD_RANK)
            integers[i] = (int64_t)cfg->lora_rank.values[i];
        else if (c == LORA_COORD_SEED)
            integers[i] = cfg->lora_seeds[i];
        else if (c == LORA_COORD_STEP_SAMPLE)
            integers[i] = result->curve_steps[i];
        else if (c == LORA_COORD_PHI_I || c == LORA_COORD_PHI_J)
            integers[i] = (int64_t)i + 1;
        else
            integers[i] = (int64_t)i;
    }
}

/* Creates every coordinate as a dimension scale, open in coord[]. */
static int coords_create(hid_t group, const char *file, const dl_config *cfg,
                         const dl_lora_sweep_result *result, hid_t *coord,
                         dl_error *err)
{
    static const lora_var_text texts[LORA_COORD_COUNT] = {
        {"rank", "1", "adapter rank r",
         "rank of the LoRA update B A, with B D x r and A r x N"},
        {"alpha", "1", "LoRA alpha",
         "alpha of the adapter; scaling turns it into the scale s"},
        {"scaling", "1", "scaling rule",
         "how alpha and r give s: standard alpha / r, rslora alpha / sqrt(r), "
         "none alpha"},
        {"seed", "1", "seed",
         "seed of the task and of the adapter's random streams"},
        {"step_sample", "1", "optimiser step",
         "optimiser step after which each loss_curve point was recorded"},
        {"singular_index", "1", "singular value index",
         "position of a singular value in descending order, from 0"},
        {"token", "1", "output index",
         "index of one of the N outputs of the softmax"},
        {"phi_i", "1", "leading directions i",
         "number of leading right-singular vectors of A at the smallest rank"},
        {"phi_j", "1", "leading directions j",
         "number of leading right-singular vectors of A at the largest rank"},
    };
    size_t lengths[LORA_COORD_COUNT];
    coord_lengths(result, lengths);
    size_t longest = 1;
    for (int c = 0; c < LORA_COORD_COUNT; c++)
        if (lengths[c] > longest)
            longest = lengths[c];

    int64_t *integers = malloc(longest * sizeof *integers);
    const char **names = malloc(longest * sizeof *names);
    hid_t string_type = H5Tcopy(H5T_C_S1);
    if (integers == NULL || names == NULL) {
        free(integers);
        free(names);
        H5Tclose(string_type);
        return dl_error_set(err, "%s: /lora: out of memory for the coordinates",
                            file);
    }

    int status = 0;
    if (string_type < 0 || H5Tset_size(string_type, H5T_VARIABLE) < 0
        || H5Tset_cset(string_type, H5T_CSET_UTF8) < 0)
        status = dl_store_h5_fail(err, file, "/lora/scaling",
                                  "making the string type failed");
    for (int c = 0; c < LORA_COORD_COUNT && status == 0; c++) {
        hsize_t dims[1] = {lengths[c]};
        const void *values = integers;
        hid_t file_type = H5T_STD_I64LE, memory_type = H5T_NATIVE_INT64;
        if (c == LORA_COORD_ALPHA) {
            values = cfg->lora_alpha.values;
            file_type = H5T_IEEE_F64LE;
            memory_type = H5T_NATIVE_DOUBLE;
        } else if (c == LORA_COORD_SCALING) {
            for (size_t i = 0; i < lengths[c]; i++)
                names[i] = dl_lora_scaling_name(
                    (dl_lora_scaling)cfg->lora_scaling.values[i]);
            values = names;
            file_type = string_type;
            memory_type = string_type;
        } else {
            coord_integers(c, cfg, result, lengths[c], integers);
        }
        status = dataset_create(group, "/lora", file, &texts[c], file_type,
                                memory_type, 1, dims, values, &coord[c], err);
        if (status == 0 && H5DSset_scale(coord[c], texts[c].name) < 0)
            status = dl_store_h5_fail(err, file, "/lora",
                                      "making %s a dimension scale failed",
                                      texts[c].name);
    }
    free(integers);
    free(names);
    if (string_type >= 0)
        H5Tclose(string_type);
    return status;
}

/* One data variable of /lora: its text, its values and the coordinate of
 * each dimension. */
typedef struct {
    lora_var_text text;
    const void *values;
    int integer;                /* stored as int64 from long long */
    int n_dims;
    int coords[LORA_DIMS_MAX];
} lora_var;

/* Creates one data variable and attaches the coordinates of its
 * dimensions. */
static int var_create(hid_t group, const char *file, const lora_var *var,
                      const size_t *lengths, const hid_t *coord, dl_error *err)
{
    hsize_t dims[LORA_DIMS_MAX];
    for (int d = 0; d < var->n_dims; d++)
        dims[d] = lengths[var->coords[d]];
    hid_t id;
    int status = dataset_create(group, "/lora", file, &var->text,
                                var->integer ? H5T_STD_I64LE : H5T_IEEE_F64LE,
                                var->integer ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE,
                                var->n_dims, dims, var->values, &id, err);
    for (int d = 0; d < var->n_dims && status == 0; d++)
        if (H5DSattach_scale(id, coord[var->coords[d]], (unsigned)d) < 0)
            status = dl_store_h5_fail(err, file, "/lora",
                                      "attaching dimension %d of %s failed", d,
                                      var->text.name);
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

/* Shorthands for the coordinates of the tables below. */
#define R LORA_COORD_RANK
#define A LORA_COORD_ALPHA
#define C LORA_COORD_SCALING
#define S LORA_COORD_SEED
#define T LORA_COORD_STEP_SAMPLE
#define K LORA_COORD_SINGULAR_INDEX
#define V LORA_COORD_TOKEN
#define I LORA_COORD_PHI_I
#define J LORA_COORD_PHI_J

static int vars_create(hid_t group, const char *file,
                       const dl_lora_sweep_result *res, const hid_t *coord,
                       dl_error *err)
{
    size_t lengths[LORA_COORD_COUNT];
    coord_lengths(res, lengths);

    const lora_var vars[] = {
        {{"eval_kl", "nat", "eval KL divergence",
          "mean over the eval rows of KL(teacher || adapted)"},
         res->eval_kl, 0, 4, {R, A, C, S}},
        {{"forgetting", "nat", "forgetting",
          "mean over the old-task rows of KL(base || adapted)"},
         res->forgetting, 0, 4, {R, A, C, S}},
        {{"final_loss", "nat", "final training loss",
          "cross-entropy against the teacher after the last step"},
         res->final_loss, 0, 4, {R, A, C, S}},
        {{"relative_error", "1", "relative error of the update",
          "||U - dW*||_F / ||dW*||_F of the learned update U"},
         res->relative_error, 0, 4, {R, A, C, S}},
        {{"eckart_young_error", "1", "Eckart-Young optimum",
          "smallest relative error any update of the adapter's rank can reach"},
         res->eckart_young_error, 0, 4, {R, A, C, S}},
        {{"parameter_count", "1", "parameter count",
          "trained parameters r (D + N)"},
         res->parameter_count, 1, 4, {R, A, C, S}},
        {{"parameter_ratio", "1", "parameter ratio",
          "trained parameters r (D + N) divided by D N"},
         res->parameter_ratio, 0, 4, {R, A, C, S}},
        {{"effective_rank", "1", "effective rank",
          "exp of the entropy of the update's normalised singular values"},
         res->effective_rank, 0, 4, {R, A, C, S}},
        {{"amplification", "1", "amplification factor",
          "||U||_F / ||U_r^T W V_r||_F with U_r, V_r the update's top-r "
          "singular vectors"},
         res->amplification, 0, 4, {R, A, C, S}},
        {{"scale", "1", "adapter scale s",
          "the factor s of W + s B A, from alpha, rank and scaling"},
         res->scale, 0, 4, {R, A, C, S}},
        {{"loss_curve", "nat", "training loss",
          "training cross-entropy after step_sample optimiser steps"},
         res->loss_curve, 0, 5, {R, A, C, S, T}},
        {{"singular_values", "1", "singular values of the update",
          "singular values of the learned update U, descending"},
         res->singular_values, 0, 5, {R, A, C, S, K}},
        {{"probe_adapted", "1", "adapted probe softmax",
          "softmax of the probe input through the adapted weights W + U"},
         res->probe_adapted, 0, 5, {R, A, C, S, V}},
        {{"task_singular_values", "1", "singular values of dW*",
          "singular values of the task's update dW*, descending"},
         res->task_singular_values, 0, 2, {S, K}},
        {{"train_teacher_entropy", "nat", "teacher entropy on the training rows",
          "mean over the training rows of the entropy of the teacher's "
          "softmax: the least training loss, so loss minus it is the KL to "
          "the teacher"},
         res->train_teacher_entropy, 0, 1, {S}},
        {{"probe_base", "1", "base probe softmax",
          "softmax of the probe input through the base W"},
         res->probe_base, 0, 2, {S, V}},
        {{"probe_teacher", "1", "teacher probe softmax",
          "softmax of the probe input through the teacher W*"},
         res->probe_teacher, 0, 2, {S, V}},
        {{"full_rank_eval_kl", "nat", "full-rank eval KL divergence",
          "eval KL of dW trained directly on the same task, the baseline of "
          "every rank"},
         res->full_rank_eval_kl, 0, 1, {S}},
        {{"full_rank_forgetting", "nat", "full-rank forgetting",
          "forgetting of dW trained directly on the same task"},
         res->full_rank_forgetting, 0, 1, {S}},
        {{"full_rank_final_loss", "nat", "full-rank final training loss",
          "training cross-entropy of the baseline after the last step"},
         res->full_rank_final_loss, 0, 1, {S}},
        {{"full_rank_relative_error", "1", "full-rank relative error",
          "||dW - dW*||_F / ||dW*||_F of the baseline"},
         res->full_rank_relative_error, 0, 1, {S}},
        {{"full_rank_loss_curve", "nat", "full-rank training loss",
          "training cross-entropy of the baseline after step_sample steps"},
         res->full_rank_loss_curve, 0, 2, {S, T}},
        {{"full_rank_singular_values", "1", "singular values of the baseline",
          "singular values of the baseline's learned dW, descending"},
         res->full_rank_singular_values, 0, 2, {S, K}},
        {{"full_rank_probe", "1", "full-rank probe softmax",
          "softmax of the probe input through W + dW of the baseline"},
         res->full_rank_probe, 0, 2, {S, V}},
        {{"phi", "1", "subspace similarity",
          "phi(i, j) between the A factors learned at the smallest and the "
          "largest rank"},
         res->phi, 0, 5, {A, C, S, I, J}},
    };

    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (var_create(group, file, &vars[i], lengths, coord, err) != 0)
            return -1;
    return 0;
}

#undef R
#undef A
#undef C
#undef S
#undef T
#undef K
#undef V
#undef I
#undef J

/* Creates a group with no modification time; with ordered true it tracks
 * and indexes the creation order of its links. */
static hid_t group_create(hid_t parent, const char *name, const char *file,
                          const char *path, int ordered, dl_error *err)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t group = H5I_INVALID_HID;
    if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0
        || (ordered && H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED
                                                  | H5P_CRT_ORDER_INDEXED) < 0))
        dl_store_h5_fail(err, file, path, "setting up the group failed");
    else if ((group = H5Gcreate2(parent, name, H5P_DEFAULT, gcpl,
                                 H5P_DEFAULT)) < 0)
        dl_store_h5_fail(err, file, path, "creating the group failed");
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return group;
}

/* Writes a plain float64 matrix dataset without dimension scales. */
static int matrix_write(hid_t group, const char *group_path, const char *file,
                        const lora_var_text *text, size_t rows, size_t cols,
                        const double *values, dl_error *err)
{
    hsize_t dims[2] = {rows, cols};
    hid_t id;
    int status = dataset_create(group, group_path, file, text, H5T_IEEE_F64LE,
                                H5T_NATIVE_DOUBLE, 2, dims, values, &id, err);
    if (id >= 0)
        H5Dclose(id);
    return status;
}

/* Writes the shortest %g form of value that reads back as the same
 * double, so that distinct alphas always give distinct adapter names
 * (plain %g keeps 6 digits, and 1 and 1.0000001 would collide). */
static void shortest_decimal(double value, char *text, size_t size)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, size, "%.*g", digits, value);
        if (strtod(text, NULL) == value)
            return;
    }
}

/* Writes one adapter group: B, A (and B_init, A_init for the svd start)
 * and its attributes. */
static int adapter_write(hid_t parent, const char *file, const dl_config *cfg,
                         const dl_lora_adapter *adapter,
                         const dl_lora_adapter *initial, dl_error *err)
{
    char alpha[32], name[96], path[160];
    shortest_decimal(adapter->alpha, alpha, sizeof alpha);
    snprintf(name, sizeof name, "r%d-alpha%s-%s", adapter->rank, alpha,
             dl_lora_scaling_name(adapter->scaling));
    snprintf(path, sizeof path, "/lora/adapters/%s", name);

    hid_t group = group_create(parent, name, file, path, 0, err);
    if (group < 0)
        return -1;
    static const lora_var_text texts[4] = {
        {"B", "1", "LoRA factor B", "D x r factor that takes the input"},
        {"A", "1", "LoRA factor A", "r x N factor that makes the outputs"},
        {"B_init", "1", "svd start of B",
         "B of the principal-components start; the frozen base is W - scale "
         "B_init A_init"},
        {"A_init", "1", "svd start of A", "A of the principal-components start"},
    };
    size_t d = (size_t)adapter->input_dim, n = (size_t)adapter->output_dim;
    size_t r = (size_t)adapter->rank;
    int64_t rank = adapter->rank, seed = cfg->lora_seeds[0];
    int status = 0;
    if (matrix_write(group, path, file, &texts[0], d, r, adapter->b, err) != 0
        || matrix_write(group, path, file, &texts[1], r, n, adapter->a, err) != 0
        || (initial != NULL
            && (matrix_write(group, path, file, &texts[2], d, r, initial->b,
                             err) != 0
                || matrix_write(group, path, file, &texts[3], r, n, initial->a,
                                err) != 0))
        || dl_store_attribute_write(group, file, path, "rank", H5T_STD_I64LE,
                                    H5T_NATIVE_INT64, &rank, err) != 0
        || dl_store_attribute_write(group, file, path, "alpha", H5T_IEEE_F64LE,
                                    H5T_NATIVE_DOUBLE, &adapter->alpha, err) != 0
        || dl_store_attribute_write_string(group, file, path, "scaling",
                                           dl_lora_scaling_name(adapter->scaling),
                                           err) != 0
        || dl_store_attribute_write_string(group, file, path, "init",
                                           dl_lora_init_name(cfg->lora_adapter.init),
                                           err) != 0
        || dl_store_attribute_write(group, file, path, "scale", H5T_IEEE_F64LE,
                                    H5T_NATIVE_DOUBLE, &adapter->scale, err) != 0
        || dl_store_attribute_write(group, file, path, "seed", H5T_STD_I64LE,
                                    H5T_NATIVE_INT64, &seed, err) != 0)
        status = -1;
    H5Gclose(group);
    return status;
}

/* Writes /lora/base/W and /lora/adapters with the first seed's adapters in
 * plan order. */
static int adapters_write(hid_t lora, const char *file, const dl_config *cfg,
                          const dl_lora_sweep_result *result, dl_error *err)
{
    hid_t base = group_create(lora, "base", file, "/lora/base", 0, err);
    if (base < 0)
        return -1;
    static const lora_var_text w_text = {
        "W", "1", "frozen base W",
        "the D x N base weights of the first seed; adapters are applied to it"};
    int64_t seed = cfg->lora_seeds[0];
    int status = matrix_write(base, "/lora/base", file, &w_text,
                              result->input_dim, result->output_dim,
                              result->base, err);
    hid_t w = status == 0 ? H5Dopen2(base, "W", H5P_DEFAULT) : H5I_INVALID_HID;
    if (status == 0 && w < 0)
        status = dl_store_h5_fail(err, file, "/lora/base/W", "reopening it failed");
    if (status == 0)
        status = dl_store_attribute_write(w, file, "/lora/base/W", "seed",
                                          H5T_STD_I64LE, H5T_NATIVE_INT64, &seed,
                                          err);
    if (w >= 0)
        H5Dclose(w);
    H5Gclose(base);
    if (status != 0)
        return -1;

    hid_t adapters = group_create(lora, "adapters", file, "/lora/adapters", 1,
                                  err);
    if (adapters < 0)
        return -1;
    size_t count = result->n_ranks * result->n_alphas * result->n_scalings;
    for (size_t i = 0; i < count && status == 0; i++)
        status = adapter_write(adapters, file, cfg, &result->adapters[i],
                               result->initial_svd != NULL
                                   ? &result->initial_svd[i] : NULL,
                               err);
    H5Gclose(adapters);
    return status;
}

int dl_store_lora_write(int64_t file_id, const char *file_name,
                        const dl_config *cfg,
                        const dl_lora_sweep_result *result, dl_error *err)
{
    hid_t file = (hid_t)file_id;
    hid_t coord[LORA_COORD_COUNT];
    for (int c = 0; c < LORA_COORD_COUNT; c++)
        coord[c] = H5I_INVALID_HID;
    int status = -1;

    htri_t exists = H5Lexists(file, "lora", H5P_DEFAULT);
    if (exists < 0 || (exists > 0 && H5Ldelete(file, "lora", H5P_DEFAULT) < 0)) {
        dl_store_h5_fail(err, file_name, "/lora",
                         "removing the group of an earlier run failed");
        return -1;
    }

    hid_t group = group_create(file, "lora", file_name, "/lora", 0, err);
    if (group < 0)
        return -1;
    if (group_attributes_write(group, file_name, cfg, err) != 0
        || coords_create(group, file_name, cfg, result, coord, err) != 0
        || vars_create(group, file_name, result, coord, err) != 0
        || adapters_write(group, file_name, cfg, result, err) != 0)
        goto done;
    status = 0;

done:
    for (int c = 0; c < LORA_COORD_COUNT; c++)
        if (coord[c] >= 0)
            H5Dclose(coord[c]);
    H5Gclose(group);
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
