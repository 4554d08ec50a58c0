/* test_lora_task.c - stream messages, the order of draws, the teacher's
 * spectrum and the old-task rows of a LoRA task.
 *
 * The order-of-draws tests replay the lora-task stream by hand, as an
 * independent reimplementation would, and expect the stored arrays bit for
 * bit.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assert_near.h"
#include "lora_metrics.h"
#include "lora_stream.h"
#include "lora_task.h"
#include "stream.h"

static dl_lora_task_params small_params(void)
{
    dl_lora_task_params p = {
        .input_dim = 6, .output_dim = 5, .task_rank = 2, .task_scale = 3.0,
        .task_decay = 0.5, .task_noise = 0.0, .n_train = 3, .n_eval = 2, .n_old = 2,
    };
    return p;
}

static void make_task(dl_lora_task *task, const dl_lora_task_params *p, int64_t seed)
{
    dl_error err = {{0}};
    if (dl_lora_task_make(task, p, 42, seed, &err) != 0)
        fail_msg("task failed: %s", err.message);
}

/* ---- messages ---- */

static void task_message_lists_every_field(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    char buffer[512];

    size_t length = dl_lora_stream_message(buffer, sizeof buffer, DL_LORA_STREAM_TASK,
                                           42, -3, &p, NULL, NULL);
    const char *expected =
        "driftlab-stream-v1 purpose=lora-task master_seed=42 seed=-3 D=64 N=32 "
        "task_rank=4 task_scale=4008000000000000 task_decay=3fe6666666666666 "
        "task_noise=0000000000000000 n_train=256 n_eval=256 n_old=128";
    assert_string_equal(buffer, expected);
    assert_int_equal(length, strlen(expected));
}

static void init_and_batch_messages_add_their_fields(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    dl_lora_adapter_params a = dl_lora_adapter_params_default();
    dl_lora_train_params t = dl_lora_train_params_default();
    t.batch_size = 32;
    char buffer[512];

    dl_lora_stream_message(buffer, sizeof buffer, DL_LORA_STREAM_INIT, 7, 1, &p, &a, &t);
    assert_string_equal(buffer,
        "driftlab-stream-v1 purpose=lora-init master_seed=7 seed=1 D=64 N=32 "
        "task_rank=4 task_scale=4008000000000000 task_decay=3fe6666666666666 "
        "task_noise=0000000000000000 n_train=256 n_eval=256 n_old=128 "
        "rank=4 alpha=4020000000000000 scaling=standard init=kaiming");

    dl_lora_stream_message(buffer, sizeof buffer, DL_LORA_STREAM_BATCH, 7, 1, &p, &a, &t);
    assert_string_equal(buffer,
        "driftlab-stream-v1 purpose=lora-batch master_seed=7 seed=1 D=64 N=32 "
        "task_rank=4 task_scale=4008000000000000 task_decay=3fe6666666666666 "
        "task_noise=0000000000000000 n_train=256 n_eval=256 n_old=128 "
        "batch_size=32");
}

static void negative_zero_is_written_as_zero(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    char plus[512], minus[512];

    p.task_noise = 0.0;
    dl_lora_stream_message(plus, sizeof plus, DL_LORA_STREAM_TASK, 1, 1, &p, NULL, NULL);
    p.task_noise = -0.0;
    dl_lora_stream_message(minus, sizeof minus, DL_LORA_STREAM_TASK, 1, 1, &p, NULL, NULL);
    assert_string_equal(plus, minus);
}

static void message_stream_matches_key_of_message(void **state)
{
    (void)state;
    const char *message = "driftlab-stream-v1 purpose=lora-task example";
    uint64_t key[2];
    dl_stream_key_of_message(key, message, strlen(message));
    dl_philox reference;
    dl_philox_init(&reference, key);
    dl_stream stream;

    assert_int_equal(dl_stream_init_message(&stream, message, strlen(message)), 0);
    for (int i = 0; i < 8; i++)
        assert_true(dl_philox_next(&stream.philox) == dl_philox_next(&reference));
    assert_int_equal(dl_stream_init_message(&stream, NULL, 3), -1);
}

/* ---- order of draws ---- */

static void replay_stream(dl_stream *stream, const dl_lora_task_params *p)
{
    char message[512];
    size_t length = dl_lora_stream_message(message, sizeof message, DL_LORA_STREAM_TASK,
                                           42, 5, p, NULL, NULL);
    dl_stream_init_message(stream, message, length);
}

static void skip_normals(dl_stream *stream, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dl_stream_normal(stream);
}

static void draws_follow_documented_order(void **state)
{
    (void)state;
    dl_lora_task_params p = small_params();
    size_t d = 6, n = 5, k = 2;
    dl_lora_task task;
    make_task(&task, &p, 5);
    dl_stream stream;
    replay_stream(&stream, &p);

    /* W first, each entry (1 / sqrt(D)) z */
    double factor = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < d * n; i++)
        assert_true(task.base[i] == factor * dl_stream_normal(&stream));

    /* then U and V before orthonormalisation, then the training rows */
    skip_normals(&stream, d * k + n * k);
    for (size_t i = 0; i < task.train.rows * d; i++)
        assert_true(task.train.x[i] == dl_stream_normal(&stream));
    for (size_t i = 0; i < task.eval.rows * d; i++)
        assert_true(task.eval.x[i] == dl_stream_normal(&stream));

    /* the old-task rows are projected, so only the probe is kept as drawn */
    skip_normals(&stream, task.old.rows * d);
    for (size_t i = 0; i < d; i++)
        assert_true(task.probe.x[i] == dl_stream_normal(&stream));
    dl_lora_task_free(&task);
}

static void noise_is_drawn_after_the_subspaces(void **state)
{
    (void)state;
    dl_lora_task_params p = small_params();
    p.task_noise = 0.5;
    size_t d = 6, n = 5, k = 2;
    dl_lora_task task;
    make_task(&task, &p, 5);
    dl_stream stream;
    replay_stream(&stream, &p);

    skip_normals(&stream, d * n + d * k + n * k + d * n);
    for (size_t i = 0; i < d; i++)
        assert_true(task.train.x[i] == dl_stream_normal(&stream));
    dl_lora_task_free(&task);
}

/* ---- the teacher ---- */

static void teacher_update_has_task_spectrum(void **state)
{
    (void)state;
    dl_lora_task_params p = small_params();
    p.input_dim = 16;
    p.output_dim = 12;
    p.task_rank = 3;
    dl_lora_task task;
    make_task(&task, &p, 1);
    double sigma[12];
    dl_error err = {{0}};

    assert_int_equal(dl_lora_singular_values(sigma, task.delta, 16, 12, &err), 0);
    assert_near(sigma[0], 3.0, 1e-13);
    assert_near(sigma[1], 1.5, 1e-13);
    assert_near(sigma[2], 0.75, 1e-13);
    for (size_t i = 3; i < 12; i++)
        assert_near(sigma[i], 0.0, 1e-13);

    /* the teacher is the base plus exactly that update */
    for (size_t i = 0; i < 16 * 12; i++)
        assert_true(task.teacher[i] == task.base[i] + task.delta[i]);
    dl_lora_task_free(&task);
}

static void noise_makes_update_full_rank(void **state)
{
    (void)state;
    dl_lora_task_params p = small_params();
    p.task_noise = 0.1;
    dl_lora_task task;
    make_task(&task, &p, 1);
    double sigma[5];
    dl_error err = {{0}};

    assert_int_equal(dl_lora_singular_values(sigma, task.delta, 6, 5, &err), 0);
    assert_true(sigma[4] > 1e-3);
    dl_lora_task_free(&task);
}

static void base_entries_have_variance_one_over_d(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    dl_lora_task task;
    make_task(&task, &p, 3);

    /* 2048 entries: the sample variance has a relative standard deviation
     * of sqrt(2 / 2048) = 3 %, so 15 % is five of them */
    double sum = 0.0;
    for (size_t i = 0; i < 64 * 32; i++)
        sum += task.base[i] * task.base[i];
    assert_near(sum / (64.0 * 32.0), 1.0 / 64.0, 0.15 / 64.0);
    dl_lora_task_free(&task);
}

static void old_rows_are_orthogonal_to_task_inputs(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    dl_lora_task task;
    make_task(&task, &p, 2);
    size_t d = 64, n = 32, k = 4;

    for (size_t row = 0; row < task.old.rows; row++) {
        const double *x = task.old.x + row * d;
        for (size_t j = 0; j < k; j++) {
            double dot = 0.0;
            for (size_t i = 0; i < d; i++)
                dot += x[i] * task.task_u[i * k + j];
            assert_near(dot, 0.0, 1e-12);
        }
    }

    /* so the teacher agrees with the base on them */
    for (size_t i = 0; i < task.old.rows * n; i++)
        assert_near(task.old.teacher_logits[i], task.old.base_logits[i], 1e-12);
    dl_lora_task_free(&task);
}

static void teacher_probabilities_sum_to_one(void **state)
{
    (void)state;
    dl_lora_task_params p = small_params();
    dl_lora_task task;
    make_task(&task, &p, 4);

    for (size_t row = 0; row < task.train.rows; row++) {
        double sum = 0.0;
        for (size_t j = 0; j < 5; j++)
            sum += task.train.teacher_probs[row * 5 + j];
        assert_near(sum, 1.0, 1e-15);
    }
    dl_lora_task_free(&task);
}

static void same_seed_gives_same_task(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    dl_lora_task first, second, other;
    make_task(&first, &p, 9);
    make_task(&second, &p, 9);
    make_task(&other, &p, 10);
    size_t weights = 64 * 32 * sizeof(double);

    assert_memory_equal(first.base, second.base, weights);
    assert_memory_equal(first.teacher, second.teacher, weights);
    assert_memory_equal(first.train.x, second.train.x, 256 * 64 * sizeof(double));
    assert_memory_equal(first.old.x, second.old.x, 128 * 64 * sizeof(double));
    assert_memory_equal(first.eval.teacher_probs, second.eval.teacher_probs,
                        256 * 32 * sizeof(double));
    assert_memory_not_equal(first.base, other.base, weights);

    dl_lora_task_free(&first);
    dl_lora_task_free(&second);
    dl_lora_task_free(&other);
}

/* ---- parameter checks ---- */

static void task_rank_above_min_dimension_is_rejected(void **state)
{
    (void)state;
    dl_lora_task_params p = dl_lora_task_params_default();
    p.task_rank = 40;
    dl_lora_task task;
    dl_error err = {{0}};

    assert_int_equal(dl_lora_task_make(&task, &p, 1, 1, &err), -1);
    assert_string_equal(err.message, "task_rank: 40 is invalid: must be between 1 "
                        "and min(D, N) = 32, because the teacher's update is "
                        "D x N = 64 x 32");
    assert_null(task.base);
}

static void invalid_task_values_are_named(void **state)
{
    (void)state;
    dl_error err = {{0}};
    dl_lora_task_params p = dl_lora_task_params_default();
    p.task_decay = 1.5;
    assert_int_equal(dl_lora_task_params_check(&p, &err), -1);
    assert_string_equal(err.message, "task_decay: 1.5 is invalid: must be in (0, 1], "
                        "so that the singular values do not grow");

    p = dl_lora_task_params_default();
    p.n_old = 0;
    assert_int_equal(dl_lora_task_params_check(&p, &err), -1);
    assert_string_equal(err.message, "n_old: 0 is invalid: must be between 1 and 1000000");

    p = dl_lora_task_params_default();
    p.task_noise = NAN;
    assert_int_equal(dl_lora_task_params_check(&p, &err), -1);
    assert_string_equal(err.message, "task_noise: nan is invalid: must be a finite "
                        "number >= 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(task_message_lists_every_field),
        cmocka_unit_test(init_and_batch_messages_add_their_fields),
        cmocka_unit_test(negative_zero_is_written_as_zero),
        cmocka_unit_test(message_stream_matches_key_of_message),
        cmocka_unit_test(draws_follow_documented_order),
        cmocka_unit_test(noise_is_drawn_after_the_subspaces),
        cmocka_unit_test(teacher_update_has_task_spectrum),
        cmocka_unit_test(noise_makes_update_full_rank),
        cmocka_unit_test(base_entries_have_variance_one_over_d),
        cmocka_unit_test(old_rows_are_orthogonal_to_task_inputs),
        cmocka_unit_test(teacher_probabilities_sum_to_one),
        cmocka_unit_test(same_seed_gives_same_task),
        cmocka_unit_test(task_rank_above_min_dimension_is_rejected),
        cmocka_unit_test(invalid_task_values_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
