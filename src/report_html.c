/* report_html.c - report.html: one self-contained page with every figure
 * inline as SVG, its caption, the key numbers of each sweep point, the
 * config text, the driftlab versions and the config's SHA-256.
 *
 * Self-contained means the page references nothing outside itself: the
 * style sheet is inline, there is no script, and each SVG carries its
 * glyphs and images (cairo embeds images as data: URIs). Several cairo
 * SVGs in one page would share ids ("glyph0-1", "clip1") and a later
 * figure would draw an earlier one's glyphs, so every id of figure k and
 * every reference to it (url(#...), href="#...") gets the prefix "fK-".
 *
 * Key numbers per sweep point, all read from the file:
 *   final median prompt attention   prompt_attention_p50 at the last step
 *   half-life of that median        half_life_of_median
 *   final mean lock-in              lock_in_mean at the last step
 *   final median entropy            attention_entropy_p50 at the last step
 * With /lora, a second table gives per rank the parameters r (D + N) and
 * the medians over seeds of eval KL, forgetting and relative error. They
 * are taken at the first alpha above 0 and the first scaling, with the
 * full-rank baseline below them.
 * Each cell shows a rounded value and carries the stored double in a
 * data-value attribute (%.17g, or "nan"). Sweep values are shown exactly
 * (dl_sweep_values_format), so two sweep points never read alike.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render_internal.h"
#include "sweep_values.h"

/* ---- escaping ---- */

static void append_escaped(render_buffer *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            render_buffer_append(out, "&amp;", 5);
            break;
        case '<':
            render_buffer_append(out, "&lt;", 4);
            break;
        case '>':
            render_buffer_append(out, "&gt;", 4);
            break;
        case '"':
            render_buffer_append(out, "&quot;", 6);
            break;
        case '\'':
            render_buffer_append(out, "&#39;", 5);
            break;
        default:
            render_buffer_append(out, p, 1);
            break;
        }
    }
}

/* ---- inline SVG ---- */

static bool starts_with(const char *text, const char *end, const char *prefix)
{
    size_t length = strlen(prefix);
    return (size_t)(end - text) >= length && memcmp(text, prefix, length) == 0;
}

/* Appends the SVG without its XML declaration, with prefix put in front
 * of every id and every local reference. */
static void append_svg(render_buffer *out, const char *svg, size_t size, const char *prefix)
{
    const char *p = svg, *end = svg + size;
    if (starts_with(p, end, "<?xml")) {
        const char *close = strstr(p, "?>");
        p = close != NULL ? close + 2 : p;
        while (p < end && (*p == '\n' || *p == '\r'))
            p++;
    }

    static const char *const markers[] = {" id=\"", "url(#", "href=\"#"};
    const char *copied = p;
    while (p < end) {
        bool matched = false;
        for (size_t m = 0; m < sizeof markers / sizeof markers[0] && !matched; m++) {
            if (!starts_with(p, end, markers[m]))
                continue;
            size_t length = strlen(markers[m]);
            render_buffer_append(out, copied, (size_t)(p - copied) + length);
            render_buffer_append(out, prefix, strlen(prefix));
            p += length;
            copied = p;
            matched = true;
        }
        if (!matched)
            p++;
    }
    render_buffer_append(out, copied, (size_t)(end - copied));
}

/* ---- the key numbers ---- */

static void number_cell(render_buffer *out, double value, const char *shown)
{
    if (isnan(value))
        render_buffer_printf(out, "<td data-value=\"nan\">%s</td>", shown);
    else
        render_buffer_printf(out, "<td data-value=\"%.17g\">%s</td>", value, shown);
}

static void append_key_numbers(render_buffer *out, const dl_results *results)
{
    size_t last = (size_t)results->steps - 1;
    bool temperature_axis = dl_results_axis_index(results, DL_SWEEP_TEMPERATURE) >= 0;

    render_buffer_printf(out, "<table id=\"key-numbers\">\n<thead><tr>");
    if (!temperature_axis)
        render_buffer_printf(out, "<th scope=\"col\">temperature</th>");
    for (size_t a = 0; a < results->n_axes; a++)
        render_buffer_printf(out, "<th scope=\"col\">%s</th>",
                             dl_sweep_key_name(results->axes[a].key));
    render_buffer_printf(out, "<th scope=\"col\">final median prompt attention (%%)</th>"
                         "<th scope=\"col\">half-life of the median (step)</th>"
                         "<th scope=\"col\">final mean lock-in</th>"
                         "<th scope=\"col\">final median entropy</th></tr></thead>\n<tbody>\n");

    char shown[64];
    for (size_t point = 0; point < results->n_points; point++) {
        render_buffer_printf(out, "<tr>");
        if (!temperature_axis) {
            double t = dl_results_value(results, DL_SWEEP_TEMPERATURE, point);
            number_cell(out, t, dl_sweep_values_format(t, shown, sizeof shown));
        }
        for (size_t a = 0; a < results->n_axes; a++) {
            double value = dl_results_value(results, results->axes[a].key, point);
            number_cell(out, value, dl_sweep_values_format(value, shown, sizeof shown));
        }

        size_t at = point * (size_t)results->steps + last;
        double prompt = results->summary[DL_METRIC_PROMPT_ATTENTION][DL_STAT_P50][at];
        double half_life = results->half_life_of_median[point];
        double lock_in = results->summary[DL_METRIC_LOCK_IN][DL_STAT_MEAN][at];
        double entropy = results->summary[DL_METRIC_ENTROPY][DL_STAT_P50][at];
        snprintf(shown, sizeof shown, "%.1f", 100.0 * prompt);
        number_cell(out, prompt, shown);
        if (isnan(half_life))
            snprintf(shown, sizeof shown, "never");
        else
            snprintf(shown, sizeof shown, "%.0f", half_life);
        number_cell(out, half_life, shown);
        snprintf(shown, sizeof shown, "%.3f", lock_in);
        number_cell(out, lock_in, shown);
        snprintf(shown, sizeof shown, "%.3f", entropy);
        number_cell(out, entropy, shown);
        render_buffer_printf(out, "</tr>\n");
    }
    render_buffer_printf(out, "</tbody>\n</table>\n");
}

/* Appends the LoRA key numbers: for each rank in file order, the medians
 * over seeds at the alpha of the line figures (dl_lora_shown_alpha) and
 * the first scaling, then the full-rank baseline. */
static void append_lora_key_numbers(render_buffer *out, const dl_lora_results *lora)
{
    char alpha[40], shown[64];
    size_t a = dl_lora_shown_alpha(lora);
    /* dl_lora_shown_alpha falls back to the first alpha when none is
     * above 0, so the sentence names the case that applies */
    const char *alpha_case = lora->alpha[a] > 0.0
                            ? "the first alpha above 0, as in the figures"
                            : "every alpha is 0, so this is the first, as in the figures";
    render_buffer_printf(out, "<h2>LoRA key numbers</h2>\n<p>Median over %zu seed%s at "
                         "alpha = %s (%s) and scaling ", lora->n_seeds,
                         lora->n_seeds == 1 ? "" : "s",
                         dl_sweep_values_format(lora->alpha[a], alpha, sizeof alpha), alpha_case);
    append_escaped(out, lora->scaling[0]);
    render_buffer_printf(out, " (its first value) for each rank, and the full-rank "
                         "baseline. KL values in nats.</p>\n");
    render_buffer_printf(out, "<table id=\"lora-key-numbers\">\n<thead><tr>"
                         "<th scope=\"col\">rank</th><th scope=\"col\">parameters</th>"
                         "<th scope=\"col\">eval KL</th><th scope=\"col\">forgetting</th>"
                         "<th scope=\"col\">relative error</th></tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < lora->n_ranks; r++) {
        double parameters = (double)lora->rank[r] * ((double)lora->D + lora->N);
        double values[3] = {
            dl_lora_median_over_seeds(lora, lora->eval_kl, r, a, 0),
            dl_lora_median_over_seeds(lora, lora->forgetting, r, a, 0),
            dl_lora_median_over_seeds(lora, lora->relative_error, r, a, 0),
        };
        render_buffer_printf(out, "<tr><td data-value=\"%lld\">%lld</td>",
                             (long long)lora->rank[r], (long long)lora->rank[r]);
        snprintf(shown, sizeof shown, "%.0f", parameters);
        number_cell(out, parameters, shown);
        for (int i = 0; i < 3; i++) {
            snprintf(shown, sizeof shown, "%.3g", values[i]);
            number_cell(out, values[i], shown);
        }
        render_buffer_printf(out, "</tr>\n");
    }
    double full = (double)lora->D * lora->N;
    double kl = dl_lora_median(lora->full_rank_eval_kl, lora->n_seeds, 1);
    double forgetting = dl_lora_median(lora->full_rank_forgetting, lora->n_seeds, 1);
    render_buffer_printf(out, "<tr id=\"lora-full-rank\"><td>full</td>");
    snprintf(shown, sizeof shown, "%.0f", full);
    number_cell(out, full, shown);
    snprintf(shown, sizeof shown, "%.3g", kl);
    number_cell(out, kl, shown);
    snprintf(shown, sizeof shown, "%.3g", forgetting);
    number_cell(out, forgetting, shown);
    if (lora->full_rank_relative_error != NULL) {
        double error = dl_lora_median(lora->full_rank_relative_error, lora->n_seeds, 1);
        snprintf(shown, sizeof shown, "%.3g", error);
        number_cell(out, error, shown);
    } else {
        /* files of earlier driftlab versions lack the dataset */
        render_buffer_printf(out, "<td>not stored</td>");
    }
    render_buffer_printf(out, "</tr>\n</tbody>\n</table>\n");
}

/* ---- the page ---- */

static const char style[] =
    "body{font-family:'DejaVu Sans',sans-serif;color:#1a1a1a;max-width:60rem;"
    "margin:2rem auto;padding:0 1rem;line-height:1.45}\n"
    "h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.5rem}\n"
    "figure{margin:2rem 0}figure svg{display:block;max-width:100%;height:auto}\n"
    "figcaption{margin-top:0.5rem}\n"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
    "th,td{border-bottom:1px solid #ccc;padding:0.25rem 0.6rem;text-align:right}\n"
    "th{vertical-align:bottom}\n"
    "pre{background:#f4f4f4;padding:0.8rem;overflow-x:auto}\n"
    "code{font-size:0.95em}\n";

int render_report_html(render_buffer *out, const dl_results *results,
                       const render_entry *entries, size_t n_entries,
                       const render_skipped *skipped, size_t n_skipped, dl_error *err)
{
    /* head */
    render_buffer_printf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                         "<meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, "
                         "initial-scale=1\">\n<title>driftlab report: ");
    append_escaped(out, results->config_name);
    render_buffer_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);

    /* provenance */
    render_buffer_printf(out, "<h1>driftlab report: ");
    append_escaped(out, results->config_name);
    render_buffer_printf(out, "</h1>\n<p>Results written by driftlab "
                         "<span id=\"results-version\">");
    append_escaped(out, results->driftlab_version);
    render_buffer_printf(out, "</span>; report drawn by driftlab <span id=\"render-version\">"
                         "%s</span>. Config SHA-256: <code id=\"config-sha256\">",
                         DRIFTLAB_VERSION);
    append_escaped(out, results->config_sha256);
    render_buffer_printf(out, "</code>.");
    if (results->has_drift)
        render_buffer_printf(out, " Drift: %zu sweep point%s &times; %zu seeds, %d steps, "
                             "prompt of %d tokens.", results->n_points,
                             results->n_points == 1 ? "" : "s", results->n_seeds,
                             results->steps, results->prompt_length);
    if (results->has_lora) {
        const dl_lora_results *lora = &results->lora;
        render_buffer_printf(out, " LoRA: D = %d, N = %d, task rank %d; %zu rank%s &times; "
                             "%zu alpha%s &times; %zu scaling%s &times; %zu seed%s.", lora->D,
                             lora->N, lora->task_rank, lora->n_ranks,
                             lora->n_ranks == 1 ? "" : "s", lora->n_alphas,
                             lora->n_alphas == 1 ? "" : "s", lora->n_scalings,
                             lora->n_scalings == 1 ? "" : "s", lora->n_seeds,
                             lora->n_seeds == 1 ? "" : "s");
    }
    render_buffer_printf(out, "</p>\n");

    /* key numbers */
    if (results->has_drift) {
        render_buffer_printf(out, "<h2>Key numbers</h2>\n<p>At the last step (step %d), "
                             "for every sweep point: the median over seeds of the prompt "
                             "attention, the half-life of that median (first step below "
                             "50 %%), the mean lock-in and the median normalised "
                             "entropy.</p>\n", results->steps - 1);
        append_key_numbers(out, results);
    }
    if (results->has_lora)
        append_lora_key_numbers(out, &results->lora);

    /* figures, in the order of figures.h */
    render_buffer_printf(out, "<h2>Figures</h2>\n");
    size_t number = 0;
    for (int id = 0; id < DL_FIGURE_COUNT; id++) {
        const char *name = dl_figure_name((dl_figure_id)id);
        for (size_t i = 0; i < n_entries; i++) {
            if (entries[i].id != (dl_figure_id)id)
                continue;
            char prefix[32];
            snprintf(prefix, sizeof prefix, "f%zu-", ++number);
            render_buffer_printf(out, "<figure id=\"%s\">\n", name);
            append_svg(out, entries[i].svg, entries[i].svg_size, prefix);
            render_buffer_printf(out, "\n<figcaption><b>Figure %zu.</b> ", number);
            append_escaped(out, entries[i].built.caption);
            render_buffer_printf(out, "</figcaption>\n</figure>\n");
        }
        for (size_t i = 0; i < n_skipped; i++)
            if (skipped[i].id == (dl_figure_id)id)
                render_buffer_printf(out, "<p id=\"%s\"><b>%s</b>: %s</p>\n", name, name,
                                     skipped[i].reason);
    }

    /* the config */
    render_buffer_printf(out, "<h2>Config</h2>\n<pre id=\"config-text\">");
    append_escaped(out, results->config_text);
    render_buffer_printf(out, "</pre>\n</body>\n</html>\n");

    if (out->failed)
        return dl_error_set(err, "out of memory building report.html");
    return 0;
}
