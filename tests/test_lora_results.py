"""The /lora group of results.h5 as researchers read it: a config with only
[lora] runs, xarray (engine h5netcdf) sees named dimensions with the
config's coordinates, the metrics agree with each other, the thread count
changes no byte, and a config with [drift] and [lora] keeps both groups.

Run by CTest as
    python3 test_lora_results.py --driftlab BIN --configs DIR --workdir DIR
"""
import hashlib

import numpy as np
import xarray

from harness import run_tests

LORA_ONLY = """\
[experiment]
seed = 3
seeds = 5, 9

[lora]
D = 16
N = 8
task_rank = 2
rank = 1..4
alpha = 1, 4
steps = 25
curve_length = 6
"""

DRIFT_AND_LORA = """\
[experiment]
seeds = 2

[drift]
clusters = 3
tokens_per_cluster = 4
d_model = 8
prompt_length = 4
steps = 6

[lora]
D = 12
N = 6
task_rank = 2
rank = 1, 3
alpha = 2
steps = 10
"""


def run_config(context, name, text, *args, config_name=None):
    """Run text as CONFIG_NAME.ini (default NAME.ini) into the folder NAME;
    the config name is stored in results.h5, so byte comparisons share it."""
    path = context.write_config((config_name or name) + ".ini", text)
    output = context.path(name)
    context.driftlab_run("run", path, "-o", output, "-q", "--no-render", *args)
    return output + "/results.h5"


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_lora_only_dimensions_and_coordinates(context):
    results = run_config(context, "lora_only", LORA_ONLY, "-j", "1")
    with xarray.open_dataset(results, group="lora", engine="h5netcdf") as ds:
        assert ds["eval_kl"].dims == ("rank", "alpha", "seed"), ds["eval_kl"].dims
        assert ds["loss_curve"].dims == ("rank", "alpha", "seed", "step_sample")
        assert ds["full_rank_eval_kl"].dims == ("seed",)
        assert list(ds["rank"].values) == [1, 2, 3, 4]
        assert list(ds["alpha"].values) == [1.0, 4.0]
        assert list(ds["seed"].values) == [5, 9]
        assert ds["step_sample"].values[0] == 0
        assert ds["step_sample"].values[-1] == 25
        assert ds["eval_kl"].attrs["units"] == "nat"
        assert "long_name" in ds["forgetting"].attrs
        assert "description" in ds["relative_error"].attrs
        assert np.all(np.isfinite(ds["eval_kl"].values))


def test_lora_relative_error_above_optimum(context):
    results = run_config(context, "lora_errors", LORA_ONLY, "-j", "2")
    with xarray.open_dataset(results, group="lora", engine="h5netcdf") as ds:
        relative = ds["relative_error"].values
        optimum = ds["eckart_young_error"].values
        assert np.all(relative >= optimum), (relative, optimum)
        counts = ds["parameter_count"].values
        expected = np.array([1, 2, 3, 4]) * (16 + 8)
        assert np.array_equal(counts[:, 0, 0], expected), counts[:, 0, 0]


def test_lora_threads_give_same_bytes(context):
    one = run_config(context, "lora_j1", LORA_ONLY, "-j", "1", config_name="lora")
    two = run_config(context, "lora_j2", LORA_ONLY, "-j", "2", config_name="lora")
    assert sha256_of(one) == sha256_of(two)


def test_drift_and_lora_keep_both_groups(context):
    one = run_config(context, "both_j1", DRIFT_AND_LORA, "-j", "1",
                     config_name="both")
    two = run_config(context, "both_j2", DRIFT_AND_LORA, "-j", "2",
                     config_name="both")
    assert sha256_of(one) == sha256_of(two)
    with xarray.open_dataset(one, group="lora", engine="h5netcdf") as ds:
        assert list(ds["rank"].values) == [1, 3]
    with xarray.open_dataset(one, group="drift", engine="h5netcdf") as ds:
        assert "prompt_attention" in ds.data_vars


if __name__ == "__main__":
    run_tests(globals())
