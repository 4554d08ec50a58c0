/* test_drift.c - the drift model on hand-built parameters.
 *
 * The attention rows are recomputed here from scratch, without the key
 * cache, and every metric is recomputed from the rows; greedy steps are
 * checked against the rule applied by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drift.h"

static dl_drift_params base_params(void)
{
    dl_drift_params p = {
        .clusters = 3, .tokens_per_cluster = 4, .d_model = 8, .d_head = 8,
        .projection = DL_PROJECTION_IDENTITY, .cluster_spread = 0.4,
        .prompt_length = 6, .prompt = NULL, .steps = 12, .rule = DL_RULE_CLUSTER,
        .gain = 6, .gain_out = 4, .temperature = 1, .top_k = 0, .top_p = 1,
        .min_p = 0, .repetition_penalty = 1,
    };
    return p;
}

typedef struct {
    dl_drift_world world;
    dl_drift_result result;
} run_fixture;

static void run_model(run_fixture *f, const dl_drift_params *p, int64_t seed)
{
    dl_error err = {{0}};
    assert_int_equal(dl_drift_world_make(&f->world, p, 99, seed, &err), 0);
    assert_int_equal(dl_drift_result_alloc(&f->result, p, true, &err), 0);
    int status = dl_drift_run(&f->world, p, 99, seed, &f->result, &err);
    if (status != 0)
        fail_msg("run failed: %s", err.message);
}

static void free_fixture(run_fixture *f)
{
    dl_drift_world_free(&f->world);
    dl_drift_result_free(&f->result);
}

/* Computes the attention row of step t without any cache: x W for every
 * position, then the softmax of the scaled dot products. */
static void naive_row(double *row, const dl_drift_world *w, const dl_drift_params *p,
                      const int32_t *tokens, int n)
{
    int d = w->d_model, dh = w->d_head;
    double q[64], k[64], max = -INFINITY;
    for (int j = 0; j < dh; j++) {
        q[j] = 0;
        for (int i = 0; i < d; i++)
            q[j] += w->embedding[tokens[n - 1] * d + i] * w->wq[i * dh + j];
    }
    for (int pos = 0; pos < n; pos++) {
        double score = 0;
        for (int j = 0; j < dh; j++) {
            k[j] = 0;
            for (int i = 0; i < d; i++)
                k[j] += w->embedding[tokens[pos] * d + i] * w->wk[i * dh + j];
            score += q[j] * k[j];
        }
        row[pos] = p->gain * score / sqrt((double)dh);
        if (row[pos] > max)
            max = row[pos];
    }
    double sum = 0;
    for (int pos = 0; pos < n; pos++)
        sum += (row[pos] = exp(row[pos] - max));
    for (int pos = 0; pos < n; pos++)
        row[pos] /= sum;
}

static void check_run_against_naive(const dl_drift_params *p, const run_fixture *f)
{
    const dl_drift_world *w = &f->world;
    const dl_drift_result *r = &f->result;
    int P = p->prompt_length, positions = P + p->steps;
    int counts[64] = {0}, max_count = 0;

    for (int t = 0; t < p->steps; t++) {
        int n = P + t;
        double row[256];
        naive_row(row, w, p, r->tokens, n);
        const double *stored = r->attention + (size_t)t * positions;

        double prompt = 0, entropy = 0;
        for (int i = 0; i < n; i++) {
            assert_float_equal(stored[i], row[i], 1e-12);
            if (i < P)
                prompt += row[i];
            if (row[i] > 0)
                entropy -= row[i] * log(row[i]);
        }
        for (int i = n; i < positions; i++)
            assert_true(isnan(stored[i]));
        assert_float_equal(r->prompt_attention[t], prompt, 1e-12);
        assert_float_equal(r->sink_attention[t], row[0], 1e-12);
        assert_float_equal(r->entropy[t], entropy / log((double)n), 1e-12);

        int cluster = r->tokens[n] / p->tokens_per_cluster;
        assert_int_equal(r->clusters[n], cluster);
        if (++counts[cluster] > max_count)
            max_count = counts[cluster];
        assert_float_equal(r->lock_in[t], (double)max_count / (t + 1), 0);
    }
}

static void world_has_unit_centres_and_cycling_prompt(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    dl_drift_world w;
    dl_error err;
    assert_int_equal(dl_drift_world_make(&w, &p, 1, 2, &err), 0);

    for (int c = 0; c < p.clusters; c++) {
        double norm = 0;
        for (int i = 0; i < p.d_model; i++)
            norm += w.centre[c * p.d_model + i] * w.centre[c * p.d_model + i];
        assert_float_equal(norm, 1.0, 1e-14);
    }
    for (int j = 0; j < w.vocab_size; j++)
        assert_int_equal(w.cluster_of[j], j / p.tokens_per_cluster);
    for (int i = 0; i < p.prompt_length; i++)
        assert_int_equal(w.prompt[i] / p.tokens_per_cluster, i % p.clusters);
    for (int i = 0; i < p.d_model; i++)
        for (int j = 0; j < p.d_head; j++)
            assert_true(w.wk[i * p.d_head + j] == (i == j ? 1.0 : 0.0));
    dl_drift_world_free(&w);
}

static void world_depends_on_seed_not_on_temperature(void **state)
{
    (void)state;
    dl_drift_params p = base_params(), hot = base_params();
    hot.temperature = 3;
    hot.top_k = 2;
    dl_drift_world a, b, c;
    dl_error err;
    assert_int_equal(dl_drift_world_make(&a, &p, 1, 2, &err), 0);
    assert_int_equal(dl_drift_world_make(&b, &hot, 1, 2, &err), 0);
    assert_int_equal(dl_drift_world_make(&c, &p, 1, 3, &err), 0);
    size_t bytes = (size_t)a.vocab_size * a.d_model * sizeof(double);
    assert_memory_equal(a.embedding, b.embedding, bytes);
    assert_memory_not_equal(a.embedding, c.embedding, bytes);
    dl_drift_world_free(&a);
    dl_drift_world_free(&b);
    dl_drift_world_free(&c);
}

static void explicit_prompt_out_of_range_is_rejected(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    const int prompt[2] = {3, 12};
    p.prompt = prompt;
    p.prompt_length = 2;
    dl_drift_world w;
    dl_error err;
    assert_int_equal(dl_drift_world_make(&w, &p, 1, 2, &err), -1);
    assert_non_null(strstr(err.message, "12"));
    assert_non_null(strstr(err.message, "[0, 12)"));
    dl_drift_world_free(&w);
}

static void cached_attention_matches_naive_recomputation(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    run_fixture f;
    run_model(&f, &p, 5);
    check_run_against_naive(&p, &f);
    for (int i = 0; i < p.prompt_length; i++)
        assert_int_equal(f.result.tokens[i], f.world.prompt[i]);
    free_fixture(&f);
}

static void random_projections_match_naive_recomputation(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    p.projection = DL_PROJECTION_RANDOM;
    p.d_head = 5;
    p.rule = DL_RULE_LM;
    run_fixture f;
    run_model(&f, &p, 6);
    check_run_against_naive(&p, &f);
    free_fixture(&f);
}

static void greedy_cluster_rule_picks_heaviest_cluster(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    p.temperature = 0;
    run_fixture f;
    run_model(&f, &p, 7);
    int P = p.prompt_length, positions = P + p.steps;
    for (int t = 0; t < p.steps; t++) {
        const double *row = f.result.attention + (size_t)t * positions;
        double mass[8] = {0};
        for (int i = 0; i < P + t; i++)
            mass[f.result.clusters[i]] += row[i];
        int best = 0;
        for (int c = 1; c < p.clusters; c++)
            if (mass[c] > mass[best])
                best = c;
        assert_int_equal(f.result.clusters[P + t], best);
    }
    free_fixture(&f);
}

static void greedy_lm_rule_picks_largest_logit(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    p.temperature = 0;
    p.rule = DL_RULE_LM;
    run_fixture f;
    run_model(&f, &p, 8);
    const dl_drift_world *w = &f.world;
    int P = p.prompt_length, positions = P + p.steps, d = p.d_model;
    for (int t = 0; t < p.steps; t++) {
        const double *row = f.result.attention + (size_t)t * positions;
        double output[8] = {0};
        for (int i = 0; i < P + t; i++)
            for (int k = 0; k < d; k++)
                output[k] += row[i] * w->embedding[f.result.tokens[i] * d + k];
        int best = 0;
        double best_logit = -INFINITY;
        for (int j = 0; j < w->vocab_size; j++) {
            double logit = 0;
            for (int k = 0; k < d; k++)
                logit += output[k] * w->embedding[j * d + k];
            logit *= p.gain_out;
            if (logit > best_logit) {
                best_logit = logit;
                best = j;
            }
        }
        assert_int_equal(f.result.tokens[P + t], best);
    }
    free_fixture(&f);
}

static void same_inputs_give_same_run(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    run_fixture a, b;
    run_model(&a, &p, 9);
    run_model(&b, &p, 9);
    size_t positions = (size_t)(p.prompt_length + p.steps);
    assert_memory_equal(a.result.tokens, b.result.tokens, positions * sizeof(int32_t));
    assert_memory_equal(a.result.attention, b.result.attention,
                        (size_t)p.steps * positions * sizeof(double));
    free_fixture(&a);
    free_fixture(&b);
}

static void top_k_one_equals_greedy(void **state)
{
    (void)state;
    dl_drift_params greedy = base_params(), top1 = base_params();
    greedy.temperature = 0;
    top1.top_k = 1;
    run_fixture a, b;
    run_model(&a, &greedy, 10);
    run_model(&b, &top1, 10);
    /* the member within a cluster is drawn at random in both, but the
     * cluster sequence must agree */
    size_t positions = (size_t)(greedy.prompt_length + greedy.steps);
    assert_memory_equal(a.result.clusters, b.result.clusters, positions * sizeof(int32_t));
    free_fixture(&a);
    free_fixture(&b);
}

static void overflowing_scores_fail_with_step(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    p.gain = INFINITY;
    dl_drift_world w;
    dl_drift_result r;
    dl_error err;
    assert_int_equal(dl_drift_world_make(&w, &p, 1, 1, &err), 0);
    assert_int_equal(dl_drift_result_alloc(&r, &p, false, &err), 0);
    assert_int_equal(dl_drift_run(&w, &p, 1, 1, &r, &err), -1);
    assert_non_null(strstr(err.message, "step 0"));
    assert_non_null(strstr(err.message, "gain"));
    dl_drift_world_free(&w);
    dl_drift_result_free(&r);
}

static void overflowing_output_logits_name_gain_out(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    p.rule = DL_RULE_LM;
    p.gain_out = 1.7976931348623157e308;
    p.cluster_spread = 1e10;
    dl_drift_world w;
    dl_drift_result r;
    dl_error err;
    assert_int_equal(dl_drift_world_make(&w, &p, 1, 1, &err), 0);
    assert_int_equal(dl_drift_result_alloc(&r, &p, false, &err), 0);
    assert_int_equal(dl_drift_run(&w, &p, 1, 1, &r, &err), -1);
    assert_non_null(strstr(err.message, "step 0"));
    assert_non_null(strstr(err.message, "gain_out"));
    dl_drift_world_free(&w);
    dl_drift_result_free(&r);
}

static void lock_in_is_one_when_greedy_locks(void **state)
{
    (void)state;
    dl_drift_params p = base_params();
    p.temperature = 0;
    p.gain = 20;
    run_fixture f;
    run_model(&f, &p, 11);
    /* greedy generation with a sharp head repeats its cluster */
    assert_float_equal(f.result.lock_in[p.steps - 1], 1.0, 0);
    free_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(world_has_unit_centres_and_cycling_prompt),
        cmocka_unit_test(world_depends_on_seed_not_on_temperature),
        cmocka_unit_test(explicit_prompt_out_of_range_is_rejected),
        cmocka_unit_test(cached_attention_matches_naive_recomputation),
        cmocka_unit_test(random_projections_match_naive_recomputation),
        cmocka_unit_test(greedy_cluster_rule_picks_heaviest_cluster),
        cmocka_unit_test(greedy_lm_rule_picks_largest_logit),
        cmocka_unit_test(same_inputs_give_same_run),
        cmocka_unit_test(top_k_one_equals_greedy),
        cmocka_unit_test(overflowing_scores_fail_with_step),
        cmocka_unit_test(overflowing_output_logits_name_gain_out),
        cmocka_unit_test(lock_in_is_one_when_greedy_locks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
