"""driftlab's /drift against the independent numpy reference in
tests/reference, on small configs that cover both rules, both
projections, every sampling filter, temperature 0 and a three-axis sweep.
test_reference_lora compares the shipped lecture config, which also has
a [lora] section.

Token ids and the stored worlds must agree exactly, the metrics, summaries
and attention rows to 1e-12 relative (docs/verification.md gives the
exceptions and why). A perturbation test edits one number of a copied
results file at a time and checks that the comparison catches it.

Run by CTest as
    python3 test_reference_drift.py --driftlab BIN --configs DIR --workdir DIR
"""
import os
import shutil

import h5py
import numpy as np

from harness import run_tests
from reference import drift as drift_model
from reference.compare import compare_drift, format_problems
from reference.config import Config

REFERENCE_CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "reference", "configs")


def run_and_compare(context, config_path, *args):
    """Run driftlab on config_path and return (config, results path,
    list of differences from the reference)."""
    name = os.path.splitext(os.path.basename(config_path))[0]
    output = context.path(name)
    context.driftlab_run("run", config_path, "-o", output, "-q", "--no-render", *args)
    results = os.path.join(output, "results.h5")
    config = Config(config_path)
    return config, results, compare_drift(config, results)


def assert_matches(context, config_path, *args):
    _, _, problems = run_and_compare(context, config_path, *args)
    assert not problems, f"{config_path}:\n{format_problems(problems)}"


def test_cluster_rule_three_axes(context):
    assert_matches(context, os.path.join(REFERENCE_CONFIGS, "cluster-sweep.ini"))


def test_lm_rule_random_projections(context):
    assert_matches(context, os.path.join(REFERENCE_CONFIGS, "lm-random.ini"))


def test_cluster_rule_swept_world(context):
    assert_matches(context, os.path.join(REFERENCE_CONFIGS, "cluster-world.ini"))


def test_lm_rule_single_seed(context):
    assert_matches(context, os.path.join(REFERENCE_CONFIGS, "lm-single-seed.ini"))


def test_lm_rule_exact_ties(context):
    assert_matches(context, os.path.join(REFERENCE_CONFIGS, "lm-ties.ini"))


def test_cluster_rule_filter_edges(context):
    assert_matches(context, os.path.join(REFERENCE_CONFIGS, "cluster-edges.ini"))


def test_half_life_at_exact_tie(context):
    assert_matches(context, os.path.join(REFERENCE_CONFIGS, "half-life-tie.ini"))


def test_shipped_smoke_config(context):
    assert_matches(context, os.path.join(context.configs, "smoke.ini"), "-j", "2")


NON_FINITE_SCORES = """\
[experiment]
seeds = 1

[drift]
rule = lm
clusters = 2
tokens_per_cluster = 2
d_model = 3
cluster_spread = 3
prompt_length = 2
steps = 3
gain = 1e308
"""


def test_non_finite_scores_stop_run(context):
    """gain = 1e308 overflows the first attention scores: driftlab and the
    reference must both stop at step 0."""
    path = context.write_config("non-finite.ini", NON_FINITE_SCORES)
    done = context.driftlab_run("run", path, "-o", context.path("non-finite"), "-q",
                                "--no-render", check=False)
    assert done.returncode == 1, done.stderr
    assert "step 0" in done.stderr, done.stderr
    assert not os.path.exists(context.path("non-finite", "results.h5"))
    try:
        drift_model.simulate_config(Config(path))
    except drift_model.RunError as error:
        assert "step 0" in str(error), error
    else:
        raise AssertionError("the reference ran through non-finite scores")


def perturbed_copy(context, results, label, edit):
    """Copy results to LABEL.h5, apply edit(file) to the copy, return its path."""
    copy = context.path(label + ".h5")
    shutil.copyfile(results, copy)
    with h5py.File(copy, "r+") as f:
        edit(f)
    return copy


def scale_element(name, index, factor):
    def edit(f):
        dataset = f["drift"][name]
        dataset[index] = dataset[index] * factor
    return edit


def test_perturbed_results_fail(context):
    config, results, problems = run_and_compare(
        context, os.path.join(REFERENCE_CONFIGS, "cluster-sweep.ini"))
    assert not problems, format_problems(problems)

    def change_token(f):
        tokens = f["drift/tokens"]
        old = int(tokens[1, 0, 1, 2, 9])
        tokens[1, 0, 1, 2, 9] = (old + 1) % 15

    def change_half_life(f):
        half_life = f["drift/half_life"]
        value = half_life[2, 1, 0, 0]
        half_life[2, 1, 0, 0] = 0.0 if np.isnan(value) else value + 1.0

    def change_embedding(f):
        embedding = f["drift/embedding"]
        embedding[1, 4, 3] = np.nextafter(embedding[1, 4, 3], np.inf)

    cases = [
        ("token", "tokens", change_token),
        ("metric", "prompt_attention", scale_element("prompt_attention", (2, 1, 0, 1, 5), 1 + 1e-9)),
        ("lock_in", "lock_in", scale_element("lock_in", (0, 0, 0, 2, 11), 1 - 1e-9)),
        ("summary", "attention_entropy_p90",
         scale_element("attention_entropy_p90", (1, 1, 1, 7), 1 + 1e-9)),
        ("sd", "sink_attention_sd", scale_element("sink_attention_sd", (1, 0, 1, 6), 1 + 1e-9)),
        ("attention_row", "attention", scale_element("attention", (2, 0, 0, 1, 4, 3), 1 + 1e-9)),
        ("half_life", "half_life", change_half_life),
        ("embedding", "embedding", change_embedding),
    ]
    for label, dataset, edit in cases:
        copy = perturbed_copy(context, results, label, edit)
        problems = compare_drift(config, copy)
        assert len(problems) == 1, f"{label}: expected one difference, got:\n" \
            + format_problems(problems)
        assert problems[0].startswith(f"/drift/{dataset} differs"), problems[0]
        print(f"     caught {label}: {problems[0]}")


if __name__ == "__main__":
    run_tests(globals())
