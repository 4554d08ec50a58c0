/* test_lora_combine.c - weighted updates, merging, unmerging and stacking
 * of trained adapters, and the bounds the adapter commands check.
 *
 * References are plain triple loops. Exactness claims (opposite weights)
 * are checked with memcmp; the round trip and stacking against the bounds
 * of lora_combine.h, which docs/lora.md derives.
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

#include "lora_combine.h"
#include "stream.h"

enum { D = 23, N = 11 };

static void fill_normals(double *out, size_t count, double factor, const char *message)
{
    dl_stream stream;
    dl_stream_init_message(&stream, message, strlen(message));
    for (size_t i = 0; i < count; i++)
        out[i] = factor * dl_stream_normal(&stream);
}

/* A trained adapter with random factors; with_start adds random B_init
 * and A_init of the same rank, as an svd adapter stores them. */
static void random_trained(dl_lora_trained *trained, int rank, double alpha,
                           dl_lora_scaling scaling, bool with_start, double size,
                           const char *message)
{
    dl_error err = {{0}};
    memset(trained, 0, sizeof *trained);
    assert_int_equal(dl_lora_adapter_alloc(&trained->trained, D, N, rank, alpha, scaling,
                                           &err), 0);
    char name[128];
    snprintf(name, sizeof name, "%s B", message);
    fill_normals(trained->trained.b, (size_t)(D * rank), size, name);
    snprintf(name, sizeof name, "%s A", message);
    fill_normals(trained->trained.a, (size_t)(rank * N), size, name);
    if (!with_start)
        return;
    assert_int_equal(dl_lora_adapter_alloc(&trained->start, D, N, rank, alpha, scaling,
                                           &err), 0);
    snprintf(name, sizeof name, "%s B_init", message);
    fill_normals(trained->start.b, (size_t)(D * rank), size, name);
    snprintf(name, sizeof name, "%s A_init", message);
    fill_normals(trained->start.a, (size_t)(rank * N), size, name);
    trained->has_start = true;
}

/* update += factor * B A with plain loops. */
static void add_reference_product(double *update, const dl_lora_adapter *adapter,
                                  double factor)
{
    int r = adapter->rank;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0.0;
            for (int k = 0; k < r; k++)
                sum += adapter->b[i * r + k] * adapter->a[k * N + j];
            update[i * N + j] += factor * sum;
        }
}

static void reference_update(double *update, const dl_lora_trained *trained,
                             double weight)
{
    memset(update, 0, sizeof(double) * D * N);
    add_reference_product(update, &trained->trained, weight * trained->trained.scale);
    if (trained->has_start)
        add_reference_product(update, &trained->start, -weight * trained->start.scale);
}

static void weighted_update_subtracts_start(void **state)
{
    (void)state;
    dl_lora_trained plain, svd;
    random_trained(&plain, 3, 6.0, DL_LORA_SCALING_STANDARD, false, 0.5, "update plain");
    random_trained(&svd, 2, 1.5, DL_LORA_SCALING_RSLORA, true, 0.5, "update svd");

    double update[D * N], expected[D * N];
    dl_error err = {{0}};
    const dl_lora_trained *cases[2] = {&plain, &svd};
    for (int c = 0; c < 2; c++) {
        assert_int_equal(dl_lora_trained_weighted_update(update, cases[c], -0.75, &err), 0);
        reference_update(expected, cases[c], -0.75);
        /* r-term dot products: a few 2^-53 of the entry sizes, here below 1e-14 */
        for (int i = 0; i < D * N; i++)
            assert_true(fabs(update[i] - expected[i]) <= 1e-14);
    }
    dl_lora_trained_free(&plain);
    dl_lora_trained_free(&svd);
}

static void opposite_weights_give_base_bitwise(void **state)
{
    (void)state;
    double w[D * N], merged[D * N], scratch[D * N];
    fill_normals(w, D * N, 0.3, "opposite base");
    dl_lora_trained svd;
    random_trained(&svd, 4, 2.0, DL_LORA_SCALING_NONE, true, 1.0, "opposite svd");

    const dl_lora_trained *adapters[2] = {&svd, &svd};
    const double weights[2] = {1.0, -1.0};
    dl_error err = {{0}};
    assert_int_equal(dl_lora_trained_merge(merged, scratch, NULL, w, adapters, weights, 2,
                                           &err), 0);
    assert_memory_equal(merged, w, sizeof w);
    dl_lora_trained_free(&svd);
}

/* Merges three adapters into a base of the given size, unmerges them and
 * checks max |W_rt - W| against dl_lora_round_trip_bound. */
static void check_round_trip(double base_size, double adapter_size, const char *label)
{
    double w[D * N], merged[D * N], scratch[D * N], magnitude[D * N], expected[D * N];
    char message[96];
    snprintf(message, sizeof message, "round trip %s base", label);
    fill_normals(w, D * N, base_size, message);
    dl_lora_trained trained[3];
    snprintf(message, sizeof message, "round trip %s 0", label);
    random_trained(&trained[0], 2, 8.0, DL_LORA_SCALING_STANDARD, false, adapter_size,
                   message);
    snprintf(message, sizeof message, "round trip %s 1", label);
    random_trained(&trained[1], 5, 1.0, DL_LORA_SCALING_RSLORA, true, adapter_size,
                   message);
    snprintf(message, sizeof message, "round trip %s 2", label);
    random_trained(&trained[2], 1, 0.5, DL_LORA_SCALING_NONE, false, adapter_size,
                   message);
    const dl_lora_trained *adapters[3] = {&trained[0], &trained[1], &trained[2]};
    const double weights[3] = {0.5, -3.0, 1.25};

    dl_error err = {{0}};
    assert_int_equal(dl_lora_trained_merge(merged, scratch, magnitude, w, adapters,
                                           weights, 3, &err), 0);

    /* the merge itself against plain loops, relative to the largest entry */
    memcpy(expected, w, sizeof w);
    for (int k = 0; k < 3; k++) {
        reference_update(scratch, adapters[k], weights[k]);
        for (int i = 0; i < D * N; i++)
            expected[i] += scratch[i];
    }
    double largest = dl_lora_max_abs(magnitude, D * N);
    assert_true(dl_lora_max_abs_difference(merged, expected, D * N) <= 1e-14 * largest);

    /* magnitude is |W| + sum |V_k|, so it bounds every merged entry up to
     * the rounding of the 3 + 3 additions on either side */
    for (int i = 0; i < D * N; i++)
        assert_true(fabs(merged[i]) <= magnitude[i] * (1.0 + 8 * 0x1p-53));

    assert_int_equal(dl_lora_trained_unmerge(merged, scratch, adapters, weights, 3, &err), 0);
    double error = dl_lora_max_abs_difference(merged, w, D * N);
    double bound = dl_lora_round_trip_bound(largest, 3);
    print_message("round trip %s: error %.3e, bound %.3e\n", label, error, bound);
    assert_true(error <= bound);
    for (int k = 0; k < 3; k++)
        dl_lora_trained_free(&trained[k]);
}

static void round_trip_is_within_bound(void **state)
{
    (void)state;
    check_round_trip(1.0, 0.3, "alike");
    check_round_trip(1e-4, 1.0, "small base");
    check_round_trip(100.0, 1e-3, "small adapters");
}

static void round_trip_bound_follows_formula(void **state)
{
    (void)state;
    double u = 0x1p-53;
    assert_true(dl_lora_round_trip_bound(1.0, 1) == 2 * u / (1 - 2 * u));
    assert_true(dl_lora_round_trip_bound(4.0, 3) == 6 * u * 4.0 / (1 - 6 * u));
    assert_true(dl_lora_round_trip_bound(0.0, 2) == 0.0);
}

static void stack_adds_start_columns_and_matches_merges(void **state)
{
    (void)state;
    double w[D * N], forward[D * N], backward[D * N], stacked_w[D * N];
    double scratch[D * N], magnitude[D * N];
    fill_normals(w, D * N, 0.4, "stack base");
    dl_lora_trained first, second;
    random_trained(&first, 3, 4.0, DL_LORA_SCALING_STANDARD, false, 0.7, "stack first");
    random_trained(&second, 2, 2.0, DL_LORA_SCALING_RSLORA, true, 0.7, "stack second");
    const dl_lora_trained *adapters[2] = {&first, &second};
    const dl_lora_trained *reversed[2] = {&second, &first};
    const double weights[2] = {2.0, -0.5}, reversed_weights[2] = {-0.5, 2.0};

    dl_error err = {{0}};
    dl_lora_adapter stacked;
    assert_int_equal(dl_lora_trained_stack(&stacked, adapters, weights, 2, &err), 0);
    assert_int_equal(stacked.rank, 3 + 2 * 2);
    assert_true(stacked.scale == 1.0);
    assert_int_equal(stacked.scaling, DL_LORA_SCALING_NONE);

    /* the start's B columns carry the opposite weight */
    double factor = -0.5 * second.trained.scale;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < 2; j++) {
            assert_true(stacked.b[i * 7 + 3 + j] == factor * second.trained.b[i * 2 + j]);
            assert_true(stacked.b[i * 7 + 5 + j] == -factor * second.start.b[i * 2 + j]);
        }

    assert_int_equal(dl_lora_product(stacked_w, &stacked, &err), 0);
    for (int i = 0; i < D * N; i++)
        stacked_w[i] = w[i] + stacked_w[i];
    assert_int_equal(dl_lora_trained_merge(forward, scratch, NULL, w, adapters, weights, 2,
                                           &err), 0);
    assert_int_equal(dl_lora_trained_merge(backward, scratch, NULL, w, reversed,
                                           reversed_weights, 2, &err), 0);
    assert_int_equal(dl_lora_trained_magnitude(magnitude, scratch, w, adapters, weights, 2,
                                               &err), 0);
    double tolerance = dl_lora_stack_tolerance(dl_lora_max_abs(magnitude, D * N), 7, 2);
    assert_true(dl_lora_max_abs_difference(stacked_w, forward, D * N) <= tolerance);
    assert_true(dl_lora_max_abs_difference(stacked_w, backward, D * N) <= tolerance);
    assert_true(dl_lora_max_abs_difference(forward, backward, D * N) <= tolerance);

    dl_lora_adapter_free(&stacked);
    dl_lora_trained_free(&first);
    dl_lora_trained_free(&second);
}

static void check_rejects_mismatched_start(void **state)
{
    (void)state;
    dl_lora_trained svd;
    random_trained(&svd, 3, 2.0, DL_LORA_SCALING_STANDARD, true, 1.0, "mismatch");
    dl_error err = {{0}};
    assert_int_equal(dl_lora_trained_check(&svd, D, N, &err), 0);
    assert_int_equal(dl_lora_trained_check(&svd, D, N + 1, &err), -1);
    assert_non_null(strstr(err.message, "A is 3 x 11"));

    svd.start.alpha = 4.0;
    svd.start.scale = 4.0 / 3.0;
    assert_int_equal(dl_lora_trained_check(&svd, D, N, &err), -1);
    assert_non_null(strstr(err.message, "scale"));
    dl_lora_trained_free(&svd);

    const dl_lora_trained *none[1] = {NULL};
    double w[D * N] = {0}, merged[D * N], scratch[D * N];
    assert_int_equal(dl_lora_trained_merge(merged, scratch, NULL, w, none, NULL, 0, &err),
                     -1);
    assert_non_null(strstr(err.message, "at least one adapter"));
}

static void max_abs_reports_nan(void **state)
{
    (void)state;
    double values[3] = {1.0, NAN, -4.0}, zeros[3] = {0.0, 0.0, 0.0};
    assert_true(isnan(dl_lora_max_abs(values, 3)));
    assert_true(isnan(dl_lora_max_abs_difference(values, zeros, 3)));
    assert_true(dl_lora_max_abs(values + 2, 1) == 4.0);
    assert_true(dl_lora_max_abs(values, 0) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weighted_update_subtracts_start),
        cmocka_unit_test(opposite_weights_give_base_bitwise),
        cmocka_unit_test(round_trip_is_within_bound),
        cmocka_unit_test(round_trip_bound_follows_formula),
        cmocka_unit_test(stack_adds_start_columns_and_matches_merges),
        cmocka_unit_test(check_rejects_mismatched_start),
        cmocka_unit_test(max_abs_reports_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
