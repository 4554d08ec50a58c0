/* drift.c - the context-drift model; see drift.h for the maths.
 *
 * Order of draws, which docs/random-streams.md repeats so that another
 * implementation can reproduce a run:
 *
 * world stream   1. centres, cluster by cluster, d_model normals each, then
 *                   each centre scaled to unit length;
 *                2. embeddings, token by token, d_model normals each;
 *                3. with random projections: Wq, Wk, Wv, row-major, each
 *                   entry a normal divided by sqrt(d_model);
 *                4. the prompt (unless given): position i takes cluster
 *                   i mod C and member floor(u * m) of one uniform u.
 * sample stream  every step draws the uniform of the item choice, and the
 *                cluster rule then draws one more for the member.
 *
 * The lm rule compares the head's output o with each token's value vector
 * e_j Wv; with identity projections that is o . e_j.
 */
#include "drift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "sampling.h"
#include "stream.h"

/* ---- allocation ---------------------------------------------------- */

static void *alloc_array(size_t count, size_t size, dl_error *err,
                         const char *what)
{
    void *p = calloc(count > 0 ? count : 1, size);
    if (p == NULL)
        dl_error_set(err, "out of memory allocating %s (%zu elements)", what, count);
    return p;
}

void dl_drift_world_free(dl_drift_world *world)
{
    free(world->centre);
    free(world->embedding);
    free(world->cluster_of);
    free(world->wq);
    free(world->wk);
    free(world->wv);
    free(world->prompt);
    memset(world, 0, sizeof *world);
}

void dl_drift_result_free(dl_drift_result *result)
{
    free(result->prompt_attention);
    free(result->sink_attention);
    free(result->entropy);
    free(result->lock_in);
    free(result->tokens);
    free(result->clusters);
    free(result->attention);
    memset(result, 0, sizeof *result);
}

int dl_drift_result_alloc(dl_drift_result *r, const dl_drift_params *p,
                          bool keep_attention, dl_error *err)
{
    memset(r, 0, sizeof *r);
    r->steps = p->steps;
    r->prompt_length = p->prompt_length;
    r->n_positions = p->prompt_length + p->steps;

    size_t steps = (size_t)p->steps, positions = (size_t)r->n_positions;
    if (!(r->prompt_attention = alloc_array(steps, sizeof(double), err, "metrics"))
        || !(r->sink_attention = alloc_array(steps, sizeof(double), err, "metrics"))
        || !(r->entropy = alloc_array(steps, sizeof(double), err, "metrics"))
        || !(r->lock_in = alloc_array(steps, sizeof(double), err, "metrics"))
        || !(r->tokens = alloc_array(positions, sizeof(int32_t), err, "tokens"))
        || !(r->clusters = alloc_array(positions, sizeof(int32_t), err, "tokens")))
        goto fail;
    if (keep_attention
        && !(r->attention = alloc_array(steps * positions, sizeof(double), err,
                                        "attention rows")))
        goto fail;
    return 0;

fail:
    dl_drift_result_free(r);
    return -1;
}

/* ---- the world ------------------------------------------------------ */

static void fill_identity(double *m, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            m[(size_t)i * n + j] = i == j ? 1.0 : 0.0;
}

static void fill_gaussian(double *m, size_t count, double scale, dl_stream *s)
{
    for (size_t i = 0; i < count; i++)
        m[i] = scale * dl_stream_normal(s);
}

int dl_drift_world_make(dl_drift_world *w, const dl_drift_params *p,
                        uint64_t master_seed, int64_t seed, dl_error *err)
{
    memset(w, 0, sizeof *w);
    w->clusters = p->clusters;
    w->tokens_per_cluster = p->tokens_per_cluster;
    w->vocab_size = p->clusters * p->tokens_per_cluster;
    w->d_model = p->d_model;
    w->d_head = p->d_head;
    w->prompt_length = p->prompt_length;

    size_t C = (size_t)w->clusters, V = (size_t)w->vocab_size;
    size_t d = (size_t)w->d_model, dh = (size_t)w->d_head;
    if (!(w->centre = alloc_array(C * d, sizeof(double), err, "cluster centres"))
        || !(w->embedding = alloc_array(V * d, sizeof(double), err, "embeddings"))
        || !(w->cluster_of = alloc_array(V, sizeof(int32_t), err, "cluster ids"))
        || !(w->wq = alloc_array(d * dh, sizeof(double), err, "projections"))
        || !(w->wk = alloc_array(d * dh, sizeof(double), err, "projections"))
        || !(w->wv = alloc_array(d * dh, sizeof(double), err, "projections"))
        || !(w->prompt = alloc_array((size_t)p->prompt_length, sizeof(int32_t), err,
                                     "prompt")))
        goto fail;

    dl_stream stream;
    if (dl_stream_init(&stream, DL_STREAM_WORLD, master_seed, seed, p) != 0) {
        dl_error_set(err, "out of memory deriving the world stream");
        goto fail;
    }

    /* unit cluster centres */
    for (size_t c = 0; c < C; c++) {
        double *centre = w->centre + c * d;
        fill_gaussian(centre, d, 1.0, &stream);
        double norm = sqrt(dl_dot(centre, centre, d));
        if (norm == 0.0) {
            dl_error_set(err, "cluster centre %zu drew a zero vector", c);
            goto fail;
        }
        for (size_t k = 0; k < d; k++)
            centre[k] /= norm;
    }

    /* token embeddings: centre plus noise of scale spread / sqrt(d_model) */
    double noise_scale = p->cluster_spread / sqrt((double)d);
    for (size_t j = 0; j < V; j++) {
        size_t c = j / (size_t)w->tokens_per_cluster;
        w->cluster_of[j] = (int32_t)c;
        for (size_t k = 0; k < d; k++)
            w->embedding[j * d + k] = w->centre[c * d + k]
                                      + noise_scale * dl_stream_normal(&stream);
    }

    if (p->projection == DL_PROJECTION_IDENTITY) {
        fill_identity(w->wq, w->d_model);
        fill_identity(w->wk, w->d_model);
        fill_identity(w->wv, w->d_model);
    } else {
        double scale = 1.0 / sqrt((double)d);
        fill_gaussian(w->wq, d * dh, scale, &stream);
        fill_gaussian(w->wk, d * dh, scale, &stream);
        fill_gaussian(w->wv, d * dh, scale, &stream);
    }

    /* the prompt: given, or one token of each cluster in turn */
    for (int i = 0; i < p->prompt_length; i++) {
        if (p->prompt != NULL) {
            if (p->prompt[i] < 0 || p->prompt[i] >= w->vocab_size) {
                dl_error_set(err, "prompt token %d at position %d is out of range: "
                             "must be in [0, %d)", p->prompt[i], i, w->vocab_size);
                goto fail;
            }
            w->prompt[i] = p->prompt[i];
            continue;
        }
        int cluster = i % w->clusters;
        int member = (int)(dl_stream_uniform(&stream) * w->tokens_per_cluster);
        if (member >= w->tokens_per_cluster)
            member = w->tokens_per_cluster - 1;
        w->prompt[i] = cluster * w->tokens_per_cluster + member;
    }
    return 0;

fail:
    dl_drift_world_free(w);
    return -1;
}

/* ---- generation ----------------------------------------------------- */

/* Per-run scratch, allocated once per run. */
typedef struct {
    double *keys;        /* [n_positions][d_head] */
    double *values;      /* [n_positions][d_head] */
    double *vocab_value; /* [vocab][d_head], lm rule only */
    double *query;       /* [d_head] */
    double *output;      /* [d_head] */
    double *scores;      /* [n_positions], then the attention row */
    double *logits;      /* [max(vocab, clusters)] */
    uint8_t *seen;       /* [max(vocab, clusters)] */
    int *cluster_count;  /* [clusters] */
    dl_sampler_work sampler;
} run_work;

static void run_work_free(run_work *rw)
{
    free(rw->keys);
    free(rw->values);
    free(rw->vocab_value);
    free(rw->query);
    free(rw->output);
    free(rw->scores);
    free(rw->logits);
    free(rw->seen);
    free(rw->cluster_count);
    free(rw->sampler.logits);
    free(rw->sampler.p);
    free(rw->sampler.order);
}

static int run_work_alloc(run_work *rw, const dl_drift_world *w,
                          const dl_drift_params *p, dl_error *err)
{
    memset(rw, 0, sizeof *rw);
    size_t positions = (size_t)(p->prompt_length + p->steps);
    size_t dh = (size_t)w->d_head;
    size_t items = (size_t)(w->vocab_size > w->clusters ? w->vocab_size : w->clusters);

    if (!(rw->keys = alloc_array(positions * dh, sizeof(double), err, "key cache"))
        || !(rw->values = alloc_array(positions * dh, sizeof(double), err, "value cache"))
        || !(rw->query = alloc_array(dh, sizeof(double), err, "query"))
        || !(rw->output = alloc_array(dh, sizeof(double), err, "head output"))
        || !(rw->scores = alloc_array(positions, sizeof(double), err, "scores"))
        || !(rw->logits = alloc_array(items, sizeof(double), err, "logits"))
        || !(rw->seen = alloc_array(items, sizeof(uint8_t), err, "seen flags"))
        || !(rw->cluster_count = alloc_array((size_t)w->clusters, sizeof(int), err,
                                             "cluster counts"))
        || !(rw->sampler.logits = alloc_array(items, sizeof(double), err, "sampler"))
        || !(rw->sampler.p = alloc_array(items, sizeof(double), err, "sampler"))
        || !(rw->sampler.order = alloc_array(items, sizeof(size_t), err, "sampler")))
        goto fail;
    if (p->rule == DL_RULE_LM
        && !(rw->vocab_value = alloc_array((size_t)w->vocab_size * dh, sizeof(double),
                                           err, "vocabulary values")))
        goto fail;
    return 0;

fail:
    run_work_free(rw);
    return -1;
}

/* Caches the key and value of the token at position. */
static void cache_position(run_work *rw, const dl_drift_world *w, int position,
                           int32_t token)
{
    size_t d = (size_t)w->d_model, dh = (size_t)w->d_head;
    const double *e = w->embedding + (size_t)token * d;
    dl_vec_mat(rw->keys + (size_t)position * dh, e, w->wk, d, dh);
    dl_vec_mat(rw->values + (size_t)position * dh, e, w->wv, d, dh);
}

/* Fills rw->logits with the cluster rule's logits log M_c and returns the
 * number of items (clusters). */
static size_t cluster_logits(run_work *rw, const dl_drift_world *w,
                             const int32_t *clusters, int n)
{
    double *mass = rw->logits;
    for (int c = 0; c < w->clusters; c++)
        mass[c] = 0.0;
    for (int i = 0; i < n; i++)
        mass[clusters[i]] += rw->scores[i];
    for (int c = 0; c < w->clusters; c++)
        mass[c] = mass[c] > 0.0 ? log(mass[c]) : -INFINITY;
    return (size_t)w->clusters;
}

static bool all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

/* Fills rw->logits with the lm rule's logits gain_out * (o . v_j) and
 * returns the number of items (tokens). */
static size_t lm_logits(run_work *rw, const dl_drift_world *w,
                        const dl_drift_params *p, int n)
{
    size_t dh = (size_t)w->d_head;
    for (size_t k = 0; k < dh; k++)
        rw->output[k] = 0.0;
    for (int i = 0; i < n; i++) {
        const double *v = rw->values + (size_t)i * dh;
        for (size_t k = 0; k < dh; k++)
            rw->output[k] += rw->scores[i] * v[k];
    }
    for (int j = 0; j < w->vocab_size; j++)
        rw->logits[j] = p->gain_out * dl_dot(rw->output, rw->vocab_value + (size_t)j * dh, dh);
    return (size_t)w->vocab_size;
}

int dl_drift_run(const dl_drift_world *w, const dl_drift_params *p,
                 uint64_t master_seed, int64_t seed, dl_drift_result *r,
                 dl_error *err)
{
    run_work rw;
    if (run_work_alloc(&rw, w, p, err) != 0)
        return -1;

    dl_stream stream;
    if (dl_stream_init(&stream, DL_STREAM_SAMPLE, master_seed, seed, p) != 0) {
        run_work_free(&rw);
        return dl_error_set(err, "out of memory deriving the sampling stream");
    }

    size_t d = (size_t)w->d_model, dh = (size_t)w->d_head;
    int P = p->prompt_length, positions = P + p->steps;
    double score_scale = p->gain / sqrt((double)dh);
    dl_sampler sampler = {p->temperature, p->top_k, p->top_p, p->min_p,
                          p->repetition_penalty};
    int status = 0;

    /* the prompt fills the cache */
    for (int i = 0; i < P; i++) {
        r->tokens[i] = w->prompt[i];
        r->clusters[i] = w->cluster_of[w->prompt[i]];
        cache_position(&rw, w, i, w->prompt[i]);
    }
    if (p->rule == DL_RULE_LM)
        for (int j = 0; j < w->vocab_size; j++)
            dl_vec_mat(rw.vocab_value + (size_t)j * dh, w->embedding + (size_t)j * d,
                       w->wv, d, dh);

    int max_count = 0;
    for (int t = 0; t < p->steps; t++) {
        int n = P + t;

        /* attention of the last token over every position so far */
        dl_vec_mat(rw.query, w->embedding + (size_t)r->tokens[n - 1] * d, w->wq, d, dh);
        for (int i = 0; i < n; i++)
            rw.scores[i] = score_scale * dl_dot(rw.query, rw.keys + (size_t)i * dh, dh);
        if (dl_softmax(rw.scores, rw.scores, (size_t)n, 1.0) != 0) {
            status = dl_error_set(err, "step %d: attention scores are not finite "
                                  "(gain %g, cluster_spread %g): lower gain or "
                                  "cluster_spread", t, p->gain, p->cluster_spread);
            break;
        }

        /* metrics of this step's attention row */
        double prompt_mass = 0.0;
        for (int i = 0; i < P; i++)
            prompt_mass += rw.scores[i];
        r->prompt_attention[t] = prompt_mass;
        r->sink_attention[t] = rw.scores[0];
        r->entropy[t] = dl_entropy_normalised(rw.scores, (size_t)n);
        if (r->attention != NULL) {
            double *row = r->attention + (size_t)t * (size_t)positions;
            for (int i = 0; i < positions; i++)
                row[i] = i < n ? rw.scores[i] : NAN;
        }

        /* the next token */
        size_t items = p->rule == DL_RULE_CLUSTER ? cluster_logits(&rw, w, r->clusters, n)
                                                  : lm_logits(&rw, w, p, n);
        if (p->rule == DL_RULE_LM && !all_finite(rw.logits, items)) {
            status = dl_error_set(err, "step %d: output logits are not finite (gain_out %g, "
                                  "cluster_spread %g): lower gain_out or cluster_spread",
                                  t, p->gain_out, p->cluster_spread);
            break;
        }
        size_t chosen;
        if (dl_sample(&sampler, rw.logits, rw.seen, items, dl_stream_uniform(&stream),
                      &rw.sampler, &chosen, err) != 0) {
            status = dl_error_prefix(err, "step %d", t);
            break;
        }
        int32_t token;
        if (p->rule == DL_RULE_CLUSTER) {
            int member = (int)(dl_stream_uniform(&stream) * p->tokens_per_cluster);
            if (member >= p->tokens_per_cluster)
                member = p->tokens_per_cluster - 1;
            token = (int32_t)chosen * p->tokens_per_cluster + member;
        } else {
            token = (int32_t)chosen;
        }

        /* append it and update lock-in */
        int32_t cluster = w->cluster_of[token];
        r->tokens[n] = token;
        r->clusters[n] = cluster;
        cache_position(&rw, w, n, token);
        rw.seen[p->rule == DL_RULE_CLUSTER ? (size_t)cluster : (size_t)token] = 1;
        rw.cluster_count[cluster]++;
        if (rw.cluster_count[cluster] > max_count)
            max_count = rw.cluster_count[cluster];
        r->lock_in[t] = (double)max_count / (double)(t + 1);
    }

    run_work_free(&rw);
    return status;
}
