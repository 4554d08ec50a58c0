/* plan.c - the sweep plan of a config; see plan.h. */
#include "plan.h"

void dl_plan_init(dl_plan *plan, const dl_config *cfg)
{
    plan->config = cfg;
    plan->n_axes = cfg->n_axes;
    plan->n_points = 1;
    for (size_t a = 0; a < cfg->n_axes; a++) {
        plan->axis_key[a] = cfg->axes[a];
        plan->axis_length[a] = cfg->sweep[cfg->axes[a]].count;
        plan->n_points *= plan->axis_length[a];
    }
    plan->n_seeds = cfg->n_seeds;
    plan->n_runs = plan->n_points * plan->n_seeds;
    plan->n_positions = cfg->prompt_length + cfg->steps;
}

void dl_plan_point_indices(const dl_plan *plan, size_t point, size_t *index)
{
    /* row-major: the last axis varies fastest */
    for (size_t a = plan->n_axes; a-- > 0;) {
        index[a] = point % plan->axis_length[a];
        point /= plan->axis_length[a];
    }
}

void dl_plan_point_params(const dl_plan *plan, size_t point,
                          dl_drift_params *params)
{
    const dl_config *cfg = plan->config;

    /* every sweepable key at its first (or only) value ... */
    double value[DL_SWEEP_COUNT];
    for (int k = 0; k < DL_SWEEP_COUNT; k++)
        value[k] = cfg->sweep[k].values[0];

    /* ... then the axes at this point's indices */
    size_t index[DL_SWEEP_COUNT];
    dl_plan_point_indices(plan, point, index);
    for (size_t a = 0; a < plan->n_axes; a++)
        value[plan->axis_key[a]] = cfg->sweep[plan->axis_key[a]].values[index[a]];

    params->clusters = cfg->clusters;
    params->tokens_per_cluster = cfg->tokens_per_cluster;
    params->d_model = cfg->d_model;
    params->d_head = cfg->d_head;
    params->projection = cfg->projection;
    params->cluster_spread = value[DL_SWEEP_CLUSTER_SPREAD];
    params->prompt_length = cfg->prompt_length;
    params->prompt = cfg->prompt;
    params->steps = cfg->steps;
    params->rule = cfg->rule;
    params->gain = value[DL_SWEEP_GAIN];
    params->gain_out = value[DL_SWEEP_GAIN_OUT];
    params->temperature = value[DL_SWEEP_TEMPERATURE];
    params->top_k = (int)value[DL_SWEEP_TOP_K];
    params->top_p = value[DL_SWEEP_TOP_P];
    params->min_p = value[DL_SWEEP_MIN_P];
    params->repetition_penalty = value[DL_SWEEP_REPETITION_PENALTY];
}

static int is_world_axis(dl_sweep_key key)
{
    return key == DL_SWEEP_CLUSTER_SPREAD;
}

int dl_plan_point_owns_world(const dl_plan *plan, size_t point)
{
    size_t index[DL_SWEEP_COUNT];
    dl_plan_point_indices(plan, point, index);
    for (size_t a = 0; a < plan->n_axes; a++)
        if (!is_world_axis(plan->axis_key[a]) && index[a] != 0)
            return 0;
    return 1;
}

size_t dl_plan_world_index(const dl_plan *plan, size_t point)
{
    size_t index[DL_SWEEP_COUNT];
    dl_plan_point_indices(plan, point, index);
    size_t world = 0;
    for (size_t a = 0; a < plan->n_axes; a++)
        if (is_world_axis(plan->axis_key[a]))
            world = world * plan->axis_length[a] + index[a];
    return world;
}

size_t dl_plan_world_count(const dl_plan *plan)
{
    size_t count = 1;
    for (size_t a = 0; a < plan->n_axes; a++)
        if (is_world_axis(plan->axis_key[a]))
            count *= plan->axis_length[a];
    return count;
}
