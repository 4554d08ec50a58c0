"""The drift model of docs/model.md in numpy: worlds, runs and summaries."""
import math

import numpy as np

from .config import DRIFT_SWEEPABLE as SWEEPABLE
from .streams import normals, sample_message, stream, world_message

METRICS = ("prompt_attention", "sink_attention", "attention_entropy", "lock_in")


class World:
    """The vocabulary, projections and prompt that one seed draws."""

    def __init__(self, master_seed, seed, drift, cluster_spread):
        C, m = drift["clusters"], drift["tokens_per_cluster"]
        d, d_head = drift["d_model"], drift["d_head"]
        V = C * m
        generator = stream(world_message(master_seed, seed, drift, cluster_spread))

        z = normals(generator, C * d).reshape(C, d)
        # np.cumsum adds one term at a time, as the docs require of the
        # sum of squares; np.sum would add pairwise.
        squares = np.cumsum(z * z, axis=1)[:, -1]
        centres = z / np.sqrt(squares)[:, None]

        factor = cluster_spread / math.sqrt(d)
        noise = normals(generator, V * d).reshape(V, d)
        self.cluster_of_token = np.arange(V, dtype=np.int64) // m
        self.embedding = centres[self.cluster_of_token] + factor * noise

        if drift["projection"] == "random":
            scale = 1.0 / math.sqrt(d)
            self.query_projection = scale * normals(generator, d * d_head).reshape(d, d_head)
            self.key_projection = scale * normals(generator, d * d_head).reshape(d, d_head)
            self.value_projection = scale * normals(generator, d * d_head).reshape(d, d_head)
        else:
            identity = np.eye(d)
            self.query_projection = self.key_projection = self.value_projection = identity

        P = drift["prompt_length"]
        if drift["prompt"] is None:
            u = generator.random(P)
            self.prompt = (np.arange(P) % C) * m + np.floor(u * m).astype(np.int64)
        else:
            self.prompt = np.array(drift["prompt"], dtype=np.int64)

        self.keys = self.embedding @ self.key_projection
        self.values = self.embedding @ self.value_projection
        self.queries = self.embedding @ self.query_projection


class RunError(Exception):
    """A non-finite score or logit, which stops a run as driftlab does."""


def _sequential_sum(values):
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def _renormalise(p, keep):
    """Zero the items not kept and divide the rest by their sum in index order."""
    remaining = np.where(keep, p, 0.0)
    return remaining / _sequential_sum(remaining)


def _by_decreasing_probability(p):
    """Return the item indices by decreasing probability, ties by lower index."""
    return np.lexsort((np.arange(len(p)), -p))


def sample_item(logits, generated, point, u):
    """Return the item that the sampling pipeline of docs/model.md step 4
    chooses.

    generated is a boolean mask of the items seen among the generated
    tokens, u the step's uniform."""
    penalty = point["repetition_penalty"]
    logits = logits.copy()
    if penalty != 1.0:
        seen = generated
        logits[seen] = np.where(logits[seen] > 0, logits[seen] / penalty,
                                logits[seen] * penalty)

    temperature = point["temperature"]
    if temperature == 0.0:
        return int(np.argmax(logits))

    p = np.exp((logits - np.max(logits)) / temperature)
    p = p / _sequential_sum(p)
    count = len(p)

    top_k = int(point["top_k"])
    if 0 < top_k < count:
        keep = np.zeros(count, dtype=bool)
        keep[_by_decreasing_probability(p)[:top_k]] = True
        p = _renormalise(p, keep)

    top_p = point["top_p"]
    if top_p < 1.0:
        order = _by_decreasing_probability(p)
        # The mass kept before each item, summed one term at a time in
        # walk order. It never decreases, so the walk stops at the first
        # item where it reaches top_p.
        mass_before = np.concatenate(([0.0], np.cumsum(p[order])[:-1]))
        keep = np.zeros(count, dtype=bool)
        keep[order] = mass_before < top_p
        keep[order[0]] = True
        p = _renormalise(p, keep)

    min_p = point["min_p"]
    if min_p > 0.0:
        p = _renormalise(p, p >= min_p * np.max(p))

    running = np.cumsum(p)
    above = np.nonzero(running > u * running[-1])[0]
    if len(above):
        return int(above[0])
    return int(np.nonzero(p > 0)[0][-1])


def simulate(world, drift, point, sample_stream, keep_attention):
    """Run one generation and return a dict of the per-run arrays."""
    C, m = drift["clusters"], drift["tokens_per_cluster"]
    P, steps = drift["prompt_length"], drift["steps"]
    gain, gain_out = point["gain"], point["gain_out"]
    scale = math.sqrt(drift["d_head"])
    cluster_of_token = world.cluster_of_token

    tokens = np.empty(P + steps, dtype=np.int64)
    tokens[:P] = world.prompt
    metrics = {name: np.empty(steps) for name in METRICS}
    attention = np.full((steps, P + steps), np.nan) if keep_attention else None
    cluster_counts = np.zeros(C, dtype=np.int64)
    generated_items = np.zeros(C if drift["rule"] == "cluster" else C * m, dtype=bool)
    token_values = world.embedding @ world.value_projection

    for step in range(steps):
        n = P + step
        context = tokens[:n]
        query = world.queries[context[-1]]
        with np.errstate(over="ignore", invalid="ignore"):
            scores = gain * (world.keys[context] @ query) / scale
        if not np.all(np.isfinite(scores)):
            raise RunError(f"non-finite attention score at step {step}")
        weights = np.exp(scores - np.max(scores))
        a = weights / np.sum(weights)
        if attention is not None:
            attention[step, :n] = a

        metrics["prompt_attention"][step] = np.sum(a[:P])
        metrics["sink_attention"][step] = a[0]
        positive = a[a > 0]
        entropy = -np.sum(positive * np.log(positive))
        metrics["attention_entropy"][step] = entropy / math.log(n) if n > 1 else 0.0

        if drift["rule"] == "cluster":
            mass = np.bincount(cluster_of_token[context], weights=a, minlength=C)
            with np.errstate(divide="ignore"):
                logits = np.log(mass)
        else:
            output = a @ world.values[context]
            with np.errstate(over="ignore", invalid="ignore"):
                logits = gain_out * (token_values @ output)
            if not np.all(np.isfinite(logits)):
                raise RunError(f"non-finite logit at step {step}")

        u_item, u_member = sample_stream.random(), None
        if drift["rule"] == "cluster":
            u_member = sample_stream.random()
        item = sample_item(logits, generated_items, point, u_item)
        if drift["rule"] == "cluster":
            token = item * m + math.floor(u_member * m)
        else:
            token = item
        tokens[n] = token
        cluster = cluster_of_token[token]
        cluster_counts[cluster] += 1
        generated_items[item] = True
        metrics["lock_in"][step] = cluster_counts.max() / (step + 1)

    result = dict(metrics)
    result["tokens"] = tokens
    result["clusters"] = cluster_of_token[tokens]
    result["half_life"] = half_life(metrics["prompt_attention"])
    result["attention"] = attention
    return result


def half_life(series):
    """Return the first step whose value is below 0.5, or NaN if none is."""
    below = np.nonzero(series < 0.5)[0]
    return float(below[0]) if len(below) else math.nan


def simulate_config(config):
    """Reproduce the /drift group of a config as a dict of arrays, named
    and shaped as docs/results-format.md lists them."""
    drift = config.drift
    seeds = config.seeds
    axis_shape = tuple(len(values) for _, values in config.drift_axes)
    steps, P = drift["steps"], drift["prompt_length"]
    n_seeds, kept_seeds = len(seeds), drift["keep_attention"]
    out = {name: np.empty(axis_shape + (n_seeds, steps)) for name in METRICS}
    out["tokens"] = np.empty(axis_shape + (n_seeds, P + steps), dtype=np.int64)
    out["clusters"] = np.empty_like(out["tokens"])
    out["half_life"] = np.empty(axis_shape + (n_seeds,))
    if kept_seeds:
        out["attention"] = np.empty(axis_shape + (kept_seeds, steps, P + steps))

    worlds = {}
    for index, point in config.drift_points():
        for seed_index, seed in enumerate(seeds):
            world_key = (seed, point["cluster_spread"])
            if world_key not in worlds:
                worlds[world_key] = World(config.master_seed, seed, drift,
                                          point["cluster_spread"])
            world = worlds[world_key]
            generator = stream(sample_message(config.master_seed, seed, drift, point))
            run = simulate(world, drift, point, generator, seed_index < kept_seeds)
            at = index + (seed_index,)
            for name in METRICS + ("tokens", "clusters", "half_life"):
                out[name][at] = run[name]
            if seed_index < kept_seeds:
                out["attention"][at] = run["attention"]

    seed_axis = len(axis_shape)
    for name in METRICS:
        series = out[name]
        out[name + "_mean"] = np.mean(series, axis=seed_axis)
        if n_seeds > 1:
            out[name + "_sd"] = np.std(series, axis=seed_axis, ddof=1)
        else:
            out[name + "_sd"] = np.full(axis_shape + (steps,), np.nan)
        for q in (10, 50, 90):
            out[f"{name}_p{q}"] = np.percentile(series, q, axis=seed_axis)
    median = out["prompt_attention_p50"]
    out["half_life_of_median"] = np.apply_along_axis(half_life, -1, median) \
        if axis_shape else np.float64(half_life(median))

    out["worlds"] = worlds
    return out
