/* lora_fit.c - init, training and metrics of one adapter or of the
 * full-rank baseline; see lora_fit.h. */
#include "lora_fit.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lora_linalg.h"
#include "lora_metrics.h"
#include "lora_stream.h"

static double *alloc_doubles(size_t count)
{
    return malloc((count > 0 ? count : 1) * sizeof(double));
}

static void metrics_free(dl_lora_metrics *m)
{
    dl_lora_curve_free(&m->curve);
    free(m->singular_values);
    free(m->probe_base);
    free(m->probe_teacher);
    free(m->probe_adapted);
    memset(m, 0, sizeof *m);
}

void dl_lora_fit_result_free(dl_lora_fit_result *result)
{
    dl_lora_adapter_free(&result->adapter);
    free(result->frozen);
    free(result->update);
    metrics_free(&result->metrics);
    memset(result, 0, sizeof *result);
}

void dl_lora_full_result_free(dl_lora_full_result *result)
{
    free(result->delta);
    metrics_free(&result->metrics);
    memset(result, 0, sizeof *result);
}

/* The adapted logits of the three evaluation sets. */
typedef struct {
    double *eval;  /* [n_eval][N] */
    double *old;   /* [n_old][N] */
    double *probe; /* [1][N] */
} adapted_logits;

static void adapted_free(adapted_logits *a)
{
    free(a->eval);
    free(a->old);
    free(a->probe);
    memset(a, 0, sizeof *a);
}

static int adapted_alloc(adapted_logits *a, const dl_lora_task *task)
{
    size_t n = (size_t)task->params.output_dim;
    a->eval = alloc_doubles(task->eval.rows * n);
    a->old = alloc_doubles(task->old.rows * n);
    a->probe = alloc_doubles(n);
    if (a->eval == NULL || a->old == NULL || a->probe == NULL) {
        adapted_free(a);
        return -1;
    }
    return 0;
}

/* Fills every metric except the curve, from the learned update [D][N],
 * the adapted logits, the rank used for the Eckart-Young optimum and the
 * amplification, and the parameter count. */
static int evaluate(dl_lora_metrics *m, const dl_lora_task *task,
                    const double *update, const adapted_logits *adapted,
                    size_t rank, long long parameter_count, dl_error *err)
{
    size_t d = (size_t)task->params.input_dim, n = (size_t)task->params.output_dim;
    size_t k = d < n ? d : n;

    m->final_train_loss = m->curve.loss[m->curve.length - 1];
    m->eval_kl = dl_lora_kl_mean(task->eval.teacher_logits, adapted->eval,
                                 task->eval.rows, n);
    m->forgetting = dl_lora_kl_mean(task->old.base_logits, adapted->old,
                                    task->old.rows, n);

    /* A finite training loss does not make the weights finite: a huge
     * learning rate or alpha can overflow them while the softmax stays
     * finite. Such a fit has no meaningful metrics, so it is an error. */
    double update_norm = dl_linalg_frobenius(update, d * n);
    if (!isfinite(update_norm) || !isfinite(m->eval_kl) || !isfinite(m->forgetting))
        return dl_error_set(err, "training diverged: the learned update (norm %g) "
                            "or its eval KL (%g) is not finite; lower "
                            "learning_rate or alpha", update_norm, m->eval_kl);
    m->parameter_count = parameter_count;
    m->parameter_ratio = (double)parameter_count / ((double)d * (double)n);

    /* the update against the teacher's dW* and its best rank-r value */
    m->relative_error = dl_lora_relative_error(update, task->delta, d * n);
    double *target_sigma = alloc_doubles(k);
    m->singular_value_count = k;
    m->singular_values = alloc_doubles(k);
    m->probe_base = alloc_doubles(n);
    m->probe_teacher = alloc_doubles(n);
    m->probe_adapted = alloc_doubles(n);
    int status = -1;
    if (target_sigma == NULL || m->singular_values == NULL || m->probe_base == NULL ||
        m->probe_teacher == NULL || m->probe_adapted == NULL) {
        dl_error_set(err, "LoRA metrics: out of memory");
        goto done;
    }
    if (dl_lora_singular_values(target_sigma, task->delta, d, n, err) != 0)
        goto done;
    m->eckart_young_error = dl_lora_eckart_young_error(target_sigma, k, rank);

    /* the update's own spectrum */
    if (dl_lora_singular_values(m->singular_values, update, d, n, err) != 0)
        goto done;
    m->effective_rank = dl_lora_effective_rank(m->singular_values, k);
    if (dl_lora_amplification(&m->amplification, update, task->base, d, n, rank,
                              err) != 0)
        goto done;

    /* the probe's three output distributions */
    memcpy(m->probe_teacher, task->probe.teacher_probs, n * sizeof(double));
    if (dl_lora_softmax_rows(m->probe_base, task->probe.base_logits, 1, n, err) != 0 ||
        dl_lora_softmax_rows(m->probe_adapted, adapted->probe, 1, n, err) != 0)
        goto done;
    status = 0;

done:
    free(target_sigma);
    return status;
}

/* ---- one adapter ---- */

/* The frozen base's logits on each data set: the task's base logits, or
 * for the svd start (whose frozen base is the residual) new products. */
typedef struct {
    const double *train, *eval, *old, *probe;
    double *owned[4];
} frozen_logits;

static void frozen_logits_free(frozen_logits *f)
{
    for (int i = 0; i < 4; i++)
        free(f->owned[i]);
    memset(f, 0, sizeof *f);
}

static int frozen_logits_make(frozen_logits *f, const dl_lora_task *task,
                              const double *frozen, bool same_as_base,
                              dl_error *err)
{
    memset(f, 0, sizeof *f);
    const dl_lora_dataset *sets[4] = {&task->train, &task->eval, &task->old,
                                      &task->probe};
    const double **targets[4] = {&f->train, &f->eval, &f->old, &f->probe};
    size_t d = (size_t)task->params.input_dim, n = (size_t)task->params.output_dim;

    for (int i = 0; i < 4; i++) {
        if (same_as_base) {
            *targets[i] = sets[i]->base_logits;
            continue;
        }
        f->owned[i] = alloc_doubles(sets[i]->rows * n);
        if (f->owned[i] == NULL) {
            frozen_logits_free(f);
            return dl_error_set(err, "frozen logits: out of memory");
        }
        if (dl_lora_logits(f->owned[i], sets[i]->x, frozen, sets[i]->rows, d, n,
                           err) != 0) {
            frozen_logits_free(f);
            return -1;
        }
        *targets[i] = f->owned[i];
    }
    return 0;
}

int dl_lora_fit_adapter(dl_lora_fit_result *result, const dl_lora_task *task,
                        const dl_lora_adapter_params *adapter_params,
                        const dl_lora_train_params *train_params, dl_error *err)
{
    memset(result, 0, sizeof *result);
    const dl_lora_task_params *tp = &task->params;
    size_t d = (size_t)tp->input_dim, n = (size_t)tp->output_dim;
    size_t r = (size_t)adapter_params->rank;
    if (dl_lora_adapter_params_check(adapter_params, tp->input_dim, tp->output_dim,
                                     err) != 0 ||
        dl_lora_train_params_check(train_params, tp->n_train, err) != 0)
        return -1;

    frozen_logits frozen = {0};
    adapted_logits adapted = {0};
    double *xb = NULL;
    int status = -1;

    result->frozen = alloc_doubles(d * n);
    result->update = alloc_doubles(d * n);
    if (result->frozen == NULL || result->update == NULL) {
        dl_error_set(err, "LoRA fit: out of memory for D = %zu, N = %zu", d, n);
        goto done;
    }

    /* start: the random factor from the lora-init stream */
    dl_stream init_stream;
    if (dl_lora_stream_init(&init_stream, DL_LORA_STREAM_INIT, task->master_seed,
                            task->seed, tp, adapter_params, NULL, err) != 0 ||
        dl_lora_adapter_init(&result->adapter, result->frozen, task->base,
                             tp->input_dim, tp->output_dim, adapter_params,
                             &init_stream, err) != 0)
        goto done;
    if (frozen_logits_make(&frozen, task, result->frozen,
                           adapter_params->init != DL_LORA_INIT_SVD, err) != 0)
        goto done;

    /* train B and A with the frozen base */
    dl_stream batch_stream;
    if (dl_lora_stream_init(&batch_stream, DL_LORA_STREAM_BATCH, task->master_seed,
                            task->seed, tp, NULL, train_params, err) != 0 ||
        dl_lora_train_adapter(&result->adapter, &result->metrics.curve, &task->train,
                              frozen.train, train_params, &batch_stream, err) != 0)
        goto done;

    /* adapted logits on the evaluation sets */
    size_t rows = task->eval.rows > task->old.rows ? task->eval.rows : task->old.rows;
    xb = alloc_doubles(rows * r);
    if (xb == NULL || adapted_alloc(&adapted, task) != 0) {
        dl_error_set(err, "LoRA fit: out of memory for the evaluation logits");
        goto done;
    }
    if (dl_lora_forward(adapted.eval, xb, task->eval.x, frozen.eval,
                        &result->adapter, task->eval.rows, err) != 0 ||
        dl_lora_forward(adapted.old, xb, task->old.x, frozen.old, &result->adapter,
                        task->old.rows, err) != 0 ||
        dl_lora_forward(adapted.probe, xb, task->probe.x, frozen.probe,
                        &result->adapter, 1, err) != 0)
        goto done;

    /* the learned update W_eff - W = (frozen - W) + s B A, exactly s B A
     * when frozen is W */
    if (dl_lora_product(result->update, &result->adapter, err) != 0)
        goto done;
    for (size_t i = 0; i < d * n; i++)
        result->update[i] = (result->frozen[i] - task->base[i]) + result->update[i];

    status = evaluate(&result->metrics, task, result->update, &adapted, r,
                      (long long)r * (long long)(d + n), err);

done:
    frozen_logits_free(&frozen);
    adapted_free(&adapted);
    free(xb);
    if (status != 0)
        dl_lora_fit_result_free(result);
    return status;
}

/* ---- the full-rank baseline ---- */

/* logits [rows][N] = base logits + x delta */
static int full_logits(double *logits, const dl_lora_dataset *set,
                       const double *delta, size_t d, size_t n, dl_error *err)
{
    memcpy(logits, set->base_logits, set->rows * n * sizeof *logits);
    return dl_linalg_gemm(logits, set->x, DL_LINALG_NO_TRANSPOSE, delta,
                          DL_LINALG_NO_TRANSPOSE, set->rows, n, d, 1.0, 1.0, err);
}

int dl_lora_fit_full(dl_lora_full_result *result, const dl_lora_task *task,
                     const dl_lora_train_params *train_params, dl_error *err)
{
    memset(result, 0, sizeof *result);
    const dl_lora_task_params *tp = &task->params;
    size_t d = (size_t)tp->input_dim, n = (size_t)tp->output_dim;
    size_t k = d < n ? d : n;
    if (dl_lora_train_params_check(train_params, tp->n_train, err) != 0)
        return -1;

    adapted_logits adapted = {0};
    int status = -1;
    result->delta = calloc(d * n, sizeof(double));
    if (result->delta == NULL || adapted_alloc(&adapted, task) != 0) {
        dl_error_set(err, "full-rank baseline: out of memory for D = %zu, N = %zu",
                     d, n);
        goto done;
    }

    dl_stream batch_stream;
    if (dl_lora_stream_init(&batch_stream, DL_LORA_STREAM_BATCH, task->master_seed,
                            task->seed, tp, NULL, train_params, err) != 0 ||
        dl_lora_train_full(result->delta, d, n, &result->metrics.curve, &task->train,
                           task->train.base_logits, train_params, &batch_stream,
                           err) != 0)
        goto done;

    if (full_logits(adapted.eval, &task->eval, result->delta, d, n, err) != 0 ||
        full_logits(adapted.old, &task->old, result->delta, d, n, err) != 0 ||
        full_logits(adapted.probe, &task->probe, result->delta, d, n, err) != 0)
        goto done;

    status = evaluate(&result->metrics, task, result->delta, &adapted, k,
                      (long long)d * (long long)n, err);

done:
    adapted_free(&adapted);
    if (status != 0)
        dl_lora_full_result_free(result);
    return status;
}
