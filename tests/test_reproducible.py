"""Reproducibility: thread count never changes a byte, and a run's results
depend only on its own parameters, not on the rest of the sweep."""
import hashlib

import h5py
import numpy as np

from harness import run_tests

SWEEP = """\
[experiment]
seed = 11
seeds = 6

[drift]
temperature = {temperatures}
top_p = 0.9, 1
steps = 20
keep_attention = 2
"""

PER_RUN = ["prompt_attention", "sink_attention", "attention_entropy", "lock_in",
           "tokens", "clusters", "half_life"]


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_thread_count_gives_identical_bytes(ctx):
    config = ctx.write_config("threads.ini", SWEEP.format(temperatures="0, 0.5, 1, 2"))
    ctx.driftlab_run("run", config, "-o", "one", "-j", "1", "-q", "--no-render")
    ctx.driftlab_run("run", config, "-o", "two", "-j", "2", "-q", "--no-render")
    ctx.driftlab_run("run", config, "-o", "three", "-j", "3", "-q", "--no-render")
    one = file_digest(ctx.path("one", "results.h5"))
    assert one == file_digest(ctx.path("two", "results.h5")), "1 and 2 threads differ"
    assert one == file_digest(ctx.path("three", "results.h5")), "1 and 3 threads differ"


def test_rerun_gives_identical_bytes(ctx):
    config = ctx.write_config("again.ini", SWEEP.format(temperatures="0.5, 1"))
    ctx.driftlab_run("run", config, "-o", "first", "-q")
    ctx.driftlab_run("run", config, "-o", "second", "-q")
    assert file_digest(ctx.path("first", "results.h5")) == \
        file_digest(ctx.path("second", "results.h5"))


def test_adding_a_temperature_leaves_other_runs_unchanged(ctx):
    both = ctx.write_config("both.ini", SWEEP.format(temperatures="0.5, 1.0"))
    single = ctx.write_config("single.ini", SWEEP.format(temperatures="1.0"))
    ctx.driftlab_run("run", both, "-o", "both", "-q")
    ctx.driftlab_run("run", single, "-o", "single", "-q")

    with h5py.File(ctx.path("both", "results.h5"), "r") as a, \
            h5py.File(ctx.path("single", "results.h5"), "r") as b:
        temperatures = list(a["drift/temperature"][()])
        assert temperatures == [0.5, 1.0]
        assert "temperature" not in b["drift"], "a single temperature is not an axis"
        assert a["drift"].attrs.get("temperature") is None
        assert float(b["drift"].attrs["temperature"]) == 1.0
        for name in PER_RUN:
            sweep = a["drift"][name][1]  # temperature index 1 is 1.0
            alone = b["drift"][name][()]
            assert sweep.shape == alone.shape, name
            np.testing.assert_array_equal(sweep, alone, err_msg=name)
        np.testing.assert_array_equal(a["drift/attention"][1], b["drift/attention"][()])


def test_seed_values_not_positions_key_the_runs(ctx):
    wide = ctx.write_config("wide.ini", SWEEP.format(temperatures="1").replace(
        "seeds = 6", "seeds = 0..5"))
    narrow = ctx.write_config("narrow.ini", SWEEP.format(temperatures="1").replace(
        "seeds = 6", "seeds = 3, 5").replace("keep_attention = 2", "keep_attention = 1"))
    ctx.driftlab_run("run", wide, "-o", "wide", "-q")
    ctx.driftlab_run("run", narrow, "-o", "narrow", "-q")
    with h5py.File(ctx.path("wide", "results.h5"), "r") as a, \
            h5py.File(ctx.path("narrow", "results.h5"), "r") as b:
        np.testing.assert_array_equal(a["drift/tokens"][:, [3, 5]], b["drift/tokens"][()])
        np.testing.assert_array_equal(a["drift/embedding"][[3, 5]], b["drift/embedding"][()])


def test_temperatures_of_a_seed_share_the_world(ctx):
    config = ctx.write_config("paired.ini", SWEEP.format(temperatures="0, 2"))
    ctx.driftlab_run("run", config, "-o", "paired", "-q")
    with h5py.File(ctx.path("paired", "results.h5"), "r") as f:
        tokens = f["drift/tokens"][()]
        prompt_length = int(f["drift"].attrs["prompt_length"])
        # the prompt is the same at every temperature and top_p of a seed
        for t in range(tokens.shape[0]):
            for p in range(tokens.shape[1]):
                np.testing.assert_array_equal(tokens[t, p, :, :prompt_length],
                                              tokens[0, 0, :, :prompt_length])
        # and differs between seeds
        assert not np.array_equal(tokens[0, 0, 0, :prompt_length],
                                  tokens[0, 0, 1, :prompt_length]) or \
            not np.array_equal(f["drift/embedding"][0], f["drift/embedding"][1])


if __name__ == "__main__":
    run_tests(globals())
