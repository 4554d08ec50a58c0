/* store_layout.c - the layout of results.h5 for a plan: element types,
 * coordinates, data variables, plan checks and chunk shapes.
 *
 * The tables here give each coordinate and dataset of /drift its name,
 * units, long_name and description. dl_store_layout_build combines them
 * with the plan into store->coord and store->var without any HDF5 call,
 * and dl_store_create and dl_store_resume both start from that layout.
 *
 * Invariants:
 * - The four per-run metrics are the first variables, in dl_metric order,
 *   and the per-point summaries follow VAR_SUMMARY, ordered by metric and
 *   then by statistic.
 * - Each chunk covers a contiguous range of writes in plan order (see
 *   chunk_choose), so runs written in order fill one chunk at a time.
 */
#include "store_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "utf8.h"

/* ---- tunables ---- */

/* Target uncompressed chunk size. A chunk grows past it only when a
 * single row of its innermost dimension is larger. */
#define CHUNK_TARGET_BYTES ((size_t)256 * 1024)

/* ---- element types ---- */

hid_t dl_store_value_file_type(value_type type)
{
    switch (type) {
    case VALUE_F64: return H5T_IEEE_F64LE;
    case VALUE_I64: return H5T_STD_I64LE;
    case VALUE_I32: return H5T_STD_I32LE;
    case VALUE_U8: return H5T_STD_U8LE;
    }
    return H5I_INVALID_HID;
}

hid_t dl_store_value_memory_type(value_type type)
{
    switch (type) {
    case VALUE_F64: return H5T_NATIVE_DOUBLE;
    case VALUE_I64: return H5T_NATIVE_INT64;
    case VALUE_I32: return H5T_NATIVE_INT32;
    case VALUE_U8: return H5T_NATIVE_UINT8;
    }
    return H5I_INVALID_HID;
}

size_t dl_store_value_size(value_type type)
{
    switch (type) {
    case VALUE_F64: return sizeof(double);
    case VALUE_I64: return sizeof(int64_t);
    case VALUE_I32: return sizeof(int32_t);
    case VALUE_U8: return sizeof(uint8_t);
    }
    return 0;
}

/* ---- coordinates ---- */

static const store_coord fixed_coords[COORD_FIXED_COUNT] = {
    [COORD_SEED] = {"seed", "1", "seed",
        "Seed value of each run; seed s fixes the vocabulary, projections "
        "and prompt at every sweep point.", VALUE_I64, 0},
    [COORD_KEPT_SEED] = {"kept_seed", "1", "kept seed",
        "The first keep_attention seeds, whose attention rows are stored.",
        VALUE_I64, 0},
    [COORD_STEP] = {"step", "1", "generation step",
        "Generation step index, starting at 0.", VALUE_I32, 0},
    [COORD_POSITION] = {"position", "1", "context position",
        "Position in the context: the prompt first, then one generated "
        "token per step.", VALUE_I32, 0},
    [COORD_TOKEN] = {"token", "1", "token id",
        "Token id; token j belongs to cluster j / tokens_per_cluster.",
        VALUE_I32, 0},
    [COORD_PROMPT_POSITION] = {"prompt_position", "1", "prompt position",
        "Position in the prompt.", VALUE_I32, 0},
    [COORD_EMBEDDING_DIM] = {"embedding_dim", "1", "embedding dimension",
        "Index over the d_model embedding dimensions.", VALUE_I32, 0},
    [COORD_HEAD_DIM] = {"head_dim", "1", "head dimension",
        "Index over the d_head query, key and value dimensions.",
        VALUE_I32, 0},
};

static const char *const axis_long_name[DL_SWEEP_COUNT] = {
    [DL_SWEEP_TEMPERATURE] = "temperature",
    [DL_SWEEP_TOP_K] = "top-k",
    [DL_SWEEP_TOP_P] = "top-p",
    [DL_SWEEP_MIN_P] = "min-p",
    [DL_SWEEP_REPETITION_PENALTY] = "repetition penalty",
    [DL_SWEEP_GAIN] = "attention gain",
    [DL_SWEEP_GAIN_OUT] = "output gain",
    [DL_SWEEP_CLUSTER_SPREAD] = "cluster spread",
};

static const char *const axis_description[DL_SWEEP_COUNT] = {
    [DL_SWEEP_TEMPERATURE] = "Sampling temperature; 0 picks the argmax.",
    [DL_SWEEP_TOP_K] = "Top-k filter: keep the k most probable choices "
        "(0: off).",
    [DL_SWEEP_TOP_P] = "Top-p (nucleus) filter: keep the most probable "
        "choices up to this cumulative probability (1: off).",
    [DL_SWEEP_MIN_P] = "Min-p filter: keep choices with at least min_p "
        "times the largest probability (0: off).",
    [DL_SWEEP_REPETITION_PENALTY] = "Repetition penalty on the logits of "
        "choices already generated (1: off).",
    [DL_SWEEP_GAIN] = "Factor on the attention scores q.k / sqrt(d_head).",
    [DL_SWEEP_GAIN_OUT] = "Factor on the output logits of the lm rule.",
    [DL_SWEEP_CLUSTER_SPREAD] = "Token noise scale around the cluster "
        "centre, times sqrt(d_model); it changes the world.",
};

/* ---- data variables ---- */

/* Leading dimensions of a variable, before its fixed ones. */
typedef enum {
    LEAD_NONE = 0,
    LEAD_AXES,       /* every sweep axis */
    LEAD_WORLD_AXES  /* the sweep axes that change the world */
} lead_kind;

typedef struct {
    const char *name;
    const char *units;
    const char *long_name;
    const char *description;
    value_type type;
    lead_kind lead;
    int n_fixed;
    coord_kind fixed[3];
} var_spec;

static const var_spec fixed_vars[VAR_SUMMARY] = {
    [VAR_PROMPT_ATTENTION] = {"prompt_attention", "1", "prompt attention",
        "Sum of the step's attention weights over the prompt positions.",
        VALUE_F64, LEAD_AXES, 2, {COORD_SEED, COORD_STEP}},
    [VAR_SINK_ATTENTION] = {"sink_attention", "1", "sink attention",
        "Attention weight of the step on position 0.",
        VALUE_F64, LEAD_AXES, 2, {COORD_SEED, COORD_STEP}},
    [VAR_ATTENTION_ENTROPY] = {"attention_entropy", "1",
        "normalised attention entropy",
        "Shannon entropy of the step's attention row divided by ln(n) for n "
        "positions in context (0 when n is 1).",
        VALUE_F64, LEAD_AXES, 2, {COORD_SEED, COORD_STEP}},
    [VAR_LOCK_IN] = {"lock_in", "1", "lock-in",
        "Share of the tokens generated so far that fall in the most frequent "
        "cluster among them, after the step's token is appended.",
        VALUE_F64, LEAD_AXES, 2, {COORD_SEED, COORD_STEP}},
    [VAR_TOKENS] = {"tokens", "1", "token id",
        "Token id at each context position: the prompt, then one generated "
        "token per step (-1: run not written).",
        VALUE_I32, LEAD_AXES, 2, {COORD_SEED, COORD_POSITION}},
    [VAR_CLUSTERS] = {"clusters", "1", "cluster",
        "Cluster of the token at each context position (-1: run not "
        "written).",
        VALUE_I32, LEAD_AXES, 2, {COORD_SEED, COORD_POSITION}},
    [VAR_HALF_LIFE] = {"half_life", "1", "prompt-attention half-life",
        "First step at which prompt_attention is below 0.5 (NaN: never).",
        VALUE_F64, LEAD_AXES, 1, {COORD_SEED}},
    [VAR_ATTENTION] = {"attention", "1", "attention weight",
        "Attention row of each step over positions 0 .. prompt_length + "
        "step - 1 (NaN beyond), for the first keep_attention seeds.",
        VALUE_F64, LEAD_AXES, 3, {COORD_KEPT_SEED, COORD_STEP, COORD_POSITION}},
    [VAR_RUN_DONE] = {"run_done", "1", "run done",
        "1 once every dataset of the run is written, else 0; --resume "
        "skips runs marked 1.",
        VALUE_U8, LEAD_AXES, 1, {COORD_SEED}},
    [VAR_EMBEDDING] = {"embedding", "1", "token embedding",
        "Embedding of each token: its cluster centre plus Gaussian noise of "
        "scale cluster_spread / sqrt(d_model).",
        VALUE_F64, LEAD_WORLD_AXES, 3,
        {COORD_SEED, COORD_TOKEN, COORD_EMBEDDING_DIM}},
    [VAR_QUERY_PROJECTION] = {"query_projection", "1", "query projection",
        "Query projection Wq (q = e Wq); the identity when projection is "
        "identity.",
        VALUE_F64, LEAD_WORLD_AXES, 3,
        {COORD_SEED, COORD_EMBEDDING_DIM, COORD_HEAD_DIM}},
    [VAR_KEY_PROJECTION] = {"key_projection", "1", "key projection",
        "Key projection Wk (k = e Wk); the identity when projection is "
        "identity.",
        VALUE_F64, LEAD_WORLD_AXES, 3,
        {COORD_SEED, COORD_EMBEDDING_DIM, COORD_HEAD_DIM}},
    [VAR_VALUE_PROJECTION] = {"value_projection", "1", "value projection",
        "Value projection Wv (v = e Wv); the identity when projection is "
        "identity.",
        VALUE_F64, LEAD_WORLD_AXES, 3,
        {COORD_SEED, COORD_EMBEDDING_DIM, COORD_HEAD_DIM}},
    [VAR_PROMPT] = {"prompt", "1", "prompt token id",
        "Token ids of the prompt of each seed's world (-1: not written).",
        VALUE_I32, LEAD_WORLD_AXES, 2, {COORD_SEED, COORD_PROMPT_POSITION}},
    [VAR_CLUSTER_OF_TOKEN] = {"cluster_of_token", "1", "cluster of token",
        "Cluster of each token id: token / tokens_per_cluster.",
        VALUE_I32, LEAD_NONE, 1, {COORD_TOKEN}},
};

/* Names and phrases of the summary statistics, in dl_stat order. */
static const struct {
    const char *name;
    const char *phrase;    /* in a long_name: "prompt attention, PHRASE" */
    const char *sentence;  /* starts a description */
} stat_info[DL_STAT_COUNT] = {
    [DL_STAT_MEAN] = {"mean", "mean over seeds", "Mean"},
    [DL_STAT_SD] = {"sd", "standard deviation over seeds",
                    "Standard deviation"},
    [DL_STAT_P10] = {"p10", "10th percentile over seeds", "10th percentile"},
    [DL_STAT_P50] = {"p50", "median over seeds", "Median (50th percentile)"},
    [DL_STAT_P90] = {"p90", "90th percentile over seeds", "90th percentile"},
};

const char *dl_store_metric_name(dl_metric metric)
{
    if ((int)metric < 0 || metric >= DL_METRIC_COUNT)
        return NULL;
    return fixed_vars[VAR_PROMPT_ATTENTION + (int)metric].name;
}

const char *dl_store_stat_name(dl_stat stat)
{
    if ((int)stat < 0 || stat >= DL_STAT_COUNT)
        return NULL;
    return stat_info[stat].name;
}

/* ---- plan checks and layout ---- */

/* Checks that the plan describes a drift sweep the layout can hold and
 * agrees with its config. A failure here is a bug in the caller. */
int dl_store_plan_check(const dl_plan *plan, dl_error *err)
{
    if (plan == NULL || plan->config == NULL)
        return dl_error_set(err, "results store: no plan or config given");

    const dl_config *cfg = plan->config;
    if (!cfg->has_drift)
        return dl_error_set(err, "results store: config %s has no [drift] "
                            "section, so there is nothing to store",
                            cfg->name != NULL ? cfg->name : "(unnamed)");

    const struct {
        const char *name;
        long long value;
    } sizes[] = {
        {"clusters", cfg->clusters},
        {"tokens_per_cluster", cfg->tokens_per_cluster},
        {"d_model", cfg->d_model},
        {"d_head", cfg->d_head},
        {"prompt_length", cfg->prompt_length},
        {"steps", cfg->steps},
        {"seeds", (long long)plan->n_seeds},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].value < 1)
            return dl_error_set(err, "results store: %s is %lld, must be "
                                ">= 1", sizes[i].name, sizes[i].value);

    if ((long long)cfg->clusters * cfg->tokens_per_cluster > INT32_MAX)
        return dl_error_set(err, "results store: clusters x "
                            "tokens_per_cluster exceeds %d tokens",
                            (int)INT32_MAX);
    if (cfg->keep_attention < 0)
        return dl_error_set(err, "results store: keep_attention is %d, must "
                            "be >= 0", cfg->keep_attention);
    if (plan->n_positions != cfg->prompt_length + cfg->steps)
        return dl_error_set(err, "results store: plan has %d positions, "
                            "expected prompt_length + steps = %d",
                            plan->n_positions,
                            cfg->prompt_length + cfg->steps);
    if (plan->n_seeds != cfg->n_seeds || cfg->seeds == NULL)
        return dl_error_set(err, "results store: plan has %zu seeds, config "
                            "has %zu", plan->n_seeds, cfg->n_seeds);
    if (plan->n_axes > DL_SWEEP_COUNT)
        return dl_error_set(err, "results store: plan has %zu axes, at most "
                            "%d allowed", plan->n_axes, (int)DL_SWEEP_COUNT);

    size_t n_points = 1;
    for (size_t a = 0; a < plan->n_axes; a++) {
        dl_sweep_key key = plan->axis_key[a];
        if ((int)key < 0 || key >= DL_SWEEP_COUNT)
            return dl_error_set(err, "results store: axis %zu has unknown "
                                "key %d", a, (int)key);
        for (size_t b = 0; b < a; b++)
            if (plan->axis_key[b] == key)
                return dl_error_set(err, "results store: axis %s appears "
                                    "twice", dl_sweep_key_name(key));
        if (plan->axis_length[a] < 1
            || plan->axis_length[a] != cfg->sweep[key].count
            || cfg->sweep[key].values == NULL)
            return dl_error_set(err, "results store: axis %s has %zu values "
                                "in the plan and %zu in the config",
                                dl_sweep_key_name(key), plan->axis_length[a],
                                cfg->sweep[key].count);
        n_points *= plan->axis_length[a];
    }
    if (n_points != plan->n_points
        || plan->n_runs != plan->n_points * plan->n_seeds)
        return dl_error_set(err, "results store: plan has %zu points and %zu "
                            "runs, its axes give %zu points", plan->n_points,
                            plan->n_runs, n_points);
    return 0;
}

/* Checks the config text can be stored as a UTF-8 string attribute, and
 * computes its SHA-256. */
int dl_store_config_text_check(const dl_config *cfg, char sha256[65],
                               dl_error *err)
{
    const char *name = cfg->path != NULL ? cfg->path : "config";
    if (cfg->text == NULL)
        return dl_error_set(err, "%s: the config text is missing", name);

    const char *nul = memchr(cfg->text, '\0', cfg->text_length);
    if (nul != NULL)
        return dl_error_set(err, "%s: byte %zu is a NUL byte; results.h5 "
                            "stores the config as text, so remove it", name,
                            (size_t)(nul - cfg->text));
    size_t bad = dl_utf8_invalid_offset(cfg->text, cfg->text_length);
    if (bad != cfg->text_length)
        return dl_error_set(err, "%s: byte %zu is not valid UTF-8; results.h5 "
                            "stores the config as UTF-8 text, so save the "
                            "file as UTF-8", name, bad);

    if (dl_sha256_hex(cfg->text, cfg->text_length, sha256) != 0)
        return dl_error_set(err, "%s: computing the SHA-256 of the config "
                            "failed (OpenSSL)", name);
    return 0;
}

/* Chooses the chunk shape of a dataset written one leading index at a
 * time in row-major order. Working from the last dimension outward, each
 * dimension is taken whole while the chunk stays under the target. The
 * first one that does not fit is cut into equal pieces under the target,
 * and every dimension before it gets 1, so a chunk covers a contiguous
 * range of writes. Returns the chunk's size in bytes. */
static size_t chunk_choose(int rank, const hsize_t *dims, size_t element_size,
                           hsize_t *chunk)
{
    size_t bytes = element_size;
    bool whole = true;
    for (int d = rank - 1; d >= 0; d--) {
        if (!whole) {
            chunk[d] = 1;
            continue;
        }
        hsize_t fit = bytes < CHUNK_TARGET_BYTES ? CHUNK_TARGET_BYTES / bytes
                                                 : 1;
        if (fit >= dims[d]) {
            /* HDF5 rejects a chunk dimension of 0. */
            chunk[d] = dims[d] > 0 ? dims[d] : 1;
        } else {
            /* Cut into equal pieces, so the last chunk is not mostly fill. */
            hsize_t pieces = (dims[d] + fit - 1) / fit;
            chunk[d] = (dims[d] + pieces - 1) / pieces;
            whole = false;
        }
        bytes *= (size_t)chunk[d];
    }
    return bytes;
}

/* Lays out variable v: its leading dimensions, then spec's fixed ones. */
static void var_layout(dl_store *store, store_var *v, lead_kind lead,
                       int n_fixed, const coord_kind *fixed)
{
    const dl_plan *plan = store->plan;
    v->rank = 0;
    if (lead == LEAD_AXES) {
        for (size_t a = 0; a < plan->n_axes; a++)
            v->coord[v->rank++] = COORD_AXIS + (int)a;
    } else if (lead == LEAD_WORLD_AXES) {
        for (size_t w = 0; w < store->n_world_axes; w++)
            v->coord[v->rank++] = COORD_AXIS + (int)store->world_axis[w];
    }
    for (int f = 0; f < n_fixed; f++)
        v->coord[v->rank++] = fixed[f];

    for (int d = 0; d < v->rank; d++)
        v->dims[d] = store->coord[v->coord[d]].length;
    v->chunk_bytes = v->rank == 0 ? 0
        : chunk_choose(v->rank, v->dims, dl_store_value_size(v->type),
                       v->chunk);
}

/* Fills store->coord and store->var for store->plan. Makes no HDF5 call. */
void dl_store_layout_build(dl_store *store)
{
    const dl_plan *plan = store->plan;
    const dl_config *cfg = plan->config;

    /* coordinates */
    size_t keep = (size_t)cfg->keep_attention;
    store->n_kept = keep < plan->n_seeds ? keep : plan->n_seeds;
    for (int c = 0; c < COORD_FIXED_COUNT; c++)
        store->coord[c] = fixed_coords[c];
    store->coord[COORD_SEED].length = plan->n_seeds;
    store->coord[COORD_KEPT_SEED].length = store->n_kept;
    store->coord[COORD_STEP].length = (hsize_t)cfg->steps;
    store->coord[COORD_POSITION].length = (hsize_t)plan->n_positions;
    store->coord[COORD_TOKEN].length =
        (hsize_t)cfg->clusters * (hsize_t)cfg->tokens_per_cluster;
    store->coord[COORD_PROMPT_POSITION].length = (hsize_t)cfg->prompt_length;
    store->coord[COORD_EMBEDDING_DIM].length = (hsize_t)cfg->d_model;
    store->coord[COORD_HEAD_DIM].length = (hsize_t)cfg->d_head;

    store->n_world_axes = 0;
    for (size_t a = 0; a < plan->n_axes; a++) {
        dl_sweep_key key = plan->axis_key[a];
        store_coord *c = &store->coord[COORD_AXIS + a];
        c->name = dl_sweep_key_name(key);
        c->units = "1";
        c->long_name = axis_long_name[key] != NULL ? axis_long_name[key]
                                                   : c->name;
        c->description = axis_description[key] != NULL
            ? axis_description[key] : "Sweep axis.";
        c->type = dl_sweep_key_is_integer(key) ? VALUE_I64 : VALUE_F64;
        c->length = plan->axis_length[a];

        /* Only cluster_spread changes the world a seed draws. */
        if (key == DL_SWEEP_CLUSTER_SPREAD)
            store->world_axis[store->n_world_axes++] = a;
    }

    /* variables with a fixed spec */
    for (int i = 0; i < VAR_SUMMARY; i++) {
        const var_spec *spec = &fixed_vars[i];
        store_var *v = &store->var[i];
        snprintf(v->name, sizeof v->name, "%s", spec->name);
        snprintf(v->long_name, sizeof v->long_name, "%s", spec->long_name);
        snprintf(v->description, sizeof v->description, "%s",
                 spec->description);
        v->units = spec->units;
        v->type = spec->type;
        v->present = i != VAR_ATTENTION || store->n_kept > 0;
        if (v->present)
            var_layout(store, v, spec->lead, spec->n_fixed, spec->fixed);
    }

    /* per-point summaries, [AXIS..., step] */
    const coord_kind step_only[] = {COORD_STEP};
    for (int m = 0; m < DL_METRIC_COUNT; m++) {
        const var_spec *metric = &fixed_vars[VAR_PROMPT_ATTENTION + m];
        for (int st = 0; st < DL_STAT_COUNT; st++) {
            store_var *v = &store->var[VAR_SUMMARY + m * DL_STAT_COUNT + st];
            snprintf(v->name, sizeof v->name, "%s_%s", metric->name,
                     stat_info[st].name);
            snprintf(v->long_name, sizeof v->long_name, "%s, %s",
                     metric->long_name, stat_info[st].phrase);
            snprintf(v->description, sizeof v->description,
                     "%s over seeds of %s at each step of each sweep point.",
                     stat_info[st].sentence, metric->long_name);
            v->units = metric->units;
            v->type = VALUE_F64;
            v->present = true;
            var_layout(store, v, LEAD_AXES, 1, step_only);
        }
    }

    store_var *median = &store->var[VAR_HALF_LIFE_OF_MEDIAN];
    snprintf(median->name, sizeof median->name, "half_life_of_median");
    snprintf(median->long_name, sizeof median->long_name,
             "half-life of median prompt attention");
    snprintf(median->description, sizeof median->description,
             "First step at which the median over seeds of prompt_attention "
             "is below 0.5 (NaN: never).");
    median->units = "1";
    median->type = VALUE_F64;
    median->present = true;
    var_layout(store, median, LEAD_AXES, 0, NULL);
}

/* Writes the values of coordinate c into buffer (length elements of its
 * memory type). */
void dl_store_coord_values(const dl_store *store, int c, void *buffer)
{
    const dl_plan *plan = store->plan;
    const dl_config *cfg = plan->config;
    const store_coord *coord = &store->coord[c];

    if (c >= COORD_AXIS) {
        const dl_value_list *list = &cfg->sweep[plan->axis_key[c - COORD_AXIS]];
        for (hsize_t i = 0; i < coord->length; i++) {
            if (coord->type == VALUE_I64)
                ((int64_t *)buffer)[i] = (int64_t)list->values[i];
            else
                ((double *)buffer)[i] = list->values[i];
        }
        return;
    }
    if (c == COORD_SEED || c == COORD_KEPT_SEED) {
        for (hsize_t i = 0; i < coord->length; i++)
            ((int64_t *)buffer)[i] = cfg->seeds[i];
        return;
    }
    for (hsize_t i = 0; i < coord->length; i++)
        ((int32_t *)buffer)[i] = (int32_t)i;
}
