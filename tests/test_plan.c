/* test_plan.c - sweep points, axis order and world sharing on a config
 * built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plan.h"

typedef struct {
    dl_config cfg;
    double values[DL_SWEEP_COUNT][4];
    int64_t seeds[3];
} config_fixture;

/* Every sweepable key at one value, then top_p (2 values) and
 * temperature (3 values) as axes in that file order. */
static void make_config(config_fixture *f)
{
    memset(f, 0, sizeof *f);
    static const double defaults[DL_SWEEP_COUNT] = {1, 0, 1, 0, 1, 8, 8, 0.5};
    for (int k = 0; k < DL_SWEEP_COUNT; k++) {
        f->values[k][0] = defaults[k];
        f->cfg.sweep[k].values = f->values[k];
        f->cfg.sweep[k].count = 1;
    }
    f->values[DL_SWEEP_TOP_P][0] = 0.9;
    f->values[DL_SWEEP_TOP_P][1] = 1.0;
    f->cfg.sweep[DL_SWEEP_TOP_P].count = 2;
    f->values[DL_SWEEP_TEMPERATURE][0] = 0.0;
    f->values[DL_SWEEP_TEMPERATURE][1] = 0.5;
    f->values[DL_SWEEP_TEMPERATURE][2] = 2.0;
    f->cfg.sweep[DL_SWEEP_TEMPERATURE].count = 3;
    f->cfg.axes[0] = DL_SWEEP_TOP_P;
    f->cfg.axes[1] = DL_SWEEP_TEMPERATURE;
    f->cfg.n_axes = 2;

    f->seeds[0] = 4;
    f->seeds[1] = 9;
    f->seeds[2] = 1;
    f->cfg.seeds = f->seeds;
    f->cfg.n_seeds = 3;
    f->cfg.clusters = 4;
    f->cfg.tokens_per_cluster = 8;
    f->cfg.d_model = 16;
    f->cfg.d_head = 16;
    f->cfg.prompt_length = 8;
    f->cfg.steps = 20;
}

static void plan_counts_points_and_runs(void **state)
{
    (void)state;
    config_fixture f;
    make_config(&f);
    dl_plan plan;
    dl_plan_init(&plan, &f.cfg);
    assert_int_equal(plan.n_axes, 2);
    assert_int_equal(plan.n_points, 6);
    assert_int_equal(plan.n_seeds, 3);
    assert_int_equal(plan.n_runs, 18);
    assert_int_equal(plan.n_positions, 28);
}

static void points_are_row_major_in_file_order(void **state)
{
    (void)state;
    config_fixture f;
    make_config(&f);
    dl_plan plan;
    dl_plan_init(&plan, &f.cfg);

    /* the first axis (top_p) varies slowest */
    size_t index[DL_SWEEP_COUNT];
    dl_plan_point_indices(&plan, 4, index);
    assert_int_equal(index[0], 1);
    assert_int_equal(index[1], 1);

    dl_drift_params p;
    dl_plan_point_params(&plan, 4, &p);
    assert_true(p.top_p == 1.0);
    assert_true(p.temperature == 0.5);
    dl_plan_point_params(&plan, 2, &p);
    assert_true(p.top_p == 0.9);
    assert_true(p.temperature == 2.0);
    assert_true(p.gain == 8.0);
    assert_int_equal(p.steps, 20);
}

static void worlds_are_shared_without_world_axes(void **state)
{
    (void)state;
    config_fixture f;
    make_config(&f);
    dl_plan plan;
    dl_plan_init(&plan, &f.cfg);
    assert_int_equal(dl_plan_world_count(&plan), 1);
    for (size_t point = 0; point < plan.n_points; point++) {
        assert_int_equal(dl_plan_world_index(&plan, point), 0);
        assert_int_equal(dl_plan_point_owns_world(&plan, point), point == 0);
    }
}

static void cluster_spread_axis_gives_one_world_per_value(void **state)
{
    (void)state;
    config_fixture f;
    make_config(&f);
    f.values[DL_SWEEP_CLUSTER_SPREAD][0] = 0.1;
    f.values[DL_SWEEP_CLUSTER_SPREAD][1] = 0.9;
    f.cfg.sweep[DL_SWEEP_CLUSTER_SPREAD].count = 2;
    /* axes: top_p, cluster_spread, temperature */
    f.cfg.axes[2] = DL_SWEEP_TEMPERATURE;
    f.cfg.axes[1] = DL_SWEEP_CLUSTER_SPREAD;
    f.cfg.n_axes = 3;
    dl_plan plan;
    dl_plan_init(&plan, &f.cfg);
    assert_int_equal(plan.n_points, 12);
    assert_int_equal(dl_plan_world_count(&plan), 2);

    size_t owners = 0;
    for (size_t point = 0; point < plan.n_points; point++) {
        size_t index[DL_SWEEP_COUNT];
        dl_plan_point_indices(&plan, point, index);
        assert_int_equal(dl_plan_world_index(&plan, point), index[1]);
        if (dl_plan_point_owns_world(&plan, point)) {
            owners++;
            assert_int_equal(index[0], 0);
            assert_int_equal(index[2], 0);
        }
    }
    assert_int_equal(owners, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_counts_points_and_runs),
        cmocka_unit_test(points_are_row_major_in_file_order),
        cmocka_unit_test(worlds_are_shared_without_world_axes),
        cmocka_unit_test(cluster_spread_axis_gives_one_world_per_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
