/* config.h - the experiment configuration read from an INI file.
 *
 * Sections: [experiment], [drift], [lora] and the optional [figures], which
 * chooses the run and the resolution of the figures. A config needs [drift],
 * [lora] or both. Every numeric key of [drift]
 * that accepts a sweep takes one of
 *   a scalar               0.7
 *   a comma list           0, 0.5, 1
 *   a linear range         start:stop:count          (numpy.linspace)
 *   a log range            start:stop:count:log      (numpy.geomspace)
 *   an integer range       a..b                      (a, a+1, ..., b)
 * A key given more than one value becomes a sweep axis. Axes keep the order
 * in which their keys appear in the file; `seeds` is always the last axis.
 *
 * Loading validates every key's type and range and reports each problem as
 * "FILE:LINE: KEY: 'VALUE' is invalid: WHAT IS ALLOWED". Unknown sections and
 * keys are errors that name the nearest known one. docs/config.md lists
 * every key with its default and range.
 */
#ifndef DRIFTLAB_CONFIG_H
#define DRIFTLAB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lora/lora_params.h"

/* Maximum size of a config file in bytes (16 MiB). Loading stops reading
 * at this size, so that a path such as /dev/zero or a FIFO cannot fill the
 * memory. */
#define DL_CONFIG_FILE_MAX_BYTES (16u * 1024u * 1024u)

/* Maximum number of runs of a config: the product of the lengths of every
 * sweep axis times the number of seeds. It is far beyond any sweep that
 * fits the default 4096 MB memory and output limits, because even the
 * smallest run stores about 100 bytes. It is also below 2^32, so the
 * products that dl_plan_init computes without overflow checks fit size_t
 * even where size_t has 32 bits. */
#define DL_CONFIG_RUNS_MAX 1000000000

/* Most values of the [lora] rank and alpha axes: the rank x alpha map
 * draws one category per value, and the plot layer takes at most 4096
 * categories per axis (PLOT_CATEGORIES_MAX). */
#define DL_LORA_AXIS_VALUES_MAX 4096

/* Maximum of the threads key, the same as for the command line's -j. */
#define DL_CONFIG_THREADS_MAX 4096

/* Next-token rule of the drift model. */
typedef enum {
    DL_RULE_CLUSTER = 0, /* sample a cluster by attention mass, then a member */
    DL_RULE_LM = 1       /* sample a token from the head's output logits */
} dl_rule;

/* Attention projections of the drift model. */
typedef enum {
    DL_PROJECTION_IDENTITY = 0, /* Wq = Wk = Wv = I, d_head = d_model */
    DL_PROJECTION_RANDOM = 1    /* Gaussian d_model x d_head matrices */
} dl_projection;

/* [drift] keys that may take several values. The enum order is the
 * canonical order used wherever all of them are listed (stream keys,
 * docs); it is not the axis order, which follows the file. */
typedef enum {
    DL_SWEEP_TEMPERATURE = 0,
    DL_SWEEP_TOP_K,
    DL_SWEEP_TOP_P,
    DL_SWEEP_MIN_P,
    DL_SWEEP_REPETITION_PENALTY,
    DL_SWEEP_GAIN,
    DL_SWEEP_GAIN_OUT,
    DL_SWEEP_CLUSTER_SPREAD,
    DL_SWEEP_COUNT
} dl_sweep_key;

/* Output figure formats, as bits of dl_config.formats. */
enum {
    DL_FORMAT_SVG = 1u << 0,
    DL_FORMAT_PDF = 1u << 1,
    DL_FORMAT_PNG = 1u << 2
};

/* Values of one sweepable key, in the order the file gives them. */
typedef struct {
    double *values; /* count values; integers are stored exactly */
    size_t count;
    int line;       /* line of the key in the file, 0 for a default */
} dl_value_list;

typedef struct {
    /* source */
    char *path;          /* the file as named on the command line */
    char *text;          /* the whole file, NUL-terminated */
    size_t text_length;  /* bytes in text, without the NUL */

    /* [experiment] */
    char *name;            /* default: file name without directory and .ini */
    uint64_t master_seed;  /* key "seed", default 0 */
    int64_t *seeds;        /* n_seeds seed values, key "seeds" */
    size_t n_seeds;
    int threads;           /* 0: as many as OpenMP offers */
    char *output_dir;      /* NULL: output/NAME */
    unsigned formats;      /* DL_FORMAT_* bits, default all three */
    double max_memory_mb;  /* plans estimated above this are rejected */
    double max_output_mb;

    /* [drift] */
    bool has_drift;
    dl_rule rule;
    dl_projection projection;
    int clusters;
    int tokens_per_cluster;
    int d_model;
    int d_head;
    int prompt_length;
    int *prompt;           /* prompt_length token ids, NULL: cycle clusters */
    int steps;
    int keep_attention;    /* attention rows are kept for this many seeds */
    dl_value_list sweep[DL_SWEEP_COUNT];

    /* [lora]: rank, alpha and scaling are sweep axes (in that order, then
     * the seeds), so lora_adapter.rank, alpha and scaling are unused */
    bool has_lora;
    dl_lora_task_params lora_task;
    dl_lora_adapter_params lora_adapter;
    dl_lora_train_params lora_train;
    dl_value_list lora_rank;   /* integers in [1, min(D, N)] */
    dl_value_list lora_alpha;  /* >= 0 */
    dl_value_list lora_scaling; /* dl_lora_scaling values, distinct */
    int64_t *lora_seeds;       /* seeds of the LoRA sweep: [lora] seeds, or
                                  the [experiment] seeds when not given */
    size_t n_lora_seeds;

    /* sweep axes: keys with more than one value, in file order */
    dl_sweep_key axes[DL_SWEEP_COUNT];
    size_t n_axes;

    /* [figures], with every default resolved after parsing */
    double figure_temperature; /* a temperature of the sweep; default: the
                                  lowest */
    int64_t figure_seed;       /* a kept seed value; default: the first seed */
    double png_ppi;            /* pixels per inch in [36, 600], default 150 */
    int strip_steps;           /* token strip panels in [1, 12], at most
                                  steps; default 4, or steps when fewer */
} dl_config;

/* Reads and validates the INI file at path. On success fills cfg and
 * returns 0; free it with dl_config_free. On failure writes one line per
 * problem to diag, frees everything it allocated and returns -1. The file
 * must be UTF-8 text of at most DL_CONFIG_FILE_MAX_BYTES without NUL
 * bytes. Reading stops at the first NUL byte or past that size. */
int dl_config_load(const char *path, dl_config *cfg, FILE *diag);

/* Like dl_config_load, on text already in memory; display_name stands for
 * the file name in messages and for the default name. On success cfg->text
 * is a copy of text and cfg->path a copy of display_name. */
int dl_config_parse(const char *text, const char *display_name,
                    dl_config *cfg, FILE *diag);

/* Frees what dl_config_load allocated; cfg may be zeroed or loaded. */
void dl_config_free(dl_config *cfg);

/* The INI key name of a sweepable key, e.g. "temperature". */
const char *dl_sweep_key_name(dl_sweep_key key);

/* True when the key takes integer values only (top_k). */
bool dl_sweep_key_is_integer(dl_sweep_key key);

/* Name of a rule or projection as written in the INI file. */
const char *dl_rule_name(dl_rule rule);
const char *dl_projection_name(dl_projection projection);

#endif
