/* test_lora_fit.c - whole fits on the lecture-size task: the rank
 * threshold, the full-rank baseline, alpha = 0, the SVD start and
 * bit-identical results on any number of threads.
 *
 * The lecture case is the default task (D = 64, N = 32, task_rank 4,
 * task_scale 3, task_decay 0.7, no noise, 256 training rows) with the
 * default training (Adam, learning rate 0.01, 400 full-batch steps) and
 * alpha 8 with the standard scaling at every rank.
 */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lora_fit.h"
#include "lora_metrics.h"

static void make_task(dl_lora_task *task, int64_t seed)
{
    dl_lora_task_params p = dl_lora_task_params_default();
    dl_error err = {{0}};
    if (dl_lora_task_make(task, &p, 42, seed, &err) != 0)
        fail_msg("task failed: %s", err.message);
}

static void fit(dl_lora_fit_result *result, const dl_lora_task *task, int rank,
                double alpha, dl_lora_init init, const dl_lora_train_params *train)
{
    dl_lora_adapter_params p = {rank, alpha, DL_LORA_SCALING_STANDARD, init};
    dl_error err = {{0}};
    if (dl_lora_fit_adapter(result, task, &p, train, &err) != 0)
        fail_msg("fit at rank %d failed: %s", rank, err.message);
}

static void lecture_ranks_separate_eval_kl(void **state)
{
    (void)state;
    dl_lora_task task;
    make_task(&task, 1);
    dl_lora_train_params train = dl_lora_train_params_default();
    const int ranks[] = {1, 2, 3, 4, 5, 8, 16, 32};
    const size_t count = sizeof ranks / sizeof ranks[0];
    double kl[8];
    dl_error err = {{0}};

    for (size_t i = 0; i < count; i++) {
        dl_lora_fit_result result;
        fit(&result, &task, ranks[i], 8.0, DL_LORA_INIT_KAIMING, &train);
        const dl_lora_metrics *m = &result.metrics;
        kl[i] = m->eval_kl;
        print_message("rank %2d: eval KL %.3e, forgetting %.3e, train loss %.6f, "
                      "error %.4f (Eckart-Young %.4f), effective rank %.2f\n",
                      ranks[i], m->eval_kl, m->forgetting, m->final_train_loss,
                      m->relative_error, m->eckart_young_error, m->effective_rank);

        /* no rank-r matrix beats the best rank-r approximation */
        assert_true(m->relative_error >= m->eckart_young_error - 1e-12);
        assert_int_equal(m->parameter_count, ranks[i] * (64 + 32));
        assert_true(m->parameter_ratio == (double)(ranks[i] * 96) / 2048.0);
        dl_lora_fit_result_free(&result);
    }

    dl_lora_full_result full;
    assert_int_equal(dl_lora_fit_full(&full, &task, &train, &err), 0);
    print_message("full rank: eval KL %.3e, forgetting %.3e, train loss %.6f\n",
                  full.metrics.eval_kl, full.metrics.forgetting,
                  full.metrics.final_train_loss);
    assert_int_equal(full.metrics.parameter_count, 64 * 32);
    assert_true(full.metrics.parameter_ratio == 1.0);
    assert_true(full.metrics.eckart_young_error == 0.0);

    /* at and above the task's rank the eval KL drops at least tenfold */
    for (size_t i = 3; i < count; i++)
        assert_true(kl[i] <= kl[2] / 10.0);
    /* and rank min(D, N) matches the full-rank baseline */
    assert_true(fabs(kl[count - 1] - full.metrics.eval_kl) <= 1e-3);

    dl_lora_full_result_free(&full);
    dl_lora_task_free(&task);
}

static void zero_alpha_fit_keeps_base_model(void **state)
{
    (void)state;
    dl_lora_task task;
    make_task(&task, 2);
    dl_lora_train_params train = dl_lora_train_params_default();
    train.steps = 20;
    dl_lora_fit_result result;
    fit(&result, &task, 4, 0.0, DL_LORA_INIT_KAIMING, &train);
    const dl_lora_metrics *m = &result.metrics;

    assert_true(m->eval_kl == dl_lora_kl_mean(task.eval.teacher_logits,
                                              task.eval.base_logits,
                                              task.eval.rows, 32));
    assert_true(m->forgetting == 0.0);
    assert_memory_equal(m->probe_adapted, m->probe_base, 32 * sizeof(double));
    assert_true(m->amplification == 0.0);
    assert_true(m->effective_rank == 0.0);
    for (int j = 1; j < m->curve.length; j++)
        assert_true(m->curve.loss[j] == m->curve.loss[0]);

    dl_lora_fit_result_free(&result);
    dl_lora_task_free(&task);
}

static void svd_start_fit_begins_at_base_loss(void **state)
{
    (void)state;
    dl_lora_task task;
    make_task(&task, 3);
    dl_lora_train_params train = dl_lora_train_params_default();
    train.steps = 100;
    dl_lora_fit_result result;
    fit(&result, &task, 4, 8.0, DL_LORA_INIT_SVD, &train);

    /* W_eff = W to rounding at step 0, so the first loss is the base loss */
    double probs[256 * 32];
    double base_loss = dl_lora_cross_entropy(probs, task.train.base_logits,
                                             task.train.teacher_probs, 256, 32);
    assert_true(fabs(result.metrics.curve.loss[0] - base_loss) <= 1e-12);
    assert_true(result.metrics.final_train_loss < base_loss);

    dl_lora_fit_result_free(&result);
    dl_lora_task_free(&task);
}

static void probe_distributions_sum_to_one(void **state)
{
    (void)state;
    dl_lora_task task;
    make_task(&task, 4);
    dl_lora_train_params train = dl_lora_train_params_default();
    train.steps = 50;
    dl_lora_fit_result result;
    fit(&result, &task, 2, 4.0, DL_LORA_INIT_GAUSSIAN, &train);
    const dl_lora_metrics *m = &result.metrics;
    double sums[3] = {0.0, 0.0, 0.0};

    for (size_t j = 0; j < 32; j++) {
        sums[0] += m->probe_base[j];
        sums[1] += m->probe_teacher[j];
        sums[2] += m->probe_adapted[j];
    }
    for (int k = 0; k < 3; k++)
        assert_true(fabs(sums[k] - 1.0) <= 1e-14);
    assert_int_equal(m->singular_value_count, 32);
    assert_true(m->singular_values[2] <= 1e-12 * m->singular_values[0]);

    dl_lora_fit_result_free(&result);
    dl_lora_task_free(&task);
}

/* Runs the same mini-batch fit on 4 threads at once and checks each
 * against a fit on the calling thread, bit for bit. */
static void fit_is_identical_on_any_thread(void **state)
{
    (void)state;
    dl_lora_task task;
    make_task(&task, 5);
    dl_lora_train_params train = dl_lora_train_params_default();
    train.steps = 60;
    train.batch_size = 32;
    dl_lora_fit_result serial, parallel[4];
    fit(&serial, &task, 4, 8.0, DL_LORA_INIT_KAIMING, &train);
    int failures = 0;

    #pragma omp parallel for num_threads(4) reduction(+ : failures)
    for (int k = 0; k < 4; k++) {
        dl_lora_adapter_params p = {4, 8.0, DL_LORA_SCALING_STANDARD,
                                    DL_LORA_INIT_KAIMING};
        dl_error err = {{0}};
        if (dl_lora_fit_adapter(&parallel[k], &task, &p, &train, &err) != 0)
            failures++;
    }
    assert_int_equal(failures, 0);

    for (int k = 0; k < 4; k++) {
        const dl_lora_fit_result *r = &parallel[k];
        assert_memory_equal(r->adapter.b, serial.adapter.b, 64 * 4 * sizeof(double));
        assert_memory_equal(r->adapter.a, serial.adapter.a, 4 * 32 * sizeof(double));
        assert_memory_equal(r->metrics.curve.loss, serial.metrics.curve.loss,
                            (size_t)serial.metrics.curve.length * sizeof(double));
        assert_memory_equal(r->metrics.singular_values, serial.metrics.singular_values,
                            32 * sizeof(double));
        assert_memory_equal(&r->metrics.eval_kl, &serial.metrics.eval_kl, sizeof(double));
        assert_memory_equal(&r->metrics.amplification, &serial.metrics.amplification,
                            sizeof(double));
        dl_lora_fit_result_free(&parallel[k]);
    }
    dl_lora_fit_result_free(&serial);
    dl_lora_task_free(&task);
}

/* With task_scale = 0 the teacher is the base, so every fit starts at its
 * optimum. The teacher's softmax and the training softmax must be the same
 * formula: a gradient of 1e-17 instead of 0 becomes an Adam step of
 * lr g / epsilon, and the fits drift away from the teacher. */
static void fit_at_its_optimum_stays_there(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    p.task_scale = 0.0;
    dl_lora_task task;
    dl_error err = {{0}};
    if (dl_lora_task_make(&task, &p, 42, 1, &err) != 0)
        fail_msg("task failed: %s", err.message);
    dl_lora_train_params train = dl_lora_train_params_default();
    train.steps = 30;

    dl_lora_full_result full;
    if (dl_lora_fit_full(&full, &task, &train, &err) != 0)
        fail_msg("full-rank fit failed: %s", err.message);
    for (size_t i = 0; i < 64 * 32; i++)
        assert_true(full.delta[i] == 0.0);
    assert_true(full.metrics.eval_kl == 0.0);
    assert_true(full.metrics.forgetting == 0.0);
    dl_lora_full_result_free(&full);

    dl_lora_fit_result result;
    fit(&result, &task, 4, 8.0, DL_LORA_INIT_KAIMING, &train);
    for (size_t i = 0; i < 64 * 4; i++)
        assert_true(result.adapter.b[i] == 0.0);
    assert_true(result.metrics.eval_kl == 0.0);
    dl_lora_fit_result_free(&result);
    dl_lora_task_free(&task);
}

static void invalid_rank_fails_before_training(void **state)
{
    (void)state;
    dl_lora_task task;
    make_task(&task, 6);
    dl_lora_train_params train = dl_lora_train_params_default();
    dl_lora_adapter_params p = {40, 8.0, DL_LORA_SCALING_STANDARD, DL_LORA_INIT_KAIMING};
    dl_lora_fit_result result;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_fit_adapter(&result, &task, &p, &train, &err), -1);
    assert_string_equal(err.message, "rank: 40 is invalid: must be at most min(D, N) "
                        "= 32, because B A is 64 x 32 and cannot have a higher rank");
    assert_null(result.adapter.b);
    dl_lora_task_free(&task);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lecture_ranks_separate_eval_kl),
        cmocka_unit_test(zero_alpha_fit_keeps_base_model),
        cmocka_unit_test(svd_start_fit_begins_at_base_loss),
        cmocka_unit_test(probe_distributions_sum_to_one),
        cmocka_unit_test(fit_is_identical_on_any_thread),
        cmocka_unit_test(fit_at_its_optimum_stays_there),
        cmocka_unit_test(invalid_rank_fails_before_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
