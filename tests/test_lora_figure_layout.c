/* test_lora_figure_layout.c - geometry and drawn values of the LoRA
 * figures, built from /lora results made in memory and laid out with the
 * slide theme, as render does.
 *
 * The rank axis is log from a largest-to-smallest ratio of 8, with a tick
 * at each swept rank and r (D + N) a straight line, and linear below it.
 * Markers at the log floor stay inside the data area. The loss figure
 * draws the median over seeds of loss minus the teacher's entropy. The
 * panels of the eval KL map are equally wide. The captions of init svd
 * and of a zero task update are checked word for word.
 *
 * Reads the drawn series through plot_internal.h, because the plot
 * interface has no getter for element data.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "figures.h"
#include "figures_internal.h"
#include "plot_internal.h"
#include "results.h"

enum { SEEDS = 2, SAMPLES = 3, SINGULAR = 4 };

static double *filled(size_t n, double value)
{
    double *values = malloc((n > 0 ? n : 1) * sizeof *values);
    assert_non_null(values);
    for (size_t i = 0; i < n; i++)
        values[i] = value;
    return values;
}

/* A /lora result with the given ranks, alphas {0, 2} and n_scalings
 * scalings, two seeds, every per-fit value 0.01 and every relative error
 * 0.5, the way dl_store_lora_read fills one. */
static void lora_make(dl_results *results, const int64_t *ranks, size_t n_ranks,
                      size_t n_scalings)
{
    static const char *const scalings[3] = {"standard", "rslora", "none"};
    memset(results, 0, sizeof *results);
    results->has_lora = true;
    dl_lora_results *lora = &results->lora;
    lora->D = 16;
    lora->N = 8;
    lora->task_rank = 2;
    lora->steps = 20;
    lora->init = strdup("kaiming");
    lora->n_ranks = n_ranks;
    lora->n_alphas = 2;
    lora->n_scalings = n_scalings;
    lora->n_seeds = SEEDS;
    lora->n_samples = SAMPLES;
    lora->n_singular = SINGULAR;
    lora->rank = malloc(n_ranks * sizeof *lora->rank);
    memcpy(lora->rank, ranks, n_ranks * sizeof *lora->rank);
    lora->alpha = filled(2, 0.0);
    lora->alpha[1] = 2.0;
    lora->scaling = calloc(n_scalings, sizeof *lora->scaling);
    for (size_t i = 0; i < n_scalings; i++)
        lora->scaling[i] = strdup(scalings[i]);
    lora->seed = malloc(SEEDS * sizeof *lora->seed);
    lora->seed[0] = 5;
    lora->seed[1] = 9;
    lora->step_sample = malloc(SAMPLES * sizeof *lora->step_sample);
    for (int64_t t = 0; t < SAMPLES; t++)
        lora->step_sample[t] = 10 * t;

    size_t fits = n_ranks * 2 * n_scalings * SEEDS;
    lora->eval_kl = filled(fits, 0.01);
    lora->forgetting = filled(fits, 0.01);
    lora->final_loss = filled(fits, 3.0);
    lora->relative_error = filled(fits, 0.5);
    lora->eckart_young_error = filled(fits, 0.25);
    lora->loss_curve = filled(fits * SAMPLES, 3.0);
    lora->singular_values = filled(fits * SINGULAR, 1.0);
    lora->task_singular_values = filled(SEEDS * SINGULAR, 1.0);
    lora->full_rank_eval_kl = filled(SEEDS, 1e-9);
    lora->full_rank_forgetting = filled(SEEDS, 1e-9);
    lora->full_rank_relative_error = filled(SEEDS, 0.2);
    lora->full_rank_loss_curve = filled(SEEDS * SAMPLES, 3.0);
    lora->train_teacher_entropy = filled(SEEDS, 2.5);
}

/* cmocka's assert_float_equal compares floats; these are doubles */
#define assert_close(a, b, tolerance) assert_true(fabs((a) - (b)) <= (tolerance))

typedef int (*builder)(const dl_results *, const plot_theme *, dl_figure *, dl_error *);

/* Builds and lays out one figure; fails the test on an error. */
static void build(builder make, const dl_results *results, dl_figure *figure)
{
    dl_error err;
    memset(&err, 0, sizeof err);
    int status = make(results, plot_theme_slide(), figure, &err);
    if (status != 0)
        fail_msg("building failed: %s", err.message);
    if (plot_figure_layout(figure->figure, &err) != 0)
        fail_msg("layout failed: %s", err.message);
}

/* Returns the n-th element of kind in panel, or fails. */
static const plot_element *element_of(const plot_panel *panel, element_kind kind, size_t n)
{
    for (size_t i = 0; i < panel->element_count; i++)
        if (panel->elements[i].kind == kind && n-- == 0)
            return &panel->elements[i];
    fail_msg("the panel has too few elements of kind %d", (int)kind);
    return NULL;
}

static void rank_axis_is_log_from_ratio_eight(void **state)
{
    (void)state;
    const int64_t ranks[] = {1, 2, 3, 4, 6, 8, 16, 32};
    dl_results results;
    lora_make(&results, ranks, 8, 1);
    dl_figure figure;
    build(dl_figure_lora_params, &results, &figure);

    const plot_panel *panel = plot_figure_panel(figure.figure, 0);
    assert_int_equal(panel->axis[PLOT_X].scale, PLOT_SCALE_LOG);
    const plot_ticks *ticks = plot_panel_ticks(panel, PLOT_X);
    assert_int_equal(ticks->count, 8);
    for (size_t i = 0; i < 8; i++) {
        assert_true(ticks->value[i] == (double)ranks[i]);
        char label[8];
        snprintf(label, sizeof label, "%lld", (long long)ranks[i]);
        assert_string_equal(ticks->label[i], label);
    }

    /* r (D + N) against r on log-log: every segment has one slope */
    const plot_element *points = element_of(panel, ELEMENT_POINTS, 0);
    assert_int_equal(points->n, 8);
    double slope = 0.0;
    for (size_t i = 1; i < points->n; i++) {
        double dx = plot_panel_x(panel, points->x[i]) - plot_panel_x(panel, points->x[i - 1]);
        double dy = plot_panel_y(panel, points->y[i]) - plot_panel_y(panel, points->y[i - 1]);
        assert_true(dx > 0.0);
        if (i == 1)
            slope = dy / dx;
        assert_close(dy / dx, slope, 1e-9 * fabs(slope));
    }
    /* equal ratios are equal steps: 1 to 2 as wide as 16 to 32 */
    assert_close(plot_panel_x(panel, 2) - plot_panel_x(panel, 1),
                       plot_panel_x(panel, 32) - plot_panel_x(panel, 16), 1e-9);
    dl_figure_free(&figure);
    dl_lora_results_free(&results.lora);
}

static void rank_axis_is_linear_below_ratio_eight(void **state)
{
    (void)state;
    const int64_t ranks[] = {1, 2, 4};
    dl_results results;
    lora_make(&results, ranks, 3, 1);
    dl_figure figure;
    build(dl_figure_lora_kl_rank, &results, &figure);

    assert_int_equal(plot_figure_panel_count(figure.figure), 2);
    for (size_t p = 0; p < 2; p++) {
        const plot_panel *panel = plot_figure_panel(figure.figure, p);
        assert_int_equal(panel->axis[PLOT_X].scale, PLOT_SCALE_LINEAR);
        /* 2 to 4 is twice as wide as 1 to 2 */
        assert_close(plot_panel_x(panel, 4) - plot_panel_x(panel, 2),
                           2.0 * (plot_panel_x(panel, 2) - plot_panel_x(panel, 1)), 1e-9);
    }
    dl_figure_free(&figure);
    dl_lora_results_free(&results.lora);
}

static void kl_rank_ticks_every_swept_rank(void **state)
{
    (void)state;
    const int64_t ranks[] = {16, 1, 4, 64};
    dl_results results;
    lora_make(&results, ranks, 4, 1);
    dl_figure figure;
    build(dl_figure_lora_kl_rank, &results, &figure);
    const double sorted[] = {1, 4, 16, 64};
    for (size_t p = 0; p < 2; p++) {
        const plot_panel *panel = plot_figure_panel(figure.figure, p);
        assert_int_equal(panel->axis[PLOT_X].scale, PLOT_SCALE_LOG);
        const plot_ticks *ticks = plot_panel_ticks(panel, PLOT_X);
        assert_int_equal(ticks->count, 4);
        for (size_t i = 0; i < 4; i++)
            assert_true(ticks->value[i] == sorted[i]);
    }
    dl_figure_free(&figure);
    dl_lora_results_free(&results.lora);
}

/* Fails unless a marker at value on axis id of panel is whole: its
 * centre at least a marker radius inside the data area. */
static void assert_marker_inside(const plot_panel *panel, plot_axis_id id, double value)
{
    double radius = 0.5 * plot_theme_slide()->marker_size;
    if (id == PLOT_Y) {
        double y = plot_panel_y(panel, value);
        assert_true(panel->area.y + panel->area.height - y >= radius);
    } else {
        double x = plot_panel_x(panel, value);
        assert_true(x - panel->area.x >= radius);
    }
}

static void floor_markers_are_whole(void **state)
{
    (void)state;
    const int64_t ranks[] = {1, 2, 4};
    dl_results results;
    lora_make(&results, ranks, 3, 1);
    dl_lora_results *lora = &results.lora;
    /* rank 4 at alpha 2 (index 1) fits exactly: below the 1e-16 floor */
    for (size_t s = 0; s < SEEDS; s++) {
        lora->eval_kl[dl_lora_fit_index(lora, 2, 1, 0, s)] = 2.7e-17;
        lora->forgetting[dl_lora_fit_index(lora, 2, 1, 0, s)] = 4e-17;
    }

    dl_figure figure;
    build(dl_figure_lora_fit_forgetting, &results, &figure);
    const plot_panel *panel = plot_figure_panel(figure.figure, 0);
    assert_true(plot_panel_ticks(panel, PLOT_X)->lo <= 1.000001e-17);
    assert_true(plot_panel_ticks(panel, PLOT_Y)->lo <= 1.000001e-17);
    assert_marker_inside(panel, PLOT_X, 1e-16);
    assert_marker_inside(panel, PLOT_Y, 1e-16);
    assert_non_null(strstr(figure.caption, "Values below 1e-16 nats are drawn at 1e-16."));
    dl_figure_free(&figure);

    build(dl_figure_lora_kl_rank, &results, &figure);
    panel = plot_figure_panel(figure.figure, 0);
    assert_true(plot_panel_ticks(panel, PLOT_Y)->lo <= 1.000001e-17);
    assert_marker_inside(panel, PLOT_Y, 1e-16);
    assert_non_null(strstr(figure.caption, "Values below 1e-16 nats are drawn at 1e-16."));
    dl_figure_free(&figure);

    /* every value at the floor: room above it too */
    for (size_t i = 0; i < 3 * 2 * SEEDS; i++)
        lora->eval_kl[i] = 0.0;
    lora->full_rank_eval_kl[0] = lora->full_rank_eval_kl[1] = 0.0;
    build(dl_figure_lora_kl_rank, &results, &figure);
    panel = plot_figure_panel(figure.figure, 0);
    assert_true(plot_panel_ticks(panel, PLOT_Y)->lo <= 1.000001e-17);
    assert_true(plot_panel_ticks(panel, PLOT_Y)->hi >= 0.999999e-15);
    assert_true(plot_panel_y(panel, 1e-16) - panel->area.y >=
                0.5 * plot_theme_slide()->marker_size);
    dl_figure_free(&figure);

    /* without a value near the floor the axis keeps its decades */
    for (size_t i = 0; i < 3 * 2 * SEEDS; i++)
        lora->eval_kl[i] = 1e-3;
    lora->full_rank_eval_kl[0] = lora->full_rank_eval_kl[1] = 1e-4;
    build(dl_figure_lora_kl_rank, &results, &figure);
    panel = plot_figure_panel(figure.figure, 0);
    assert_true(plot_panel_ticks(panel, PLOT_Y)->lo >= 1e-5);
    dl_figure_free(&figure);
    dl_lora_results_free(&results.lora);
}

static void loss_draws_training_kl(void **state)
{
    (void)state;
    const int64_t ranks[] = {1, 2};
    dl_results results;
    lora_make(&results, ranks, 2, 1);
    dl_lora_results *lora = &results.lora;
    lora->train_teacher_entropy[0] = 2.5;
    lora->train_teacher_entropy[1] = 2.0;
    /* rank 1 at alpha 2: seed 0 loss 2.5 + {1, 0.1, 0.01}, seed 1 loss
     * 2.0 + {3, 0.3, 0.03}; KL medians are {2, 0.2, 0.02} */
    const double kl[2][SAMPLES] = {{1, 0.1, 0.01}, {3, 0.3, 0.03}};
    for (size_t s = 0; s < SEEDS; s++)
        for (size_t t = 0; t < SAMPLES; t++)
            lora->loss_curve[dl_lora_fit_index(lora, 0, 1, 0, s) * SAMPLES + t] =
                lora->train_teacher_entropy[s] + kl[s][t];
    /* the baseline: KL 1e-20 at every step, below the floor */
    for (size_t s = 0; s < SEEDS; s++)
        for (size_t t = 0; t < SAMPLES; t++)
            lora->full_rank_loss_curve[s * SAMPLES + t] = lora->train_teacher_entropy[s];

    dl_figure figure;
    build(dl_figure_lora_loss, &results, &figure);
    const plot_panel *panel = plot_figure_panel(figure.figure, 0);
    const plot_element *rank1 = element_of(panel, ELEMENT_LINE, 0);
    const double expected[SAMPLES] = {2.0, 0.2, 0.02};
    for (size_t t = 0; t < SAMPLES; t++)
        assert_close(rank1->y[t], expected[t], 1e-12);
    const plot_element *full = element_of(panel, ELEMENT_LINE, 2);
    for (size_t t = 0; t < SAMPLES; t++)
        assert_true(full->y[t] == 1e-16);
    assert_true(plot_panel_ticks(panel, PLOT_Y)->lo <= 1.000001e-17);
    assert_non_null(strstr(figure.caption, "Training KL(teacher"));
    assert_non_null(strstr(plot_figure_title_text(figure.figure), "Training KL"));
    dl_figure_free(&figure);

    /* a file without the entropy: the raw loss, named in the caption */
    free(lora->train_teacher_entropy);
    lora->train_teacher_entropy = NULL;
    build(dl_figure_lora_loss, &results, &figure);
    panel = plot_figure_panel(figure.figure, 0);
    rank1 = element_of(panel, ELEMENT_LINE, 0);
    /* medians of {3.5, 5}, {2.6, 2.3}, {2.51, 2.03} */
    assert_close(rank1->y[0], 4.25, 1e-12);
    assert_close(rank1->y[1], 2.45, 1e-12);
    assert_close(rank1->y[2], 2.27, 1e-12);
    assert_non_null(strstr(figure.caption, "has no /lora/train_teacher_entropy"));
    dl_figure_free(&figure);
    dl_lora_results_free(&results.lora);
}

static void map_panels_have_equal_widths(void **state)
{
    (void)state;
    const int64_t ranks[] = {1, 2, 4};
    for (size_t scalings = 2; scalings <= 3; scalings++) {
        dl_results results;
        lora_make(&results, ranks, 3, scalings);
        dl_figure figure;
        build(dl_figure_lora_kl_map, &results, &figure);
        size_t count = plot_figure_panel_count(figure.figure);
        assert_int_equal(count, scalings);
        double width = plot_panel_area(plot_figure_panel(figure.figure, 0)).width;
        assert_true(width > 0.0);
        for (size_t p = 1; p < count; p++)
            assert_close(plot_panel_area(plot_figure_panel(figure.figure, p)).width,
                               width, 1e-9);
        dl_figure_free(&figure);
        dl_lora_results_free(&results.lora);
    }
}

static void svd_captions_drop_rank_bound(void **state)
{
    (void)state;
    const int64_t ranks[] = {1, 2, 4};
    dl_results results;
    lora_make(&results, ranks, 3, 1);
    dl_figure figure;

    /* kaiming: the optimum is a bound and the update has rank <= r */
    build(dl_figure_lora_kl_rank, &results, &figure);
    assert_null(strstr(figure.caption, "not a bound"));
    dl_figure_free(&figure);
    /* one value of the shown fit (rank 1, alpha 2, seed 5) left out */
    results.lora.singular_values[dl_lora_fit_index(&results.lora, 0, 1, 0, 0) * SINGULAR + 3] =
        1e-20;
    build(dl_figure_lora_spectra, &results, &figure);
    assert_non_null(strstr(figure.caption, "an update of rank r has at most r singular"));
    dl_figure_free(&figure);

    free(results.lora.init);
    results.lora.init = strdup("svd");
    build(dl_figure_lora_kl_rank, &results, &figure);
    assert_non_null(strstr(figure.caption, "can reach rank 2r, so the rank-r optimum is a "
                                           "reference and not a bound"));
    dl_figure_free(&figure);
    build(dl_figure_lora_spectra, &results, &figure);
    assert_null(strstr(figure.caption, "at most r singular"));
    assert_non_null(strstr(figure.caption, "at most 2r singular values above 0"));
    assert_non_null(strstr(figure.caption, "U = s B A \xe2\x88\x92 s B_init A_init"));
    dl_figure_free(&figure);
    dl_lora_results_free(&results.lora);
}

static void zero_task_leaves_out_error_panel(void **state)
{
    (void)state;
    const int64_t ranks[] = {1, 2, 4};
    dl_results results;
    lora_make(&results, ranks, 3, 1);
    dl_lora_results *lora = &results.lora;
    size_t fits = 3 * 2 * 1 * SEEDS;
    for (size_t i = 0; i < fits; i++)
        lora->relative_error[i] = lora->eckart_young_error[i] = NAN;
    for (size_t i = 0; i < SEEDS * SINGULAR; i++)
        lora->task_singular_values[i] = 0.0;

    dl_figure figure;
    build(dl_figure_lora_kl_rank, &results, &figure);
    assert_int_equal(plot_figure_panel_count(figure.figure), 1);
    assert_non_null(strstr(figure.caption, "is not shown: it is NaN at every rank"));
    assert_null(strstr(figure.caption, "optimum is 0"));
    assert_null(strstr(figure.caption, "Right:"));
    dl_figure_free(&figure);

    const char *reason = dl_figure_lora_skip_reason(DL_FIGURE_LORA_SPECTRA, &results);
    assert_non_null(reason);
    assert_non_null(strstr(reason, "dW* of the first seed is 0"));

    /* NaN optima at some ranks are NaN in the caption, never 0 */
    for (size_t i = 0; i < fits; i++)
        lora->relative_error[i] = 0.5;
    build(dl_figure_lora_kl_rank, &results, &figure);
    assert_int_equal(plot_figure_panel_count(figure.figure), 2);
    assert_null(strstr(figure.caption, "optimum is 0"));
    assert_non_null(strstr(figure.caption, "The optimum is NaN in the file at 3 of the 3 "
                                           "ranks"));
    dl_figure_free(&figure);
    dl_lora_results_free(&results.lora);
}

/* 32 rank lines once ran the legend off the canvas at r = 22: at most
 * FIG_LORA_LEGEND_RANKS_MAX get an entry, evenly spaced, with the first
 * and the last among them; a short list keeps every entry. */
static void legend_names_at_most_a_dozen_ranks(void **state)
{
    (void)state;
    size_t labelled = 0;
    for (size_t i = 0; i < 32; i++)
        labelled += fig_lora_rank_labelled(i, 32);
    assert_int_equal(labelled, FIG_LORA_LEGEND_RANKS_MAX);
    assert_true(fig_lora_rank_labelled(0, 32));
    assert_true(fig_lora_rank_labelled(31, 32));
    for (size_t i = 0; i < 5; i++)
        assert_true(fig_lora_rank_labelled(i, 5));
    labelled = 0;
    for (size_t i = 0; i < 13; i++)
        labelled += fig_lora_rank_labelled(i, 13);
    assert_int_equal(labelled, FIG_LORA_LEGEND_RANKS_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rank_axis_is_log_from_ratio_eight),
        cmocka_unit_test(rank_axis_is_linear_below_ratio_eight),
        cmocka_unit_test(kl_rank_ticks_every_swept_rank),
        cmocka_unit_test(floor_markers_are_whole),
        cmocka_unit_test(loss_draws_training_kl),
        cmocka_unit_test(map_panels_have_equal_widths),
        cmocka_unit_test(svd_captions_drop_rank_bound),
        cmocka_unit_test(zero_task_leaves_out_error_panel),
        cmocka_unit_test(legend_names_at_most_a_dozen_ranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
