/* config.c - reading and validating the INI experiment configuration; see
 * config.h for the keys and sweep_values.h for the value syntax.
 *
 * The text is parsed in memory in three steps, after a check that it is
 * valid UTF-8, because results.h5 stores it as a UTF-8 attribute:
 *  1. A reader feeds the text to inih's ini_parse_stream. It counts physical
 *     lines, drops comments and checks the syntax of each line. It strips
 *     leading whitespace, so inih's multi-line continuation never triggers
 *     from user input. A key line longer than inih's buffer is handed over
 *     in pieces cut after commas, which inih passes on as continuations.
 *  2. inih's handler stores each key's raw value text and line, rejecting
 *     unknown and duplicate keys. Because the reader always returns the
 *     line the next handler call belongs to, the handler takes the line
 *     number from the reader's state.
 *  3. Each value is parsed and checked against its key's range, then the
 *     keys are checked against each other (number of runs, vocabulary
 *     size, d_head, prompt, keep_attention and the [figures] keys).
 * Every problem is collected with its line and printed in line order, so
 * one run reports all of them.
 *
 * The pieces exist because Debian 12's libinih (release 55) is built with
 * INI_HANDLER_LINENO 0 and a fixed 200-byte line buffer: it would cut a
 * longer line into two bogus lines and gives the handler no line number.
 *
 * Leaves out: quoted values, escape
 * sequences, interpolation and includes.
 */
#define _POSIX_C_SOURCE 200809L

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_values.h"
#include "utf8.h"

/* Largest vocabulary clusters * tokens_per_cluster may give. */
#define VOCABULARY_MAX 65536

/* Maximum prompt length in tokens, as for prompt_length. */
#define PROMPT_MAX 100000

/* Allowed PNG resolutions in pixels per inch, and the default. */
#define PNG_PPI_MIN 36.0
#define PNG_PPI_MAX 600.0
#define PNG_PPI_DEFAULT 150.0

/* Allowed numbers of small multiples in the token strip, and the default
 * (lowered to steps when there are fewer steps). */
#define STRIP_STEPS_MIN 1
#define STRIP_STEPS_MAX 12
#define STRIP_STEPS_DEFAULT 4

/* A [figures] temperature within this relative distance of a temperature
 * of the sweep selects that temperature, so that the inner values of a
 * log range need not be written to 17 digits. */
#define FIGURE_TEMPERATURE_TOLERANCE 1e-9

/* A list of allowed values in a message shows at most this many values. */
#define SHOWN_VALUES_MAX 8

/* Maximum length of a value quoted whole in a message. Longer values are
 * shortened. */
#define SHOWN_VALUE_MAX 80

/* Added to the message of an invalid value that contains '#' or ';',
 * because inih takes only ';' after whitespace for a comment. */
#define COMMENT_HINT \
    "; a comment after a value needs whitespace and ';' before it " \
    "('0.5 ; note')"

/* Maximum length of an experiment name, and its allowed characters. */
#define NAME_MAX_LENGTH 64
#define NAME_CHARACTERS "A-Z, a-z, 0-9, '_', '.' and '-'"

/* Config files are read in blocks of this many bytes at first. */
#define READ_BLOCK_BYTES (64u * 1024u)

/* ======================================================================
 * Sections and keys
 * ====================================================================== */

typedef enum {
    SECTION_NONE = 0,  /* before the first section header */
    SECTION_EXPERIMENT,
    SECTION_DRIFT,
    SECTION_LORA,
    SECTION_FIGURES,
    SECTION_SKIPPED    /* unknown, unsupported or malformed: keys ignored */
} section_id;

static const char *const section_names[] = {
    [SECTION_EXPERIMENT] = "experiment",
    [SECTION_DRIFT] = "drift",
    [SECTION_LORA] = "lora",
    [SECTION_FIGURES] = "figures",
};

typedef enum {
    KEY_NAME,
    KEY_SEED,
    KEY_SEEDS,
    KEY_THREADS,
    KEY_OUTPUT,
    KEY_FORMATS,
    KEY_MAX_MEMORY_MB,
    KEY_MAX_OUTPUT_MB,
    KEY_RULE,
    KEY_PROJECTION,
    KEY_CLUSTERS,
    KEY_TOKENS_PER_CLUSTER,
    KEY_D_MODEL,
    KEY_D_HEAD,
    KEY_PROMPT_LENGTH,
    KEY_PROMPT,
    KEY_STEPS,
    KEY_KEEP_ATTENTION,
    KEY_TEMPERATURE,
    KEY_TOP_K,
    KEY_TOP_P,
    KEY_MIN_P,
    KEY_REPETITION_PENALTY,
    KEY_GAIN,
    KEY_GAIN_OUT,
    KEY_CLUSTER_SPREAD,
    KEY_LORA_D,
    KEY_LORA_N,
    KEY_LORA_TASK_RANK,
    KEY_LORA_TASK_SCALE,
    KEY_LORA_TASK_DECAY,
    KEY_LORA_TASK_NOISE,
    KEY_LORA_N_TRAIN,
    KEY_LORA_N_EVAL,
    KEY_LORA_N_OLD,
    KEY_LORA_SEEDS,
    KEY_LORA_RANK,
    KEY_LORA_ALPHA,
    KEY_LORA_SCALING,
    KEY_LORA_INIT,
    KEY_LORA_OPTIMIZER,
    KEY_LORA_LEARNING_RATE,
    KEY_LORA_STEPS,
    KEY_LORA_BATCH_SIZE,
    KEY_LORA_CURVE_LENGTH,
    KEY_FIGURE_TEMPERATURE,
    KEY_FIGURE_SEED,
    KEY_PNG_PPI,
    KEY_STRIP_STEPS,
    KEY_COUNT
} key_id;

typedef struct parse_context parse_context;

/* Parses the raw value of key into cfg; returns false after reporting. */
typedef bool (*key_parser)(parse_context *ctx, key_id key, dl_config *cfg);

static bool parse_name(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_master_seed(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_seeds(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_lora_seeds(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_int_key(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_output(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_formats(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_megabytes(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_rule(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_projection(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_prompt(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_sweep_key(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_figure_temperature(parse_context *ctx, key_id key,
                                     dl_config *cfg);
static bool parse_figure_seed(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_png_ppi(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_lora_real(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_lora_name(parse_context *ctx, key_id key, dl_config *cfg);
static bool parse_lora_axis(parse_context *ctx, key_id key, dl_config *cfg);

/* One INI key. min, max and field apply to integer keys (parse_int_key)
 * and to max_*_mb (parse_megabytes); sweep to sweepable keys. */
typedef struct {
    const char *name;
    section_id section;
    key_parser parse;
    int min;
    int max;
    size_t field;     /* offset of the key's member in dl_config */
    int sweep;        /* the dl_sweep_key of a sweepable key, else -1 */
    bool sets_shape;  /* sizes the stored arrays, so takes one value */
} key_spec;

#define OTHER_KEY(name, section, parse) \
    {name, section, parse, 0, 0, 0, -1, false}
#define INT_KEY(name, section, min, max, member, shape)                 \
    {name, section, parse_int_key, min, max, offsetof(dl_config, member), \
     -1, shape}
#define MEGABYTES_KEY(name, member) \
    {name, SECTION_EXPERIMENT, parse_megabytes, 0, 0, \
     offsetof(dl_config, member), -1, false}
/* Largest D, N, task_rank, row count and curve_length of [lora], the
 * limit that lora_params.c applies. */
#define LORA_DIMENSION_MAX 1000000
#define LORA_INT_KEY(name, member, min, max, shape)                    \
    {name, SECTION_LORA, parse_int_key, min, max,                      \
     offsetof(dl_config, member), -1, shape}
#define LORA_KEY(name, parse) {name, SECTION_LORA, parse, 0, 0, 0, -1, false}
#define SWEEP_KEY(name, sweep) \
    {name, SECTION_DRIFT, parse_sweep_key, 0, 0, 0, sweep, false}

static const key_spec key_specs[KEY_COUNT] = {
    [KEY_NAME] = OTHER_KEY("name", SECTION_EXPERIMENT, parse_name),
    [KEY_SEED] = OTHER_KEY("seed", SECTION_EXPERIMENT, parse_master_seed),
    [KEY_SEEDS] = OTHER_KEY("seeds", SECTION_EXPERIMENT, parse_seeds),
    [KEY_THREADS] = INT_KEY("threads", SECTION_EXPERIMENT, 0,
                            DL_CONFIG_THREADS_MAX, threads, false),
    [KEY_OUTPUT] = OTHER_KEY("output", SECTION_EXPERIMENT, parse_output),
    [KEY_FORMATS] = OTHER_KEY("formats", SECTION_EXPERIMENT, parse_formats),
    [KEY_MAX_MEMORY_MB] = MEGABYTES_KEY("max_memory_mb", max_memory_mb),
    [KEY_MAX_OUTPUT_MB] = MEGABYTES_KEY("max_output_mb", max_output_mb),
    [KEY_RULE] = OTHER_KEY("rule", SECTION_DRIFT, parse_rule),
    [KEY_PROJECTION] = OTHER_KEY("projection", SECTION_DRIFT,
                                 parse_projection),
    [KEY_CLUSTERS] = INT_KEY("clusters", SECTION_DRIFT, 1, 1024, clusters,
                             true),
    [KEY_TOKENS_PER_CLUSTER] = INT_KEY("tokens_per_cluster", SECTION_DRIFT, 1,
                                       4096, tokens_per_cluster, true),
    [KEY_D_MODEL] = INT_KEY("d_model", SECTION_DRIFT, 1, 4096, d_model, true),
    [KEY_D_HEAD] = INT_KEY("d_head", SECTION_DRIFT, 1, 4096, d_head, true),
    [KEY_PROMPT_LENGTH] = INT_KEY("prompt_length", SECTION_DRIFT, 1,
                                  PROMPT_MAX, prompt_length, true),
    [KEY_PROMPT] = OTHER_KEY("prompt", SECTION_DRIFT, parse_prompt),
    [KEY_STEPS] = INT_KEY("steps", SECTION_DRIFT, 1, 1000000, steps, true),
    /* at most the number of seeds, which check_keep_attention checks */
    [KEY_KEEP_ATTENTION] = INT_KEY("keep_attention", SECTION_DRIFT, 0,
                                   DL_SWEEP_VALUES_MAX, keep_attention, true),
    [KEY_TEMPERATURE] = SWEEP_KEY("temperature", DL_SWEEP_TEMPERATURE),
    [KEY_TOP_K] = SWEEP_KEY("top_k", DL_SWEEP_TOP_K),
    [KEY_TOP_P] = SWEEP_KEY("top_p", DL_SWEEP_TOP_P),
    [KEY_MIN_P] = SWEEP_KEY("min_p", DL_SWEEP_MIN_P),
    [KEY_REPETITION_PENALTY] = SWEEP_KEY("repetition_penalty",
                                         DL_SWEEP_REPETITION_PENALTY),
    [KEY_GAIN] = SWEEP_KEY("gain", DL_SWEEP_GAIN),
    [KEY_GAIN_OUT] = SWEEP_KEY("gain_out", DL_SWEEP_GAIN_OUT),
    [KEY_CLUSTER_SPREAD] = SWEEP_KEY("cluster_spread",
                                     DL_SWEEP_CLUSTER_SPREAD),
    [KEY_LORA_D] = LORA_INT_KEY("D", lora_task.input_dim, 1,
                                LORA_DIMENSION_MAX, true),
    [KEY_LORA_N] = LORA_INT_KEY("N", lora_task.output_dim, 1,
                                LORA_DIMENSION_MAX, true),
    /* at most min(D, N), which check_lora_ranks checks */
    [KEY_LORA_TASK_RANK] = LORA_INT_KEY("task_rank", lora_task.task_rank, 1,
                                        LORA_DIMENSION_MAX, false),
    [KEY_LORA_TASK_SCALE] = LORA_KEY("task_scale", parse_lora_real),
    [KEY_LORA_TASK_DECAY] = LORA_KEY("task_decay", parse_lora_real),
    [KEY_LORA_TASK_NOISE] = LORA_KEY("task_noise", parse_lora_real),
    [KEY_LORA_N_TRAIN] = LORA_INT_KEY("n_train", lora_task.n_train, 1,
                                      LORA_DIMENSION_MAX, true),
    [KEY_LORA_N_EVAL] = LORA_INT_KEY("n_eval", lora_task.n_eval, 1,
                                     LORA_DIMENSION_MAX, true),
    [KEY_LORA_N_OLD] = LORA_INT_KEY("n_old", lora_task.n_old, 1,
                                    LORA_DIMENSION_MAX, true),
    [KEY_LORA_SEEDS] = LORA_KEY("seeds", parse_lora_seeds),
    [KEY_LORA_RANK] = LORA_KEY("rank", parse_lora_axis),
    [KEY_LORA_ALPHA] = LORA_KEY("alpha", parse_lora_axis),
    [KEY_LORA_SCALING] = LORA_KEY("scaling", parse_lora_name),
    [KEY_LORA_INIT] = LORA_KEY("init", parse_lora_name),
    [KEY_LORA_OPTIMIZER] = LORA_KEY("optimizer", parse_lora_name),
    [KEY_LORA_LEARNING_RATE] = LORA_KEY("learning_rate", parse_lora_real),
    [KEY_LORA_STEPS] = LORA_INT_KEY("steps", lora_train.steps, 1, 100000000,
                                    false),
    /* at most n_train, which check_lora_batch_size checks */
    [KEY_LORA_BATCH_SIZE] = LORA_INT_KEY("batch_size", lora_train.batch_size,
                                         0, LORA_DIMENSION_MAX, false),
    [KEY_LORA_CURVE_LENGTH] = LORA_INT_KEY("curve_length",
                                           lora_train.curve_length, 2,
                                           LORA_DIMENSION_MAX, true),
    [KEY_FIGURE_TEMPERATURE] = OTHER_KEY("temperature", SECTION_FIGURES,
                                         parse_figure_temperature),
    [KEY_FIGURE_SEED] = OTHER_KEY("seed", SECTION_FIGURES, parse_figure_seed),
    [KEY_PNG_PPI] = OTHER_KEY("png_ppi", SECTION_FIGURES, parse_png_ppi),
    [KEY_STRIP_STEPS] = INT_KEY("strip_steps", SECTION_FIGURES,
                                STRIP_STEPS_MIN, STRIP_STEPS_MAX, strip_steps,
                                false),
};

/* Default and allowed range of a sweepable key. */
typedef struct {
    const char *name;
    double default_value;
    double min;
    double max;          /* INFINITY when unbounded */
    bool min_exclusive;  /* the value must be > min, not >= min */
    bool integer;
} sweep_spec;

static const sweep_spec sweep_specs[DL_SWEEP_COUNT] = {
    [DL_SWEEP_TEMPERATURE] = {"temperature", 1.0, 0.0, INFINITY, false, false},
    [DL_SWEEP_TOP_K] = {"top_k", 0.0, 0.0, INT_MAX, false, true},
    [DL_SWEEP_TOP_P] = {"top_p", 1.0, 0.0, 1.0, false, false},
    [DL_SWEEP_MIN_P] = {"min_p", 0.0, 0.0, 1.0, false, false},
    [DL_SWEEP_REPETITION_PENALTY] = {"repetition_penalty", 1.0, 0.0, INFINITY,
                                     true, false},
    [DL_SWEEP_GAIN] = {"gain", 8.0, 0.0, INFINITY, false, false},
    [DL_SWEEP_GAIN_OUT] = {"gain_out", 8.0, 0.0, INFINITY, false, false},
    [DL_SWEEP_CLUSTER_SPREAD] = {"cluster_spread", 0.5, 0.0, INFINITY, false,
                                 false},
};

/* ======================================================================
 * Parse state and diagnostics
 * ====================================================================== */

/* The value text of one key as the handler received it. */
typedef struct {
    char *text;  /* NULL when the key is absent */
    int line;    /* 0 when the key is absent */
} raw_value;

/* One message for diag, sorted by line before printing. */
typedef struct {
    int line;      /* 0 for a problem of the whole file */
    size_t order;  /* report order, to keep sorting stable */
    char *message;
} diagnostic;

struct parse_context {
    const char *file;  /* name shown in messages */

    /* reader: position in the text */
    const char *next;  /* start of the next physical line, NULL at the end */
    int line;          /* physical line last returned, 1-based */

    /* reader: the long key line being handed over in pieces */
    const char *piece;     /* start of the next piece, NULL when none */
    const char *line_end;  /* end of that line's content */
    bool continuation;     /* the line just returned continues a value */

    /* handler */
    section_id section;
    bool saw_drift;
    bool saw_lora;
    raw_value raw[KEY_COUNT];
    raw_value *last_value;  /* where a continuation goes, NULL: drop it */

    /* values */
    bool valid[KEY_COUNT];  /* absent, or parsed and in range */
    size_t prompt_count;

    diagnostic *diagnostics;
    size_t n_diagnostics;
    size_t capacity;
    bool out_of_memory;
};

static char *format_message_v(const char *fmt, va_list args)
{
    va_list copy;
    va_copy(copy, args);
    int length = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (length < 0)
        return NULL;

    char *message = malloc((size_t)length + 1);
    if (message != NULL)
        vsnprintf(message, (size_t)length + 1, fmt, args);
    return message;
}

static bool push_diagnostic(parse_context *ctx, int line, char *message)
{
    if (ctx->n_diagnostics == ctx->capacity) {
        size_t capacity = ctx->capacity == 0 ? 16 : 2 * ctx->capacity;
        diagnostic *grown = realloc(ctx->diagnostics,
                                    capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        ctx->diagnostics = grown;
        ctx->capacity = capacity;
    }

    diagnostic *d = &ctx->diagnostics[ctx->n_diagnostics];
    d->line = line;
    d->order = ctx->n_diagnostics;
    d->message = message;
    ctx->n_diagnostics++;
    return true;
}

/* Records "FILE:LINE: message", or "FILE: message" when line is 0. */
__attribute__((format(printf, 3, 4)))
static void report(parse_context *ctx, int line, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    char *body = format_message_v(fmt, args);
    va_end(args);

    char *message = NULL;
    if (body != NULL) {
        size_t size = strlen(ctx->file) + strlen(body) + 32;
        message = malloc(size);
        if (message != NULL && line > 0)
            snprintf(message, size, "%s:%d: %s", ctx->file, line, body);
        else if (message != NULL)
            snprintf(message, size, "%s: %s", ctx->file, body);
    }
    free(body);

    if (message == NULL || !push_diagnostic(ctx, line, message)) {
        free(message);
        ctx->out_of_memory = true;
    }
}

/* Shortens text to about SHOWN_VALUE_MAX characters for a message. */
static const char *shorten(const char *text, size_t length, char *buffer,
                           size_t size)
{
    if (length <= SHOWN_VALUE_MAX)
        snprintf(buffer, size, "%.*s", (int)length, text);
    else
        snprintf(buffer, size, "%.56s ... %.20s", text, text + length - 20);
    return buffer;
}

/* Records "FILE:LINE: KEY: 'VALUE' is invalid: reason" and marks the key
 * invalid, so checks that combine keys skip it. A value with '#' or ';'
 * gets COMMENT_HINT after the reason. */
__attribute__((format(printf, 3, 4)))
static void report_invalid(parse_context *ctx, key_id key, const char *fmt,
                           ...)
{
    va_list args;
    va_start(args, fmt);
    char *reason = format_message_v(fmt, args);
    va_end(args);

    const raw_value *raw = &ctx->raw[key];
    char shown[SHOWN_VALUE_MAX + 16];
    const char *value = raw->text != NULL ? raw->text : "";
    shorten(value, strlen(value), shown, sizeof shown);

    const char *hint = strpbrk(value, "#;") != NULL ? COMMENT_HINT : "";
    if (reason == NULL)
        ctx->out_of_memory = true;
    else
        report(ctx, raw->line, "%s: '%s' is invalid: %s%s",
               key_specs[key].name, shown, reason, hint);
    free(reason);
    ctx->valid[key] = false;
}

static int compare_diagnostics(const void *a, const void *b)
{
    const diagnostic *x = a;
    const diagnostic *y = b;

    /* problems of the whole file (line 0) come last */
    long line_x = x->line > 0 ? x->line : LONG_MAX;
    long line_y = y->line > 0 ? y->line : LONG_MAX;
    if (line_x != line_y)
        return line_x < line_y ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Prints the diagnostics to diag in line order and frees them. Returns 0
 * when there were none, else -1. */
static int flush_diagnostics(parse_context *ctx, FILE *diag)
{
    if (ctx->n_diagnostics > 1)
        qsort(ctx->diagnostics, ctx->n_diagnostics,
              sizeof *ctx->diagnostics, compare_diagnostics);

    for (size_t i = 0; i < ctx->n_diagnostics; i++) {
        if (diag != NULL)
            fprintf(diag, "%s\n", ctx->diagnostics[i].message);
        free(ctx->diagnostics[i].message);
    }
    if (ctx->out_of_memory && diag != NULL)
        fprintf(diag, "%s: out of memory while reading the config\n",
                ctx->file);

    int status = ctx->n_diagnostics > 0 || ctx->out_of_memory ? -1 : 0;
    free(ctx->diagnostics);
    ctx->diagnostics = NULL;
    ctx->n_diagnostics = 0;
    ctx->capacity = 0;
    return status;
}

static char *duplicate(parse_context *ctx, const char *text)
{
    char *copy = strdup(text);
    if (copy == NULL)
        ctx->out_of_memory = true;
    return copy;
}

/* ======================================================================
 * Suggestions for misspelt names
 * ====================================================================== */

#define NAME_COMPARED_MAX 64

/* Edit distance with adjacent transpositions counted as one edit (optimal
 * string alignment), so "drfit" is one edit from "drift". Names longer
 * than NAME_COMPARED_MAX characters count as far from everything. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a);
    size_t m = strlen(b);
    if (n > NAME_COMPARED_MAX || m > NAME_COMPARED_MAX)
        return (size_t)-1;

    unsigned char d[NAME_COMPARED_MAX + 1][NAME_COMPARED_MAX + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned char)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned char)j;

    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1u < best)
                best = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < best)
                best = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1u < best)
                best = d[i - 2][j - 2] + 1u;
            d[i][j] = (unsigned char)best;
        }
    }
    return d[n][m];
}

/* True when name is close enough to candidate to suggest it: about one
 * edit per three characters of the candidate. */
static bool is_close(const char *name, const char *candidate)
{
    size_t length = strlen(candidate);
    size_t limit = 3;
    if (length <= 4)
        limit = 1;
    else if (length <= 8)
        limit = 2;
    return edit_distance(name, candidate) <= limit;
}

/* The key of section nearest to name, or -1 when none is close. */
static int nearest_key(section_id section, const char *name)
{
    int best = -1;
    size_t best_distance = (size_t)-1;

    for (int k = 0; k < KEY_COUNT; k++) {
        if (key_specs[k].section != section
            || !is_close(name, key_specs[k].name))
            continue;
        size_t distance = edit_distance(name, key_specs[k].name);
        if (distance < best_distance) {
            best = k;
            best_distance = distance;
        }
    }
    return best;
}

/* Writes the names of the keys of section, comma-separated. */
static void list_keys(section_id section, char *buffer, size_t size)
{
    size_t used = 0;
    buffer[0] = '\0';

    for (int k = 0; k < KEY_COUNT && used < size; k++) {
        if (key_specs[k].section != section)
            continue;
        int n = snprintf(buffer + used, size - used, "%s%s",
                         used > 0 ? ", " : "", key_specs[k].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static void report_unknown_key(parse_context *ctx, const char *name)
{
    const char *section = section_names[ctx->section];

    for (int k = 0; k < KEY_COUNT; k++) {
        if (strcmp(name, key_specs[k].name) == 0) {
            report(ctx, ctx->line, "key '%s' belongs in [%s], not in [%s]",
                   name, section_names[key_specs[k].section], section);
            return;
        }
    }

    int best = nearest_key(ctx->section, name);
    if (best >= 0) {
        report(ctx, ctx->line, "unknown key '%s' in [%s]; did you mean '%s'?",
               name, section, key_specs[best].name);
        return;
    }

    char keys[512];
    list_keys(ctx->section, keys, sizeof keys);
    report(ctx, ctx->line, "unknown key '%s' in [%s]; the keys of [%s] are "
           "%s", name, section, section, keys);
}

/* ======================================================================
 * The reader: physical lines to what inih may see
 * ====================================================================== */

static bool is_space(char c)
{
    return isspace((unsigned char)c) != 0;
}

/* Copies text[0..length) into inih's buffer, after a space when the piece
 * continues the previous line's value. The caller checked that it fits. */
static char *hand_over(char *buffer, bool indent, const char *text,
                       size_t length)
{
    size_t at = 0;
    if (indent)
        buffer[at++] = ' ';
    memcpy(buffer + at, text, length);
    buffer[at + length] = '\0';
    return buffer;
}

/* A line inih treats as a comment, for lines the reader handled itself. */
static char *hand_over_comment(char *buffer)
{
    return hand_over(buffer, false, ";", 1);
}

/* Moves to the next physical line and returns it without surrounding
 * whitespace (and without a UTF-8 byte order mark on line 1). */
static void next_physical_line(parse_context *ctx, const char **begin,
                               const char **end)
{
    const char *start = ctx->next;
    const char *newline = strchr(start, '\n');
    const char *stop = newline != NULL ? newline : start + strlen(start);

    ctx->next = newline != NULL && newline[1] != '\0' ? newline + 1 : NULL;
    ctx->line++;

    if (ctx->line == 1 && stop - start >= 3
        && memcmp(start, "\xEF\xBB\xBF", 3) == 0)
        start += 3;
    while (start < stop && is_space(*start))
        start++;
    while (stop > start && is_space(stop[-1]))
        stop--;

    *begin = start;
    *end = stop;
}

/* Cuts an inline comment: ';' after whitespace, as inih's
 * INI_INLINE_COMMENT_PREFIXES ";" does. Returns the new end. */
static const char *cut_inline_comment(const char *begin, const char *end)
{
    for (const char *p = begin + 1; p < end; p++) {
        if (*p == ';' && is_space(p[-1])) {
            end = p;
            break;
        }
    }
    while (end > begin && is_space(end[-1]))
        end--;
    return end;
}

/* True when a continuation piece may start at p. inih would take a piece
 * whose first visible character is ';' or '#' for a comment and drop it. */
static bool may_start_piece(const char *p, const char *end)
{
    while (p < end && is_space(*p))
        p++;
    return p == end || (*p != ';' && *p != '#');
}

/* The last comma in [from, limit) after which a piece may start, or NULL. */
static const char *find_split(const char *from, const char *limit,
                              const char *end)
{
    if (limit > end)
        limit = end;
    for (const char *p = limit; p > from; p--) {
        if (p[-1] == ',' && may_start_piece(p, end))
            return p - 1;
    }
    return NULL;
}

/* True when the key line [begin, end), too long for inih's buffer of size
 * bytes, can be cut into pieces. The first piece ends after a comma in the
 * value and has at most size - 1 characters. Each later piece has at most
 * size - 2, because a leading space is added to it. */
static bool can_split(const char *begin, const char *value, const char *end,
                      size_t size)
{
    const char *comma = find_split(value, begin + size - 1, end);

    while (comma != NULL) {
        const char *rest = comma + 1;
        if ((size_t)(end - rest) <= size - 2)
            return true;
        comma = find_split(rest, rest + size - 2, end);
    }
    return false;
}

/* Returns the next piece of a long key line as a continuation line. */
static char *next_piece(parse_context *ctx, char *buffer, size_t size)
{
    const char *p = ctx->piece;
    const char *end = ctx->line_end;

    ctx->continuation = true;
    if ((size_t)(end - p) <= size - 2) {
        ctx->piece = NULL;
        return hand_over(buffer, true, p, (size_t)(end - p));
    }

    /* can_split found these commas with the same buffer size */
    const char *comma = find_split(p, p + size - 2, end);
    if (comma == NULL) {
        report(ctx, ctx->line, "internal error: inih changed its buffer "
               "size within a line");
        ctx->piece = NULL;
        return hand_over_comment(buffer);
    }
    ctx->piece = comma + 1;
    return hand_over(buffer, true, p, (size_t)(comma + 1 - p));
}

static void enter_section(parse_context *ctx, const char *name, size_t length)
{
    char shown[SHOWN_VALUE_MAX + 16];
    shorten(name, length, shown, sizeof shown);

    for (section_id s = SECTION_EXPERIMENT; s <= SECTION_FIGURES; s++) {
        if (strlen(section_names[s]) == length
            && memcmp(name, section_names[s], length) == 0) {
            ctx->section = s;
            ctx->saw_drift |= s == SECTION_DRIFT;
            ctx->saw_lora |= s == SECTION_LORA;
            return;
        }
    }

    ctx->section = SECTION_SKIPPED;

    for (section_id s = SECTION_EXPERIMENT; s <= SECTION_FIGURES; s++) {
        if (is_close(shown, section_names[s])) {
            report(ctx, ctx->line, "unknown section '%s'; did you mean "
                   "'%s'?", shown, section_names[s]);
            return;
        }
    }
    report(ctx, ctx->line, "unknown section '%s'; the sections are "
           "[experiment], [drift], [lora] and [figures]", shown);
}

static char *read_section_header(parse_context *ctx, char *buffer,
                                 size_t size, const char *begin,
                                 const char *end)
{
    char shown[SHOWN_VALUE_MAX + 16];
    const char *close = memchr(begin, ']', (size_t)(end - begin));

    if (close == NULL) {
        ctx->section = SECTION_SKIPPED;
        report(ctx, ctx->line, "syntax error: section header '%s' has no "
               "closing ']'",
               shorten(begin, (size_t)(end - begin), shown, sizeof shown));
        return hand_over_comment(buffer);
    }
    if (close + 1 < end)
        report(ctx, ctx->line, "syntax error: unexpected text '%s' after "
               "the section header; start a comment with ' ;'",
               shorten(close + 1, (size_t)(end - close - 1), shown,
                       sizeof shown));

    enter_section(ctx, begin + 1, (size_t)(close - begin - 1));
    if ((size_t)(close + 1 - begin) > size - 1)
        return hand_over_comment(buffer);
    return hand_over(buffer, false, begin, (size_t)(close + 1 - begin));
}

static char *read_key_line(parse_context *ctx, char *buffer, size_t size,
                           const char *begin, const char *end)
{
    char shown[SHOWN_VALUE_MAX + 16];
    size_t length = (size_t)(end - begin);
    const char *equals = memchr(begin, '=', length);

    if (equals == NULL) {
        report(ctx, ctx->line, "syntax error: expected 'key = value', "
               "'[section]' or a comment, got '%s'",
               shorten(begin, length, shown, sizeof shown));
        return hand_over_comment(buffer);
    }

    const char *key_end = equals;
    while (key_end > begin && is_space(key_end[-1]))
        key_end--;
    if (key_end == begin) {
        report(ctx, ctx->line, "syntax error: a key name is missing before "
               "'='");
        return hand_over_comment(buffer);
    }

    /* inih splits a key from its value at ':' as well as at '=' */
    if (memchr(begin, ':', (size_t)(key_end - begin)) != NULL) {
        report(ctx, ctx->line, "syntax error: key '%s' contains ':'; write "
               "'key = value'",
               shorten(begin, (size_t)(key_end - begin), shown,
                       sizeof shown));
        return hand_over_comment(buffer);
    }

    if (length <= size - 1)
        return hand_over(buffer, false, begin, length);

    if (!can_split(begin, equals + 1, end, size)) {
        report(ctx, ctx->line, "%s: line is %zu characters long, but inih "
               "reads at most %zu at a time, and a longer value can only be "
               "split after a comma that is at most %zu characters after the "
               "previous one",
               shorten(begin, (size_t)(key_end - begin), shown, sizeof shown),
               length, size - 1, size - 2);
        return hand_over_comment(buffer);
    }

    const char *comma = find_split(equals + 1, begin + size - 1, end);
    ctx->piece = comma + 1;
    ctx->line_end = end;
    return hand_over(buffer, false, begin, (size_t)(comma + 1 - begin));
}

/* The ini_reader given to ini_parse_stream; stream is the parse_context.
 * Returns buffer holding at most size - 1 characters, or NULL at the end
 * of the text. */
static char *read_line(char *buffer, int size, void *stream)
{
    parse_context *ctx = stream;
    const char *begin;
    const char *end;

    ctx->continuation = false;

    /* too small for a continuation piece; inih 55 passes 200 */
    if (size < 4) {
        report(ctx, ctx->line, "internal error: inih passed a line buffer "
               "of %d bytes", size);
        return NULL;
    }

    if (ctx->piece != NULL)
        return next_piece(ctx, buffer, (size_t)size);
    if (ctx->next == NULL)
        return NULL;

    next_physical_line(ctx, &begin, &end);
    if (begin == end)
        return hand_over(buffer, false, "", 0);
    if (*begin == ';' || *begin == '#')
        return hand_over_comment(buffer);

    end = cut_inline_comment(begin, end);
    if (*begin == '[')
        return read_section_header(ctx, buffer, (size_t)size, begin, end);
    return read_key_line(ctx, buffer, (size_t)size, begin, end);
}

/* ======================================================================
 * The handler: raw values per key
 * ====================================================================== */

static void append_value(parse_context *ctx, raw_value *raw, const char *more)
{
    size_t length = strlen(raw->text);
    size_t added = strlen(more);
    char *grown = realloc(raw->text, length + added + 1);

    if (grown == NULL) {
        ctx->out_of_memory = true;
        return;
    }
    memcpy(grown + length, more, added + 1);
    raw->text = grown;
}

static int find_key(section_id section, const char *name)
{
    for (int k = 0; k < KEY_COUNT; k++) {
        if (key_specs[k].section == section
            && strcmp(key_specs[k].name, name) == 0)
            return k;
    }
    return -1;
}

/* The ini_handler given to ini_parse_stream. It takes the section and the
 * line from the reader's state rather than from inih, and always returns
 * 1 (go on), because problems are collected in the context. */
static int store_value(void *user, const char *section, const char *name,
                       const char *value)
{
    parse_context *ctx = user;
    (void)section;

    if (ctx->continuation) {
        if (ctx->last_value != NULL)
            append_value(ctx, ctx->last_value, value);
        return 1;
    }
    ctx->last_value = NULL;

    if (ctx->section == SECTION_NONE) {
        report(ctx, ctx->line, "key '%s' is outside any section; put it "
               "under [experiment], [drift], [lora] or [figures]", name);
        return 1;
    }
    if (ctx->section == SECTION_SKIPPED)
        return 1;

    int key = find_key(ctx->section, name);
    if (key < 0) {
        report_unknown_key(ctx, name);
        return 1;
    }

    raw_value *raw = &ctx->raw[key];
    if (raw->line != 0) {
        report(ctx, ctx->line, "duplicate key '%s' in [%s]; it was first "
               "given on line %d", name, section_names[ctx->section],
               raw->line);
        return 1;
    }

    raw->text = duplicate(ctx, value);
    raw->line = ctx->line;
    if (raw->text != NULL)
        ctx->last_value = raw;
    return 1;
}

static void read_keys(parse_context *ctx)
{
    int status = ini_parse_stream(read_line, ctx, store_value, ctx);

    /* the reader passes inih only lines it accepts, so this is a bug */
    if (status > 0)
        report(ctx, status, "internal error: inih rejected a line that the "
               "reader accepted");
    else if (status < 0)
        report(ctx, 0, "internal error: ini_parse_stream failed with "
               "status %d", status);
}

/* ======================================================================
 * Values of single keys
 * ====================================================================== */

/* Writes "must be ..." for a number range into buffer. */
static const char *describe_range(double min, double max, bool min_exclusive,
                                  bool integer, char *buffer, size_t size)
{
    char low[32], high[32];
    dl_sweep_values_format(min, low, sizeof low);
    dl_sweep_values_format(max, high, sizeof high);

    if (integer)
        snprintf(buffer, size, "must be an integer from %s to %s", low, high);
    else if (isfinite(max))
        snprintf(buffer, size, "must be in [%s, %s]", low, high);
    else
        snprintf(buffer, size, "must be %s %s", min_exclusive ? ">" : ">=",
                 low);
    return buffer;
}

/* Parses the raw value of a key that takes one number. */
static bool parse_one_number(parse_context *ctx, key_id key, unsigned flags,
                             double *value)
{
    dl_sweep_values values;
    dl_error err;

    if (dl_sweep_values_parse(ctx->raw[key].text, flags, &values, &err)
        != 0) {
        report_invalid(ctx, key, "%s", err.message);
        return false;
    }

    size_t count = values.count;
    *value = values.values[0];
    dl_sweep_values_free(&values);
    if (count == 1)
        return true;

    if (key_specs[key].sets_shape)
        report_invalid(ctx, key, "%s sets array shapes, so it takes one "
                       "value; use one config per value",
                       key_specs[key].name);
    else if (key_specs[key].section == SECTION_LORA)
        report_invalid(ctx, key, "%s takes one value; only rank and alpha "
                       "can be swept in [lora]", key_specs[key].name);
    else if (key_specs[key].section == SECTION_FIGURES)
        report_invalid(ctx, key, "%s in [figures] chooses one setting of "
                       "the figures, so it takes one value",
                       key_specs[key].name);
    else
        report_invalid(ctx, key, "%s takes one value; only temperature, "
                       "top_k, top_p, min_p, repetition_penalty, gain, "
                       "gain_out and cluster_spread can be swept",
                       key_specs[key].name);
    return false;
}

static bool parse_int_key(parse_context *ctx, key_id key, dl_config *cfg)
{
    const key_spec *spec = &key_specs[key];
    double value;
    char allowed[96];

    if (!parse_one_number(ctx, key, DL_SWEEP_VALUES_INTEGER, &value))
        return false;
    if (value < spec->min || value > spec->max) {
        report_invalid(ctx, key, "%s",
                       describe_range(spec->min, spec->max, false, true,
                                      allowed, sizeof allowed));
        return false;
    }

    *(int *)((char *)cfg + spec->field) = (int)value;
    return true;
}

static bool parse_megabytes(parse_context *ctx, key_id key, dl_config *cfg)
{
    double value;

    if (!parse_one_number(ctx, key, 0, &value))
        return false;
    if (value <= 0.0) {
        report_invalid(ctx, key, "must be > 0 (megabytes)");
        return false;
    }

    *(double *)((char *)cfg + key_specs[key].field) = value;
    return true;
}

static bool is_name_character(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* Names the character at text for a message: "the space", "'#'", or for a
 * non-ASCII character its whole UTF-8 sequence in quotes. */
static const char *describe_character(const char *text, char *buffer,
                                      size_t size)
{
    unsigned char c = (unsigned char)text[0];
    size_t length = 1;

    if (c == ' ')
        return "the space";
    if (c == '\t')
        return "the tab";
    if (c < 0x20 || c == 0x7F) {
        snprintf(buffer, size, "the control character 0x%02X", c);
        return buffer;
    }

    if ((c & 0xE0) == 0xC0)
        length = 2;
    else if ((c & 0xF0) == 0xE0)
        length = 3;
    else if ((c & 0xF8) == 0xF0)
        length = 4;
    length = strnlen(text, length);
    snprintf(buffer, size, "'%.*s'", (int)length, text);
    return buffer;
}

/* Checks a name: 1 to NAME_MAX_LENGTH characters of [A-Za-z0-9_.-], other
 * than "." and "..", which would name the output folder's own or parent
 * directory. Returns true when it is valid, else false with the reason in
 * reason (when reason is not NULL). */
static bool check_name(const char *name, char *reason, size_t size)
{
    size_t length = strlen(name);

    for (size_t i = 0; i < length; i++) {
        if (is_name_character(name[i]))
            continue;
        if (reason != NULL) {
            /* every character before i is ASCII, so i counts characters */
            char character[32];
            snprintf(reason, size, "%s at character %zu is not allowed; a "
                     "name has 1 to %d characters from " NAME_CHARACTERS,
                     describe_character(name + i, character,
                                        sizeof character),
                     i + 1, NAME_MAX_LENGTH);
        }
        return false;
    }

    if (length > NAME_MAX_LENGTH) {
        if (reason != NULL)
            snprintf(reason, size, "the name has %zu characters; at most %d "
                     "are allowed", length, NAME_MAX_LENGTH);
        return false;
    }
    if (length == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        if (reason != NULL)
            snprintf(reason, size, "must be 1 to %d characters from "
                     NAME_CHARACTERS ", and not '.' or '..'",
                     NAME_MAX_LENGTH);
        return false;
    }
    return true;
}

static bool parse_name(parse_context *ctx, key_id key, dl_config *cfg)
{
    char reason[256];

    if (!check_name(ctx->raw[key].text, reason, sizeof reason)) {
        report_invalid(ctx, key, "%s", reason);
        return false;
    }
    cfg->name = duplicate(ctx, ctx->raw[key].text);
    return cfg->name != NULL;
}

/* strtoull reads the master seed, so it must cover uint64_t exactly */
_Static_assert(ULLONG_MAX == UINT64_MAX, "unsigned long long is not 64-bit");

static bool parse_master_seed(parse_context *ctx, key_id key, dl_config *cfg)
{
    const char *text = ctx->raw[key].text;
    bool digits = text[0] != '\0';

    for (const char *p = text; *p != '\0'; p++)
        digits &= isdigit((unsigned char)*p) != 0;

    errno = 0;
    unsigned long long value = digits ? strtoull(text, NULL, 10) : 0;
    if (!digits || errno == ERANGE) {
        report_invalid(ctx, key, "must be one decimal integer from 0 to "
                       "%llu", (unsigned long long)UINT64_MAX);
        return false;
    }

    cfg->master_seed = (uint64_t)value;
    return true;
}

/* Sets *seeds to 0, 1, ..., count - 1. */
static bool set_seed_count(parse_context *ctx, int64_t **seeds, size_t *n_seeds,
                           size_t count)
{
    int64_t *values = malloc(count * sizeof *values);
    if (values == NULL) {
        ctx->out_of_memory = true;
        return false;
    }
    for (size_t i = 0; i < count; i++)
        values[i] = (int64_t)i;

    free(*seeds);
    *seeds = values;
    *n_seeds = count;
    return true;
}

/* Parses a seeds key into *seeds: a single number is a count, a list or
 * range gives the seed values. */
static bool parse_seed_values(parse_context *ctx, key_id key, int64_t **seeds,
                              size_t *n_seeds)
{
    dl_sweep_values values;
    dl_error err;

    if (dl_sweep_values_parse(ctx->raw[key].text, DL_SWEEP_VALUES_INTEGER,
                              &values, &err) != 0) {
        report_invalid(ctx, key, "%s", err.message);
        return false;
    }

    if (values.form == DL_SWEEP_VALUES_SCALAR) {
        double count = values.values[0];
        dl_sweep_values_free(&values);
        if (count < 1 || count > DL_SWEEP_VALUES_MAX) {
            report_invalid(ctx, key, "a single number is the seed count and "
                           "must be from 1 to %d; give explicit seed values "
                           "as a list or range, e.g. 7..7",
                           DL_SWEEP_VALUES_MAX);
            return false;
        }
        return set_seed_count(ctx, seeds, n_seeds, (size_t)count);
    }

    for (size_t i = 0; i < values.count; i++) {
        if (values.values[i] < 0) {
            char shown[32];
            report_invalid(ctx, key, "seed values must be integers from 0 "
                           "to %.0f, got %s", DL_SWEEP_VALUES_INTEGER_LIMIT,
                           dl_sweep_values_format(values.values[i], shown,
                                                  sizeof shown));
            dl_sweep_values_free(&values);
            return false;
        }
    }

    int64_t *parsed = malloc(values.count * sizeof *parsed);
    if (parsed == NULL) {
        dl_sweep_values_free(&values);
        ctx->out_of_memory = true;
        return false;
    }
    for (size_t i = 0; i < values.count; i++)
        parsed[i] = (int64_t)values.values[i];

    free(*seeds);
    *seeds = parsed;
    *n_seeds = values.count;
    dl_sweep_values_free(&values);
    return true;
}

static bool parse_seeds(parse_context *ctx, key_id key, dl_config *cfg)
{
    return parse_seed_values(ctx, key, &cfg->seeds, &cfg->n_seeds);
}

/* [lora] seeds, when given, replace the [experiment] seeds for the LoRA
 * sweep only, because an adapter fit costs far more than a drift run. */
static bool parse_lora_seeds(parse_context *ctx, key_id key, dl_config *cfg)
{
    return parse_seed_values(ctx, key, &cfg->lora_seeds, &cfg->n_lora_seeds);
}

static bool parse_output(parse_context *ctx, key_id key, dl_config *cfg)
{
    if (ctx->raw[key].text[0] == '\0') {
        report_invalid(ctx, key, "must be a directory path; remove the key "
                       "to use output/NAME");
        return false;
    }
    cfg->output_dir = duplicate(ctx, ctx->raw[key].text);
    return cfg->output_dir != NULL;
}

/* The DL_FORMAT_* bit of the format named by [begin, end), or 0. */
static unsigned format_bit(const char *begin, const char *end)
{
    static const struct {
        const char *name;
        unsigned bit;
    } formats[] = {
        {"svg", DL_FORMAT_SVG},
        {"pdf", DL_FORMAT_PDF},
        {"png", DL_FORMAT_PNG},
    };

    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if ((size_t)(end - begin) == 3 && memcmp(begin, formats[i].name, 3) == 0)
            return formats[i].bit;
    }
    return 0;
}

/* Takes the next item of the comma-separated list at *cursor, without
 * the spaces around it, into [*begin, *end) and moves *cursor past its
 * comma. Returns false when the list is used up. */
static bool list_item_next(const char **cursor, const char **begin, const char **end)
{
    if (*cursor == NULL)
        return false;
    const char *comma = strchr(*cursor, ',');
    *begin = *cursor;
    *end = comma != NULL ? comma : *cursor + strlen(*cursor);
    while (*begin < *end && is_space(**begin))
        (*begin)++;
    while (*end > *begin && is_space((*end)[-1]))
        (*end)--;
    *cursor = comma != NULL ? comma + 1 : NULL;
    return true;
}

static bool parse_formats(parse_context *ctx, key_id key, dl_config *cfg)
{
    const char *item = ctx->raw[key].text;
    unsigned formats = 0;
    char shown[SHOWN_VALUE_MAX + 16];

    const char *begin, *end;
    for (size_t index = 1; list_item_next(&item, &begin, &end); index++) {

        unsigned bit = format_bit(begin, end);
        shorten(begin, (size_t)(end - begin), shown, sizeof shown);
        if (begin == end) {
            report_invalid(ctx, key, "item %zu is empty; list svg, pdf or "
                           "png, separated by commas", index);
            return false;
        }
        if (bit == 0) {
            report_invalid(ctx, key, "'%s' is not a format; use svg, pdf "
                           "and png (lower case), separated by commas",
                           shown);
            return false;
        }
        if (formats & bit) {
            report_invalid(ctx, key, "'%s' is listed twice", shown);
            return false;
        }
        formats |= bit;
    }

    cfg->formats = formats;
    return true;
}

static bool parse_rule(parse_context *ctx, key_id key, dl_config *cfg)
{
    const char *text = ctx->raw[key].text;

    if (strcmp(text, "cluster") == 0)
        cfg->rule = DL_RULE_CLUSTER;
    else if (strcmp(text, "lm") == 0)
        cfg->rule = DL_RULE_LM;
    else {
        report_invalid(ctx, key, "must be 'cluster' or 'lm'");
        return false;
    }
    return true;
}

static bool parse_projection(parse_context *ctx, key_id key, dl_config *cfg)
{
    const char *text = ctx->raw[key].text;

    if (strcmp(text, "identity") == 0)
        cfg->projection = DL_PROJECTION_IDENTITY;
    else if (strcmp(text, "random") == 0)
        cfg->projection = DL_PROJECTION_RANDOM;
    else {
        report_invalid(ctx, key, "must be 'identity' or 'random'");
        return false;
    }
    return true;
}

/* Parses the prompt's token ids. Their upper bound, the vocabulary size,
 * is checked with the other keys in check_prompt. */
static bool parse_prompt(parse_context *ctx, key_id key, dl_config *cfg)
{
    dl_sweep_values values;
    dl_error err;
    unsigned flags = DL_SWEEP_VALUES_INTEGER | DL_SWEEP_VALUES_KEEP_DUPLICATES;

    if (dl_sweep_values_parse(ctx->raw[key].text, flags, &values, &err) != 0) {
        report_invalid(ctx, key, "%s", err.message);
        return false;
    }

    bool ok = true;
    if (values.form != DL_SWEEP_VALUES_SCALAR
        && values.form != DL_SWEEP_VALUES_LIST) {
        report_invalid(ctx, key, "the prompt is a comma list of token ids, "
                       "not a range");
        ok = false;
    } else if (values.count > PROMPT_MAX) {
        report_invalid(ctx, key, "the prompt has %zu tokens; at most %d are "
                       "allowed", values.count, PROMPT_MAX);
        ok = false;
    }
    for (size_t i = 0; ok && i < values.count; i++) {
        if (values.values[i] < 0) {
            report_invalid(ctx, key, "token ids must be integers >= 0, got "
                           "%.0f (token %zu)", values.values[i], i + 1);
            ok = false;
        }
    }

    int *prompt = ok ? malloc(values.count * sizeof *prompt) : NULL;
    if (ok && prompt == NULL) {
        ctx->out_of_memory = true;
        ok = false;
    }
    for (size_t i = 0; ok && i < values.count; i++)
        prompt[i] = values.values[i] > INT_MAX ? INT_MAX
                                               : (int)values.values[i];

    if (ok) {
        cfg->prompt = prompt;
        ctx->prompt_count = values.count;
    }
    dl_sweep_values_free(&values);
    return ok;
}

/* Checks every value of a sweepable key against its range. */
static bool check_sweep_range(parse_context *ctx, key_id key,
                              const dl_sweep_values *values)
{
    const sweep_spec *spec = &sweep_specs[key_specs[key].sweep];
    char allowed[96];

    describe_range(spec->min, spec->max, spec->min_exclusive, spec->integer,
                   allowed, sizeof allowed);
    for (size_t i = 0; i < values->count; i++) {
        double v = values->values[i];
        bool too_low = spec->min_exclusive ? v <= spec->min : v < spec->min;
        if (!too_low && v <= spec->max)
            continue;

        char shown[32];
        if (values->count == 1)
            report_invalid(ctx, key, "%s", allowed);
        else
            report_invalid(ctx, key, "%s, got %s", allowed,
                           dl_sweep_values_format(v, shown, sizeof shown));
        return false;
    }
    return true;
}

static bool parse_sweep_key(parse_context *ctx, key_id key, dl_config *cfg)
{
    int sweep = key_specs[key].sweep;
    unsigned flags = sweep_specs[sweep].integer ? DL_SWEEP_VALUES_INTEGER : 0;
    dl_sweep_values values;
    dl_error err;

    if (dl_sweep_values_parse(ctx->raw[key].text, flags, &values, &err) != 0) {
        report_invalid(ctx, key, "%s", err.message);
        return false;
    }
    if (!check_sweep_range(ctx, key, &values)) {
        dl_sweep_values_free(&values);
        return false;
    }

    dl_value_list *list = &cfg->sweep[sweep];
    free(list->values);
    list->values = values.values;
    list->count = values.count;
    list->line = ctx->raw[key].line;
    return true;
}

/* The figure temperature is checked against the sweep's temperatures in
 * check_figure_temperature, once every key is read. */
static bool parse_figure_temperature(parse_context *ctx, key_id key,
                                     dl_config *cfg)
{
    double value;

    if (!parse_one_number(ctx, key, 0, &value))
        return false;
    cfg->figure_temperature = value;
    return true;
}

/* The figure seed is checked against the kept seeds in check_figure_seed.
 * Values that no seed can have are rejected here. The parser already
 * limits integers to +-2^53, so the value fits int64_t. */
static bool parse_figure_seed(parse_context *ctx, key_id key, dl_config *cfg)
{
    double value;

    if (!parse_one_number(ctx, key, DL_SWEEP_VALUES_INTEGER, &value))
        return false;
    if (value < 0) {
        report_invalid(ctx, key, "must be a seed value, an integer from 0 "
                       "to %.0f", DL_SWEEP_VALUES_INTEGER_LIMIT);
        return false;
    }
    cfg->figure_seed = (int64_t)value;
    return true;
}

static bool parse_png_ppi(parse_context *ctx, key_id key, dl_config *cfg)
{
    double value;
    char allowed[96];

    if (!parse_one_number(ctx, key, 0, &value))
        return false;
    if (value < PNG_PPI_MIN || value > PNG_PPI_MAX) {
        describe_range(PNG_PPI_MIN, PNG_PPI_MAX, false, false, allowed,
                       sizeof allowed);
        report_invalid(ctx, key, "%s (pixels per inch)", allowed);
        return false;
    }
    cfg->png_ppi = value;
    return true;
}

/* Range of a real [lora] key and the field it sets. */
static bool lora_real_field(dl_config *cfg, key_id key, double **field,
                            double *min, bool *min_exclusive, double *max)
{
    *max = INFINITY;
    *min = 0.0;
    *min_exclusive = false;
    switch (key) {
    case KEY_LORA_TASK_SCALE:
        *field = &cfg->lora_task.task_scale;
        return true;
    case KEY_LORA_TASK_DECAY:
        *field = &cfg->lora_task.task_decay;
        *min_exclusive = true;
        *max = 1.0;
        return true;
    case KEY_LORA_TASK_NOISE:
        *field = &cfg->lora_task.task_noise;
        return true;
    case KEY_LORA_LEARNING_RATE:
        *field = &cfg->lora_train.learning_rate;
        *min_exclusive = true;
        return true;
    default:
        return false;
    }
}

static bool parse_lora_real(parse_context *ctx, key_id key, dl_config *cfg)
{
    double *field = NULL, min, max, value;
    bool min_exclusive;

    if (!lora_real_field(cfg, key, &field, &min, &min_exclusive, &max)) {
        report_invalid(ctx, key, "internal error: no field for this key");
        return false;
    }
    if (!parse_one_number(ctx, key, 0, &value))
        return false;

    bool too_low = min_exclusive ? value <= min : value < min;
    if (too_low || value > max || !isfinite(value)) {
        if (key == KEY_LORA_TASK_DECAY)
            report_invalid(ctx, key, "must be in (0, 1], so that the "
                           "singular values of the task do not grow");
        else
            report_invalid(ctx, key, "must be a finite number %s 0",
                           min_exclusive ? ">" : ">=");
        return false;
    }
    *field = value;
    return true;
}

/* Parses scaling: one name or a comma list of distinct names, which makes
 * scaling a sweep axis after rank and alpha. The values are stored as
 * dl_lora_scaling numbers. */
static bool parse_lora_scalings(parse_context *ctx, key_id key, dl_config *cfg)
{
    static const char *const names[] = {"standard", "rslora", "none"};
    const char *item = ctx->raw[key].text;
    double found[3];
    size_t count = 0;
    char shown[SHOWN_VALUE_MAX + 16];

    const char *begin, *end;
    for (size_t index = 1; list_item_next(&item, &begin, &end); index++) {
        shorten(begin, (size_t)(end - begin), shown, sizeof shown);
        if (begin == end) {
            report_invalid(ctx, key, "item %zu is empty; list standard, "
                           "rslora or none, separated by commas", index);
            return false;
        }
        int scaling = -1;
        for (int i = 0; i < 3; i++)
            if (strlen(names[i]) == (size_t)(end - begin)
                && memcmp(begin, names[i], (size_t)(end - begin)) == 0)
                scaling = i;
        if (scaling < 0) {
            report_invalid(ctx, key, "'%s' is not a scaling; use 'standard', "
                           "'rslora' or 'none', or several separated by "
                           "commas", shown);
            return false;
        }
        for (size_t i = 0; i < count; i++)
            if (found[i] == scaling) {
                report_invalid(ctx, key, "'%s' is listed twice", shown);
                return false;
            }
        found[count++] = scaling;
    }

    double *values = malloc(count * sizeof *values);
    if (values == NULL) {
        ctx->out_of_memory = true;
        return false;
    }
    memcpy(values, found, count * sizeof *values);
    free(cfg->lora_scaling.values);
    cfg->lora_scaling.values = values;
    cfg->lora_scaling.count = count;
    cfg->lora_scaling.line = ctx->raw[key].line;
    cfg->lora_adapter.scaling = (dl_lora_scaling)found[0];
    return true;
}

static bool parse_lora_name(parse_context *ctx, key_id key, dl_config *cfg)
{
    const char *text = ctx->raw[key].text;

    if (key == KEY_LORA_SCALING)
        return parse_lora_scalings(ctx, key, cfg);
    if (key == KEY_LORA_INIT) {
        if (strcmp(text, "kaiming") == 0)
            cfg->lora_adapter.init = DL_LORA_INIT_KAIMING;
        else if (strcmp(text, "gaussian") == 0)
            cfg->lora_adapter.init = DL_LORA_INIT_GAUSSIAN;
        else if (strcmp(text, "svd") == 0)
            cfg->lora_adapter.init = DL_LORA_INIT_SVD;
        else {
            report_invalid(ctx, key, "must be 'kaiming', 'gaussian' or 'svd'");
            return false;
        }
        return true;
    }
    if (strcmp(text, "adam") == 0)
        cfg->lora_train.optimizer = DL_LORA_OPTIMIZER_ADAM;
    else if (strcmp(text, "sgd") == 0)
        cfg->lora_train.optimizer = DL_LORA_OPTIMIZER_SGD;
    else {
        report_invalid(ctx, key, "must be 'adam' or 'sgd'");
        return false;
    }
    return true;
}

/* Parses rank (integers >= 1) or alpha (>= 0). The upper bound of rank,
 * min(D, N), is checked in check_lora_ranks. */
static bool parse_lora_axis(parse_context *ctx, key_id key, dl_config *cfg)
{
    bool is_rank = key == KEY_LORA_RANK;
    dl_sweep_values values;
    dl_error err;

    if (dl_sweep_values_parse(ctx->raw[key].text,
                              is_rank ? DL_SWEEP_VALUES_INTEGER : 0, &values,
                              &err) != 0) {
        report_invalid(ctx, key, "%s", err.message);
        return false;
    }
    if (values.count > DL_LORA_AXIS_VALUES_MAX) {
        report_invalid(ctx, key, "has %zu values, more than %d: the rank x alpha "
                       "map draws one cell per value", values.count,
                       DL_LORA_AXIS_VALUES_MAX);
        dl_sweep_values_free(&values);
        return false;
    }
    for (size_t i = 0; i < values.count; i++) {
        double v = values.values[i];
        char shown[32];
        dl_sweep_values_format(v, shown, sizeof shown);
        if (is_rank && v < 1) {
            report_invalid(ctx, key, "every rank must be at least 1, got %s, "
                           "because B is D x r and A is r x N; set alpha = 0 "
                           "to reproduce the base model", shown);
            dl_sweep_values_free(&values);
            return false;
        }
        if (!is_rank && !(v >= 0.0 && v <= DL_LORA_ALPHA_MAX)) {
            report_invalid(ctx, key, "every alpha must be from 0 to %g, got "
                           "%s; larger alphas overflow Adam's squared "
                           "gradients", DL_LORA_ALPHA_MAX, shown);
            dl_sweep_values_free(&values);
            return false;
        }
    }

    dl_value_list *list = is_rank ? &cfg->lora_rank : &cfg->lora_alpha;
    free(list->values);
    list->values = values.values;
    list->count = values.count;
    list->line = ctx->raw[key].line;
    return true;
}

/* ======================================================================
 * Defaults and checks across keys
 * ====================================================================== */

static void set_defaults(parse_context *ctx, dl_config *cfg)
{
    cfg->master_seed = 0;
    cfg->threads = 0;
    cfg->formats = DL_FORMAT_SVG | DL_FORMAT_PDF | DL_FORMAT_PNG;
    cfg->max_memory_mb = 4096;
    cfg->max_output_mb = 4096;

    cfg->rule = DL_RULE_CLUSTER;
    cfg->projection = DL_PROJECTION_IDENTITY;
    cfg->clusters = 4;
    cfg->tokens_per_cluster = 8;
    cfg->d_model = 32;
    cfg->d_head = 32;
    cfg->prompt_length = 8;
    cfg->steps = 48;
    cfg->keep_attention = 2;
    set_seed_count(ctx, &cfg->seeds, &cfg->n_seeds, 8);

    /* figure_temperature and figure_seed get their defaults from the
     * sweep in check_figure_temperature and check_figure_seed */
    cfg->figure_temperature = NAN;
    cfg->figure_seed = 0;
    cfg->png_ppi = PNG_PPI_DEFAULT;
    cfg->strip_steps = STRIP_STEPS_DEFAULT;

    cfg->lora_task = dl_lora_task_params_default();
    cfg->lora_adapter = dl_lora_adapter_params_default();
    cfg->lora_train = dl_lora_train_params_default();
    const double lora_defaults[3] = {cfg->lora_adapter.rank,
                                     cfg->lora_adapter.alpha,
                                     cfg->lora_adapter.scaling};
    dl_value_list *lora_lists[3] = {&cfg->lora_rank, &cfg->lora_alpha,
                                    &cfg->lora_scaling};
    for (int i = 0; i < 3; i++) {
        lora_lists[i]->values = malloc(sizeof *lora_lists[i]->values);
        if (lora_lists[i]->values == NULL) {
            ctx->out_of_memory = true;
            continue;
        }
        lora_lists[i]->values[0] = lora_defaults[i];
        lora_lists[i]->count = 1;
        lora_lists[i]->line = 0;
    }

    for (int k = 0; k < DL_SWEEP_COUNT; k++) {
        dl_value_list *list = &cfg->sweep[k];
        list->values = malloc(sizeof *list->values);
        if (list->values == NULL) {
            ctx->out_of_memory = true;
            continue;
        }
        list->values[0] = sweep_specs[k].default_value;
        list->count = 1;
        list->line = 0;
    }
}

/* Sets the default name: the file name without its folder and ".ini".
 * Characters a name may not contain become '_', so that any file name
 * works; a name that would still be invalid becomes "config". */
static void set_default_name(parse_context *ctx, dl_config *cfg)
{
    const char *base = strrchr(ctx->file, '/');
    base = base != NULL ? base + 1 : ctx->file;

    size_t length = strlen(base);
    if (length >= 4 && strcmp(base + length - 4, ".ini") == 0)
        length -= 4;
    if (length > NAME_MAX_LENGTH)
        length = NAME_MAX_LENGTH;

    char name[NAME_MAX_LENGTH + 1];
    for (size_t i = 0; i < length; i++)
        name[i] = is_name_character(base[i]) ? base[i] : '_';
    name[length] = '\0';

    cfg->name = duplicate(ctx, check_name(name, NULL, 0) ? name : "config");
}

/* Writes what key takes, for the message about an empty value, into
 * buffer. Returns NULL for keys whose parser has its own message. */
static const char *describe_expected_value(key_id key, char *buffer,
                                           size_t size)
{
    const key_spec *spec = &key_specs[key];

    if (spec->parse == parse_int_key) {
        snprintf(buffer, size, "give one integer from %d to %d", spec->min,
                 spec->max);
        return buffer;
    }
    if (spec->parse == parse_png_ppi) {
        snprintf(buffer, size, "give one number from %g to %g", PNG_PPI_MIN,
                 PNG_PPI_MAX);
        return buffer;
    }
    if (spec->parse == parse_megabytes)
        return "give one number of megabytes > 0";
    if (spec->parse == parse_seeds || spec->parse == parse_lora_seeds)
        return "give a seed count, or the seed values as a list or range";
    if (spec->parse == parse_prompt)
        return "give the prompt's token ids as a comma list";
    if (spec->parse == parse_sweep_key)
        return "give a number, a comma list or a range";
    if (spec->parse == parse_lora_axis)
        return "give a number, a comma list or a range";
    if (spec->parse == parse_lora_real)
        return "give one number";
    if (spec->parse == parse_lora_name)
        return "give one name";
    if (spec->parse == parse_figure_temperature)
        return "give one of the temperatures of the sweep";
    if (spec->parse == parse_figure_seed)
        return "give one of the kept seeds";
    return NULL;
}

static bool is_blank_text(const char *text)
{
    while (is_space(*text))
        text++;
    return *text == '\0';
}

/* True when text starts and ends with the same quote character. */
static bool is_quoted(const char *text)
{
    size_t length = strlen(text);
    return length >= 2 && (text[0] == '"' || text[0] == '\'')
        && text[length - 1] == text[0];
}

/* Rejects a quoted value, suggesting it without its quote characters. */
static void report_quoted(parse_context *ctx, key_id key)
{
    const char *text = ctx->raw[key].text;
    char quote = text[0];
    size_t length = strlen(text);
    char *unquoted = malloc(length + 1);
    if (unquoted == NULL) {
        ctx->out_of_memory = true;
        ctx->valid[key] = false;
        return;
    }

    size_t used = 0;
    for (size_t i = 0; i < length; i++)
        if (text[i] != quote)
            unquoted[used++] = text[i];
    unquoted[used] = '\0';

    char shown[SHOWN_VALUE_MAX + 16];
    shorten(unquoted, used, shown, sizeof shown);
    if (used == 0)
        report_invalid(ctx, key, "values are not quoted; remove the quotes");
    else
        report_invalid(ctx, key, "values are not quoted; write %s = %s",
                       key_specs[key].name, shown);
    free(unquoted);
}

static void parse_present_keys(parse_context *ctx, dl_config *cfg)
{
    for (int k = 0; k < KEY_COUNT; k++) {
        const char *text = ctx->raw[k].text;
        char expected[96];

        ctx->valid[k] = true;
        if (ctx->raw[k].line == 0)
            continue;
        if (text == NULL) {
            /* the handler ran out of memory and has reported it */
            ctx->valid[k] = false;
            continue;
        }

        if (is_quoted(text)) {
            report_quoted(ctx, (key_id)k);
            continue;
        }
        const char *hint = describe_expected_value((key_id)k, expected,
                                                   sizeof expected);
        if (hint != NULL && is_blank_text(text)) {
            report_invalid(ctx, (key_id)k, "the value is empty: %s", hint);
            continue;
        }
        ctx->valid[k] = key_specs[k].parse(ctx, (key_id)k, cfg);
    }
}

static bool both_valid(const parse_context *ctx, key_id a, key_id b)
{
    return ctx->valid[a] && ctx->valid[b];
}

/* The later of two keys in the file, for a message about both. */
static key_id later_key(const parse_context *ctx, key_id a, key_id b)
{
    return ctx->raw[b].line > ctx->raw[a].line ? b : a;
}

/* One factor of the number of runs: the seeds or a sweep axis. */
typedef struct {
    key_id key;
    size_t count;
    int line;  /* 0 for the default seeds */
} run_factor;

/* Writes "2 seeds x 65536 temperature values x ..." for factors[0..n). */
static void describe_run_factors(const run_factor *factors, size_t n,
                                 char *buffer, size_t size)
{
    size_t used = 0;
    buffer[0] = '\0';

    for (size_t i = 0; i < n && used < size; i++) {
        const char *separator = i > 0 ? " x " : "";
        int written;
        if (factors[i].key == KEY_SEEDS)
            written = snprintf(buffer + used, size - used, "%s%zu %sseeds",
                               separator, factors[i].count,
                               factors[i].line == 0 ? "default " : "");
        else
            written = snprintf(buffer + used, size - used, "%s%zu %s values",
                               separator, factors[i].count,
                               key_specs[factors[i].key].name);
        if (written < 0)
            break;
        used += (size_t)written;
    }
}

/* Checks that the sweep has at most DL_CONFIG_RUNS_MAX runs. The factors
 * are multiplied in file order, so the message names the key that pushes
 * the count over the limit. An invalid key counts as one value, so the
 * count checked is a lower bound of the intended one. */
static void check_run_count(parse_context *ctx, const dl_config *cfg)
{
    run_factor factors[DL_SWEEP_COUNT + 1];
    size_t n = 0;

    if (ctx->valid[KEY_SEEDS] && cfg->n_seeds > 1)
        factors[n++] = (run_factor){KEY_SEEDS, cfg->n_seeds,
                                    ctx->raw[KEY_SEEDS].line};
    for (int k = 0; k < KEY_COUNT; k++) {
        int sweep = key_specs[k].sweep;
        if (sweep < 0 || !ctx->valid[k] || cfg->sweep[sweep].count < 2)
            continue;

        /* insertion by line; the default seeds, on line 0, stay first */
        size_t at = n++;
        run_factor factor = {(key_id)k, cfg->sweep[sweep].count,
                             ctx->raw[k].line};
        while (at > 0 && factors[at - 1].line > factor.line) {
            factors[at] = factors[at - 1];
            at--;
        }
        factors[at] = factor;
    }

    uint64_t runs = 1;
    for (size_t i = 0; i < n; i++) {
        /* runs * count > max exactly when count > max / runs, and this
         * test cannot overflow */
        uint64_t count = factors[i].count;
        if (count <= DL_CONFIG_RUNS_MAX / runs) {
            runs *= count;
            continue;
        }

        /* runs <= 1e9 and count <= DL_SWEEP_VALUES_MAX, so the product
         * fits uint64_t */
        char described[512];
        describe_run_factors(factors, i + 1, described, sizeof described);
        report_invalid(ctx, factors[i].key, "the sweep has more than %d runs "
                       "(%s = %llu up to this key); use fewer values or "
                       "split the sweep into several configs",
                       DL_CONFIG_RUNS_MAX, described,
                       (unsigned long long)(runs * count));
        return;
    }
}

/* Checks task_rank and every rank against min(D, N), which bounds the
 * rank of a D x N matrix. */
static void check_lora_ranks(parse_context *ctx, dl_config *cfg)
{
    if (!both_valid(ctx, KEY_LORA_D, KEY_LORA_N))
        return;
    int input_dim = cfg->lora_task.input_dim;
    int output_dim = cfg->lora_task.output_dim;
    int smaller = input_dim < output_dim ? input_dim : output_dim;

    if (ctx->valid[KEY_LORA_TASK_RANK] && cfg->lora_task.task_rank > smaller)
        report_invalid(ctx, KEY_LORA_TASK_RANK, "must be at most min(D, N) "
                       "= %d, because the task's update is D x N = %d x %d",
                       smaller, input_dim, output_dim);
    if (!ctx->valid[KEY_LORA_RANK] || cfg->lora_rank.values == NULL)
        return;
    for (size_t i = 0; i < cfg->lora_rank.count; i++) {
        double rank = cfg->lora_rank.values[i];
        if (rank <= smaller)
            continue;
        char shown[32];
        dl_sweep_values_format(rank, shown, sizeof shown);
        report_invalid(ctx, KEY_LORA_RANK, "every rank must be at most min(D, "
                       "N) = %d, got %s, because B A is D x N = %d x %d and "
                       "cannot have a higher rank", smaller, shown, input_dim,
                       output_dim);
        return;
    }
}

/* The svd start divides the singular values of W by the scale, so every
 * alpha must be above 0 with init = svd. */
static void check_lora_svd_alpha(parse_context *ctx, dl_config *cfg)
{
    if (!both_valid(ctx, KEY_LORA_ALPHA, KEY_LORA_INIT)
        || cfg->lora_adapter.init != DL_LORA_INIT_SVD)
        return;
    for (size_t i = 0; i < cfg->lora_alpha.count; i++)
        if (cfg->lora_alpha.values[i] == 0) {
            report_invalid(ctx, KEY_LORA_ALPHA, "alpha 0 is not allowed with "
                           "init = svd, because the svd start divides the "
                           "singular values of W by the scale; use alphas "
                           "> 0 or init = kaiming");
            return;
        }
}

static void check_lora_batch_size(parse_context *ctx, dl_config *cfg)
{
    if (!both_valid(ctx, KEY_LORA_BATCH_SIZE, KEY_LORA_N_TRAIN))
        return;
    if (cfg->lora_train.batch_size > cfg->lora_task.n_train)
        report_invalid(ctx, KEY_LORA_BATCH_SIZE, "must be at most n_train = "
                       "%d, or 0 for full batch", cfg->lora_task.n_train);
}

/* Gives the LoRA sweep the [experiment] seeds when [lora] has no seeds
 * key of its own. */
static void resolve_lora_seeds(parse_context *ctx, dl_config *cfg)
{
    if (cfg->lora_seeds != NULL || cfg->n_seeds == 0)
        return;
    cfg->lora_seeds = malloc(cfg->n_seeds * sizeof *cfg->lora_seeds);
    if (cfg->lora_seeds == NULL) {
        ctx->out_of_memory = true;
        return;
    }
    memcpy(cfg->lora_seeds, cfg->seeds, cfg->n_seeds * sizeof *cfg->seeds);
    cfg->n_lora_seeds = cfg->n_seeds;
}

/* Checks that the LoRA sweep has at most DL_CONFIG_RUNS_MAX runs. */
static void check_lora_run_count(parse_context *ctx, dl_config *cfg)
{
    if (!ctx->valid[KEY_LORA_RANK] || !ctx->valid[KEY_LORA_ALPHA]
        || !ctx->valid[KEY_SEEDS] || !ctx->valid[KEY_LORA_SEEDS])
        return;
    uint64_t runs = (uint64_t)cfg->lora_rank.count * cfg->lora_alpha.count
                    * cfg->lora_scaling.count;
    if (runs > DL_CONFIG_RUNS_MAX / (cfg->n_lora_seeds > 0 ? cfg->n_lora_seeds : 1))
        report_invalid(ctx, KEY_LORA_ALPHA, "the [lora] sweep has more than "
                       "%d runs (%zu ranks x %zu alphas x %zu scalings x %zu "
                       "seeds); use fewer values", DL_CONFIG_RUNS_MAX,
                       cfg->lora_rank.count, cfg->lora_alpha.count,
                       cfg->lora_scaling.count, cfg->n_lora_seeds);
}

static void check_vocabulary(parse_context *ctx, dl_config *cfg)
{
    if (!both_valid(ctx, KEY_CLUSTERS, KEY_TOKENS_PER_CLUSTER))
        return;

    long vocabulary = (long)cfg->clusters * cfg->tokens_per_cluster;
    if (vocabulary <= VOCABULARY_MAX)
        return;

    key_id key = later_key(ctx, KEY_CLUSTERS, KEY_TOKENS_PER_CLUSTER);
    report_invalid(ctx, key, "the vocabulary clusters * tokens_per_cluster = "
                   "%d * %d = %ld exceeds the maximum of %d tokens",
                   cfg->clusters, cfg->tokens_per_cluster, vocabulary,
                   VOCABULARY_MAX);
}

static void check_d_head(parse_context *ctx, dl_config *cfg)
{
    if (!both_valid(ctx, KEY_D_MODEL, KEY_PROJECTION))
        return;
    if (ctx->raw[KEY_D_HEAD].line == 0) {
        cfg->d_head = cfg->d_model;
        return;
    }

    if (ctx->valid[KEY_D_HEAD] && cfg->projection == DL_PROJECTION_IDENTITY
        && cfg->d_head != cfg->d_model)
        report_invalid(ctx, KEY_D_HEAD, "projection = identity compares "
                       "embeddings directly, so d_head must equal d_model "
                       "(%d); remove d_head or set projection = random",
                       cfg->d_model);
}

static void check_prompt(parse_context *ctx, dl_config *cfg)
{
    if (ctx->raw[KEY_PROMPT].line == 0 || !ctx->valid[KEY_PROMPT])
        return;

    if (both_valid(ctx, KEY_CLUSTERS, KEY_TOKENS_PER_CLUSTER)) {
        int vocabulary = cfg->clusters * cfg->tokens_per_cluster;
        for (size_t i = 0; i < ctx->prompt_count; i++) {
            if (cfg->prompt[i] < vocabulary)
                continue;
            report_invalid(ctx, KEY_PROMPT, "token ids must be in [0, %d) "
                           "because clusters * tokens_per_cluster = %d, got "
                           "%d (token %zu)", vocabulary, vocabulary,
                           cfg->prompt[i], i + 1);
            break;
        }
    }

    if (ctx->raw[KEY_PROMPT_LENGTH].line == 0) {
        cfg->prompt_length = (int)ctx->prompt_count;
        return;
    }
    if (ctx->valid[KEY_PROMPT_LENGTH]
        && (size_t)cfg->prompt_length != ctx->prompt_count)
        report_invalid(ctx, KEY_PROMPT_LENGTH, "the prompt on line %d has "
                       "%zu tokens; remove prompt_length or set it to %zu",
                       ctx->raw[KEY_PROMPT].line, ctx->prompt_count,
                       ctx->prompt_count);
}

/* keep_attention defaults to 2, or to the number of seeds when fewer. */
static void check_keep_attention(parse_context *ctx, dl_config *cfg)
{
    if (!ctx->valid[KEY_SEEDS])
        return;
    if (ctx->raw[KEY_KEEP_ATTENTION].line == 0) {
        if ((size_t)cfg->keep_attention > cfg->n_seeds)
            cfg->keep_attention = (int)cfg->n_seeds;
        return;
    }

    if (ctx->valid[KEY_KEEP_ATTENTION]
        && (size_t)cfg->keep_attention > cfg->n_seeds)
        report_invalid(ctx, KEY_KEEP_ATTENTION, "must be at most the number "
                       "of seeds (%zu)", cfg->n_seeds);
}

/* Writes "v1, v2, ..., vn" into buffer, shortened to the first values,
 * "..." and the last value when there are more than SHOWN_VALUES_MAX. */
static const char *format_values(const double *values, size_t count,
                                 char *buffer, size_t size)
{
    size_t used = 0;
    buffer[0] = '\0';

    for (size_t i = 0; i < count && used < size; i++) {
        if (count > SHOWN_VALUES_MAX && i == SHOWN_VALUES_MAX - 2) {
            used += (size_t)snprintf(buffer + used, size - used, ", ...");
            i = count - 1;
        }
        char shown[32];
        dl_sweep_values_format(values[i], shown, sizeof shown);
        int n = snprintf(buffer + used, size - used, "%s%s",
                         used > 0 ? ", " : "", shown);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buffer;
}

/* Index of the value in values[count] that value selects: an equal one,
 * or else one within FIGURE_TEMPERATURE_TOLERANCE relative. Returns count
 * when none does. */
static size_t find_close_value(const double *values, size_t count,
                               double value)
{
    for (size_t i = 0; i < count; i++)
        if (values[i] == value)
            return i;
    for (size_t i = 0; i < count; i++) {
        double scale = fmax(fabs(values[i]), fabs(value));
        if (fabs(values[i] - value) <= FIGURE_TEMPERATURE_TOLERANCE * scale)
            return i;
    }
    return count;
}

/* The figure temperature defaults to the lowest temperature of the sweep,
 * and a given one must be a temperature of the sweep. It is then set to
 * that sweep value exactly, so a reader can find it by equality. */
/* Rejects the [figures] keys that choose a drift run when the config has
 * no [drift] section, because there is no temperature, kept seed or step
 * to choose from. */
static void check_drift_figure_keys_absent(parse_context *ctx)
{
    static const key_id keys[] = {KEY_FIGURE_TEMPERATURE, KEY_FIGURE_SEED,
                                  KEY_STRIP_STEPS};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (ctx->raw[keys[i]].line != 0)
            report_invalid(ctx, keys[i], "applies to the drift figures only, "
                           "and the config has no [drift] section; remove it "
                           "or add [drift]");
}

static void check_figure_temperature(parse_context *ctx, dl_config *cfg)
{
    const dl_value_list *list = &cfg->sweep[DL_SWEEP_TEMPERATURE];
    if (!ctx->valid[KEY_TEMPERATURE] || list->values == NULL)
        return;

    if (ctx->raw[KEY_FIGURE_TEMPERATURE].line == 0) {
        double lowest = list->values[0];
        for (size_t i = 1; i < list->count; i++)
            lowest = fmin(lowest, list->values[i]);
        cfg->figure_temperature = lowest;
        return;
    }
    if (!ctx->valid[KEY_FIGURE_TEMPERATURE])
        return;

    size_t index = find_close_value(list->values, list->count,
                                    cfg->figure_temperature);
    if (index < list->count) {
        cfg->figure_temperature = list->values[index];
        return;
    }

    char allowed[256];
    format_values(list->values, list->count, allowed, sizeof allowed);
    if (list->count == 1)
        report_invalid(ctx, KEY_FIGURE_TEMPERATURE, "must be the "
                       "temperature of the sweep, %s", allowed);
    else
        report_invalid(ctx, KEY_FIGURE_TEMPERATURE, "must be one of the "
                       "temperatures of the sweep: %s", allowed);
}

/* The figure seed defaults to the first seed, and a given one must be a
 * kept seed, one of the first keep_attention seeds, because the
 * single-run figures draw its stored attention rows. */
static void check_figure_seed(parse_context *ctx, dl_config *cfg)
{
    if (!ctx->valid[KEY_SEEDS] || !ctx->valid[KEY_KEEP_ATTENTION])
        return;
    if (ctx->raw[KEY_FIGURE_SEED].line == 0) {
        cfg->figure_seed = cfg->seeds[0];
        return;
    }
    if (!ctx->valid[KEY_FIGURE_SEED])
        return;

    size_t kept_count = (size_t)cfg->keep_attention;
    if (kept_count == 0) {
        report_invalid(ctx, KEY_FIGURE_SEED, "the single-run figures need "
                       "keep_attention >= 1, because they draw the stored "
                       "attention rows; set keep_attention in [drift] or "
                       "remove seed from [figures]");
        return;
    }
    for (size_t i = 0; i < kept_count; i++)
        if (cfg->seeds[i] == cfg->figure_seed)
            return;

    double *values = malloc(kept_count * sizeof *values);
    if (values == NULL) {
        ctx->out_of_memory = true;
        return;
    }
    for (size_t i = 0; i < kept_count; i++)
        values[i] = (double)cfg->seeds[i];
    char allowed[256];
    format_values(values, kept_count, allowed, sizeof allowed);
    free(values);

    if (kept_count == 1)
        report_invalid(ctx, KEY_FIGURE_SEED, "must be the kept seed %s, the "
                       "only seed whose attention rows are stored "
                       "(keep_attention = 1)", allowed);
    else
        report_invalid(ctx, KEY_FIGURE_SEED, "must be one of the kept seeds, "
                       "whose attention rows are stored (the first "
                       "keep_attention = %d): %s", cfg->keep_attention,
                       allowed);
}

/* strip_steps defaults to STRIP_STEPS_DEFAULT, or to steps when fewer. */
static void check_strip_steps(parse_context *ctx, dl_config *cfg)
{
    if (!ctx->valid[KEY_STEPS])
        return;
    if (ctx->raw[KEY_STRIP_STEPS].line == 0) {
        if (cfg->strip_steps > cfg->steps)
            cfg->strip_steps = cfg->steps;
        return;
    }

    if (ctx->valid[KEY_STRIP_STEPS] && cfg->strip_steps > cfg->steps)
        report_invalid(ctx, KEY_STRIP_STEPS, "must be at most steps (%d), "
                       "because each small multiple shows a different step",
                       cfg->steps);
}

static int compare_axis_lines(const void *a, const void *b, const dl_config *cfg)
{
    int x = cfg->sweep[*(const dl_sweep_key *)a].line;
    int y = cfg->sweep[*(const dl_sweep_key *)b].line;
    return (x > y) - (x < y);
}

/* Lists the keys with more than one value in cfg->axes, in file order.
 * An insertion sort, because there are at most DL_SWEEP_COUNT axes. */
static void collect_axes(dl_config *cfg)
{
    cfg->n_axes = 0;
    for (int k = 0; k < DL_SWEEP_COUNT; k++) {
        if (cfg->sweep[k].count < 2)
            continue;

        size_t at = cfg->n_axes++;
        cfg->axes[at] = (dl_sweep_key)k;
        while (at > 0
               && compare_axis_lines(&cfg->axes[at - 1], &cfg->axes[at],
                                     cfg) > 0) {
            dl_sweep_key swap = cfg->axes[at - 1];
            cfg->axes[at - 1] = cfg->axes[at];
            cfg->axes[at] = swap;
            at--;
        }
    }
}

/* ======================================================================
 * Encoding
 * ====================================================================== */

/* Reports the first byte of every line that is not valid UTF-8, with its
 * line and its byte offset in the line. Returns true when there is none. */
static bool check_utf8(parse_context *ctx, const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    const unsigned char *end = p + length;
    const unsigned char *line_start = p;
    int line = 1;
    bool valid = true;

    while (p < end) {
        if (*p == '\n') {
            p++;
            line++;
            line_start = p;
            continue;
        }

        size_t sequence = dl_utf8_sequence_length(p, end);
        if (sequence > 0) {
            p += sequence;
            continue;
        }

        report(ctx, line, "byte %zu of the line (0x%02X) is not valid UTF-8; "
               "save the file as UTF-8", (size_t)(p - line_start) + 1, *p);
        valid = false;
        const unsigned char *newline = memchr(p, '\n', (size_t)(end - p));
        p = newline != NULL ? newline : end;
    }
    return valid;
}

/* ======================================================================
 * Public functions
 * ====================================================================== */

/* Parses text, which cfg takes over whatever the outcome. */
static int parse_owned_text(char *text, size_t length,
                            const char *display_name, dl_config *cfg,
                            FILE *diag)
{
    parse_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.file = display_name;
    ctx.next = text[0] != '\0' ? text : NULL;

    memset(cfg, 0, sizeof *cfg);
    cfg->text = text;
    cfg->text_length = length;
    cfg->path = duplicate(&ctx, display_name);

    /* The keys of a file that is too large or not valid UTF-8 are not
     * read, so that no message quotes an invalid byte. */
    if (length > DL_CONFIG_FILE_MAX_BYTES) {
        report(&ctx, 0, "is larger than %u MiB; a config is a short text "
               "file", DL_CONFIG_FILE_MAX_BYTES / (1024u * 1024u));
        flush_diagnostics(&ctx, diag);
        dl_config_free(cfg);
        return -1;
    }
    if (!check_utf8(&ctx, text, length)) {
        flush_diagnostics(&ctx, diag);
        dl_config_free(cfg);
        return -1;
    }

    read_keys(&ctx);
    set_defaults(&ctx, cfg);
    parse_present_keys(&ctx, cfg);

    check_run_count(&ctx, cfg);
    check_vocabulary(&ctx, cfg);
    check_d_head(&ctx, cfg);
    check_prompt(&ctx, cfg);
    check_keep_attention(&ctx, cfg);
    if (ctx.saw_drift) {
        check_figure_temperature(&ctx, cfg);
        check_figure_seed(&ctx, cfg);
        check_strip_steps(&ctx, cfg);
    } else {
        check_drift_figure_keys_absent(&ctx);
    }
    if (ctx.saw_lora) {
        resolve_lora_seeds(&ctx, cfg);
        check_lora_ranks(&ctx, cfg);
        check_lora_batch_size(&ctx, cfg);
        check_lora_svd_alpha(&ctx, cfg);
        check_lora_run_count(&ctx, cfg);
    }
    if (!ctx.saw_drift && !ctx.saw_lora)
        report(&ctx, 0, "no [drift] or [lora] section: nothing to simulate");
    cfg->has_drift = ctx.saw_drift;
    cfg->has_lora = ctx.saw_lora;

    if (ctx.raw[KEY_NAME].line == 0)
        set_default_name(&ctx, cfg);
    collect_axes(cfg);

    for (int k = 0; k < KEY_COUNT; k++)
        free(ctx.raw[k].text);

    int status = flush_diagnostics(&ctx, diag);
    if (status != 0)
        dl_config_free(cfg);
    return status;
}

int dl_config_parse(const char *text, const char *display_name,
                    dl_config *cfg, FILE *diag)
{
    size_t length = strlen(text);
    char *copy = malloc(length + 1);

    memset(cfg, 0, sizeof *cfg);
    if (copy == NULL) {
        if (diag != NULL)
            fprintf(diag, "%s: out of memory while reading the config\n",
                    display_name);
        return -1;
    }
    memcpy(copy, text, length + 1);
    return parse_owned_text(copy, length, display_name, cfg, diag);
}

/* Outcome of reading a config file. */
typedef enum {
    READ_DONE = 0,
    READ_FAILED,     /* errno is set */
    READ_TOO_LARGE,  /* more than DL_CONFIG_FILE_MAX_BYTES */
    READ_NUL         /* a NUL byte, at nul_line and nul_byte */
} read_status;

typedef struct {
    char *text;       /* NUL-terminated, when READ_DONE */
    size_t length;
    int nul_line;     /* 1-based */
    size_t nul_byte;  /* 1-based offset in the line */
} read_result;

/* Finds a NUL byte in the bytes [from, to) of text, counting lines with
 * *line and *line_start (the offset where the current line starts).
 * Returns true and fills result when there is one. */
static bool find_nul(const char *text, size_t from, size_t to, int *line,
                     size_t *line_start, read_result *result)
{
    for (size_t i = from; i < to; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *line_start = i + 1;
        } else if (text[i] == '\0') {
            result->nul_line = *line;
            result->nul_byte = i - *line_start + 1;
            return true;
        }
    }
    return false;
}

/* Reads the stream into result->text. Reading stops at the first NUL byte
 * and after DL_CONFIG_FILE_MAX_BYTES + 1 bytes, so a stream without end
 * such as /dev/zero is not read into memory. */
static read_status read_config_stream(FILE *file, read_result *result)
{
    /* room for one byte past the limit, to tell a file of exactly the
     * limit from a larger one, and for the terminating NUL */
    const size_t capacity_max = (size_t)DL_CONFIG_FILE_MAX_BYTES + 2;
    size_t capacity = READ_BLOCK_BYTES;
    size_t used = 0;
    size_t line_start = 0;
    int line = 1;
    char *text = malloc(capacity);

    memset(result, 0, sizeof *result);
    for (;;) {
        if (text == NULL) {
            errno = ENOMEM;
            return READ_FAILED;
        }

        size_t got = fread(text + used, 1, capacity - 1 - used, file);
        if (find_nul(text, used, used + got, &line, &line_start, result)) {
            free(text);
            return READ_NUL;
        }
        used += got;
        if (used > DL_CONFIG_FILE_MAX_BYTES) {
            free(text);
            return READ_TOO_LARGE;
        }
        if (ferror(file)) {
            int saved = errno;
            free(text);
            errno = saved;
            return READ_FAILED;
        }
        if (feof(file))
            break;

        if (used == capacity - 1) {
            capacity = capacity > capacity_max / 2 ? capacity_max
                                                   : 2 * capacity;
            char *grown = realloc(text, capacity);
            if (grown == NULL)
                free(text);
            text = grown;
        }
    }

    text[used] = '\0';
    result->text = text;
    result->length = used;
    return READ_DONE;
}

int dl_config_load(const char *path, dl_config *cfg, FILE *diag)
{
    memset(cfg, 0, sizeof *cfg);

    FILE *file = fopen(path, "rb");
    read_result result = {0};
    read_status status = READ_FAILED;
    if (file != NULL) {
        status = read_config_stream(file, &result);
        int saved = errno;
        fclose(file);
        errno = saved;
    }

    if (status == READ_DONE)
        return parse_owned_text(result.text, result.length, path, cfg, diag);
    if (diag == NULL)
        return -1;

    if (status == READ_FAILED)
        fprintf(diag, "%s: cannot read: %s\n", path, strerror(errno));
    else if (status == READ_TOO_LARGE)
        fprintf(diag, "%s: is larger than %u MiB; a config is a short text "
                "file\n", path, DL_CONFIG_FILE_MAX_BYTES / (1024u * 1024u));
    else
        fprintf(diag, "%s:%d: byte %zu of the line is NUL, so this is not a "
                "text file\n", path, result.nul_line, result.nul_byte);
    return -1;
}

void dl_config_free(dl_config *cfg)
{
    free(cfg->path);
    free(cfg->text);
    free(cfg->name);
    free(cfg->seeds);
    free(cfg->lora_seeds);
    free(cfg->output_dir);
    free(cfg->prompt);
    for (int k = 0; k < DL_SWEEP_COUNT; k++)
        free(cfg->sweep[k].values);
    free(cfg->lora_rank.values);
    free(cfg->lora_alpha.values);
    free(cfg->lora_scaling.values);
    memset(cfg, 0, sizeof *cfg);
}

const char *dl_sweep_key_name(dl_sweep_key key)
{
    if ((int)key < 0 || key >= DL_SWEEP_COUNT)
        return "?";
    return sweep_specs[key].name;
}

bool dl_sweep_key_is_integer(dl_sweep_key key)
{
    return (int)key >= 0 && key < DL_SWEEP_COUNT && sweep_specs[key].integer;
}

const char *dl_rule_name(dl_rule rule)
{
    return rule == DL_RULE_LM ? "lm" : "cluster";
}

const char *dl_projection_name(dl_projection projection)
{
    return projection == DL_PROJECTION_RANDOM ? "random" : "identity";
}
