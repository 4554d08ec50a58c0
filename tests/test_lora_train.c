/* test_lora_train.c - cross-entropy, analytic gradients against finite
 * differences, the optimisers, the loss curve and the training loop.
 *
 * Gradient check: central differences (L(t + h) - L(t - h)) / 2h with
 * h = 1e-5. Their truncation error is O(h^2) = 1e-10 and their rounding
 * error about 2^-52 L / h = 3e-11, so the largest difference from the
 * analytic gradient, relative to the largest gradient entry, must be
 * below 1e-6.
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

#include "assert_near.h"
#include "lora_adapter.h"
#include "lora_metrics.h"
#include "lora_stream.h"
#include "lora_task.h"
#include "lora_train.h"

static void fill_normals(double *out, size_t count, double factor, const char *message)
{
    dl_stream stream;
    dl_stream_init_message(&stream, message, strlen(message));
    for (size_t i = 0; i < count; i++)
        out[i] = factor * dl_stream_normal(&stream);
}

/* ---- cross-entropy ---- */

static void cross_entropy_matches_hand_value(void **state)
{
    (void)state;
    /* softmax(0, ln 3) = (1/4, 3/4) against (1/2, 1/2):
     * -(1/2) ln(1/4) - (1/2) ln(3/4) = (1/2) ln(16/3) */
    const double logits[2] = {0.0, log(3.0)};
    const double teacher[2] = {0.5, 0.5};
    double probs[2];

    double loss = dl_lora_cross_entropy(probs, logits, teacher, 1, 2);
    assert_near(loss, 0.5 * log(16.0 / 3.0), 1e-15);
    assert_near(probs[0], 0.25, 1e-15);
    assert_near(probs[1], 0.75, 1e-15);
}

static void cross_entropy_survives_huge_logits(void **state)
{
    (void)state;
    double logits[4] = {1000.0, 0.0, -1000.0, 1000.0};
    const double teacher[4] = {1.0, 0.0, 0.5, 0.5};

    /* row 0 fits exactly; row 1 puts 1/2 on a logit 2000 below the other */
    double loss = dl_lora_cross_entropy(logits, logits, teacher, 2, 2);
    assert_near(loss, (0.0 + 0.5 * 2000.0) / 2.0, 1e-12);
    assert_true(logits[0] == 1.0);
    assert_true(logits[1] == 0.0);
}

/* ---- gradients against finite differences ---- */

enum { FD_D = 5, FD_N = 4, FD_R = 2, FD_ROWS = 3 };

typedef struct {
    double x[FD_ROWS * FD_D];
    double frozen[FD_ROWS * FD_N];
    double teacher[FD_ROWS * FD_N];
} fd_data;

static void fd_data_make(fd_data *data)
{
    double w[FD_D * FD_N], teacher_w[FD_D * FD_N];
    fill_normals(data->x, FD_ROWS * FD_D, 1.0, "fd inputs");
    fill_normals(w, FD_D * FD_N, 0.5, "fd base");
    fill_normals(teacher_w, FD_D * FD_N, 0.5, "fd teacher");
    dl_error err = {{0}};
    double teacher_logits[FD_ROWS * FD_N];
    assert_int_equal(dl_lora_logits(data->frozen, data->x, w, FD_ROWS, FD_D, FD_N, &err), 0);
    assert_int_equal(dl_lora_logits(teacher_logits, data->x, teacher_w, FD_ROWS, FD_D,
                                    FD_N, &err), 0);
    assert_int_equal(dl_lora_softmax_rows(data->teacher, teacher_logits, FD_ROWS, FD_N,
                                          &err), 0);
}

static double adapter_loss(const fd_data *data, const dl_lora_adapter *adapter,
                           dl_lora_workspace *ws)
{
    double loss;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_adapter_gradients(&loss, NULL, NULL, data->x, data->frozen,
                                               data->teacher, FD_ROWS, adapter, ws,
                                               &err), 0);
    return loss;
}

/* Returns max |numeric - analytic| / max |analytic| over one parameter
 * block, perturbing parameters[i] in place. */
static double fd_error(double *parameters, const double *analytic, size_t count,
                       const fd_data *data, const dl_lora_adapter *adapter,
                       dl_lora_workspace *ws)
{
    const double h = 1e-5;
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < count; i++) {
        double original = parameters[i];
        parameters[i] = original + h;
        double plus = adapter_loss(data, adapter, ws);
        parameters[i] = original - h;
        double minus = adapter_loss(data, adapter, ws);
        parameters[i] = original;

        double numeric = (plus - minus) / (2.0 * h);
        if (fabs(numeric - analytic[i]) > worst)
            worst = fabs(numeric - analytic[i]);
        if (fabs(analytic[i]) > largest)
            largest = fabs(analytic[i]);
    }
    return worst / largest;
}

static void adapter_gradients_match_finite_differences(void **state)
{
    (void)state;
    fd_data data;
    fd_data_make(&data);
    dl_lora_adapter adapter;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_adapter_alloc(&adapter, FD_D, FD_N, FD_R, 3.0,
                                           DL_LORA_SCALING_STANDARD, &err), 0);
    fill_normals(adapter.b, FD_D * FD_R, 0.5, "fd B");
    fill_normals(adapter.a, FD_R * FD_N, 0.5, "fd A");
    dl_lora_workspace ws;
    assert_int_equal(dl_lora_workspace_alloc(&ws, FD_D, FD_N, FD_R, FD_ROWS, FD_ROWS,
                                             &err), 0);

    double grad_b[FD_D * FD_R], grad_a[FD_R * FD_N], loss;
    assert_int_equal(dl_lora_adapter_gradients(&loss, grad_b, grad_a, data.x,
                                               data.frozen, data.teacher, FD_ROWS,
                                               &adapter, &ws, &err), 0);

    double error_b = fd_error(adapter.b, grad_b, FD_D * FD_R, &data, &adapter, &ws);
    double error_a = fd_error(adapter.a, grad_a, FD_R * FD_N, &data, &adapter, &ws);
    print_message("adapter gradients vs central differences: dL/dB %.3g, dL/dA %.3g "
                  "(relative to the largest entry)\n", error_b, error_a);
    assert_true(error_b < 1e-6);
    assert_true(error_a < 1e-6);

    dl_lora_workspace_free(&ws);
    dl_lora_adapter_free(&adapter);
}

static double full_loss(const fd_data *data, const double *delta, dl_lora_workspace *ws)
{
    double loss;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_full_gradient(&loss, NULL, data->x, data->frozen,
                                           data->teacher, FD_ROWS, delta, ws, &err), 0);
    return loss;
}

static void full_gradient_matches_finite_differences(void **state)
{
    (void)state;
    fd_data data;
    fd_data_make(&data);
    double delta[FD_D * FD_N], gradient[FD_D * FD_N], loss;
    fill_normals(delta, FD_D * FD_N, 0.3, "fd delta");
    dl_lora_workspace ws;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_workspace_alloc(&ws, FD_D, FD_N, 0, FD_ROWS, FD_ROWS,
                                             &err), 0);
    assert_int_equal(dl_lora_full_gradient(&loss, gradient, data.x, data.frozen,
                                           data.teacher, FD_ROWS, delta, &ws, &err), 0);

    const double h = 1e-5;
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < FD_D * FD_N; i++) {
        double original = delta[i];
        delta[i] = original + h;
        double plus = full_loss(&data, delta, &ws);
        delta[i] = original - h;
        double minus = full_loss(&data, delta, &ws);
        delta[i] = original;
        double numeric = (plus - minus) / (2.0 * h);
        if (fabs(numeric - gradient[i]) > worst)
            worst = fabs(numeric - gradient[i]);
        if (fabs(gradient[i]) > largest)
            largest = fabs(gradient[i]);
    }
    print_message("full-rank gradient vs central differences: %.3g\n", worst / largest);
    assert_true(worst / largest < 1e-6);
    dl_lora_workspace_free(&ws);
}

static void zero_scale_gives_zero_gradients(void **state)
{
    (void)state;
    fd_data data;
    fd_data_make(&data);
    dl_lora_adapter adapter;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_adapter_alloc(&adapter, FD_D, FD_N, FD_R, 0.0,
                                           DL_LORA_SCALING_STANDARD, &err), 0);
    fill_normals(adapter.b, FD_D * FD_R, 0.5, "fd B");
    fill_normals(adapter.a, FD_R * FD_N, 0.5, "fd A");
    dl_lora_workspace ws;
    assert_int_equal(dl_lora_workspace_alloc(&ws, FD_D, FD_N, FD_R, FD_ROWS, FD_ROWS,
                                             &err), 0);
    double grad_b[FD_D * FD_R], grad_a[FD_R * FD_N], loss;

    assert_int_equal(dl_lora_adapter_gradients(&loss, grad_b, grad_a, data.x,
                                               data.frozen, data.teacher, FD_ROWS,
                                               &adapter, &ws, &err), 0);
    for (size_t i = 0; i < FD_D * FD_R; i++)
        assert_true(grad_b[i] == 0.0);
    for (size_t i = 0; i < FD_R * FD_N; i++)
        assert_true(grad_a[i] == 0.0);
    dl_lora_workspace_free(&ws);
    dl_lora_adapter_free(&adapter);
}

/* ---- optimisers ---- */

static void adam_follows_kingma_ba(void **state)
{
    (void)state;
    double theta[1] = {1.0}, m[1] = {0.0}, v[1] = {0.0};
    const double g1[1] = {0.5}, g2[1] = {-0.25};

    /* step 1: m = 0.05, v = 0.00025, bias-corrected to 0.5 and 0.25 */
    dl_lora_adam_update(theta, m, v, g1, 1, 0.1, 1);
    assert_near(theta[0], 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);

    /* step 2, written out from the paper's algorithm */
    double m2 = 0.9 * 0.05 + 0.1 * -0.25;
    double v2 = 0.999 * 0.00025 + 0.001 * 0.0625;
    double m_hat = m2 / (1.0 - 0.81);
    double v_hat = v2 / (1.0 - 0.999 * 0.999);
    double expected = theta[0] - 0.1 * m_hat / (sqrt(v_hat) + 1e-8);
    dl_lora_adam_update(theta, m, v, g2, 1, 0.1, 2);
    assert_near(m[0], m2, 1e-16);
    assert_near(v[0], v2, 1e-18);
    assert_near(theta[0], expected, 1e-14);
}

static void sgd_steps_against_gradient(void **state)
{
    (void)state;
    double theta[2] = {1.0, -1.0};
    const double g[2] = {0.5, -2.0};

    dl_lora_sgd_update(theta, g, 2, 0.25);
    assert_true(theta[0] == 0.875);
    assert_true(theta[1] == -0.5);
}

/* ---- loss curve ---- */

static void curve_spaces_steps_evenly_with_both_ends(void **state)
{
    (void)state;
    dl_lora_curve curve;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_curve_alloc(&curve, 400, 100, &err), 0);
    assert_int_equal(curve.length, 100);
    assert_int_equal(curve.steps[0], 0);
    assert_int_equal(curve.steps[99], 400);
    for (int j = 1; j < curve.length; j++) {
        int gap = curve.steps[j] - curve.steps[j - 1];
        assert_true(gap == 4 || gap == 5);
    }
    dl_lora_curve_free(&curve);

    /* fewer steps than points: every step, 0 to steps */
    assert_int_equal(dl_lora_curve_alloc(&curve, 5, 100, &err), 0);
    assert_int_equal(curve.length, 6);
    for (int j = 0; j < 6; j++)
        assert_int_equal(curve.steps[j], j);
    dl_lora_curve_free(&curve);
}

/* ---- the training loop ---- */

static void small_task(dl_lora_task *task)
{
    dl_lora_task_params p = {
        .input_dim = 16, .output_dim = 8, .task_rank = 2, .task_scale = 3.0,
        .task_decay = 0.7, .task_noise = 0.0, .n_train = 64, .n_eval = 32, .n_old = 16,
    };
    dl_error err = {{0}};
    if (dl_lora_task_make(task, &p, 11, 1, &err) != 0)
        fail_msg("task failed: %s", err.message);
}

static void start_adapter(dl_lora_adapter *adapter, const dl_lora_task *task, int rank)
{
    dl_lora_adapter_params p = {rank, 2.0 * rank, DL_LORA_SCALING_STANDARD,
                                DL_LORA_INIT_KAIMING};
    dl_stream stream;
    dl_error err = {{0}};
    double frozen[16 * 8];
    assert_int_equal(dl_lora_stream_init(&stream, DL_LORA_STREAM_INIT, 11, 1,
                                         &task->params, &p, NULL, &err), 0);
    assert_int_equal(dl_lora_adapter_init(adapter, frozen, task->base, 16, 8, &p,
                                          &stream, &err), 0);
}

static void training_lowers_loss(void **state)
{
    (void)state;
    dl_lora_task task;
    small_task(&task);
    dl_lora_adapter adapter;
    start_adapter(&adapter, &task, 2);
    dl_lora_train_params p = {DL_LORA_OPTIMIZER_ADAM, 0.02, 0, 200, 11};
    dl_lora_curve curve;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_train_adapter(&adapter, &curve, &task.train,
                                           task.train.base_logits, &p, NULL, &err), 0);
    assert_int_equal(curve.length, 11);
    assert_int_equal(curve.steps[10], 200);

    /* the first point is the base model's loss, computed independently */
    double probs[64 * 8];
    double base_loss = dl_lora_cross_entropy(probs, task.train.base_logits,
                                             task.train.teacher_probs, 64, 8);
    assert_true(curve.loss[0] == base_loss);
    assert_true(curve.loss[10] < 0.9 * curve.loss[0]);

    /* and the last is the loss of the trained adapter */
    double logits[64 * 8], xb[64 * 2];
    assert_int_equal(dl_lora_forward(logits, xb, task.train.x, task.train.base_logits,
                                     &adapter, 64, &err), 0);
    assert_true(curve.loss[10] == dl_lora_cross_entropy(probs, logits,
                                                        task.train.teacher_probs, 64, 8));

    dl_lora_curve_free(&curve);
    dl_lora_adapter_free(&adapter);
    dl_lora_task_free(&task);
}

static void batch_of_all_rows_is_full_batch(void **state)
{
    (void)state;
    dl_lora_task task;
    small_task(&task);
    dl_lora_adapter full, all_rows;
    start_adapter(&full, &task, 2);
    start_adapter(&all_rows, &task, 2);
    dl_lora_train_params p = {DL_LORA_OPTIMIZER_SGD, 0.5, 0, 30, 4};
    dl_lora_curve first, second;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_train_adapter(&full, &first, &task.train,
                                           task.train.base_logits, &p, NULL, &err), 0);
    p.batch_size = 64;
    assert_int_equal(dl_lora_train_adapter(&all_rows, &second, &task.train,
                                           task.train.base_logits, &p, NULL, &err), 0);
    assert_memory_equal(full.b, all_rows.b, 16 * 2 * sizeof(double));
    assert_memory_equal(full.a, all_rows.a, 2 * 8 * sizeof(double));
    assert_memory_equal(first.loss, second.loss, 4 * sizeof(double));

    dl_lora_curve_free(&first);
    dl_lora_curve_free(&second);
    dl_lora_adapter_free(&full);
    dl_lora_adapter_free(&all_rows);
    dl_lora_task_free(&task);
}

static void mini_batches_draw_one_shuffle_per_epoch(void **state)
{
    (void)state;
    dl_lora_task task;
    small_task(&task);
    dl_lora_adapter adapter;
    start_adapter(&adapter, &task, 2);
    dl_lora_train_params p = {DL_LORA_OPTIMIZER_ADAM, 0.01, 16, 10, 5};
    dl_stream stream, replay;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_stream_init(&stream, DL_LORA_STREAM_BATCH, 11, 1,
                                         &task.params, NULL, &p, &err), 0);
    replay = stream;
    dl_lora_curve curve;

    assert_int_equal(dl_lora_train_adapter(&adapter, &curve, &task.train,
                                           task.train.base_logits, &p, &stream, &err), 0);

    /* 10 steps of 16 of 64 rows start 3 epochs, each drawing 63 uniforms */
    for (int i = 0; i < 3 * 63; i++)
        dl_stream_uniform(&replay);
    assert_true(dl_philox_next(&stream.philox) == dl_philox_next(&replay.philox));

    dl_lora_curve_free(&curve);
    dl_lora_adapter_free(&adapter);
    dl_lora_task_free(&task);
}

static void mini_batches_repeat_with_same_stream(void **state)
{
    (void)state;
    dl_lora_task task;
    small_task(&task);
    dl_lora_adapter first, second;
    start_adapter(&first, &task, 2);
    start_adapter(&second, &task, 2);
    dl_lora_train_params p = {DL_LORA_OPTIMIZER_ADAM, 0.01, 10, 25, 6};
    dl_stream stream_1, stream_2;
    dl_error err = {{0}};
    assert_int_equal(dl_lora_stream_init(&stream_1, DL_LORA_STREAM_BATCH, 11, 1,
                                         &task.params, NULL, &p, &err), 0);
    stream_2 = stream_1;
    dl_lora_curve curve_1, curve_2;

    assert_int_equal(dl_lora_train_adapter(&first, &curve_1, &task.train,
                                           task.train.base_logits, &p, &stream_1, &err), 0);
    assert_int_equal(dl_lora_train_adapter(&second, &curve_2, &task.train,
                                           task.train.base_logits, &p, &stream_2, &err), 0);
    assert_memory_equal(first.b, second.b, 16 * 2 * sizeof(double));
    assert_memory_equal(curve_1.loss, curve_2.loss, 6 * sizeof(double));
    assert_true(curve_1.loss[5] < curve_1.loss[0]);

    dl_lora_curve_free(&curve_1);
    dl_lora_curve_free(&curve_2);
    dl_lora_adapter_free(&first);
    dl_lora_adapter_free(&second);
    dl_lora_task_free(&task);
}

/* Trains an SGD adapter at learning_rate and checks that training fails
 * with a message containing expected and leaves no curve. */
static void assert_training_diverges(double learning_rate, int steps,
                                     const char *expected)
{
    dl_lora_task task;
    small_task(&task);
    dl_lora_adapter adapter;
    start_adapter(&adapter, &task, 2);
    dl_lora_train_params p = {DL_LORA_OPTIMIZER_SGD, learning_rate, 0, steps, 2};
    dl_lora_curve curve;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_train_adapter(&adapter, &curve, &task.train,
                                           task.train.base_logits, &p, NULL, &err), -1);
    assert_non_null(strstr(err.message, "training diverged at step "));
    if (strstr(err.message, expected) == NULL)
        fail_msg("expected '%s' in: %s", expected, err.message);
    assert_null(curve.loss);

    dl_lora_adapter_free(&adapter);
    dl_lora_task_free(&task);
}

static void diverging_training_names_learning_rate(void **state)
{
    (void)state;
    assert_training_diverges(1e300, 50, "so lower learning_rate (now 1e+300) or alpha");
}

/* SGD at 1e6 keeps the loss finite (the softmax saturates) while the
 * weights grow to 1e200: a loss far above the start is divergence too. */
static void finite_but_exploding_loss_is_divergence(void **state)
{
    (void)state;
    assert_training_diverges(1e6, 20, "times the starting loss");
}

static void mini_batches_need_a_stream(void **state)
{
    (void)state;
    dl_lora_task task;
    small_task(&task);
    dl_lora_adapter adapter;
    start_adapter(&adapter, &task, 2);
    dl_lora_train_params p = {DL_LORA_OPTIMIZER_SGD, 0.1, 8, 5, 2};
    dl_lora_curve curve;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_train_adapter(&adapter, &curve, &task.train,
                                           task.train.base_logits, &p, NULL, &err), -1);
    assert_string_equal(err.message, "mini-batches of 8 rows need the lora-batch "
                        "stream, but it is missing (NULL)");

    p.batch_size = 65;
    assert_int_equal(dl_lora_train_adapter(&adapter, &curve, &task.train,
                                           task.train.base_logits, &p, NULL, &err), -1);
    assert_string_equal(err.message, "batch_size: 65 is invalid: must be between 0 "
                        "(full batch) and n_train = 64");

    dl_lora_adapter_free(&adapter);
    dl_lora_task_free(&task);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cross_entropy_matches_hand_value),
        cmocka_unit_test(cross_entropy_survives_huge_logits),
        cmocka_unit_test(adapter_gradients_match_finite_differences),
        cmocka_unit_test(full_gradient_matches_finite_differences),
        cmocka_unit_test(zero_scale_gives_zero_gradients),
        cmocka_unit_test(adam_follows_kingma_ba),
        cmocka_unit_test(sgd_steps_against_gradient),
        cmocka_unit_test(curve_spaces_steps_evenly_with_both_ends),
        cmocka_unit_test(training_lowers_loss),
        cmocka_unit_test(batch_of_all_rows_is_full_batch),
        cmocka_unit_test(mini_batches_draw_one_shuffle_per_epoch),
        cmocka_unit_test(mini_batches_repeat_with_same_stream),
        cmocka_unit_test(diverging_training_names_learning_rate),
        cmocka_unit_test(finite_but_exploding_loss_is_divergence),
        cmocka_unit_test(mini_batches_need_a_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
