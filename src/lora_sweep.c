/* lora_sweep.c - the [lora] sweep; see lora_sweep.h. */
#include "lora_sweep.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lora/lora_fit.h"
#include "lora/lora_metrics.h"
#include "lora/lora_task.h"
#include "lora/lora_train.h"

/* The outcome of one run, kept until every run has finished so that the
 * first failure in plan order is the one reported. */
typedef struct {
    int status;
    dl_error error;
} run_status;

/* Where a run sits in the sweep. */
typedef struct {
    size_t rank, alpha, scaling, seed;
    size_t point;   /* [alpha][scaling][seed] */
    size_t adapter; /* [rank][alpha][scaling] */
} run_index;

/* What the sweep shares with every run: the config, the tasks and the A
 * factors kept for phi. */
typedef struct {
    const dl_config *cfg;
    const dl_lora_task *tasks;
    size_t smallest_rank_index; /* index into the rank axis */
    size_t largest_rank_index;
    double **a_smallest;        /* [point] A at the smallest rank */
    double **a_largest;         /* [point] A at the largest rank */
} sweep_shared;

size_t dl_lora_sweep_run_count(const dl_config *cfg)
{
    return cfg->lora_rank.count * cfg->lora_alpha.count
           * cfg->lora_scaling.count * cfg->n_lora_seeds;
}

void dl_lora_sweep_estimate_plan(const dl_config *cfg, int threads,
                                 dl_lora_sweep_estimate *estimate)
{
    double d = cfg->lora_task.input_dim, n = cfg->lora_task.output_dim;
    double k = d < n ? d : n;
    double task_rank = cfg->lora_task.task_rank;
    double rows = (double)cfg->lora_task.n_train + cfg->lora_task.n_eval
                  + cfg->lora_task.n_old + 1;
    double batch = cfg->lora_train.batch_size > 0 ? cfg->lora_train.batch_size
                                                  : cfg->lora_task.n_train;
    double seeds = (double)cfg->n_lora_seeds;
    double points = (double)cfg->lora_alpha.count * cfg->lora_scaling.count * seeds;
    double runs = (double)dl_lora_sweep_run_count(cfg);
    int steps = cfg->lora_train.steps, length = cfg->lora_train.curve_length;
    double curve = length < steps + 1 ? length : steps + 1;

    double rank_sum = 0, rank_min = INFINITY, rank_max = 0;
    for (size_t i = 0; i < cfg->lora_rank.count; i++) {
        double r = cfg->lora_rank.values[i];
        rank_sum += r;
        rank_min = r < rank_min ? r : rank_min;
        rank_max = r > rank_max ? r : rank_max;
    }
    double adapters = rank_sum * (d + n) * (double)cfg->lora_alpha.count
                      * (double)cfg->lora_scaling.count
                      * (cfg->lora_adapter.init == DL_LORA_INIT_SVD ? 2 : 1);

    /* doubles stored: per run, per seed, phi, base W and adapters */
    double stored = runs * (10 + curve + k + n)
                    + seeds * (4 + curve + 2 * k + 3 * n)
                    + points * rank_min * rank_max + d * n + adapters;
    /* a task: W, dW*, W*, U, V and its data sets with their logits */
    double task = 3 * d * n + task_rank * (d + n) + rows * (d + 3 * n);
    /* one fit: frozen base, update, SVD scratch (dgesdd's thin factors,
     * min(D, N) columns each), optimiser state, logits */
    double fit = 10 * d * n + 2 * k * (d + n) + 4 * rank_max * (d + n)
                 + rows * (rank_max + 2 * n) + batch * (d + 2 * n);
    double kept = points * (rank_min + rank_max) * n;

    double fits = runs + seeds;
    double used = threads > 0 ? threads : omp_get_max_threads();
    if (used > fits)
        used = fits;
    estimate->memory = 8 * (stored + seeds * task + kept + used * fit);
    estimate->output = 8 * stored;
}

int dl_lora_sweep_check_limits(const dl_config *cfg, int threads,
                               double drift_memory, double drift_output,
                               dl_error *err)
{
    dl_lora_sweep_estimate estimate;
    dl_lora_sweep_estimate_plan(cfg, threads, &estimate);
    double mb = 1024.0 * 1024.0;
    double memory = (drift_memory + estimate.memory) / mb;
    double output = (drift_output + estimate.output) / mb;
    if (memory > cfg->max_memory_mb)
        return dl_error_set(err, "%s: the plan needs an estimated %.3g MB of "
                            "memory (%.3g MB for [lora]), above max_memory_mb "
                            "= %g; raise max_memory_mb in [experiment] or "
                            "shrink the sweep", cfg->path, memory,
                            estimate.memory / mb, cfg->max_memory_mb);
    if (output > cfg->max_output_mb)
        return dl_error_set(err, "%s: the plan writes an estimated %.3g MB of "
                            "results (%.3g MB for [lora]), above max_output_mb "
                            "= %g; raise max_output_mb in [experiment] or "
                            "shrink the sweep", cfg->path, output,
                            estimate.output / mb, cfg->max_output_mb);
    return 0;
}

static run_index run_locate(const dl_lora_sweep_result *result, size_t run)
{
    run_index at;
    at.seed = run % result->n_seeds;
    at.scaling = run / result->n_seeds % result->n_scalings;
    at.alpha = run / result->n_seeds / result->n_scalings % result->n_alphas;
    at.rank = run / result->n_seeds / result->n_scalings / result->n_alphas;
    at.point = run % (result->n_alphas * result->n_scalings * result->n_seeds);
    at.adapter = run / result->n_seeds;
    return at;
}

static size_t adapter_count(const dl_lora_sweep_result *result)
{
    return result->n_ranks * result->n_alphas * result->n_scalings;
}

void dl_lora_sweep_result_free(dl_lora_sweep_result *result)
{
    if (result->adapters != NULL)
        for (size_t i = 0; i < adapter_count(result); i++)
            dl_lora_adapter_free(&result->adapters[i]);
    if (result->initial_svd != NULL)
        for (size_t i = 0; i < adapter_count(result); i++)
            dl_lora_adapter_free(&result->initial_svd[i]);
    void *arrays[] = {
        result->curve_steps, result->eval_kl, result->forgetting,
        result->final_loss, result->relative_error, result->eckart_young_error,
        result->parameter_count, result->parameter_ratio, result->effective_rank,
        result->amplification, result->scale, result->loss_curve,
        result->singular_values, result->probe_adapted,
        result->task_singular_values, result->train_teacher_entropy,
        result->probe_base, result->probe_teacher,
        result->full_rank_eval_kl, result->full_rank_forgetting,
        result->full_rank_final_loss, result->full_rank_relative_error,
        result->full_rank_loss_curve, result->full_rank_singular_values,
        result->full_rank_probe, result->phi, result->base, result->adapters,
        result->initial_svd,
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    memset(result, 0, sizeof *result);
}

/* Index of the smallest (or largest) value of a rank axis; the first one
 * when a value repeats. */
static size_t extreme_rank_index(const dl_value_list *ranks, int largest)
{
    size_t best = 0;
    for (size_t i = 1; i < ranks->count; i++)
        if (largest ? ranks->values[i] > ranks->values[best]
                    : ranks->values[i] < ranks->values[best])
            best = i;
    return best;
}

static int result_alloc(dl_lora_sweep_result *result, const dl_config *cfg,
                        dl_error *err)
{
    memset(result, 0, sizeof *result);
    result->n_ranks = cfg->lora_rank.count;
    result->n_alphas = cfg->lora_alpha.count;
    result->n_scalings = cfg->lora_scaling.count;
    result->n_seeds = cfg->n_lora_seeds;
    result->input_dim = (size_t)cfg->lora_task.input_dim;
    result->output_dim = (size_t)cfg->lora_task.output_dim;
    result->singular_count = result->input_dim < result->output_dim
                                 ? result->input_dim : result->output_dim;
    result->phi_rows = (size_t)cfg->lora_rank.values[extreme_rank_index(
        &cfg->lora_rank, 0)];
    result->phi_cols = (size_t)cfg->lora_rank.values[extreme_rank_index(
        &cfg->lora_rank, 1)];

    /* the curve has min(curve_length, steps + 1) points, as
     * dl_lora_curve_alloc makes it */
    int steps = cfg->lora_train.steps;
    int length = cfg->lora_train.curve_length;
    result->curve_length = (size_t)(length < steps + 1 ? length : steps + 1);

    size_t runs = dl_lora_sweep_run_count(cfg);
    size_t seeds = result->n_seeds;
    size_t points = result->n_alphas * result->n_scalings * seeds;
    size_t k = result->singular_count;
    size_t n = result->output_dim;
    size_t curve = result->curve_length;
    struct {
        void **array;
        size_t count;
        size_t size;
    } plan[] = {
        {(void **)&result->curve_steps, curve, sizeof(int)},
        {(void **)&result->eval_kl, runs, sizeof(double)},
        {(void **)&result->forgetting, runs, sizeof(double)},
        {(void **)&result->final_loss, runs, sizeof(double)},
        {(void **)&result->relative_error, runs, sizeof(double)},
        {(void **)&result->eckart_young_error, runs, sizeof(double)},
        {(void **)&result->parameter_count, runs, sizeof(long long)},
        {(void **)&result->parameter_ratio, runs, sizeof(double)},
        {(void **)&result->effective_rank, runs, sizeof(double)},
        {(void **)&result->amplification, runs, sizeof(double)},
        {(void **)&result->scale, runs, sizeof(double)},
        {(void **)&result->loss_curve, runs * curve, sizeof(double)},
        {(void **)&result->singular_values, runs * k, sizeof(double)},
        {(void **)&result->probe_adapted, runs * n, sizeof(double)},
        {(void **)&result->task_singular_values, seeds * k, sizeof(double)},
        {(void **)&result->train_teacher_entropy, seeds, sizeof(double)},
        {(void **)&result->probe_base, seeds * n, sizeof(double)},
        {(void **)&result->probe_teacher, seeds * n, sizeof(double)},
        {(void **)&result->full_rank_eval_kl, seeds, sizeof(double)},
        {(void **)&result->full_rank_forgetting, seeds, sizeof(double)},
        {(void **)&result->full_rank_final_loss, seeds, sizeof(double)},
        {(void **)&result->full_rank_relative_error, seeds, sizeof(double)},
        {(void **)&result->full_rank_loss_curve, seeds * curve, sizeof(double)},
        {(void **)&result->full_rank_singular_values, seeds * k, sizeof(double)},
        {(void **)&result->full_rank_probe, seeds * n, sizeof(double)},
        {(void **)&result->phi, points * result->phi_rows * result->phi_cols,
         sizeof(double)},
        {(void **)&result->base, result->input_dim * n, sizeof(double)},
        {(void **)&result->adapters, adapter_count(result),
         sizeof(dl_lora_adapter)},
        {(void **)&result->initial_svd,
         cfg->lora_adapter.init == DL_LORA_INIT_SVD ? adapter_count(result) : 0,
         sizeof(dl_lora_adapter)},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        if (plan[i].count == 0)
            continue;
        *plan[i].array = calloc(plan[i].count, plan[i].size);
        if (*plan[i].array == NULL) {
            dl_lora_sweep_result_free(result);
            return dl_error_set(err, "out of memory for the results of %zu "
                                "LoRA runs", runs);
        }
    }
    return 0;
}

/* Copies the metrics every fit has into the slots of a run (or a seed). */
static void copy_curve(double *to, size_t points, const dl_lora_curve *curve)
{
    for (size_t j = 0; j < points; j++)
        to[j] = j < (size_t)curve->length ? curve->loss[j] : 0.0;
}

/* Keeps a copy of A [rank][N] for phi. */
static int keep_factor(double **slot, const dl_lora_adapter *adapter,
                       dl_error *err)
{
    size_t count = (size_t)adapter->rank * (size_t)adapter->output_dim;
    *slot = malloc(count * sizeof **slot);
    if (*slot == NULL)
        return dl_error_set(err, "out of memory for the A factor kept for phi");
    memcpy(*slot, adapter->a, count * sizeof **slot);
    return 0;
}

/* The svd start of an adapter, drawn again for storing: it draws nothing
 * from a stream, so it equals the start the fit used. */
static int initial_svd(dl_lora_adapter *initial, const dl_lora_task *task,
                       const dl_lora_adapter_params *params, dl_error *err)
{
    size_t count = (size_t)task->params.input_dim * (size_t)task->params.output_dim;
    double *frozen = malloc(count * sizeof *frozen);
    if (frozen == NULL)
        return dl_error_set(err, "out of memory for the svd start");
    int status = dl_lora_adapter_init(initial, frozen, task->base,
                                      task->params.input_dim,
                                      task->params.output_dim, params, NULL, err);
    free(frozen);
    return status;
}

/* Fits the adapter of run (plan index) and stores its metrics. */
static void fit_one(const sweep_shared *shared, size_t run,
                    dl_lora_sweep_result *result, run_status *status)
{
    const dl_config *cfg = shared->cfg;
    run_index at = run_locate(result, run);
    const dl_lora_task *task = &shared->tasks[at.seed];

    dl_lora_adapter_params adapter = cfg->lora_adapter;
    adapter.rank = (int)cfg->lora_rank.values[at.rank];
    adapter.alpha = cfg->lora_alpha.values[at.alpha];
    adapter.scaling = (dl_lora_scaling)cfg->lora_scaling.values[at.scaling];

    dl_lora_fit_result fit;
    status->status = dl_lora_fit_adapter(&fit, task, &adapter, &cfg->lora_train,
                                         &status->error);
    if (status->status != 0)
        return;

    const dl_lora_metrics *m = &fit.metrics;
    size_t k = result->singular_count;
    size_t n = result->output_dim;
    result->eval_kl[run] = m->eval_kl;
    result->forgetting[run] = m->forgetting;
    result->final_loss[run] = m->final_train_loss;
    result->relative_error[run] = m->relative_error;
    result->eckart_young_error[run] = m->eckart_young_error;
    result->parameter_count[run] = m->parameter_count;
    result->parameter_ratio[run] = m->parameter_ratio;
    result->effective_rank[run] = m->effective_rank;
    result->amplification[run] = m->amplification;
    result->scale[run] = fit.adapter.scale;
    copy_curve(&result->loss_curve[run * result->curve_length],
               result->curve_length, &m->curve);
    memcpy(&result->singular_values[run * k], m->singular_values,
           k * sizeof(double));
    memcpy(&result->probe_adapted[run * n], m->probe_adapted, n * sizeof(double));

    if (at.rank == shared->smallest_rank_index)
        status->status = keep_factor(&shared->a_smallest[at.point], &fit.adapter,
                                     &status->error);
    if (status->status == 0 && at.rank == shared->largest_rank_index)
        status->status = keep_factor(&shared->a_largest[at.point], &fit.adapter,
                                     &status->error);
    if (status->status == 0 && at.seed == 0) {
        /* the adapter moves into the result, which frees it */
        result->adapters[at.adapter] = fit.adapter;
        memset(&fit.adapter, 0, sizeof fit.adapter);
        if (result->initial_svd != NULL)
            status->status = initial_svd(&result->initial_svd[at.adapter], task,
                                         &adapter, &status->error);
    }
    dl_lora_fit_result_free(&fit);
}

/* Fits the full-rank baseline of one seed and measures its task. */
static void fit_full(const sweep_shared *shared, size_t seed,
                     dl_lora_sweep_result *result, run_status *status)
{
    const dl_lora_task *task = &shared->tasks[seed];
    size_t d = result->input_dim;
    size_t n = result->output_dim;
    size_t k = result->singular_count;

    status->status = dl_lora_singular_values(&result->task_singular_values[seed * k],
                                             task->delta, d, n, &status->error);
    if (status->status != 0)
        return;
    /* the teacher's entropy is its own training loss: the least loss,
     * so a fit's loss minus it is its KL to the teacher */
    const dl_lora_dataset *train = &task->train;
    double *probs = malloc(train->rows * n * sizeof *probs);
    if (probs == NULL) {
        status->status = dl_error_set(&status->error, "out of memory for the "
                                      "teacher's entropy");
        return;
    }
    result->train_teacher_entropy[seed] = dl_lora_cross_entropy(
        probs, train->teacher_logits, train->teacher_probs, train->rows, n);
    free(probs);

    dl_lora_full_result full;
    status->status = dl_lora_fit_full(&full, task, &shared->cfg->lora_train,
                                      &status->error);
    if (status->status != 0)
        return;
    const dl_lora_metrics *m = &full.metrics;
    result->full_rank_eval_kl[seed] = m->eval_kl;
    result->full_rank_forgetting[seed] = m->forgetting;
    result->full_rank_final_loss[seed] = m->final_train_loss;
    result->full_rank_relative_error[seed] = m->relative_error;
    copy_curve(&result->full_rank_loss_curve[seed * result->curve_length],
               result->curve_length, &m->curve);
    memcpy(&result->full_rank_singular_values[seed * k], m->singular_values,
           k * sizeof(double));
    memcpy(&result->probe_base[seed * n], m->probe_base, n * sizeof(double));
    memcpy(&result->probe_teacher[seed * n], m->probe_teacher, n * sizeof(double));
    memcpy(&result->full_rank_probe[seed * n], m->probe_adapted, n * sizeof(double));
    if (seed == 0)
        memcpy(result->base, task->base, d * n * sizeof(double));
    dl_lora_full_result_free(&full);
}

static int fill_curve_steps(const dl_config *cfg, dl_lora_sweep_result *result,
                            dl_error *err)
{
    dl_lora_curve curve;
    if (dl_lora_curve_alloc(&curve, cfg->lora_train.steps,
                            cfg->lora_train.curve_length, err) != 0)
        return -1;
    for (size_t j = 0; j < result->curve_length && j < (size_t)curve.length; j++)
        result->curve_steps[j] = curve.steps[j];
    dl_lora_curve_free(&curve);
    return 0;
}

/* Names the run (or baseline) i in an error message. */
static int report_failure(const dl_config *cfg, const dl_lora_sweep_result *result,
                          size_t i, size_t runs, const run_status *failed,
                          dl_error *err)
{
    if (i >= runs)
        return dl_error_set(err, "LoRA full-rank baseline of seed %lld: %s",
                            (long long)cfg->lora_seeds[i - runs],
                            failed->error.message);
    run_index at = run_locate(result, i);
    return dl_error_set(err, "LoRA run rank=%g alpha=%g scaling=%s seed=%lld: %s",
                        cfg->lora_rank.values[at.rank],
                        cfg->lora_alpha.values[at.alpha],
                        dl_lora_scaling_name(
                            (dl_lora_scaling)cfg->lora_scaling.values[at.scaling]),
                        (long long)cfg->lora_seeds[at.seed], failed->error.message);
}

int dl_lora_sweep_run(const dl_config *cfg, int threads,
                      int (*stop_requested)(void),
                      dl_lora_sweep_result *result, dl_error *err)
{
    dl_lora_train_set_stop_check(stop_requested);
    if (result_alloc(result, cfg, err) != 0)
        return -1;
    if (fill_curve_steps(cfg, result, err) != 0) {
        dl_lora_sweep_result_free(result);
        return -1;
    }

    size_t seeds = result->n_seeds;
    size_t runs = dl_lora_sweep_run_count(cfg);
    size_t points = result->n_alphas * result->n_scalings * seeds;
    dl_lora_task *tasks = calloc(seeds, sizeof *tasks);
    run_status *statuses = calloc(runs + seeds + points, sizeof *statuses);
    double **kept = calloc(2 * points, sizeof *kept);
    if (tasks == NULL || statuses == NULL || kept == NULL) {
        free(tasks);
        free(statuses);
        free(kept);
        dl_lora_sweep_result_free(result);
        return dl_error_set(err, "out of memory for %zu LoRA runs", runs);
    }
    if (threads <= 0)
        threads = omp_get_max_threads();
    sweep_shared shared = {
        .cfg = cfg,
        .tasks = tasks,
        .smallest_rank_index = extreme_rank_index(&cfg->lora_rank, 0),
        .largest_rank_index = extreme_rank_index(&cfg->lora_rank, 1),
        .a_smallest = kept,
        .a_largest = kept + points,
    };

    /* the tasks, one per seed */
    int status = 0;
    for (size_t s = 0; s < seeds && status == 0; s++) {
        dl_error task_error;
        if (dl_lora_task_make(&tasks[s], &cfg->lora_task, cfg->master_seed,
                              cfg->lora_seeds[s], &task_error) != 0)
            status = dl_error_set(err, "LoRA task of seed %lld: %s",
                                  (long long)cfg->lora_seeds[s],
                                  task_error.message);
    }

    /* every adapter run, then the baselines; each writes only its own
     * slots of result, so the order in which threads finish is irrelevant */
    if (status == 0) {
        #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t i = 0; i < runs + seeds; i++) {
            if (stop_requested != NULL && stop_requested())
                statuses[i].status = -1;
            else if (i < runs)
                fit_one(&shared, i, result, &statuses[i]);
            else
                fit_full(&shared, i - runs, result, &statuses[i]);
        }
    }
    if (status == 0 && stop_requested != NULL && stop_requested())
        status = dl_error_set(err, "interrupted before every LoRA fit "
                              "finished; LoRA fits are not kept, so a "
                              "resumed run fits them again");
    for (size_t i = 0; i < runs + seeds && status == 0; i++)
        if (statuses[i].status != 0)
            status = report_failure(cfg, result, i, runs, &statuses[i], err);

    /* phi between the A factors at the smallest and largest rank of each
     * (alpha, scaling, seed) */
    if (status == 0) {
        size_t cells = result->phi_rows * result->phi_cols;
        run_status *phi_status = statuses + runs + seeds;
        #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t p = 0; p < points; p++)
            phi_status[p].status = dl_lora_subspace_similarity(
                &result->phi[p * cells], shared.a_smallest[p], result->phi_rows,
                shared.a_largest[p], result->phi_cols, result->output_dim,
                &phi_status[p].error);
        for (size_t p = 0; p < points && status == 0; p++)
            if (phi_status[p].status != 0)
                status = dl_error_set(err, "LoRA subspace similarity: %s",
                                      phi_status[p].error.message);
    }

    for (size_t s = 0; s < seeds; s++)
        dl_lora_task_free(&tasks[s]);
    for (size_t p = 0; p < 2 * points; p++)
        free(kept[p]);
    free(kept);
    free(tasks);
    free(statuses);
    if (status != 0)
        dl_lora_sweep_result_free(result);
    return status;
}
