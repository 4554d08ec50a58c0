"""Recompute, in numpy, what driftlab stored: attention rows from the stored
embeddings, projections and tokens; every per-step metric from those rows;
greedy (temperature 0) token choices from the rule; and the summaries over
seeds. Nothing here reuses driftlab's code."""
import h5py
import numpy as np

from harness import run_tests

CONFIG = """\
[experiment]
seed = 2024
seeds = 5

[drift]
rule = {rule}
projection = {projection}
clusters = 3
tokens_per_cluster = 5
d_model = 12
d_head = {d_head}
prompt_length = 6
steps = 14
gain = 6
gain_out = 5
temperature = 0, 0.8
keep_attention = 3
"""

TOLERANCE = 1e-12


def softmax(x):
    z = np.exp(x - x.max())
    return z / z.sum()


def recompute_run(drift, t, s):
    """Check every step of the run (temperature index t, seed index s)."""
    tokens = drift["tokens"][t, s]
    clusters_of_token = drift["cluster_of_token"][()]
    embedding = drift["embedding"][s]
    wq = drift["query_projection"][s]
    wk = drift["key_projection"][s]
    wv = drift["value_projection"][s]
    attrs = drift.attrs
    P, steps = int(attrs["prompt_length"]), int(attrs["steps"])
    d_head = int(attrs["d_head"])
    gain, gain_out = float(attrs["gain"]), float(attrs["gain_out"])
    rule = attrs["rule"]
    temperature = float(drift["temperature"][t])
    kept = s < drift["kept_seed"].shape[0]

    np.testing.assert_array_equal(drift["clusters"][t, s], clusters_of_token[tokens])
    np.testing.assert_array_equal(tokens[:P], drift["prompt"][s])
    generated_clusters = []
    for step in range(steps):
        n = P + step
        q = embedding[tokens[n - 1]] @ wq
        keys = embedding[tokens[:n]] @ wk
        row = softmax(gain * (keys @ q) / np.sqrt(d_head))
        where = f"temperature {temperature} seed {s} step {step}"

        if kept:
            stored = drift["attention"][t, s, step]
            np.testing.assert_allclose(stored[:n], row, rtol=TOLERANCE, atol=1e-300,
                                       err_msg=where)
            assert np.all(np.isnan(stored[n:])), f"{where}: positions past the query are not NaN"
        np.testing.assert_allclose(drift["prompt_attention"][t, s, step], row[:P].sum(),
                                   rtol=TOLERANCE, err_msg=where)
        np.testing.assert_allclose(drift["sink_attention"][t, s, step], row[0],
                                   rtol=TOLERANCE, err_msg=where)
        nonzero = row[row > 0]
        entropy = -(nonzero * np.log(nonzero)).sum() / np.log(n) if n > 1 else 0.0
        np.testing.assert_allclose(drift["attention_entropy"][t, s, step], entropy,
                                   rtol=1e-10, atol=1e-14, err_msg=where)

        # greedy choices follow from the row alone
        if temperature == 0:
            if rule == "cluster":
                mass = np.bincount(clusters_of_token[tokens[:n]], weights=row,
                                   minlength=int(attrs["clusters"]))
                assert clusters_of_token[tokens[n]] == int(np.argmax(mass)), where
            else:
                output = row @ (embedding[tokens[:n]] @ wv)
                logits = gain_out * ((embedding @ wv) @ output)
                assert tokens[n] == int(np.argmax(logits)), where

        generated_clusters.append(clusters_of_token[tokens[n]])
        counts = np.bincount(generated_clusters)
        np.testing.assert_allclose(drift["lock_in"][t, s, step],
                                   counts.max() / (step + 1), rtol=0, atol=0,
                                   err_msg=where)


def check_summaries(drift):
    seeds = drift["seed"].shape[0]
    for metric in ["prompt_attention", "sink_attention", "attention_entropy", "lock_in"]:
        values = drift[metric][()]  # [temperature, seed, step]
        np.testing.assert_allclose(drift[metric + "_mean"][()], values.mean(axis=1),
                                   rtol=1e-12, atol=1e-15, err_msg=metric)
        np.testing.assert_allclose(drift[metric + "_sd"][()], values.std(axis=1, ddof=1),
                                   rtol=1e-9, atol=1e-14, err_msg=metric)
        for q in (10, 50, 90):
            np.testing.assert_allclose(drift[f"{metric}_p{q}"][()],
                                       np.percentile(values, q, axis=1),
                                       rtol=1e-12, atol=1e-15, err_msg=f"{metric} p{q}")
    median = np.percentile(drift["prompt_attention"][()], 50, axis=1)
    for t, series in enumerate(median):
        below = np.nonzero(series < 0.5)[0]
        expected = float(below[0]) if below.size else np.nan
        np.testing.assert_equal(drift["half_life_of_median"][t], expected)
    assert seeds == 5


def check_config(ctx, name, **fields):
    config = ctx.write_config(name + ".ini", CONFIG.format(**fields))
    ctx.driftlab_run("run", config, "-o", name, "-q")
    with h5py.File(ctx.path(name, "results.h5"), "r") as f:
        drift = f["drift"]
        for t in range(drift["temperature"].shape[0]):
            for s in range(drift["seed"].shape[0]):
                recompute_run(drift, t, s)
        check_summaries(drift)


def test_cluster_rule_identity_projection(ctx):
    check_config(ctx, "cluster_identity", rule="cluster", projection="identity", d_head=12)


def test_cluster_rule_random_projection(ctx):
    check_config(ctx, "cluster_random", rule="cluster", projection="random", d_head=7)


def test_lm_rule_identity_projection(ctx):
    check_config(ctx, "lm_identity", rule="lm", projection="identity", d_head=12)


def test_lm_rule_random_projection(ctx):
    check_config(ctx, "lm_random", rule="lm", projection="random", d_head=5)


def test_world_follows_the_model(ctx):
    config = ctx.write_config("world.ini", CONFIG.format(rule="cluster", projection="identity",
                                                         d_head=12))
    ctx.driftlab_run("run", config, "-o", "world", "-q")
    with h5py.File(ctx.path("world", "results.h5"), "r") as f:
        drift = f["drift"]
        np.testing.assert_array_equal(drift["cluster_of_token"][()], np.arange(15) // 5)
        for s in range(drift["seed"].shape[0]):
            np.testing.assert_array_equal(drift["query_projection"][s], np.eye(12))
            prompt = drift["prompt"][s]
            # the default prompt cycles the clusters
            np.testing.assert_array_equal(prompt // 5, np.arange(6) % 3)
            # tokens of a cluster sit closer to each other than to other clusters
            e = drift["embedding"][s]
            centres = np.array([e[c * 5:(c + 1) * 5].mean(axis=0) for c in range(3)])
            for token in range(15):
                distances = np.linalg.norm(centres - e[token], axis=1)
                assert np.argmin(distances) == token // 5


if __name__ == "__main__":
    run_tests(globals())
