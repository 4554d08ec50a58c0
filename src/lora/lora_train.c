/* lora_train.c - loss, gradients, optimisers and the training loop; see
 * lora_train.h for the formulas. */
#include "lora_train.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lora_linalg.h"
#include "lora_metrics.h"

/* ---- loss curve ---- */

int dl_lora_curve_alloc(dl_lora_curve *curve, int steps, int curve_length,
                        dl_error *err)
{
    memset(curve, 0, sizeof *curve);
    if (steps < 1 || curve_length < 2)
        return dl_error_set(err, "loss curve of %d points over %d steps is "
                            "invalid: need steps >= 1 and curve_length >= 2",
                            curve_length, steps);

    int length = curve_length < steps + 1 ? curve_length : steps + 1;
    curve->steps = malloc((size_t)length * sizeof *curve->steps);
    curve->loss = malloc((size_t)length * sizeof *curve->loss);
    if (curve->steps == NULL || curve->loss == NULL) {
        dl_lora_curve_free(curve);
        return dl_error_set(err, "loss curve of %d points: out of memory", length);
    }
    curve->length = length;

    /* evenly spaced, first and last included; distinct because
     * steps / (length - 1) >= 1 */
    for (int j = 0; j < length; j++) {
        curve->steps[j] = (int)((long long)j * steps / (length - 1));
        curve->loss[j] = NAN;
    }
    return 0;
}

void dl_lora_curve_free(dl_lora_curve *curve)
{
    free(curve->steps);
    free(curve->loss);
    memset(curve, 0, sizeof *curve);
}

/* ---- workspace ---- */

void dl_lora_workspace_free(dl_lora_workspace *ws)
{
    free(ws->batch_x);
    free(ws->batch_frozen);
    free(ws->batch_teacher);
    free(ws->xb);
    free(ws->logits);
    free(ws->ga);
    free(ws->gradient);
    free(ws->moment1);
    free(ws->moment2);
    free(ws->order);
    memset(ws, 0, sizeof *ws);
}

/* calloc of at least one element, so a zero size still gives a pointer */
static void *zeroed(size_t count, size_t size)
{
    return calloc(count > 0 ? count : 1, size);
}

int dl_lora_workspace_alloc(dl_lora_workspace *ws, size_t input_dim,
                            size_t output_dim, size_t rank, size_t batch_rows,
                            size_t n_train, dl_error *err)
{
    memset(ws, 0, sizeof *ws);
    if (input_dim == 0 || output_dim == 0 || batch_rows == 0)
        return dl_error_set(err, "training workspace for %zu x %zu with %zu rows "
                            "is invalid: every size must be >= 1",
                            input_dim, output_dim, batch_rows);

    size_t d = input_dim, n = output_dim, r = rank;
    size_t rows = batch_rows > n_train ? batch_rows : n_train;
    ws->input_dim = d;
    ws->output_dim = n;
    ws->rank = r;
    ws->batch_rows = batch_rows;
    ws->n_train = n_train;
    ws->parameter_count = r > 0 ? r * (d + n) : d * n;

    ws->batch_x = zeroed(batch_rows * d, sizeof(double));
    ws->batch_frozen = zeroed(batch_rows * n, sizeof(double));
    ws->batch_teacher = zeroed(batch_rows * n, sizeof(double));
    ws->xb = zeroed(rows * r, sizeof(double));
    ws->logits = zeroed(rows * n, sizeof(double));
    ws->ga = zeroed(batch_rows * r, sizeof(double));
    ws->gradient = zeroed(ws->parameter_count, sizeof(double));
    ws->moment1 = zeroed(ws->parameter_count, sizeof(double));
    ws->moment2 = zeroed(ws->parameter_count, sizeof(double));
    ws->order = zeroed(n_train, sizeof(size_t));
    if (ws->batch_x == NULL || ws->batch_frozen == NULL || ws->batch_teacher == NULL ||
        ws->xb == NULL || ws->logits == NULL || ws->ga == NULL ||
        ws->gradient == NULL || ws->moment1 == NULL || ws->moment2 == NULL ||
        ws->order == NULL) {
        dl_lora_workspace_free(ws);
        return dl_error_set(err, "training workspace for %zu x %zu, rank %zu, "
                            "%zu rows: out of memory", d, n, r, rows);
    }
    return 0;
}

/* ---- loss and gradients ---- */

double dl_lora_cross_entropy(double *probs, const double *logits,
                             const double *teacher_probs, size_t rows,
                             size_t cols)
{
    double total = 0.0;
    for (size_t i = 0; i < rows; i++) {
        const double *z = logits + i * cols;
        const double *p = teacher_probs + i * cols;
        double *q = probs + i * cols;

        double lse = dl_lora_log_sum_exp(z, cols);

        /* the row's loss before q overwrites z when probs is logits */
        double row = 0.0;
        for (size_t j = 0; j < cols; j++)
            row += p[j] * (lse - z[j]);
        total += row;

        for (size_t j = 0; j < cols; j++)
            q[j] = exp(z[j] - lse);
    }
    return total / (double)rows;
}

/* Turns probabilities q [rows][cols] into G = (q - P) / rows, in place. */
static void loss_gradient(double *q, const double *teacher_probs, size_t rows,
                          size_t cols)
{
    double count = (double)rows;
    for (size_t i = 0; i < rows * cols; i++)
        q[i] = (q[i] - teacher_probs[i]) / count;
}

static int check_workspace(const dl_lora_workspace *ws, size_t input_dim,
                           size_t output_dim, size_t rank, size_t rows,
                           dl_error *err)
{
    size_t capacity = ws->batch_rows > ws->n_train ? ws->batch_rows : ws->n_train;
    if (ws->input_dim != input_dim || ws->output_dim != output_dim ||
        ws->rank != rank || rows == 0 || rows > capacity)
        return dl_error_set(err, "training workspace is for %zu x %zu, rank %zu, "
                            "up to %zu rows, but the model is %zu x %zu, rank "
                            "%zu, with %zu rows", ws->input_dim, ws->output_dim,
                            ws->rank, capacity, input_dim, output_dim, rank, rows);
    return 0;
}

int dl_lora_adapter_gradients(double *loss, double *grad_b, double *grad_a,
                              const double *x, const double *frozen_logits,
                              const double *teacher_probs, size_t rows,
                              const dl_lora_adapter *adapter,
                              dl_lora_workspace *ws, dl_error *err)
{
    size_t d = (size_t)adapter->input_dim, n = (size_t)adapter->output_dim;
    size_t r = (size_t)adapter->rank;
    double s = adapter->scale;
    if (check_workspace(ws, d, n, r, rows, err) != 0)
        return -1;
    bool want_gradients = grad_b != NULL && grad_a != NULL;
    if (want_gradients && rows > ws->batch_rows)
        return dl_error_set(err, "gradients of %zu rows need a workspace for that "
                            "many batch rows, but it has %zu", rows, ws->batch_rows);

    /* Z = Z0 + s (X B) A, then its softmax and loss */
    if (dl_lora_forward(ws->logits, ws->xb, x, frozen_logits, adapter, rows, err) != 0)
        return -1;
    *loss = dl_lora_cross_entropy(ws->logits, ws->logits, teacher_probs, rows, n);
    if (!want_gradients)
        return 0;

    if (s == 0.0) {
        memset(grad_b, 0, d * r * sizeof *grad_b);
        memset(grad_a, 0, r * n * sizeof *grad_a);
        return 0;
    }
    loss_gradient(ws->logits, teacher_probs, rows, n);
    const double *g = ws->logits;

    /* dL/dA = s (X B)^T G */
    if (dl_linalg_gemm(grad_a, ws->xb, DL_LINALG_TRANSPOSE, g,
                       DL_LINALG_NO_TRANSPOSE, r, n, rows, s, 0.0, err) != 0)
        return -1;

    /* dL/dB = s X^T (G A^T) */
    if (dl_linalg_gemm(ws->ga, g, DL_LINALG_NO_TRANSPOSE, adapter->a,
                       DL_LINALG_TRANSPOSE, rows, r, n, 1.0, 0.0, err) != 0)
        return -1;
    return dl_linalg_gemm(grad_b, x, DL_LINALG_TRANSPOSE, ws->ga,
                          DL_LINALG_NO_TRANSPOSE, d, r, rows, s, 0.0, err);
}

int dl_lora_full_gradient(double *loss, double *grad_delta, const double *x,
                          const double *frozen_logits, const double *teacher_probs,
                          size_t rows, const double *delta,
                          dl_lora_workspace *ws, dl_error *err)
{
    size_t d = ws->input_dim, n = ws->output_dim;
    if (check_workspace(ws, d, n, 0, rows, err) != 0)
        return -1;
    if (grad_delta != NULL && rows > ws->batch_rows)
        return dl_error_set(err, "gradients of %zu rows need a workspace for that "
                            "many batch rows, but it has %zu", rows, ws->batch_rows);

    /* Z = Z0 + X dW */
    memcpy(ws->logits, frozen_logits, rows * n * sizeof *ws->logits);
    if (dl_linalg_gemm(ws->logits, x, DL_LINALG_NO_TRANSPOSE, delta,
                       DL_LINALG_NO_TRANSPOSE, rows, n, d, 1.0, 1.0, err) != 0)
        return -1;
    *loss = dl_lora_cross_entropy(ws->logits, ws->logits, teacher_probs, rows, n);
    if (grad_delta == NULL)
        return 0;

    /* dL/d(dW) = X^T G */
    loss_gradient(ws->logits, teacher_probs, rows, n);
    return dl_linalg_gemm(grad_delta, x, DL_LINALG_TRANSPOSE, ws->logits,
                          DL_LINALG_NO_TRANSPOSE, d, n, rows, 1.0, 0.0, err);
}

/* ---- optimisers ---- */

void dl_lora_adam_update(double *theta, double *moment1, double *moment2,
                         const double *gradient, size_t count,
                         double learning_rate, long long step)
{
    double correction1 = 1.0 - pow(DL_LORA_ADAM_BETA1, (double)step);
    double correction2 = 1.0 - pow(DL_LORA_ADAM_BETA2, (double)step);
    for (size_t i = 0; i < count; i++) {
        double g = gradient[i];
        moment1[i] = DL_LORA_ADAM_BETA1 * moment1[i] + (1.0 - DL_LORA_ADAM_BETA1) * g;
        moment2[i] = DL_LORA_ADAM_BETA2 * moment2[i] + (1.0 - DL_LORA_ADAM_BETA2) * g * g;
        double m_hat = moment1[i] / correction1;
        double v_hat = moment2[i] / correction2;
        theta[i] -= learning_rate * m_hat / (sqrt(v_hat) + DL_LORA_ADAM_EPSILON);
    }
}

void dl_lora_sgd_update(double *theta, const double *gradient, size_t count,
                        double learning_rate)
{
    for (size_t i = 0; i < count; i++)
        theta[i] -= learning_rate * gradient[i];
}

/* ---- the training loop, shared by the adapter and the baseline ---- */

/* What the loop trains: an adapter (B and A) or the baseline's dW. */
typedef struct {
    dl_lora_adapter *adapter; /* NULL for the baseline */
    double *delta;            /* [D][N] for the baseline */
} trained_model;

/* Loss (and gradients into ws->gradient when want_gradients) on rows. */
static int model_loss(double *loss, bool want_gradients, const trained_model *model,
                      const double *x, const double *frozen_logits,
                      const double *teacher_probs, size_t rows,
                      dl_lora_workspace *ws, dl_error *err)
{
    if (model->adapter != NULL) {
        double *grad_b = want_gradients ? ws->gradient : NULL;
        double *grad_a = want_gradients ? ws->gradient + ws->input_dim * ws->rank : NULL;
        return dl_lora_adapter_gradients(loss, grad_b, grad_a, x, frozen_logits,
                                         teacher_probs, rows, model->adapter, ws, err);
    }
    return dl_lora_full_gradient(loss, want_gradients ? ws->gradient : NULL, x,
                                 frozen_logits, teacher_probs, rows, model->delta,
                                 ws, err);
}

static void model_update(const trained_model *model, const dl_lora_train_params *p,
                         dl_lora_workspace *ws, long long step)
{
    /* the parameter blocks and their slices of the gradient and moments */
    double *blocks[2];
    size_t sizes[2];
    size_t count = 0;
    if (model->adapter != NULL) {
        blocks[0] = model->adapter->b;
        sizes[0] = ws->input_dim * ws->rank;
        blocks[1] = model->adapter->a;
        sizes[1] = ws->rank * ws->output_dim;
        count = 2;
    } else {
        blocks[0] = model->delta;
        sizes[0] = ws->input_dim * ws->output_dim;
        count = 1;
    }

    size_t offset = 0;
    for (size_t k = 0; k < count; k++) {
        if (p->optimizer == DL_LORA_OPTIMIZER_ADAM)
            dl_lora_adam_update(blocks[k], ws->moment1 + offset, ws->moment2 + offset,
                                ws->gradient + offset, sizes[k], p->learning_rate, step);
        else
            dl_lora_sgd_update(blocks[k], ws->gradient + offset, sizes[k],
                               p->learning_rate);
        offset += sizes[k];
    }
}

/* Refills order [n] with a uniformly random permutation of 0 .. n-1: the
 * identity shuffled by Fisher-Yates from the last index down, one uniform
 * u per index i >= 1 choosing j = floor(u (i + 1)). */
static void shuffle_rows(size_t *order, size_t n, dl_stream *stream)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)(dl_stream_uniform(stream) * (double)(i + 1));
        if (j > i)
            j = i;
        size_t swapped = order[i];
        order[i] = order[j];
        order[j] = swapped;
    }
}

/* Copies the rows order[first .. first + rows - 1] of the training set. */
static void gather_rows(dl_lora_workspace *ws, const dl_lora_dataset *train,
                        const double *frozen_logits, size_t first, size_t rows)
{
    size_t d = ws->input_dim, n = ws->output_dim;
    for (size_t i = 0; i < rows; i++) {
        size_t source = ws->order[first + i];
        memcpy(ws->batch_x + i * d, train->x + source * d, d * sizeof(double));
        memcpy(ws->batch_frozen + i * n, frozen_logits + source * n, n * sizeof(double));
        memcpy(ws->batch_teacher + i * n, train->teacher_probs + source * n,
               n * sizeof(double));
    }
}

/* A loss this many times (start + 1 nat) means the optimiser diverged:
 * cross-entropy against the teacher starts at the base model's loss and a
 * working run lowers it. Weights can overflow long before the loss does
 * (the softmax keeps it finite), so waiting for a non-finite loss lets a
 * run end with weights of 1e200. */
#define DIVERGENCE_RATIO 1000.0

/* Fails with the divergence message when loss is not finite or far above
 * start, the loss at step 0. */
static int check_divergence(double loss, double start, int step,
                            const dl_lora_train_params *p, dl_error *err)
{
    if (!isfinite(loss))
        return dl_error_set(err, "training diverged at step %d: the loss is not "
                            "finite, so lower learning_rate (now %g) or alpha",
                            step, p->learning_rate);
    if (loss > DIVERGENCE_RATIO * (start + 1.0))
        return dl_error_set(err, "training diverged at step %d: the loss %g is "
                            "more than %g times the starting loss %g plus 1, so "
                            "lower learning_rate (now %g) or alpha", step, loss,
                            DIVERGENCE_RATIO, start, p->learning_rate);
    return 0;
}

/* Asked before every step; set once before any fit starts, then read. */
static int (*stop_check)(void) = NULL;

void dl_lora_train_set_stop_check(int (*stop_requested)(void))
{
    stop_check = stop_requested;
}

static int train_loop(const trained_model *model, dl_lora_curve *curve,
                      const dl_lora_dataset *train, const double *frozen_logits,
                      const dl_lora_train_params *p, dl_stream *batch_stream,
                      dl_lora_workspace *ws, dl_error *err)
{
    size_t n_train = train->rows;
    bool full_batch = p->batch_size == 0 || (size_t)p->batch_size >= n_train;
    size_t position = n_train; /* forces a shuffle before the first batch */
    int next_point = 0;
    double start_loss = INFINITY; /* the whole set's loss at step 0 */

    for (int t = 0; t < p->steps; t++) {
        if (stop_check != NULL && stop_check())
            return dl_error_set(err, "interrupted at step %d of %d", t, p->steps);
        bool record = next_point < curve->length && curve->steps[next_point] == t;

        /* mini-batches record the loss of the whole set separately */
        if (record && !full_batch) {
            double loss;
            if (model_loss(&loss, false, model, train->x, frozen_logits,
                           train->teacher_probs, n_train, ws, err) != 0)
                return -1;
            curve->loss[next_point++] = loss;
        }

        const double *x = train->x;
        const double *frozen = frozen_logits;
        const double *teacher = train->teacher_probs;
        size_t rows = n_train;
        if (!full_batch) {
            if (position >= n_train) {
                shuffle_rows(ws->order, n_train, batch_stream);
                position = 0;
            }
            rows = n_train - position;
            if (rows > (size_t)p->batch_size)
                rows = (size_t)p->batch_size;
            gather_rows(ws, train, frozen_logits, position, rows);
            position += rows;
            x = ws->batch_x;
            frozen = ws->batch_frozen;
            teacher = ws->batch_teacher;
        }

        double loss;
        if (model_loss(&loss, true, model, x, frozen, teacher, rows, ws, err) != 0)
            return -1;
        if (t == 0)
            start_loss = full_batch ? loss : curve->loss[0];
        if (check_divergence(loss, start_loss, t, p, err) != 0)
            return -1;
        if (record && full_batch)
            curve->loss[next_point++] = loss;

        model_update(model, p, ws, (long long)t + 1);
    }

    /* the loss after the last update is the curve's last point */
    double final_loss;
    if (model_loss(&final_loss, false, model, train->x, frozen_logits,
                   train->teacher_probs, n_train, ws, err) != 0)
        return -1;
    if (check_divergence(final_loss, start_loss, p->steps, p, err) != 0)
        return -1;
    curve->loss[curve->length - 1] = final_loss;
    return 0;
}

static int train_model(const trained_model *model, size_t input_dim,
                       size_t output_dim, size_t rank, dl_lora_curve *curve,
                       const dl_lora_dataset *train, const double *frozen_logits,
                       const dl_lora_train_params *p, dl_stream *batch_stream,
                       dl_error *err)
{
    memset(curve, 0, sizeof *curve);
    if (train->rows > 1000000)
        return dl_error_set(err, "training set of %zu rows is too large: at most "
                            "1000000", train->rows);
    if (dl_lora_train_params_check(p, (int)train->rows, err) != 0)
        return -1;
    bool full_batch = p->batch_size == 0 || (size_t)p->batch_size >= train->rows;
    if (!full_batch && batch_stream == NULL)
        return dl_error_set(err, "mini-batches of %d rows need the lora-batch "
                            "stream, but it is missing (NULL)", p->batch_size);

    size_t batch_rows = full_batch ? train->rows : (size_t)p->batch_size;
    dl_lora_workspace ws;
    if (dl_lora_workspace_alloc(&ws, input_dim, output_dim, rank, batch_rows,
                                train->rows, err) != 0)
        return -1;
    if (dl_lora_curve_alloc(curve, p->steps, p->curve_length, err) != 0) {
        dl_lora_workspace_free(&ws);
        return -1;
    }

    int status = train_loop(model, curve, train, frozen_logits, p, batch_stream,
                            &ws, err);
    dl_lora_workspace_free(&ws);
    if (status != 0)
        dl_lora_curve_free(curve);
    return status;
}

int dl_lora_train_adapter(dl_lora_adapter *adapter, dl_lora_curve *curve,
                          const dl_lora_dataset *train,
                          const double *frozen_logits,
                          const dl_lora_train_params *params,
                          dl_stream *batch_stream, dl_error *err)
{
    trained_model model = {adapter, NULL};
    return train_model(&model, (size_t)adapter->input_dim,
                       (size_t)adapter->output_dim, (size_t)adapter->rank, curve,
                       train, frozen_logits, params, batch_stream, err);
}

int dl_lora_train_full(double *delta, size_t input_dim, size_t output_dim,
                       dl_lora_curve *curve, const dl_lora_dataset *train,
                       const double *frozen_logits,
                       const dl_lora_train_params *params,
                       dl_stream *batch_stream, dl_error *err)
{
    trained_model model = {NULL, delta};
    return train_model(&model, input_dim, output_dim, 0, curve, train,
                       frozen_logits, params, batch_stream, err);
}
