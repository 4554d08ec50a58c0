/* test_philox.c - Philox4x64-10 and the derived streams against numpy.
 *
 * Every expected value below was printed by numpy 1.24 (Debian 12's
 * python3-numpy), e.g.
 *   numpy.random.Philox(key=[1, 2]).random_raw(6)
 *   numpy.random.Generator(numpy.random.Philox(key=k)).random(4)
 * with k derived by hashlib.sha256 as stream.h describes. Keys above 2^53
 * must reach numpy as numpy.array(..., dtype=numpy.uint64): a Python list
 * of ints goes through float64 and loses the low bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "philox.h"
#include "stream.h"

static void expect_raw(const uint64_t key[2], const uint64_t *expected, int count)
{
    dl_philox stream;
    dl_philox_init(&stream, key);
    for (int i = 0; i < count; i++)
        assert_int_equal(dl_philox_next(&stream), expected[i]);
}

static void raw_outputs_match_numpy_for_zero_key(void **state)
{
    (void)state;
    const uint64_t key[2] = {0, 0};
    const uint64_t expected[6] = {
        UINT64_C(0x02f4ba6408e4d89b), UINT64_C(0x3dd62b0b9ca8c5b2),
        UINT64_C(0x1c8667a55d902e79), UINT64_C(0x907d7a052fd5b4dc),
        UINT64_C(0x809bf322883987c3), UINT64_C(0x471128b9e807f7dd),
    };
    expect_raw(key, expected, 6);
}

static void raw_outputs_match_numpy_for_small_key(void **state)
{
    (void)state;
    const uint64_t key[2] = {1, 2};
    const uint64_t expected[6] = {
        UINT64_C(0x4f2f4313b5536b09), UINT64_C(0x5b617be3219ff32a),
        UINT64_C(0x097293476f9275cb), UINT64_C(0xf63f3bf4962c3942),
        UINT64_C(0x04dcc60473aa0f43), UINT64_C(0x6d905c9b986b0028),
    };
    expect_raw(key, expected, 6);
}

static void raw_outputs_match_numpy_for_large_key(void **state)
{
    (void)state;
    const uint64_t key[2] = {UINT64_C(0xdeadbeefcafef00d), UINT64_C(0x0123456789abcdef)};
    const uint64_t expected[6] = {
        UINT64_C(0xb56b692a26a92307), UINT64_C(0x659f9f0b7ccaec10),
        UINT64_C(0x480e97cf461d3107), UINT64_C(0xfdbf111dc5e6fdb6),
        UINT64_C(0xf69eaec1f6032b61), UINT64_C(0x39bbfb3bb23e929c),
    };
    expect_raw(key, expected, 6);
}

/* numpy.random.Philox(key=[1, 2], counter=[2**64 - 2, 0, 0, 0]): the
 * second block comes from counter (0, 1, 0, 0) after the carry. */
static void counter_carries_into_next_word(void **state)
{
    (void)state;
    const uint64_t key[2] = {1, 2};
    const uint64_t expected[5] = {
        UINT64_C(0xa2d5904ffeaa5c91), UINT64_C(0x4c4aae479c3886ad),
        UINT64_C(0x2fc3b814dc738576), UINT64_C(0xfed9fa9278102e83),
        UINT64_C(0x93baf02a9b6e1e64),
    };
    dl_philox stream;
    dl_philox_init(&stream, key);
    stream.counter[0] = UINT64_MAX - 1;
    for (int i = 0; i < 5; i++)
        assert_int_equal(dl_philox_next(&stream), expected[i]);
    assert_int_equal(stream.counter[0], 0);
    assert_int_equal(stream.counter[1], 1);
}

static void key_of_message_matches_hashlib(void **state)
{
    (void)state;
    const char message[] = "driftlab-stream-v1 purpose=world master_seed=7 seed=3";
    uint64_t key[2];
    dl_stream_key_of_message(key, message, strlen(message));
    assert_int_equal(key[0], UINT64_C(0x2f528c44b45d7bac));
    assert_int_equal(key[1], UINT64_C(0x676b6bfff2aac1c2));
}

static void uniforms_match_numpy_generator_random(void **state)
{
    (void)state;
    const char message[] = "driftlab-stream-v1 purpose=world master_seed=7 seed=3";
    uint64_t key[2];
    dl_stream_key_of_message(key, message, strlen(message));
    dl_stream stream;
    dl_philox_init(&stream.philox, key);

    const double expected[4] = {0.18369785335043765, 0.534354321693334,
                                0.21480972626584616, 0.14339373242693465};
    for (int i = 0; i < 4; i++)
        assert_true(dl_stream_uniform(&stream) == expected[i]);
}

/* numpy: sqrt(-2 log(1 - u0)) * cos(2 pi u1) on the two uniforms above;
 * libm and numpy may differ in the last bit of log and cos. */
static void normal_follows_box_muller_cosine_branch(void **state)
{
    (void)state;
    const char message[] = "driftlab-stream-v1 purpose=world master_seed=7 seed=3";
    uint64_t key[2];
    dl_stream_key_of_message(key, message, strlen(message));
    dl_stream stream;
    dl_philox_init(&stream.philox, key);
    assert_float_equal(dl_stream_normal(&stream), -0.6223497880914783, 1e-15);
}

static dl_drift_params example_params(void)
{
    dl_drift_params p = {
        .clusters = 4, .tokens_per_cluster = 8, .d_model = 16, .d_head = 16,
        .projection = DL_PROJECTION_IDENTITY, .cluster_spread = 0.5,
        .prompt_length = 8, .prompt = NULL, .steps = 10, .rule = DL_RULE_CLUSTER,
        .gain = 8, .gain_out = 8, .temperature = 1, .top_k = 0, .top_p = 1,
        .min_p = 0, .repetition_penalty = 1,
    };
    return p;
}

static void world_message_ignores_sampling_parameters(void **state)
{
    (void)state;
    dl_drift_params a = example_params(), b = example_params();
    b.temperature = 0.25;
    b.top_k = 3;
    b.steps = 99;
    char ma[512], mb[512];
    dl_stream_message(ma, sizeof ma, DL_STREAM_WORLD, 1, 2, &a);
    dl_stream_message(mb, sizeof mb, DL_STREAM_WORLD, 1, 2, &b);
    assert_string_equal(ma, mb);

    dl_stream_message(ma, sizeof ma, DL_STREAM_SAMPLE, 1, 2, &a);
    dl_stream_message(mb, sizeof mb, DL_STREAM_SAMPLE, 1, 2, &b);
    assert_string_not_equal(ma, mb);
}

static void sample_message_spells_every_parameter(void **state)
{
    (void)state;
    dl_drift_params p = example_params();
    char message[512];
    dl_stream_message(message, sizeof message, DL_STREAM_SAMPLE, 42, 5, &p);
    assert_string_equal(message,
        "driftlab-stream-v1 purpose=sample master_seed=42 seed=5 clusters=4 "
        "tokens_per_cluster=8 d_model=16 d_head=16 projection=identity "
        "cluster_spread=3fe0000000000000 prompt_length=8 prompt=cycle rule=cluster "
        "gain=4020000000000000 gain_out=4020000000000000 "
        "temperature=3ff0000000000000 top_k=0 top_p=3ff0000000000000 "
        "min_p=0000000000000000 repetition_penalty=3ff0000000000000");
}

static void negative_zero_gives_same_stream_as_zero(void **state)
{
    (void)state;
    dl_drift_params a = example_params(), b = example_params();
    a.temperature = 0.0;
    b.temperature = -0.0;
    char ma[512], mb[512];
    dl_stream_message(ma, sizeof ma, DL_STREAM_SAMPLE, 1, 2, &a);
    dl_stream_message(mb, sizeof mb, DL_STREAM_SAMPLE, 1, 2, &b);
    assert_string_equal(ma, mb);
}

static void explicit_prompt_is_listed_in_message(void **state)
{
    (void)state;
    dl_drift_params p = example_params();
    const int prompt[3] = {3, 17, 22};
    p.prompt = prompt;
    p.prompt_length = 3;
    char message[512];
    dl_stream_message(message, sizeof message, DL_STREAM_WORLD, 0, 0, &p);
    assert_non_null(strstr(message, " prompt_length=3 prompt=3,17,22"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raw_outputs_match_numpy_for_zero_key),
        cmocka_unit_test(raw_outputs_match_numpy_for_small_key),
        cmocka_unit_test(raw_outputs_match_numpy_for_large_key),
        cmocka_unit_test(counter_carries_into_next_word),
        cmocka_unit_test(key_of_message_matches_hashlib),
        cmocka_unit_test(uniforms_match_numpy_generator_random),
        cmocka_unit_test(normal_follows_box_muller_cosine_branch),
        cmocka_unit_test(world_message_ignores_sampling_parameters),
        cmocka_unit_test(sample_message_spells_every_parameter),
        cmocka_unit_test(negative_zero_gives_same_stream_as_zero),
        cmocka_unit_test(explicit_prompt_is_listed_in_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
