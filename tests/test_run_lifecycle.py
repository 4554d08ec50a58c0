"""A run's life: the progress line appears on a terminal only, an interrupt
keeps the finished runs for --resume, and the resumed file holds the same
data as an uninterrupted run."""
import os
import pty
import select
import signal
import subprocess
import time

import h5py
import numpy as np

from harness import run_tests

# Big enough that an interrupt lands mid-run on a fast machine (a few
# seconds on two cores), small enough for CI.
LONG = """\
[experiment]
seed = 5
seeds = 96

[drift]
clusters = 8
tokens_per_cluster = 16
d_model = 64
prompt_length = 16
steps = 400
temperature = 0:2:{temperatures}
keep_attention = 1
"""


def run_on_terminal(ctx, *args):
    """Run driftlab with stderr on a pseudo-terminal; return (status, text)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([ctx.driftlab, *args], cwd=ctx.workdir,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=follower)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(leader, 4096)
        except OSError:  # the pty closes when the process ends
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")


# A LoRA-only sweep of a few seconds on two cores.
LONG_LORA = """\
[experiment]
seed = 5
seeds = 4

[lora]
D = 96
N = 64
task_rank = 4
rank = 1..24
alpha = 4, 16
steps = 1500
"""


def test_progress_line_on_terminal_only(ctx):
    config = ctx.write_config("progress.ini", LONG.format(temperatures=2).replace(
        "steps = 400", "steps = 20"))
    status, text = run_on_terminal(ctx, "run", config, "-o", "tty")
    assert status == 0, text
    assert "runs 192/192" in text, text
    assert "runs/s" in text, text

    status, text = run_on_terminal(ctx, "run", config, "-o", "tty-quiet", "-q")
    assert status == 0, text
    assert text.strip() == "", f"-q printed {text!r}"

    done = ctx.driftlab_run("run", config, "-o", "piped")
    assert "runs/s" not in done.stderr, "progress printed to a pipe"


def test_interrupt_keeps_runs_and_resume_completes(ctx):
    config = ctx.write_config("long.ini", LONG.format(temperatures=8))
    ctx.driftlab_run("run", config, "-o", "whole", "-q")

    os.makedirs(ctx.path("cut"))
    with open(ctx.path("cut", "results.h5"), "wb") as f:
        f.write(b"an older result that must survive")
    process = subprocess.Popen([ctx.driftlab, "run", config, "-o", "cut", "-j", "2"],
                               cwd=ctx.workdir, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = ctx.path("cut", "results.h5.partial")
    deadline = time.monotonic() + 60
    while not os.path.exists(partial) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    if process.returncode == 0:
        raise AssertionError("the run finished before the interrupt; make LONG bigger")
    assert process.returncode == 1, stderr
    assert "--resume" in stderr, stderr
    assert "interrupt again to stop at once" in stderr, stderr
    assert "LoRA" not in stderr, "the message names LoRA fits for a drift-only config"
    assert os.path.exists(partial)
    with open(ctx.path("cut", "results.h5"), "rb") as f:
        assert f.read() == b"an older result that must survive"
    with h5py.File(partial, "r") as f:
        done = f["drift/run_done"][()]
        assert 0 < done.sum() < done.size, f"{done.sum()} of {done.size} runs done"

    ctx.driftlab_run("run", config, "-o", "cut", "--resume", "-q")
    assert not os.path.exists(partial)
    with h5py.File(ctx.path("whole", "results.h5"), "r") as a, \
            h5py.File(ctx.path("cut", "results.h5"), "r") as b:
        names = sorted(a["drift"].keys())
        assert names == sorted(b["drift"].keys())
        for name in names:
            np.testing.assert_array_equal(a["drift"][name][()], b["drift"][name][()],
                                          err_msg=name)


def test_interrupt_stops_a_lora_sweep_and_harms_nothing(ctx):
    config = ctx.write_config("long_lora.ini", LONG_LORA)
    os.makedirs(ctx.path("cut_lora"))
    with open(ctx.path("cut_lora", "results.h5"), "wb") as f:
        f.write(b"an older result that must survive")
    process = subprocess.Popen([ctx.driftlab, "run", config, "-o", "cut_lora", "-j", "2"],
                               cwd=ctx.workdir, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    if process.returncode == 0:
        raise AssertionError("the run finished before the interrupt; make LONG_LORA bigger")
    assert process.returncode == 1, stderr
    assert "interrupted before every LoRA fit finished" in stderr, stderr
    # only the fits in progress finish: far less than the whole sweep
    assert time.monotonic() - started < 5, stderr
    with open(ctx.path("cut_lora", "results.h5"), "rb") as f:
        assert f.read() == b"an older result that must survive"
    assert not os.path.exists(ctx.path("cut_lora", "results.h5.partial"))


def test_interrupt_stops_a_long_lora_fit_at_once(ctx):
    """A fit of 1e8 steps must not hold the first interrupt: training
    checks the stop request before every step."""
    config = ctx.write_config("endless_lora.ini", LONG_LORA.replace(
        "rank = 1..24", "rank = 2").replace("steps = 1500", "steps = 100000000")
        .replace("seeds = 4", "seeds = 1"))
    process = subprocess.Popen([ctx.driftlab, "run", config, "-o", "endless", "-j", "2"],
                               cwd=ctx.workdir, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("the first interrupt did not stop a long LoRA fit")
    assert process.returncode == 1, stderr
    assert "interrupted before every LoRA fit finished" in stderr, stderr
    assert time.monotonic() - started < 10, stderr


def test_double_interrupt_in_lora_phase_leaves_no_partial(ctx):
    """The LoRA fits of a config with [drift] run before the drift sweep
    opens its partial file, so a second interrupt, which ends the process
    at once, cannot leave a half-written HDF5 file behind."""
    config = ctx.write_config("mixed_long.ini", LONG_LORA.replace(
        "[lora]", "[drift]\nsteps = 4\nprompt_length = 4\n\n[lora]"))
    os.makedirs(ctx.path("mixed_cut"))
    with open(ctx.path("mixed_cut", "results.h5"), "wb") as f:
        f.write(b"an older result that must survive")
    process = subprocess.Popen([ctx.driftlab, "run", config, "-o", "mixed_cut", "-j", "2"],
                               cwd=ctx.workdir, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    assert process.returncode != 0
    assert not os.path.exists(ctx.path("mixed_cut", "results.h5.partial"))
    with open(ctx.path("mixed_cut", "results.h5"), "rb") as f:
        assert f.read() == b"an older result that must survive"


def test_resume_of_a_lora_only_config_fits_again(ctx):
    config = ctx.write_config("short_lora.ini", LONG_LORA.replace(
        "rank = 1..24", "rank = 1, 2").replace("steps = 1500", "steps = 5"))
    done = ctx.driftlab_run("run", config, "-o", "again", "--resume", "--no-render")
    assert "--resume fits every adapter again" in done.stderr, done.stderr
    with h5py.File(ctx.path("again", "results.h5"), "r") as f:
        assert f["lora/eval_kl"].shape == (2, 2, 1, 4)


def test_lora_resume_keeps_other_partial(ctx):
    """A LoRA-only config never leaves a partial file, so one that exists
    belongs to another run; --resume must not replace it."""
    config = ctx.write_config("short_lora2.ini", LONG_LORA.replace(
        "rank = 1..24", "rank = 1").replace("steps = 1500", "steps = 5"))
    os.makedirs(ctx.path("other_partial"))
    partial = ctx.path("other_partial", "results.h5.partial")
    with open(partial, "wb") as f:
        f.write(b"the partial file of another config")
    done = ctx.driftlab_run("run", config, "-o", "other_partial", "--resume", check=False)
    assert done.returncode == 2, done.stderr
    assert "keeps no partial file" in done.stderr, done.stderr
    with open(partial, "rb") as f:
        assert f.read() == b"the partial file of another config"


def test_second_run_into_a_busy_folder_stops_and_harms_nothing(ctx):
    config = ctx.write_config("busy.ini", LONG.format(temperatures=4))
    first = subprocess.Popen([ctx.driftlab, "run", config, "-o", "busy", "-q", "--no-render"],
                             cwd=ctx.workdir, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    partial = ctx.path("busy", "results.h5.partial")
    deadline = time.monotonic() + 60
    while not os.path.exists(partial) and time.monotonic() < deadline:
        time.sleep(0.01)
    second = ctx.driftlab_run("run", config, "-o", "busy", "-q", "--no-render", check=False)
    _, first_stderr = first.communicate(timeout=300)

    assert second.returncode == 1, second.stderr
    assert "another driftlab process" in second.stderr, second.stderr
    assert first.returncode == 0, first_stderr
    with h5py.File(ctx.path("busy", "results.h5"), "r") as f:
        assert f["drift/run_done"][()].all()
        np.testing.assert_array_equal(f["drift/temperature"][()], np.linspace(0, 2, 4))
        np.testing.assert_array_equal(f["drift/step"][()], np.arange(400))
        assert f["drift/attention"][()].shape[0] == 4


def test_partial_symlink_never_redirects_the_write(ctx):
    config = ctx.write_config("small.ini", LONG.format(temperatures=2).replace(
        "steps = 400", "steps = 5").replace("seeds = 96", "seeds = 2"))
    victim = ctx.path("victim.h5")
    with open(victim, "wb") as f:
        f.write(b"someone else's file")
    os.makedirs(ctx.path("linked"))
    os.symlink(victim, ctx.path("linked", "results.h5.partial"))
    ctx.driftlab_run("run", config, "-o", "linked", "-q", "--no-render")
    with open(victim, "rb") as f:
        assert f.read() == b"someone else's file"
    assert not os.path.islink(ctx.path("linked", "results.h5"))
    with h5py.File(ctx.path("linked", "results.h5"), "r") as f:
        assert f["drift/run_done"][()].all()


def test_more_threads_than_runs_gives_same_bytes(ctx):
    config = ctx.write_config("few.ini", LONG.format(temperatures=2).replace(
        "steps = 400", "steps = 5").replace("seeds = 96", "seeds = 1"))
    ctx.driftlab_run("run", config, "-o", "few-1", "-q", "-j", "1", "--no-render")
    ctx.driftlab_run("run", config, "-o", "few-4096", "-q", "-j", "4096", "--no-render")
    with open(ctx.path("few-1", "results.h5"), "rb") as a, \
            open(ctx.path("few-4096", "results.h5"), "rb") as b:
        assert a.read() == b.read()


if __name__ == "__main__":
    run_tests(globals())
