/* test_lora_adapter.c - adapter scales, starts, forward pass, merging,
 * unmerging, stacking and shape checks.
 *
 * Tolerances are stated where they are used. Exactness claims (alpha = 0,
 * a fresh adapter, opposite weights) are checked with memcmp or ==.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lora_adapter.h"
#include "lora_linalg.h"
#include "lora_metrics.h"
#include "lora_stream.h"
#include "lora_task.h"

enum { D = 64, N = 32, ROWS = 16 };

static void fill_normals(double *out, size_t count, double factor, const char *message)
{
    dl_stream stream;
    dl_stream_init_message(&stream, message, strlen(message));
    for (size_t i = 0; i < count; i++)
        out[i] = factor * dl_stream_normal(&stream);
}

/* A base W [D][N] and inputs x [ROWS][D] with their base logits. */
typedef struct {
    double w[D * N];
    double x[ROWS * D];
    double base_logits[ROWS * N];
} fixture;

static fixture *fixture_make(void)
{
    fixture *f = malloc(sizeof *f);
    assert_non_null(f);
    fill_normals(f->w, D * N, 1.0 / 8.0, "adapter test base");
    fill_normals(f->x, ROWS * D, 1.0, "adapter test inputs");
    dl_error err = {{0}};
    assert_int_equal(dl_lora_logits(f->base_logits, f->x, f->w, ROWS, D, N, &err), 0);
    return f;
}

/* An adapter with random B and A of the given rank, alpha and scaling. */
static void random_adapter(dl_lora_adapter *adapter, int rank, double alpha,
                           dl_lora_scaling scaling, const char *message)
{
    dl_error err = {{0}};
    assert_int_equal(dl_lora_adapter_alloc(adapter, D, N, rank, alpha, scaling, &err), 0);
    char name[128];
    snprintf(name, sizeof name, "%s B", message);
    fill_normals(adapter->b, (size_t)D * (size_t)rank, 0.2, name);
    snprintf(name, sizeof name, "%s A", message);
    fill_normals(adapter->a, (size_t)rank * N, 0.2, name);
}

static double max_abs_difference(const double *a, const double *b, size_t count)
{
    double max = 0.0;
    for (size_t i = 0; i < count; i++)
        if (fabs(a[i] - b[i]) > max)
            max = fabs(a[i] - b[i]);
    return max;
}

static double max_abs(const double *a, size_t count)
{
    double max = 0.0;
    for (size_t i = 0; i < count; i++)
        if (fabs(a[i]) > max)
            max = fabs(a[i]);
    return max;
}

/* ---- scale and rank rules ---- */

static void scale_follows_scaling_rule(void **state)
{
    (void)state;
    assert_true(dl_lora_scale(8.0, 4, DL_LORA_SCALING_STANDARD) == 2.0);
    assert_true(dl_lora_scale(8.0, 4, DL_LORA_SCALING_RSLORA) == 4.0);
    assert_true(dl_lora_scale(8.0, 4, DL_LORA_SCALING_NONE) == 8.0);
}

static void rank_outside_range_is_rejected(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    double *frozen = malloc(D * N * sizeof *frozen);
    dl_lora_adapter adapter;
    dl_lora_adapter_params p = dl_lora_adapter_params_default();
    dl_stream stream;
    dl_stream_init_message(&stream, "unused", 6);
    dl_error err = {{0}};

    p.rank = 0;
    assert_int_equal(dl_lora_adapter_init(&adapter, frozen, f->w, D, N, &p, &stream,
                                          &err), -1);
    assert_string_equal(err.message, "rank: 0 is invalid: must be at least 1, "
                        "because B is D x r and A is r x N (set alpha = 0 to "
                        "reproduce the base model)");

    p.rank = 33;
    assert_int_equal(dl_lora_adapter_init(&adapter, frozen, f->w, D, N, &p, &stream,
                                          &err), -1);
    assert_string_equal(err.message, "rank: 33 is invalid: must be at most min(D, N) "
                        "= 32, because B A is 64 x 32 and cannot have a higher rank");
    assert_null(adapter.b);

    p.rank = 32;
    assert_int_equal(dl_lora_adapter_init(&adapter, frozen, f->w, D, N, &p, &stream,
                                          &err), 0);
    dl_lora_adapter_free(&adapter);
    free(frozen);
    free(f);
}

static void svd_start_rejects_zero_alpha(void **state)
{
    (void)state;
    dl_error err = {{0}};
    dl_lora_adapter_params p = dl_lora_adapter_params_default();
    p.init = DL_LORA_INIT_SVD;
    p.alpha = 0.0;

    assert_int_equal(dl_lora_adapter_params_check(&p, D, N, &err), -1);
    assert_string_equal(err.message, "alpha: 0 is invalid with init = svd: the SVD "
                        "start divides the singular values by the scale, so alpha "
                        "must be > 0");
}

/* ---- starts ---- */

static void kaiming_start_draws_a_in_bound(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    double *frozen = malloc(D * N * sizeof *frozen);
    dl_lora_task_params task = dl_lora_task_params_default();
    dl_lora_adapter_params p = dl_lora_adapter_params_default();
    dl_stream stream, replay;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_stream_init(&stream, DL_LORA_STREAM_INIT, 1, 2, &task,
                                         &p, NULL, &err), 0);
    replay = stream;
    dl_lora_adapter adapter;

    assert_int_equal(dl_lora_adapter_init(&adapter, frozen, f->w, D, N, &p, &stream,
                                          &err), 0);
    double bound = 1.0 / sqrt((double)N);
    for (size_t i = 0; i < 4 * N; i++) {
        assert_true(adapter.a[i] == bound * (2.0 * dl_stream_uniform(&replay) - 1.0));
        assert_true(fabs(adapter.a[i]) <= bound);
    }
    for (size_t i = 0; i < D * 4; i++)
        assert_true(adapter.b[i] == 0.0);
    assert_memory_equal(frozen, f->w, D * N * sizeof(double));
    assert_true(adapter.scale == 2.0);

    dl_lora_adapter_free(&adapter);
    free(frozen);
    free(f);
}

static void gaussian_start_scales_normals_by_inverse_rank(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    double *frozen = malloc(D * N * sizeof *frozen);
    dl_lora_adapter_params p = dl_lora_adapter_params_default();
    p.init = DL_LORA_INIT_GAUSSIAN;
    p.rank = 8;
    dl_stream stream, replay;
    dl_stream_init_message(&stream, "gaussian start", 14);
    replay = stream;
    dl_lora_adapter adapter;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_adapter_init(&adapter, frozen, f->w, D, N, &p, &stream,
                                          &err), 0);
    for (size_t i = 0; i < 8 * N; i++)
        assert_true(adapter.a[i] == (1.0 / 8.0) * dl_stream_normal(&replay));
    for (size_t i = 0; i < D * 8; i++)
        assert_true(adapter.b[i] == 0.0);

    dl_lora_adapter_free(&adapter);
    free(frozen);
    free(f);
}

static void svd_start_leaves_eckart_young_residual(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    double *frozen = malloc(D * N * sizeof *frozen);
    double *weff = malloc(D * N * sizeof *weff);
    dl_lora_adapter_params p = dl_lora_adapter_params_default();
    p.init = DL_LORA_INIT_SVD;
    dl_lora_adapter adapter;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_adapter_init(&adapter, frozen, f->w, D, N, &p, NULL,
                                          &err), 0);

    /* ||W - s B A||_F against sqrt(sum_{i >= r} sigma_i(W)^2) */
    double sigma[N];
    assert_int_equal(dl_lora_singular_values(sigma, f->w, D, N, &err), 0);
    double tail = 0.0;
    for (size_t i = 4; i < N; i++)
        tail += sigma[i] * sigma[i];
    tail = sqrt(tail);
    double residual = dl_linalg_frobenius(frozen, D * N);
    double relative = fabs(residual - tail) / tail;
    print_message("svd start: ||residual||_F = %.17g, tail = %.17g, relative "
                  "difference %.3g\n", residual, tail, relative);
    assert_true(relative <= 1e-12);

    /* W_eff = residual + s B A is W again, to rounding of the entries */
    memcpy(weff, frozen, D * N * sizeof *weff);
    assert_int_equal(dl_lora_merge(weff, &adapter, &err), 0);
    assert_true(max_abs_difference(weff, f->w, D * N) <= 1e-14);

    dl_lora_adapter_free(&adapter);
    free(frozen);
    free(weff);
    free(f);
}

/* ---- forward pass ---- */

static void zero_alpha_gives_base_logits_bitwise(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    dl_lora_adapter adapter;
    random_adapter(&adapter, 4, 0.0, DL_LORA_SCALING_STANDARD, "alpha zero");
    double logits[ROWS * N], xb[ROWS * 4];
    dl_error err = {{0}};

    assert_int_equal(dl_lora_forward(logits, xb, f->x, f->base_logits, &adapter, ROWS,
                                     &err), 0);
    assert_memory_equal(logits, f->base_logits, sizeof logits);
    dl_lora_adapter_free(&adapter);
    free(f);
}

static void fresh_adapter_gives_base_logits(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    double *frozen = malloc(D * N * sizeof *frozen);
    dl_lora_adapter_params p = dl_lora_adapter_params_default();
    dl_stream stream;
    dl_stream_init_message(&stream, "fresh", 5);
    dl_lora_adapter adapter;
    double logits[ROWS * N], xb[ROWS * 4];
    dl_error err = {{0}};

    assert_int_equal(dl_lora_adapter_init(&adapter, frozen, f->w, D, N, &p, &stream,
                                          &err), 0);
    assert_int_equal(dl_lora_forward(logits, xb, f->x, f->base_logits, &adapter, ROWS,
                                     &err), 0);
    /* == rather than memcmp: a -0 base logit may come back as +0 */
    for (size_t i = 0; i < ROWS * N; i++)
        assert_true(logits[i] == f->base_logits[i]);

    dl_lora_adapter_free(&adapter);
    free(frozen);
    free(f);
}

static void forward_matches_merged_weights(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    dl_lora_adapter adapter;
    random_adapter(&adapter, 5, 3.0, DL_LORA_SCALING_RSLORA, "forward");
    double *merged = malloc(D * N * sizeof *merged);
    double logits[ROWS * N], expected[ROWS * N], xb[ROWS * 5];
    dl_error err = {{0}};

    memcpy(merged, f->w, D * N * sizeof *merged);
    assert_int_equal(dl_lora_merge(merged, &adapter, &err), 0);
    assert_int_equal(dl_lora_logits(expected, f->x, merged, ROWS, D, N, &err), 0);
    assert_int_equal(dl_lora_forward(logits, xb, f->x, f->base_logits, &adapter, ROWS,
                                     &err), 0);

    /* the two orders of evaluation round differently; 1e-12 relative to the
     * largest logit is far above (D + r) 2^-53 per dot product */
    double tolerance = 1e-12 * (1.0 + max_abs(expected, ROWS * N));
    assert_true(max_abs_difference(logits, expected, ROWS * N) <= tolerance);

    dl_lora_adapter_free(&adapter);
    free(merged);
    free(f);
}

/* ---- merge, unmerge, stack ---- */

/* Round-trip bound: per entry w' = (w + p)(1 + d1) and w'' = (w' - p)(1 + d2)
 * with |d| <= u = 2^-53, so |w'' - w| <= u (2|w| + |p|) to first order and
 * ||w'' - w||_F / ||w||_F <= eps (1 + ||p||_F / ||w||_F) with eps = 2^-52.
 * The test allows twice that for the second-order terms. */
static void check_round_trip(double adapter_size, const char *label)
{
    fixture *f = fixture_make();
    dl_lora_adapter adapter;
    random_adapter(&adapter, 8, 8.0, DL_LORA_SCALING_STANDARD, label);
    for (size_t i = 0; i < D * 8; i++)
        adapter.b[i] *= adapter_size;
    double *w = malloc(D * N * sizeof *w);
    double *product = malloc(D * N * sizeof *product);
    dl_error err = {{0}};

    memcpy(w, f->w, D * N * sizeof *w);
    assert_int_equal(dl_lora_merge(w, &adapter, &err), 0);
    assert_int_equal(dl_lora_unmerge(w, &adapter, &err), 0);
    assert_int_equal(dl_lora_product(product, &adapter, &err), 0);

    double norm_w = dl_linalg_frobenius(f->w, D * N);
    double ratio = dl_linalg_frobenius(product, D * N) / norm_w;
    double error = dl_linalg_frobenius_distance(w, f->w, D * N) / norm_w;
    double bound = 2.0 * DBL_EPSILON * (1.0 + ratio);
    print_message("%s: ||sBA||/||W|| = %.3g, round-trip error %.3g, bound %.3g\n",
                  label, ratio, error, bound);
    assert_true(error <= bound);

    dl_lora_adapter_free(&adapter);
    free(w);
    free(product);
    free(f);
}

static void merge_unmerge_round_trip_is_within_bound(void **state)
{
    (void)state;
    check_round_trip(1.0, "round trip, adapter like W");
    check_round_trip(100.0, "round trip, adapter 100 times W");
}

static void merge_order_and_stacking_agree(void **state)
{
    (void)state;
    fixture *f = fixture_make();
    dl_lora_adapter first, second, stacked;
    random_adapter(&first, 3, 6.0, DL_LORA_SCALING_STANDARD, "merge first");
    random_adapter(&second, 5, 2.0, DL_LORA_SCALING_RSLORA, "merge second");
    double *w12 = malloc(D * N * sizeof *w12);
    double *w21 = malloc(D * N * sizeof *w21);
    double logits12[ROWS * N], logits21[ROWS * N], logits_stacked[ROWS * N];
    double xb[ROWS * 8];
    dl_error err = {{0}};

    memcpy(w12, f->w, D * N * sizeof *w12);
    assert_int_equal(dl_lora_merge(w12, &first, &err), 0);
    assert_int_equal(dl_lora_merge(w12, &second, &err), 0);
    memcpy(w21, f->w, D * N * sizeof *w21);
    assert_int_equal(dl_lora_merge(w21, &second, &err), 0);
    assert_int_equal(dl_lora_merge(w21, &first, &err), 0);

    const dl_lora_adapter *parts[2] = {&first, &second};
    const double weights[2] = {1.0, 1.0};
    assert_int_equal(dl_lora_stack(&stacked, parts, weights, 2, &err), 0);
    assert_int_equal(stacked.rank, 8);
    assert_true(stacked.scale == 1.0);

    assert_int_equal(dl_lora_logits(logits12, f->x, w12, ROWS, D, N, &err), 0);
    assert_int_equal(dl_lora_logits(logits21, f->x, w21, ROWS, D, N, &err), 0);
    assert_int_equal(dl_lora_forward(logits_stacked, xb, f->x, f->base_logits,
                                     &stacked, ROWS, &err), 0);

    /* stated tolerance: 1e-12 relative to the largest logit, as for the
     * forward pass; each path rounds O((D + r) 2^-53) per entry */
    double tolerance = 1e-12 * (1.0 + max_abs(logits12, ROWS * N));
    double order = max_abs_difference(logits12, logits21, ROWS * N);
    double stacking = max_abs_difference(logits12, logits_stacked, ROWS * N);
    print_message("merge order changes logits by %.3g, stacking by %.3g "
                  "(tolerance %.3g)\n", order, stacking, tolerance);
    assert_true(order <= tolerance);
    assert_true(stacking <= tolerance);

    dl_lora_adapter_free(&first);
    dl_lora_adapter_free(&second);
    dl_lora_adapter_free(&stacked);
    free(w12);
    free(w21);
    free(f);
}

static void stack_scales_b_columns_by_weight(void **state)
{
    (void)state;
    dl_lora_adapter first, second, stacked;
    random_adapter(&first, 2, 6.0, DL_LORA_SCALING_STANDARD, "stack first");
    random_adapter(&second, 3, 3.0, DL_LORA_SCALING_NONE, "stack second");
    const dl_lora_adapter *parts[2] = {&first, &second};
    const double weights[2] = {0.5, -2.0};
    dl_error err = {{0}};

    assert_int_equal(dl_lora_stack(&stacked, parts, weights, 2, &err), 0);
    assert_int_equal(stacked.rank, 5);
    assert_int_equal(stacked.scaling, DL_LORA_SCALING_NONE);
    assert_true(stacked.alpha == 1.0);
    for (size_t i = 0; i < D; i++) {
        for (size_t j = 0; j < 2; j++)
            assert_true(stacked.b[i * 5 + j] == (0.5 * 3.0) * first.b[i * 2 + j]);
        for (size_t j = 0; j < 3; j++)
            assert_true(stacked.b[i * 5 + 2 + j] == (-2.0 * 3.0) * second.b[i * 3 + j]);
    }
    assert_memory_equal(stacked.a, first.a, 2 * N * sizeof(double));
    assert_memory_equal(stacked.a + 2 * N, second.a, 3 * N * sizeof(double));
    assert_int_equal(dl_lora_adapter_check(&stacked, D, N, &err), 0);

    dl_lora_adapter_free(&first);
    dl_lora_adapter_free(&second);
    dl_lora_adapter_free(&stacked);
}

static void opposite_weights_cancel_exactly(void **state)
{
    (void)state;
    dl_lora_adapter adapter;
    random_adapter(&adapter, 4, 8.0, DL_LORA_SCALING_STANDARD, "cancel");
    const dl_lora_adapter *parts[2] = {&adapter, &adapter};
    const double weights[2] = {1.0, -1.0};
    double *delta = malloc(D * N * sizeof *delta);
    double *scratch = malloc(D * N * sizeof *scratch);
    dl_error err = {{0}};

    assert_int_equal(dl_lora_weighted_delta(delta, scratch, parts, weights, 2, &err), 0);
    for (size_t i = 0; i < D * N; i++)
        assert_true(delta[i] == 0.0);

    dl_lora_adapter_free(&adapter);
    free(delta);
    free(scratch);
}

/* ---- shape checks ---- */

static void shape_check_names_the_mismatch(void **state)
{
    (void)state;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_check_shapes(64, 4, 4, 31, 64, 32, &err), -1);
    assert_string_equal(err.message, "A is 4 x 31 but the base W is 64 x 32: "
                        "A must be r x 32");

    assert_int_equal(dl_lora_check_shapes(63, 4, 4, 32, 64, 32, &err), -1);
    assert_string_equal(err.message, "B is 63 x 4 but the base W is 64 x 32: "
                        "B must be 64 x r");

    assert_int_equal(dl_lora_check_shapes(64, 4, 3, 32, 64, 32, &err), -1);
    assert_string_equal(err.message, "B is 64 x 4 but A is 3 x 32: the columns of "
                        "B and the rows of A must both be the rank r");

    assert_int_equal(dl_lora_check_shapes(64, 0, 0, 32, 64, 32, &err), -1);
    assert_string_equal(err.message, "B is 64 x 0 and A is 0 x 32: the rank r must "
                        "be at least 1");

    assert_int_equal(dl_lora_check_shapes(64, 4, 4, 32, 64, 32, &err), 0);
}

static void adapter_check_rejects_wrong_base_and_scale(void **state)
{
    (void)state;
    dl_lora_adapter adapter;
    random_adapter(&adapter, 4, 8.0, DL_LORA_SCALING_STANDARD, "check");
    dl_error err = {{0}};

    assert_int_equal(dl_lora_adapter_check(&adapter, 64, 31, &err), -1);
    assert_string_equal(err.message, "A is 4 x 32 but the base W is 64 x 31: "
                        "A must be r x 31");

    adapter.scale = 3.0;
    assert_int_equal(dl_lora_adapter_check(&adapter, 64, 32, &err), -1);
    assert_string_equal(err.message, "adapter scale 3 does not match alpha 8, rank 4 "
                        "and scaling standard, which give 2");
    dl_lora_adapter_free(&adapter);
}

static void combining_different_bases_is_rejected(void **state)
{
    (void)state;
    dl_lora_adapter first, other;
    random_adapter(&first, 2, 1.0, DL_LORA_SCALING_STANDARD, "base one");
    dl_error err = {{0}};
    assert_int_equal(dl_lora_adapter_alloc(&other, D, N - 1, 2, 1.0,
                                           DL_LORA_SCALING_STANDARD, &err), 0);
    const dl_lora_adapter *parts[2] = {&first, &other};
    const double weights[2] = {1.0, 1.0};
    dl_lora_adapter stacked;

    assert_int_equal(dl_lora_stack(&stacked, parts, weights, 2, &err), -1);
    assert_string_equal(err.message, "adapter 1: A is 2 x 31 but the base W is "
                        "64 x 32: A must be r x 32");
    assert_null(stacked.b);

    dl_lora_adapter_free(&first);
    dl_lora_adapter_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scale_follows_scaling_rule),
        cmocka_unit_test(rank_outside_range_is_rejected),
        cmocka_unit_test(svd_start_rejects_zero_alpha),
        cmocka_unit_test(kaiming_start_draws_a_in_bound),
        cmocka_unit_test(gaussian_start_scales_normals_by_inverse_rank),
        cmocka_unit_test(svd_start_leaves_eckart_young_residual),
        cmocka_unit_test(zero_alpha_gives_base_logits_bitwise),
        cmocka_unit_test(fresh_adapter_gives_base_logits),
        cmocka_unit_test(forward_matches_merged_weights),
        cmocka_unit_test(merge_unmerge_round_trip_is_within_bound),
        cmocka_unit_test(merge_order_and_stacking_agree),
        cmocka_unit_test(stack_scales_b_columns_by_weight),
        cmocka_unit_test(opposite_weights_cancel_exactly),
        cmocka_unit_test(shape_check_names_the_mismatch),
        cmocka_unit_test(adapter_check_rejects_wrong_base_and_scale),
        cmocka_unit_test(combining_different_bases_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
