/* lora_sweep.c - the [lora] sweep; see lora_sweep.h. */
#include "lora_sweep.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "lora_fit.h"
#include "lora_task.h"

/* The outcome of one run, kept until every run has finished so that the
 * first failure in plan order is the one reported. */
typedef struct {
    int status;
    dl_error error;
} run_status;

size_t dl_lora_sweep_run_count(const dl_config *cfg)
{
    return cfg->lora_rank.count * cfg->lora_alpha.count * cfg->n_seeds;
}

void dl_lora_sweep_result_free(dl_lora_sweep_result *result)
{
    free(result->curve_steps);
    free(result->eval_kl);
    free(result->forgetting);
    free(result->final_loss);
    free(result->relative_error);
    free(result->eckart_young_error);
    free(result->parameter_count);
    free(result->parameter_ratio);
    free(result->loss_curve);
    free(result->full_rank_eval_kl);
    free(result->full_rank_forgetting);
    memset(result, 0, sizeof *result);
}

static int result_alloc(dl_lora_sweep_result *result, const dl_config *cfg,
                        dl_error *err)
{
    memset(result, 0, sizeof *result);
    result->n_ranks = cfg->lora_rank.count;
    result->n_alphas = cfg->lora_alpha.count;
    result->n_seeds = cfg->n_seeds;

    /* the curve has min(curve_length, steps + 1) points, as
     * dl_lora_curve_alloc makes it */
    int steps = cfg->lora_train.steps;
    int length = cfg->lora_train.curve_length;
    result->curve_length = (size_t)(length < steps + 1 ? length : steps + 1);

    size_t runs = dl_lora_sweep_run_count(cfg);
    size_t seeds = result->n_seeds;
    result->curve_steps = calloc(result->curve_length, sizeof(int));
    result->eval_kl = calloc(runs, sizeof(double));
    result->forgetting = calloc(runs, sizeof(double));
    result->final_loss = calloc(runs, sizeof(double));
    result->relative_error = calloc(runs, sizeof(double));
    result->eckart_young_error = calloc(runs, sizeof(double));
    result->parameter_count = calloc(runs, sizeof(long long));
    result->parameter_ratio = calloc(runs, sizeof(double));
    result->loss_curve = calloc(runs * result->curve_length, sizeof(double));
    result->full_rank_eval_kl = calloc(seeds, sizeof(double));
    result->full_rank_forgetting = calloc(seeds, sizeof(double));
    if (result->curve_steps == NULL || result->eval_kl == NULL
        || result->forgetting == NULL || result->final_loss == NULL
        || result->relative_error == NULL || result->eckart_young_error == NULL
        || result->parameter_count == NULL || result->parameter_ratio == NULL
        || result->loss_curve == NULL || result->full_rank_eval_kl == NULL
        || result->full_rank_forgetting == NULL) {
        dl_lora_sweep_result_free(result);
        return dl_error_set(err, "out of memory for the results of %zu LoRA "
                            "runs", runs);
    }
    return 0;
}

/* Fits the adapter of run (plan index) and stores its metrics. */
static void fit_one(const dl_config *cfg, const dl_lora_task *tasks, size_t run,
                    dl_lora_sweep_result *result, run_status *status)
{
    size_t seeds = result->n_seeds;
    size_t seed_index = run % seeds;
    size_t alpha_index = run / seeds % result->n_alphas;
    size_t rank_index = run / seeds / result->n_alphas;

    dl_lora_adapter_params adapter = cfg->lora_adapter;
    adapter.rank = (int)cfg->lora_rank.values[rank_index];
    adapter.alpha = cfg->lora_alpha.values[alpha_index];

    dl_lora_fit_result fit;
    status->status = dl_lora_fit_adapter(&fit, &tasks[seed_index], &adapter,
                                         &cfg->lora_train, &status->error);
    if (status->status != 0)
        return;

    const dl_lora_metrics *m = &fit.metrics;
    result->eval_kl[run] = m->eval_kl;
    result->forgetting[run] = m->forgetting;
    result->final_loss[run] = m->final_train_loss;
    result->relative_error[run] = m->relative_error;
    result->eckart_young_error[run] = m->eckart_young_error;
    result->parameter_count[run] = m->parameter_count;
    result->parameter_ratio[run] = m->parameter_ratio;
    size_t points = result->curve_length;
    for (size_t j = 0; j < points; j++)
        result->loss_curve[run * points + j] =
            j < (size_t)m->curve.length ? m->curve.loss[j] : 0.0;
    dl_lora_fit_result_free(&fit);
}

/* Fits the full-rank baseline of one seed. */
static void fit_full(const dl_config *cfg, const dl_lora_task *task,
                     size_t seed_index, dl_lora_sweep_result *result,
                     run_status *status)
{
    dl_lora_full_result full;
    status->status = dl_lora_fit_full(&full, task, &cfg->lora_train,
                                      &status->error);
    if (status->status != 0)
        return;
    result->full_rank_eval_kl[seed_index] = full.metrics.eval_kl;
    result->full_rank_forgetting[seed_index] = full.metrics.forgetting;
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

int dl_lora_sweep_run(const dl_config *cfg, int threads,
                      dl_lora_sweep_result *result, dl_error *err)
{
    if (result_alloc(result, cfg, err) != 0)
        return -1;
    if (fill_curve_steps(cfg, result, err) != 0) {
        dl_lora_sweep_result_free(result);
        return -1;
    }

    size_t seeds = result->n_seeds;
    size_t runs = dl_lora_sweep_run_count(cfg);
    dl_lora_task *tasks = calloc(seeds, sizeof *tasks);
    run_status *statuses = calloc(runs + seeds, sizeof *statuses);
    if (tasks == NULL || statuses == NULL) {
        free(tasks);
        free(statuses);
        dl_lora_sweep_result_free(result);
        return dl_error_set(err, "out of memory for %zu LoRA runs", runs);
    }
    if (threads <= 0)
        threads = omp_get_max_threads();

    /* the tasks, one per seed */
    int status = 0;
    for (size_t s = 0; s < seeds && status == 0; s++) {
        dl_error task_error;
        if (dl_lora_task_make(&tasks[s], &cfg->lora_task, cfg->master_seed,
                              cfg->seeds[s], &task_error) != 0)
            status = dl_error_set(err, "LoRA task of seed %lld: %s",
                                  (long long)cfg->seeds[s],
                                  task_error.message);
    }

    /* every adapter run, then the baselines; each writes only its own
     * slots of result, so the order in which threads finish is irrelevant */
    if (status == 0) {
        #pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t i = 0; i < runs + seeds; i++) {
            if (i < runs)
                fit_one(cfg, tasks, i, result, &statuses[i]);
            else
                fit_full(cfg, &tasks[i - runs], i - runs, result,
                         &statuses[i]);
        }
    }

    for (size_t i = 0; i < runs + seeds && status == 0; i++) {
        if (statuses[i].status == 0)
            continue;
        if (i < runs) {
            size_t seed_index = i % seeds;
            size_t alpha_index = i / seeds % result->n_alphas;
            size_t rank_index = i / seeds / result->n_alphas;
            status = dl_error_set(err, "LoRA run rank=%g alpha=%g seed=%lld: %s",
                                  cfg->lora_rank.values[rank_index],
                                  cfg->lora_alpha.values[alpha_index],
                                  (long long)cfg->seeds[seed_index],
                                  statuses[i].error.message);
        } else {
            status = dl_error_set(err, "LoRA full-rank baseline of seed %lld: %s",
                                  (long long)cfg->seeds[i - runs],
                                  statuses[i].error.message);
        }
    }

    for (size_t s = 0; s < seeds; s++)
        dl_lora_task_free(&tasks[s]);
    free(tasks);
    free(statuses);
    if (status != 0)
        dl_lora_sweep_result_free(result);
    return status;
}
