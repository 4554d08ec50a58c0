"""driftlab render and info on crafted /lora groups.

Each test copies the results.h5 of a real small run and changes it with
h5py into a file driftlab never writes: a huge declared shape, an
attribute or value out of range, a repeated coordinate value, or a string
with terminal escapes. Then it runs render and info on the file. Both
must exit 1 without a crash or a sanitizer report, name the dataset and
the bad value in the message, print no raw control bytes, and leave no
report, manifest or figure behind. Files that driftlab does write
(NaN relative errors where dW* = 0, a KL a few 1e-17 below 0) must still
render.

Needs numpy and h5py.

Run by CTest as
    python3 test_lora_read_errors.py --driftlab BIN --configs DIR --workdir DIR
"""
import os
import shutil

import h5py
import numpy as np

from harness import run_tests

# Two scalings, so that a repeated scaling can be made; seeds 5, 9, 11.
LORA = """\
[experiment]
seed = 3
seeds = 5, 9, 11
formats = svg

[lora]
D = 16
N = 8
task_rank = 2
rank = 1, 2, 4
alpha = 0, 2, 8
scaling = standard, rslora
steps = 40
curve_length = 9
{extra}
[figures]
png_ppi = 50
"""

SANITIZER_MARKERS = ["AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer"]


def real_run(ctx, name="real", extra=""):
    """Run the config once per test file and return its results.h5."""
    cache = f"_results_{name}"
    if not hasattr(ctx, cache):
        config = ctx.write_config(name + ".ini", LORA.format(extra=extra))
        ctx.driftlab_run("run", config, "-o", name, "-q", "--no-render")
        setattr(ctx, cache, ctx.path(name, "results.h5"))
    return getattr(ctx, cache)


def crafted_copy(ctx, name, source=None):
    """Copy the real results.h5 to WORKDIR/NAME/results.h5 and return it."""
    folder = ctx.path(name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    copy = os.path.join(folder, "results.h5")
    shutil.copyfile(source or real_run(ctx), copy)
    return copy


def assert_clean_exit(done, what):
    assert done.returncode >= 0, f"{what} was killed by signal {-done.returncode}"
    for marker in SANITIZER_MARKERS:
        assert marker not in done.stderr, f"{what}: sanitizer report:\n{done.stderr}"
    for stream in (done.stdout, done.stderr):
        assert "\x1b" not in stream, f"{what} printed ESC: {stream!r}"
        assert "\x07" not in stream, f"{what} printed BEL: {stream!r}"


def assert_rejected(ctx, path, *expected):
    """Run render and info on path: both exit 1, name every expected text
    in the message, and leave nothing that claims to be complete."""
    out = os.path.join(os.path.dirname(path), "out")
    render = ctx.driftlab_run("render", path, "-o", out, check=False)
    assert_clean_exit(render, "render")
    assert render.returncode == 1, f"render exited {render.returncode}:\n{render.stderr}"
    for text in expected:
        assert text in render.stderr, f"render: {text!r} not in:\n{render.stderr}"
    for name in ("report.html", "report.pdf", "manifest.json"):
        assert not os.path.exists(os.path.join(out, name)), f"render left {name}"
    figures = os.path.join(out, "figures")
    assert not os.path.isdir(figures) or not os.listdir(figures), \
        f"render left figures: {os.listdir(figures)}"

    info = ctx.driftlab_run("info", path, check=False)
    assert_clean_exit(info, "info")
    assert info.returncode == 1, f"info exited {info.returncode}:\n{info.stderr}"
    for text in expected:
        assert text in info.stderr, f"info: {text!r} not in:\n{info.stderr}"
    assert info.stdout == "", f"info printed a partial summary:\n{info.stdout}"
    return render.stderr


def assert_renders(ctx, path):
    out = os.path.join(os.path.dirname(path), "out")
    render = ctx.driftlab_run("render", path, "-o", out, "-q", check=False)
    assert_clean_exit(render, "render")
    assert render.returncode == 0, render.stderr
    assert os.path.exists(os.path.join(out, "manifest.json"))
    info = ctx.driftlab_run("info", path, check=False)
    assert_clean_exit(info, "info")
    assert info.returncode == 0, info.stderr


def coordinate_text(f, name, index):
    """The coordinate value as the messages print it, read with h5py."""
    value = f["lora"][name][index]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    return f"{value:g}"


def position(f, dims_and_indices):
    """'rank 2, alpha 8, ...' for [(coordinate, index), ...]."""
    parts = []
    for name, index in dims_and_indices:
        if name in ("rank", "alpha", "scaling", "seed"):
            parts.append(f"{name} {coordinate_text(f, name, index)}")
        elif name == "step_sample":
            parts.append(f"step {coordinate_text(f, name, index)}")
        else:
            parts.append(f"{name} index {index}")
    return "(" + ", ".join(parts) + ")"


def unwritten(group, name, shape, dtype="f8"):
    """Create a chunked dataset of shape whose chunks are never written,
    so the file stays small whatever the shape."""
    chunks = tuple(min(n, 64) for n in shape)
    return group.create_dataset(name, shape=shape, dtype=dtype, chunks=chunks)


def replace_coordinate(group, name, shape, dtype="i8"):
    """Replace (or add) coordinate NAME with an unwritten one of shape, for the
    length checks (datasets labelled by the old one keep their labels)."""
    if name in group:
        del group[name]
    coordinate = unwritten(group, name, shape, dtype)
    coordinate.make_scale(name)
    return coordinate


# ---- sizes ----


def test_phi_of_overflowing_shape_is_rejected(ctx):
    # D = N = 2^30 and every rank 2^30, with coordinates of those lengths,
    # so every length matches; phi declares 3 x 2 x 3 x 2^30 x 2^30 values,
    # whose count in bytes wraps around to 0 in 64 bits
    path = crafted_copy(ctx, "phi_overflow")
    big = 2**30
    with h5py.File(path, "r+") as f:
        group = f["lora"]
        group.attrs["D"] = np.int64(big)
        group.attrs["N"] = np.int64(big)
        strip_optional(group)
        replace_coordinate(group, "singular_index", (big,))
        replace_coordinate(group, "token", (big,))
        group["rank"][...] = [big, big, big]
        n_alpha, n_scaling, n_seed = (len(group[n]) for n in ("alpha", "scaling", "seed"))
        del group["phi"]
        replace_coordinate(group, "phi_i", (big,))
        replace_coordinate(group, "phi_j", (big,))
        phi = unwritten(group, "phi", (n_alpha, n_scaling, n_seed, big, big))
        for dim, label in enumerate(["alpha", "scaling", "seed", "phi_i", "phi_j"]):
            phi.dims[dim].attach_scale(group[label])
    assert (n_alpha * n_scaling * n_seed * big * big * 8) % 2**64 == 0
    assert os.path.getsize(path) < 1 << 22
    assert_rejected(ctx, path, "/lora: attribute D is 1073741824",
                    "expected an integer from 1 to 1000000")


def strip_optional(group):
    """Delete the spectra, the probes, their coordinates and the stored
    base, which are optional, so that D and N can change without resizing
    them."""
    for name in ("singular_values", "task_singular_values", "full_rank_singular_values",
                 "probe_adapted", "probe_base", "probe_teacher", "full_rank_probe", "base"):
        if name in group:
            del group[name]
    del group["singular_index"]
    del group["token"]


def test_phi_larger_than_budget_is_rejected(ctx):
    # D and N at the config's limit and ranks up to 10^6, so phi declares
    # 3 x 2 x 3 x 500000 x 1000000 values in a file of a few kilobytes
    path = crafted_copy(ctx, "phi_budget")
    with h5py.File(path, "r+") as f:
        group = f["lora"]
        group.attrs["D"] = np.int64(1000000)
        group.attrs["N"] = np.int64(1000000)
        strip_optional(group)
        group["rank"][...] = [500000, 750000, 1000000]
        n_alpha, n_scaling, n_seed = (len(group[n]) for n in ("alpha", "scaling", "seed"))
        del group["phi"]
        replace_coordinate(group, "phi_i", (500000,))
        replace_coordinate(group, "phi_j", (1000000,))
        phi = unwritten(group, "phi", (n_alpha, n_scaling, n_seed, 500000, 1000000))
        for dim, label in enumerate(["alpha", "scaling", "seed", "phi_i", "phi_j"]):
            phi.dims[dim].attach_scale(group[label])
    assert os.path.getsize(path) < 1 << 22
    assert_rejected(ctx, path, "/lora/phi: the dataset's shape 3 x 2 x 3 x 500000 x 1000000 "
                    "has more values than")


def test_huge_seed_coordinate_is_rejected(ctx):
    path = crafted_copy(ctx, "seed_budget")
    with h5py.File(path, "r+") as f:
        replace_coordinate(f["lora"], "seed", (2**40,))
    assert_rejected(ctx, path, "/lora/seed: the dataset's shape 1099511627776 has more "
                    "values than")


def test_dimension_of_int_max_is_rejected(ctx):
    # D + N in int overflows for D = N = 2^31 - 1
    path = crafted_copy(ctx, "int_max")
    with h5py.File(path, "r+") as f:
        f["lora"].attrs["D"] = np.int64(2**31 - 1)
        f["lora"].attrs["N"] = np.int64(2**31 - 1)
    assert_rejected(ctx, path, "/lora: attribute D is 2147483647")


def test_dimension_that_disagrees_with_the_base_is_rejected(ctx):
    # the shape figure and the parameter counts take D from the attribute
    path = crafted_copy(ctx, "d_versus_w")
    with h5py.File(path, "r+") as f:
        f["lora"].attrs["D"] = np.int64(1000000)
    assert_rejected(ctx, path, "/lora/base/W is 16 x 8, but the attributes D and N "
                    "of /lora say 1000000 x 8")


def test_task_rank_above_min_dimension_is_rejected(ctx):
    path = crafted_copy(ctx, "task_rank")
    with h5py.File(path, "r+") as f:
        f["lora"].attrs["task_rank"] = np.int64(9)
    assert_rejected(ctx, path, "/lora: attribute task_rank is 9",
                    "from 1 to 8 (min(D, N))")


def test_rank_above_min_dimension_is_rejected(ctx):
    path = crafted_copy(ctx, "rank_above")
    with h5py.File(path, "r+") as f:
        f["lora/rank"][2] = 9
    assert_rejected(ctx, path, "/lora/rank: value 9 at index 2 is invalid")


def test_fractional_rank_is_rejected(ctx):
    path = crafted_copy(ctx, "rank_fraction")
    with h5py.File(path, "r+") as f:
        del f["lora/rank"]
        rank = f["lora"].create_dataset("rank", data=np.array([1.0, 2.5, 4.0]))
        rank.make_scale("rank")
    # the datasets still carry the old scale's name, so only the value is wrong
    stderr = assert_rejected(ctx, path, "/lora/rank: value 2.5 at index 1 is invalid")
    assert "integers from 1 to 8" in stderr, stderr


def test_negative_seed_is_rejected(ctx):
    path = crafted_copy(ctx, "seed_negative")
    with h5py.File(path, "r+") as f:
        f["lora/seed"][0] = -1
    assert_rejected(ctx, path, "/lora/seed: value -1 at index 0 is invalid")


# ---- values ----


def set_value(path, name, index, value):
    with h5py.File(path, "r+") as f:
        data = f["lora"][name]
        array = data[()]
        array[index] = value
        data[...] = array


def dims_of(f, name):
    return [next(iter(dim.keys()), "") for dim in f["lora"][name].dims]


def assert_value_rejected(ctx, case, name, index, value, shown, rule):
    path = crafted_copy(ctx, case)
    set_value(path, name, index, value)
    with h5py.File(path, "r") as f:
        where = position(f, zip(dims_of(f, name), index))
    assert_rejected(ctx, path, f"/lora/{name}: value {shown} at {where} is invalid", rule)


def test_nan_eval_kl_is_rejected(ctx):
    assert_value_rejected(ctx, "eval_kl_nan", "eval_kl", (1, 2, 0, 1), np.nan, "nan",
                          "finite and >= -1e-12")


def test_negative_forgetting_is_rejected(ctx):
    assert_value_rejected(ctx, "forgetting_negative", "forgetting", (0, 1, 1, 2), -1e-6,
                          "-1e-06", "finite and >= -1e-12")


def test_nan_full_rank_eval_kl_is_rejected(ctx):
    assert_value_rejected(ctx, "full_rank_nan", "full_rank_eval_kl", (1,), np.nan, "nan",
                          "finite and >= -1e-12")


def test_negative_phi_is_rejected(ctx):
    assert_value_rejected(ctx, "phi_negative", "phi", (1, 0, 2, 0, 3), -5.0, "-5",
                          "phi is from 0 to 1 + 1e-9")


def test_huge_phi_is_rejected(ctx):
    assert_value_rejected(ctx, "phi_huge", "phi", (2, 1, 0, 0, 1), 1e300, "1e+300",
                          "phi is from 0 to 1 + 1e-9")


def test_negative_probe_teacher_is_rejected(ctx):
    assert_value_rejected(ctx, "probe_teacher", "probe_teacher", (2, 5), -1.0, "-1",
                          "a probability is from 0 to 1")


def test_huge_probe_base_is_rejected(ctx):
    assert_value_rejected(ctx, "probe_base", "probe_base", (0, 0), 1e300, "1e+300",
                          "a probability is from 0 to 1")


def test_probe_row_not_summing_to_one_is_rejected(ctx):
    path = crafted_copy(ctx, "probe_sum")
    with h5py.File(path, "r+") as f:
        data = f["lora/probe_adapted"]
        array = data[()]
        array[2, 1, 1, 0, :] *= 0.5
        total = array[2, 1, 1, 0, :].sum()
        data[...] = array
        where = position(f, [("rank", 2), ("alpha", 1), ("scaling", 1), ("seed", 0)])
    stderr = assert_rejected(ctx, path, f"/lora/probe_adapted: the softmax at {where} sums to",
                             "expected 1 within 1e-9")
    assert abs(total - 0.5) < 1e-9, total
    assert "sums to 0.5" in stderr, stderr


def test_negative_singular_value_is_rejected(ctx):
    assert_value_rejected(ctx, "sigma_negative", "singular_values", (1, 2, 0, 0, 1), -0.25,
                          "-0.25", "the values are finite and >= 0")


def test_negative_task_singular_value_is_rejected(ctx):
    assert_value_rejected(ctx, "task_sigma_negative", "task_singular_values", (1, 0), -2.0,
                          "-2", "the values are finite and >= 0")


def test_nan_loss_curve_is_rejected(ctx):
    assert_value_rejected(ctx, "loss_nan", "loss_curve", (0, 1, 0, 2, 4), np.nan, "nan",
                          "finite and >= -1e-12")


def test_infinite_full_rank_loss_curve_is_rejected(ctx):
    assert_value_rejected(ctx, "full_loss_inf", "full_rank_loss_curve", (1, 3), np.inf, "inf",
                          "finite and >= -1e-12")


def test_nan_relative_error_with_nonzero_task_is_rejected(ctx):
    assert_value_rejected(ctx, "relative_nan", "relative_error", (1, 1, 0, 0), np.nan, "nan",
                          "or NaN for a seed whose task_singular_values are all 0")


def test_negative_eckart_young_error_is_rejected(ctx):
    assert_value_rejected(ctx, "eckart_negative", "eckart_young_error", (0, 0, 1, 1), -0.5,
                          "-0.5", "a relative error is finite and >= 0")


def test_repeated_alpha_is_rejected(ctx):
    path = crafted_copy(ctx, "alpha_repeat")
    with h5py.File(path, "r+") as f:
        f["lora/alpha"][2] = f["lora/alpha"][1]
        shown = coordinate_text(f, "alpha", 1)
    assert_rejected(ctx, path, f"/lora/alpha: value {shown} at index 2 repeats index 1")


def test_repeated_scaling_is_rejected(ctx):
    path = crafted_copy(ctx, "scaling_repeat")
    with h5py.File(path, "r+") as f:
        f["lora/scaling"][1] = f["lora/scaling"][0]
        shown = coordinate_text(f, "scaling", 0)
    assert_rejected(ctx, path, f"/lora/scaling: value '{shown}' at index 1 repeats index 0")


def test_repeated_seed_is_rejected(ctx):
    path = crafted_copy(ctx, "seed_repeat")
    with h5py.File(path, "r+") as f:
        f["lora/seed"][2] = f["lora/seed"][0]
        shown = int(f["lora/seed"][0])
    assert_rejected(ctx, path, f"/lora/seed: value {shown} at index 2 repeats index 0")


def test_repeated_step_sample_is_rejected(ctx):
    path = crafted_copy(ctx, "step_repeat")
    with h5py.File(path, "r+") as f:
        f["lora/step_sample"][3] = f["lora/step_sample"][2]
        shown = int(f["lora/step_sample"][2])
    assert_rejected(ctx, path, f"/lora/step_sample: value {shown} at index 3 is invalid",
                    "the steps increase")


# ---- strings ----


def test_scaling_with_escape_sequence_is_rejected(ctx):
    path = crafted_copy(ctx, "scaling_escape")
    with h5py.File(path, "r+") as f:
        f["lora/scaling"][0] = "standard\x1b[31m"
    assert_rejected(ctx, path, "/lora/scaling: value 0 'standard\\x1B[31m' is invalid",
                    "UTF-8 without control characters")


def test_scaling_of_invalid_utf8_is_rejected(ctx):
    path = crafted_copy(ctx, "scaling_bytes")
    with h5py.File(path, "r+") as f:
        f["lora/scaling"][1] = b"rs\xff\xfelora"
    assert_rejected(ctx, path, "/lora/scaling: value 1 'rs\\xFF\\xFElora' is invalid")


def test_init_with_escape_sequence_is_rejected(ctx):
    path = crafted_copy(ctx, "init_escape")
    with h5py.File(path, "r+") as f:
        f["lora"].attrs["init"] = "svd\x1b]0;title\x07"
    assert_rejected(ctx, path, "/lora: attribute init 'svd\\x1B]0;title\\x07' is invalid")


def test_dimension_label_with_escape_is_shown_escaped(ctx):
    path = crafted_copy(ctx, "label_escape")
    with h5py.File(path, "r+") as f:
        group = f["lora"]
        values = group["eval_kl"][()]
        del group["eval_kl"]
        relabelled = group.create_dataset("eval_kl", data=values)
        fake = group.create_dataset("fake_rank", data=group["rank"][()])
        fake.make_scale("\x1b[2Jrank")
        relabelled.dims[0].attach_scale(fake)
        for dim, label in enumerate(["alpha", "scaling", "seed"], start=1):
            relabelled.dims[dim].attach_scale(group[label])
    assert_rejected(ctx, path, "/lora/eval_kl: dimension 0 is labelled '\\x1B[2Jrank', "
                    "expected 'rank'")


def test_info_and_render_reject_config_name_with_escape(ctx):
    """config_name reaches the terminal and report.html, so both commands
    reject control bytes in it and show them escaped."""
    path = crafted_copy(ctx, "config_name")
    with h5py.File(path, "r+") as f:
        f.attrs["config_name"] = "real\x1b[2J"
    for command in ("info", "render"):
        done = ctx.driftlab_run(command, path, check=False)
        assert_clean_exit(done, command)
        assert done.returncode == 1, done.stderr
        assert "/: attribute config_name 'real\\x1B[2J' is invalid" in done.stderr, \
            done.stderr
        assert done.stdout == "", done.stdout


def test_render_escapes_a_bad_drift_rule(ctx):
    """The /drift reader showed a crafted rule attribute raw in its error."""
    folder = ctx.path("drift_for_rule")
    config = ctx.write_config("drift_for_rule.ini",
                              "[experiment]\nseeds = 1\n[drift]\nsteps = 3\n")
    ctx.driftlab_run("run", config, "-o", folder, "-q", "--no-render")
    path = os.path.join(folder, "results.h5")
    with h5py.File(path, "r+") as f:
        f["drift"].attrs["rule"] = "x\x1b[31my"
    done = ctx.driftlab_run("render", path, check=False)
    assert done.returncode == 1, done.stderr
    assert "\x1b" not in done.stderr, done.stderr
    assert "attribute rule 'x\\x1B[31my' is invalid" in done.stderr, done.stderr


# ---- values driftlab writes ----


def test_real_file_renders(ctx):
    assert_renders(ctx, crafted_copy(ctx, "unchanged"))


def test_kl_just_below_zero_renders(ctx):
    # rounding leaves a KL of identical distributions a few 1e-17 below 0
    path = crafted_copy(ctx, "kl_rounding")
    set_value(path, "eval_kl", (0, 0, 0, 0), -3e-17)
    set_value(path, "full_rank_forgetting", (1,), -2e-17)
    assert_renders(ctx, path)


def test_zero_task_with_nan_relative_errors_renders(ctx):
    # task_scale = 0 makes dW* = 0, so every relative error is 0 / 0
    results = real_run(ctx, "zero_task", "task_scale = 0\n")
    with h5py.File(results, "r") as f:
        assert np.all(f["lora/task_singular_values"][()] == 0)
        assert np.all(np.isnan(f["lora/relative_error"][()]))
    assert_renders(ctx, crafted_copy(ctx, "zero_task_copy", results))


if __name__ == "__main__":
    run_tests(globals())
