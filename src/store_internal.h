/* store_internal.h - private types and helpers shared by the store sources.
 *
 * Only store.c, store_h5.c, store_layout.c, store_resume.c, store_info.c,
 * store_read.c, store_lora.c, store_lora_read.c and store_adapter.c include
 * this header, so HDF5 stays inside the store module. The HDF5 helpers turn
 * HDF5 failures into dl_error messages that name the file and the object
 * ("results.h5.partial: /drift/tokens: ...") and add the
 * innermost reason from HDF5's error stack, which the store keeps from
 * printing to stderr.
 */
#ifndef DRIFTLAB_STORE_INTERNAL_H
#define DRIFTLAB_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>
#include <hdf5_hl.h>

#include "error.h"
#include "lora_results.h"
#include "plan.h"
#include "store.h"

/* Version of the results.h5 layout, stored as the root attribute
 * format_version. Raise it when a reader of the old layout would misread
 * the new one. */
#define DL_STORE_FORMAT_VERSION 1

/* ---- layout and store types ---- */

/* Largest rank: every sweep axis, then kept_seed, step and position. */
#define MAX_RANK (DL_SWEEP_COUNT + 3)

typedef enum {
    VALUE_F64 = 0,
    VALUE_I64,
    VALUE_I32,
    VALUE_U8
} value_type;

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

/* ---- HDF5 errors, attributes and dimension names (store_h5.c) ---- */

/* Stops HDF5 from printing its error stack to stderr. The store reports
 * every failure itself through dl_error. */
void dl_store_h5_silence(void);

/* Formats "FILE: OBJECT: MESSAGE (HDF5: REASON)" into err, where REASON is
 * the innermost entry of the current HDF5 error stack (left out when the
 * stack is empty), and clears that stack. Call it right after the failing
 * HDF5 call, before any other HDF5 call replaces the stack. Returns -1. */
int dl_store_h5_fail(dl_error *err, const char *file, const char *object,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads the variable-length string attribute name of object into a new
 * NUL-terminated string that the caller frees with free(). Fails with err
 * naming file, object and attribute when the attribute is missing or is
 * not a variable-length string. */
int dl_store_read_string_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   char **value, dl_error *err);

/* Reads the scalar integer attribute name of object, converted to int64.
 * Fails with err when it is missing or not a scalar integer. */
int dl_store_read_int64_attribute(hid_t object, const char *file,
                                  const char *object_name, const char *name,
                                  int64_t *value, dl_error *err);

/* Returns whether text is UTF-8 without control characters (C0, DEL and
 * C1), and writes it into escaped[size] for a message: valid non-control
 * sequences as they are, every other byte as \xHH, cut after 48
 * characters. A buffer of 200 bytes fits any result. */
bool dl_store_text_escape(const char *text, char *escaped, size_t size);

/* Fails unless text, a string of object read from the file at path, is
 * UTF-8 without control characters (C0, DEL and C1): such bytes would act
 * as escape sequences on a terminal. The message shows the string with
 * every bad byte as \xHH; description names the string. */
int dl_store_text_check(const char *path, const char *object, const char *description,
                        const char *text, dl_error *err);

/* Reads the scalar integer or floating-point attribute name of object,
 * converted to double. Fails with err when it is missing or not a single
 * number. */
int dl_store_read_double_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   double *value, dl_error *err);

/* Like dl_store_read_int64_attribute, converted to uint64. */
int dl_store_read_uint64_attribute(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   uint64_t *value, dl_error *err);

int dl_store_attribute_write(hid_t object, const char *file,
                             const char *object_name, const char *name,
                             hid_t file_type, hid_t memory_type,
                             const void *value, dl_error *err);
int dl_store_attribute_write_string(hid_t object, const char *file,
                                    const char *object_name, const char *name,
                                    const char *value, dl_error *err);
int dl_store_attribute_write_int32(hid_t object, const char *file,
                                   const char *object_name, const char *name,
                                   int32_t value, dl_error *err);

/* Writes the name of the first dimension scale attached to dimension dim
 * of dataset into name[size]. Writes fallback instead when no scale is
 * attached, the scale has no name or reading the name fails. */
void dl_store_dimension_name(hid_t dataset, unsigned dim, char *name,
                             size_t size, const char *fallback);

/* ---- element types, plan checks and layout (store_layout.c) ---- */

hid_t dl_store_value_file_type(value_type type);
hid_t dl_store_value_memory_type(value_type type);
size_t dl_store_value_size(value_type type);
int dl_store_plan_check(const dl_plan *plan, dl_error *err);
int dl_store_config_text_check(const dl_config *cfg, char sha256[65],
                               dl_error *err);
void dl_store_layout_build(dl_store *store);
void dl_store_coord_values(const dl_store *store, int c, void *buffer);

/* ---- store lifetime (store.c) ---- */

dl_store *dl_store_alloc(const char *path, const dl_plan *plan,
                         dl_error *err);
dl_store *dl_store_prepare(const char *path, const dl_plan *plan,
                           char sha256[65], dl_error *err);
void dl_store_free(dl_store *store);
int dl_store_close(dl_store *store, dl_error *err);
hid_t dl_store_file_access_create(void);
hid_t dl_store_dataset_access_create(const store_var *v);

/* Writes the root attributes of results.h5 (format_version,
 * driftlab_version, config_name, config_text, config_sha256 as 64 hex
 * digits, master_seed) to root, the file's root group; file names the
 * file in messages. Returns 0, or -1 with err set. */
int dl_store_root_attributes_write(hid_t root, const char *file,
                                   const dl_config *cfg, const char *version,
                                   const char *sha256, dl_error *err);

/* ---- the /lora group read back (store_lora_read.c) ---- */

/* Reads the /lora group of the open file into lora (lora_results.h), whose
 * arrays it then owns; path names the file in messages. Returns 0, or -1
 * with err naming the dataset and the mismatch, and lora zeroed. */
int dl_store_lora_read(int64_t file, const char *path, dl_lora_results *lora, dl_error *err);

#endif
