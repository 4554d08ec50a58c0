/* cli.c - command-line parsing and the commands; see cli.h.
 *
 * Diagnostics go to stderr; the plan (check), the summary table (run) and
 * file descriptions (info) go to stdout. Nothing is written to disk before
 * the config has been validated.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_adapter.h"
#include "config.h"
#include "log.h"
#include "lora_sweep.h"
#include "output_folder.h"
#include "plan.h"
#include "render.h"
#include "results.h"
#include "store.h"
#include "store_lora.h"
#include "sweep.h"
#include "sweep_values.h"

/* ---- help texts ------------------------------------------------------ */

static const char main_help[] =
    "usage: driftlab COMMAND [OPTIONS]\n"
    "\n"
    "Simulates context drift in attention and fits LoRA adapters over\n"
    "parameter sweeps, and stores every result in one HDF5 file.\n"
    "\n"
    "commands:\n"
    "  run [CONFIG.ini]     run every sweep point of a config (default: the\n"
    "                       shipped configs/lecture.ini) into DIR/results.h5\n"
    "  check CONFIG.ini     validate a config and print its plan; runs nothing\n"
    "  render RESULTS.h5    draw every figure and the report from a results file\n"
    "  info RESULTS.h5      describe what a results file holds\n"
    "  adapter SUBCOMMAND   list, merge, unmerge or stack the stored LoRA adapters\n"
    "  help [COMMAND]       print help for a command\n"
    "\n"
    "options:\n"
    "  -h, --help           print this help\n"
    "  -V, --version        print the version\n"
    "\n"
    "Exit status: 0 success, 1 a failed run, 2 a usage or config error.\n";

static const char run_help[] =
    "usage: driftlab run [CONFIG.ini] [OPTIONS]\n"
    "\n"
    "Runs every run of the config (sweep points x seeds) on OpenMP threads and\n"
    "writes DIR/results.h5 through DIR/results.h5.partial, renamed on success.\n"
    "Then it draws the figures into DIR/figures and writes DIR/report.html,\n"
    "DIR/report.pdf and DIR/manifest.json, as driftlab render does.\n"
    "Without CONFIG.ini it runs configs/lecture.ini.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR     output folder (default: [experiment] output, else\n"
    "                       output/NAME with NAME the experiment name)\n"
    "  -j, --threads N      number of threads (default: [experiment] threads,\n"
    "                       else all cores); results do not depend on it\n"
    "      --format LIST    figure formats, a comma list of svg, pdf, png\n"
    "                       (default: [experiment] formats)\n"
    "      --resume         continue an interrupted run from results.h5.partial,\n"
    "                       skipping the runs it already holds\n"
    "      --no-render      write results.h5 only: no figures, reports or manifest\n"
    "  -q, --quiet          print errors only\n"
    "  -v, --verbose        also print the runs still to do and the time the\n"
    "                       simulation and the figures took\n"
    "  -h, --help           print this help\n";

static const char check_help[] =
    "usage: driftlab check CONFIG.ini\n"
    "\n"
    "Validates the config and prints its plan: axes, runs, estimated memory and\n"
    "output size against their limits. Runs nothing and writes nothing.\n"
    "Exit status 2 when the config is invalid or over a limit.\n";

static const char render_help[] =
    "usage: driftlab render RESULTS.h5 [OPTIONS]\n"
    "\n"
    "Draws every figure from the results file alone, without simulating again,\n"
    "into DIR/figures/NAME.svg, .pdf and .png, and writes DIR/report.html (one\n"
    "self-contained page), DIR/report.pdf (one page per figure) and\n"
    "DIR/manifest.json (size and SHA-256 of every file). The same results file\n"
    "gives byte-identical files. When DIR is another folder, the results file\n"
    "is linked (or copied) into it, so that the folder is complete.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR     output folder (default: the folder of RESULTS.h5)\n"
    "      --format LIST    figure formats, a comma list of svg, pdf, png\n"
    "                       (default: the formats stored in the file)\n"
    "  -q, --quiet          print errors only\n"
    "  -v, --verbose        also print each figure as it is drawn\n"
    "  -h, --help           print this help\n";

static const char info_help[] =
    "usage: driftlab info RESULTS.h5\n"
    "\n"
    "Prints what a results file holds: versions, config name and SHA-256, axes\n"
    "and their values, seeds, steps, every dataset with its shape, and how many\n"
    "runs are done.\n";

/* ---- shared helpers ------------------------------------------------------ */

static const char *default_config_path(void)
{
    static const char local[] = "configs/lecture.ini";
    if (access(local, R_OK) == 0)
        return local;
    return DRIFTLAB_SOURCE_CONFIG_DIR "/lecture.ini";
}

/* Loads and validates path; prints the problems and returns -1 on failure. */
static int load_config(const char *path, dl_config *cfg)
{
    if (dl_config_load(path, cfg, stderr) != 0) {
        fprintf(stderr, "driftlab: %s was not used; nothing was run or written\n", path);
        return -1;
    }
    return 0;
}

/* Parses the comma list of --format into DL_FORMAT_* bits as config.c
 * parses the formats key: each item is trimmed of spaces, and an empty,
 * unknown or repeated item is rejected. Returns the bits, or 0 with err
 * set. */
static unsigned parse_formats(const char *text, dl_error *err)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"svg", DL_FORMAT_SVG},
        {"pdf", DL_FORMAT_PDF},
        {"png", DL_FORMAT_PNG},
    };
    unsigned formats = 0;
    const char *item = text;
    for (size_t index = 1;; index++) {
        const char *comma = strchr(item, ',');
        const char *begin = item;
        const char *end = comma != NULL ? comma : item + strlen(item);
        while (begin < end && isspace((unsigned char)*begin))
            begin++;
        while (end > begin && isspace((unsigned char)end[-1]))
            end--;
        int length = (int)(end - begin);

        unsigned bit = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (length == 3 && memcmp(begin, names[i].name, 3) == 0)
                bit = names[i].bit;
        if (length == 0) {
            dl_error_set(err, "--format: '%s' is invalid: item %zu is empty; list svg, pdf "
                         "or png, separated by commas", text, index);
            return 0;
        }
        if (bit == 0) {
            dl_error_set(err, "--format: '%s' is invalid: '%.*s' is not a format; use svg, "
                         "pdf and png (lower case), separated by commas", text, length, begin);
            return 0;
        }
        if (formats & bit) {
            dl_error_set(err, "--format: '%s' is invalid: '%.*s' is listed twice", text,
                         length, begin);
            return 0;
        }
        formats |= bit;

        if (comma == NULL)
            return formats;
        item = comma + 1;
    }
}

/* Copies the folder path dir into folder without the '/'s that end it (a
 * lone "/" stays), so that messages name "out/report.html" and not
 * "out//report.html". Returns -1 when it does not fit. */
static int trim_folder(const char *dir, char *folder, size_t size)
{
    size_t length = strlen(dir);
    while (length > 1 && dir[length - 1] == '/')
        length--;
    if (length >= size)
        return -1;
    memcpy(folder, dir, length);
    folder[length] = '\0';
    return 0;
}

static int parse_threads(const char *text, int *threads)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 4096) {
        dl_log_error("-j: '%s' is invalid: must be an integer from 1 to 4096", text);
        return -1;
    }
    *threads = (int)value;
    return 0;
}

/* Prints the values of an axis; a long axis shows its first eight values
 * and its last two, so that check stays readable for 10^6 values. */
static void print_axis_values(FILE *out, const dl_value_list *list)
{
    char text[64];
    for (size_t i = 0; i < list->count; i++) {
        if (list->count > 12 && i == 8) {
            fprintf(out, ", ... (%zu more)", list->count - 10);
            i = list->count - 2;
        }
        fprintf(out, i == 0 ? "%s" : ", %s",
                dl_sweep_values_format(list->values[i], text, sizeof text));
    }
}

static const char *plural(size_t count, const char *one, const char *many)
{
    return count == 1 ? one : many;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- run --------------------------------------------------------------- */

/* Set before the handler is installed: the message names LoRA fits only
 * for a config that has them. */
static volatile sig_atomic_t interrupt_has_lora = 0;

static void handle_interrupt(int signal_number)
{
    (void)signal_number;
    /* write(2) because stdio is not safe in a signal handler */
    static const char drift_message[] =
        "\ndriftlab: interrupted; finishing the runs in progress and keeping every "
        "finished run for --resume (interrupt again to stop at once and lose them)\n";
    static const char lora_message[] =
        "\ndriftlab: interrupted; finishing the runs in progress and keeping every "
        "finished drift run for --resume; LoRA fits are not kept (interrupt again to "
        "stop at once and lose them)\n";
    ssize_t ignored = interrupt_has_lora
                          ? write(STDERR_FILENO, lora_message, sizeof lora_message - 1)
                          : write(STDERR_FILENO, drift_message, sizeof drift_message - 1);
    (void)ignored;
    dl_sweep_request_stop();
    /* a second interrupt ends the process at once */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* A finished [lora] sweep that write_lora_group stores. */
typedef struct {
    const dl_config *cfg;
    const dl_lora_sweep_result *result;
} lora_request;

/* Writes the finished [lora] sweep as /lora into the open results file; a
 * dl_store_extra_writer. */
static int write_lora_group(int64_t file, const char *partial_path, void *context,
                            dl_error *err)
{
    const lora_request *request = context;
    return dl_store_lora_write(file, partial_path, request->cfg, request->result, err);
}

/* Warns about fits whose training loss ended above where it started:
 * training that gets worse means a learning rate or alpha too large for
 * the task, even when the loss never grew enough to count as divergence. */
static void warn_rising_losses(const dl_config *cfg, const dl_lora_sweep_result *result)
{
    size_t points = result->curve_length;
    size_t runs = dl_lora_sweep_run_count(cfg);
    size_t rising = 0, first = 0;
    for (size_t run = 0; run < runs; run++) {
        const double *curve = &result->loss_curve[run * points];
        if (points >= 2 && curve[points - 1] > curve[0] && rising++ == 0)
            first = run;
    }
    size_t rising_full = 0;
    for (size_t seed = 0; seed < result->n_seeds; seed++) {
        const double *curve = &result->full_rank_loss_curve[seed * points];
        rising_full += points >= 2 && curve[points - 1] > curve[0];
    }
    if (rising > 0) {
        size_t seed = first % result->n_seeds;
        size_t scaling = first / result->n_seeds % result->n_scalings;
        size_t alpha = first / result->n_seeds / result->n_scalings % result->n_alphas;
        size_t rank = first / result->n_seeds / result->n_scalings / result->n_alphas;
        dl_log_info("warning: %zu of %zu LoRA fits ended with a higher training loss than "
                    "they started with, first rank=%g alpha=%g scaling=%s seed=%lld; "
                    "lower learning_rate or alpha", rising, runs,
                    cfg->lora_rank.values[rank], cfg->lora_alpha.values[alpha],
                    dl_lora_scaling_name((dl_lora_scaling)cfg->lora_scaling.values[scaling]),
                    (long long)cfg->lora_seeds[seed]);
    }
    if (rising_full > 0)
        dl_log_info("warning: %zu of %zu full-rank baselines ended with a higher training "
                    "loss than they started with; lower learning_rate", rising_full,
                    result->n_seeds);
}

/* Runs the [lora] sweep of cfg into result. It runs before the drift sweep
 * opens its partial file, so an interrupt during the fits (even a second
 * one, which ends the process) never leaves that file half written. NOTE:
 * LoRA fits are not checkpointed, so --resume fits every adapter again. */
static int run_lora_sweep(const dl_config *cfg, int threads, dl_lora_sweep_result *result,
                          dl_error *err)
{
    double start = now_seconds();
    if (dl_lora_sweep_run(cfg, threads, dl_sweep_stop_requested, result, err) != 0)
        return -1;
    dl_log_verbose("fitted %zu LoRA adapters and %zu full-rank baselines in %.2f s",
                   dl_lora_sweep_run_count(cfg), result->n_seeds, now_seconds() - start);
    warn_rising_losses(cfg, result);
    return 0;
}

static void print_key_numbers(const dl_plan *plan, const dl_point_key_numbers *key)
{
    const dl_config *cfg = plan->config;
    for (size_t a = 0; a < plan->n_axes; a++)
        printf("%14s ", dl_sweep_key_name(plan->axis_key[a]));
    printf("%24s %10s %14s\n", "median prompt attention", "half-life", "mean lock-in");

    size_t index[DL_SWEEP_COUNT];
    for (size_t point = 0; point < plan->n_points; point++) {
        dl_plan_point_indices(plan, point, index);
        for (size_t a = 0; a < plan->n_axes; a++)
            printf("%14g ", cfg->sweep[plan->axis_key[a]].values[index[a]]);
        char half_life[32];
        if (isnan(key[point].half_life))
            snprintf(half_life, sizeof half_life, "never");
        else
            snprintf(half_life, sizeof half_life, "%.0f", key[point].half_life);
        printf("%24.3f %10s %14.3f\n", key[point].final_prompt_attention, half_life,
               key[point].final_lock_in);
    }
}

/* Prints the LoRA key numbers of the results file at path: per rank the
 * parameters and the median eval KL and forgetting over seeds at the first
 * alpha above 0 and the first scaling, then the full-rank baseline. */
static int print_lora_key_numbers(const char *path, dl_error *err)
{
    dl_results results;
    if (dl_results_load(path, &results, err) != 0)
        return -1;
    const dl_lora_results *lora = &results.lora;
    size_t alpha = dl_lora_shown_alpha(lora);
    long long d = lora->D, n = lora->N;
    printf("LoRA at alpha %g, scaling %s, median over %zu %s; D N = %lld\n",
           lora->alpha[alpha], lora->scaling[0], lora->n_seeds,
           plural(lora->n_seeds, "seed", "seeds"), d * n);
    printf("%10s %12s %16s %18s\n", "rank", "parameters", "eval KL (nats)",
           "forgetting (nats)");
    for (size_t r = 0; r < lora->n_ranks; r++)
        printf("%10lld %12lld %16.3g %18.3g\n", (long long)lora->rank[r],
               (long long)lora->rank[r] * (d + n),
               dl_lora_median_over_seeds(lora, lora->eval_kl, r, alpha, 0),
               dl_lora_median_over_seeds(lora, lora->forgetting, r, alpha, 0));
    printf("%10s %12lld %16.3g %18.3g\n", "full", d * n,
           dl_lora_median(lora->full_rank_eval_kl, lora->n_seeds, 1),
           dl_lora_median(lora->full_rank_forgetting, lora->n_seeds, 1));
    dl_results_free(&results);
    return 0;
}

/* Checks the estimates of the drift sweep on drift_threads threads and of
 * the LoRA sweep on lora_threads (its own clamp) against the config's
 * limits. The two sweeps run one after the other, but the LoRA results
 * stay in memory while the drift sweep runs, so their estimates add up. */
static int check_limits(const dl_config *cfg, const dl_plan *plan, int drift_threads,
                        int lora_threads, dl_error *err)
{
    double drift_memory = 0, drift_output = 0;
    if (cfg->has_drift) {
        if (dl_sweep_check_limits(plan, drift_threads, err) != 0)
            return -1;
        dl_sweep_estimate estimate;
        dl_sweep_estimate_plan(plan, drift_threads, &estimate);
        drift_memory = estimate.memory;
        drift_output = estimate.output;
    }
    if (cfg->has_lora)
        return dl_lora_sweep_check_limits(cfg, lora_threads, drift_memory, drift_output,
                                          err);
    return 0;
}

/* Checks what can be checked before anything is written: the plan's
 * limits, a partial file to resume, and that results.h5 is not a folder.
 * Returns an exit status; DL_EXIT_OK to go on. */
static int check_run_request(const dl_config *cfg, const char *results_path, int threads,
                             bool resume)
{
    dl_plan plan;
    dl_plan_init(&plan, cfg);
    dl_error err;
    int used_threads = dl_sweep_thread_count(threads);
    if ((size_t)used_threads > plan.n_runs)
        used_threads = (int)plan.n_runs;
    if (check_limits(cfg, &plan, used_threads, threads, &err) != 0) {
        dl_log_error("%s", err.message);
        return DL_EXIT_USAGE;
    }

    char partial[4096 + sizeof ".partial"];
    snprintf(partial, sizeof partial, "%s.partial", results_path);
    if (resume && !cfg->has_drift && access(partial, F_OK) == 0) {
        dl_log_error("--resume: %s exists, but a config without [drift] keeps no partial "
                     "file, so it is from another run; remove it, or run without "
                     "--resume to replace it", partial);
        return DL_EXIT_USAGE;
    }
    if (resume && cfg->has_drift && access(partial, F_OK) != 0) {
        dl_log_error("--resume: %s not found, so there is no interrupted run to continue; "
                     "run without --resume", partial);
        return DL_EXIT_USAGE;
    }

    struct stat st;
    if (stat(results_path, &st) == 0 && !S_ISREG(st.st_mode)) {
        dl_log_error("%s exists and is not a regular file; remove it or choose another "
                     "folder with -o", results_path);
        return DL_EXIT_FAILED;
    }
    return DL_EXIT_OK;
}

static int command_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'F'},
        {"resume", no_argument, NULL, 'R'},
        {"no-render", no_argument, NULL, 'N'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL, *formats_text = NULL;
    int threads = 0;
    bool resume = false, render = true;
    int option;
    while ((option = getopt_long(argc, argv, "o:j:qvh", options, NULL)) != -1) {
        switch (option) {
        case 'o': output = optarg; break;
        case 'j': if (parse_threads(optarg, &threads) != 0) return DL_EXIT_USAGE; break;
        case 'F': formats_text = optarg; break;
        case 'R': resume = true; break;
        case 'N': render = false; break;
        case 'q': dl_log_set_level(DL_LOG_QUIET); break;
        case 'v': dl_log_set_level(DL_LOG_VERBOSE); break;
        case 'h': fputs(run_help, stdout); return DL_EXIT_OK;
        default: fputs(run_help, stderr); return DL_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        dl_log_error("run takes one config file, got %d arguments; see driftlab run --help",
                     argc - optind);
        return DL_EXIT_USAGE;
    }
    const char *config_path = optind < argc ? argv[optind] : default_config_path();

    dl_error err;
    unsigned formats = 0;
    if (formats_text != NULL && (formats = parse_formats(formats_text, &err)) == 0) {
        dl_log_error("%s", err.message);
        return DL_EXIT_USAGE;
    }
    /* checked now, because the PDFs that use it come after the whole simulation */
    if (render && dl_render_check_environment(&err) != 0) {
        dl_log_error("%s; nothing was run", err.message);
        return DL_EXIT_USAGE;
    }
    dl_config cfg;
    if (load_config(config_path, &cfg) != 0)
        return DL_EXIT_USAGE;
    if (threads == 0)
        threads = cfg.threads;

    /* the output folder */
    char default_dir[512], output_dir[4096];
    if (output == NULL)
        output = cfg.output_dir;
    if (output == NULL) {
        snprintf(default_dir, sizeof default_dir, "output/%s", cfg.name);
        output = default_dir;
    }
    if (output[0] == '\0') {
        dl_log_error("-o: the output folder is empty; give a folder name");
        dl_config_free(&cfg);
        return DL_EXIT_USAGE;
    }
    if (trim_folder(output, output_dir, sizeof output_dir) != 0) {
        dl_log_error("-o: the output path is too long (%zu characters)", strlen(output));
        dl_config_free(&cfg);
        return DL_EXIT_USAGE;
    }
    output = output_dir;
    char results_path[4096];
    if ((size_t)snprintf(results_path, sizeof results_path, "%s/results.h5", output)
        >= sizeof results_path - sizeof ".partial") {
        dl_log_error("-o: the output path is too long (%zu characters)", strlen(output));
        dl_config_free(&cfg);
        return DL_EXIT_USAGE;
    }
    int status = check_run_request(&cfg, results_path, threads, resume);
    if (status != DL_EXIT_OK) {
        dl_config_free(&cfg);
        return status;
    }

    dl_plan plan;
    dl_plan_init(&plan, &cfg);
    int used_threads = dl_sweep_thread_count(threads);
    if (cfg.has_drift)
        dl_log_info("%s: %zu %s (%zu %s x %zu %s) on %d %s", config_path, plan.n_runs,
                    plural(plan.n_runs, "run", "runs"), plan.n_points,
                    plural(plan.n_points, "sweep point", "sweep points"), plan.n_seeds,
                    plural(plan.n_seeds, "seed", "seeds"), used_threads,
                    plural((size_t)used_threads, "thread", "threads"));
    if (cfg.has_lora) {
        size_t lora_runs = dl_lora_sweep_run_count(&cfg);
        dl_log_info("%s: %zu LoRA %s (%zu %s x %zu %s x %zu %s x %zu %s) and %zu "
                    "full-rank %s on %d %s", config_path, lora_runs,
                    plural(lora_runs, "fit", "fits"), cfg.lora_rank.count,
                    plural(cfg.lora_rank.count, "rank", "ranks"), cfg.lora_alpha.count,
                    plural(cfg.lora_alpha.count, "alpha", "alphas"),
                    cfg.lora_scaling.count,
                    plural(cfg.lora_scaling.count, "scaling", "scalings"), cfg.n_lora_seeds,
                    plural(cfg.n_lora_seeds, "seed", "seeds"), cfg.n_lora_seeds,
                    plural(cfg.n_lora_seeds, "baseline", "baselines"), used_threads,
                    plural((size_t)used_threads, "thread", "threads"));
    }
    int lock = dl_output_folder_lock(output, &err);
    if (lock < 0) {
        dl_log_error("%s", err.message);
        dl_config_free(&cfg);
        return DL_EXIT_FAILED;
    }

    if (resume && !cfg.has_drift)
        dl_log_info("%s has no [drift] section and LoRA fits are not kept, so "
                    "--resume fits every adapter again", config_path);
    interrupt_has_lora = cfg.has_lora;
    signal(SIGINT, handle_interrupt);
    signal(SIGTERM, handle_interrupt);
    dl_lora_sweep_result lora_result = {0};
    if (cfg.has_lora && run_lora_sweep(&cfg, threads, &lora_result, &err) != 0) {
        dl_log_error("%s", err.message);
        dl_output_folder_unlock(lock);
        dl_config_free(&cfg);
        return DL_EXIT_FAILED;
    }
    lora_request lora = {.cfg = &cfg, .result = &lora_result};
    dl_sweep_options sweep_options = {
        .threads = threads,
        .resume = resume,
        .show_progress = dl_log_get_level() >= DL_LOG_NORMAL && isatty(STDERR_FILENO),
        .extra_writer = cfg.has_lora ? write_lora_group : NULL,
        .extra_writer_context = &lora,
    };
    dl_point_key_numbers *key_numbers = NULL;
    double start = now_seconds();
    int run_status = cfg.has_drift
                         ? dl_sweep_run(&cfg, results_path, &sweep_options, &key_numbers, &err)
                         : dl_store_lora_create(results_path, &cfg, DRIFTLAB_VERSION,
                                                &lora_result, &err);
    dl_lora_sweep_result_free(&lora_result);
    if (run_status != 0) {
        dl_log_error("%s", err.message);
        dl_output_folder_unlock(lock);
        dl_config_free(&cfg);
        return DL_EXIT_FAILED;
    }
    if (cfg.has_drift)
        dl_log_verbose("simulated and stored %zu runs in %.2f s", plan.n_runs,
                       now_seconds() - start);

    if (dl_log_get_level() >= DL_LOG_NORMAL) {
        if (cfg.has_drift)
            print_key_numbers(&plan, key_numbers);
        if (cfg.has_lora && print_lora_key_numbers(results_path, &err) != 0)
            dl_log_error("%s", err.message);
        fflush(stdout);
        dl_log_info("wrote %s", results_path);
    }
    free(key_numbers);

    /* the runs are over: an interrupt now ends the render at once, as it
     * does for driftlab render, instead of promising to keep runs */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);

    /* results.h5 is new, so a report of the old one must go even when no
     * render follows or the render fails before it removes it */
    int exit_status = DL_EXIT_OK;
    if (dl_render_remove_reports(output, &err) != 0) {
        dl_log_error("%s", err.message);
        exit_status = DL_EXIT_FAILED;
        render = false;
    }

    /* the figures and the report, in the config's formats unless --format */
    if (render) {
        start = now_seconds();
        if (dl_render(results_path, output, formats != 0 ? formats : cfg.formats, &err) != 0) {
            dl_log_error("%s", err.message);
            dl_log_error("the results are complete in %s; draw the figures again with "
                         "driftlab render %s", results_path, results_path);
            exit_status = DL_EXIT_FAILED;
        } else {
            dl_log_verbose("drew the figures and the report in %.2f s", now_seconds() - start);
            dl_log_info("wrote the figures, %s/report.html, report.pdf and manifest.json",
                        output);
        }
    }
    dl_output_folder_unlock(lock);
    dl_config_free(&cfg);
    return exit_status;
}

/* ---- render ---------------------------------------------------------------- */

static int command_render(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'F'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL, *formats_text = NULL;
    int option;
    while ((option = getopt_long(argc, argv, "o:qvh", options, NULL)) != -1) {
        switch (option) {
        case 'o': output = optarg; break;
        case 'F': formats_text = optarg; break;
        case 'q': dl_log_set_level(DL_LOG_QUIET); break;
        case 'v': dl_log_set_level(DL_LOG_VERBOSE); break;
        case 'h': fputs(render_help, stdout); return DL_EXIT_OK;
        default: fputs(render_help, stderr); return DL_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        dl_log_error("render takes one results file, got %d arguments; see driftlab render "
                     "--help", argc - optind);
        return DL_EXIT_USAGE;
    }
    const char *results_path = argv[optind];

    dl_error err;
    unsigned formats = 0;
    if (formats_text != NULL && (formats = parse_formats(formats_text, &err)) == 0) {
        dl_log_error("%s", err.message);
        return DL_EXIT_USAGE;
    }
    if (dl_render_check_environment(&err) != 0) {
        dl_log_error("%s; nothing was written", err.message);
        return DL_EXIT_USAGE;
    }

    /* the default output folder: the one that contains the results file */
    char folder[4096], output_dir[4096];
    if (output == NULL) {
        const char *slash = strrchr(results_path, '/');
        size_t length = slash == NULL ? 0 : (size_t)(slash - results_path);
        if (length >= sizeof folder) {
            dl_log_error("%s: the path is too long (%zu characters)", results_path,
                         strlen(results_path));
            return DL_EXIT_USAGE;
        }
        if (slash == NULL)
            snprintf(folder, sizeof folder, ".");
        else if (length == 0)
            snprintf(folder, sizeof folder, "/");
        else
            snprintf(folder, sizeof folder, "%.*s", (int)length, results_path);
        output = folder;
    }

    if (output[0] == '\0') {
        dl_log_error("-o: the output folder is empty; give a folder name");
        return DL_EXIT_USAGE;
    }
    if (trim_folder(output, output_dir, sizeof output_dir) != 0) {
        dl_log_error("-o: the output path is too long (%zu characters)", strlen(output));
        return DL_EXIT_USAGE;
    }
    output = output_dir;
    int lock = dl_output_folder_lock(output, &err);
    if (lock < 0) {
        dl_log_error("%s", err.message);
        return DL_EXIT_FAILED;
    }
    int status = dl_render(results_path, output, formats, &err);
    dl_output_folder_unlock(lock);
    if (status != 0) {
        dl_log_error("%s", err.message);
        return DL_EXIT_FAILED;
    }
    dl_log_info("wrote the figures, %s/report.html, report.pdf and manifest.json", output);
    return DL_EXIT_OK;
}

/* ---- check --------------------------------------------------------------- */

/* Prints the [lora] part of a config for check. */
static void print_lora_plan(const dl_config *cfg)
{
    const dl_lora_task_params *task = &cfg->lora_task;
    const dl_lora_train_params *train = &cfg->lora_train;
    printf("lora      D %d x N %d, task rank %d, init %s, %s at %g for %d "
           "steps\n", task->input_dim, task->output_dim, task->task_rank,
           dl_lora_init_name(cfg->lora_adapter.init),
           dl_lora_optimizer_name(train->optimizer), train->learning_rate, train->steps);
    printf("lora axis rank (%zu %s): ", cfg->lora_rank.count,
           plural(cfg->lora_rank.count, "value", "values"));
    print_axis_values(stdout, &cfg->lora_rank);
    printf("\nlora axis alpha (%zu %s): ", cfg->lora_alpha.count,
           plural(cfg->lora_alpha.count, "value", "values"));
    print_axis_values(stdout, &cfg->lora_alpha);
    printf("\nlora axis scaling (%zu %s):", cfg->lora_scaling.count,
           plural(cfg->lora_scaling.count, "value", "values"));
    for (size_t i = 0; i < cfg->lora_scaling.count; i++)
        printf(i == 0 ? " %s" : ", %s", dl_lora_scaling_name(
                          (dl_lora_scaling)cfg->lora_scaling.values[i]));
    printf("\nlora seeds %zu %s: ", cfg->n_lora_seeds,
           plural(cfg->n_lora_seeds, "value", "values"));
    for (size_t s = 0; s < cfg->n_lora_seeds && s < 8; s++)
        printf(s == 0 ? "%lld" : ", %lld", (long long)cfg->lora_seeds[s]);
    if (cfg->n_lora_seeds > 8)
        printf(", ...");
    size_t runs = dl_lora_sweep_run_count(cfg);
    printf("\nlora runs %zu %s and %zu full-rank %s\n", runs, plural(runs, "fit", "fits"),
           cfg->n_lora_seeds, plural(cfg->n_lora_seeds, "baseline", "baselines"));
}

static int command_check(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(check_help, stdout);
        return DL_EXIT_OK;
    }
    if (argc != 2) {
        dl_log_error("check takes one config file and no options, got %d arguments; "
                     "see driftlab check --help", argc - 1);
        return DL_EXIT_USAGE;
    }

    dl_config cfg;
    if (load_config(argv[1], &cfg) != 0)
        return DL_EXIT_USAGE;
    dl_plan plan;
    dl_plan_init(&plan, &cfg);
    int threads = dl_sweep_thread_count(cfg.threads);
    if ((size_t)threads > plan.n_runs)
        threads = (int)plan.n_runs; /* as run does */
    dl_sweep_estimate estimate;
    dl_sweep_estimate_plan(&plan, threads, &estimate);

    printf("config    %s\n", cfg.path);
    printf("name      %s\n", cfg.name);
    if (cfg.has_drift) {
        printf("model     rule %s, projection %s, %d clusters x %d tokens, d_model %d, "
               "d_head %d\n", dl_rule_name(cfg.rule), dl_projection_name(cfg.projection),
               cfg.clusters, cfg.tokens_per_cluster, cfg.d_model, cfg.d_head);
        printf("run       prompt of %d tokens, %d steps, attention kept for %d seeds\n",
               cfg.prompt_length, cfg.steps, cfg.keep_attention);
    }
    for (size_t a = 0; cfg.has_drift && a < plan.n_axes; a++) {
        const dl_value_list *list = &cfg.sweep[plan.axis_key[a]];
        printf("axis %zu    %s (%zu values): ", a + 1, dl_sweep_key_name(plan.axis_key[a]),
               list->count);
        print_axis_values(stdout, list);
        putchar('\n');
    }
    if (cfg.has_drift) {
        printf("seeds     %zu %s: ", plan.n_seeds, plural(plan.n_seeds, "value", "values"));
        for (size_t s = 0; s < plan.n_seeds && s < 8; s++)
            printf(s == 0 ? "%lld" : ", %lld", (long long)cfg.seeds[s]);
        printf(plan.n_seeds > 8 ? ", ...\n" : "\n");
    }
    double mb = 1024.0 * 1024.0;
    if (cfg.has_drift) {
        printf("runs      %zu (%zu %s x %zu %s)\n", plan.n_runs, plan.n_points,
               plural(plan.n_points, "sweep point", "sweep points"), plan.n_seeds,
               plural(plan.n_seeds, "seed", "seeds"));
        printf("memory    about %.1f MB on %d threads (limit %g MB)\n",
               estimate.memory / mb, threads, cfg.max_memory_mb);
        printf("output    about %.1f MB before compression (limit %g MB)\n",
               estimate.output / mb, cfg.max_output_mb);
    }
    if (cfg.has_lora) {
        print_lora_plan(&cfg);
        dl_lora_sweep_estimate lora;
        dl_lora_sweep_estimate_plan(&cfg, cfg.threads, &lora);
        const char *shared = cfg.has_drift ? " with the drift sweep" : "";
        printf("lora memory about %.1f MB (limit %g MB%s)\n", lora.memory / mb,
               cfg.max_memory_mb, shared);
        printf("lora output about %.1f MB (limit %g MB%s)\n", lora.output / mb,
               cfg.max_output_mb, shared);
    }

    int status = DL_EXIT_OK;
    dl_error err;
    if (check_limits(&cfg, &plan, threads, cfg.threads, &err) != 0) {
        dl_log_error("%s", err.message);
        status = DL_EXIT_USAGE;
    }
    dl_config_free(&cfg);
    return status;
}

/* ---- info ------------------------------------------------------------------ */

static int command_info(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(info_help, stdout);
        return DL_EXIT_OK;
    }
    if (argc != 2) {
        fputs(info_help, stderr);
        return DL_EXIT_USAGE;
    }
    dl_error err;
    if (dl_store_print_info(argv[1], stdout, &err) != 0) {
        dl_log_error("%s", err.message);
        return DL_EXIT_FAILED;
    }
    return DL_EXIT_OK;
}

/* ---- dispatch ------------------------------------------------------------- */

static int print_help_of(const char *command, FILE *out)
{
    if (command == NULL)
        fputs(main_help, out);
    else if (strcmp(command, "run") == 0)
        fputs(run_help, out);
    else if (strcmp(command, "check") == 0)
        fputs(check_help, out);
    else if (strcmp(command, "render") == 0)
        fputs(render_help, out);
    else if (strcmp(command, "info") == 0)
        fputs(info_help, out);
    else if (strcmp(command, "adapter") == 0)
        fputs(dl_cmd_adapter_help, out);
    else {
        dl_log_error("unknown command '%s': must be run, check, render, info, adapter or "
                     "help",
                     command);
        return DL_EXIT_USAGE;
    }
    return DL_EXIT_OK;
}

int dl_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return DL_EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0)
        return print_help_of(NULL, stdout);
    if (strcmp(command, "-V") == 0 || strcmp(command, "--version") == 0) {
        printf("driftlab %s\n", DRIFTLAB_VERSION);
        return DL_EXIT_OK;
    }
    if (strcmp(command, "help") == 0)
        return print_help_of(argc > 2 ? argv[2] : NULL, stdout);

    /* each command gets its own name as argv[0], as getopt expects */
    if (strcmp(command, "run") == 0)
        return command_run(argc - 1, argv + 1);
    if (strcmp(command, "check") == 0)
        return command_check(argc - 1, argv + 1);
    if (strcmp(command, "render") == 0)
        return command_render(argc - 1, argv + 1);
    if (strcmp(command, "info") == 0)
        return command_info(argc - 1, argv + 1);
    if (strcmp(command, "adapter") == 0)
        return dl_cmd_adapter(argc - 1, argv + 1);

    dl_log_error("unknown command '%s': must be run, check, render, info, adapter or help; "
                 "see driftlab --help", command);
    return DL_EXIT_USAGE;
}
