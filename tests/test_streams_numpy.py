"""Rebuild stored worlds (prompt, embeddings, projections) in numpy from the
recipe in docs/random-streams.md alone and compare them bit for bit."""
import hashlib
import math
import struct

import h5py
import numpy as np

from harness import run_tests

CONFIG = """\
[experiment]
seed = {master_seed}
seeds = 3, 17

[drift]
clusters = 3
tokens_per_cluster = 5
d_model = 6
d_head = {d_head}
projection = {projection}
cluster_spread = 0.7
{prompt}
steps = 4
temperature = 0.5, 1
"""


def stream(message):
    digest = hashlib.sha256(message.encode("ascii")).digest()
    key = np.array(struct.unpack("<2Q", digest[:16]), dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key))


def normal(g):
    u1, u2 = float(g.random()), float(g.random())
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def bits(x):
    return struct.pack(">d", x + 0.0).hex()


def world_message(master_seed, seed, attrs, prompt):
    fields = ["driftlab-stream-v1", "purpose=world", f"master_seed={master_seed}",
              f"seed={seed}", f"clusters={attrs['clusters']}",
              f"tokens_per_cluster={attrs['tokens_per_cluster']}",
              f"d_model={attrs['d_model']}", f"d_head={attrs['d_head']}",
              f"projection={attrs['projection']}",
              f"cluster_spread={bits(float(attrs['cluster_spread']))}",
              f"prompt_length={attrs['prompt_length']}",
              "prompt=" + ("cycle" if prompt is None else ",".join(map(str, prompt)))]
    return " ".join(fields)


def rebuild_world(master_seed, seed, attrs, prompt):
    C, m = int(attrs["clusters"]), int(attrs["tokens_per_cluster"])
    d, dh, P = int(attrs["d_model"]), int(attrs["d_head"]), int(attrs["prompt_length"])
    g = stream(world_message(master_seed, seed, attrs, prompt))

    centres = np.empty((C, d))
    for c in range(C):
        z = [normal(g) for _ in range(d)]
        squares = 0.0
        for value in z:
            squares += value * value
        centres[c] = np.array(z) / math.sqrt(squares)

    factor = float(attrs["cluster_spread"]) / math.sqrt(d)
    embedding = np.empty((C * m, d))
    for j in range(C * m):
        embedding[j] = centres[j // m] + factor * np.array([normal(g) for _ in range(d)])

    projections = []
    for _ in range(3):
        if attrs["projection"] == "random":
            scale = 1.0 / math.sqrt(d)
            projections.append(np.array([scale * normal(g) for _ in range(d * dh)])
                               .reshape(d, dh))
        else:
            projections.append(np.eye(d))

    if prompt is None:
        prompt = [(i % C) * m + math.floor(float(g.random()) * m) for i in range(P)]
    return np.array(prompt), embedding, projections


def check_worlds(ctx, name, master_seed, projection, d_head, prompt=None):
    prompt_line = "prompt_length = 7" if prompt is None else \
        "prompt = " + ", ".join(map(str, prompt))
    config = ctx.write_config(name + ".ini", CONFIG.format(
        master_seed=master_seed, projection=projection, d_head=d_head, prompt=prompt_line))
    ctx.driftlab_run("run", config, "-o", name, "-q")
    with h5py.File(ctx.path(name, "results.h5"), "r") as f:
        drift = f["drift"]
        attrs = dict(drift.attrs)
        for index, seed in enumerate(drift["seed"][()]):
            expected_prompt, embedding, (wq, wk, wv) = rebuild_world(
                master_seed, int(seed), attrs, prompt)
            where = f"{name} seed {seed}"
            np.testing.assert_array_equal(drift["prompt"][index], expected_prompt, where)
            np.testing.assert_array_equal(drift["embedding"][index], embedding, where)
            np.testing.assert_array_equal(drift["query_projection"][index], wq, where)
            np.testing.assert_array_equal(drift["key_projection"][index], wk, where)
            np.testing.assert_array_equal(drift["value_projection"][index], wv, where)


def test_identity_world_rebuilds_bit_for_bit(ctx):
    check_worlds(ctx, "identity", 12345, "identity", 6)


def test_random_projections_rebuild_bit_for_bit(ctx):
    check_worlds(ctx, "random", 2 ** 63 + 11, "random", 4)


def test_explicit_prompt_enters_the_key(ctx):
    check_worlds(ctx, "explicit", 7, "random", 3, prompt=[14, 0, 0, 9])


if __name__ == "__main__":
    run_tests(globals())
