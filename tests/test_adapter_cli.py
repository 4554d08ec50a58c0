"""driftlab adapter list, merge, unmerge and stack, checked with numpy and
h5py. Merged weights are compared with W + sum_k w_k U_k computed here, and
round trips and stacking with the bounds of docs/lora.md recomputed here.
Every bad input must exit with status 2, a message naming the problem and
no output file.

The results files are written with h5py in the layout of
docs/results-format.md ("Stored adapters"), so each bad case can break
exactly one thing.
"""
import os
import re

import h5py
import numpy as np

from harness import run_tests

D, N = 12, 7
U_ROUNDOFF = 2.0 ** -53


def scale_of(alpha, rank, scaling):
    if scaling == "standard":
        return alpha / rank
    if scaling == "rslora":
        return alpha / np.sqrt(rank)
    return alpha


def make_adapter(rng, rank, alpha, scaling, init):
    """One adapter as a dict of its datasets and attributes."""
    adapter = {
        "B": rng.standard_normal((D, rank)) * 0.3,
        "A": rng.standard_normal((rank, N)) * 0.3,
        "attrs": {"rank": np.int64(rank), "alpha": float(alpha), "scaling": scaling,
                  "init": init, "scale": float(scale_of(alpha, rank, scaling)),
                  "seed": np.int64(1)},
    }
    if init == "svd":
        adapter["B_init"] = rng.standard_normal((D, rank)) * 0.2
        adapter["A_init"] = rng.standard_normal((rank, N)) * 0.2
    return adapter


def standard_adapters():
    """Adapters in creation order; the names are not in sorted order."""
    rng = np.random.default_rng(7)
    return {
        "r4-alpha8-standard": make_adapter(rng, 4, 8.0, "standard", "kaiming"),
        "r2-alpha0.5-rslora": make_adapter(rng, 2, 0.5, "rslora", "gaussian"),
        "r3-alpha2-none": make_adapter(rng, 3, 2.0, "none", "kaiming"),
        "r2-alpha4-standard": make_adapter(rng, 2, 4.0, "standard", "svd"),
    }


def base_w():
    return np.random.default_rng(3).standard_normal((D, N)) / np.sqrt(D)


def write_results(path, adapters, w=None, lora=True):
    """Write a results file with /lora/base/W and the adapters."""
    with h5py.File(path, "w") as f:
        f.attrs["format_version"] = 1
        if not lora:
            f.create_group("drift")
            return path
        base = f.create_group("lora/base")
        dataset = base.create_dataset("W", data=base_w() if w is None else w)
        dataset.attrs["seed"] = np.int64(1)
        dataset.attrs["description"] = "frozen base"
        group = f["lora"].create_group("adapters", track_order=True)
        for name, adapter in adapters.items():
            g = group.create_group(name)
            for key, value in adapter.items():
                if key != "attrs":
                    g.create_dataset(key, data=value)
            for key, value in adapter["attrs"].items():
                g.attrs[key] = value
    return path


def update_of(adapter):
    """U = s B A, minus s B_init A_init for init svd."""
    s = adapter["attrs"]["scale"]
    u = s * (adapter["B"] @ adapter["A"])
    if "B_init" in adapter:
        u = u - s * (adapter["B_init"] @ adapter["A_init"])
    return u


def magnitude_of(adapter):
    s = abs(adapter["attrs"]["scale"])
    m = s * (np.abs(adapter["B"]) @ np.abs(adapter["A"]))
    if "B_init" in adapter:
        m = m + s * (np.abs(adapter["B_init"]) @ np.abs(adapter["A_init"]))
    return m


def round_trip_bound(w, adapters, weights):
    """2 K u max(|W| + sum_k |w_k U_k|) / (1 - 2 K u), docs/lora.md."""
    total = np.abs(w) + sum(abs(k) * np.abs(update_of(a)) for a, k in zip(adapters, weights))
    roundings = 2 * len(adapters)
    return roundings * U_ROUNDOFF * total.max() / (1 - roundings * U_ROUNDOFF)


def stack_tolerance(w, adapters, weights, stacked_rank):
    """2 gamma_m T with m = R + K + 3, docs/lora.md."""
    total = np.abs(w) + sum(abs(k) * magnitude_of(a) for a, k in zip(adapters, weights))
    m = stacked_rank + len(adapters) + 3
    gamma = m * U_ROUNDOFF / (1 - m * U_ROUNDOFF)
    return 2 * gamma * total.max()


def read_w(path):
    with h5py.File(path, "r") as f:
        return f["W"][()], dict(f["W"].attrs)


def number_after(label, text):
    match = re.search(re.escape(label) + r"\s+([-+0-9.eE]+|nan|inf)", text)
    assert match, f"'{label}' missing from\n{text}"
    return float(match.group(1))


def assert_relative_close(actual, expected, tolerance, quantity):
    error = np.abs(actual - expected).max() / np.abs(expected).max()
    assert error <= tolerance, f"{quantity}: relative error {error:.3e} > {tolerance:g}"


# ---- list ---------------------------------------------------------------


def test_list_shows_adapters_in_creation_order(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("list.h5"), adapters)
    done = ctx.driftlab_run("adapter", "list", results)
    rows = [line.split() for line in done.stdout.splitlines()
            if line.split() and line.split()[0] in adapters]
    assert [row[0] for row in rows] == list(adapters), done.stdout
    for row in rows:
        adapter = adapters[row[0]]
        attrs = adapter["attrs"]
        assert int(row[1]) == attrs["rank"], row
        assert float(row[2]) == attrs["alpha"], row
        assert row[3] == attrs["scaling"], row
        assert row[4] == attrs["init"], row
        assert abs(float(row[5]) - attrs["scale"]) <= 1e-5 * attrs["scale"], row
        assert int(row[6]) == attrs["rank"] * (D + N), row
        norm = np.linalg.norm(update_of(adapter))
        assert abs(float(row[7]) - norm) <= 1e-6 * norm, (row, norm)


# ---- merge and unmerge --------------------------------------------------


def test_merge_matches_numpy(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("merge.h5"), adapters)
    name = "r4-alpha8-standard"
    done = ctx.driftlab_run("adapter", "merge", results, name, "-o", "merged.h5")
    merged, attrs = read_w(ctx.path("merged.h5"))
    assert merged.dtype == np.float64
    assert merged.shape == (D, N)
    a = adapters[name]
    expected = base_w() + a["attrs"]["scale"] * (a["B"] @ a["A"])
    assert_relative_close(merged, expected, 1e-12, "merged W")
    assert attrs["results_file"] == results
    assert list(attrs["adapters"]) == [name]
    assert list(attrs["weights"]) == [1.0]
    assert number_after("max|W_rt - W|", done.stdout) <= number_after("bound", done.stdout)


def test_weighted_merge_matches_numpy(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("weighted.h5"), adapters)
    names = ["r2-alpha0.5-rslora", "r3-alpha2-none", "r2-alpha4-standard"]
    weights = [0.5, -2.0, 1.5]
    args = [arg for weight in weights for arg in ("--weight", repr(weight))]
    ctx.driftlab_run("adapter", "merge", results, *names, *args, "-o", "weighted_out.h5")
    merged, attrs = read_w(ctx.path("weighted_out.h5"))
    expected = base_w() + sum(k * update_of(adapters[n]) for n, k in zip(names, weights))
    assert_relative_close(merged, expected, 1e-12, "weighted merge")
    assert list(attrs["adapters"]) == names
    assert list(attrs["weights"]) == weights


def test_svd_adapter_merges_with_residual(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("svd.h5"), adapters)
    name = "r2-alpha4-standard"
    ctx.driftlab_run("adapter", "merge", results, name, "-o", "svd_out.h5")
    merged, _ = read_w(ctx.path("svd_out.h5"))
    a = adapters[name]
    s = a["attrs"]["scale"]
    expected = base_w() - s * (a["B_init"] @ a["A_init"]) + s * (a["B"] @ a["A"])
    assert_relative_close(merged, expected, 1e-12, "svd merge")


def test_opposite_weights_give_base_exactly(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("opposite.h5"), adapters)
    for name in ("r4-alpha8-standard", "r2-alpha4-standard"):
        out = f"opposite_{name}.h5"
        ctx.driftlab_run("adapter", "merge", results, name, name, "--weight", "1",
                         "--weight", "-1", "-o", out)
        merged, _ = read_w(ctx.path(out))
        assert np.array_equal(merged, base_w()), f"{name}: +1 and -1 did not give W exactly"


def test_round_trip_is_within_bound(ctx):
    adapters = standard_adapters()
    # a base of very different size from the updates makes rounding visible
    w = base_w() * 1e-3
    results = write_results(ctx.path("trip.h5"), adapters, w=w)
    names = list(adapters)
    weights = [1.0, -0.75, 3.0, 0.25]
    args = [arg for weight in weights for arg in ("--weight", repr(weight))]
    done = ctx.driftlab_run("adapter", "merge", results, *names, *args, "-o", "trip_out.h5")
    error = number_after("max|W_rt - W|", done.stdout)
    printed_bound = number_after("bound", done.stdout)
    bound = round_trip_bound(w, [adapters[n] for n in names], weights)
    assert abs(printed_bound - bound) <= 1e-6 * bound, (printed_bound, bound)
    assert error <= bound, (error, bound)

    # unmerge in a separate process: the result is W within the same bound
    ctx.driftlab_run("adapter", "unmerge", "trip_out.h5", results, *names, *args,
                     "-o", "trip_back.h5")
    unmerged, attrs = read_w(ctx.path("trip_back.h5"))
    assert np.abs(unmerged - w).max() <= bound
    assert attrs["merged_file"] == "trip_out.h5"
    assert list(attrs["adapters"]) == names


def test_unmerge_of_one_adapter_leaves_the_other(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("partial_unmerge.h5"), adapters)
    names = ["r4-alpha8-standard", "r3-alpha2-none"]
    ctx.driftlab_run("adapter", "merge", results, *names, "-o", "two.h5")
    done = ctx.driftlab_run("adapter", "unmerge", "two.h5", results, names[1],
                            "--weight", "1.5", "-o", "one.h5")
    # the message names what the written file contains: the merged input
    # minus the weighted adapter, not W minus it
    assert "wrote one.h5: two.h5 - 1.5 * r3-alpha2-none" in done.stderr, done.stderr
    done = ctx.driftlab_run("adapter", "unmerge", "two.h5", results, names[1], "-o", "one.h5")
    unmerged, _ = read_w(ctx.path("one.h5"))
    expected = base_w() + update_of(adapters[names[0]])
    assert_relative_close(unmerged, expected, 1e-12, "unmerge of one adapter")


def test_overflowing_weights_write_nothing(ctx):
    results = write_results(ctx.path("huge_weights.h5"), standard_adapters())
    name = "r4-alpha8-standard"
    for command in ("merge", "stack"):
        out = f"huge_{command}.h5"
        done = ctx.driftlab_run("adapter", command, results, name, name,
                                "--weight", "1.7e308", "--weight", "1.7e308", "-o", out,
                                check=False)
        assert done.returncode == 2, (command, done.returncode, done.stderr)
        assert "the weights are too large; nothing was written" in done.stderr, done.stderr
        assert not os.path.exists(ctx.path(out)), command
        assert not os.path.exists(ctx.path(out + ".partial")), command
    # unmerge too, and a merge whose result is finite but whose round-trip
    # bound overflows, which would make the check meaningless
    ctx.driftlab_run("adapter", "merge", results, name, "-o", "huge_base.h5")
    runs = {"unmerge": ["unmerge", "huge_base.h5", results, name, name],
            "bound": ["merge", results, name, "r3-alpha2-none"]}
    for case, args in runs.items():
        out = f"huge_{case}_out.h5"
        done = ctx.driftlab_run("adapter", *args, "--weight", "1.7e308",
                                "--weight", "-1.7e308" if case == "bound" else "1.7e308",
                                "-o", out, check=False)
        assert done.returncode == 2, (case, done.returncode, done.stderr)
        assert "nothing was written" in done.stderr, (case, done.stderr)
        assert not os.path.exists(ctx.path(out)), case


def test_list_bad_file_prints_error_only(ctx):
    """list printed its header before failing on a bad adapter, skipped
    entries that are not groups, and echoed control bytes in names."""
    adapters = standard_adapters()
    cases = {}
    path = write_results(ctx.path("list_nan.h5"), adapters)
    with h5py.File(path, "r+") as f:
        f["lora/adapters/r3-alpha2-none/B"][0, 0] = np.nan
    cases["nan"] = (path, "r3-alpha2-none")
    path = write_results(ctx.path("list_dataset.h5"), adapters)
    with h5py.File(path, "r+") as f:
        f["lora/adapters/stray"] = np.zeros(3)
    cases["dataset"] = (path, "/lora/adapters/stray is not a group")
    path = write_results(ctx.path("list_escape.h5"), adapters)
    with h5py.File(path, "r+") as f:
        f["lora/adapters"].move("r3-alpha2-none", "r3\x1b[31m")
    cases["escape"] = (path, "r3\\x1B[31m")
    for case, (path, words) in cases.items():
        done = ctx.driftlab_run("adapter", "list", path, check=False)
        assert done.returncode == 2, (case, done.returncode, done.stderr)
        assert done.stdout == "", (case, done.stdout)
        assert words in done.stderr, (case, done.stderr)
        assert "\x1b" not in done.stderr, (case, done.stderr)


def test_subnormal_weight_is_accepted(ctx):
    """strtod reports ERANGE for 1e-320, which is a finite weight."""
    results = write_results(ctx.path("tiny_weight.h5"), standard_adapters())
    name = "r4-alpha8-standard"
    ctx.driftlab_run("adapter", "merge", results, name, "--weight", "1e-320",
                     "-o", "tiny_weight_out.h5")
    merged, _ = read_w(ctx.path("tiny_weight_out.h5"))
    assert_relative_close(merged, base_w() + 1e-320 * update_of(standard_adapters()[name]),
                          1e-12, "merge with a subnormal weight")
    done = ctx.driftlab_run("adapter", "merge", results, name, "--weight", "1e400",
                            "-o", "huge_weight_out.h5", check=False)
    assert done.returncode == 2, done.stderr


def test_quiet_prints_nothing(ctx):
    results = write_results(ctx.path("quiet.h5"), standard_adapters())
    names = ["r4-alpha8-standard", "r3-alpha2-none"]
    runs = [["merge", results, *names, "-o", "quiet_merged.h5"],
            ["unmerge", "quiet_merged.h5", results, *names, "-o", "quiet_base.h5"],
            ["stack", results, *names, "-o", "quiet_stacked.h5"]]
    for args in runs:
        done = ctx.driftlab_run("adapter", *args, "-q")
        assert done.stdout == "", (args, done.stdout)
        assert done.stderr == "", (args, done.stderr)


# ---- stack --------------------------------------------------------------


def test_stack_agrees_with_merges_in_both_orders(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("stack.h5"), adapters)
    names = ["r4-alpha8-standard", "r2-alpha4-standard", "r3-alpha2-none"]
    weights = [1.0, -0.5, 2.0]
    args = [arg for weight in weights for arg in ("--weight", repr(weight))]
    done = ctx.driftlab_run("adapter", "stack", results, *names, *args, "-o", "stacked.h5")

    # the svd adapter brings its start factors as r more columns
    rank = 4 + 2 * 2 + 3
    with h5py.File(ctx.path("stacked.h5"), "r") as f:
        assert np.array_equal(f["lora/base/W"][()], base_w())
        g = f["lora/adapters/stacked"]
        assert g["B"].shape == (D, rank)
        assert g["A"].shape == (rank, N)
        assert g.attrs["rank"] == rank
        assert g.attrs["scale"] == 1.0
        assert g.attrs["alpha"] == 1.0
        assert g.attrs["scaling"] == "none"
        assert g.attrs["init"] == "stacked"
        assert list(g.attrs["sources"]) == names
        assert list(g.attrs["weights"]) == weights
        stacked_update = g["B"][()] @ g["A"][()]

    w = base_w()
    chosen = [adapters[n] for n in names]
    tolerance = stack_tolerance(w, chosen, weights, rank)
    assert abs(number_after("tolerance", done.stdout) - tolerance) <= 1e-6 * tolerance
    for label in ("max|W + stacked - merge first to last|",
                  "max|W + stacked - merge last to first|",
                  "max|merge first to last - merge last to first|"):
        assert number_after(label, done.stdout) <= tolerance, done.stdout
    expected = w + sum(k * update_of(a) for a, k in zip(chosen, weights))
    assert np.abs(w + stacked_update - expected).max() <= tolerance

    # the stacked file works with list and merge like a results file
    listed = ctx.driftlab_run("adapter", "list", "stacked.h5")
    assert re.search(rf"^stacked\s+{rank}\s", listed.stdout, re.M), listed.stdout
    ctx.driftlab_run("adapter", "merge", "stacked.h5", "stacked", "-o", "stacked_merged.h5")
    merged, _ = read_w(ctx.path("stacked_merged.h5"))
    assert np.abs(merged - expected).max() <= tolerance


def test_stack_opposite_weights_cancel(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("stack_cancel.h5"), adapters)
    name = "r3-alpha2-none"
    ctx.driftlab_run("adapter", "stack", results, name, name, "--weight", "1",
                     "--weight", "-1", "-o", "cancel.h5")
    ctx.driftlab_run("adapter", "merge", "cancel.h5", "stacked", "-o", "cancel_merged.h5")
    merged, _ = read_w(ctx.path("cancel_merged.h5"))
    # one dot product sums s B A and -s B A, so only rounding remains
    adapter = adapters[name]
    tolerance = stack_tolerance(base_w(), [adapter, adapter], [1.0, -1.0], 6)
    assert np.abs(merged - base_w()).max() <= tolerance


# ---- real driftlab output -----------------------------------------------

REAL_CONFIG = """\
[experiment]
seeds = 2

[lora]
D = 14
N = 9
task_rank = 2
rank = 1, 3
alpha = 0, 4
scaling = standard, rslora
init = {init}
steps = 30
"""


def run_real(ctx, init, alphas="0, 4"):
    """Run a small [lora] config and return the path of its results.h5."""
    text = REAL_CONFIG.format(init=init).replace("alpha = 0, 4", f"alpha = {alphas}")
    config = ctx.write_config(f"real_{init}.ini", text)
    ctx.driftlab_run("run", config, "-o", f"real_{init}", "-q", "--no-render")
    return ctx.path(f"real_{init}", "results.h5")


def read_stored(results):
    """The base W, every stored adapter and the metrics they index."""
    with h5py.File(results, "r") as f:
        lora = f["lora"]
        adapters = {}
        for name, g in lora["adapters"].items():
            adapter = {key: g[key][()] for key in g}
            adapter["attrs"] = dict(g.attrs)
            adapters[name] = adapter
        coords = {key: list(lora[key][()]) for key in ("rank", "alpha", "scaling")}
        coords["scaling"] = [v.decode() if isinstance(v, bytes) else v
                             for v in coords["scaling"]]
        return {
            "w": lora["base/W"][()],
            "adapters": adapters,
            "coords": coords,
            "singular_values": lora["singular_values"][()],
            "parameter_count": lora["parameter_count"][()],
        }


def metric_index(stored, attrs):
    coords = stored["coords"]
    return (coords["rank"].index(attrs["rank"]), coords["alpha"].index(attrs["alpha"]),
            coords["scaling"].index(attrs["scaling"]), 0)


def test_real_output_lists_and_merges_every_adapter(ctx):
    results = run_real(ctx, "kaiming")
    stored = read_stored(results)
    listed = ctx.driftlab_run("adapter", "list", results).stdout
    rows = {line.split()[0]: line.split() for line in listed.splitlines()[2:]}
    assert list(rows) == list(stored["adapters"]), listed

    w = stored["w"]
    for name, adapter in stored["adapters"].items():
        index = metric_index(stored, adapter["attrs"])
        assert int(rows[name][6]) == stored["parameter_count"][index], name
        out = f"real_{name}.h5"
        ctx.driftlab_run("adapter", "merge", results, name, "-o", out)
        merged, _ = read_w(ctx.path(out))
        if adapter["attrs"]["alpha"] == 0:
            assert np.array_equal(merged, w), f"{name}: alpha 0 changed W"
            continue
        assert_relative_close(merged, w + update_of(adapter), 1e-12, name)
        # the sweep's own singular values of the learned update
        expected = stored["singular_values"][index]
        found = np.linalg.svd(merged - w, compute_uv=False)
        assert np.abs(found - expected).max() <= 1e-12 * expected.max() + 1e-14, name


def test_real_svd_output_merges_with_residual(ctx):
    results = run_real(ctx, "svd", alphas="0.5, 4")
    stored = read_stored(results)
    w = stored["w"]
    names = list(stored["adapters"])
    for name in names:
        adapter = stored["adapters"][name]
        assert "B_init" in adapter, name
        assert adapter["attrs"]["init"] == "svd", name
        out = f"real_svd_{name}.h5"
        ctx.driftlab_run("adapter", "merge", results, name, "-o", out)
        merged, _ = read_w(ctx.path(out))
        s = adapter["attrs"]["scale"]
        expected = w - s * adapter["B_init"] @ adapter["A_init"] + s * adapter["B"] @ adapter["A"]
        assert_relative_close(merged, expected, 1e-12, name)
        singular = stored["singular_values"][metric_index(stored, adapter["attrs"])]
        found = np.linalg.svd(merged - w, compute_uv=False)
        assert np.abs(found - singular).max() <= 1e-12 * singular.max() + 1e-14, name

    # all of them merged, unmerged and stacked
    weights = [0.5, -1.0, 2.0, 0.25, 1.0, -0.5, 1.5, 3.0][:len(names)]
    args = [arg for weight in weights for arg in ("--weight", repr(weight))]
    done = ctx.driftlab_run("adapter", "merge", results, *names, *args, "-o", "real_all.h5")
    chosen = [stored["adapters"][n] for n in names]
    bound = round_trip_bound(w, chosen, weights)
    assert number_after("max|W_rt - W|", done.stdout) <= bound
    ctx.driftlab_run("adapter", "unmerge", "real_all.h5", results, *names, *args,
                     "-o", "real_back.h5")
    assert np.abs(read_w(ctx.path("real_back.h5"))[0] - w).max() <= bound

    done = ctx.driftlab_run("adapter", "stack", results, *names, *args, "-o",
                            "real_stack.h5")
    rank = 2 * sum(int(a["attrs"]["rank"]) for a in chosen)
    tolerance = stack_tolerance(w, chosen, weights, rank)
    assert number_after("stacked rank", done.stdout) == rank
    expected = w + sum(k * update_of(a) for a, k in zip(chosen, weights))
    with h5py.File(ctx.path("real_stack.h5"), "r") as f:
        stacked = f["lora/adapters/stacked/B"][()] @ f["lora/adapters/stacked/A"][()]
    assert np.abs(w + stacked - expected).max() <= tolerance


# ---- bad input ----------------------------------------------------------


def broken(change):
    """standard_adapters() with change applied to r4-alpha8-standard."""
    adapters = standard_adapters()
    change(adapters["r4-alpha8-standard"])
    return adapters


def set_item(key, value):
    def change(adapter):
        if value is None:
            del adapter[key]
        else:
            adapter[key] = value
    return change


def set_attr(key, value):
    def change(adapter):
        adapter["attrs"][key] = value
    return change


def nan_in_a(adapter):
    adapter["A"] = adapter["A"].copy()
    adapter["A"][1, 2] = np.nan


BAD_FILES = {
    # name: (adapters, words the message must contain)
    "b_wrong_d": (broken(set_item("B", np.ones((D - 1, 4)))),
                  ["/lora/adapters/r4-alpha8-standard:", f"B is {D - 1} x 4",
                   f"must be {D} x r"]),
    "a_wrong_n": (broken(set_item("A", np.ones((4, N + 2)))),
                  ["/lora/adapters/r4-alpha8-standard:", f"A is 4 x {N + 2}",
                   f"must be r x {N}"]),
    "rank_attribute": (broken(set_attr("rank", np.int64(3))),
                       ["/lora/adapters/r4-alpha8-standard/B", "rank", "3"]),
    "missing_a": (broken(set_item("A", None)),
                  ["/lora/adapters/r4-alpha8-standard/A", "missing"]),
    "non_finite": (broken(nan_in_a),
                   ["/lora/adapters/r4-alpha8-standard/A[1][2]", "nan", "finite"]),
    "float32": (broken(lambda a: a.update(B=a["B"].astype(np.float32))),
                ["/lora/adapters/r4-alpha8-standard/B", "float32", "float64"]),
    "integer": (broken(lambda a: a.update(A=np.ones((4, N), dtype=np.int64))),
                ["/lora/adapters/r4-alpha8-standard/A", "int64", "float64"]),
    "scale": (broken(set_attr("scale", 3.0)),
              ["scale", "3", "alpha 8", "standard", "give 2"]),
    "scaling_name": (broken(set_attr("scaling", "linear")),
                     ["scaling", "linear", "standard, rslora or none"]),
}


def assert_rejected(ctx, args, words, output):
    done = ctx.driftlab_run(*args, check=False)
    assert done.returncode == 2, f"{args}: exit {done.returncode}\n{done.stderr}"
    for word in words:
        assert word in done.stderr, f"{args}: '{word}' missing from\n{done.stderr}"
    if output is not None:
        assert not os.path.exists(ctx.path(output)), f"{args}: {output} was written"
        assert not os.path.exists(ctx.path(output + ".partial")), f"{args}: partial left"


def test_bad_adapters_exit_2_naming_the_problem(ctx):
    for case, (adapters, words) in BAD_FILES.items():
        results = write_results(ctx.path(f"bad_{case}.h5"), adapters)
        out = f"bad_{case}_out.h5"
        assert_rejected(ctx, ["adapter", "merge", results, "r4-alpha8-standard",
                              "-o", out], [results] + words, out)
        assert_rejected(ctx, ["adapter", "stack", results, "r3-alpha2-none",
                              "r4-alpha8-standard", "-o", out], words, out)


def test_svd_adapter_without_start_is_rejected(ctx):
    adapters = standard_adapters()
    del adapters["r2-alpha4-standard"]["A_init"]
    results = write_results(ctx.path("svd_missing.h5"), adapters)
    assert_rejected(ctx, ["adapter", "merge", results, "r2-alpha4-standard", "-o",
                          "svd_missing_out.h5"],
                    ["/lora/adapters/r2-alpha4-standard/A_init", "missing"],
                    "svd_missing_out.h5")


def test_unknown_name_lists_stored_names(ctx):
    adapters = standard_adapters()
    results = write_results(ctx.path("names.h5"), adapters)
    assert_rejected(ctx, ["adapter", "merge", results, "r5-alpha8-standard", "-o",
                          "names_out.h5"],
                    ["r5-alpha8-standard", "not found"] + list(adapters), "names_out.h5")


def test_file_without_lora_is_rejected(ctx):
    results = write_results(ctx.path("drift_only.h5"), {}, lora=False)
    assert_rejected(ctx, ["adapter", "list", results], [results, "/lora"], None)
    assert_rejected(ctx, ["adapter", "merge", results, "x", "-o", "drift_out.h5"],
                    [results, "/lora"], "drift_out.h5")


def test_base_of_wrong_dtype_is_rejected(ctx):
    results = write_results(ctx.path("base32.h5"), standard_adapters(),
                            w=base_w().astype(np.float32))
    assert_rejected(ctx, ["adapter", "list", results],
                    ["/lora/base/W", "float32", "float64"], None)


def test_output_equal_to_input_is_rejected(ctx):
    results = write_results(ctx.path("same.h5"), standard_adapters())
    with open(results, "rb") as f:
        before = f.read()
    os.link(results, ctx.path("same_link.h5"))
    for out in ("same.h5", "./same.h5", "same_link.h5"):
        assert_rejected(ctx, ["adapter", "merge", "same.h5", "r3-alpha2-none", "-o", out],
                        ["-o", out, "input"], None)
    assert_rejected(ctx, ["adapter", "merge", "same.h5.partial", "r3-alpha2-none", "-o",
                          "same.h5"], ["input"], None)
    ctx.driftlab_run("adapter", "merge", results, "r3-alpha2-none", "-o", "merged_a.h5")
    assert_rejected(ctx, ["adapter", "unmerge", "merged_a.h5", results, "r3-alpha2-none",
                          "-o", "merged_a.h5"], ["input"], None)
    with open(results, "rb") as f:
        assert f.read() == before, "a rejected command changed its input"


def test_unmerge_rejects_merged_of_other_shape(ctx):
    results = write_results(ctx.path("shape.h5"), standard_adapters())
    with h5py.File(ctx.path("other_shape.h5"), "w") as f:
        f["W"] = np.zeros((D, N + 1))
    assert_rejected(ctx, ["adapter", "unmerge", "other_shape.h5", results,
                          "r3-alpha2-none", "-o", "shape_out.h5"],
                    ["other_shape.h5", f"{D} x {N + 1}", f"{D} x {N}"], "shape_out.h5")


def test_unwritable_output_exits_1(ctx):
    results = write_results(ctx.path("unwritable.h5"), standard_adapters())
    for command in (["merge", results, "r3-alpha2-none"],
                    ["stack", results, "r3-alpha2-none", "r4-alpha8-standard"]):
        done = ctx.driftlab_run("adapter", *command, "-o", "no-such-folder/out.h5",
                                check=False)
        assert done.returncode == 1, f"{command}: exit {done.returncode}\n{done.stderr}"
        assert "no-such-folder/out.h5.partial" in done.stderr, done.stderr
        assert not os.path.exists(ctx.path("no-such-folder")), command


def test_usage_errors_exit_2(ctx):
    results = write_results(ctx.path("usage.h5"), standard_adapters())
    cases = [
        ["adapter"],
        ["adapter", "frobnicate"],
        ["adapter", "list"],
        ["adapter", "merge", results, "r3-alpha2-none"],
        ["adapter", "merge", results, "-o", "usage_out.h5"],
        ["adapter", "merge", results, "r3-alpha2-none", "--weight", "1", "--weight", "2",
         "-o", "usage_out.h5"],
        ["adapter", "merge", results, "r3-alpha2-none", "--weight", "nan", "-o",
         "usage_out.h5"],
        ["adapter", "stack", results, "r3-alpha2-none", "-o", "usage_out.h5"],
        ["adapter", "list", "no-such.h5"],
    ]
    for args in cases:
        done = ctx.driftlab_run(*args, check=False)
        assert done.returncode == 2, f"{args}: exit {done.returncode}\n{done.stderr}"
        if args[1:2] == ["stack"]:
            assert "got 1 adapter name;" in done.stderr, done.stderr
        assert done.stderr.strip(), f"{args}: no message"
        assert not os.path.exists(ctx.path("usage_out.h5")), args


def test_help_describes_adapter_commands(ctx):
    done = ctx.driftlab_run("help", "adapter")
    for word in ("list", "merge", "unmerge", "stack", "--weight", "-o"):
        assert word in done.stdout, word
    assert "adapter" in ctx.driftlab_run("--help").stdout


if __name__ == "__main__":
    run_tests(globals())
