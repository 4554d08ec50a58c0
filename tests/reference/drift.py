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


def _renormalise(p, keep):
    """Zero the items not kept and divide each row by the sum of the rest,
    added one term at a time in index order (np.cumsum, not np.sum)."""
    remaining = np.where(keep, p, 0.0)
    return remaining / np.cumsum(remaining, axis=1)[:, -1:]


def _by_decreasing_probability(p):
    """Return each row's item indices by decreasing probability, ties by
    lower index."""
    index = np.broadcast_to(np.arange(p.shape[1]), p.shape)
    return np.lexsort((index, -p), axis=1)


def sample_items(logits, generated, point, u):
    """Return the item of each row that the sampling pipeline of
    docs/model.md step 4 chooses.

    logits has one row per run, generated is a boolean mask of the items
    seen among each run's generated tokens, and u contains each run's uniform
    of the step."""
    runs, count = logits.shape
    rows = np.arange(runs)[:, None]
    penalty = point["repetition_penalty"]
    if penalty != 1.0:
        penalised = np.where(logits > 0, logits / penalty, logits * penalty)
        logits = np.where(generated, penalised, logits)

    temperature = point["temperature"]
    if temperature == 0.0:
        return np.argmax(logits, axis=1)

    p = np.exp((logits - np.max(logits, axis=1, keepdims=True)) / temperature)
    p = p / np.cumsum(p, axis=1)[:, -1:]

    top_k = int(point["top_k"])
    if 0 < top_k < count:
        keep = np.zeros(p.shape, dtype=bool)
        keep[rows, _by_decreasing_probability(p)[:, :top_k]] = True
        p = _renormalise(p, keep)

    top_p = point["top_p"]
    if top_p < 1.0:
        order = _by_decreasing_probability(p)
        # The mass kept before each item, summed one term at a time in
        # walk order. It never decreases, so the walk stops at the first
        # item where it reaches top_p.
        walked = np.cumsum(np.take_along_axis(p, order, axis=1), axis=1)
        mass_before = np.concatenate((np.zeros((runs, 1)), walked[:, :-1]), axis=1)
        keep_walked = mass_before < top_p
        keep_walked[:, 0] = True
        keep = np.zeros(p.shape, dtype=bool)
        keep[rows, order] = keep_walked
        p = _renormalise(p, keep)

    min_p = point["min_p"]
    if min_p > 0.0:
        p = _renormalise(p, p >= min_p * np.max(p, axis=1, keepdims=True))

    running = np.cumsum(p, axis=1)
    above = running > (u * running[:, -1])[:, None]
    last_positive = count - 1 - np.argmax((p > 0)[:, ::-1], axis=1)
    return np.where(above.any(axis=1), np.argmax(above, axis=1), last_positive)


def simulate_runs(worlds, drift, point, generators, keep_attention):
    """Run one generation per world, all in step, and return a dict of the
    per-run arrays with the run as the first dimension.

    generators contains each run's sample stream, and keep_attention the
    number of leading runs whose attention rows are kept."""
    C, m = drift["clusters"], drift["tokens_per_cluster"]
    P, steps = drift["prompt_length"], drift["steps"]
    gain, gain_out = point["gain"], point["gain_out"]
    scale = math.sqrt(drift["d_head"])
    cluster_of_token = worlds[0].cluster_of_token
    runs = len(worlds)
    run_index = np.arange(runs)
    cluster_rule = drift["rule"] == "cluster"

    queries = np.stack([world.queries for world in worlds])
    keys = np.stack([world.keys for world in worlds])
    values = np.stack([world.values for world in worlds])
    # The draws of a step come in a fixed order (the item, then for the
    # cluster rule the member), so each run's draws can be taken at once.
    draws_per_step = 2 if cluster_rule else 1
    uniforms = np.stack([g.random(steps * draws_per_step) for g in generators])
    uniforms = uniforms.reshape(runs, steps, draws_per_step)

    tokens = np.empty((runs, P + steps), dtype=np.int64)
    tokens[:, :P] = np.stack([world.prompt for world in worlds])
    # Keys and values of the context, cached per position as the model
    # describes, so a step reads views instead of gathering copies.
    key_cache = np.empty((runs, P + steps, keys.shape[2]))
    value_cache = np.empty((runs, P + steps, values.shape[2]))
    key_cache[:, :P] = keys[run_index[:, None], tokens[:, :P]]
    value_cache[:, :P] = values[run_index[:, None], tokens[:, :P]]
    metrics = {name: np.empty((runs, steps)) for name in METRICS}
    attention = np.full((keep_attention, steps, P + steps), np.nan)
    cluster_counts = np.zeros((runs, C), dtype=np.int64)
    generated_items = np.zeros((runs, C if cluster_rule else C * m), dtype=bool)

    for step in range(steps):
        n = P + step
        context = tokens[:, :n]
        query = queries[run_index, context[:, -1]]
        with np.errstate(over="ignore", invalid="ignore"):
            scores = gain * np.matmul(key_cache[:, :n], query[:, :, None])[:, :, 0] / scale
        if not np.all(np.isfinite(scores)):
            raise RunError(f"non-finite attention score at step {step}")
        weights = np.exp(scores - np.max(scores, axis=1, keepdims=True))
        a = weights / np.sum(weights, axis=1, keepdims=True)
        attention[:, step, :n] = a[:keep_attention]

        metrics["prompt_attention"][:, step] = np.sum(a[:, :P], axis=1)
        metrics["sink_attention"][:, step] = a[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log(a), 0.0)
        entropy = -np.sum(terms, axis=1)
        metrics["attention_entropy"][:, step] = entropy / math.log(n) if n > 1 else 0.0

        if cluster_rule:
            # One bincount over run * C + cluster adds each run's weights
            # one at a time in position order.
            bins = (run_index[:, None] * C + cluster_of_token[context]).ravel()
            mass = np.bincount(bins, weights=a.ravel(), minlength=runs * C).reshape(runs, C)
            with np.errstate(divide="ignore"):
                logits = np.log(mass)
        else:
            output = np.matmul(a[:, None, :], value_cache[:, :n])[:, 0, :]
            with np.errstate(over="ignore", invalid="ignore"):
                logits = gain_out * np.matmul(values, output[:, :, None])[:, :, 0]
            if not np.all(np.isfinite(logits)):
                raise RunError(f"non-finite logit at step {step}")

        items = sample_items(logits, generated_items, point, uniforms[:, step, 0])
        if cluster_rule:
            token = items * m + np.floor(uniforms[:, step, 1] * m).astype(np.int64)
        else:
            token = items
        tokens[:, n] = token
        key_cache[:, n] = keys[run_index, token]
        value_cache[:, n] = values[run_index, token]
        cluster_counts[run_index, cluster_of_token[token]] += 1
        generated_items[run_index, items] = True
        metrics["lock_in"][:, step] = cluster_counts.max(axis=1) / (step + 1)

    result = dict(metrics)
    result["tokens"] = tokens
    result["clusters"] = cluster_of_token[tokens]
    result["half_life"] = np.array([half_life(series) for series in metrics["prompt_attention"]])
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
        spread = point["cluster_spread"]
        for seed in seeds:
            if (seed, spread) not in worlds:
                worlds[(seed, spread)] = World(config.master_seed, seed, drift, spread)
        generators = [stream(sample_message(config.master_seed, seed, drift, point))
                      for seed in seeds]
        runs = simulate_runs([worlds[(seed, spread)] for seed in seeds], drift, point,
                             generators, kept_seeds)
        for name in METRICS + ("tokens", "clusters", "half_life"):
            out[name][index] = runs[name]
        if kept_seeds:
            out["attention"][index] = runs["attention"]

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
