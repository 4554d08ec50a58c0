/* lora_task.c - drawing the base, the teacher and the data sets; see
 * lora_task.h for the model and docs/lora.md for the order of draws. */
#include "lora_task.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lora_linalg.h"
#include "lora_metrics.h"
#include "lora_stream.h"
#include "stream.h"

static double *alloc_doubles(size_t count)
{
    return malloc((count > 0 ? count : 1) * sizeof(double));
}

/* Fills out[count] with factor * z for standard normals z, in index order. */
static void draw_normals(double *out, size_t count, double factor, dl_stream *stream)
{
    for (size_t i = 0; i < count; i++)
        out[i] = factor * dl_stream_normal(stream);
}

static void dataset_free(dl_lora_dataset *d)
{
    free(d->x);
    free(d->base_logits);
    free(d->teacher_logits);
    free(d->teacher_probs);
    memset(d, 0, sizeof *d);
}

static int dataset_alloc(dl_lora_dataset *d, size_t rows, size_t input_dim,
                         size_t output_dim)
{
    d->rows = rows;
    d->x = alloc_doubles(rows * input_dim);
    d->base_logits = alloc_doubles(rows * output_dim);
    d->teacher_logits = alloc_doubles(rows * output_dim);
    d->teacher_probs = alloc_doubles(rows * output_dim);
    if (d->x == NULL || d->base_logits == NULL || d->teacher_logits == NULL ||
        d->teacher_probs == NULL) {
        dataset_free(d);
        return -1;
    }
    return 0;
}

int dl_lora_logits(double *logits, const double *x, const double *w,
                   size_t rows, size_t input_dim, size_t output_dim,
                   dl_error *err)
{
    return dl_linalg_gemm(logits, x, DL_LINALG_NO_TRANSPOSE, w,
                          DL_LINALG_NO_TRANSPOSE, rows, output_dim, input_dim,
                          1.0, 0.0, err);
}

/* Computes the base and teacher outputs of a data set whose x is drawn. */
static int dataset_outputs(dl_lora_dataset *d, const dl_lora_task *task,
                           const char *name, dl_error *err)
{
    size_t input_dim = (size_t)task->params.input_dim;
    size_t output_dim = (size_t)task->params.output_dim;

    if (dl_lora_logits(d->base_logits, d->x, task->base, d->rows, input_dim,
                       output_dim, err) != 0 ||
        dl_lora_logits(d->teacher_logits, d->x, task->teacher, d->rows,
                       input_dim, output_dim, err) != 0)
        return -1;

    /* the softmax of training, so that a fit whose logits equal the
     * teacher's gets a gradient of exactly 0 */
    dl_error softmax_error;
    if (dl_lora_softmax_rows(d->teacher_probs, d->teacher_logits, d->rows,
                             output_dim, &softmax_error) != 0)
        return dl_error_set(err, "%s: the teacher logits are not finite (%s); "
                            "lower task_scale or task_noise", name,
                            softmax_error.message);
    return 0;
}

void dl_lora_task_free(dl_lora_task *task)
{
    free(task->base);
    free(task->delta);
    free(task->teacher);
    free(task->task_u);
    free(task->task_v);
    free(task->task_sigma);
    dataset_free(&task->train);
    dataset_free(&task->eval);
    dataset_free(&task->old);
    dataset_free(&task->probe);
    memset(task, 0, sizeof *task);
}

/* ---- the teacher's update dW* = U diag(sigma) V^T (+ noise) ---- */

static int draw_teacher(dl_lora_task *task, dl_stream *stream, dl_error *err)
{
    const dl_lora_task_params *p = &task->params;
    size_t d = (size_t)p->input_dim, n = (size_t)p->output_dim;
    size_t k = (size_t)p->task_rank;

    /* orthonormal bases of the task's input and output subspaces */
    draw_normals(task->task_u, d * k, 1.0, stream);
    if (dl_linalg_orthonormalize(task->task_u, d, k, err) != 0)
        return dl_error_prefix(err, "task input subspace U");
    draw_normals(task->task_v, n * k, 1.0, stream);
    if (dl_linalg_orthonormalize(task->task_v, n, k, err) != 0)
        return dl_error_prefix(err, "task output subspace V");

    for (size_t i = 0; i < k; i++)
        task->task_sigma[i] = p->task_scale * pow(p->task_decay, (double)i);

    /* dW* = (U diag(sigma)) V^T, with V stored as N x k */
    double *scaled_u = alloc_doubles(d * k);
    if (scaled_u == NULL)
        return dl_error_set(err, "teacher: out of memory for a %zu x %zu matrix", d, k);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < k; j++)
            scaled_u[i * k + j] = task->task_u[i * k + j] * task->task_sigma[j];
    int status = dl_linalg_gemm(task->delta, scaled_u, DL_LINALG_NO_TRANSPOSE,
                                task->task_v, DL_LINALG_TRANSPOSE, d, n, k,
                                1.0, 0.0, err);
    free(scaled_u);
    if (status != 0)
        return -1;

    if (p->task_noise > 0.0) {
        double factor = p->task_noise / sqrt((double)d);
        for (size_t i = 0; i < d * n; i++)
            task->delta[i] += factor * dl_stream_normal(stream);
    }

    for (size_t i = 0; i < d * n; i++)
        task->teacher[i] = task->base[i] + task->delta[i];
    return 0;
}

/* Projects the rows of x [rows][D] onto the orthogonal complement of
 * span(U): x <- x - (x U) U^T. */
static int project_out_task(double *x, size_t rows, const dl_lora_task *task,
                            dl_error *err)
{
    size_t d = (size_t)task->params.input_dim;
    size_t k = (size_t)task->params.task_rank;
    double *coefficients = alloc_doubles(rows * k);
    if (coefficients == NULL)
        return dl_error_set(err, "old-task rows: out of memory");

    int status = dl_linalg_gemm(coefficients, x, DL_LINALG_NO_TRANSPOSE,
                                task->task_u, DL_LINALG_NO_TRANSPOSE, rows, k, d,
                                1.0, 0.0, err);
    if (status == 0)
        status = dl_linalg_gemm(x, coefficients, DL_LINALG_NO_TRANSPOSE,
                                task->task_u, DL_LINALG_TRANSPOSE, rows, d, k,
                                -1.0, 1.0, err);
    free(coefficients);
    return status;
}

int dl_lora_task_make(dl_lora_task *task, const dl_lora_task_params *params,
                      uint64_t master_seed, int64_t seed, dl_error *err)
{
    memset(task, 0, sizeof *task);
    if (dl_lora_task_params_check(params, err) != 0)
        return -1;

    task->params = *params;
    task->master_seed = master_seed;
    task->seed = seed;
    size_t d = (size_t)params->input_dim, n = (size_t)params->output_dim;
    size_t k = (size_t)params->task_rank;

    task->base = alloc_doubles(d * n);
    task->delta = alloc_doubles(d * n);
    task->teacher = alloc_doubles(d * n);
    task->task_u = alloc_doubles(d * k);
    task->task_v = alloc_doubles(n * k);
    task->task_sigma = alloc_doubles(k);
    if (task->base == NULL || task->delta == NULL || task->teacher == NULL ||
        task->task_u == NULL || task->task_v == NULL || task->task_sigma == NULL ||
        dataset_alloc(&task->train, (size_t)params->n_train, d, n) != 0 ||
        dataset_alloc(&task->eval, (size_t)params->n_eval, d, n) != 0 ||
        dataset_alloc(&task->old, (size_t)params->n_old, d, n) != 0 ||
        dataset_alloc(&task->probe, 1, d, n) != 0) {
        dl_error_set(err, "LoRA task: out of memory for D = %zu, N = %zu", d, n);
        goto fail;
    }

    dl_stream stream;
    if (dl_lora_stream_init(&stream, DL_LORA_STREAM_TASK, master_seed, seed,
                            params, NULL, NULL, err) != 0)
        goto fail;

    /* the draws, in the documented order */
    draw_normals(task->base, d * n, 1.0 / sqrt((double)d), &stream);
    if (draw_teacher(task, &stream, err) != 0)
        goto fail;
    draw_normals(task->train.x, task->train.rows * d, 1.0, &stream);
    draw_normals(task->eval.x, task->eval.rows * d, 1.0, &stream);
    draw_normals(task->old.x, task->old.rows * d, 1.0, &stream);
    draw_normals(task->probe.x, d, 1.0, &stream);

    if (project_out_task(task->old.x, task->old.rows, task, err) != 0)
        goto fail;

    if (dataset_outputs(&task->train, task, "training", err) != 0 ||
        dataset_outputs(&task->eval, task, "eval", err) != 0 ||
        dataset_outputs(&task->old, task, "old-task", err) != 0 ||
        dataset_outputs(&task->probe, task, "probe", err) != 0)
        goto fail;
    return 0;

fail:
    dl_lora_task_free(task);
    return -1;
}
