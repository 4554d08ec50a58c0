/* test_config.c - unit tests of the INI config: defaults, every value form,
 * sweep axes, every error with its line, and lines longer than inih's
 * 200-byte buffer.
 *
 * Messages written to diag are captured with open_memstream and checked
 * line by line, so a test names the exact text a user would see.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* ---- helpers ---- */

typedef struct {
    int status;
    dl_config cfg;
    char *messages;  /* everything written to diag */
} parse_result;

static parse_result parse_named(const char *text, const char *name)
{
    parse_result result;
    size_t size = 0;

    result.messages = NULL;
    FILE *diag = open_memstream(&result.messages, &size);
    assert_non_null(diag);
    result.status = dl_config_parse(text, name, &result.cfg, diag);
    fclose(diag);
    return result;
}

static parse_result parse(const char *text)
{
    return parse_named(text, "lecture.ini");
}

static void finish(parse_result *result)
{
    dl_config_free(&result->cfg);
    free(result->messages);
}

static void assert_parsed(const parse_result *result)
{
    if (result->status != 0 || result->messages[0] != '\0')
        fail_msg("parse failed with status %d:\n%s", result->status,
                 result->messages);
}

/* True when messages has a line equal to line. */
static int has_line(const char *messages, const char *line)
{
    size_t length = strlen(line);

    for (const char *at = strstr(messages, line); at != NULL;
         at = strstr(at + 1, line)) {
        int starts = at == messages || at[-1] == '\n';
        int ends = at[length] == '\n';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static size_t count_lines(const char *messages)
{
    size_t lines = 0;
    for (const char *p = messages; *p != '\0'; p++)
        lines += *p == '\n';
    return lines;
}

static void assert_zeroed(const dl_config *cfg)
{
    static const dl_config zero;
    if (memcmp(cfg, &zero, sizeof zero) != 0)
        fail_msg("the config was not zeroed after a failed parse");
}

/* Parses text, expecting failure with a message line equal to expected. */
static void assert_rejected_with(const char *text, const char *expected)
{
    parse_result result = parse(text);

    if (result.status != -1)
        fail_msg("accepted, expected the line \"%s\"", expected);
    if (!has_line(result.messages, expected))
        fail_msg("no line \"%s\" in:\n%s", expected, result.messages);
    assert_zeroed(&result.cfg);
    finish(&result);
}

/* Appends "temperature = 0.01, 0.02, ..., 1.00" with count values to
 * buffer, with the value at index bad (0-based) replaced by bad_text
 * unless bad_text is NULL. */
static void append_long_temperature_line(char *buffer, size_t size,
                                         size_t count, size_t bad,
                                         const char *bad_text)
{
    size_t used = strlen(buffer);
    used += (size_t)snprintf(buffer + used, size - used, "temperature = ");
    for (size_t i = 0; i < count; i++) {
        const char *separator = i + 1 < count ? ", " : "";
        if (bad_text != NULL && i == bad)
            used += (size_t)snprintf(buffer + used, size - used, "%s%s",
                                     bad_text, separator);
        else
            used += (size_t)snprintf(buffer + used, size - used, "%.2f%s",
                                     (double)(i + 1) / 100.0, separator);
    }
    snprintf(buffer + used, size - used, "\n");
}

/* ---- valid configs ---- */

static void drift_section_alone_gives_documented_defaults(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\n");
    const dl_config *cfg = &result.cfg;
    assert_parsed(&result);

    assert_string_equal(cfg->path, "lecture.ini");
    assert_string_equal(cfg->text, "[drift]\n");
    assert_int_equal(cfg->text_length, 8);
    assert_string_equal(cfg->name, "lecture");
    assert_int_equal(cfg->master_seed, 0);
    assert_int_equal(cfg->n_seeds, 8);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(cfg->seeds[i], (int64_t)i);
    assert_int_equal(cfg->threads, 0);
    assert_null(cfg->output_dir);
    assert_int_equal(cfg->formats,
                     DL_FORMAT_SVG | DL_FORMAT_PDF | DL_FORMAT_PNG);
    assert_true(cfg->max_memory_mb == 4096);
    assert_true(cfg->max_output_mb == 4096);

    assert_true(cfg->has_drift);
    assert_int_equal(cfg->rule, DL_RULE_CLUSTER);
    assert_int_equal(cfg->projection, DL_PROJECTION_IDENTITY);
    assert_int_equal(cfg->clusters, 4);
    assert_int_equal(cfg->tokens_per_cluster, 8);
    assert_int_equal(cfg->d_model, 32);
    assert_int_equal(cfg->d_head, 32);
    assert_int_equal(cfg->prompt_length, 8);
    assert_null(cfg->prompt);
    assert_int_equal(cfg->steps, 48);
    assert_int_equal(cfg->keep_attention, 2);
    assert_int_equal(cfg->n_axes, 0);

    static const double defaults[DL_SWEEP_COUNT] = {
        [DL_SWEEP_TEMPERATURE] = 1.0,
        [DL_SWEEP_TOP_K] = 0.0,
        [DL_SWEEP_TOP_P] = 1.0,
        [DL_SWEEP_MIN_P] = 0.0,
        [DL_SWEEP_REPETITION_PENALTY] = 1.0,
        [DL_SWEEP_GAIN] = 8.0,
        [DL_SWEEP_GAIN_OUT] = 8.0,
        [DL_SWEEP_CLUSTER_SPREAD] = 0.5,
    };
    for (int k = 0; k < DL_SWEEP_COUNT; k++) {
        assert_int_equal(cfg->sweep[k].count, 1);
        assert_int_equal(cfg->sweep[k].line, 0);
        if (cfg->sweep[k].values[0] != defaults[k])
            fail_msg("%s defaults to %g, expected %g",
                     dl_sweep_key_name((dl_sweep_key)k),
                     cfg->sweep[k].values[0], defaults[k]);
    }
    finish(&result);
}

static void every_key_is_read(void **state)
{
    (void)state;
    parse_result result = parse(
        "[experiment]\n"
        "name = talk-2024.v1\n"
        "seed = 18446744073709551615\n"
        "seeds = 3\n"
        "threads = 4\n"
        "output = /tmp/out dir\n"
        "formats = png, svg\n"
        "max_memory_mb = 512.5\n"
        "max_output_mb = 100\n"
        "[drift]\n"
        "rule = lm\n"
        "projection = random\n"
        "clusters = 3\n"
        "tokens_per_cluster = 5\n"
        "d_model = 16\n"
        "d_head = 8\n"
        "prompt = 0, 14, 14, 7\n"
        "steps = 100\n"
        "keep_attention = 3\n"
        "temperature = 0.7\n"
        "top_k = 5\n"
        "top_p = 0.9\n"
        "min_p = 0.05\n"
        "repetition_penalty = 1.2\n"
        "gain = 4\n"
        "gain_out = 2\n"
        "cluster_spread = 0\n");
    const dl_config *cfg = &result.cfg;
    assert_parsed(&result);

    assert_string_equal(cfg->name, "talk-2024.v1");
    assert_true(cfg->master_seed == UINT64_MAX);
    assert_int_equal(cfg->n_seeds, 3);
    assert_int_equal(cfg->seeds[2], 2);
    assert_int_equal(cfg->threads, 4);
    assert_string_equal(cfg->output_dir, "/tmp/out dir");
    assert_int_equal(cfg->formats, DL_FORMAT_PNG | DL_FORMAT_SVG);
    assert_true(cfg->max_memory_mb == 512.5);
    assert_true(cfg->max_output_mb == 100);
    assert_int_equal(cfg->rule, DL_RULE_LM);
    assert_int_equal(cfg->projection, DL_PROJECTION_RANDOM);
    assert_int_equal(cfg->clusters, 3);
    assert_int_equal(cfg->tokens_per_cluster, 5);
    assert_int_equal(cfg->d_model, 16);
    assert_int_equal(cfg->d_head, 8);
    assert_int_equal(cfg->prompt_length, 4);
    assert_int_equal(cfg->prompt[0], 0);
    assert_int_equal(cfg->prompt[1], 14);
    assert_int_equal(cfg->prompt[2], 14);
    assert_int_equal(cfg->prompt[3], 7);
    assert_int_equal(cfg->steps, 100);
    assert_int_equal(cfg->keep_attention, 3);
    assert_true(cfg->sweep[DL_SWEEP_TEMPERATURE].values[0] == 0.7);
    assert_int_equal(cfg->sweep[DL_SWEEP_TEMPERATURE].line, 20);
    assert_true(cfg->sweep[DL_SWEEP_TOP_K].values[0] == 5);
    assert_true(cfg->sweep[DL_SWEEP_TOP_P].values[0] == 0.9);
    assert_true(cfg->sweep[DL_SWEEP_MIN_P].values[0] == 0.05);
    assert_true(cfg->sweep[DL_SWEEP_REPETITION_PENALTY].values[0] == 1.2);
    assert_true(cfg->sweep[DL_SWEEP_GAIN].values[0] == 4);
    assert_true(cfg->sweep[DL_SWEEP_GAIN_OUT].values[0] == 2);
    assert_true(cfg->sweep[DL_SWEEP_CLUSTER_SPREAD].values[0] == 0);
    assert_int_equal(cfg->n_axes, 0);
    finish(&result);
}

static void every_value_form_gives_its_values(void **state)
{
    (void)state;
    parse_result result = parse(
        "[drift]\n"
        "temperature = 0.7\n"
        "top_p = 0.5, 0.9, 1\n"
        "gain = 0:8:5\n"
        "gain_out = 1:100:3:log\n"
        "top_k = 1..4\n");
    const dl_config *cfg = &result.cfg;
    assert_parsed(&result);

    const dl_value_list *list = &cfg->sweep[DL_SWEEP_TEMPERATURE];
    assert_int_equal(list->count, 1);
    assert_true(list->values[0] == 0.7);

    list = &cfg->sweep[DL_SWEEP_TOP_P];
    assert_int_equal(list->count, 3);
    assert_true(list->values[0] == 0.5 && list->values[1] == 0.9
                && list->values[2] == 1.0);

    list = &cfg->sweep[DL_SWEEP_GAIN];
    assert_int_equal(list->count, 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(list->values[i] == 2.0 * (double)i);

    /* numpy.geomspace(1, 100, 3) is [1.0, 10.0, 100.0] */
    list = &cfg->sweep[DL_SWEEP_GAIN_OUT];
    assert_int_equal(list->count, 3);
    assert_true(list->values[0] == 1.0 && list->values[1] == 10.0
                && list->values[2] == 100.0);

    list = &cfg->sweep[DL_SWEEP_TOP_K];
    assert_int_equal(list->count, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(list->values[i] == (double)(i + 1));
    finish(&result);
}

static void axes_follow_file_order(void **state)
{
    (void)state;
    parse_result result = parse(
        "[drift]\n"
        "gain = 4, 8\n"
        "temperature = 0:2:5\n"
        "min_p = 0.1\n"
        "top_p = 0.8, 0.9, 1\n");
    const dl_config *cfg = &result.cfg;
    assert_parsed(&result);

    assert_int_equal(cfg->n_axes, 3);
    assert_int_equal(cfg->axes[0], DL_SWEEP_GAIN);
    assert_int_equal(cfg->axes[1], DL_SWEEP_TEMPERATURE);
    assert_int_equal(cfg->axes[2], DL_SWEEP_TOP_P);
    assert_int_equal(cfg->sweep[DL_SWEEP_GAIN].line, 2);
    assert_int_equal(cfg->sweep[DL_SWEEP_TEMPERATURE].line, 3);
    assert_int_equal(cfg->sweep[DL_SWEEP_MIN_P].line, 4);
    assert_int_equal(cfg->sweep[DL_SWEEP_TOP_P].line, 5);
    finish(&result);
}

static void name_defaults_to_file_name(void **state)
{
    (void)state;
    parse_result result = parse_named("[drift]\n", "configs/lecture.ini");
    assert_parsed(&result);
    assert_string_equal(result.cfg.name, "lecture");
    finish(&result);

    result = parse_named("[drift]\n", "runs/my run (2).ini");
    assert_parsed(&result);
    assert_string_equal(result.cfg.name, "my_run__2_");
    finish(&result);

    result = parse_named("[drift]\n", "plain");
    assert_parsed(&result);
    assert_string_equal(result.cfg.name, "plain");
    finish(&result);
}

static void seeds_count_or_explicit_values(void **state)
{
    (void)state;
    parse_result result = parse("[experiment]\nseeds = 2\n[drift]\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.n_seeds, 2);
    assert_int_equal(result.cfg.seeds[0], 0);
    assert_int_equal(result.cfg.seeds[1], 1);
    finish(&result);

    result = parse("[experiment]\nseeds = 5, 9, 3\n[drift]\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.n_seeds, 3);
    assert_int_equal(result.cfg.seeds[0], 5);
    assert_int_equal(result.cfg.seeds[1], 9);
    assert_int_equal(result.cfg.seeds[2], 3);
    finish(&result);

    result = parse("[experiment]\nseeds = 42..42\n[drift]\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.n_seeds, 1);
    assert_int_equal(result.cfg.seeds[0], 42);
    finish(&result);
}

static void keep_attention_default_shrinks_to_seed_count(void **state)
{
    (void)state;
    parse_result result = parse("[experiment]\nseeds = 1\n[drift]\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.keep_attention, 1);
    finish(&result);
}

static void prompt_sets_prompt_length(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\nprompt = 3, 1, 4\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.prompt_length, 3);
    finish(&result);

    result = parse("[drift]\nprompt_length = 3\nprompt = 3, 1, 4\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.prompt_length, 3);
    finish(&result);
}

static void d_head_follows_d_model_by_default(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\nd_model = 16\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.d_head, 16);
    finish(&result);

    result = parse("[drift]\nprojection = random\nd_model = 16\nd_head = 4\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.d_head, 4);
    finish(&result);

    result = parse("[drift]\nd_model = 16\nd_head = 16\n");
    assert_parsed(&result);
    finish(&result);
}

static void comments_whitespace_and_crlf_are_accepted(void **state)
{
    (void)state;
    parse_result result = parse(
        "\xEF\xBB\xBF; a comment\r\n"
        "# another comment\r\n"
        "\r\n"
        "  [drift]   ; the model\r\n"
        "\ttemperature\t=\t0.5 ; inline comment\r\n"
        "   gain = 2;3\r\n"
        "steps = 10");
    assert_true(result.status == -1);

    /* ';' without whitespace before it is part of the value */
    assert_true(has_line(result.messages, "lecture.ini:6: gain: '2;3' is "
                         "invalid: '2;3' is not a number; a comment after a "
                         "value needs whitespace and ';' before it "
                         "('0.5 ; note')"));
    assert_int_equal(count_lines(result.messages), 1);
    finish(&result);

    result = parse("\xEF\xBB\xBF[drift]\r\n"
                   "\ttemperature\t=\t0.5 ; inline comment\r\n"
                   "steps = 10");
    assert_parsed(&result);
    assert_true(result.cfg.sweep[DL_SWEEP_TEMPERATURE].values[0] == 0.5);
    assert_int_equal(result.cfg.sweep[DL_SWEEP_TEMPERATURE].line, 2);
    assert_int_equal(result.cfg.steps, 10);
    finish(&result);
}

static void indented_key_is_a_key_not_a_continuation(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\ntemperature = 0.5\n    gain = 2\n");
    assert_parsed(&result);
    assert_true(result.cfg.sweep[DL_SWEEP_TEMPERATURE].values[0] == 0.5);
    assert_true(result.cfg.sweep[DL_SWEEP_GAIN].values[0] == 2);
    finish(&result);
}

static void repeated_section_continues_it(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\nsteps = 5\n[experiment]\n"
                                "seeds = 2\n[drift]\ngain = 1\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.steps, 5);
    assert_true(result.cfg.sweep[DL_SWEEP_GAIN].values[0] == 1);
    finish(&result);
}

/* ---- lines longer than inih's buffer ---- */

static void hundred_temperatures_on_one_line_parse(void **state)
{
    (void)state;
    char text[4096] = "[drift]\n";
    append_long_temperature_line(text, sizeof text, 100, 0, NULL);
    assert_true(strlen(text) - strlen("[drift]\n") > 600);

    parse_result result = parse(text);
    assert_parsed(&result);

    const dl_value_list *list = &result.cfg.sweep[DL_SWEEP_TEMPERATURE];
    assert_int_equal(list->count, 100);
    assert_int_equal(list->line, 2);
    for (size_t i = 0; i < 100; i++) {
        char expected[16];
        snprintf(expected, sizeof expected, "%.2f", (double)(i + 1) / 100.0);
        if (list->values[i] != strtod(expected, NULL))
            fail_msg("value %zu is %.17g, expected %s", i, list->values[i],
                     expected);
    }
    assert_int_equal(result.cfg.n_axes, 1);
    finish(&result);
}

static void long_line_with_comment_and_more_keys_parses(void **state)
{
    (void)state;
    char text[4096] = "[drift]\ngain = 1\n";
    append_long_temperature_line(text, sizeof text, 100, 0, NULL);

    /* drop the newline to add a comment whose commas must not split */
    text[strlen(text) - 1] = '\0';
    strcat(text, " ; a comment, with, commas, that, runs, on\nsteps = 7\n");

    parse_result result = parse(text);
    assert_parsed(&result);
    assert_int_equal(result.cfg.sweep[DL_SWEEP_TEMPERATURE].count, 100);
    assert_int_equal(result.cfg.steps, 7);
    finish(&result);
}

static void long_line_error_in_tail_reports_its_line(void **state)
{
    (void)state;
    char text[4096] = "[experiment]\nseeds = 4\n[drift]\n";
    append_long_temperature_line(text, sizeof text, 100, 96, "0.97x");
    strcat(text, "steps = 0\n");

    parse_result result = parse(text);
    assert_int_equal(result.status, -1);
    if (strstr(result.messages, "lecture.ini:4: temperature: '0.01, 0.02")
        == NULL
        || strstr(result.messages, "is invalid: '0.97x' is not a number\n")
        == NULL)
        fail_msg("unexpected messages:\n%s", result.messages);
    assert_true(has_line(result.messages, "lecture.ini:5: steps: '0' is "
                         "invalid: must be an integer from 1 to 1000000"));
    assert_int_equal(count_lines(result.messages), 2);
    finish(&result);
}

static void long_line_range_error_reports_its_line(void **state)
{
    (void)state;
    char text[4096] = "[drift]\n\n";
    append_long_temperature_line(text, sizeof text, 100, 90, "-0.5");

    parse_result result = parse(text);
    assert_int_equal(result.status, -1);
    if (strstr(result.messages, "lecture.ini:3: temperature: ") == NULL
        || strstr(result.messages, "is invalid: must be >= 0, got -0.5\n")
        == NULL)
        fail_msg("unexpected messages:\n%s", result.messages);
    finish(&result);
}

/* With inih's 200-byte buffer the natural cut falls after item 31, so
 * item 32 would start the first continuation piece. inih takes a piece
 * that starts with '#' for a comment and drops it. So the reader must cut
 * elsewhere, and the item must reach the value check. */
static void hash_item_in_long_line_is_checked_not_dropped(void **state)
{
    (void)state;
    char text[4096] = "[drift]\n";
    append_long_temperature_line(text, sizeof text, 100, 31, "#0.32");

    parse_result result = parse(text);
    assert_int_equal(result.status, -1);
    if (strstr(result.messages, "'#0.32' is not a number") == NULL)
        fail_msg("unexpected messages:\n%s", result.messages);
    finish(&result);
}

static void long_line_without_comma_names_limit(void **state)
{
    (void)state;
    char text[1024] = "[drift]\n[experiment]\noutput = ";
    size_t used = strlen(text);
    memset(text + used, 'a', 300);
    strcpy(text + used + 300, "\n");

    assert_rejected_with(text, "lecture.ini:3: output: line is 309 "
                         "characters long, but inih reads at most 199 at a "
                         "time, and a longer value can only be split after a "
                         "comma that is at most 198 characters after the "
                         "previous one");
}

static void long_comment_line_is_ignored(void **state)
{
    (void)state;
    char text[2048] = "[drift]\n; ";
    size_t used = strlen(text);
    memset(text + used, 'c', 900);
    strcpy(text + used + 900, "\nsteps = 3\n");

    parse_result result = parse(text);
    assert_parsed(&result);
    assert_int_equal(result.cfg.steps, 3);
    finish(&result);
}

static void duplicate_long_line_is_not_appended(void **state)
{
    (void)state;
    char text[4096] = "[drift]\ntemperature = 0.5\n";
    append_long_temperature_line(text, sizeof text, 100, 0, NULL);

    parse_result result = parse(text);
    assert_int_equal(result.status, -1);
    assert_true(has_line(result.messages, "lecture.ini:3: duplicate key "
                         "'temperature' in [drift]; it was first given on "
                         "line 2"));
    assert_int_equal(count_lines(result.messages), 1);
    finish(&result);
}

/* ---- errors: one line each, with file, line, key and value ---- */

static void negative_temperature_names_line_and_allowed_range(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nsteps = 10\ntemperature = -0.5\n",
                         "lecture.ini:3: temperature: '-0.5' is invalid: "
                         "must be >= 0");
}

static void error_on_line_57_reports_line_57(void **state)
{
    (void)state;
    char text[4096] = "";

    strcat(text, "[experiment]\n");
    for (int line = 2; line <= 49; line++)
        strcat(text, line % 3 == 0 ? "\n" : "; filler comment, with a comma\n");
    strcat(text, "[drift]\n");                /* line 50 */
    for (int line = 51; line <= 56; line++)
        strcat(text, "  ; indented comment\n");
    strcat(text, "temperature = 0.2, -1\n");  /* line 57 */

    assert_rejected_with(text, "lecture.ini:57: temperature: '0.2, -1' is "
                         "invalid: must be >= 0, got -1");
}

static void unknown_key_suggests_nearest(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nsteps = 5\ntemprature = 0.5\n",
                         "lecture.ini:3: unknown key 'temprature' in [drift]; "
                         "did you mean 'temperature'?");
    assert_rejected_with("[experiment]\nseed = 1\nthread = 2\n[drift]\n",
                         "lecture.ini:3: unknown key 'thread' in "
                         "[experiment]; did you mean 'threads'?");
    assert_rejected_with("[drift]\ntop-k = 5\n",
                         "lecture.ini:2: unknown key 'top-k' in [drift]; did "
                         "you mean 'top_k'?");
}

static void unknown_key_far_from_all_lists_keys(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\ncolour = red\n[drift]\n",
                         "lecture.ini:2: unknown key 'colour' in "
                         "[experiment]; the keys of [experiment] are name, "
                         "seed, seeds, threads, output, formats, "
                         "max_memory_mb, max_output_mb");
}

static void key_in_wrong_section_names_its_section(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\ntemperature = 1\n[drift]\n",
                         "lecture.ini:2: key 'temperature' belongs in "
                         "[drift], not in [experiment]");
}

static void section_typo_suggests_nearest(void **state)
{
    (void)state;
    parse_result result = parse("[drfit]\ntemperature = 0.5\n");
    assert_int_equal(result.status, -1);
    assert_true(has_line(result.messages, "lecture.ini:1: unknown section "
                         "'drfit'; did you mean 'drift'?"));
    assert_true(has_line(result.messages, "lecture.ini: no [drift] or [lora] "
                         "section: nothing to simulate"));

    /* keys of an unknown section are not reported again */
    assert_int_equal(count_lines(result.messages), 2);
    finish(&result);

    assert_rejected_with("[drift]\n[expirement]\n",
                         "lecture.ini:2: unknown section 'expirement'; did "
                         "you mean 'experiment'?");
    assert_rejected_with("[drift]\n[output]\n",
                         "lecture.ini:2: unknown section 'output'; the "
                         "sections are [experiment], [drift], [lora] and [figures]");
    assert_rejected_with("[drift]\n[figure]\n",
                         "lecture.ini:2: unknown section 'figure'; did you "
                         "mean 'figures'?");
}

static void lora_section_parses_keys(void **state)
{
    (void)state;
    parse_result result = parse("[lora]\nD = 16\nN = 8\ntask_rank = 2\n"
                                "task_scale = 2.5\ntask_decay = 0.5\n"
                                "task_noise = 0.1\nn_train = 32\n"
                                "n_eval = 24\nn_old = 16\nrank = 1..4\n"
                                "alpha = 1, 4\nscaling = rslora\n"
                                "init = gaussian\noptimizer = sgd\n"
                                "learning_rate = 0.05\nsteps = 20\n"
                                "batch_size = 8\ncurve_length = 5\n");
    assert_parsed(&result);
    const dl_config *cfg = &result.cfg;
    assert_false(cfg->has_drift);
    assert_true(cfg->has_lora);
    assert_int_equal(cfg->lora_task.input_dim, 16);
    assert_int_equal(cfg->lora_task.output_dim, 8);
    assert_int_equal(cfg->lora_task.task_rank, 2);
    assert_true(cfg->lora_task.task_scale == 2.5);
    assert_true(cfg->lora_task.task_decay == 0.5);
    assert_true(cfg->lora_task.task_noise == 0.1);
    assert_int_equal(cfg->lora_task.n_train, 32);
    assert_int_equal(cfg->lora_task.n_eval, 24);
    assert_int_equal(cfg->lora_task.n_old, 16);
    assert_int_equal(cfg->lora_rank.count, 4);
    assert_true(cfg->lora_rank.values[3] == 4);
    assert_int_equal(cfg->lora_alpha.count, 2);
    assert_true(cfg->lora_alpha.values[1] == 4);
    assert_int_equal(cfg->lora_scaling.count, 1);
    assert_true(cfg->lora_scaling.values[0] == DL_LORA_SCALING_RSLORA);
    assert_int_equal(cfg->lora_adapter.init, DL_LORA_INIT_GAUSSIAN);
    assert_int_equal(cfg->lora_train.optimizer, DL_LORA_OPTIMIZER_SGD);
    assert_true(cfg->lora_train.learning_rate == 0.05);
    assert_int_equal(cfg->lora_train.steps, 20);
    assert_int_equal(cfg->lora_train.batch_size, 8);
    assert_int_equal(cfg->lora_train.curve_length, 5);
    finish(&result);
}

static void lora_defaults_come_from_params(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\n[lora]\n");
    assert_parsed(&result);
    const dl_config *cfg = &result.cfg;
    dl_lora_task_params task = dl_lora_task_params_default();
    dl_lora_adapter_params adapter = dl_lora_adapter_params_default();
    dl_lora_train_params train = dl_lora_train_params_default();
    assert_true(cfg->has_drift);
    assert_true(cfg->has_lora);
    assert_int_equal(cfg->lora_task.input_dim, task.input_dim);
    assert_int_equal(cfg->lora_task.n_train, task.n_train);
    assert_true(cfg->lora_task.task_scale == task.task_scale);
    assert_int_equal(cfg->lora_rank.count, 1);
    assert_true(cfg->lora_rank.values[0] == adapter.rank);
    assert_true(cfg->lora_alpha.values[0] == adapter.alpha);
    assert_int_equal(cfg->lora_train.steps, train.steps);
    assert_true(cfg->lora_train.learning_rate == train.learning_rate);
    finish(&result);
}

static void lora_rank_above_min_dimension(void **state)
{
    (void)state;
    assert_rejected_with("[lora]\nD = 16\nN = 8\nrank = 4, 9\n",
                         "lecture.ini:4: rank: '4, 9' is invalid: every rank "
                         "must be at most min(D, N) = 8, got 9, because B A "
                         "is D x N = 16 x 8 and cannot have a higher rank");
    assert_rejected_with("[lora]\nD = 4\nN = 8\ntask_rank = 5\nrank = 1\n",
                         "lecture.ini:4: task_rank: '5' is invalid: must be "
                         "at most min(D, N) = 4, because the task's update "
                         "is D x N = 4 x 8");
}

static void lora_rank_below_one(void **state)
{
    (void)state;
    assert_rejected_with("[lora]\nrank = 0\n",
                         "lecture.ini:2: rank: '0' is invalid: every rank "
                         "must be at least 1, got 0, because B is D x r and "
                         "A is r x N; set alpha = 0 to reproduce the base "
                         "model");
    assert_rejected_with("[lora]\nrank = -2, 1\n",
                         "lecture.ini:2: rank: '-2, 1' is invalid: every "
                         "rank must be at least 1, got -2, because B is D x "
                         "r and A is r x N; set alpha = 0 to reproduce the "
                         "base model");
}

/* A comma list of scalings becomes the third [lora] axis, in file order. */
static void lora_scaling_list_is_an_axis(void **state)
{
    (void)state;
    parse_result result = parse("[lora]\nscaling = rslora , none,standard\n");
    assert_int_equal(result.status, 0);
    assert_int_equal(result.cfg.lora_scaling.count, 3);
    assert_true(result.cfg.lora_scaling.values[0] == DL_LORA_SCALING_RSLORA);
    assert_true(result.cfg.lora_scaling.values[1] == DL_LORA_SCALING_NONE);
    assert_true(result.cfg.lora_scaling.values[2] == DL_LORA_SCALING_STANDARD);
    assert_int_equal(result.cfg.lora_scaling.line, 2);
    finish(&result);
}

/* [lora] seeds replace the [experiment] seeds for the LoRA sweep only;
 * without them the LoRA sweep uses the [experiment] seeds. */
static void lora_seeds_apply_to_lora_only(void **state)
{
    (void)state;
    parse_result own = parse("[experiment]\nseeds = 32\n[drift]\n"
                             "[lora]\nseeds = 3, 8\n");
    assert_int_equal(own.status, 0);
    assert_int_equal(own.cfg.n_seeds, 32);
    assert_int_equal(own.cfg.n_lora_seeds, 2);
    assert_int_equal(own.cfg.lora_seeds[0], 3);
    assert_int_equal(own.cfg.lora_seeds[1], 8);
    finish(&own);

    parse_result shared = parse("[experiment]\nseeds = 5, 6, 7\n[lora]\n");
    assert_int_equal(shared.status, 0);
    assert_int_equal(shared.cfg.n_lora_seeds, 3);
    assert_int_equal(shared.cfg.lora_seeds[2], 7);
    finish(&shared);

    assert_rejected_with("[lora]\nseeds = 0\n",
                         "lecture.ini:2: seeds: '0' is invalid: a single "
                         "number is the seed count and must be from 1 to "
                         "1000000; give explicit seed values as a list or "
                         "range, e.g. 7..7");
}

/* Without [drift] there is no temperature, kept seed or step for the
 * [figures] keys that choose a drift run; png_ppi still applies. */
static void drift_figure_keys_need_drift(void **state)
{
    (void)state;
    assert_rejected_with("[lora]\n[figures]\ntemperature = 0.5\n",
                         "lecture.ini:3: temperature: '0.5' is invalid: "
                         "applies to the drift figures only, and the config "
                         "has no [drift] section; remove it or add [drift]");
    assert_rejected_with("[lora]\n[figures]\nstrip_steps = 2\n",
                         "lecture.ini:3: strip_steps: '2' is invalid: "
                         "applies to the drift figures only, and the config "
                         "has no [drift] section; remove it or add [drift]");
    parse_result ppi = parse("[lora]\n[figures]\npng_ppi = 72\n");
    assert_int_equal(ppi.status, 0);
    assert_true(ppi.cfg.png_ppi == 72);
    finish(&ppi);
}

static void lora_invalid_values(void **state)
{
    (void)state;
    assert_rejected_with("[lora]\nalpha = -1\n",
                         "lecture.ini:2: alpha: '-1' is invalid: every alpha "
                         "must be from 0 to 1e+06, got -1; larger alphas "
                         "overflow Adam's squared gradients");
    assert_rejected_with("[lora]\nalpha = 0:1:5000\n",
                         "lecture.ini:2: alpha: '0:1:5000' is invalid: has "
                         "5000 values, more than 4096: the rank x alpha map "
                         "draws one cell per value");
    assert_rejected_with("[lora]\nalpha = 1, 1e160\n",
                         "lecture.ini:2: alpha: '1, 1e160' is invalid: every "
                         "alpha must be from 0 to 1e+06, got 1e+160; larger "
                         "alphas overflow Adam's squared gradients");
    assert_rejected_with("[lora]\nscaling = linear\n",
                         "lecture.ini:2: scaling: 'linear' is invalid: "
                         "'linear' is not a scaling; use 'standard', "
                         "'rslora' or 'none', or several separated by commas");
    assert_rejected_with("[lora]\nscaling = none, rslora, none\n",
                         "lecture.ini:2: scaling: 'none, rslora, none' is "
                         "invalid: 'none' is listed twice");
    assert_rejected_with("[lora]\nscaling = none,,rslora\n",
                         "lecture.ini:2: scaling: 'none,,rslora' is invalid: "
                         "item 2 is empty; list standard, rslora or none, "
                         "separated by commas");
    assert_rejected_with("[lora]\ntask_decay = 1.5\n",
                         "lecture.ini:2: task_decay: '1.5' is invalid: must "
                         "be in (0, 1], so that the singular values of the "
                         "task do not grow");
    assert_rejected_with("[lora]\nalpha = 2, 0\ninit = svd\n",
                         "lecture.ini:2: alpha: '2, 0' is invalid: alpha 0 "
                         "is not allowed with init = svd, because the svd "
                         "start divides the singular values of W by the "
                         "scale; use alphas > 0 or init = kaiming");
    assert_rejected_with("[lora]\nn_train = 8\nbatch_size = 16\n",
                         "lecture.ini:3: batch_size: '16' is invalid: must "
                         "be at most n_train = 8, or 0 for full batch");
    assert_rejected_with("[lora]\nsteps = 10, 20\n",
                         "lecture.ini:2: steps: '10, 20' is invalid: steps "
                         "takes one value; only rank and alpha can be swept "
                         "in [lora]");
}

static void lora_unknown_key_suggests_nearest(void **state)
{
    (void)state;
    assert_rejected_with("[lora]\nlearning_rat = 0.1\n",
                         "lecture.ini:2: unknown key 'learning_rat' in "
                         "[lora]; did you mean 'learning_rate'?");
    assert_rejected_with("[lora]\ntemperature = 0.5\n",
                         "lecture.ini:2: key 'temperature' belongs in "
                         "[drift], not in [lora]");
}

static void missing_drift_section_is_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\nseeds = 2\n",
                         "lecture.ini: no [drift] or [lora] section: "
                         "nothing to simulate");
    assert_rejected_with("", "lecture.ini: no [drift] or [lora] section: "
                         "nothing to simulate");
}

static void duplicate_key_names_first_line(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\ngain = 1\n\ngain = 2\n",
                         "lecture.ini:4: duplicate key 'gain' in [drift]; it "
                         "was first given on line 2");
}

static void key_before_any_section_is_rejected(void **state)
{
    (void)state;
    assert_rejected_with("; header\nseeds = 3\n[drift]\n",
                         "lecture.ini:2: key 'seeds' is outside any section; "
                         "put it under [experiment], [drift], [lora] or [figures]");
}

static void syntax_errors_carry_their_lines(void **state)
{
    (void)state;
    parse_result result = parse(
        "[drift\n"
        "[drift]\n"
        "temperature 0.5\n"
        "gain: 2\n"
        "= 3\n"
        "[experiment] seeds = 2\n"
        "a:b = 1\n");
    assert_int_equal(result.status, -1);

    static const char *const expected[] = {
        "lecture.ini:1: syntax error: section header '[drift' has no closing "
        "']'",
        "lecture.ini:3: syntax error: expected 'key = value', '[section]' or "
        "a comment, got 'temperature 0.5'",
        "lecture.ini:4: syntax error: expected 'key = value', '[section]' or "
        "a comment, got 'gain: 2'",
        "lecture.ini:5: syntax error: a key name is missing before '='",
        "lecture.ini:6: syntax error: unexpected text ' seeds = 2' after the "
        "section header; start a comment with ' ;'",
        "lecture.ini:7: syntax error: key 'a:b' contains ':'; write "
        "'key = value'",
    };
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!has_line(result.messages, expected[i]))
            fail_msg("no line \"%s\" in:\n%s", expected[i], result.messages);
    }
    assert_int_equal(count_lines(result.messages), 6);
    finish(&result);
}

static void every_error_is_reported_in_line_order(void **state)
{
    (void)state;
    parse_result result = parse(
        "[experiment]\n"
        "threads = -1\n"
        "[drift]\n"
        "top_p = 1.5\n"
        "colour = 3\n"
        "steps = 0\n");
    assert_int_equal(result.status, -1);
    assert_string_equal(result.messages,
        "lecture.ini:2: threads: '-1' is invalid: must be an integer from "
        "0 to 4096\n"
        "lecture.ini:4: top_p: '1.5' is invalid: must be in [0, 1]\n"
        "lecture.ini:5: unknown key 'colour' in [drift]; the keys of "
        "[drift] are rule, projection, clusters, tokens_per_cluster, "
        "d_model, d_head, prompt_length, prompt, steps, keep_attention, "
        "temperature, top_k, top_p, min_p, repetition_penalty, gain, "
        "gain_out, cluster_spread\n"
        "lecture.ini:6: steps: '0' is invalid: must be an integer from 1 to "
        "1000000\n");
    assert_zeroed(&result.cfg);
    finish(&result);
}

static void shape_key_with_list_is_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nclusters = 2, 4\n",
                         "lecture.ini:2: clusters: '2, 4' is invalid: "
                         "clusters sets array shapes, so it takes one value; "
                         "use one config per value");
    assert_rejected_with("[drift]\nsteps = 10..12\n",
                         "lecture.ini:2: steps: '10..12' is invalid: steps "
                         "sets array shapes, so it takes one value; use one "
                         "config per value");
    assert_rejected_with("[experiment]\nthreads = 1, 2\n[drift]\n",
                         "lecture.ini:2: threads: '1, 2' is invalid: threads "
                         "takes one value; only temperature, top_k, top_p, "
                         "min_p, repetition_penalty, gain, gain_out and "
                         "cluster_spread can be swept");
}

static void identity_projection_rejects_other_d_head(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nd_model = 32\nd_head = 16\n",
                         "lecture.ini:3: d_head: '16' is invalid: projection "
                         "= identity compares embeddings directly, so d_head "
                         "must equal d_model (32); remove d_head or set "
                         "projection = random");
}

static void keep_attention_above_seed_count_is_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\nseeds = 3\n[drift]\n"
                         "keep_attention = 4\n",
                         "lecture.ini:4: keep_attention: '4' is invalid: "
                         "must be at most the number of seeds (3)");
}

static void prompt_ids_outside_vocabulary_are_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nclusters = 4\ntokens_per_cluster = 8\n"
                         "prompt = 0, 31, 32\n",
                         "lecture.ini:4: prompt: '0, 31, 32' is invalid: "
                         "token ids must be in [0, 32) because clusters * "
                         "tokens_per_cluster = 32, got 32 (token 3)");
    assert_rejected_with("[drift]\nprompt = 1, -2\n",
                         "lecture.ini:2: prompt: '1, -2' is invalid: token "
                         "ids must be integers >= 0, got -2 (token 2)");
    assert_rejected_with("[drift]\nprompt = 1.5\n",
                         "lecture.ini:2: prompt: '1.5' is invalid: 1.5 is "
                         "not an integer");
    assert_rejected_with("[drift]\nprompt = 0..3\n",
                         "lecture.ini:2: prompt: '0..3' is invalid: the "
                         "prompt is a comma list of token ids, not a range");
}

static void prompt_length_unequal_to_prompt_is_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nprompt = 1, 2\nprompt_length = 3\n",
                         "lecture.ini:3: prompt_length: '3' is invalid: the "
                         "prompt on line 2 has 2 tokens; remove prompt_length "
                         "or set it to 2");
}

static void vocabulary_above_limit_is_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\ntokens_per_cluster = 128\n"
                         "clusters = 1024\n",
                         "lecture.ini:3: clusters: '1024' is invalid: the "
                         "vocabulary clusters * tokens_per_cluster = 1024 * "
                         "128 = 131072 exceeds the maximum of 65536 tokens");
}

static void integer_ranges_of_keys_are_enforced(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nclusters = 1025\n",
                         "lecture.ini:2: clusters: '1025' is invalid: must be "
                         "an integer from 1 to 1024");
    assert_rejected_with("[drift]\nd_model = 2.5\n",
                         "lecture.ini:2: d_model: '2.5' is invalid: 2.5 is "
                         "not an integer");
    assert_rejected_with("[drift]\ntop_k = 0:10:4\n",
                         "lecture.ini:2: top_k: '0:10:4' is invalid: value 2 "
                         "of the range (3.3333333333333335) is not an "
                         "integer");
    assert_rejected_with("[drift]\nprompt_length = 100001\n",
                         "lecture.ini:2: prompt_length: '100001' is invalid: "
                         "must be an integer from 1 to 100000");
}

static void sweep_ranges_are_enforced(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\ntop_p = 0, 1.5\n",
                         "lecture.ini:2: top_p: '0, 1.5' is invalid: must be "
                         "in [0, 1], got 1.5");
    assert_rejected_with("[drift]\nmin_p = -0.1\n",
                         "lecture.ini:2: min_p: '-0.1' is invalid: must be in "
                         "[0, 1]");
    assert_rejected_with("[drift]\nrepetition_penalty = 0\n",
                         "lecture.ini:2: repetition_penalty: '0' is invalid: "
                         "must be > 0");
    assert_rejected_with("[drift]\ngain = 1:-1:3\n",
                         "lecture.ini:2: gain: '1:-1:3' is invalid: must be "
                         ">= 0, got -1");
    assert_rejected_with("[drift]\ncluster_spread = 0.5x\n",
                         "lecture.ini:2: cluster_spread: '0.5x' is invalid: "
                         "'0.5x' is not a number");
    assert_rejected_with("[drift]\ntemperature = 1,,2\n",
                         "lecture.ini:2: temperature: '1,,2' is invalid: "
                         "item 2 of the list is empty");
    assert_rejected_with("[drift]\ntemperature = 0.5, 1, 0.5\n",
                         "lecture.ini:2: temperature: '0.5, 1, 0.5' is "
                         "invalid: the value 0.5 appears more than once; each "
                         "value of a sweep must be distinct");
    assert_rejected_with("[drift]\ntemperature = 0:1:0\n",
                         "lecture.ini:2: temperature: '0:1:0' is invalid: "
                         "count must be an integer >= 1, got 0");
    assert_rejected_with("[drift]\ngain_out = inf\n",
                         "lecture.ini:2: gain_out: 'inf' is invalid: 'inf' "
                         "is not a finite number");
    assert_rejected_with("[drift]\ntemperature =\n",
                         "lecture.ini:2: temperature: '' is invalid: the "
                         "value is empty: give a number, a comma list or a "
                         "range");
    assert_rejected_with("[drift]\ntop_k = 3000000000\n",
                         "lecture.ini:2: top_k: '3000000000' is invalid: "
                         "must be an integer from 0 to 2147483647");
    assert_rejected_with("[drift]\ntop_k = 1, 2147483648\n",
                         "lecture.ini:2: top_k: '1, 2147483648' is invalid: "
                         "must be an integer from 0 to 2147483647, got "
                         "2147483648");
}

static void experiment_values_are_checked(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\nname = my talk\n[drift]\n",
                         "lecture.ini:2: name: 'my talk' is invalid: the "
                         "space at character 3 is not allowed; a name has 1 "
                         "to 64 characters from A-Z, a-z, 0-9, '_', '.' and "
                         "'-'");
    assert_rejected_with("[experiment]\nname = ..\n[drift]\n",
                         "lecture.ini:2: name: '..' is invalid: must be 1 to "
                         "64 characters from A-Z, a-z, 0-9, '_', '.' and "
                         "'-', and not '.' or '..'");
    assert_rejected_with("[experiment]\nseed = 18446744073709551616\n"
                         "[drift]\n",
                         "lecture.ini:2: seed: '18446744073709551616' is "
                         "invalid: must be one decimal integer from 0 to "
                         "18446744073709551615");
    assert_rejected_with("[experiment]\nseed = -1\n[drift]\n",
                         "lecture.ini:2: seed: '-1' is invalid: must be one "
                         "decimal integer from 0 to 18446744073709551615");
    assert_rejected_with("[experiment]\nseeds = 0\n[drift]\n",
                         "lecture.ini:2: seeds: '0' is invalid: a single "
                         "number is the seed count and must be from 1 to "
                         "1000000; give explicit seed values as a list or "
                         "range, e.g. 7..7");
    assert_rejected_with("[experiment]\nseeds = 3, -1\n[drift]\n",
                         "lecture.ini:2: seeds: '3, -1' is invalid: seed "
                         "values must be integers from 0 to "
                         "9007199254740992, got -1");
    assert_rejected_with("[experiment]\nseeds = 1, 2, 1\n[drift]\n",
                         "lecture.ini:2: seeds: '1, 2, 1' is invalid: the "
                         "value 1 appears more than once; each value of a "
                         "sweep must be distinct");
    assert_rejected_with("[experiment]\nformats = svg, jpg\n[drift]\n",
                         "lecture.ini:2: formats: 'svg, jpg' is invalid: "
                         "'jpg' is not a format; use svg, pdf and png (lower "
                         "case), separated by commas");
    assert_rejected_with("[experiment]\nformats = png, png\n[drift]\n",
                         "lecture.ini:2: formats: 'png, png' is invalid: "
                         "'png' is listed twice");
    assert_rejected_with("[experiment]\nformats = PDF\n[drift]\n",
                         "lecture.ini:2: formats: 'PDF' is invalid: 'PDF' is "
                         "not a format; use svg, pdf and png (lower case), "
                         "separated by commas");
    assert_rejected_with("[experiment]\nformats =\n[drift]\n",
                         "lecture.ini:2: formats: '' is invalid: item 1 is "
                         "empty; list svg, pdf or png, separated by commas");
    assert_rejected_with("[experiment]\nmax_memory_mb = 0\n[drift]\n",
                         "lecture.ini:2: max_memory_mb: '0' is invalid: must "
                         "be > 0 (megabytes)");
    assert_rejected_with("[experiment]\noutput =\n[drift]\n",
                         "lecture.ini:2: output: '' is invalid: must be a "
                         "directory path; remove the key to use output/NAME");
    assert_rejected_with("[drift]\nrule = greedy\n",
                         "lecture.ini:2: rule: 'greedy' is invalid: must be "
                         "'cluster' or 'lm'");
    assert_rejected_with("[drift]\nprojection = Identity\n",
                         "lecture.ini:2: projection: 'Identity' is invalid: "
                         "must be 'identity' or 'random'");
}

/* ---- limits, encodings and hints ---- */

/* The product 2 x 65536^4 = 2^65 would wrap a 64-bit size_t to 0. */
static void sweep_above_run_limit_is_rejected(void **state)
{
    (void)state;
    parse_result result = parse("[experiment]\n"
                                "seeds = 2\n"
                                "[drift]\n"
                                "temperature = 0:1:65536\n"
                                "top_p = 0:1:65536\n"
                                "min_p = 0:1:65536\n"
                                "gain = 0:1:65536\n");
    assert_int_equal(result.status, -1);
    assert_string_equal(result.messages,
        "lecture.ini:5: top_p: '0:1:65536' is invalid: the sweep has more "
        "than 1000000000 runs (2 seeds x 65536 temperature values x 65536 "
        "top_p values = 8589934592 up to this key); use fewer values or "
        "split the sweep into several configs\n");
    finish(&result);

    /* seeds after the axes push the count over on their own line */
    assert_rejected_with("[drift]\n"
                         "temperature = 0:1:1000000\n"
                         "top_p = 0:1:1000\n"
                         "[experiment]\n"
                         "seeds = 2\n",
                         "lecture.ini:5: seeds: '2' is invalid: the sweep has "
                         "more than 1000000000 runs (1000000 temperature "
                         "values x 1000 top_p values x 2 seeds = 2000000000 "
                         "up to this key); use fewer values or split the "
                         "sweep into several configs");

    /* the default seeds count too */
    assert_rejected_with("[drift]\n"
                         "gain = 1..1000000\n"
                         "top_k = 0..199\n",
                         "lecture.ini:3: top_k: '0..199' is invalid: the "
                         "sweep has more than 1000000000 runs (8 default "
                         "seeds x 1000000 gain values x 200 top_k values = "
                         "1600000000 up to this key); use fewer values or "
                         "split the sweep into several configs");
}

static void run_limit_itself_is_accepted(void **state)
{
    (void)state;
    assert_int_equal(DL_CONFIG_RUNS_MAX, 1000000000);

    parse_result result = parse("[experiment]\n"
                                "seeds = 1000\n"
                                "[drift]\n"
                                "temperature = 0:1:1000\n"
                                "top_p = 0:1:1000\n");
    assert_parsed(&result);
    finish(&result);

    assert_rejected_with("[experiment]\n"
                         "seeds = 1001\n"
                         "[drift]\n"
                         "temperature = 0:1:1000\n"
                         "top_p = 0:1:1000\n",
                         "lecture.ini:5: top_p: '0:1:1000' is invalid: the "
                         "sweep has more than 1000000000 runs (1001 seeds x "
                         "1000 temperature values x 1000 top_p values = "
                         "1001000000 up to this key); use fewer values or "
                         "split the sweep into several configs");
}

static void threads_range_matches_command_line(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\nthreads = 70000\n[drift]\n",
                         "lecture.ini:2: threads: '70000' is invalid: must be "
                         "an integer from 0 to 4096");
    assert_rejected_with("[experiment]\nthreads = 4097\n[drift]\n",
                         "lecture.ini:2: threads: '4097' is invalid: must be "
                         "an integer from 0 to 4096");

    parse_result result = parse("[experiment]\nthreads = 4096\n[drift]\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.threads, 4096);
    finish(&result);

    result = parse("[experiment]\nthreads = 0\n[drift]\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.threads, 0);
    finish(&result);
}

static void integer_keys_state_their_maximum(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nkeep_attention = 3000000000\n",
                         "lecture.ini:2: keep_attention: '3000000000' is "
                         "invalid: must be an integer from 0 to 1000000");
    assert_rejected_with("[experiment]\nseeds = 9007199254740992, -1\n"
                         "[drift]\n",
                         "lecture.ini:2: seeds: '9007199254740992, -1' is "
                         "invalid: seed values must be integers from 0 to "
                         "9007199254740992, got -1");
}

static void integers_above_two_to_53_are_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\n"
                         "seeds = 9007199254740993..9007199254740993\n"
                         "[drift]\n",
                         "lecture.ini:2: seeds: '9007199254740993.."
                         "9007199254740993' is invalid: the ends of an "
                         "integer range a..b must lie within +-2^53 = "
                         "+-9007199254740992, got '9007199254740993'");
    assert_rejected_with("[experiment]\n"
                         "seeds = 9007199254740993, 9007199254740992\n"
                         "[drift]\n",
                         "lecture.ini:2: seeds: '9007199254740993, "
                         "9007199254740992' is invalid: item 1 "
                         "(9007199254740993) is too large: integers must lie "
                         "within +-2^53 = +-9007199254740992");
    assert_rejected_with("[drift]\ntop_k = 9007199254740993\n",
                         "lecture.ini:2: top_k: '9007199254740993' is "
                         "invalid: 9007199254740993 is too large: integers "
                         "must lie within +-2^53 = +-9007199254740992");
    assert_rejected_with("[drift]\nprompt = 1, 9007199254740993\n",
                         "lecture.ini:2: prompt: '1, 9007199254740993' is "
                         "invalid: item 2 (9007199254740993) is too large: "
                         "integers must lie within +-2^53 = "
                         "+-9007199254740992");
    assert_rejected_with("[drift]\nsteps = 4.0000000000000001\n",
                         "lecture.ini:2: steps: '4.0000000000000001' is "
                         "invalid: 4.0000000000000001 is not an integer");

    parse_result result = parse("[experiment]\n"
                                "seeds = 9007199254740992..9007199254740992\n"
                                "[drift]\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.n_seeds, 1);
    assert_true(result.cfg.seeds[0] == INT64_C(9007199254740992));
    finish(&result);
}

static void empty_value_message_fits_key(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nprompt =\n",
                         "lecture.ini:2: prompt: '' is invalid: the value is "
                         "empty: give the prompt's token ids as a comma "
                         "list");
    assert_rejected_with("[drift]\nsteps =\n",
                         "lecture.ini:2: steps: '' is invalid: the value is "
                         "empty: give one integer from 1 to 1000000");
    assert_rejected_with("[experiment]\nseeds =\n[drift]\n",
                         "lecture.ini:2: seeds: '' is invalid: the value is "
                         "empty: give a seed count, or the seed values as a "
                         "list or range");
    assert_rejected_with("[experiment]\nmax_output_mb =\n[drift]\n",
                         "lecture.ini:2: max_output_mb: '' is invalid: the "
                         "value is empty: give one number of megabytes > 0");
    assert_rejected_with("[drift]\n[figures]\ntemperature =\n",
                         "lecture.ini:3: temperature: '' is invalid: the "
                         "value is empty: give one of the temperatures of "
                         "the sweep");
    assert_rejected_with("[drift]\n[figures]\nseed =\n",
                         "lecture.ini:3: seed: '' is invalid: the value is "
                         "empty: give one of the kept seeds");
    assert_rejected_with("[drift]\n[figures]\npng_ppi =\n",
                         "lecture.ini:3: png_ppi: '' is invalid: the value "
                         "is empty: give one number from 36 to 600");
}

static void invalid_utf8_names_line_and_byte(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *expected;
    } cases[] = {
        {"[drift]\n; caf\xe9\n",
         "lecture.ini:2: byte 6 of the line (0xE9) is not valid UTF-8; save "
         "the file as UTF-8"},
        /* an overlong form of '/' */
        {"[drift]\n; \xC0\xAF\n",
         "lecture.ini:2: byte 3 of the line (0xC0) is not valid UTF-8; save "
         "the file as UTF-8"},
        /* the surrogate U+D800 */
        {"[drift]\n;\xED\xA0\x80\n",
         "lecture.ini:2: byte 2 of the line (0xED) is not valid UTF-8; save "
         "the file as UTF-8"},
        /* U+110000, above the last code point */
        {"[drift]\n;\xF4\x90\x80\x80\n",
         "lecture.ini:2: byte 2 of the line (0xF4) is not valid UTF-8; save "
         "the file as UTF-8"},
        /* a continuation byte without a lead byte */
        {"[drift]\nsteps = 4\x80\n",
         "lecture.ini:2: byte 10 of the line (0x80) is not valid UTF-8; save "
         "the file as UTF-8"},
        {"\xF8\x88\x80\x80\x80\n[drift]\n",
         "lecture.ini:1: byte 1 of the line (0xF8) is not valid UTF-8; save "
         "the file as UTF-8"},
        /* a sequence cut short by the end of the line and of the file */
        {"[drift]\n; \xE2\x82\nsteps = 4\n",
         "lecture.ini:2: byte 3 of the line (0xE2) is not valid UTF-8; save "
         "the file as UTF-8"},
        {"[drift]\n; \xE2\x82",
         "lecture.ini:2: byte 3 of the line (0xE2) is not valid UTF-8; save "
         "the file as UTF-8"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_rejected_with(cases[i].text, cases[i].expected);
}

static void every_invalid_utf8_line_is_reported(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\n; \xe9t\xe9\n; ok\n"
                                "; \xff\n");
    assert_int_equal(result.status, -1);
    assert_string_equal(result.messages,
        "lecture.ini:2: byte 3 of the line (0xE9) is not valid UTF-8; save "
        "the file as UTF-8\n"
        "lecture.ini:4: byte 3 of the line (0xFF) is not valid UTF-8; save "
        "the file as UTF-8\n");
    finish(&result);
}

static void valid_utf8_is_accepted(void **state)
{
    (void)state;
    parse_result result = parse("\xEF\xBB\xBF; caf\xC3\xA9, 5 \xE2\x82\xAC, "
                                "\xF0\x9F\x98\x80, \xF4\x8F\xBF\xBF\n"
                                "[experiment]\n"
                                "output = /tmp/caf\xC3\xA9\n"
                                "[drift]\n");
    assert_parsed(&result);
    assert_string_equal(result.cfg.output_dir, "/tmp/caf\xC3\xA9");
    finish(&result);
}

static void unspaced_comment_gets_a_hint(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\ntemperature = 0.5 # hot\n",
                         "lecture.ini:2: temperature: '0.5 # hot' is "
                         "invalid: '0.5 # hot' is not a number; a comment "
                         "after a value needs whitespace and ';' before it "
                         "('0.5 ; note')");
    assert_rejected_with("[drift]\ntop_p = 0.9;comment\n",
                         "lecture.ini:2: top_p: '0.9;comment' is invalid: "
                         "'0.9;comment' is not a number; a comment after a "
                         "value needs whitespace and ';' before it "
                         "('0.5 ; note')");
    assert_rejected_with("[drift]\nrule = lm # sample tokens\n",
                         "lecture.ini:2: rule: 'lm # sample tokens' is "
                         "invalid: must be 'cluster' or 'lm'; a comment "
                         "after a value needs whitespace and ';' before it "
                         "('0.5 ; note')");
    assert_rejected_with("[experiment]\nformats = svg;pdf\n[drift]\n",
                         "lecture.ini:2: formats: 'svg;pdf' is invalid: "
                         "'svg;pdf' is not a format; use svg, pdf and png "
                         "(lower case), separated by commas; a comment after "
                         "a value needs whitespace and ';' before it "
                         "('0.5 ; note')");
}

static void quoted_values_are_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\nname = \"lecture\"\n[drift]\n",
                         "lecture.ini:2: name: '\"lecture\"' is invalid: "
                         "values are not quoted; write name = lecture");
    assert_rejected_with("[experiment]\noutput = \"out dir\"\n[drift]\n",
                         "lecture.ini:2: output: '\"out dir\"' is invalid: "
                         "values are not quoted; write output = out dir");
    assert_rejected_with("[drift]\nrule = 'lm'\n",
                         "lecture.ini:2: rule: ''lm'' is invalid: values are "
                         "not quoted; write rule = lm");
    assert_rejected_with("[drift]\ntemperature = \"0.5\"\n",
                         "lecture.ini:2: temperature: '\"0.5\"' is invalid: "
                         "values are not quoted; write temperature = 0.5");
}

static void name_error_names_the_character(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\nname = my run\n[drift]\n",
                         "lecture.ini:2: name: 'my run' is invalid: the "
                         "space at character 3 is not allowed; a name has 1 "
                         "to 64 characters from A-Z, a-z, 0-9, '_', '.' and "
                         "'-'");
    assert_rejected_with("[experiment]\nname = my\trun\n[drift]\n",
                         "lecture.ini:2: name: 'my\trun' is invalid: the "
                         "tab at character 3 is not allowed; a name has 1 to "
                         "64 characters from A-Z, a-z, 0-9, '_', '.' and "
                         "'-'");
    assert_rejected_with("[experiment]\nname = caf\xC3\xA9\n[drift]\n",
                         "lecture.ini:2: name: 'caf\xC3\xA9' is invalid: "
                         "'\xC3\xA9' at character 4 is not allowed; a name "
                         "has 1 to 64 characters from A-Z, a-z, 0-9, '_', "
                         "'.' and '-'");
    assert_rejected_with("[experiment]\nname = run/1\n[drift]\n",
                         "lecture.ini:2: name: 'run/1' is invalid: '/' at "
                         "character 4 is not allowed; a name has 1 to 64 "
                         "characters from A-Z, a-z, 0-9, '_', '.' and '-'");
    assert_rejected_with("[experiment]\nname = "
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaaaa\n[drift]\n",
                         "lecture.ini:2: name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is invalid: "
                         "the name has 65 characters; at most 64 are "
                         "allowed");
}

/* ---- [figures] ---- */

static void figures_defaults_follow_sweep(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\n");
    assert_parsed(&result);
    assert_true(result.cfg.figure_temperature == 1.0);
    assert_int_equal(result.cfg.figure_seed, 0);
    assert_true(result.cfg.png_ppi == 150.0);
    assert_int_equal(result.cfg.strip_steps, 4);
    finish(&result);

    /* the lowest temperature, not the first; the first seed, not 0 */
    result = parse("[experiment]\nseeds = 5, 9, 3\n[drift]\n"
                   "temperature = 2, 0.5, 1\n");
    assert_parsed(&result);
    assert_true(result.cfg.figure_temperature == 0.5);
    assert_int_equal(result.cfg.figure_seed, 5);
    finish(&result);

    /* fewer steps than the default strip */
    result = parse("[drift]\nsteps = 2\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.strip_steps, 2);
    finish(&result);

    /* without kept seeds the default seed is still the first */
    result = parse("[experiment]\nseeds = 7..9\n[drift]\n"
                   "keep_attention = 0\n");
    assert_parsed(&result);
    assert_int_equal(result.cfg.figure_seed, 7);
    finish(&result);
}

static void figures_keys_are_read(void **state)
{
    (void)state;
    parse_result result = parse(
        "[experiment]\n"
        "seeds = 4, 9, 2\n"
        "[drift]\n"
        "temperature = 0:1:3\n"
        "keep_attention = 2\n"
        "steps = 6\n"
        "[figures]\n"
        "temperature = 0.5\n"
        "seed = 9\n"
        "png_ppi = 300\n"
        "strip_steps = 6\n");
    assert_parsed(&result);
    assert_true(result.cfg.figure_temperature == 0.5);
    assert_int_equal(result.cfg.figure_seed, 9);
    assert_true(result.cfg.png_ppi == 300.0);
    assert_int_equal(result.cfg.strip_steps, 6);
    finish(&result);

    result = parse("[drift]\n[figures]\npng_ppi = 36\n");
    assert_parsed(&result);
    assert_true(result.cfg.png_ppi == 36.0);
    finish(&result);

    result = parse("[drift]\nsteps = 12\n[figures]\npng_ppi = 600\n"
                   "strip_steps = 12\n");
    assert_parsed(&result);
    assert_true(result.cfg.png_ppi == 600.0);
    assert_int_equal(result.cfg.strip_steps, 12);
    finish(&result);
}

/* numpy.geomspace(0.1, 10, 5)[1] is 10**-0.5 = 0.31622776601683794. Ten
 * digits select it, and the config then contains the sweep value
 * exactly. */
static void figure_temperature_selects_close_sweep_value(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\ntemperature = 0.1:10:5:log\n"
                                "[figures]\ntemperature = 0.316227766\n");
    assert_parsed(&result);
    const dl_value_list *list = &result.cfg.sweep[DL_SWEEP_TEMPERATURE];
    assert_int_equal(list->count, 5);
    assert_true(result.cfg.figure_temperature == list->values[1]);
    finish(&result);
}

static void figure_temperature_outside_sweep_is_rejected(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\ntemperature = 0, 0.5, 1\n[figures]\n"
                         "temperature = 0.7\n",
                         "lecture.ini:4: temperature: '0.7' is invalid: must "
                         "be one of the temperatures of the sweep: 0, 0.5, 1");
    assert_rejected_with("[drift]\n[figures]\ntemperature = 0.5\n",
                         "lecture.ini:3: temperature: '0.5' is invalid: must "
                         "be the temperature of the sweep, 1");
    assert_rejected_with("[drift]\ntemperature = 1..20\n[figures]\n"
                         "temperature = 0.5\n",
                         "lecture.ini:4: temperature: '0.5' is invalid: must "
                         "be one of the temperatures of the sweep: 1, 2, 3, "
                         "4, 5, 6, ..., 20");
    assert_rejected_with("[drift]\n[figures]\ntemperature = 0.5, 1\n",
                         "lecture.ini:3: temperature: '0.5, 1' is invalid: "
                         "temperature in [figures] chooses one setting of "
                         "the figures, so it takes one value");
    assert_rejected_with("[drift]\n[figures]\ntemperature = warm\n",
                         "lecture.ini:3: temperature: 'warm' is invalid: "
                         "'warm' is not a number");
}

static void figure_temperature_skipped_when_sweep_invalid(void **state)
{
    (void)state;
    parse_result result = parse("[drift]\ntemperature = -1\n[figures]\n"
                                "temperature = 5\n");
    assert_int_equal(result.status, -1);
    assert_true(has_line(result.messages, "lecture.ini:2: temperature: '-1' "
                         "is invalid: must be >= 0"));
    assert_int_equal(count_lines(result.messages), 1);
    finish(&result);
}

static void figure_seed_must_be_kept(void **state)
{
    (void)state;
    assert_rejected_with("[experiment]\nseeds = 4\n[drift]\n"
                         "keep_attention = 2\n[figures]\nseed = 3\n",
                         "lecture.ini:6: seed: '3' is invalid: must be one "
                         "of the kept seeds, whose attention rows are stored "
                         "(the first keep_attention = 2): 0, 1");
    assert_rejected_with("[experiment]\nseeds = 5, 9\n[drift]\n"
                         "keep_attention = 1\n[figures]\nseed = 9\n",
                         "lecture.ini:6: seed: '9' is invalid: must be the "
                         "kept seed 5, the only seed whose attention rows are "
                         "stored (keep_attention = 1)");
    assert_rejected_with("[drift]\n[figures]\nseed = 1.5\n",
                         "lecture.ini:3: seed: '1.5' is invalid: 1.5 is not "
                         "an integer");
    assert_rejected_with("[drift]\n[figures]\nseed = -1\n",
                         "lecture.ini:3: seed: '-1' is invalid: must be a "
                         "seed value, an integer from 0 to "
                         "9007199254740992");
    assert_rejected_with("[drift]\n[figures]\nseed = 0, 1\n",
                         "lecture.ini:3: seed: '0, 1' is invalid: seed in "
                         "[figures] chooses one setting of the figures, so it "
                         "takes one value");
}

static void figure_seed_needs_kept_attention(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\nkeep_attention = 0\n[figures]\n"
                         "seed = 0\n",
                         "lecture.ini:4: seed: '0' is invalid: the single-run "
                         "figures need keep_attention >= 1, because they draw "
                         "the stored attention rows; set keep_attention in "
                         "[drift] or remove seed from [figures]");
}

static void png_ppi_range_is_enforced(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\n[figures]\npng_ppi = 35.9\n",
                         "lecture.ini:3: png_ppi: '35.9' is invalid: must be "
                         "in [36, 600] (pixels per inch)");
    assert_rejected_with("[drift]\n[figures]\npng_ppi = 601\n",
                         "lecture.ini:3: png_ppi: '601' is invalid: must be "
                         "in [36, 600] (pixels per inch)");
    assert_rejected_with("[drift]\n[figures]\npng_ppi = 72, 300\n",
                         "lecture.ini:3: png_ppi: '72, 300' is invalid: "
                         "png_ppi in [figures] chooses one setting of the "
                         "figures, so it takes one value");
    assert_rejected_with("[drift]\n[figures]\npng_ppi = inf\n",
                         "lecture.ini:3: png_ppi: 'inf' is invalid: 'inf' is "
                         "not a finite number");
}

static void strip_steps_range_is_enforced(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\n[figures]\nstrip_steps = 0\n",
                         "lecture.ini:3: strip_steps: '0' is invalid: must "
                         "be an integer from 1 to 12");
    assert_rejected_with("[drift]\n[figures]\nstrip_steps = 13\n",
                         "lecture.ini:3: strip_steps: '13' is invalid: must "
                         "be an integer from 1 to 12");
    assert_rejected_with("[drift]\n[figures]\nstrip_steps = 2.5\n",
                         "lecture.ini:3: strip_steps: '2.5' is invalid: 2.5 "
                         "is not an integer");
    assert_rejected_with("[drift]\nsteps = 5\n[figures]\nstrip_steps = 8\n",
                         "lecture.ini:4: strip_steps: '8' is invalid: must "
                         "be at most steps (5), because each small multiple "
                         "shows a different step");
    assert_rejected_with("[drift]\n[figures]\nstrip_steps = 1..3\n",
                         "lecture.ini:3: strip_steps: '1..3' is invalid: "
                         "strip_steps in [figures] chooses one setting of the "
                         "figures, so it takes one value");
}

static void figures_section_names_its_keys(void **state)
{
    (void)state;
    assert_rejected_with("[drift]\n[figures]\npng_dpi = 300\n",
                         "lecture.ini:3: unknown key 'png_dpi' in [figures]; "
                         "did you mean 'png_ppi'?");
    assert_rejected_with("[drift]\n[figures]\nstrip_step = 3\n",
                         "lecture.ini:3: unknown key 'strip_step' in "
                         "[figures]; did you mean 'strip_steps'?");
    assert_rejected_with("[drift]\n[figures]\nwidth = 300\n",
                         "lecture.ini:3: unknown key 'width' in [figures]; "
                         "the keys of [figures] are temperature, seed, "
                         "png_ppi, strip_steps");
    assert_rejected_with("[drift]\n[figures]\nformats = svg\n",
                         "lecture.ini:3: key 'formats' belongs in "
                         "[experiment], not in [figures]");
    assert_rejected_with("[drift]\npng_ppi = 300\n",
                         "lecture.ini:2: key 'png_ppi' belongs in [figures], "
                         "not in [drift]");
    assert_rejected_with("[drift]\n[figures]\npng_ppi = 72\n[figures]\n"
                         "png_ppi = 96\n",
                         "lecture.ini:5: duplicate key 'png_ppi' in "
                         "[figures]; it was first given on line 3");
}

/* ---- loading files ---- */

/* Writes bytes to a new temporary file and returns its path in path. */
static void write_temporary(char *path, const char *bytes, size_t length)
{
    strcpy(path, "/tmp/driftlab_test_config_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, length), (ssize_t)length);
    close(fd);
}

/* What dl_config_load did with a file that it should reject. */
typedef struct {
    int status;
    bool zeroed;     /* the config was left zeroed */
    char *messages;  /* everything written to diag */
} load_result;

/* Loads path without failing the test, so that the caller can remove its
 * files first and check the result with check_load_rejected. */
static load_result load_capturing(const char *path)
{
    static const dl_config zero;
    load_result result = {0, false, NULL};
    size_t size = 0;
    FILE *diag = open_memstream(&result.messages, &size);
    assert_non_null(diag);

    dl_config cfg;
    result.status = dl_config_load(path, &cfg, diag);
    fclose(diag);
    result.zeroed = memcmp(&cfg, &zero, sizeof zero) == 0;
    if (result.status == 0)
        dl_config_free(&cfg);
    return result;
}

/* Checks that the load failed with exactly the message line expected,
 * which is formatted with printf arguments, and frees the result. */
__attribute__((format(printf, 2, 3)))
static void check_load_rejected(load_result *result, const char *expected,
                                ...)
{
    char line[512];
    va_list args;
    va_start(args, expected);
    vsnprintf(line, sizeof line, expected, args);
    va_end(args);

    if (result->status != -1)
        fail_msg("accepted, expected \"%s\"", line);
    assert_true(result->zeroed);
    strcat(line, "\n");
    assert_string_equal(result->messages, line);
    free(result->messages);
}

/* Writes a file of exactly size bytes: "[drift]\n" and comment lines. */
static void write_config_of_size(char *path, size_t size)
{
    char *bytes = malloc(size);
    assert_non_null(bytes);
    memset(bytes, 'c', size);
    memcpy(bytes, "[drift]\n", 8);
    for (size_t at = 8; at < size; at += 64) {
        bytes[at] = ';';
        if (at + 63 < size)
            bytes[at + 63] = '\n';
    }
    write_temporary(path, bytes, size);
    free(bytes);
}

/* A FIFO whose writer, a child process, sends head and then comment lines
 * until it has sent total bytes or the reader closes the FIFO. */
typedef struct {
    char directory[64];
    char path[96];
    pid_t writer;
} fifo_source;

static void start_fifo_source(fifo_source *source, const char *head,
                              size_t head_length, size_t total)
{
    strcpy(source->directory, "/tmp/driftlab_test_config_XXXXXX");
    assert_non_null(mkdtemp(source->directory));
    snprintf(source->path, sizeof source->path, "%s/config.ini",
             source->directory);
    assert_int_equal(mkfifo(source->path, 0600), 0);

    source->writer = fork();
    assert_true(source->writer >= 0);
    if (source->writer > 0)
        return;

    /* the writer: exit status 0 when everything was sent, 1 when the
     * reader closed the FIFO first, 2 on any other failure. SIGALRM ends
     * it if the reader never opens the FIFO. */
    signal(SIGPIPE, SIG_IGN);
    alarm(60);
    int fd = open(source->path, O_WRONLY);
    if (fd < 0)
        _exit(2);

    char line[4096];
    memset(line, 'c', sizeof line);
    line[0] = ';';
    line[sizeof line - 1] = '\n';

    size_t sent = 0;
    while (sent < total) {
        const char *chunk = sent < head_length ? head + sent : line;
        size_t length = sent < head_length ? head_length - sent
                                           : sizeof line;
        if (length > total - sent)
            length = total - sent;
        ssize_t written = write(fd, chunk, length);
        if (written < 0)
            _exit(errno == EPIPE ? 1 : 2);
        sent += (size_t)written;
    }
    _exit(0);
}

/* Waits for the writer and returns its exit status. */
static int finish_fifo_source(fifo_source *source)
{
    int status = 0;
    assert_int_equal(waitpid(source->writer, &status, 0), source->writer);
    unlink(source->path);
    rmdir(source->directory);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void load_keeps_exact_file_bytes(void **state)
{
    (void)state;
    static const char bytes[] = "; lecture\r\n[drift]\r\ntemperature = 0, 1"
                                " ; two\r\n\r\nsteps = 4";
    char path[64];
    write_temporary(path, bytes, sizeof bytes - 1);

    dl_config cfg;
    int status = dl_config_load(path, &cfg, stderr);
    unlink(path);

    assert_int_equal(status, 0);
    assert_string_equal(cfg.path, path);
    assert_int_equal(cfg.text_length, sizeof bytes - 1);
    assert_memory_equal(cfg.text, bytes, sizeof bytes);
    assert_int_equal(cfg.steps, 4);
    assert_int_equal(cfg.n_axes, 1);
    dl_config_free(&cfg);
    assert_zeroed(&cfg);
}

static void load_of_missing_file_names_the_cause(void **state)
{
    (void)state;
    char *messages = NULL;
    size_t size = 0;
    FILE *diag = open_memstream(&messages, &size);
    dl_config cfg;

    int status = dl_config_load("/nonexistent/lecture.ini", &cfg, diag);
    fclose(diag);

    assert_int_equal(status, -1);
    assert_string_equal(messages, "/nonexistent/lecture.ini: cannot read: No "
                        "such file or directory\n");
    assert_zeroed(&cfg);
    free(messages);
}

static void load_rejects_nul_byte(void **state)
{
    (void)state;
    static const char bytes[] = "[drift]\nsteps = 4\0\n";
    char path[64];
    write_temporary(path, bytes, sizeof bytes - 1);

    load_result result = load_capturing(path);
    unlink(path);

    check_load_rejected(&result, "%s:2: byte 10 of the line is NUL, so this "
                        "is not a text file", path);
}

static void load_accepts_file_of_16_mib(void **state)
{
    (void)state;
    char path[64];
    write_config_of_size(path, DL_CONFIG_FILE_MAX_BYTES);

    dl_config cfg;
    int status = dl_config_load(path, &cfg, stderr);
    unlink(path);

    assert_int_equal(status, 0);
    assert_int_equal(cfg.text_length, DL_CONFIG_FILE_MAX_BYTES);
    dl_config_free(&cfg);
}

static void load_rejects_file_above_16_mib(void **state)
{
    (void)state;
    char path[64];
    write_config_of_size(path, DL_CONFIG_FILE_MAX_BYTES + 1);

    load_result result = load_capturing(path);
    unlink(path);

    check_load_rejected(&result, "%s: is larger than 16 MiB; a config is a "
                        "short text file", path);
}

/* A stream without end, such as /dev/zero or a FIFO, must not be read
 * into memory past the limit. The writer would send 64 MiB, and learns
 * from EPIPE that the reader stopped early. */
static void load_stops_reading_at_size_limit(void **state)
{
    (void)state;
    fifo_source source;
    start_fifo_source(&source, "[drift]\n", 8, 64u << 20);

    load_result result = load_capturing(source.path);
    int writer_status = finish_fifo_source(&source);

    check_load_rejected(&result, "%s: is larger than 16 MiB; a config is a "
                        "short text file", source.path);
    assert_int_equal(writer_status, 1);
}

static void load_stops_reading_at_nul_byte(void **state)
{
    (void)state;
    static const char head[] = "[drift]\n\nsteps = 4\0";
    fifo_source source;
    start_fifo_source(&source, head, sizeof head - 1, 64u << 20);

    load_result result = load_capturing(source.path);
    int writer_status = finish_fifo_source(&source);

    check_load_rejected(&result, "%s:3: byte 10 of the line is NUL, so this "
                        "is not a text file", source.path);
    assert_int_equal(writer_status, 1);
}

static void load_rejects_invalid_utf8(void **state)
{
    (void)state;
    static const char bytes[] = "[drift]\n; caf\xe9\nsteps = 4\n";
    char path[64];
    write_temporary(path, bytes, sizeof bytes - 1);

    load_result result = load_capturing(path);
    unlink(path);

    check_load_rejected(&result, "%s:2: byte 6 of the line (0xE9) is not "
                        "valid UTF-8; save the file as UTF-8", path);
}

/* ---- names ---- */

static void names_match_ini_spelling(void **state)
{
    (void)state;
    assert_string_equal(dl_sweep_key_name(DL_SWEEP_TEMPERATURE),
                        "temperature");
    assert_string_equal(dl_sweep_key_name(DL_SWEEP_REPETITION_PENALTY),
                        "repetition_penalty");
    assert_string_equal(dl_sweep_key_name(DL_SWEEP_CLUSTER_SPREAD),
                        "cluster_spread");
    assert_true(dl_sweep_key_is_integer(DL_SWEEP_TOP_K));
    assert_false(dl_sweep_key_is_integer(DL_SWEEP_TOP_P));
    assert_string_equal(dl_rule_name(DL_RULE_CLUSTER), "cluster");
    assert_string_equal(dl_rule_name(DL_RULE_LM), "lm");
    assert_string_equal(dl_projection_name(DL_PROJECTION_IDENTITY),
                        "identity");
    assert_string_equal(dl_projection_name(DL_PROJECTION_RANDOM), "random");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drift_section_alone_gives_documented_defaults),
        cmocka_unit_test(every_key_is_read),
        cmocka_unit_test(every_value_form_gives_its_values),
        cmocka_unit_test(axes_follow_file_order),
        cmocka_unit_test(name_defaults_to_file_name),
        cmocka_unit_test(seeds_count_or_explicit_values),
        cmocka_unit_test(keep_attention_default_shrinks_to_seed_count),
        cmocka_unit_test(prompt_sets_prompt_length),
        cmocka_unit_test(d_head_follows_d_model_by_default),
        cmocka_unit_test(comments_whitespace_and_crlf_are_accepted),
        cmocka_unit_test(indented_key_is_a_key_not_a_continuation),
        cmocka_unit_test(repeated_section_continues_it),
        cmocka_unit_test(hundred_temperatures_on_one_line_parse),
        cmocka_unit_test(long_line_with_comment_and_more_keys_parses),
        cmocka_unit_test(long_line_error_in_tail_reports_its_line),
        cmocka_unit_test(long_line_range_error_reports_its_line),
        cmocka_unit_test(hash_item_in_long_line_is_checked_not_dropped),
        cmocka_unit_test(long_line_without_comma_names_limit),
        cmocka_unit_test(long_comment_line_is_ignored),
        cmocka_unit_test(duplicate_long_line_is_not_appended),
        cmocka_unit_test(negative_temperature_names_line_and_allowed_range),
        cmocka_unit_test(error_on_line_57_reports_line_57),
        cmocka_unit_test(unknown_key_suggests_nearest),
        cmocka_unit_test(unknown_key_far_from_all_lists_keys),
        cmocka_unit_test(key_in_wrong_section_names_its_section),
        cmocka_unit_test(section_typo_suggests_nearest),
        cmocka_unit_test(lora_section_parses_keys),
        cmocka_unit_test(lora_defaults_come_from_params),
        cmocka_unit_test(lora_rank_above_min_dimension),
        cmocka_unit_test(lora_rank_below_one),
        cmocka_unit_test(lora_invalid_values),
        cmocka_unit_test(lora_scaling_list_is_an_axis),
        cmocka_unit_test(lora_seeds_apply_to_lora_only),
        cmocka_unit_test(drift_figure_keys_need_drift),
        cmocka_unit_test(lora_unknown_key_suggests_nearest),
        cmocka_unit_test(missing_drift_section_is_rejected),
        cmocka_unit_test(duplicate_key_names_first_line),
        cmocka_unit_test(key_before_any_section_is_rejected),
        cmocka_unit_test(syntax_errors_carry_their_lines),
        cmocka_unit_test(every_error_is_reported_in_line_order),
        cmocka_unit_test(shape_key_with_list_is_rejected),
        cmocka_unit_test(identity_projection_rejects_other_d_head),
        cmocka_unit_test(keep_attention_above_seed_count_is_rejected),
        cmocka_unit_test(prompt_ids_outside_vocabulary_are_rejected),
        cmocka_unit_test(prompt_length_unequal_to_prompt_is_rejected),
        cmocka_unit_test(vocabulary_above_limit_is_rejected),
        cmocka_unit_test(integer_ranges_of_keys_are_enforced),
        cmocka_unit_test(sweep_ranges_are_enforced),
        cmocka_unit_test(experiment_values_are_checked),
        cmocka_unit_test(sweep_above_run_limit_is_rejected),
        cmocka_unit_test(run_limit_itself_is_accepted),
        cmocka_unit_test(threads_range_matches_command_line),
        cmocka_unit_test(integer_keys_state_their_maximum),
        cmocka_unit_test(integers_above_two_to_53_are_rejected),
        cmocka_unit_test(empty_value_message_fits_key),
        cmocka_unit_test(invalid_utf8_names_line_and_byte),
        cmocka_unit_test(every_invalid_utf8_line_is_reported),
        cmocka_unit_test(valid_utf8_is_accepted),
        cmocka_unit_test(unspaced_comment_gets_a_hint),
        cmocka_unit_test(quoted_values_are_rejected),
        cmocka_unit_test(name_error_names_the_character),
        cmocka_unit_test(figures_defaults_follow_sweep),
        cmocka_unit_test(figures_keys_are_read),
        cmocka_unit_test(figure_temperature_selects_close_sweep_value),
        cmocka_unit_test(figure_temperature_outside_sweep_is_rejected),
        cmocka_unit_test(figure_temperature_skipped_when_sweep_invalid),
        cmocka_unit_test(figure_seed_must_be_kept),
        cmocka_unit_test(figure_seed_needs_kept_attention),
        cmocka_unit_test(png_ppi_range_is_enforced),
        cmocka_unit_test(strip_steps_range_is_enforced),
        cmocka_unit_test(figures_section_names_its_keys),
        cmocka_unit_test(load_keeps_exact_file_bytes),
        cmocka_unit_test(load_of_missing_file_names_the_cause),
        cmocka_unit_test(load_rejects_nul_byte),
        cmocka_unit_test(load_accepts_file_of_16_mib),
        cmocka_unit_test(load_rejects_file_above_16_mib),
        cmocka_unit_test(load_stops_reading_at_size_limit),
        cmocka_unit_test(load_stops_reading_at_nul_byte),
        cmocka_unit_test(load_rejects_invalid_utf8),
        cmocka_unit_test(names_match_ini_spelling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
