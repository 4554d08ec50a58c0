/* store_adapter.h - reading the stored adapters of results.h5 and writing
 * merged weights and stacked adapters.
 *
 * A results file keeps its adapters under /lora (docs/results-format.md,
 * "Stored adapters"):
 *
 *   /lora/base/W             float64 [D, N], attribute seed
 *   /lora/adapters/NAME/B    float64 [D, r]
 *   /lora/adapters/NAME/A    float64 [r, N]
 *   /lora/adapters/NAME/B_init, A_init   the same shapes, init svd only
 *   attributes of NAME: rank, alpha, scaling, init, scale, seed
 *
 * Loading checks every dataset's rank, dims and dtype against W and the
 * rank attribute, that scale is what alpha, rank and scaling give, and
 * that every value is finite. Each error names the file, the dataset or
 * attribute, the value found and what is allowed.
 *
 * The writers create OUT.partial and rename it to OUT on success, and
 * remove OUT.partial on failure, so OUT is either the old file or the
 * complete new one.
 */
#ifndef DRIFTLAB_STORE_ADAPTER_H
#define DRIFTLAB_STORE_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "lora_adapter.h"
#include "lora_combine.h"

/* The init attribute of an adapter made by stacking: it has no start
 * factors, and its s B A is the whole update. */
#define DL_ADAPTER_INIT_STACKED "stacked"

/* A results file opened for reading its adapters. */
typedef struct dl_adapter_file dl_adapter_file;

/* Opens path and reads /lora/base/W and the adapter names in creation
 * order. Fails when the file cannot be opened, has no /lora, no
 * /lora/base/W or no /lora/adapters, or W is not a finite float64 matrix.
 * Returns the file (close with dl_adapter_file_close), or NULL with err
 * set. */
dl_adapter_file *dl_adapter_file_open(const char *path, dl_error *err);

/* Closes the file and frees what it owns. Safe on NULL. */
void dl_adapter_file_close(dl_adapter_file *file);

/* Returns the path the file was opened with. */
const char *dl_adapter_file_path(const dl_adapter_file *file);

/* Returns the base W [rows][cols], owned by the file, and stores its
 * shape in *rows and *cols. */
const double *dl_adapter_file_base(const dl_adapter_file *file, size_t *rows,
                                   size_t *cols);

/* Returns the seed attribute of /lora/base/W. */
int64_t dl_adapter_file_seed(const dl_adapter_file *file);

/* Returns the number of adapters and the name of adapter index (creation
 * order); the name is owned by the file. */
size_t dl_adapter_file_count(const dl_adapter_file *file);
const char *dl_adapter_file_name(const dl_adapter_file *file, size_t index);

/* Reads adapter name into trained and its init attribute into init[size]
 * ("kaiming", "gaussian", "svd" or "stacked"). trained owns its arrays
 * (free with dl_lora_trained_free). An unknown name gives an error that
 * lists the stored names. Returns 0, or -1 with err set and trained
 * zeroed. */
int dl_adapter_file_read(const dl_adapter_file *file, const char *name,
                         dl_lora_trained *trained, char *init, size_t size,
                         dl_error *err);

/* Where merged or unmerged weights came from. */
typedef struct {
    const char *description;    /* one sentence stored as the description */
    const char *results_file;   /* the results file of the adapters */
    const char *merged_file;    /* the merged input of an unmerge, or NULL */
    const char *const *names;   /* adapter names, in command-line order */
    const double *weights;      /* their weights */
    size_t count;
} dl_adapter_provenance;

/* Writes path with one dataset /W float64 [rows, cols] and attributes
 * description, results_file, merged_file (when given), adapters (string
 * array) and weights (float64 array), through PATH.partial. Returns 0, or
 * -1 with err set and PATH.partial removed. */
int dl_adapter_weights_write(const char *path, const double *w, size_t rows,
                             size_t cols, const dl_adapter_provenance *provenance,
                             dl_error *err);

/* Reads /W of a file written by dl_adapter_weights_write into a new array
 * [rows][cols] (free with free()). Fails when /W is missing, not a 2-D
 * float64 dataset or not finite. Returns 0, or -1 with err set. */
int dl_adapter_weights_read(const char *path, double **w, size_t *rows,
                            size_t *cols, dl_error *err);

/* Writes path in the stored-adapter layout through PATH.partial. It
 * contains /lora/base/W copied from file with its seed, and one adapter
 * /lora/adapters/stacked with B, A and the attributes rank, alpha 1,
 * scaling none, init "stacked", scale 1 and seed. The provenance gives
 * its attributes description, results_file, sources (string array) and
 * weights (float64 array). Returns 0, or -1 with err
 * set and PATH.partial removed. */
int dl_adapter_stacked_write(const char *path, const dl_adapter_file *file,
                             const dl_lora_adapter *stacked,
                             const dl_adapter_provenance *provenance,
                             dl_error *err);

#endif
