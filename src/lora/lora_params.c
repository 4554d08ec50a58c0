/* lora_params.c - defaults, names and checks of the LoRA parameters; see
 * lora_params.h. */
#include "lora_params.h"

#include <math.h>

/* Largest D, N, task rank and row count accepted. The limit keeps every
 * size inside the int of BLAS and every product such as D * N inside
 * size_t. NOTE: it does not bound memory (D = N = 1000000 would need 8 TB
 * for W alone), so callers must estimate memory before making a task. */
#define DL_LORA_MAX_DIMENSION 1000000

dl_lora_task_params dl_lora_task_params_default(void)
{
    dl_lora_task_params p = {
        .input_dim = 64, .output_dim = 32, .task_rank = 4,
        .task_scale = 3.0, .task_decay = 0.7, .task_noise = 0.0,
        .n_train = 256, .n_eval = 256, .n_old = 128,
    };
    return p;
}

dl_lora_adapter_params dl_lora_adapter_params_default(void)
{
    dl_lora_adapter_params p = {
        .rank = 4, .alpha = 8.0, .scaling = DL_LORA_SCALING_STANDARD,
        .init = DL_LORA_INIT_KAIMING,
    };
    return p;
}

dl_lora_train_params dl_lora_train_params_default(void)
{
    dl_lora_train_params p = {
        .optimizer = DL_LORA_OPTIMIZER_ADAM, .learning_rate = 0.01,
        .batch_size = 0, .steps = 400, .curve_length = 100,
    };
    return p;
}

const char *dl_lora_scaling_name(dl_lora_scaling scaling)
{
    switch (scaling) {
    case DL_LORA_SCALING_STANDARD: return "standard";
    case DL_LORA_SCALING_RSLORA: return "rslora";
    case DL_LORA_SCALING_NONE: return "none";
    }
    return "unknown";
}

const char *dl_lora_init_name(dl_lora_init init)
{
    switch (init) {
    case DL_LORA_INIT_KAIMING: return "kaiming";
    case DL_LORA_INIT_GAUSSIAN: return "gaussian";
    case DL_LORA_INIT_SVD: return "svd";
    }
    return "unknown";
}

const char *dl_lora_optimizer_name(dl_lora_optimizer optimizer)
{
    switch (optimizer) {
    case DL_LORA_OPTIMIZER_ADAM: return "adam";
    case DL_LORA_OPTIMIZER_SGD: return "sgd";
    }
    return "unknown";
}

static int check_count(const char *name, int value, int minimum, dl_error *err)
{
    if (value < minimum || value > DL_LORA_MAX_DIMENSION)
        return dl_error_set(err, "%s: %d is invalid: must be between %d and %d",
                            name, value, minimum, DL_LORA_MAX_DIMENSION);
    return 0;
}

int dl_lora_task_params_check(const dl_lora_task_params *p, dl_error *err)
{
    if (check_count("D", p->input_dim, 1, err) != 0 ||
        check_count("N", p->output_dim, 1, err) != 0)
        return -1;

    int smaller = p->input_dim < p->output_dim ? p->input_dim : p->output_dim;
    if (p->task_rank < 1 || p->task_rank > smaller)
        return dl_error_set(err, "task_rank: %d is invalid: must be between 1 and "
                            "min(D, N) = %d, because the teacher's update is "
                            "D x N = %d x %d", p->task_rank, smaller,
                            p->input_dim, p->output_dim);

    if (!isfinite(p->task_scale) || p->task_scale < 0.0)
        return dl_error_set(err, "task_scale: %g is invalid: must be a finite "
                            "number >= 0", p->task_scale);
    if (!isfinite(p->task_decay) || p->task_decay <= 0.0 || p->task_decay > 1.0)
        return dl_error_set(err, "task_decay: %g is invalid: must be in (0, 1], "
                            "so that the singular values do not grow",
                            p->task_decay);
    if (!isfinite(p->task_noise) || p->task_noise < 0.0)
        return dl_error_set(err, "task_noise: %g is invalid: must be a finite "
                            "number >= 0", p->task_noise);

    if (check_count("n_train", p->n_train, 1, err) != 0 ||
        check_count("n_eval", p->n_eval, 1, err) != 0 ||
        check_count("n_old", p->n_old, 1, err) != 0)
        return -1;
    return 0;
}

int dl_lora_rank_check(int rank, int input_dim, int output_dim, dl_error *err)
{
    int smaller = input_dim < output_dim ? input_dim : output_dim;
    if (rank < 1)
        return dl_error_set(err, "rank: %d is invalid: must be at least 1, "
                            "because B is D x r and A is r x N (set alpha = 0 "
                            "to reproduce the base model)", rank);
    if (rank > smaller)
        return dl_error_set(err, "rank: %d is invalid: must be at most min(D, N) "
                            "= %d, because B A is %d x %d and cannot have a "
                            "higher rank", rank, smaller, input_dim, output_dim);
    return 0;
}

int dl_lora_adapter_params_check(const dl_lora_adapter_params *p,
                                 int input_dim, int output_dim, dl_error *err)
{
    if (dl_lora_rank_check(p->rank, input_dim, output_dim, err) != 0)
        return -1;
    if (!(p->alpha >= 0.0 && p->alpha <= DL_LORA_ALPHA_MAX))
        return dl_error_set(err, "alpha: %g is invalid: must be from 0 to %g",
                            p->alpha, DL_LORA_ALPHA_MAX);
    if (p->scaling != DL_LORA_SCALING_STANDARD &&
        p->scaling != DL_LORA_SCALING_RSLORA && p->scaling != DL_LORA_SCALING_NONE)
        return dl_error_set(err, "scaling: %d is invalid: must be standard, "
                            "rslora or none", (int)p->scaling);
    if (p->init != DL_LORA_INIT_KAIMING && p->init != DL_LORA_INIT_GAUSSIAN &&
        p->init != DL_LORA_INIT_SVD)
        return dl_error_set(err, "init: %d is invalid: must be kaiming, gaussian "
                            "or svd", (int)p->init);
    if (p->init == DL_LORA_INIT_SVD && p->alpha == 0.0)
        return dl_error_set(err, "alpha: 0 is invalid with init = svd: the SVD "
                            "start divides the singular values by the scale, "
                            "so alpha must be > 0");
    return 0;
}

int dl_lora_train_params_check(const dl_lora_train_params *p, int n_train,
                               dl_error *err)
{
    if (p->optimizer != DL_LORA_OPTIMIZER_ADAM && p->optimizer != DL_LORA_OPTIMIZER_SGD)
        return dl_error_set(err, "optimizer: %d is invalid: must be adam or sgd",
                            (int)p->optimizer);
    if (!isfinite(p->learning_rate) || p->learning_rate <= 0.0)
        return dl_error_set(err, "learning_rate: %g is invalid: must be a finite "
                            "number > 0", p->learning_rate);
    if (p->batch_size < 0 || p->batch_size > n_train)
        return dl_error_set(err, "batch_size: %d is invalid: must be between 0 "
                            "(full batch) and n_train = %d", p->batch_size, n_train);
    if (p->steps < 1 || p->steps > 100000000)
        return dl_error_set(err, "steps: %d is invalid: must be between 1 and "
                            "100000000", p->steps);
    if (p->curve_length < 2)
        return dl_error_set(err, "curve_length: %d is invalid: must be at least "
                            "2, so the curve contains the first and the last step",
                            p->curve_length);
    return 0;
}
