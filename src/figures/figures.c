/* figures.c - the figure registry, the choice of the single-run figures'
 * run, and the helpers every figure builder shares; see figures.h and
 * figures_internal.h.
 *
 * Sweep points are numbered row-major over the axes in file order (the
 * first axis varies slowest), as in plan.h, so the point of axis indices
 * i_0 .. i_{n-1} is sum_a i_a * prod_{b > a} length_b.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_values.h"

/* Fewest significant digits of a temperature label; more are used only
 * where fewer would show two temperatures alike. */
#define TEMPERATURE_DIGITS_MIN 4

/* %.17g writes distinct text for any two distinct doubles. */
#define TEMPERATURE_DIGITS_MAX 17

/* A [figures] temperature within this relative distance of an axis value
 * selects that value; the config accepts the same tolerance. */
#define TEMPERATURE_TOLERANCE 1e-9

static const char *const figure_names[DL_FIGURE_COUNT] = {
    [DL_FIGURE_TOKEN_STRIP] = "token-strip",
    [DL_FIGURE_ATTENTION_HEATMAP] = "attention-heatmap",
    [DL_FIGURE_PROMPT_ATTENTION] = "prompt-attention",
    [DL_FIGURE_ATTENTION_ENTROPY] = "attention-entropy",
    [DL_FIGURE_LOCK_IN] = "lock-in",
    [DL_FIGURE_PROMPT_ATTENTION_MAP] = "prompt-attention-map",
    [DL_FIGURE_LORA_SHAPE] = "lora-shape",
    [DL_FIGURE_LORA_PROBE] = "lora-probe",
    [DL_FIGURE_LORA_KL_MAP] = "lora-kl-map",
    [DL_FIGURE_LORA_KL_RANK] = "lora-kl-rank",
    [DL_FIGURE_LORA_PARAMS] = "lora-params",
    [DL_FIGURE_LORA_SPECTRA] = "lora-spectra",
    [DL_FIGURE_LORA_PHI] = "lora-phi",
    [DL_FIGURE_LORA_FIT_FORGETTING] = "lora-fit-forgetting",
    [DL_FIGURE_LORA_LOSS] = "lora-loss",
};

const char *dl_figure_name(dl_figure_id id)
{
    if ((int)id < 0 || id >= DL_FIGURE_COUNT)
        return NULL;
    return figure_names[id];
}

bool dl_figure_needs_run(dl_figure_id id)
{
    return id == DL_FIGURE_TOKEN_STRIP || id == DL_FIGURE_ATTENTION_HEATMAP;
}

/* ---- text ---- */

void fig_text_append(fig_text *text, const char *fmt, ...)
{
    if (text->failed)
        return;

    va_list args;
    va_start(args, fmt);
    int needed = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (needed < 0) {
        text->failed = true;
        return;
    }

    size_t wanted = text->length + (size_t)needed + 1;
    if (wanted > text->capacity) {
        size_t capacity = text->capacity == 0 ? 256 : text->capacity;
        while (capacity < wanted)
            capacity *= 2;
        char *grown = realloc(text->data, capacity);
        if (grown == NULL) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }

    va_start(args, fmt);
    vsnprintf(text->data + text->length, text->capacity - text->length, fmt, args);
    va_end(args);
    text->length += (size_t)needed;
}

char *fig_text_take(fig_text *text, dl_error *err)
{
    if (text->failed || text->data == NULL) {
        bool failed = text->failed;
        fig_text_free(text);
        if (failed) {
            dl_error_set(err, "out of memory building figure text");
            return NULL;
        }
        char *empty = calloc(1, 1);
        if (empty == NULL)
            dl_error_set(err, "out of memory building figure text");
        return empty;
    }
    char *taken = text->data;
    *text = (fig_text){NULL, 0, 0, false};
    return taken;
}

void fig_text_free(fig_text *text)
{
    free(text->data);
    *text = (fig_text){NULL, 0, 0, false};
}

const char *fig_number(double value, char *buffer, size_t size)
{
    if (value == 0.0)
        value = 0.0; /* no "-0" */
    snprintf(buffer, size, "%.4g", value);
    return buffer;
}

/* ---- sweep points ---- */

size_t fig_point_of(const dl_results *results, const size_t *index)
{
    size_t point = 0;
    for (size_t a = 0; a < results->n_axes; a++)
        point = point * results->axes[a].length + index[a];
    return point;
}

int fig_points_by_temperature(const dl_results *results, fig_points *points, dl_error *err)
{
    memset(points, 0, sizeof *points);
    int axis = dl_results_axis_index(results, DL_SWEEP_TEMPERATURE);
    points->swept = axis >= 0;
    points->count = axis >= 0 ? results->axes[axis].length : 1;
    points->temperature = malloc(points->count * sizeof *points->temperature);
    points->point = malloc(points->count * sizeof *points->point);
    if (points->temperature == NULL || points->point == NULL) {
        fig_points_free(points);
        return dl_error_set(err, "out of memory listing the temperatures of the figures");
    }

    size_t index[DL_SWEEP_COUNT] = {0};
    for (size_t i = 0; i < points->count; i++) {
        if (axis >= 0)
            index[axis] = i;
        points->point[i] = fig_point_of(results, index);
        points->temperature[i] = dl_results_value(results, DL_SWEEP_TEMPERATURE,
                                                  points->point[i]);
    }

    /* ascending temperature, whatever order the config listed them in */
    for (size_t i = 1; i < points->count; i++) {
        for (size_t j = i; j > 0 && points->temperature[j - 1] > points->temperature[j]; j--) {
            double t = points->temperature[j];
            points->temperature[j] = points->temperature[j - 1];
            points->temperature[j - 1] = t;
            size_t p = points->point[j];
            points->point[j] = points->point[j - 1];
            points->point[j - 1] = p;
        }
    }

    /* Rounding to d digits keeps the order, so when no two neighbours
     * round alike, no two temperatures do. */
    points->digits = TEMPERATURE_DIGITS_MIN;
    for (size_t i = 1; i < points->count && points->digits < TEMPERATURE_DIGITS_MAX; i++) {
        char below[40], above[40];
        snprintf(below, sizeof below, "%.*g", points->digits, points->temperature[i - 1]);
        snprintf(above, sizeof above, "%.*g", points->digits, points->temperature[i]);
        if (strcmp(below, above) == 0) {
            points->digits++;
            i = 0; /* check every pair again at the new precision */
        }
    }
    return 0;
}

const char *fig_temperature_text(const fig_points *points, double t, char *buffer,
                                 size_t size)
{
    char rounded[40];
    snprintf(rounded, sizeof rounded, "%.*g", points->digits, t);
    if (strtod(rounded, NULL) == t)
        return dl_sweep_values_format(t, buffer, size);
    snprintf(buffer, size, "%s", rounded);
    return buffer;
}

int fig_point_temperature_text(const dl_results *results, size_t point, char *buffer,
                               size_t size, dl_error *err)
{
    fig_points points;
    if (fig_points_by_temperature(results, &points, err) != 0)
        return -1;
    fig_temperature_text(&points, dl_results_value(results, DL_SWEEP_TEMPERATURE, point),
                         buffer, size);
    fig_points_free(&points);
    return 0;
}

void fig_points_free(fig_points *points)
{
    free(points->temperature);
    free(points->point);
    memset(points, 0, sizeof *points);
}

size_t fig_append_fixed_axes(fig_text *text, const dl_results *results)
{
    size_t shown = 0;
    char number[40];
    for (size_t a = 0; a < results->n_axes; a++) {
        if (results->axes[a].key == DL_SWEEP_TEMPERATURE)
            continue;
        fig_text_append(text, "%s%s = %s", shown > 0 ? ", " : "",
                        dl_sweep_key_name(results->axes[a].key),
                        dl_sweep_values_format(results->axes[a].values[0], number,
                                               sizeof number));
        shown++;
    }
    return shown;
}

void fig_append_sweep_note(fig_text *text, const dl_results *results, const fig_points *points)
{
    char number[40];
    if (!points->swept)
        fig_text_append(text, " Temperature is not swept, so the figure shows the one "
                        "temperature T = %s.",
                        fig_temperature_text(points, points->temperature[0], number,
                                             sizeof number));

    size_t others = results->n_axes - (points->swept ? 1 : 0);
    if (others > 0) {
        fig_text_append(text, " The other sweep %s at %s first value: ",
                        others == 1 ? "axis is" : "axes are", others == 1 ? "its" : "their");
        fig_append_fixed_axes(text, results);
        fig_text_append(text, ".");
    }
}

/* ---- the run of the single-run figures ---- */

int dl_figures_choose_run(const dl_results *results, dl_figure_run_choice *choice,
                          dl_error *err)
{
    const dl_figure_settings *settings = &results->figures;
    char number[40];

    /* the temperature: an axis value or the single stored value */
    size_t index[DL_SWEEP_COUNT] = {0};
    int axis = dl_results_axis_index(results, DL_SWEEP_TEMPERATURE);
    bool found = false;
    if (axis >= 0) {
        const dl_results_axis *temperatures = &results->axes[axis];
        for (size_t i = 0; i < temperatures->length && !found; i++) {
            double value = temperatures->values[i];
            if (fabs(value - settings->temperature) <= TEMPERATURE_TOLERANCE * fabs(value)) {
                index[axis] = i;
                found = true;
            }
        }
    } else {
        double value = results->scalar[DL_SWEEP_TEMPERATURE];
        found = fabs(value - settings->temperature) <= TEMPERATURE_TOLERANCE * fabs(value);
    }
    if (!found)
        return dl_error_set(err, "%s: /figures temperature %s is not a temperature of the "
                            "sweep; run the config again so that [figures] temperature is "
                            "checked", results->path,
                            dl_sweep_values_format(settings->temperature, number,
                                                   sizeof number));

    /* the seed must be a kept seed, one of the first n_kept */
    if (results->n_kept == 0)
        return dl_error_set(err, "%s: no seed keeps its attention rows (keep_attention = 0), "
                            "so the token strip and the attention heat map cannot be drawn; "
                            "set keep_attention >= 1 in [drift] and run again", results->path);
    for (size_t k = 0; k < results->n_kept; k++) {
        if (results->seeds[k] == settings->seed) {
            choice->point = fig_point_of(results, index);
            choice->kept_index = k;
            return 0;
        }
    }
    return dl_error_set(err, "%s: /figures seed %lld is not one of the %zu kept seeds, whose "
                        "attention rows are stored; choose one of the first keep_attention "
                        "seeds in [figures] seed", results->path, (long long)settings->seed,
                        results->n_kept);
}

/* ---- colours and series ---- */

bool fig_uses_colorbar(const fig_points *points)
{
    return points->count > FIG_LEGEND_MAX;
}

plot_rgb fig_temperature_color(const fig_points *points, size_t i)
{
    if (points->count <= 1)
        return plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 0.0);
    if (!fig_uses_colorbar(points))
        return plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS,
                                    0.85 * (double)i / (double)(points->count - 1));

    double lo = points->temperature[0], hi = points->temperature[0];
    for (size_t j = 1; j < points->count; j++) {
        lo = fmin(lo, points->temperature[j]);
        hi = fmax(hi, points->temperature[j]);
    }
    return plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, (points->temperature[i] - lo) / (hi - lo));
}

double *fig_step_axis(int steps, dl_error *err)
{
    double *step = malloc((size_t)steps * sizeof *step);
    if (step == NULL) {
        dl_error_set(err, "out of memory for the step axis");
        return NULL;
    }
    for (int s = 0; s < steps; s++)
        step[s] = s;
    return step;
}

const double *fig_summary(const dl_results *results, dl_metric metric, dl_stat stat,
                          size_t point)
{
    return results->summary[metric][stat] + point * (size_t)results->steps;
}

int fig_add_marker_key(plot_panel *panel, const plot_theme *theme, const char *label,
                       dl_error *err)
{
    const double nothing[2] = {NAN, NAN};
    plot_style style = {theme->annotation, theme->annotation_width, PLOT_DASH_DASHED};
    return plot_panel_add_line(panel, nothing, nothing, 2, style, label, err);
}

int fig_add_band_key(plot_panel *panel, const plot_theme *theme, const char *label,
                     dl_error *err)
{
    const double nothing[2] = {NAN, NAN};
    return plot_panel_add_band(panel, nothing, nothing, nothing, 2, theme->annotation, label,
                               err);
}

int fig_finish(plot_figure *figure, fig_text *text, dl_figure *out, dl_error *err)
{
    char *caption = fig_text_take(text, err);
    if (caption == NULL) {
        plot_figure_free(figure);
        return -1;
    }
    out->figure = figure;
    out->caption = caption;
    return 0;
}

/* ---- building and freeing ---- */

int dl_figure_build(dl_figure_id id, const dl_results *results,
                    const dl_figure_run_choice *choice, const dl_results_run *run,
                    const plot_theme *theme, dl_figure *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    if (dl_figure_needs_run(id) && (run == NULL || choice == NULL))
        return dl_error_set(err, "figure %s needs a run's attention rows", dl_figure_name(id));
    if (dl_figure_is_lora(id) && !results->has_lora)
        return dl_error_set(err, "figure %s needs a /lora group", dl_figure_name(id));
    if (!dl_figure_is_lora(id) && !results->has_drift)
        return dl_error_set(err, "figure %s needs a /drift group", dl_figure_name(id));

    switch (id) {
    case DL_FIGURE_TOKEN_STRIP:
        return dl_figure_token_strip(results, choice, run, theme, out, err);
    case DL_FIGURE_ATTENTION_HEATMAP:
        return dl_figure_attention_heatmap(results, choice, run, theme, out, err);
    case DL_FIGURE_PROMPT_ATTENTION:
        return dl_figure_prompt_attention(results, theme, out, err);
    case DL_FIGURE_ATTENTION_ENTROPY:
        return dl_figure_attention_entropy(results, theme, out, err);
    case DL_FIGURE_LOCK_IN:
        return dl_figure_lock_in(results, theme, out, err);
    case DL_FIGURE_PROMPT_ATTENTION_MAP:
        return dl_figure_prompt_attention_map(results, theme, out, err);
    case DL_FIGURE_LORA_SHAPE:
        return dl_figure_lora_shape(results, theme, out, err);
    case DL_FIGURE_LORA_PROBE:
        return dl_figure_lora_probe(results, theme, out, err);
    case DL_FIGURE_LORA_KL_MAP:
        return dl_figure_lora_kl_map(results, theme, out, err);
    case DL_FIGURE_LORA_KL_RANK:
        return dl_figure_lora_kl_rank(results, theme, out, err);
    case DL_FIGURE_LORA_PARAMS:
        return dl_figure_lora_params(results, theme, out, err);
    case DL_FIGURE_LORA_SPECTRA:
        return dl_figure_lora_spectra(results, theme, out, err);
    case DL_FIGURE_LORA_PHI:
        return dl_figure_lora_phi(results, theme, out, err);
    case DL_FIGURE_LORA_FIT_FORGETTING:
        return dl_figure_lora_fit_forgetting(results, theme, out, err);
    case DL_FIGURE_LORA_LOSS:
        return dl_figure_lora_loss(results, theme, out, err);
    case DL_FIGURE_COUNT:
        break;
    }
    return dl_error_set(err, "figure id %d is invalid", (int)id);
}

void dl_figure_free(dl_figure *figure)
{
    plot_figure_free(figure->figure);
    free(figure->caption);
    figure->figure = NULL;
    figure->caption = NULL;
}
