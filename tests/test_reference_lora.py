"""driftlab's /lora against the independent numpy reference in
tests/reference: all three scalings and inits, Adam and SGD, full batches
and mini-batches, a config with both [drift] and [lora], and the shipped
lecture config.

Metrics, loss curves, spectra, probes, phi and the stored adapters must
agree to 1e-9 relative and the Eckart-Young errors to 1e-12
(docs/verification.md gives the exceptions and why, among them long
trainings such as the lecture config's). A perturbation test
edits one number of a copied results file at a time and checks that the
comparison catches it.

Run by CTest as
    python3 test_reference_lora.py --driftlab BIN --configs DIR --workdir DIR
"""
import os
import shutil

import h5py
import numpy as np

from harness import run_tests
from reference.compare import compare_drift, compare_lora, format_problems
from reference.config import Config
from reference.lora import fit_config

REFERENCE_CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "reference", "configs")


def run_and_compare(context, config_name, *args):
    """Run driftlab on a reference config; return (config, results path,
    list of differences from the reference)."""
    config_path = os.path.join(REFERENCE_CONFIGS, config_name + ".ini")
    output = context.path(config_name)
    context.driftlab_run("run", config_path, "-o", output, "-q", "--no-render", *args)
    results = os.path.join(output, "results.h5")
    config = Config(config_path)
    problems = compare_lora(config, results)
    if config.drift is not None:
        problems += compare_drift(config, results)
    return config, results, problems


def assert_matches(context, config_name, *args):
    _, _, problems = run_and_compare(context, config_name, *args)
    assert not problems, f"{config_name}.ini:\n{format_problems(problems)}"


def test_kaiming_adam_three_scalings(context):
    assert_matches(context, "lora-kaiming-adam", "-j", "2")


def test_gaussian_sgd_minibatch(context):
    assert_matches(context, "lora-gaussian-sgd")


def test_svd_adam_minibatch(context):
    assert_matches(context, "lora-svd-minibatch")


def test_teacher_equal_to_base_stays_put(context):
    """task_scale = 0: every fit starts at its optimum. The teacher's
    softmax and the training softmax are one formula, so the gradient is
    exactly 0 and nothing moves, as in the reference."""
    assert_matches(context, "lora-teacher-is-base")


def test_rank_deficient_update_amplification(context):
    """One training row makes the rank-2 update rank 1, with a second
    singular value of rounding size. The amplification keeps only the
    singular pairs above max(D, N) eps sigma_0, so it does not depend on
    which arbitrary vectors the SVD returns for the second one."""
    assert_matches(context, "lora-rank-deficient")


def test_lora_beside_drift(context):
    assert_matches(context, "lora-with-drift")


def test_shipped_lecture_config(context):
    """The lecture config's /drift must match as strictly as the small
    configs. Its 400 Adam steps amplify rounding, so /lora is compared with
    a tolerance widened by a second reference run whose first training
    input is one ulp larger."""
    config_path = os.path.join(context.configs, "lecture.ini")
    output = context.path("lecture")
    context.driftlab_run("run", config_path, "-o", output, "-q", "--no-render", "-j", "2")
    results = os.path.join(output, "results.h5")
    config = Config(config_path)

    problems = compare_drift(config, results)
    assert not problems, format_problems(problems)

    reference = fit_config(config)
    perturbed = fit_config(config, perturb_input=True)
    problems = compare_lora(config, results, reference, perturbed)
    assert not problems, format_problems(problems)

    # The widened tolerance must still catch a change of 1e-6 relative.
    copy = perturbed_copy(context, results, "lecture-relative-error",
                          scale_element("lora/relative_error", (2, 2, 0, 1), 1 + 1e-6))
    problems = compare_lora(config, copy, reference, perturbed)
    assert len(problems) == 1, format_problems(problems)
    assert problems[0].startswith("/lora/relative_error differs"), problems[0]


def perturbed_copy(context, results, label, edit):
    """Copy results to LABEL.h5, apply edit(file) to the copy, return its path."""
    copy = context.path(label + ".h5")
    shutil.copyfile(results, copy)
    with h5py.File(copy, "r+") as f:
        edit(f)
    return copy


def scale_element(path, index, factor):
    def edit(f):
        dataset = f[path]
        dataset[index] = dataset[index] * factor
    return edit


def add_to_element(path, index, amount):
    def edit(f):
        dataset = f[path]
        dataset[index] = dataset[index] + amount
    return edit


def test_perturbed_results_fail(context):
    config, results, problems = run_and_compare(context, "lora-svd-minibatch")
    assert not problems, format_problems(problems)
    adapter = "lora/adapters/r2-alpha5-rslora"
    cases = [
        ("eval_kl", "/lora/eval_kl", scale_element("lora/eval_kl", (1, 0, 0, 1), 1 + 3e-9)),
        ("loss_curve", "/lora/loss_curve",
         scale_element("lora/loss_curve", (2, 1, 0, 0, 3), 1 - 3e-9)),
        ("full_rank", "/lora/full_rank_final_loss",
         scale_element("lora/full_rank_final_loss", (1,), 1 + 3e-9)),
        ("spectrum", "/lora/singular_values",
         scale_element("lora/singular_values", (0, 0, 0, 0, 0), 1 + 3e-9)),
        ("phi", "/lora/phi", scale_element("lora/phi", (1, 0, 1, 0, 2), 1 + 3e-9)),
        ("eckart_young", "/lora/eckart_young_error",
         add_to_element("lora/eckart_young_error", (0, 0, 0, 0), 3e-12)),
        ("adapter_B", f"/{adapter}/B", scale_element(f"{adapter}/B", (4, 1), 1 + 3e-9)),
        ("adapter_A", f"/{adapter}/A", scale_element(f"{adapter}/A", (0, 2), 1 - 3e-9)),
        ("base_W", "/lora/base/W", scale_element("lora/base/W", (3, 3), 1 + 1e-15)),
    ]
    for label, dataset, edit in cases:
        copy = perturbed_copy(context, results, label, edit)
        problems = compare_lora(config, copy)
        assert len(problems) == 1, f"{label}: expected one difference, got:\n" \
            + format_problems(problems)
        assert problems[0].startswith(f"{dataset} differs"), problems[0]
        print(f"     caught {label}: {problems[0]}")


if __name__ == "__main__":
    run_tests(globals())
