/* plan.h - the sweep plan: the cartesian product of a config's axes.
 *
 * A sweep point is one combination of axis values; a run is a point and a
 * seed. Points are numbered row-major over the axes in file order (the
 * first axis varies slowest); runs are numbered point * n_seeds + seed
 * index, so all seeds of a point are neighbours.
 */
#ifndef DRIFTLAB_PLAN_H
#define DRIFTLAB_PLAN_H

#include <stddef.h>

#include "config.h"
#include "drift_params.h"

typedef struct {
    const dl_config *config;
    size_t n_axes;
    dl_sweep_key axis_key[DL_SWEEP_COUNT];
    size_t axis_length[DL_SWEEP_COUNT];
    size_t n_points;
    size_t n_seeds;
    size_t n_runs;
    int n_positions;   /* prompt_length + steps */
} dl_plan;

/* Builds the plan of cfg, which must outlive it. */
void dl_plan_init(dl_plan *plan, const dl_config *cfg);

/* Writes the axis indices of point into index[0..n_axes-1]. */
void dl_plan_point_indices(const dl_plan *plan, size_t point, size_t *index);

/* Fills params with every value of the run at point. */
void dl_plan_point_params(const dl_plan *plan, size_t point,
                          dl_drift_params *params);

/* True when every axis that does not change the world (everything but
 * cluster_spread) is at index 0, so the world of this point is the first
 * occurrence of its world and gets stored. */
int dl_plan_point_owns_world(const dl_plan *plan, size_t point);

/* Index of the point's world among the stored worlds: the index over the
 * world axes only (cluster_spread when it is swept), row-major. */
size_t dl_plan_world_index(const dl_plan *plan, size_t point);

/* Number of distinct worlds per seed (product of world-axis lengths). */
size_t dl_plan_world_count(const dl_plan *plan);

#endif
