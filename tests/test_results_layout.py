"""Layout of results.h5 as researchers read it: named dimensions and
coordinates in xarray (engine h5netcdf), dimension scales and attributes in
h5py, values that agree with each other, the temporary .partial file, the
--resume path and `driftlab info`.

Each test runs the real driftlab binary on a small config written into the
scratch folder. Run by CTest as
    python3 test_results_layout.py --driftlab BIN --configs DIR --workdir DIR
"""
import glob
import hashlib
import math
import os

import h5py
import numpy as np
import xarray

from harness import run_tests

# top_p comes first in the file, so it is the first (slowest) axis.
TWO_AXES = """\
[experiment]
seed = 7
seeds = 3

[drift]
clusters = 4
tokens_per_cluster = 5
d_model = 8
prompt_length = 6
steps = 12
gain = 8
top_p = 0.9, 1
temperature = 0, 0.5, 1
keep_attention = 2
"""

# The same keys with the axes in the other order.
SWAPPED_AXES = TWO_AXES.replace(
    "top_p = 0.9, 1\ntemperature = 0, 0.5, 1\n",
    "temperature = 0, 0.5, 1\ntop_p = 0.9, 1\n")

# cluster_spread changes the world, so the world datasets gain its axis.
WORLD_AXIS = """\
[experiment]
seeds = 2

[drift]
clusters = 3
tokens_per_cluster = 4
d_model = 8
prompt_length = 5
steps = 6
temperature = 0, 1
cluster_spread = 0.2, 0.8
keep_attention = 1
"""

NO_AXES = """\
[experiment]
seeds = 2

[drift]
clusters = 3
tokens_per_cluster = 4
d_model = 8
prompt_length = 5
steps = 6
keep_attention = 0
"""

TOP_K_AXIS = """\
[experiment]
seeds = 2

[drift]
clusters = 3
tokens_per_cluster = 4
d_model = 8
prompt_length = 5
steps = 6
top_k = 0, 3
"""

PROMPT_LENGTH = 6
STEPS = 12
VOCAB = 20
TOKENS_PER_CLUSTER = 5
N_SEEDS = 3
N_KEPT = 2

METRICS = ["prompt_attention", "sink_attention", "attention_entropy", "lock_in"]
STATS = ["mean", "sd", "p10", "p50", "p90"]


# ---- helpers ----

def run_config(ctx, name, text, outdir, *extra, check=True):
    """Write the config NAME.ini, run it into outdir; return (path, process)."""
    config = ctx.write_config(f"{name}.ini", text)
    done = ctx.driftlab_run("run", config, "-o", outdir, "-q", "--no-render",
                            *extra, check=check)
    return ctx.path(outdir, "results.h5"), done


def open_drift(path):
    return xarray.open_dataset(path, group="drift", engine="h5netcdf")


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


_two_axes_results = {}


def two_axes_results(ctx):
    """The results file of TWO_AXES, made once and shared by the checks
    that only read it."""
    if "path" not in _two_axes_results:
        path, _ = run_config(ctx, "layout", TWO_AXES, "layout")
        _two_axes_results["path"] = path
    return _two_axes_results["path"]


def assert_dims(ds, name, expected):
    assert name in ds.variables, f"{name} is missing from /drift"
    assert ds[name].dims == tuple(expected), \
        f"{name} has dims {ds[name].dims}, expected {tuple(expected)}"


def first_step_below_half(series):
    below = np.nonzero(series < 0.5)[0]
    return float(below[0]) if below.size else math.nan


# ---- xarray: dimensions and coordinates ----

def test_metric_dims_follow_file_order(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        for metric in METRICS:
            assert_dims(ds, metric, ["top_p", "temperature", "seed", "step"])
        np.testing.assert_array_equal(ds["top_p"].values, [0.9, 1.0])
        np.testing.assert_array_equal(ds["temperature"].values, [0.0, 0.5, 1.0])
        assert ds["top_p"].dtype == np.float64, ds["top_p"].dtype
        assert ds["temperature"].dtype == np.float64, ds["temperature"].dtype


def test_swapped_axes_swap_dims(ctx):
    path, _ = run_config(ctx, "swapped", SWAPPED_AXES, "swapped")
    with open_drift(path) as ds:
        assert_dims(ds, "prompt_attention", ["temperature", "top_p", "seed", "step"])
        assert_dims(ds, "attention",
                    ["temperature", "top_p", "kept_seed", "step", "position"])
        assert_dims(ds, "prompt_attention_mean", ["temperature", "top_p", "step"])


def test_per_run_dataset_dims(ctx):
    path = two_axes_results(ctx)
    axes = ["top_p", "temperature"]
    with open_drift(path) as ds:
        assert_dims(ds, "tokens", axes + ["seed", "position"])
        assert_dims(ds, "clusters", axes + ["seed", "position"])
        assert_dims(ds, "half_life", axes + ["seed"])
        assert_dims(ds, "run_done", axes + ["seed"])
        assert_dims(ds, "attention", axes + ["kept_seed", "step", "position"])


def test_world_dataset_dims(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        assert_dims(ds, "embedding", ["seed", "token", "embedding_dim"])
        for name in ["query_projection", "key_projection", "value_projection"]:
            assert_dims(ds, name, ["seed", "embedding_dim", "head_dim"])
        assert_dims(ds, "prompt", ["seed", "prompt_position"])
        assert_dims(ds, "cluster_of_token", ["token"])


def test_summary_dataset_dims(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        for metric in METRICS:
            for stat in STATS:
                assert_dims(ds, f"{metric}_{stat}", ["top_p", "temperature", "step"])
        assert_dims(ds, "half_life_of_median", ["top_p", "temperature"])


def test_fixed_coordinate_values(ctx):
    path = two_axes_results(ctx)
    expected = {
        "seed": (np.arange(N_SEEDS), np.int64),
        "kept_seed": (np.arange(N_KEPT), np.int64),
        "step": (np.arange(STEPS), np.int32),
        "position": (np.arange(PROMPT_LENGTH + STEPS), np.int32),
        "token": (np.arange(VOCAB), np.int32),
        "prompt_position": (np.arange(PROMPT_LENGTH), np.int32),
        "embedding_dim": (np.arange(8), np.int32),
        "head_dim": (np.arange(8), np.int32),
    }
    with open_drift(path) as ds:
        for name, (values, dtype) in expected.items():
            assert name in ds.coords, f"coordinate {name} is missing"
            assert ds[name].dtype == dtype, f"{name} has dtype {ds[name].dtype}"
            np.testing.assert_array_equal(ds[name].values, values,
                                          err_msg=f"values of {name}")


def test_every_variable_has_attributes(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        names = list(ds.data_vars) + list(ds.coords)
        assert len(ds.data_vars) == 36, f"{len(ds.data_vars)} data variables"
        for name in names:
            for attribute in ["units", "long_name", "description"]:
                value = ds[name].attrs.get(attribute)
                assert isinstance(value, str), \
                    f"{name}.{attribute} is {value!r}, expected a str"
                assert value.strip(), f"{name}.{attribute} is empty"


# ---- h5py: attributes, scales, storage ----

def test_root_attributes(ctx):
    path = two_axes_results(ctx)
    config = ctx.path("layout.ini")
    with open(config, "rb") as f:
        config_bytes = f.read()
    with h5py.File(path, "r") as f:
        attrs = f.attrs
        assert attrs["format_version"] == 1, attrs["format_version"]
        assert isinstance(attrs["driftlab_version"], str)
        assert attrs["driftlab_version"], "driftlab_version is empty"
        assert attrs["config_name"] == "layout", attrs["config_name"]
        assert attrs["config_text"] == config_bytes.decode("utf-8"), \
            "config_text differs from the config file"
        assert attrs["config_sha256"] == hashlib.sha256(config_bytes).hexdigest(), \
            "config_sha256 is not the SHA-256 of the config file"
        assert attrs["master_seed"] == 7, attrs["master_seed"]
        assert attrs["master_seed"].dtype == np.uint64, attrs["master_seed"].dtype


def test_drift_group_attributes(ctx):
    path = two_axes_results(ctx)
    with h5py.File(path, "r") as f:
        attrs = f["drift"].attrs
        expected = {"rule": "cluster", "projection": "identity", "clusters": 4,
                    "tokens_per_cluster": TOKENS_PER_CLUSTER, "d_model": 8,
                    "d_head": 8, "prompt_length": PROMPT_LENGTH, "steps": STEPS,
                    "keep_attention": N_KEPT, "gain": 8.0}
        for name, value in expected.items():
            assert name in attrs, f"/drift attribute {name} is missing"
            assert attrs[name] == value, f"/drift.{name} is {attrs[name]!r}, expected {value!r}"
        for swept in ["top_p", "temperature"]:
            assert swept not in attrs, f"swept key {swept} is also an attribute"
        for scalar in ["top_k", "min_p", "repetition_penalty", "gain_out",
                       "cluster_spread"]:
            assert scalar in attrs, f"scalar key {scalar} is not an attribute"


def test_figures_group_attributes(ctx):
    # TWO_AXES has no [figures] section, so every setting is its default:
    # the lowest temperature, the first seed, 150 ppi and 4 strip steps.
    path = two_axes_results(ctx)
    with h5py.File(path, "r") as f:
        assert "figures" in f, "the /figures group is missing"
        attrs = f["figures"].attrs
        expected = {"temperature": (0.0, np.float64), "seed": (0, np.int64),
                    "png_ppi": (150.0, np.float64), "strip_steps": (4, np.int32)}
        for name, (value, dtype) in expected.items():
            assert name in attrs, f"/figures attribute {name} is missing"
            assert attrs[name] == value, f"/figures.{name} is {attrs[name]!r}, expected {value!r}"
            assert attrs[name].dtype == dtype, f"/figures.{name} has dtype {attrs[name].dtype}"
        assert attrs["formats"] == "svg,pdf,png", attrs["formats"]


def test_dimension_scales_attached(ctx):
    path = two_axes_results(ctx)
    with h5py.File(path, "r") as f:
        dataset = f["drift/attention"]
        names = [dim[0].name for dim in dataset.dims]
        assert names == ["/drift/top_p", "/drift/temperature", "/drift/kept_seed",
                         "/drift/step", "/drift/position"], names
        for dim in dataset.dims:
            assert len(dim) == 1, f"{len(dim)} scales on one dimension"


def test_storage_chunked_and_compressed(ctx):
    path = two_axes_results(ctx)
    with h5py.File(path, "r") as f:
        for name in METRICS + ["tokens", "clusters", "attention", "embedding"]:
            dataset = f["drift"][name]
            assert dataset.chunks is not None, f"{name} is not chunked"
            assert dataset.compression == "gzip", f"{name}: {dataset.compression}"
            assert dataset.shuffle, f"{name} has no shuffle filter"


def test_fill_values(ctx):
    path = two_axes_results(ctx)
    with h5py.File(path, "r") as f:
        drift = f["drift"]
        assert drift["tokens"].fillvalue == -1, drift["tokens"].fillvalue
        assert drift["clusters"].fillvalue == -1, drift["clusters"].fillvalue
        assert drift["run_done"].fillvalue == 0, drift["run_done"].fillvalue
        assert drift["run_done"].dtype == np.uint8, drift["run_done"].dtype
        for name in METRICS + ["half_life", "attention", "embedding"]:
            assert math.isnan(drift[name].fillvalue), \
                f"{name} fill value is {drift[name].fillvalue}, expected NaN"


# ---- values that must agree ----

def test_every_run_done(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        assert (ds["run_done"].values == 1).all(), ds["run_done"].values


def test_attention_rows_are_causal(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        attention = ds["attention"].values
    for t in range(STEPS):
        context = PROMPT_LENGTH + t
        row = attention[..., t, :]
        assert np.isfinite(row[..., :context]).all(), f"step {t}: NaN inside context"
        assert np.isnan(row[..., context:]).all(), f"step {t}: value beyond context"
        np.testing.assert_allclose(row[..., :context].sum(axis=-1), 1.0, atol=1e-12,
                                   err_msg=f"step {t}: row does not sum to 1")


def test_metrics_agree_with_attention(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        attention = ds["attention"].values
        prompt_of_kept = ds["prompt_attention"].isel(seed=slice(0, N_KEPT)).values
        sink = ds["sink_attention"].isel(seed=slice(0, N_KEPT)).values
    np.testing.assert_allclose(np.nansum(attention[..., :PROMPT_LENGTH], axis=-1),
                               prompt_of_kept, atol=1e-12, err_msg="prompt_attention")
    np.testing.assert_allclose(attention[..., 0], sink, atol=1e-12,
                               err_msg="sink_attention")


def test_tokens_clusters_and_prompt_agree(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        tokens = ds["tokens"].values
        clusters = ds["clusters"].values
        cluster_of_token = ds["cluster_of_token"].values
        prompt = ds["prompt"].values
    assert ((tokens >= 0) & (tokens < VOCAB)).all(), "token id out of range"
    np.testing.assert_array_equal(cluster_of_token, np.arange(VOCAB) // TOKENS_PER_CLUSTER)
    np.testing.assert_array_equal(clusters, cluster_of_token[tokens])
    # seed s fixes the prompt at every sweep point
    for seed in range(N_SEEDS):
        np.testing.assert_array_equal(tokens[:, :, seed, :PROMPT_LENGTH],
                                      np.broadcast_to(prompt[seed], (2, 3, PROMPT_LENGTH)),
                                      err_msg=f"prompt of seed {seed}")


def test_half_life_matches_prompt_attention(ctx):
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        prompt_attention = ds["prompt_attention"].values
        half_life = ds["half_life"].values
        median = ds["prompt_attention_p50"].values
        half_life_of_median = ds["half_life_of_median"].values
    for index in np.ndindex(half_life.shape):
        expected = first_step_below_half(prompt_attention[index])
        np.testing.assert_equal(half_life[index], expected, err_msg=f"half_life{index}")
    for index in np.ndindex(half_life_of_median.shape):
        expected = first_step_below_half(median[index])
        np.testing.assert_equal(half_life_of_median[index], expected,
                                err_msg=f"half_life_of_median{index}")


def test_summaries_match_seeds(ctx):
    # As documented: sample standard deviation (divisor n - 1) and numpy's
    # default (linear) percentiles, over the seed dimension (axis 2). The
    # tolerance allows for summation order only.
    path = two_axes_results(ctx)
    with open_drift(path) as ds:
        for metric in METRICS:
            values = ds[metric].values
            expected = {
                "mean": values.mean(axis=2),
                "sd": values.std(axis=2, ddof=1),
                "p10": np.percentile(values, 10, axis=2),
                "p50": np.percentile(values, 50, axis=2),
                "p90": np.percentile(values, 90, axis=2),
            }
            for stat, value in expected.items():
                np.testing.assert_allclose(ds[f"{metric}_{stat}"].values, value,
                                           rtol=1e-12, atol=1e-12,
                                           err_msg=f"{metric}_{stat}")


# ---- other layouts ----

def test_world_axis_on_world_datasets(ctx):
    path, _ = run_config(ctx, "world", WORLD_AXIS, "world")
    with open_drift(path) as ds:
        assert_dims(ds, "embedding", ["cluster_spread", "seed", "token", "embedding_dim"])
        assert_dims(ds, "prompt", ["cluster_spread", "seed", "prompt_position"])
        assert_dims(ds, "query_projection",
                    ["cluster_spread", "seed", "embedding_dim", "head_dim"])
        assert_dims(ds, "prompt_attention", ["temperature", "cluster_spread", "seed", "step"])
        np.testing.assert_array_equal(ds["cluster_spread"].values, [0.2, 0.8])
        embedding = ds["embedding"].values
    assert np.isfinite(embedding).all(), "an embedding was never written"
    assert not np.array_equal(embedding[0], embedding[1]), \
        "both cluster spreads stored the same embedding"


def test_no_axes_and_no_attention(ctx):
    path, _ = run_config(ctx, "plain", NO_AXES, "plain")
    with open_drift(path) as ds:
        assert_dims(ds, "prompt_attention", ["seed", "step"])
        assert_dims(ds, "prompt_attention_mean", ["step"])
        assert_dims(ds, "half_life_of_median", [])
        assert "attention" not in ds.variables, "attention stored with keep_attention = 0"
        assert "kept_seed" not in ds.variables, "kept_seed stored with keep_attention = 0"


def test_top_k_axis_is_integer(ctx):
    path, _ = run_config(ctx, "topk", TOP_K_AXIS, "topk")
    with open_drift(path) as ds:
        assert ds["top_k"].dtype == np.int64, ds["top_k"].dtype
        np.testing.assert_array_equal(ds["top_k"].values, [0, 3])


# ---- the temporary file, reruns and --resume ----

def test_no_partial_after_success(ctx):
    path = two_axes_results(ctx)
    assert os.path.exists(path), f"{path} was not written"
    leftovers = glob.glob(os.path.join(os.path.dirname(path), "*.partial"))
    assert not leftovers, f"left behind: {leftovers}"


def test_rerun_overwrites_cleanly(ctx):
    path, _ = run_config(ctx, "again", TWO_AXES, "again")
    first = file_digest(path)
    # A stale partial file from an old crash must not get in the way.
    with open(path + ".partial", "wb") as f:
        f.write(b"not an HDF5 file")
    run_config(ctx, "again", TWO_AXES, "again")
    assert not os.path.exists(path + ".partial"), "the .partial file is left behind"
    assert file_digest(path) == first, "a second run gave different bytes"


def test_resume_rewrites_only_missing_runs(ctx):
    path, _ = run_config(ctx, "resume", TWO_AXES, "resume")
    with open_drift(path) as ds:
        complete = ds.load()
    # Turn the finished file into an interrupted one: two runs not done,
    # their tokens lost. A done run gets a half-life no run can have, which
    # survives only if --resume skips that run.
    partial = path + ".partial"
    os.rename(path, partial)
    with h5py.File(partial, "r+") as f:
        f["drift/run_done"][1, 2, 0] = 0
        f["drift/run_done"][0, 1, 2] = 0
        f["drift/tokens"][1, 2, 0, :] = -1
        f["drift/tokens"][0, 1, 2, :] = -1
        f["drift/half_life"][0, 0, 0] = 99.0
    run_config(ctx, "resume", TWO_AXES, "resume", "--resume")
    assert not os.path.exists(partial), "--resume left the .partial file"
    with open_drift(path) as ds:
        resumed = ds.load()
    assert resumed["half_life"].values[0, 0, 0] == 99.0, "--resume reran a done run"
    resumed["half_life"].values[0, 0, 0] = complete["half_life"].values[0, 0, 0]
    for name in complete.data_vars:
        np.testing.assert_array_equal(resumed[name].values, complete[name].values,
                                      err_msg=f"{name} differs after --resume")


def test_resume_rejects_another_config(ctx):
    path, _ = run_config(ctx, "other", TWO_AXES, "other")
    os.rename(path, path + ".partial")
    changed = TWO_AXES.replace("steps = 12", "steps = 13")
    _, done = run_config(ctx, "other", changed, "other", "--resume", check=False)
    assert done.returncode != 0, "--resume accepted a file of another config"
    assert "config_sha256" in done.stderr, done.stderr
    assert "results.h5.partial" in done.stderr, done.stderr
    assert os.path.exists(path + ".partial"), "the rejected .partial file was removed"
    assert not os.path.exists(path), "a rejected --resume wrote results.h5"


# ---- driftlab info ----

def test_info_prints_axes(ctx):
    path = two_axes_results(ctx)
    done = ctx.driftlab_run("info", path)
    lines = done.stdout.splitlines()
    top_p = [i for i, line in enumerate(lines) if line.split()[:1] == ["top_p"]]
    temperature = [i for i, line in enumerate(lines) if line.split()[:1] == ["temperature"]]
    assert top_p and temperature, f"axes missing from info:\n{done.stdout}"
    assert top_p[0] < temperature[0], f"axes out of file order:\n{done.stdout}"
    assert "0.9, 1" in lines[top_p[0]], lines[top_p[0]]
    assert "0, 0.5, 1" in lines[temperature[0]], lines[temperature[0]]
    assert f"{2 * 3 * N_SEEDS} of {2 * 3 * N_SEEDS} runs done" in done.stdout, done.stdout
    assert file_digest(ctx.path("layout.ini")) in done.stdout, \
        "info does not print the config SHA-256"


def test_info_prints_model_and_figures(ctx):
    path = two_axes_results(ctx)
    done = ctx.driftlab_run("info", path)
    for line in ["model:            rule cluster, projection identity",
                 "vocabulary:       4 clusters x 5 tokens = 20 tokens",
                 "head:             d_model 8, d_head 8",
                 "fixed values:     top_k 0, min_p 0, repetition_penalty 1, gain 8, "
                 "gain_out 8, cluster_spread 0.5",
                 "figures:          temperature 0, seed 0, png_ppi 150, strip_steps 4, "
                 "formats svg, pdf, png"]:
        assert line in done.stdout.splitlines(), f"no line {line!r} in:\n{done.stdout}"


def test_info_rejects_foreign_file(ctx):
    foreign = ctx.path("foreign.h5")
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    done = ctx.driftlab_run("info", foreign, check=False)
    assert done.returncode != 0, "info accepted a file that is not driftlab's"
    assert "foreign.h5" in done.stderr, done.stderr
    assert "format_version" in done.stderr, done.stderr


if __name__ == "__main__":
    run_tests(globals())
