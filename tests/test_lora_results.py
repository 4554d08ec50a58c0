"""The /lora group of results.h5 as researchers read it: a config with only
[lora] runs, xarray (engine h5netcdf) sees named dimensions with the
config's coordinates, the metrics agree with each other and with numpy
recomputed from the stored base and adapters, the thread count changes no
byte, and a config with [drift] and [lora] keeps both groups.

Run by CTest as
    python3 test_lora_results.py --driftlab BIN --configs DIR --workdir DIR
"""
import hashlib

import h5py
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

SCALINGS = """\
[experiment]
seed = 11
seeds = 2

[lora]
D = 12
N = 10
task_rank = 3
rank = 2, 1, 5
alpha = 0, 3
scaling = rslora, none, standard
steps = 30
"""

SVD_START = """\
[experiment]
seed = 4
seeds = 1

[lora]
D = 10
N = 6
task_rank = 2
rank = 1, 3
alpha = 2
init = svd
steps = 20
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
        dims = ("rank", "alpha", "scaling", "seed")
        assert ds["eval_kl"].dims == dims, ds["eval_kl"].dims
        assert ds["loss_curve"].dims == dims + ("step_sample",)
        assert ds["singular_values"].dims == dims + ("singular_index",)
        assert ds["probe_adapted"].dims == dims + ("token",)
        assert ds["phi"].dims == ("alpha", "scaling", "seed", "phi_i", "phi_j")
        assert list(ds["scaling"].values) == ["standard"]
        assert list(ds["phi_i"].values) == [1]
        assert list(ds["phi_j"].values) == [1, 2, 3, 4]
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
        assert np.array_equal(counts[:, 0, 0, 0], expected), counts[:, 0, 0, 0]


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


def test_lora_scaling_axis_gives_the_scale(context):
    results = run_config(context, "scalings", SCALINGS, "-j", "2")
    with xarray.open_dataset(results, group="lora", engine="h5netcdf") as ds:
        assert list(ds["scaling"].values) == ["rslora", "none", "standard"]
        rank = ds["rank"].values.astype(float)[:, None]
        alpha = ds["alpha"].values[None, :]
        expected = {"rslora": alpha / np.sqrt(rank), "none": alpha + 0 * rank,
                    "standard": alpha / rank}
        for name, values in expected.items():
            stored = ds["scale"].sel(scaling=name).isel(seed=0).values
            assert np.allclose(stored, values, rtol=1e-15, atol=0), (name, stored)
        # alpha = 0 is the base model, so its probe softmax is the base's
        zero = ds["probe_adapted"].sel(alpha=0.0).values
        base = ds["probe_base"].values  # (seed, token)
        assert np.array_equal(zero, np.broadcast_to(base[None, None, :, :], zero.shape))
        assert np.allclose(ds["probe_teacher"].sum("token"), 1, atol=1e-12)
        # the task's update has singular values task_scale * task_decay^i
        sigma = ds["task_singular_values"].values
        k = ds.attrs["task_rank"]
        expected_sigma = ds.attrs["task_scale"] * ds.attrs["task_decay"] ** np.arange(k)
        assert np.allclose(sigma[:, :k], expected_sigma, rtol=1e-12), sigma
        assert np.all(sigma[:, k:] < 1e-12), sigma
        curve = ds["full_rank_loss_curve"].values
        assert np.array_equal(curve[:, -1], ds["full_rank_final_loss"].values)
        # the teacher's entropy is the least training loss: no fit goes below it
        entropy = ds["train_teacher_entropy"].values  # (seed,)
        assert np.all(entropy > 0)
        assert np.all(ds["loss_curve"].values >= entropy[:, None] - 1e-12)
        assert np.all(curve >= entropy[:, None] - 1e-12)


def test_lora_metrics_match_numpy_on_stored_adapters(context):
    """Spectra, effective rank, amplification and phi of the first seed,
    recomputed with numpy from /lora/base/W and the stored B and A."""
    results = run_config(context, "adapters", SCALINGS, "-j", "2")
    with h5py.File(results, "r") as f:
        lora = f["lora"]
        w = lora["base/W"][...]
        assert w.shape == (12, 10)
        assert lora["base/W"].attrs["seed"] == 0
        names = list(lora["adapters"])
        assert names[:3] == ["r2-alpha0-rslora", "r2-alpha0-none",
                             "r2-alpha0-standard"], names
        assert len(names) == 3 * 2 * 3
        ranks = list(lora["rank"][...])
        alphas = list(lora["alpha"][...])
        scalings = [v.decode() if isinstance(v, bytes) else v
                    for v in lora["scaling"][...]]
        for name in names:
            group = lora["adapters"][name]
            r, alpha = int(group.attrs["rank"]), float(group.attrs["alpha"])
            scaling = group.attrs["scaling"]
            scaling = scaling.decode() if isinstance(scaling, bytes) else scaling
            assert name == f"r{r}-alpha{alpha:g}-{scaling}"
            b, a, s = group["B"][...], group["A"][...], group.attrs["scale"]
            assert b.shape == (12, r), b.shape
            assert a.shape == (r, 10), a.shape
            at = (ranks.index(r), alphas.index(alpha), scalings.index(scaling), 0)
            update = s * (b @ a)
            sigma = np.linalg.svd(update, compute_uv=False)
            stored = lora["singular_values"][at]
            assert np.allclose(stored, sigma, rtol=1e-9, atol=1e-12), (name, stored, sigma)
            if alpha == 0:
                assert lora["effective_rank"][at] == 0
                continue
            p = sigma / sigma.sum()
            p = p[p > 0]
            effective = np.exp(-(p * np.log(p)).sum())
            assert np.isclose(lora["effective_rank"][at], effective, rtol=1e-9)
            u, _, vt = np.linalg.svd(update)
            used = int(np.count_nonzero(sigma[:r] > sigma[0] * 12 * np.finfo(float).eps))
            projected = u[:, :used].T @ w @ vt[:used].T
            amplification = np.linalg.norm(update) / np.linalg.norm(projected)
            assert np.isclose(lora["amplification"][at], amplification, rtol=1e-9), name
        # phi between A at rank 1 (smallest) and rank 5 (largest)
        for ai, alpha in enumerate(alphas):
            for ci, scaling in enumerate(scalings):
                a1 = lora["adapters"][f"r1-alpha{alpha:g}-{scaling}"]["A"][...]
                a5 = lora["adapters"][f"r5-alpha{alpha:g}-{scaling}"]["A"][...]
                v1 = np.linalg.svd(a1)[2].T
                v5 = np.linalg.svd(a5)[2].T
                phi = lora["phi"][ai, ci, 0]
                assert phi.shape == (1, 5)
                for j in range(1, 6):
                    expected = np.linalg.norm(v1[:, :1].T @ v5[:, :j]) ** 2 / min(1, j)
                    assert np.isclose(phi[0, j - 1], expected, rtol=1e-9, atol=1e-12)


def test_lora_svd_start_is_stored(context):
    results = run_config(context, "svd", SVD_START)
    with h5py.File(results, "r") as f:
        lora = f["lora"]
        w = lora["base/W"][...]
        for ri, r in enumerate(lora["rank"][...]):
            group = lora["adapters"][f"r{r}-alpha2-standard"]
            assert group.attrs["init"] in ("svd", b"svd")
            s = group.attrs["scale"]
            b0, a0 = group["B_init"][...], group["A_init"][...]
            # the start is the top-r SVD of W split across B and A
            u, sigma, vt = np.linalg.svd(w)
            start = s * (b0 @ a0)
            best = (u[:, :r] * sigma[:r]) @ vt[:r]
            assert np.allclose(start, best, rtol=0, atol=1e-12)
            update = s * (group["B"][...] @ group["A"][...]) - start
            stored = lora["singular_values"][ri, 0, 0, 0]
            expected = np.linalg.svd(update, compute_uv=False)
            assert np.allclose(stored, expected, rtol=1e-9, atol=1e-12)


def test_lecture_config_meets_the_lora_claims(context):
    """configs/lecture.ini, as lecturers run it: ranks at or above the task
    rank fit the teacher at least 10x better than rank task_rank - 1, rank
    min(D, N) is within 1e-3 nats of the full-rank baseline, no stored
    relative error is below the Eckart-Young optimum, and alpha = 0 is the
    base model."""
    output = context.path("lecture")
    context.driftlab_run("run", context.configs + "/lecture.ini", "-o", output,
                         "-q", "--no-render")
    with xarray.open_dataset(output + "/results.h5", group="lora",
                             engine="h5netcdf") as ds:
        assert ds.attrs["task_noise"] == 0
        k = int(ds.attrs["task_rank"])
        smallest = min(ds.attrs["D"], ds.attrs["N"])
        ranks = list(ds["rank"].values)
        assert k - 1 in ranks, ranks
        assert k in ranks, ranks
        assert smallest in ranks, ranks
        trained = ds.sel(alpha=ds["alpha"][ds["alpha"] > 0])
        assert trained.sizes["alpha"] >= 2
        below = trained["eval_kl"].sel(rank=k - 1)
        for r in ranks:
            if r < k:
                continue
            at = trained["eval_kl"].sel(rank=r)
            assert bool((10 * at <= below).all()), (r, at.values, below.values)
        full = trained["eval_kl"].sel(rank=smallest)
        gap = abs(full - ds["full_rank_eval_kl"])
        assert bool((gap <= 1e-3).all()), gap.values
        assert bool((ds["relative_error"] >= ds["eckart_young_error"]).all())
        zero = ds.sel(alpha=0.0)
        base = ds["probe_base"]
        assert bool((zero["probe_adapted"] == base).all())
        first = zero["eval_kl"].isel(rank=0)
        assert bool((zero["eval_kl"] == first).all())


def test_close_alphas_get_distinct_adapter_names(context):
    """Plain %g keeps six digits, so 1 and 1.0000001 once named the same
    group and the write failed after the whole sweep had run."""
    config = SVD_START.replace("alpha = 2", "alpha = 1, 1.0000001, 1e-7").replace(
        "init = svd", "init = kaiming")
    results = run_config(context, "close_alphas", config)
    with h5py.File(results, "r") as f:
        names = list(f["lora/adapters"])
        assert "r1-alpha1-standard" in names, names
        assert "r1-alpha1.0000001-standard" in names, names
        assert "r1-alpha1e-07-standard" in names, names
        assert len(names) == 6, names


def test_rising_losses_are_warned_about(context):
    """Adam at 0.5 on single rows makes the loss end far above its start
    without diverging, and the run warns about it."""
    config = context.write_config("rising.ini", SVD_START.replace(
        "init = svd", "init = kaiming\nlearning_rate = 0.5\nbatch_size = 1")
        .replace("steps = 20", "steps = 200"))
    done = context.driftlab_run("run", config, "-o", "rising", "--no-render")
    assert "LoRA fits ended with a higher training loss than they started with" \
        in done.stderr, done.stderr
    calm = context.write_config("calm.ini", SVD_START)
    done = context.driftlab_run("run", calm, "-o", "calm", "--no-render")
    assert "warning" not in done.stderr, done.stderr


def test_run_prints_lora_key_numbers(context):
    """The table run prints after a LoRA sweep: per rank r (D + N) and the
    median eval KL and forgetting over seeds at the first alpha above 0."""
    config = context.write_config("table.ini", SCALINGS)
    done = context.driftlab_run("run", config, "-o", "table", "--no-render")
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("LoRA at alpha"))
    assert lines[header].startswith("LoRA at alpha 3, scaling rslora, median over 2 seeds")
    rows = [line.split() for line in lines[header + 2:header + 2 + 3]]
    with xarray.open_dataset(context.path("table", "results.h5"), group="lora",
                             engine="h5netcdf") as ds:
        shown = ds.isel(alpha=1, scaling=0)
        for row, rank in zip(rows, ds["rank"].values):
            assert int(row[0]) == rank
            assert int(row[1]) == rank * (12 + 10)
            kl = float(np.median(shown["eval_kl"].sel(rank=rank).values))
            assert np.isclose(float(row[2]), kl, rtol=1e-2), (row, kl)
            forgetting = float(np.median(shown["forgetting"].sel(rank=rank).values))
            assert np.isclose(float(row[3]), forgetting, rtol=1e-2), (row, forgetting)
        full = lines[header + 2 + 3].split()
        assert full[0] == "full", full
        assert int(full[1]) == 12 * 10, full
        assert np.isclose(float(full[2]), float(np.median(ds["full_rank_eval_kl"])),
                          rtol=1e-2)


if __name__ == "__main__":
    run_tests(globals())
