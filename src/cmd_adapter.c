/* cmd_adapter.c - driftlab adapter list, merge, unmerge and stack; see
 * cmd_adapter.h.
 *
 * Every subcommand loads and checks all its inputs before it writes
 * anything, so a bad input file or adapter exits 2 with no output file.
 * Outputs are written as OUT.partial and renamed, and OUT may be neither
 * an input file nor the partial name of one. docs/lora.md ("Adapter
 * commands") states the bounds that merge and stack check.
 */
#include "cmd_adapter.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"
#include "lora_combine.h"
#include "lora_linalg.h"
#include "store_adapter.h"

const char dl_cmd_adapter_help[] =
    "usage: driftlab adapter list RESULTS.h5\n"
    "       driftlab adapter merge RESULTS.h5 NAME [NAME ...] [--weight W ...] -o OUT.h5\n"
    "       driftlab adapter unmerge MERGED.h5 RESULTS.h5 NAME [NAME ...] [--weight W ...]\n"
    "                                -o OUT.h5\n"
    "       driftlab adapter stack RESULTS.h5 NAME NAME [NAME ...] [--weight W ...]\n"
    "                              -o OUT.h5\n"
    "\n"
    "Works on the adapters a results file stores under /lora/adapters, each the\n"
    "update U = s B A of a trained adapter (minus s B_init A_init for init svd)\n"
    "on the base W in /lora/base/W.\n"
    "\n"
    "  list     prints one line per adapter in creation order: name, rank, alpha,\n"
    "           scaling, init, scale s, parameter count r (D + N) and ||U||_F\n"
    "  merge    writes OUT.h5 with /W = W + sum_k w_k U_k, then unmerges the\n"
    "           adapters in reverse order from a copy and prints the round-trip\n"
    "           error max|W_rt - W| beside its bound; exit status 1 when the\n"
    "           error exceeds the bound\n"
    "  unmerge  subtracts sum_k w_k U_k (last adapter first) from /W of MERGED.h5,\n"
    "           writes the result as /W of OUT.h5 and prints max|/W - W| against\n"
    "           the base W of RESULTS.h5\n"
    "  stack    writes OUT.h5 with /lora/base/W and one adapter\n"
    "           /lora/adapters/stacked (scaling none, alpha 1, scale 1) whose\n"
    "           update is sum_k w_k U_k, and prints how far W plus that update is\n"
    "           from the merges in both orders; exit status 1 when a difference\n"
    "           exceeds the stated tolerance\n"
    "\n"
    "options:\n"
    "  -w, --weight W       weight of the next adapter, in the order of the names;\n"
    "                       give none (every weight 1) or one per name\n"
    "  -o, --output OUT.h5  output file, written through OUT.h5.partial; it must\n"
    "                       not be an input file\n"
    "  -q, --quiet          print errors only\n"
    "  -h, --help           print this help\n"
    "\n"
    "Exit status: 0 success, 1 a failed write or an exceeded bound, 2 bad\n"
    "arguments or input (nothing is written).\n";

/* ---- arguments ---------------------------------------------------------- */

/* The parsed arguments of merge, unmerge and stack. */
typedef struct {
    const char *output;
    const char *merged;        /* unmerge only */
    const char *results;
    const char **names;        /* into argv */
    size_t count;
    double *weights;           /* [count], all 1 when no --weight was given */
    double *given_weights;     /* the --weight values in order */
    size_t given_count;
} adapter_request;

static void request_free(adapter_request *request)
{
    free(request->weights);
    free(request->given_weights);
}

static int parse_weight(const char *text, double *weight)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    /* strtod sets ERANGE for subnormal results too, which are finite
     * weights; only an overflow (an infinite value) is out of range */
    if (end == text || *end != '\0' || !isfinite(value)
        || (errno == ERANGE && fabs(value) > 1.0)) {
        dl_log_error("--weight: '%s' is invalid: must be a finite number", text);
        return -1;
    }
    *weight = value;
    return 0;
}

/* Parses the options and positional arguments of a combining subcommand:
 * inputs (1 for merge and stack, 2 for unmerge) and then at least
 * min_names adapter names. Returns DL_EXIT_OK to go on, or an exit
 * status, with -h handled as DL_EXIT_OK and *done set. */
static int request_parse(int argc, char **argv, int inputs, size_t min_names,
                         adapter_request *request, bool *done)
{
    static const struct option options[] = {
        {"weight", required_argument, NULL, 'w'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(request, 0, sizeof *request);
    *done = false;
    const char *command = argv[0];

    request->given_weights = malloc((size_t)argc * sizeof *request->given_weights);
    if (request->given_weights == NULL) {
        dl_log_error("out of memory parsing the arguments");
        return DL_EXIT_FAILED;
    }
    int option;
    while ((option = getopt_long(argc, argv, "w:o:qh", options, NULL)) != -1) {
        switch (option) {
        case 'w':
            if (parse_weight(optarg, &request->given_weights[request->given_count]) != 0)
                return DL_EXIT_USAGE;
            request->given_count++;
            break;
        case 'o': request->output = optarg; break;
        case 'q': dl_log_set_level(DL_LOG_QUIET); break;
        case 'h':
            fputs(dl_cmd_adapter_help, stdout);
            *done = true;
            return DL_EXIT_OK;
        default:
            fputs(dl_cmd_adapter_help, stderr);
            return DL_EXIT_USAGE;
        }
    }

    int positional = argc - optind;
    if (positional < inputs + (int)min_names) {
        int names = positional > inputs ? positional - inputs : 0;
        dl_log_error("adapter %s takes %s and at least %zu adapter %s, got %d "
                     "adapter %s; see driftlab adapter --help", command,
                     inputs == 2 ? "a merged file, a results file" : "a results file",
                     min_names, min_names == 1 ? "name" : "names", names,
                     names == 1 ? "name" : "names");
        return DL_EXIT_USAGE;
    }
    if (request->output == NULL || request->output[0] == '\0') {
        dl_log_error("adapter %s needs an output file: give -o OUT.h5", command);
        return DL_EXIT_USAGE;
    }
    if (inputs == 2)
        request->merged = argv[optind++];
    request->results = argv[optind++];
    request->names = (const char **)(argv + optind);
    request->count = (size_t)(argc - optind);

    if (request->given_count != 0 && request->given_count != request->count) {
        dl_log_error("--weight was given %zu %s for %zu adapter %s: give one "
                     "--weight per adapter name, in the same order, or none for "
                     "weights of 1", request->given_count,
                     request->given_count == 1 ? "time" : "times", request->count,
                     request->count == 1 ? "name" : "names");
        return DL_EXIT_USAGE;
    }
    request->weights = malloc(request->count * sizeof *request->weights);
    if (request->weights == NULL) {
        dl_log_error("out of memory parsing the arguments");
        return DL_EXIT_FAILED;
    }
    for (size_t k = 0; k < request->count; k++)
        request->weights[k] = request->given_count != 0 ? request->given_weights[k] : 1.0;
    return DL_EXIT_OK;
}

/* Returns true when a and b name the same existing file (the same device
 * and inode, so hard and symbolic links count). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Rejects an output that is an input, or whose partial file would be. */
static int output_check(const adapter_request *request)
{
    const char *inputs[2] = {request->results, request->merged};
    char partial[4096];
    if ((size_t)snprintf(partial, sizeof partial, "%s.partial", request->output)
        >= sizeof partial) {
        dl_log_error("-o: the output path is too long (%zu characters)",
                     strlen(request->output));
        return DL_EXIT_USAGE;
    }
    for (int i = 0; i < 2; i++) {
        if (inputs[i] == NULL)
            continue;
        if (strcmp(inputs[i], request->output) == 0 || same_file(inputs[i], request->output)) {
            dl_log_error("-o: %s is the input file %s; write the output to another "
                         "file, because driftlab never overwrites its input",
                         request->output, inputs[i]);
            return DL_EXIT_USAGE;
        }
        if (strcmp(inputs[i], partial) == 0 || same_file(inputs[i], partial)) {
            dl_log_error("-o: %s would be written through %s, which is the input "
                         "file %s; choose another output name", request->output,
                         partial, inputs[i]);
            return DL_EXIT_USAGE;
        }
    }
    return DL_EXIT_OK;
}

/* ---- loading ------------------------------------------------------------ */

/* The adapters of a request, loaded and checked. */
typedef struct {
    dl_adapter_file *file;
    dl_lora_trained *trained;               /* [count] */
    const dl_lora_trained **pointers;       /* [count], into trained */
    size_t count;
} loaded_adapters;

static void loaded_free(loaded_adapters *loaded)
{
    for (size_t k = 0; k < loaded->count; k++)
        dl_lora_trained_free(&loaded->trained[k]);
    free(loaded->trained);
    free((void *)loaded->pointers);
    dl_adapter_file_close(loaded->file);
    memset(loaded, 0, sizeof *loaded);
}

/* Opens the results file and loads every named adapter. Returns 0, or -1
 * with the error printed. */
static int loaded_read(loaded_adapters *loaded, const char *results,
                       const char *const *names, size_t count)
{
    memset(loaded, 0, sizeof *loaded);
    dl_error err;
    loaded->file = dl_adapter_file_open(results, &err);
    if (loaded->file == NULL) {
        dl_log_error("%s", err.message);
        return -1;
    }
    loaded->trained = calloc(count, sizeof *loaded->trained);
    loaded->pointers = calloc(count, sizeof *loaded->pointers);
    if (loaded->trained == NULL || loaded->pointers == NULL) {
        dl_log_error("%s: out of memory for %zu adapters", results, count);
        loaded_free(loaded);
        return -1;
    }
    for (size_t k = 0; k < count; k++) {
        char init[32];
        if (dl_adapter_file_read(loaded->file, names[k], &loaded->trained[k], init,
                                 sizeof init, &err) != 0) {
            dl_log_error("%s", err.message);
            loaded_free(loaded);
            return -1;
        }
        loaded->pointers[k] = &loaded->trained[k];
        loaded->count = k + 1;
    }
    return 0;
}

/* Allocates count matrices of entries doubles each; returns 0 or -1 with
 * the error printed and nothing allocated. */
static int matrices_alloc(size_t entries, size_t count, double **matrices)
{
    bool failed = false;
    for (size_t i = 0; i < count; i++) {
        matrices[i] = malloc(entries * sizeof(double));
        failed = failed || matrices[i] == NULL;
    }
    if (!failed)
        return 0;
    for (size_t i = 0; i < count; i++) {
        free(matrices[i]);
        matrices[i] = NULL;
    }
    dl_log_error("out of memory for %zu matrices of %zu values", count, entries);
    return -1;
}

static void matrices_free(double **matrices, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(matrices[i]);
}

/* ---- list --------------------------------------------------------------- */

static int command_list(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(dl_cmd_adapter_help, stdout);
        return DL_EXIT_OK;
    }
    if (argc != 2) {
        dl_log_error("adapter list takes one results file and no options, got %d "
                     "arguments; see driftlab adapter --help", argc - 1);
        return DL_EXIT_USAGE;
    }
    dl_error err;
    dl_adapter_file *file = dl_adapter_file_open(argv[1], &err);
    if (file == NULL) {
        dl_log_error("%s", err.message);
        return DL_EXIT_USAGE;
    }
    size_t rows, cols;
    dl_adapter_file_base(file, &rows, &cols);
    size_t count = dl_adapter_file_count(file);

    int width = 4;
    for (size_t i = 0; i < count; i++) {
        int length = (int)strlen(dl_adapter_file_name(file, i));
        if (length > width)
            width = length;
    }

    /* the table goes to memory first and to stdout only when every
     * adapter loads, so a bad file prints its error alone */
    char *table = NULL;
    size_t table_size = 0;
    FILE *out = open_memstream(&table, &table_size);
    double *update = malloc(rows * cols * sizeof *update);
    if (update == NULL || out == NULL) {
        dl_log_error("%s: out of memory for a %zu x %zu update", argv[1], rows, cols);
        if (out != NULL)
            fclose(out);
        free(table);
        free(update);
        dl_adapter_file_close(file);
        return DL_EXIT_FAILED;
    }
    fprintf(out, "base W %zu x %zu (seed %lld), %zu %s\n", rows, cols,
            (long long)dl_adapter_file_seed(file), count,
            count == 1 ? "adapter" : "adapters");
    fprintf(out, "%-*s %6s %10s %-9s %-8s %12s %11s %13s\n", width, "name", "rank",
            "alpha", "scaling", "init", "scale", "parameters", "||U||_F");

    int status = DL_EXIT_OK;
    for (size_t i = 0; i < count && status == DL_EXIT_OK; i++) {
        const char *name = dl_adapter_file_name(file, i);
        dl_lora_trained trained;
        char init[32];
        if (dl_adapter_file_read(file, name, &trained, init, sizeof init, &err) != 0) {
            dl_log_error("%s", err.message);
            status = DL_EXIT_USAGE;
            break;
        }
        if (dl_lora_trained_weighted_update(update, &trained, 1.0, &err) != 0) {
            dl_log_error("%s: %s: %s", argv[1], name, err.message);
            status = DL_EXIT_FAILED;
        } else {
            const dl_lora_adapter *adapter = &trained.trained;
            long long parameters = (long long)adapter->rank * (long long)(rows + cols);
            fprintf(out, "%-*s %6d %10g %-9s %-8s %12.6g %11lld %13.6e\n", width, name,
                    adapter->rank, adapter->alpha, dl_lora_scaling_name(adapter->scaling),
                    init, adapter->scale, parameters,
                    dl_linalg_frobenius(update, rows * cols));
        }
        dl_lora_trained_free(&trained);
    }
    if (fclose(out) != 0 && status == DL_EXIT_OK) {
        dl_log_error("%s: out of memory for the adapter table", argv[1]);
        status = DL_EXIT_FAILED;
    }
    if (status == DL_EXIT_OK)
        fwrite(table, 1, table_size, stdout);
    free(table);
    free(update);
    dl_adapter_file_close(file);
    return status;
}

/* ---- merge -------------------------------------------------------------- */

/* Logs what a written file holds, for example "W + 1 * r4 - 0.5 * r8":
 * start, then each adapter with its weight times sign (-1 for unmerge). */
static void log_combination(const char *output, const char *start, double sign,
                            const adapter_request *request)
{
    if (dl_log_get_level() < DL_LOG_NORMAL)
        return;
    char text[1024];
    size_t used = (size_t)snprintf(text, sizeof text, "%s", start);
    for (size_t k = 0; k < request->count && used < sizeof text; k++) {
        double weight = sign * request->weights[k];
        used += (size_t)snprintf(text + used, sizeof text - used, " %c %g * %s",
                                 signbit(weight) ? '-' : '+', fabs(weight),
                                 request->names[k]);
    }
    dl_log_info("wrote %s: %s", output, text);
}

/* True when the command's measurements go to standard output: not with
 * -q, which prints errors only. */
static bool report_measurements(void)
{
    return dl_log_get_level() >= DL_LOG_NORMAL;
}

/* Fails when a result to be written has an entry that is not finite:
 * weights near the largest double overflow it, and every adapter command
 * rejects such a file on load, so it is never written. */
static int check_finite_result(const double *values, size_t count, const char *what,
                               const adapter_request *request)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(values[i])) {
            dl_log_error("%s of %s has an entry of %g at index %zu: the weights are too "
                         "large; nothing was written", what, request->results, values[i], i);
            return -1;
        }
    return 0;
}

/* Parses a merge or stack request of at least min_names adapters, checks
 * its output and loads its adapters. Returns DL_EXIT_OK with *done false
 * when the command goes on; otherwise (help shown, or an error) both are
 * freed and the status is the command's exit status. */
static int request_load(int argc, char **argv, size_t min_names,
                        adapter_request *request, loaded_adapters *loaded, bool *done)
{
    int status = request_parse(argc, argv, 1, min_names, request, done);
    if (status != DL_EXIT_OK || *done) {
        request_free(request);
        return status;
    }
    status = output_check(request);
    if (status == DL_EXIT_OK
        && loaded_read(loaded, request->results, request->names, request->count) != 0)
        status = DL_EXIT_USAGE;
    if (status != DL_EXIT_OK)
        request_free(request);
    return status;
}

static int command_merge(int argc, char **argv)
{
    adapter_request request;
    loaded_adapters loaded = {0};
    bool done;
    int status = request_load(argc, argv, 1, &request, &loaded, &done);
    if (status != DL_EXIT_OK || done)
        return status;

    size_t rows, cols;
    const double *w = dl_adapter_file_base(loaded.file, &rows, &cols);
    size_t entries = rows * cols;
    double *buffers[4] = {NULL};
    if (matrices_alloc(entries, 4, buffers) != 0) {
        loaded_free(&loaded);
        request_free(&request);
        return DL_EXIT_FAILED;
    }
    double *merged = buffers[0], *scratch = buffers[1], *magnitude = buffers[2];
    double *round_trip = buffers[3];

    dl_error err;
    double error = 0.0, bound = 0.0;
    if (dl_lora_trained_merge(merged, scratch, magnitude, w, loaded.pointers,
                              request.weights, request.count, &err) != 0) {
        dl_log_error("%s: merging failed: %s", request.results, err.message);
        status = DL_EXIT_FAILED;
        goto done;
    }
    memcpy(round_trip, merged, entries * sizeof *round_trip);
    if (dl_lora_trained_unmerge(round_trip, scratch, loaded.pointers, request.weights,
                                request.count, &err) != 0) {
        dl_log_error("%s: unmerging failed: %s", request.results, err.message);
        status = DL_EXIT_FAILED;
        goto done;
    }
    error = dl_lora_max_abs_difference(round_trip, w, entries);
    bound = dl_lora_round_trip_bound(dl_lora_max_abs(magnitude, entries), request.count);
    if (check_finite_result(merged, entries, "the merged W", &request) != 0
        || check_finite_result(&bound, 1, "the round-trip bound", &request) != 0) {
        status = DL_EXIT_USAGE;
        goto done;
    }

    dl_adapter_provenance provenance = {
        .description = "merged weights W + sum_k w_k U_k of the listed adapters",
        .results_file = request.results,
        .names = request.names,
        .weights = request.weights,
        .count = request.count,
    };
    if (dl_adapter_weights_write(request.output, merged, rows, cols, &provenance,
                                 &err) != 0) {
        dl_log_error("%s", err.message);
        status = DL_EXIT_FAILED;
        goto done;
    }
    log_combination(request.output, "W", 1.0, &request);
    if (report_measurements())
        printf("round-trip error max|W_rt - W| %.6e, bound %.6e\n", error, bound);
    if (!(error <= bound)) {
        dl_log_error("the round-trip error %.6e exceeds its bound %.6e: unmerging "
                     "did not subtract exactly what merging added", error, bound);
        status = DL_EXIT_FAILED;
    }

done:
    matrices_free(buffers, 4);
    loaded_free(&loaded);
    request_free(&request);
    return status;
}

/* ---- unmerge ------------------------------------------------------------ */

static int command_unmerge(int argc, char **argv)
{
    adapter_request request;
    bool done;
    int status = request_parse(argc, argv, 2, 1, &request, &done);
    if (status != DL_EXIT_OK || done) {
        request_free(&request);
        return status;
    }
    status = output_check(&request);
    loaded_adapters loaded = {0};
    double *unmerged = NULL;
    size_t merged_rows = 0, merged_cols = 0;
    dl_error err;
    if (status == DL_EXIT_OK && dl_adapter_weights_read(request.merged, &unmerged,
                                                        &merged_rows, &merged_cols,
                                                        &err) != 0) {
        dl_log_error("%s", err.message);
        status = DL_EXIT_USAGE;
    }
    if (status == DL_EXIT_OK
        && loaded_read(&loaded, request.results, request.names, request.count) != 0)
        status = DL_EXIT_USAGE;

    size_t rows = 0, cols = 0;
    const double *w = NULL;
    if (status == DL_EXIT_OK) {
        w = dl_adapter_file_base(loaded.file, &rows, &cols);
        if (merged_rows != rows || merged_cols != cols) {
            dl_log_error("%s: /W is %zu x %zu but the base W of %s (/lora/base/W) is "
                         "%zu x %zu: the merged weights must have the base's shape",
                         request.merged, merged_rows, merged_cols, request.results,
                         rows, cols);
            status = DL_EXIT_USAGE;
        }
    }
    double *buffers[3] = {NULL};
    if (status == DL_EXIT_OK && matrices_alloc(rows * cols, 3, buffers) != 0)
        status = DL_EXIT_FAILED;
    if (status != DL_EXIT_OK)
        goto done;

    /* the bound of a round trip with these adapters and weights */
    double *merged = buffers[0], *scratch = buffers[1], *magnitude = buffers[2];
    if (dl_lora_trained_merge(merged, scratch, magnitude, w, loaded.pointers,
                              request.weights, request.count, &err) != 0
        || dl_lora_trained_unmerge(unmerged, scratch, loaded.pointers, request.weights,
                                   request.count, &err) != 0) {
        dl_log_error("%s: unmerging failed: %s", request.merged, err.message);
        status = DL_EXIT_FAILED;
        goto done;
    }
    double difference = dl_lora_max_abs_difference(unmerged, w, rows * cols);
    double bound = dl_lora_round_trip_bound(dl_lora_max_abs(magnitude, rows * cols),
                                            request.count);
    if (check_finite_result(unmerged, rows * cols, "the unmerged W", &request) != 0) {
        status = DL_EXIT_USAGE;
        goto done;
    }

    dl_adapter_provenance provenance = {
        .description = "merged weights minus sum_k w_k U_k of the listed adapters",
        .results_file = request.results,
        .merged_file = request.merged,
        .names = request.names,
        .weights = request.weights,
        .count = request.count,
    };
    if (dl_adapter_weights_write(request.output, unmerged, rows, cols, &provenance,
                                 &err) != 0) {
        dl_log_error("%s", err.message);
        status = DL_EXIT_FAILED;
        goto done;
    }
    log_combination(request.output, request.merged, -1.0, &request);
    if (report_measurements())
        printf("max|W_unmerged - W| %.6e against the base W of %s (round-trip bound "
               "%.6e when %s merged these adapters and weights)\n", difference,
               request.results, bound, request.merged);

done:
    matrices_free(buffers, 3);
    free(unmerged);
    loaded_free(&loaded);
    request_free(&request);
    return status;
}

/* ---- stack -------------------------------------------------------------- */

/* Returns a copy of values [count] in reverse order, or NULL. */
static void *reversed_copy(const void *values, size_t count, size_t size)
{
    unsigned char *copy = malloc(count * size);
    if (copy == NULL)
        return NULL;
    const unsigned char *source = values;
    for (size_t k = 0; k < count; k++)
        memcpy(copy + k * size, source + (count - 1 - k) * size, size);
    return copy;
}

static int command_stack(int argc, char **argv)
{
    adapter_request request;
    loaded_adapters loaded = {0};
    bool done;
    int status = request_load(argc, argv, 2, &request, &loaded, &done);
    if (status != DL_EXIT_OK || done)
        return status;

    size_t rows, cols;
    const double *w = dl_adapter_file_base(loaded.file, &rows, &cols);
    size_t entries = rows * cols;
    dl_lora_adapter stacked = {0};
    const dl_lora_trained **reversed = reversed_copy(loaded.pointers, request.count,
                                                     sizeof *loaded.pointers);
    double *reversed_weights = reversed_copy(request.weights, request.count,
                                             sizeof *request.weights);
    double *buffers[5] = {NULL};
    dl_error err;
    if (reversed == NULL || reversed_weights == NULL
        || matrices_alloc(entries, 5, buffers) != 0) {
        dl_log_error("out of memory stacking %zu adapters", request.count);
        status = DL_EXIT_FAILED;
        goto done;
    }
    double *with_stack = buffers[0], *forward = buffers[1], *backward = buffers[2];
    double *scratch = buffers[3], *magnitude = buffers[4];

    if (dl_lora_trained_stack(&stacked, loaded.pointers, request.weights, request.count,
                              &err) != 0
        || dl_lora_product(with_stack, &stacked, &err) != 0
        || dl_lora_trained_merge(forward, scratch, NULL, w, loaded.pointers,
                                 request.weights, request.count, &err) != 0
        || dl_lora_trained_merge(backward, scratch, NULL, w, reversed, reversed_weights,
                                 request.count, &err) != 0
        || dl_lora_trained_magnitude(magnitude, scratch, w, loaded.pointers,
                                     request.weights, request.count, &err) != 0) {
        dl_log_error("%s: stacking failed: %s", request.results, err.message);
        status = DL_EXIT_FAILED;
        goto done;
    }
    for (size_t i = 0; i < entries; i++)
        with_stack[i] = w[i] + with_stack[i];
    if (check_finite_result(stacked.b, (size_t)stacked.input_dim * (size_t)stacked.rank,
                            "the stacked B", &request) != 0
        || check_finite_result(with_stack, entries, "W plus the stacked update",
                               &request) != 0) {
        status = DL_EXIT_USAGE;
        goto done;
    }

    double tolerance = dl_lora_stack_tolerance(dl_lora_max_abs(magnitude, entries),
                                               (size_t)stacked.rank, request.count);
    double differences[3] = {
        dl_lora_max_abs_difference(with_stack, forward, entries),
        dl_lora_max_abs_difference(with_stack, backward, entries),
        dl_lora_max_abs_difference(forward, backward, entries),
    };

    dl_adapter_provenance provenance = {
        .description = "adapter whose update s B A is sum_k w_k U_k of the sources",
        .results_file = request.results,
        .names = request.names,
        .weights = request.weights,
        .count = request.count,
    };
    if (dl_adapter_stacked_write(request.output, loaded.file, &stacked, &provenance,
                                 &err) != 0) {
        dl_log_error("%s", err.message);
        status = DL_EXIT_FAILED;
        goto done;
    }
    log_combination(request.output, "W", 1.0, &request);
    if (report_measurements()) {
        printf("stacked rank %d\n", stacked.rank);
        printf("max|W + stacked - merge first to last| %.6e\n", differences[0]);
        printf("max|W + stacked - merge last to first| %.6e\n", differences[1]);
        printf("max|merge first to last - merge last to first| %.6e\n", differences[2]);
        printf("tolerance %.6e\n", tolerance);
    }
    for (int i = 0; i < 3; i++)
        if (!(differences[i] <= tolerance)) {
            dl_log_error("a difference of %.6e exceeds the tolerance %.6e: the "
                         "stacked adapter does not apply the merged update",
                         differences[i], tolerance);
            status = DL_EXIT_FAILED;
            break;
        }

done:
    matrices_free(buffers, 5);
    free((void *)reversed);
    free(reversed_weights);
    dl_lora_adapter_free(&stacked);
    loaded_free(&loaded);
    request_free(&request);
    return status;
}

/* ---- dispatch ----------------------------------------------------------- */

int dl_cmd_adapter(int argc, char **argv)
{
    if (argc < 2) {
        fputs(dl_cmd_adapter_help, stderr);
        return DL_EXIT_USAGE;
    }
    const char *subcommand = argv[1];
    if (strcmp(subcommand, "-h") == 0 || strcmp(subcommand, "--help") == 0) {
        fputs(dl_cmd_adapter_help, stdout);
        return DL_EXIT_OK;
    }

    /* each subcommand gets its own name as argv[0], as getopt expects */
    if (strcmp(subcommand, "list") == 0)
        return command_list(argc - 1, argv + 1);
    if (strcmp(subcommand, "merge") == 0)
        return command_merge(argc - 1, argv + 1);
    if (strcmp(subcommand, "unmerge") == 0)
        return command_unmerge(argc - 1, argv + 1);
    if (strcmp(subcommand, "stack") == 0)
        return command_stack(argc - 1, argv + 1);

    dl_log_error("unknown adapter subcommand '%s': must be list, merge, unmerge or "
                 "stack; see driftlab adapter --help", subcommand);
    return DL_EXIT_USAGE;
}
