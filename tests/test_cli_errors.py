"""The command line: bad input exits 2 with the file, line, key and value
named and writes nothing; help, version, check and info work."""
import os
import re

from harness import run_tests

GOOD = """\
[experiment]
seeds = 3

[drift]
temperature = 0, 1
steps = 5
"""

BAD_CONFIGS = {
    # name: (config text, line of the error, words the message must contain)
    "negative_temperature": (GOOD.replace("temperature = 0, 1", "temperature = -0.5"),
                             5, ["temperature", "-0.5", ">= 0"]),
    "unknown_key": (GOOD.replace("steps = 5", "stpes = 5"), 6, ["stpes", "steps"]),
    "section_typo": (GOOD.replace("[drift]", "[drfit]"), 4, ["drfit", "drift"]),
    "not_a_number": (GOOD.replace("steps = 5", "steps = five"), 6, ["steps", "five"]),
    "bad_range": (GOOD.replace("temperature = 0, 1", "temperature = 0:2:0"), 5,
                  ["temperature", "0:2:0"]),
}


def assert_nothing_written(ctx, folder):
    assert not os.path.exists(ctx.path(folder)), f"{folder} was created for a bad config"
    assert not os.path.exists(ctx.path("output")), "output/ was created for a bad config"


def test_bad_configs_exit_2_naming_file_and_line(ctx):
    for name, (text, line, words) in BAD_CONFIGS.items():
        config = ctx.write_config(name + ".ini", text)
        done = ctx.driftlab_run("run", config, "-o", name, check=False)
        assert done.returncode == 2, f"{name}: exit {done.returncode}\n{done.stderr}"
        assert f"{name}.ini:{line}:" in done.stderr, f"{name}: no file:line in\n{done.stderr}"
        for word in words:
            assert word in done.stderr, f"{name}: '{word}' missing from\n{done.stderr}"
        assert_nothing_written(ctx, name)


def test_check_rejects_bad_configs_too(ctx):
    for name, (text, line, _) in BAD_CONFIGS.items():
        config = ctx.write_config("check_" + name + ".ini", text)
        done = ctx.driftlab_run("check", config, check=False)
        assert done.returncode == 2, name
        assert f"check_{name}.ini:{line}:" in done.stderr, done.stderr


def test_bad_config_keeps_previous_results(ctx):
    good = ctx.write_config("keep.ini", GOOD)
    ctx.driftlab_run("run", good, "-o", "keep", "-q")
    with open(ctx.path("keep", "results.h5"), "rb") as f:
        before = f.read()
    ctx.write_config("keep.ini", GOOD.replace("steps = 5", "steps = -1"))
    done = ctx.driftlab_run("run", good, "-o", "keep", check=False)
    assert done.returncode == 2
    with open(ctx.path("keep", "results.h5"), "rb") as f:
        assert f.read() == before, "a rejected config changed the old results"


def test_missing_config_exits_2(ctx):
    done = ctx.driftlab_run("run", "no-such.ini", check=False)
    assert done.returncode == 2
    assert "no-such.ini" in done.stderr


def test_usage_errors_exit_2(ctx):
    config = ctx.write_config("usage.ini", GOOD)
    for args in (["frobnicate"], ["run", config, "-j", "0"], ["run", config, "--format", "gif"],
                 ["run", config, "--no-such-option"], ["check"], ["info"], []):
        done = ctx.driftlab_run(*args, check=False)
        assert done.returncode == 2, f"{args}: exit {done.returncode}"
        assert done.stderr.strip(), f"{args}: no message"


def test_help_and_version(ctx):
    for args in (["--help"], ["run", "--help"], ["check", "--help"], ["info", "--help"],
                 ["help", "run"]):
        done = ctx.driftlab_run(*args)
        assert done.stdout.startswith("usage: driftlab"), args
    done = ctx.driftlab_run("--version")
    assert done.stdout.startswith("driftlab "), done.stdout


def test_check_prints_plan_and_writes_nothing(ctx):
    config = ctx.write_config("plan.ini", GOOD)
    done = ctx.driftlab_run("check", config)
    assert "temperature (2 values): 0, 1" in done.stdout, done.stdout
    assert "runs      6 (2 sweep points x 3 seeds)" in done.stdout, done.stdout
    assert not os.path.exists(ctx.path("output"))


def test_plan_over_output_limit_is_rejected_before_running(ctx):
    config = ctx.write_config("huge.ini", GOOD.replace(
        "seeds = 3", "seeds = 3\nmax_output_mb = 0.001"))
    done = ctx.driftlab_run("run", config, "-o", "huge", check=False)
    assert done.returncode == 2, done.stderr
    assert "max_output_mb" in done.stderr, done.stderr
    assert "estimated 0 MB" not in done.stderr, done.stderr
    assert not os.path.exists(ctx.path("huge")), "a rejected plan created its folder"
    done = ctx.driftlab_run("check", config, check=False)
    assert done.returncode == 2
    assert "max_output_mb = 0.001" in done.stderr, done.stderr


LORA = """\
[experiment]
seeds = 2
{limit}

[lora]
D = 40
N = 24
task_rank = 2
rank = 1, 2, 8
alpha = 1, 4
scaling = standard, none
steps = 5
"""


def test_lora_plan_over_limits_is_rejected_before_running(ctx):
    for limit, key in (("max_memory_mb = 0.01", "max_memory_mb"),
                       ("max_output_mb = 0.01", "max_output_mb")):
        config = ctx.write_config("lora_huge.ini", LORA.format(limit=limit))
        done = ctx.driftlab_run("run", config, "-o", "lora_huge", check=False)
        assert done.returncode == 2, done.stderr
        assert f"{key} = 0.01" in done.stderr, done.stderr
        assert "MB for [lora]" in done.stderr, done.stderr
        assert not os.path.exists(ctx.path("lora_huge")), "a rejected plan created its folder"
        done = ctx.driftlab_run("check", config, check=False)
        assert done.returncode == 2, done.stderr


def test_check_lora_only_seeds(ctx):
    config = ctx.write_config("lora_seeds.ini", LORA.format(limit="").replace(
        "[lora]", "[lora]\nseeds = 3, 11, 42"))
    done = ctx.driftlab_run("check", config)
    assert "lora seeds 3 values: 3, 11, 42" in done.stdout, done.stdout
    assert "\nseeds " not in done.stdout, "the [experiment] seeds of a LoRA-only config"
    assert "with the drift sweep" not in done.stdout, done.stdout
    assert "lora axis scaling (2 values): standard, none" in done.stdout, done.stdout


def test_lora_output_estimate_is_close_to_the_file(ctx):
    """The estimate counts the stored values; the file adds HDF5 metadata
    and attributes, so it is somewhat larger but of the same size."""
    config = ctx.write_config("lora_size.ini", LORA.format(limit="")
                              .replace("D = 40", "D = 200")
                              .replace("rank = 1, 2, 8", "rank = 1, 2, 8, 16"))
    done = ctx.driftlab_run("check", config)
    estimate = float(re.search(r"lora output about ([0-9.]+) MB", done.stdout).group(1))
    ctx.driftlab_run("run", config, "-o", "lora_size", "-q", "--no-render")
    actual = os.path.getsize(ctx.path("lora_size", "results.h5")) / 2**20
    assert 0.5 * actual <= estimate <= 1.5 * actual, (estimate, actual)


def test_bad_output_requests_write_nothing(ctx):
    config = ctx.write_config("requests.ini", GOOD)
    cases = [
        (["-o", ""], 2, "empty"),
        (["-o", "dup", "--format", "svg,svg"], 2, "twice"),
        (["-o", "nothing-to-resume", "--resume"], 2, "results.h5.partial not found"),
    ]
    for args, status, words in cases:
        done = ctx.driftlab_run("run", config, *args, check=False)
        assert done.returncode == status, f"{args}: exit {done.returncode}\n{done.stderr}"
        assert words in done.stderr, f"{args}: {done.stderr}"
    assert not os.path.exists(ctx.path("dup"))
    assert not os.path.exists(ctx.path("nothing-to-resume"))


def test_results_path_that_is_a_folder_fails_before_running(ctx):
    config = ctx.write_config("folder.ini", GOOD)
    os.makedirs(ctx.path("taken", "results.h5"))
    done = ctx.driftlab_run("run", config, "-o", "taken", check=False)
    assert done.returncode == 1, done.stderr
    assert "not a regular file" in done.stderr, done.stderr
    assert not os.path.exists(ctx.path("taken", "results.h5.partial"))


def test_check_explains_extra_arguments(ctx):
    config = ctx.write_config("extra.ini", GOOD)
    done = ctx.driftlab_run("check", config, "-j", "2", check=False)
    assert done.returncode == 2
    assert "check takes one config file" in done.stderr, done.stderr


def test_check_shortens_long_axes(ctx):
    config = ctx.write_config("long-axis.ini", GOOD.replace(
        "temperature = 0, 1", "temperature = 0:1:1001"))
    done = ctx.driftlab_run("check", config)
    line = next(l for l in done.stdout.splitlines() if "temperature" in l)
    assert "(991 more)" in line, line
    assert line.endswith("0.999, 1"), line
    assert len(line) < 200, line
    assert "runs      3003 (1001 sweep points x 3 seeds)" in done.stdout, done.stdout


def test_one_point_reads_in_the_singular(ctx):
    config = ctx.write_config("single.ini", GOOD.replace("temperature = 0, 1", "temperature = 1"))
    done = ctx.driftlab_run("check", config)
    assert "(1 sweep point x 3 seeds)" in done.stdout, done.stdout


def test_info_describes_results(ctx):
    config = ctx.write_config("info.ini", GOOD)
    ctx.driftlab_run("run", config, "-o", "info", "-q")
    done = ctx.driftlab_run("info", ctx.path("info", "results.h5"))
    assert re.search(r"temperature +2 values: 0, 1", done.stdout), done.stdout
    assert "6 of 6 runs done" in done.stdout, done.stdout


def test_info_separates_long_axis_names(ctx):
    config = ctx.write_config("long-name.ini", GOOD + "repetition_penalty = 1, 2\n")
    ctx.driftlab_run("run", config, "-o", "long-name", "-q")
    done = ctx.driftlab_run("info", ctx.path("long-name", "results.h5"))
    assert re.search(r"repetition_penalty +2 values: 1, 2", done.stdout), done.stdout


def test_info_rejects_a_file_that_is_not_results(ctx):
    path = ctx.write_config("not-results.h5", "plain text")
    done = ctx.driftlab_run("info", path, check=False)
    assert done.returncode != 0
    assert "not-results.h5" in done.stderr


if __name__ == "__main__":
    run_tests(globals())
