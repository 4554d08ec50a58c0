/* lora_loss.c - training KL to the teacher against optimiser step: the
 * median over seeds of loss_curve minus that seed's
 * train_teacher_entropy at each recorded step, one line per rank in
 * ascending order of rank, and the full-rank baseline dashed when the
 * file stores its curve.
 *
 * The training loss is the teacher's entropy plus the KL to the teacher,
 * and the entropy (2.84 nats on the lecture task) is the same for every
 * rank, so the raw loss hides the differences between ranks. A file
 * without /lora/train_teacher_entropy (earlier driftlab versions) gets
 * the raw loss, and the caption states it. Log y axis with the floor of the
 * other LoRA figures; alpha is dl_lora_shown_alpha, scaling its first
 * value.
 */
#include "figures_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

/* Multiple of the spacing of doubles near the loss below which a
 * training KL, a difference of two such numbers after many sums, is
 * rounding rather than fit. */
#define ROUNDING_SHARE 10.0

/* Returns the largest of values[n]. */
static double largest_of(const double *values, size_t n)
{
    double largest = values[0];
    for (size_t i = 1; i < n; i++)
        largest = fmax(largest, values[i]);
    return largest;
}

/* Writes the median over seeds of curves [seed][n_samples], each minus
 * entropy[seed] (when entropy is not NULL), into median, floored for the
 * log axis. diff is scratch of n_seeds x n_samples. Returns the smallest
 * value drawn. */
static double median_curve(const double *curves, const double *entropy, size_t n_seeds,
                           size_t n_samples, double *median, double *diff, double *work,
                           size_t *raised)
{
    for (size_t s = 0; s < n_seeds; s++)
        for (size_t t = 0; t < n_samples; t++)
            diff[s * n_samples + t] = curves[s * n_samples + t] -
                                      (entropy != NULL ? entropy[s] : 0.0);
    dl_summary_percentile(median, diff, n_seeds, n_samples, 50.0, work);
    double smallest = INFINITY;
    for (size_t t = 0; t < n_samples; t++) {
        median[t] = fig_lora_floor(median[t], raised);
        smallest = fmin(smallest, median[t]);
    }
    return smallest;
}

int dl_figure_lora_loss(const dl_results *results, const plot_theme *theme, dl_figure *out,
                        dl_error *err)
{
    memset(out, 0, sizeof *out);
    const dl_lora_results *lora = &results->lora;
    size_t alpha = dl_lora_shown_alpha(lora);
    size_t n = lora->n_ranks, samples = lora->n_samples;
    const double *entropy = lora->train_teacher_entropy; /* NULL in older files */
    bool kl = entropy != NULL;
    size_t *order = malloc(n * sizeof *order);
    double *x = malloc(samples * sizeof *x);
    double *medians = malloc((n + 1) * samples * sizeof *medians);
    double *diff = malloc(lora->n_seeds * samples * sizeof *diff);
    double *work = malloc(lora->n_seeds * sizeof *work);
    plot_figure *figure = plot_figure_new(theme->figure_width, theme->figure_height, 1, 1, theme,
                                          err);
    fig_text caption = {NULL, 0, 0, false};
    int status = figure != NULL ? 0 : -1;
    if (status == 0 &&
        (order == NULL || x == NULL || medians == NULL || diff == NULL || work == NULL))
        status = dl_error_set(err, "out of memory for the loss curve figure");

    /* the curves first, because the axis range depends on their smallest
     * value */
    size_t raised = 0;
    double smallest = INFINITY;
    bool baseline = lora->full_rank_loss_curve != NULL;
    if (status == 0) {
        fig_lora_rank_order(lora, order);
        for (size_t t = 0; t < samples; t++)
            x[t] = (double)lora->step_sample[t];
        for (size_t i = 0; i < n; i++) {
            const double *curves = lora->loss_curve +
                                   dl_lora_fit_index(lora, order[i], alpha, 0, 0) * samples;
            smallest = fmin(smallest, median_curve(curves, entropy, lora->n_seeds, samples,
                                                   medians + i * samples, diff, work, &raised));
        }
        if (baseline)
            smallest = fmin(smallest, median_curve(lora->full_rank_loss_curve, entropy,
                                                   lora->n_seeds, samples, medians + n * samples,
                                                   diff, work, &raised));
    }

    plot_panel *panel = status == 0 ? plot_figure_add_panel(figure, 0, 0, 1, 1, err) : NULL;
    if (panel == NULL ||
        plot_figure_set_title(figure, kl ? "Training KL to the teacher against step"
                                         : "Training loss against step", err) != 0 ||
        plot_panel_set_axis(panel, PLOT_X, PLOT_SCALE_LINEAR, "Optimiser step", NULL, err) != 0 ||
        plot_panel_set_axis(panel, PLOT_Y, PLOT_SCALE_LOG, kl ? "Training KL" : "Training loss",
                            "nats", err) != 0 ||
        fig_lora_log_room(panel, PLOT_Y, smallest, err) != 0)
        status = -1;
    if (status == 0)
        plot_panel_set_integer_ticks(panel, PLOT_X);

    for (size_t i = 0; status == 0 && i < n; i++) {
        char label[48];
        snprintf(label, sizeof label, "<i>r</i> = %lld", (long long)lora->rank[order[i]]);
        plot_style style = {fig_lora_rank_color(i, n), 0.0, PLOT_DASH_SOLID};
        status = plot_panel_add_line(panel, x, medians + i * samples, samples, style,
                                     fig_lora_rank_labelled(i, n) ? label : NULL, err);
    }
    if (status == 0 && baseline) {
        plot_style style = {theme->text, 0.0, PLOT_DASH_DASHED};
        status = plot_panel_add_line(panel, x, medians + n * samples, samples, style,
                                     "full rank", err);
    }
    if (status == 0)
        plot_panel_set_legend(panel, PLOT_LEGEND_OUTSIDE_RIGHT);

    if (status == 0) {
        if (kl)
            fig_text_append(&caption, "Training KL(teacher \xe2\x80\x96 adapted) on the "
                            "training inputs: the training cross-entropy minus the mean "
                            "entropy of the teacher's softmax on those inputs "
                            "(/lora/train_teacher_entropy, the least possible loss), per "
                            "seed");
        else
            fig_text_append(&caption, "Training cross-entropy of the adapted model against "
                            "the teacher on the training inputs. The file has no "
                            "/lora/train_teacher_entropy (it was written by an earlier "
                            "driftlab), so the loss is shown whole, with the teacher's "
                            "entropy in it");
        fig_text_append(&caption, ", after each recorded optimiser step (%zu points from "
                        "step 0 to %lld), median over %zu seed%s, one line per rank",
                        samples, (long long)lora->step_sample[samples - 1], lora->n_seeds,
                        lora->n_seeds == 1 ? "" : "s");
        if (baseline)
            fig_text_append(&caption, "; dashed: the full-rank baseline, which trains all "
                            "D N = %.0f entries of dW.", (double)lora->D * lora->N);
        else
            fig_text_append(&caption, ". The file has no /lora/full_rank_loss_curve, so the "
                            "full-rank baseline is not shown.");
        if (kl && smallest < ROUNDING_SHARE * DBL_EPSILON * largest_of(entropy, lora->n_seeds))
            fig_text_append(&caption, " A KL below about %.0e nats is rounding: the loss and "
                            "the entropy it is taken from are near %.3g nats, whose doubles "
                            "are %.0e apart.",
                            ROUNDING_SHARE * DBL_EPSILON * largest_of(entropy, lora->n_seeds),
                            largest_of(entropy, lora->n_seeds),
                            DBL_EPSILON * largest_of(entropy, lora->n_seeds));
        if (raised > 0)
            fig_text_append(&caption, " Values below %g nats are drawn at %g.",
                            FIG_LORA_LOG_FLOOR, FIG_LORA_LOG_FLOOR);
        fig_lora_append_alpha_note(&caption, lora, alpha);
        fig_lora_append_fixed(&caption, lora, -1, (long)alpha, 0, -1);
        if (n > FIG_LORA_LEGEND_RANKS_MAX)
            fig_text_append(&caption, " The legend names %d of the %zu ranks; the colours "
                            "run from dark (smallest rank) to light (largest).",
                            FIG_LORA_LEGEND_RANKS_MAX, n);
        status = fig_finish(figure, &caption, out, err);
        figure = NULL;
    }
    plot_figure_free(figure);
    fig_text_free(&caption);
    free(order);
    free(x);
    free(medians);
    free(diff);
    free(work);
    return status;
}
