"""Compare a driftlab results.h5 with the reference's numbers.

Each check returns a list of mismatch messages, one per dataset at most,
naming the first differing element by its coordinates and both values.
"""
import h5py
import numpy as np

from . import drift as drift_model
from . import lora as lora_model

DRIFT_TOLERANCE = 1e-12
# H(a) = -sum a_i ln a_i is ill-conditioned when one weight is near 1:
# ln a_i then carries the absolute rounding of a_i (about 1e-16) as a large
# relative error. The normalised entropy lies in [0, 1], so its rounding is
# bounded in absolute terms by a few n 2^-53 for n positions.
ENTROPY_ABSOLUTE_TOLERANCE = 1e-14


def _coordinates(f, group, name, index):
    """Describe an element index of GROUP/NAME by its dimension names and
    coordinate values, e.g. 'temperature=0.5 seed=3 step=7'."""
    dataset = f[group][name]
    parts = []
    for dim, i in zip(dataset.dims, index):
        if len(dim):
            scale = dim[0]
            label = scale.name.rsplit("/", 1)[-1]
            value = scale[i]
            if isinstance(value, bytes):
                value = value.decode()
            parts.append(f"{label}={value}")
        else:
            parts.append(f"dim{len(parts)}={i}")
    return " ".join(parts)


def first_difference(expected, actual, rtol, atol=0.0):
    """Return the index of the first element where actual differs from
    expected by more than rtol relative (or atol absolute), None when
    none does, or "shape" when the shapes differ.

    NaN must meet NaN. rtol = 0 and atol = 0 ask for equality."""
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if expected.shape != actual.shape:
        return "shape"
    if expected.dtype.kind in "iub" or actual.dtype.kind in "iub":
        bad = expected != actual
    else:
        both_nan = np.isnan(expected) & np.isnan(actual)
        with np.errstate(invalid="ignore"):
            limit = np.maximum(rtol * np.maximum(np.abs(expected), np.abs(actual)), atol)
            close = np.abs(expected - actual) <= limit
        bad = ~(close | both_nan)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.argwhere(bad)[0])


def check(f, group, name, expected, rtol, atol=0.0):
    """Compare GROUP/NAME of the open file f with expected; return a list
    holding one message on a mismatch, else an empty list."""
    if name not in f[group]:
        return [f"/{group}/{name}: missing from the results file"]
    actual = f[group][name][()]
    where = first_difference(expected, actual, rtol, atol)
    if where is None:
        return []
    if where == "shape":
        return [f"/{group}/{name}: shape {np.shape(actual)} but the reference has "
                f"{np.shape(expected)}"]
    largest_atol = float(np.max(atol)) if np.size(atol) else 0.0
    if rtol == 0 and largest_atol == 0:
        tolerance = "exact"
    elif largest_atol == 0:
        tolerance = f"tolerance {rtol:g} relative"
    else:
        tolerance = f"tolerance {rtol:g} relative or up to {largest_atol:.1e} absolute"
    return [f"/{group}/{name} differs first at {_coordinates(f, group, name, where)}: "
            f"driftlab {actual[where]!r}, reference {np.asarray(expected)[where]!r} "
            f"({tolerance})"]


def compare_drift(config, results_path, reference=None):
    """Compare /drift of results_path with the reference run of config."""
    if reference is None:
        reference = drift_model.simulate_config(config)
    problems = []
    with h5py.File(results_path, "r") as f:
        if "drift" not in f:
            return ["/drift: missing from the results file"]
        group = f["drift"]
        for key, values in config.drift_axes:
            problems += check(f, "drift", key, np.array(values), 0.0)
        problems += check(f, "drift", "seed", np.array(config.seeds), 0.0)

        problems += check_attributes(f, "drift", _drift_attributes(config))
        problems += _check_worlds(f, config, reference)

        for name in ("tokens", "clusters"):
            problems += check(f, "drift", name, reference[name], 0.0)
        for name in drift_model.METRICS:
            floor = ENTROPY_ABSOLUTE_TOLERANCE if name == "attention_entropy" else 0.0
            problems += check(f, "drift", name, reference[name], DRIFT_TOLERANCE, floor)
            for suffix in ("mean", "p10", "p50", "p90"):
                problems += check(f, "drift", f"{name}_{suffix}",
                                  reference[f"{name}_{suffix}"], DRIFT_TOLERANCE, floor)
            # A standard deviation of seeds that agree is a difference of
            # nearly equal numbers, so its rounding is relative to the values.
            scale = np.nanmax(np.abs(reference[name])) if reference[name].size else 0.0
            problems += check(f, "drift", f"{name}_sd", reference[f"{name}_sd"],
                              DRIFT_TOLERANCE, DRIFT_TOLERANCE * scale)
        problems += _check_half_life(f, "half_life", reference["half_life"],
                                     reference["prompt_attention"],
                                     group["prompt_attention"][()])
        problems += _check_half_life(f, "half_life_of_median", reference["half_life_of_median"],
                                     reference["prompt_attention_p50"],
                                     group["prompt_attention_p50"][()])
        if "attention" in reference:
            problems += check(f, "drift", "attention", reference["attention"],
                              DRIFT_TOLERANCE)
        elif "attention" in group:
            problems.append("/drift/attention: present, but keep_attention is 0")
        if "run_done" in group and not np.all(group["run_done"][()] == 1):
            problems.append("/drift/run_done: some runs are not marked done")
    return problems


def _check_half_life(f, name, expected, reference_series, stored_series):
    """Compare a half-life exactly, except where the prompt attention is
    0.5 up to rounding.

    Repeated tokens can give an attention row whose prompt part is exactly
    0.5 in exact arithmetic. Whether the computed sum falls below 0.5 then
    depends on rounding. So where the two programs' half-lives differ, the
    reference's prompt attention must be within DRIFT_TOLERANCE of 0.5 at
    every step from the earlier one up to the later one. The stored
    half-life must then be the first step of driftlab's own stored series
    below 0.5."""
    expected = np.array(expected, dtype=float)
    actual = f["drift"][name][()]
    if np.shape(actual) != expected.shape:
        return check(f, "drift", name, expected, 0.0)
    adjusted = expected.copy()
    for index in np.ndindex(expected.shape):
        if np.isnan(expected[index]) and np.isnan(actual[index]) or \
                expected[index] == actual[index]:
            continue
        own = drift_model.half_life(stored_series[index])
        if not (own == actual[index] or (np.isnan(own) and np.isnan(actual[index]))):
            continue
        # The steps that lie below 0.5 in one program only: from the
        # earlier half-life up to the later one (the end for NaN).
        series = reference_series[index]
        ends = [len(series) if np.isnan(v) else int(v) for v in (expected[index], actual[index])]
        window = series[min(ends):max(ends)]
        if np.all(np.abs(window - 0.5) <= DRIFT_TOLERANCE * 0.5):
            adjusted[index] = actual[index]
    return check(f, "drift", name, adjusted, 0.0)


def _check_worlds(f, config, reference):
    """Compare the per-world datasets bit for bit."""
    drift = config.drift
    spreads = dict(config.drift_axes).get("cluster_spread", [drift["cluster_spread"]])
    swept = "cluster_spread" in dict(config.drift_axes)
    problems = []
    for name in ("embedding", "query_projection", "key_projection", "value_projection",
                 "prompt"):
        stacked = np.array([[getattr(reference["worlds"][(seed, spread)], name)
                             for seed in config.seeds] for spread in spreads])
        if not swept:
            stacked = stacked[0]
        problems += check(f, "drift", name, stacked, 0.0)
    cluster_of_token = np.arange(drift["clusters"] * drift["tokens_per_cluster"]) \
        // drift["tokens_per_cluster"]
    problems += check(f, "drift", "cluster_of_token", cluster_of_token, 0.0)
    return problems


def check_attributes(f, group, expected):
    """Compare the attributes of GROUP with the expected dict by value."""
    problems = []
    attrs = f[group].attrs
    for key, value in expected.items():
        if key not in attrs:
            problems.append(f"/{group} attribute {key}: missing, reference {value!r}")
            continue
        stored = attrs[key]
        if isinstance(stored, bytes):
            stored = stored.decode()
        if stored != value:
            problems.append(f"/{group} attribute {key}: driftlab {stored!r}, reference {value!r}")
    return problems


def _drift_attributes(config):
    drift = config.drift
    expected = {key: drift[key] for key in
                ("rule", "projection", "clusters", "tokens_per_cluster", "d_model", "d_head",
                 "prompt_length", "steps", "keep_attention")}
    expected["vocab_size"] = drift["clusters"] * drift["tokens_per_cluster"]
    swept = dict(config.drift_axes)
    for key in drift_model.SWEEPABLE:
        if key not in swept:
            expected[key] = drift[key]
    return expected


def format_problems(problems):
    return "\n".join(problems) if problems else "no differences"



LORA_TOLERANCE = 1e-9
ECKART_YOUNG_TOLERANCE = 1e-12
# A KL divergence near 0 is a sum of terms p (log p - log q) that cancel
# to first order, so its rounding is absolute: a few 2^-53 per output.
KL_ABSOLUTE_TOLERANCE = 1e-14
# Singular values beyond an update's rank are rounding noise of size
# 2^-53 times the largest one, so they are compared to that scale.
SINGULAR_VALUE_FLOOR = 1e-12

# How many times the change from a one-ulp perturbation of one training
# input a long training run may differ by (see compare_lora).
SENSITIVITY_FACTOR = 100.0

LORA_PER_FIT = ("loss_curve", "final_loss", "relative_error", "effective_rank",
                "amplification", "probe_adapted")
LORA_PER_SEED = ("full_rank_loss_curve", "full_rank_final_loss", "full_rank_relative_error",
                 "full_rank_probe", "probe_base", "probe_teacher", "phi",
                 "train_teacher_entropy")


def _largest_along_last(values):
    return np.max(np.abs(values), axis=-1, keepdims=True) * np.ones_like(values)


def _spread(expected, perturbed):
    """Return the largest difference between two reference runs, or 0."""
    if perturbed is None:
        return 0.0
    difference = np.abs(np.asarray(expected, dtype=float) - np.asarray(perturbed, dtype=float))
    return float(np.nanmax(difference)) if difference.size else 0.0


def compare_lora(config, results_path, reference=None, perturbed=None):
    """Compare /lora of results_path with the reference fits of config.

    With perturbed, a second reference run whose first training input was
    moved by one ulp (lora.fit_config(config, perturb_input=True)), every
    compared float may also differ by SENSITIVITY_FACTOR times the
    largest change that perturbation made to its dataset. That measures
    how far rounding alone can move a long training run."""
    if reference is None:
        reference = lora_model.fit_config(config)
    lora = config.lora
    problems = []

    def compare(name, expected, rtol, atol=0.0):
        if rtol > 0 and perturbed is not None:
            atol = np.maximum(atol, SENSITIVITY_FACTOR * _spread(expected, perturbed[name]))
        return check(f, "lora", name, expected, rtol, atol)

    with h5py.File(results_path, "r") as f:
        if "lora" not in f:
            return ["/lora: missing from the results file"]
        problems += compare("rank", np.array(lora["rank"]), 0.0)
        problems += compare("alpha", np.array(lora["alpha"]), 0.0)
        problems += compare("seed", np.array(config.lora_seeds), 0.0)
        stored = None
        if "scaling" in f["lora"]:
            stored = [name.decode() if isinstance(name, bytes) else name
                      for name in f["lora/scaling"][()]]
        if stored != lora["scaling"]:
            problems.append(f"/lora/scaling: driftlab {stored}, reference {lora['scaling']}")
        problems += check_attributes(f, "lora", {
            key: lora[key] for key in ("D", "N", "task_rank", "task_scale", "task_decay",
                                       "task_noise", "n_train", "n_eval", "n_old", "init",
                                       "optimizer", "learning_rate", "steps", "batch_size",
                                       "curve_length")})
        steps = lora_model.curve_steps(lora["steps"], lora["curve_length"])
        problems += compare("step_sample", np.array(steps), 0.0)

        for name in LORA_PER_FIT + LORA_PER_SEED:
            problems += compare(name, reference[name], LORA_TOLERANCE)
        for name in ("eval_kl", "forgetting", "full_rank_eval_kl", "full_rank_forgetting"):
            problems += compare(name, reference[name], LORA_TOLERANCE, KL_ABSOLUTE_TOLERANCE)
        for name in ("singular_values", "full_rank_singular_values", "task_singular_values"):
            expected = reference[name]
            problems += compare(name, expected, LORA_TOLERANCE,
                                SINGULAR_VALUE_FLOOR * _largest_along_last(expected))
        # The Eckart-Young error is relative to ||dW*||_F, so its rounding
        # is absolute on the scale of 1.
        problems += compare("eckart_young_error", reference["eckart_young_error"],
                            ECKART_YOUNG_TOLERANCE, ECKART_YOUNG_TOLERANCE)
        for name in ("parameter_count", "parameter_ratio", "scale"):
            problems += compare(name, reference[name], 0.0)
        problems += _check_adapters(f, config, reference, perturbed)
    return problems


def _check_adapters(f, config, reference, perturbed):
    """Compare /lora/base/W and the stored adapters of the first seed."""
    lora = config.lora
    seed = config.lora_seeds[0]
    problems = check(f, "lora/base", "W", reference["tasks"][seed].W, 0.0)
    if "lora/base/W" in f:
        problems += check_attributes(f, "lora/base/W", {"seed": seed})
    for rank in lora["rank"]:
        for alpha in lora["alpha"]:
            for scaling in lora["scaling"]:
                name = f"r{rank}-alpha{alpha:g}-{scaling}"
                group = f"lora/adapters/{name}"
                if group not in f:
                    problems.append(f"/{group}: missing from the results file")
                    continue
                fit = dict(reference["adapters"][(rank, alpha, scaling, seed)])
                if lora["init"] == "svd":
                    _align_singular_vector_signs(fit, f[group]["B_init"][()])
                for matrix in ("B", "A", "B_init", "A_init"):
                    if fit[matrix] is None:
                        if matrix in f[group]:
                            problems.append(f"/{group}/{matrix}: present, but init is "
                                            f"{lora['init']}")
                        continue
                    expected = fit[matrix]
                    scale = np.max(np.abs(expected)) if expected.size else 0.0
                    atol = LORA_TOLERANCE * scale
                    if perturbed is not None:
                        other = perturbed["adapters"][(rank, alpha, scaling, seed)]
                        atol = max(atol, SENSITIVITY_FACTOR * _spread(expected, other[matrix]))
                    problems += check(f, group, matrix, expected, LORA_TOLERANCE, atol)
                attrs = f[group].attrs
                expected_attrs = {"rank": rank, "alpha": alpha, "scaling": scaling,
                                  "init": lora["init"], "scale": fit["scale"], "seed": seed}
                for key, value in expected_attrs.items():
                    stored = attrs.get(key)
                    if isinstance(stored, bytes):
                        stored = stored.decode()
                    if stored != value:
                        problems.append(f"/{group} attribute {key}: driftlab {stored!r}, "
                                        f"reference {value!r}")
    return problems


def _align_singular_vector_signs(fit, stored_B_init):
    """Flip the reference's column j of B (and row j of A) where the stored
    svd start has the opposite sign.

    An SVD fixes each singular vector pair only up to a common sign, and
    the training is equivariant under that flip, so the two programs may
    legitimately differ there."""
    signs = np.where(np.sum(fit["B_init"] * stored_B_init, axis=0) < 0, -1.0, 1.0)
    fit["B"] = fit["B"] * signs
    fit["A"] = fit["A"] * signs[:, None]
    fit["B_init"] = fit["B_init"] * signs
    fit["A_init"] = fit["A_init"] * signs[:, None]
