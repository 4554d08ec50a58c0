/* store.c - writing results.h5, the HDF5 file of one config's drift runs.
 *
 * Format: store.h lists the datasets of /drift and their dimensions, and
 * docs/results-format.md gives units, fill values and how to read them.
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
 * Left out: the /lora group (no LoRA writer exists yet) and parallel HDF5.
 */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "store_internal.h"

/* ---- tunables ---- */

/* Target uncompressed chunk size. A chunk grows past it only when a
 * single row of its innermost dimension is larger. */
#define CHUNK_TARGET_BYTES ((size_t)256 * 1024)

/* Smallest chunk cache per open dataset (HDF5 1.10's default is 1 MiB). */
#define CHUNK_CACHE_MIN_BYTES ((size_t)1024 * 1024)

/* Hash slots of each chunk cache: a prime far above the chunks it holds. */
#define CHUNK_CACHE_SLOTS 521

/* zlib level, from 1 (fastest) to 9 (smallest). */
#define DEFLATE_LEVEL 4

/* Largest rank: every sweep axis, then kept_seed, step and position. */
#define MAX_RANK (DL_SWEEP_COUNT + 3)

/* ---- element types ---- */

typedef enum {
    VALUE_F64 = 0,
    VALUE_I64,
    VALUE_I32,
    VALUE_U8
} value_type;

static hid_t value_file_type(value_type type)
{
    switch (type) {
    case VALUE_F64: return H5T_IEEE_F64LE;
    case VALUE_I64: return H5T_STD_I64LE;
    case VALUE_I32: return H5T_STD_I32LE;
    case VALUE_U8: return H5T_STD_U8LE;
    }
    return H5I_INVALID_HID;
}

static hid_t value_memory_type(value_type type)
{
    switch (type) {
    case VALUE_F64: return H5T_NATIVE_DOUBLE;
    case VALUE_I64: return H5T_NATIVE_INT64;
    case VALUE_I32: return H5T_NATIVE_INT32;
    case VALUE_U8: return H5T_NATIVE_UINT8;
    }
    return H5I_INVALID_HID;
}

static size_t value_size(value_type type)
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

/* Fixed coordinates. Sweep axis a (file order) has the coordinate id
 * COORD_AXIS + a. */
typedef enum {
    COORD_SEED = 0,
    COORD_KEPT_SEED,
    COORD_STEP,
    COORD_POSITION,
    COORD_TOKEN,
    COORD_PROMPT_POSITION,
    COORD_EMBEDDING_DIM,
    COORD_HEAD_DIM,
    COORD_FIXED_COUNT
} coord_kind;

#define COORD_AXIS COORD_FIXED_COUNT
#define COORD_MAX (COORD_FIXED_COUNT + DL_SWEEP_COUNT)

typedef struct {
    const char *name;
    const char *units;
    const char *long_name;
    const char *description;
    value_type type;
    hsize_t length; /* 0: not in this file (kept_seed without attention) */
} store_coord;

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

/* Variables in creation order. The four per-run metrics come first, in
 * dl_metric order, and the per-point summaries follow VAR_SUMMARY. */
enum {
    VAR_PROMPT_ATTENTION = 0,
    VAR_SINK_ATTENTION,
    VAR_ATTENTION_ENTROPY,
    VAR_LOCK_IN,
    VAR_TOKENS,
    VAR_CLUSTERS,
    VAR_HALF_LIFE,
    VAR_ATTENTION,
    VAR_RUN_DONE,
    VAR_EMBEDDING,
    VAR_QUERY_PROJECTION,
    VAR_KEY_PROJECTION,
    VAR_VALUE_PROJECTION,
    VAR_PROMPT,
    VAR_CLUSTER_OF_TOKEN,
    VAR_SUMMARY,
    VAR_HALF_LIFE_OF_MEDIAN = VAR_SUMMARY + DL_METRIC_COUNT * DL_STAT_COUNT,
    VAR_COUNT
};

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

/* One dataset of /drift as laid out for this plan. */
typedef struct {
    char name[48];
    char long_name[96];
    char description[200];
    const char *units;
    value_type type;
    bool present;             /* false: left out (attention without kept seeds) */
    int rank;
    int coord[MAX_RANK];      /* coordinate id of each dimension */
    hsize_t dims[MAX_RANK];
    hsize_t chunk[MAX_RANK];
    size_t chunk_bytes;       /* 0 for a scalar (contiguous) dataset */
    hid_t id;                 /* open dataset, or H5I_INVALID_HID */
} store_var;

struct dl_store {
    const dl_plan *plan;
    char *path;               /* final file name */
    char *partial_path;       /* path + ".partial", where writes go */
    hid_t file;
    hid_t group;              /* /drift */
    size_t n_kept;            /* seeds whose attention rows are stored */
    size_t n_world_axes;
    size_t world_axis[DL_SWEEP_COUNT]; /* plan axis of each world axis */
    store_coord coord[COORD_MAX];
    store_var var[VAR_COUNT];
    uint8_t *run_done;        /* [n_runs], the run_done dataset in memory */
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

/* ---- HDF5 errors and attributes (shared with store_info.c) ---- */

void dl_store_h5_silence(void)
{
    /* Failing to switch the printing off only makes stderr noisier. */
    (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

typedef struct {
    char text[384];
} h5_reason;

static herr_t reason_visit(unsigned n, const H5E_error2_t *entry, void *data)
{
    h5_reason *reason = data;

    /* Walking upward, entry 0 is where the failure started. */
    if (n != 0)
        return 0;
    if (entry->desc != NULL && entry->desc[0] != '\0') {
        /* The file driver's description repeats the path and open flags
         * around the system's message; keep only that message. */
        const char marker[] = "error message = '";
        const char *message = strstr(entry->desc, marker);
        const char *end = message != NULL
            ? strchr(message + sizeof marker - 1, '\'') : NULL;
        if (end != NULL) {
            message += sizeof marker - 1;
            snprintf(reason->text, sizeof reason->text, "%.*s",
                     (int)(end - message), message);
        } else {
            snprintf(reason->text, sizeof reason->text, "%s", entry->desc);
        }
        return 0;
    }

    char minor[160];
    if (H5Eget_msg(entry->min_num, NULL, minor, sizeof minor) > 0)
        snprintf(reason->text, sizeof reason->text, "%s", minor);
    return 0;
}

int dl_store_h5_fail(dl_error *err, const char *file, const char *object,
                     const char *fmt, ...)
{
    h5_reason reason = {.text = ""};
    (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, reason_visit, &reason);
    (void)H5Eclear2(H5E_DEFAULT);

    char what[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);

    if (reason.text[0] == '\0')
        return dl_error_set(err, "%s: %s: %s", file, object, what);
    return dl_error_set(err, "%s: %s: %s (HDF5: %s)", file, object, what,
                        reason.text);
}

/* Returns a new variable-length UTF-8 string type, or a negative id. */
static hid_t string_type_create(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0)
        return H5I_INVALID_HID;
    if (H5Tset_size(type, H5T_VARIABLE) < 0
        || H5Tset_cset(type, H5T_CSET_UTF8) < 0) {
        H5Tclose(type);
        return H5I_INVALID_HID;
    }
    return type;
}

/* Writes a scalar attribute: value in memory_type, stored as file_type. */
static int attribute_write(hid_t object, const char *file,
                           const char *object_name, const char *name,
                           hid_t file_type, hid_t memory_type,
                           const void *value, dl_error *err)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return dl_store_h5_fail(err, file, object_name,
                                "creating attribute %s failed", name);

    hid_t attribute = H5Acreate2(object, name, file_type, space,
                                 H5P_DEFAULT, H5P_DEFAULT);
    if (attribute < 0) {
        dl_store_h5_fail(err, file, object_name,
                         "creating attribute %s failed", name);
        H5Sclose(space);
        return -1;
    }

    int status = 0;
    if (H5Awrite(attribute, memory_type, value) < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "writing attribute %s failed", name);
    H5Aclose(attribute);
    H5Sclose(space);
    return status;
}

static int attribute_write_string(hid_t object, const char *file,
                                  const char *object_name, const char *name,
                                  const char *value, dl_error *err)
{
    hid_t type = string_type_create();
    if (type < 0)
        return dl_store_h5_fail(err, file, object_name,
                                "making the string type of attribute %s "
                                "failed", name);
    int status = attribute_write(object, file, object_name, name, type, type,
                                 &value, err);
    H5Tclose(type);
    return status;
}

static int attribute_write_int32(hid_t object, const char *file,
                                 const char *object_name, const char *name,
                                 int32_t value, dl_error *err)
{
    return attribute_write(object, file, object_name, name, H5T_STD_I32LE,
                           H5T_NATIVE_INT32, &value, err);
}

/* Opens attribute name of object after checking that it exists. */
static hid_t attribute_open(hid_t object, const char *file,
                            const char *object_name, const char *name,
                            dl_error *err)
{
    htri_t exists = H5Aexists(object, name);
    if (exists < 0) {
        dl_store_h5_fail(err, file, object_name,
                         "looking up attribute %s failed", name);
        return H5I_INVALID_HID;
    }
    if (exists == 0) {
        dl_error_set(err, "%s: %s: attribute %s is missing", file,
                     object_name, name);
        return H5I_INVALID_HID;
    }

    hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    if (attribute < 0)
        dl_store_h5_fail(err, file, object_name,
                         "opening attribute %s failed", name);
    return attribute;
}

/* Fails unless attribute contains one element of class expected. */
static int attribute_check_scalar(hid_t attribute, H5T_class_t expected,
                                  const char *file, const char *object_name,
                                  const char *name, const char *what,
                                  dl_error *err)
{
    hid_t type = H5Aget_type(attribute);
    hid_t space = H5Aget_space(attribute);
    int status = 0;
    if (type < 0 || space < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading the type of attribute %s failed",
                                  name);
    else if (H5Tget_class(type) != expected
             || H5Sget_simple_extent_npoints(space) != 1)
        status = dl_error_set(err, "%s: %s: attribute %s is not %s", file,
                              object_name, name, what);
    else if (expected == H5T_STRING && H5Tis_variable_str(type) <= 0)
        status = dl_error_set(err, "%s: %s: attribute %s is not %s", file,
                              object_name, name, what);
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    return status;
}

int dl_store_read_string_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   char **value, dl_error *err)
{
    *value = NULL;
    hid_t attribute = attribute_open(object, file, object_name, name, err);
    if (attribute < 0)
        return -1;

    hid_t type = H5I_INVALID_HID;
    char *text = NULL;
    int status = attribute_check_scalar(attribute, H5T_STRING, file,
                                        object_name, name,
                                        "a variable-length string", err);
    if (status != 0)
        goto done;

    type = string_type_create();
    if (type < 0 || H5Aread(attribute, type, &text) < 0 || text == NULL) {
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading attribute %s failed", name);
        goto done;
    }

    size_t length = strlen(text);
    *value = malloc(length + 1);
    if (*value == NULL) {
        status = dl_error_set(err, "%s: %s: out of memory reading attribute "
                              "%s", file, object_name, name);
        goto done;
    }
    memcpy(*value, text, length + 1);

done:
    if (text != NULL)
        H5free_memory(text);
    if (type >= 0)
        H5Tclose(type);
    H5Aclose(attribute);
    return status;
}

/* Reads a scalar integer attribute converted to memory_type. */
static int attribute_read_integer(hid_t object, const char *file,
                                  const char *object_name, const char *name,
                                  hid_t memory_type, void *value,
                                  dl_error *err)
{
    hid_t attribute = attribute_open(object, file, object_name, name, err);
    if (attribute < 0)
        return -1;

    int status = attribute_check_scalar(attribute, H5T_INTEGER, file,
                                        object_name, name, "an integer", err);
    if (status == 0 && H5Aread(attribute, memory_type, value) < 0)
        status = dl_store_h5_fail(err, file, object_name,
                                  "reading attribute %s failed", name);
    H5Aclose(attribute);
    return status;
}

int dl_store_read_int64_attribute(hid_t object, const char *file,
                                  const char *object_name, const char *name,
                                  int64_t *value, dl_error *err)
{
    return attribute_read_integer(object, file, object_name, name,
                                  H5T_NATIVE_INT64, value, err);
}

int dl_store_read_uint64_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   uint64_t *value, dl_error *err)
{
    return attribute_read_integer(object, file, object_name, name,
                                  H5T_NATIVE_UINT64, value, err);
}

/* ---- plan checks and layout ---- */

/* Returns the offset of the first byte of text that is not valid UTF-8
 * (overlong forms and surrogates included), or length when all is valid. */
static size_t utf8_invalid_offset(const unsigned char *text, size_t length)
{
    size_t i = 0;
    while (i < length) {
        unsigned char lead = text[i];
        size_t n_continuation;
        uint32_t code_point, smallest;
        if (lead < 0x80) {
            i++;
            continue;
        } else if ((lead & 0xE0) == 0xC0) {
            n_continuation = 1;
            code_point = lead & 0x1F;
            smallest = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            n_continuation = 2;
            code_point = lead & 0x0F;
            smallest = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            n_continuation = 3;
            code_point = lead & 0x07;
            smallest = 0x10000;
        } else {
            return i;
        }

        if (length - i <= n_continuation)
            return i;
        for (size_t k = 1; k <= n_continuation; k++) {
            if ((text[i + k] & 0xC0) != 0x80)
                return i;
            code_point = (code_point << 6) | (text[i + k] & 0x3F);
        }
        if (code_point < smallest || code_point > 0x10FFFF
            || (code_point >= 0xD800 && code_point <= 0xDFFF))
            return i;
        i += n_continuation + 1;
    }
    return length;
}

/* Checks that the plan describes a drift sweep the layout can hold and
 * agrees with its config. A failure here is a bug in the caller. */
static int plan_check(const dl_plan *plan, dl_error *err)
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
        : chunk_choose(v->rank, v->dims, value_size(v->type), v->chunk);
}

/* Fills store->coord and store->var for store->plan. Makes no HDF5 call. */
static void layout_build(dl_store *store)
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
static void coord_values(const dl_store *store, int c, void *buffer)
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

/* ---- store lifetime ---- */

static void store_free(dl_store *store)
{
    if (store == NULL)
        return;
    free(store->path);
    free(store->partial_path);
    free(store->run_done);
    free(store);
}

/* Allocates a store for path with every HDF5 id invalid. */
static dl_store *store_alloc(const char *path, const dl_plan *plan,
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
    store_free(store);
    dl_error_set(err, "%s: out of memory setting up the results store", path);
    return NULL;
}

/* Closes every open dataset, /drift and the file, all of them even when
 * one fails, and returns -1 with err describing the first failure. With
 * err NULL, after an earlier failure, it reports nothing. */
static int store_close(dl_store *store, dl_error *err)
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
static hid_t file_access_create(void)
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
static hid_t dataset_access_create(const store_var *v)
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

/* Writes the root attributes. */
static int root_attributes_write(dl_store *store, const char *version,
                                 const char *sha256, dl_error *err)
{
    const dl_config *cfg = store->plan->config;
    const char *file = store->partial_path;
    hid_t root = store->file;

    if (attribute_write_int32(root, file, "/", "format_version",
                              DL_STORE_FORMAT_VERSION, err) != 0
        || attribute_write_string(root, file, "/", "driftlab_version",
                                  version, err) != 0
        || attribute_write_string(root, file, "/", "config_name",
                                  cfg->name != NULL ? cfg->name : "", err) != 0
        || attribute_write_string(root, file, "/", "config_text", cfg->text,
                                  err) != 0
        || attribute_write_string(root, file, "/", "config_sha256", sha256,
                                  err) != 0
        || attribute_write(root, file, "/", "master_seed", H5T_STD_U64LE,
                           H5T_NATIVE_UINT64, &cfg->master_seed, err) != 0)
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

    if (attribute_write_string(group, file, "/drift", "rule",
                               dl_rule_name(cfg->rule), err) != 0
        || attribute_write_string(group, file, "/drift", "projection",
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
        if (attribute_write_int32(group, file, "/drift", ints[i].name,
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
            status = attribute_write(group, file, "/drift", name,
                                     H5T_STD_I64LE, H5T_NATIVE_INT64, &value,
                                     err);
        } else {
            status = attribute_write(group, file, "/drift", name,
                                     H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                     &list->values[0], err);
        }
        if (status != 0)
            return -1;
    }
    return 0;
}

/* Writes units, long_name and description onto a dataset. */
static int dataset_attributes_write(hid_t dataset, const char *file,
                                    const char *object_name,
                                    const char *units, const char *long_name,
                                    const char *description, dl_error *err)
{
    if (attribute_write_string(dataset, file, object_name, "units", units,
                               err) != 0
        || attribute_write_string(dataset, file, object_name, "long_name",
                                  long_name, err) != 0
        || attribute_write_string(dataset, file, object_name, "description",
                                  description, err) != 0)
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

    values = malloc((size_t)coord->length * value_size(coord->type));
    if (values == NULL) {
        dl_error_set(err, "%s: %s: out of memory", store->partial_path,
                     object);
        goto done;
    }
    coord_values(store, c, values);

    space = H5Screate_simple(1, &coord->length, NULL);
    dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "setting up the dataset failed");
        goto done;
    }

    *id = H5Dcreate2(store->group, coord->name,
                     value_file_type(coord->type), space, H5P_DEFAULT, dcpl,
                     H5P_DEFAULT);
    if (*id < 0) {
        dl_store_h5_fail(err, store->partial_path, object,
                         "creating the coordinate failed");
        goto done;
    }
    if (H5Dwrite(*id, value_memory_type(coord->type), H5S_ALL, H5S_ALL,
                 H5P_DEFAULT, values) < 0) {
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
    dapl = dataset_access_create(v);
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

    v->id = H5Dcreate2(store->group, v->name, value_file_type(v->type), space,
                       H5P_DEFAULT, dcpl, dapl);
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

/* Checks the config text can be stored as a UTF-8 string attribute, and
 * computes its SHA-256. */
static int config_text_check(const dl_config *cfg, char sha256[65],
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
    size_t bad = utf8_invalid_offset((const unsigned char *)cfg->text,
                                     cfg->text_length);
    if (bad != cfg->text_length)
        return dl_error_set(err, "%s: byte %zu is not valid UTF-8; results.h5 "
                            "stores the config as UTF-8 text, so save the "
                            "file as UTF-8", name, bad);

    if (dl_sha256_hex(cfg->text, cfg->text_length, sha256) != 0)
        return dl_error_set(err, "%s: computing the SHA-256 of the config "
                            "failed (OpenSSL)", name);
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
    dl_store_h5_silence();
    if (plan_check(plan, err) != 0)
        return NULL;
    char sha256[65];
    if (config_text_check(plan->config, sha256, err) != 0)
        return NULL;
    dl_store *store = store_alloc(path, plan, err);
    if (store == NULL)
        return NULL;
    layout_build(store);

    hid_t fcpl = H5I_INVALID_HID, fapl = H5I_INVALID_HID;
    hid_t gcpl = H5I_INVALID_HID;
    hid_t coord_id[COORD_MAX];
    for (int c = 0; c < COORD_MAX; c++)
        coord_id[c] = H5I_INVALID_HID;
    bool created = false;

    /* the file, truncating an old partial file */
    fcpl = H5Pcreate(H5P_FILE_CREATE);
    fapl = file_access_create();
    if (fcpl < 0 || fapl < 0 || H5Pset_obj_track_times(fcpl, 0) < 0) {
        dl_store_h5_fail(err, store->partial_path, "/",
                         "setting up the file failed");
        goto fail;
    }
    store->file = H5Fcreate(store->partial_path, H5F_ACC_TRUNC, fcpl, fapl);
    if (store->file < 0) {
        dl_store_h5_fail(err, store->partial_path, "/",
                         "creating the file failed; check that the folder "
                         "exists and is writable");
        goto fail;
    }
    created = true;
    if (root_attributes_write(store, version != NULL ? version : "unknown",
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
    store_close(store, NULL);
    /* A half-built file cannot be resumed, so it goes. */
    if (created)
        remove(store->partial_path);
    store_free(store);
    return NULL;
}

/* ---- resuming ---- */

/* Opens coordinate c and checks its length and values against the plan. */
static int coord_check(dl_store *store, int c, dl_error *err)
{
    const store_coord *coord = &store->coord[c];
    char object[64];
    snprintf(object, sizeof object, "/drift/%s", coord->name);

    size_t bytes = (size_t)coord->length * value_size(coord->type);
    void *expected = malloc(bytes);
    void *stored = malloc(bytes);
    hid_t id = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int status = -1;
    if (expected == NULL || stored == NULL) {
        dl_error_set(err, "%s: %s: out of memory", store->partial_path,
                     object);
        goto done;
    }
    coord_values(store, c, expected);

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
    if (H5Dread(id, value_memory_type(coord->type), H5S_ALL, H5S_ALL,
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

    hid_t dapl = dataset_access_create(v);
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
    if (type < 0 || H5Tequal(type, value_file_type(v->type)) <= 0) {
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
    dl_store_h5_silence();
    if (plan_check(plan, err) != 0)
        return NULL;
    char sha256[65];
    if (config_text_check(plan->config, sha256, err) != 0)
        return NULL;
    dl_store *store = store_alloc(path, plan, err);
    if (store == NULL)
        return NULL;
    layout_build(store);
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

    fapl = file_access_create();
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
    store_close(store, NULL);
    store_free(store);
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
    if (store == NULL)
        return dl_error_set(err, "results store: no store to finish");

    size_t missing = 0;
    for (size_t r = 0; r < store->plan->n_runs; r++)
        missing += store->run_done[r] == 0;
    if (missing > 0) {
        dl_error_set(err, "%s: %zu of %zu runs are not done, so the results "
                     "stay in this file for --resume", store->partial_path,
                     missing, store->plan->n_runs);
        store_close(store, NULL);
        store_free(store);
        return -1;
    }

    int status = store_close(store, err);
    if (status == 0 && rename(store->partial_path, store->path) != 0)
        status = dl_error_set(err, "%s: renaming it to %s failed: %s",
                              store->partial_path, store->path,
                              strerror(errno));
    store_free(store);
    return status;
}

void dl_store_abandon(dl_store *store)
{
    if (store == NULL)
        return;
    store_close(store, NULL);
    store_free(store);
}
