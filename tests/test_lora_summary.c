/* test_lora_summary.c - the pure helpers over a loaded /lora group
 * (lora_results.h): the rank of the shape diagram, the alpha shown, the
 * smallest and largest rank, the index of a fit, and medians over seeds.
 *
 * Medians are checked against numpy.median of the same numbers, worked
 * by hand here: the mean of the two middle values for an even count.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lora_results.h"

/* A struct with only the ranks and the task rank set. */
static dl_lora_results with_ranks(int64_t *ranks, size_t n, int task_rank)
{
    dl_lora_results lora = {0};
    lora.rank = ranks;
    lora.n_ranks = n;
    lora.task_rank = task_rank;
    return lora;
}

static void diagram_rank_is_task_rank_when_swept(void **state)
{
    (void)state;
    int64_t ranks[] = {1, 2, 4, 8};
    dl_lora_results lora = with_ranks(ranks, 4, 4);
    assert_int_equal(dl_lora_diagram_rank(&lora), 2);
}

static void diagram_rank_is_middle_of_odd_count(void **state)
{
    (void)state;
    int64_t ranks[] = {16, 1, 4}; /* sorted: 1, 4, 16 */
    dl_lora_results lora = with_ranks(ranks, 3, 3);
    assert_int_equal(dl_lora_diagram_rank(&lora), 2);
}

static void diagram_rank_is_lower_middle_of_even_count(void **state)
{
    (void)state;
    int64_t ranks[] = {8, 2, 32, 1}; /* sorted: 1, 2, 8, 32 */
    dl_lora_results lora = with_ranks(ranks, 4, 5);
    assert_int_equal(dl_lora_diagram_rank(&lora), 1);
}

static void diagram_rank_of_single_rank(void **state)
{
    (void)state;
    int64_t ranks[] = {3};
    dl_lora_results lora = with_ranks(ranks, 1, 2);
    assert_int_equal(dl_lora_diagram_rank(&lora), 0);
}

static void rank_extremes_take_first_of_ties(void **state)
{
    (void)state;
    int64_t ranks[] = {4, 1, 8, 1, 8};
    dl_lora_results lora = with_ranks(ranks, 5, 2);
    size_t smallest = 99, largest = 99;
    dl_lora_rank_extremes(&lora, &smallest, &largest);
    assert_int_equal(smallest, 1);
    assert_int_equal(largest, 2);
}

static void fit_index_has_seed_fastest(void **state)
{
    (void)state;
    dl_lora_results lora = {0};
    lora.n_ranks = 3;
    lora.n_alphas = 2;
    lora.n_scalings = 2;
    lora.n_seeds = 5;
    assert_int_equal(dl_lora_fit_index(&lora, 0, 0, 0, 0), 0);
    assert_int_equal(dl_lora_fit_index(&lora, 0, 0, 0, 4), 4);
    assert_int_equal(dl_lora_fit_index(&lora, 0, 0, 1, 0), 5);
    assert_int_equal(dl_lora_fit_index(&lora, 0, 1, 0, 0), 10);
    assert_int_equal(dl_lora_fit_index(&lora, 2, 1, 1, 4), 59);
}

static void median_over_seeds_matches_numpy(void **state)
{
    (void)state;
    dl_lora_results lora = {0};
    lora.n_ranks = 2;
    lora.n_alphas = 1;
    lora.n_scalings = 1;
    lora.n_seeds = 4;
    /* rank 0: seeds 3, 1, 2, 10 -> 2.5; rank 1: 0.5, 0.25, 0.75, 1 -> 0.625 */
    const double values[8] = {3, 1, 2, 10, 0.5, 0.25, 0.75, 1};
    assert_true(dl_lora_median_over_seeds(&lora, values, 0, 0, 0) == 2.5);
    assert_true(dl_lora_median_over_seeds(&lora, values, 1, 0, 0) == 0.625);

    double p90 = 0.0;
    assert_int_equal(dl_lora_percentile_over_seeds(&lora, values, 0, 0, 0, 90.0, &p90), 0);
    /* numpy.percentile([1, 2, 3, 10], 90) = 3 + 0.7 * 7 */
    assert_float_equal(p90, 7.9, 1e-12);
}

static void median_with_stride_reads_every_other(void **state)
{
    (void)state;
    const double values[6] = {5, -1, 1, -1, 3, -1};
    assert_true(dl_lora_median(values, 3, 2) == 3.0);
    assert_true(dl_lora_median(values, 1, 2) == 5.0);
    assert_true(isnan(dl_lora_median(values, 0, 1)));
}

static void shown_alpha_passes_over_zero(void **state)
{
    (void)state;
    double alphas[] = {0.0, 0.0, 4.0, 1.0};
    dl_lora_results lora = {0};
    lora.alpha = alphas;
    lora.n_alphas = 4;
    assert_int_equal(dl_lora_shown_alpha(&lora), 2);
    lora.n_alphas = 2; /* only zeros */
    assert_int_equal(dl_lora_shown_alpha(&lora), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(diagram_rank_is_task_rank_when_swept),
        cmocka_unit_test(diagram_rank_is_middle_of_odd_count),
        cmocka_unit_test(diagram_rank_is_lower_middle_of_even_count),
        cmocka_unit_test(diagram_rank_of_single_rank),
        cmocka_unit_test(rank_extremes_take_first_of_ties),
        cmocka_unit_test(fit_index_has_seed_fastest),
        cmocka_unit_test(median_over_seeds_matches_numpy),
        cmocka_unit_test(median_with_stride_reads_every_other),
        cmocka_unit_test(shown_alpha_passes_over_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
