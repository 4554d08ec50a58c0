/* lora_common.c - what the LoRA figure builders share: which figures a
 * file can draw, the order of ranks and alphas, the sentence about fixed
 * axis values, the rank axis, the log-axis floor and its room, and the
 * rank colours.
 */
#include "figures_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_values.h"

/* Largest over smallest rank from which the rank axis is logarithmic.
 * Ranks such as 1, 2, 4, ..., 64 then spread evenly, r (D + N) is a
 * straight line, and each swept rank gets a tick. */
#define RANK_LOG_RATIO 8

/* Factor between the end ranks and the ends of a log rank axis, 2^0.3:
 * room for the end markers. */
#define RANK_LOG_PAD 1.2311444133449163

bool dl_figure_is_lora(dl_figure_id id)
{
    return id >= DL_FIGURE_LORA_SHAPE && id < DL_FIGURE_COUNT;
}

/* True when some alpha is above 0, so some learned update is not 0. */
static bool some_alpha_positive(const dl_lora_results *lora)
{
    for (size_t a = 0; a < lora->n_alphas; a++)
        if (lora->alpha[a] > 0.0)
            return true;
    return false;
}

const char *dl_figure_lora_skip_reason(dl_figure_id id, const dl_results *results)
{
    if (!results->has_lora)
        return "Not drawn: the results file has no /lora group.";
    const dl_lora_results *lora = &results->lora;
    switch (id) {
    case DL_FIGURE_LORA_PROBE:
        if (lora->probe_base == NULL || lora->probe_teacher == NULL ||
            lora->probe_adapted == NULL)
            return "Not drawn: the results file has no /lora/probe_base, probe_teacher and "
                   "probe_adapted datasets; run the config again with this driftlab to "
                   "store them.";
        return NULL;
    case DL_FIGURE_LORA_SPECTRA:
        if (lora->singular_values == NULL || lora->task_singular_values == NULL)
            return "Not drawn: the results file has no /lora/singular_values and "
                   "task_singular_values datasets; run the config again with this driftlab "
                   "to store them.";
        if (!some_alpha_positive(lora))
            return "Not drawn: every alpha of the sweep is 0, so every learned update is 0 "
                   "and has no spectrum to show.";
        if (lora->n_singular == 0 || !(lora->task_singular_values[0] > 0.0))
            return "Not drawn: the task update dW* of the first seed is 0 (task_scale = 0), "
                   "so it has no spectrum, and the figure, which leaves out singular values "
                   "below a share of its largest one, would be empty.";
        return NULL;
    case DL_FIGURE_LORA_PHI:
        if (lora->phi == NULL)
            return "Not drawn: the results file has no /lora/phi dataset; run the config "
                   "again with this driftlab to store it.";
        if (lora->n_phi_i == lora->n_phi_j)
            return "Not drawn: the smallest and the largest rank of the sweep are equal, so "
                   "there are no two ranks whose A factors could be compared.";
        return NULL;
    default:
        return NULL;
    }
}

void fig_lora_rank_order(const dl_lora_results *lora, size_t *order)
{
    for (size_t i = 0; i < lora->n_ranks; i++)
        order[i] = i;
    for (size_t i = 1; i < lora->n_ranks; i++)
        for (size_t j = i; j > 0 && lora->rank[order[j - 1]] > lora->rank[order[j]]; j--) {
            size_t swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
        }
}

void fig_lora_alpha_order(const dl_lora_results *lora, size_t *order)
{
    for (size_t i = 0; i < lora->n_alphas; i++)
        order[i] = i;
    for (size_t i = 1; i < lora->n_alphas; i++)
        for (size_t j = i; j > 0 && lora->alpha[order[j - 1]] > lora->alpha[order[j]]; j--) {
            size_t swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
        }
}

void fig_lora_append_alpha_note(fig_text *text, const dl_lora_results *lora, size_t alpha)
{
    if (alpha > 0)
        fig_text_append(text, " Alpha = 0 is passed over: it leaves the base model unchanged "
                        "(U = 0) at every rank.");
    (void)lora;
}

const char *fig_lora_alpha_text(double alpha, char *buffer, size_t size)
{
    return dl_sweep_values_format(alpha, buffer, size);
}

/* Appends " (the only value)", " (the first of 3 values)" or
 * " (the 2nd of 3 values)". */
static void append_which(fig_text *text, long index, size_t count)
{
    long position = index + 1;
    const char *suffix = "th";
    if (position % 100 < 11 || position % 100 > 13) {
        if (position % 10 == 1)
            suffix = "st";
        else if (position % 10 == 2)
            suffix = "nd";
        else if (position % 10 == 3)
            suffix = "rd";
    }
    if (count == 1)
        fig_text_append(text, " (the only value)");
    else if (index == 0)
        fig_text_append(text, " (the first of %zu values)", count);
    else
        fig_text_append(text, " (the %ld%s of %zu values)", position, suffix, count);
}

void fig_lora_append_fixed(fig_text *text, const dl_lora_results *lora, long rank, long alpha,
                           long scaling, long seed)
{
    if (rank < 0 && alpha < 0 && scaling < 0 && seed < 0)
        return;
    char number[40];
    const char *separator = " Fixed: ";
    if (rank >= 0) {
        fig_text_append(text, "%srank r = %lld", separator, (long long)lora->rank[rank]);
        append_which(text, rank, lora->n_ranks);
        separator = ", ";
    }
    if (alpha >= 0) {
        fig_text_append(text, "%salpha = %s", separator,
                        fig_lora_alpha_text(lora->alpha[alpha], number, sizeof number));
        append_which(text, alpha, lora->n_alphas);
        separator = ", ";
    }
    if (scaling >= 0) {
        fig_text_append(text, "%sscaling %s", separator, lora->scaling[scaling]);
        append_which(text, scaling, lora->n_scalings);
        separator = ", ";
    }
    if (seed >= 0) {
        fig_text_append(text, "%sseed %lld", separator, (long long)lora->seed[seed]);
        append_which(text, seed, lora->n_seeds);
    }
    fig_text_append(text, ".");
}

bool fig_lora_rank_log(const dl_lora_results *lora)
{
    size_t smallest = 0, largest = 0;
    dl_lora_rank_extremes(lora, &smallest, &largest);
    return lora->rank[largest] >= RANK_LOG_RATIO * lora->rank[smallest];
}

double fig_lora_rank_x(const dl_lora_results *lora, const size_t *order, size_t i)
{
    return (double)lora->rank[order[i]];
}

/* Sets a log rank axis with one tick per distinct swept rank. */
static int rank_log_axis(plot_panel *panel, const dl_lora_results *lora, const size_t *order,
                         dl_error *err)
{
    size_t n = lora->n_ranks;
    double *values = malloc(n * sizeof *values);
    char **labels = calloc(n, sizeof *labels);
    int status = values != NULL && labels != NULL
                     ? 0 : dl_error_set(err, "out of memory for rank labels");
    size_t count = 0;
    char text[32];
    for (size_t i = 0; status == 0 && i < n; i++) {
        double rank = (double)lora->rank[order[i]];
        if (count > 0 && values[count - 1] == rank)
            continue; /* a repeated rank gets one tick */
        snprintf(text, sizeof text, "%lld", (long long)lora->rank[order[i]]);
        values[count] = rank;
        labels[count] = strdup(text);
        if (labels[count++] == NULL)
            status = dl_error_set(err, "out of memory for rank labels");
    }
    double lo = (double)lora->rank[order[0]], hi = (double)lora->rank[order[n - 1]];
    if (status == 0 &&
        (plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LOG, "Rank <i>r</i>", NULL, err) != 0 ||
         plot_panel_set_tick_values(panel, PLOT_X, values, (const char *const *)labels, count,
                                    err) != 0 ||
         plot_panel_set_limits(panel, PLOT_X, lo / RANK_LOG_PAD, hi * RANK_LOG_PAD, err) != 0))
        status = -1;
    for (size_t i = 0; labels != NULL && i < count; i++)
        free(labels[i]);
    free(labels);
    free(values);
    return status;
}

int fig_lora_rank_axis(plot_panel *panel, const dl_lora_results *lora, const size_t *order,
                       dl_error *err)
{
    if (fig_lora_rank_log(lora))
        return rank_log_axis(panel, lora, order, err);
    size_t n = lora->n_ranks;
    double lo = (double)lora->rank[order[0]], hi = (double)lora->rank[order[n - 1]];
    if (plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Rank <i>r</i>", NULL, err) != 0)
        return -1;
    plot_panel_set_integer_ticks(panel, PLOT_X);
    double pad = hi > lo ? 0.08 * (hi - lo) : 0.5;
    return plot_panel_set_limits(panel, PLOT_X, lo - pad, hi + pad, err);
}

int fig_lora_log_room(plot_panel *panel, plot_axis_id axis, double smallest, dl_error *err)
{
    if (!(smallest < FIG_LORA_FLOOR_NEAR * FIG_LORA_LOG_FLOOR))
        return 0;
    /* a decade above too, for a sweep whose every value is at the floor */
    if (plot_panel_include(panel, axis, FIG_LORA_LOG_FLOOR / 10.0, err) != 0)
        return -1;
    return plot_panel_include(panel, axis, FIG_LORA_LOG_FLOOR * 10.0, err);
}

double fig_lora_floor(double value, size_t *raised)
{
    if (value < FIG_LORA_LOG_FLOOR) {
        (*raised)++;
        return FIG_LORA_LOG_FLOOR;
    }
    return value;
}

bool fig_lora_init_svd(const dl_lora_results *lora)
{
    return lora->init != NULL && strcmp(lora->init, "svd") == 0;
}

plot_rgb fig_lora_rank_color(size_t i, size_t n)
{
    if (n <= 1)
        return plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 0.0);
    return plot_colormap_lookup(PLOT_COLORMAP_VIRIDIS, 0.85 * (double)i / (double)(n - 1));
}

bool fig_lora_rank_labelled(size_t i, size_t n)
{
    return plot_keep_evenly(i, n, FIG_LORA_LEGEND_RANKS_MAX);
}
