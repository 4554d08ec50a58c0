"""Read a driftlab INI config as docs/config.md defines it.

The reference trusts driftlab to reject invalid configs, so this reader
parses values and applies defaults but checks only what it needs to
compute anything at all.
"""
import configparser
import math
import os
import re

import numpy as np

# Keys of [drift] that may be swept, as docs/config.md lists them.
DRIFT_SWEEPABLE = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty",
                   "gain", "gain_out", "cluster_spread")
DRIFT_INTEGER_KEYS = ("clusters", "tokens_per_cluster", "d_model", "d_head",
                      "prompt_length", "steps", "keep_attention", "top_k")
DRIFT_DEFAULTS = {
    "rule": "cluster", "projection": "identity", "clusters": 4,
    "tokens_per_cluster": 8, "d_model": 32, "steps": 48, "temperature": 1.0,
    "top_k": 0, "top_p": 1.0, "min_p": 0.0, "repetition_penalty": 1.0,
    "gain": 8.0, "gain_out": 8.0, "cluster_spread": 0.5,
}
LORA_DEFAULTS = {
    "D": 64, "N": 32, "task_rank": 4, "task_scale": 3.0, "task_decay": 0.7,
    "task_noise": 0.0, "n_train": 256, "n_eval": 256, "n_old": 128,
    "rank": 4, "alpha": 8.0, "scaling": "standard", "init": "kaiming",
    "optimizer": "adam", "learning_rate": 0.01, "steps": 400, "batch_size": 0,
    "curve_length": 100,
}
LORA_INTEGER_KEYS = ("D", "N", "task_rank", "n_train", "n_eval", "n_old", "rank",
                     "steps", "batch_size", "curve_length")
LORA_WORD_KEYS = ("scaling", "init", "optimizer")
LORA_SWEEPABLE = ("rank", "alpha", "scaling")

_INTEGER_RANGE = re.compile(r"^\s*([-+]?\d+)\s*\.\.\s*([-+]?\d+)\s*$")


def _geomspace(start, stop, count):
    """numpy.geomspace(start, stop, count) with glibc's log10 and pow on
    scalars, because numpy's SIMD log10 can differ in the last bit."""
    if count == 1:
        return [start]
    exponents = np.linspace(math.log10(start), math.log10(stop), count)
    values = [math.pow(10.0, float(e)) for e in exponents]
    values[0] = start
    values[-1] = stop
    return values


def parse_values(text):
    """Return the list of numbers a value denotes: a scalar, a comma list,
    start:stop:count, start:stop:count:log or a..b."""
    text = text.strip()
    match = _INTEGER_RANGE.match(text)
    if match:
        first, last = int(match.group(1)), int(match.group(2))
        return list(range(first, last + 1))
    if ":" in text:
        parts = [p.strip() for p in text.split(":")]
        start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) == 4 and parts[3] == "log":
            return _geomspace(start, stop, count)
        return [float(v) for v in np.linspace(start, stop, count)]
    return [_parse_number(item) for item in text.split(",")]


def _parse_number(text):
    text = text.strip()
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    return float(text)


class Config:
    """A parsed config: the resolved [experiment], [drift] and [lora] keys.

    `drift` maps each [drift] key to its single value (None for a swept
    key) and `drift_axes` lists (key, values) for every swept key in file
    order. `lora` maps each [lora] key to its value, a list for the axes
    rank, alpha and scaling, and `lora_seeds` contains the LoRA sweep's
    seeds. Either section is None when the file leaves it out."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.raw = f.read()
        text = self.raw.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        parser = configparser.ConfigParser(
            comment_prefixes=("#", ";"), inline_comment_prefixes=(";",),
            strict=False, interpolation=None, empty_lines_in_values=False)
        parser.optionxform = str
        parser.read_string(text)

        experiment = dict(parser["experiment"]) if parser.has_section("experiment") else {}
        self.master_seed = int(experiment.get("seed", "0"))
        self.seeds = self._read_seeds(experiment.get("seeds", "8"))
        self.name = experiment.get("name") or self._default_name(path)

        self.drift = None
        self.drift_axes = []
        if parser.has_section("drift"):
            self._read_drift(parser["drift"])
        self.lora = None
        self.lora_seeds = None
        if parser.has_section("lora"):
            self._read_lora(parser["lora"])

    @staticmethod
    def _default_name(path):
        base = os.path.basename(path)
        if base.endswith(".ini"):
            base = base[:-4]
        return re.sub(r"[^A-Za-z0-9_.-]", "_", base)[:64]

    @staticmethod
    def _read_seeds(text):
        text = text.strip()
        if re.fullmatch(r"\d+", text):
            return list(range(int(text)))
        return [int(v) for v in parse_values(text)]

    def _read_drift(self, section):
        drift = dict(DRIFT_DEFAULTS)
        axes = []
        for key, text in section.items():
            if key in ("rule", "projection"):
                drift[key] = text.strip()
                continue
            if key == "prompt":
                drift[key] = [int(v) for v in text.split(",")]
                continue
            values = parse_values(text)
            if key in DRIFT_INTEGER_KEYS:
                values = [int(v) for v in values]
            else:
                values = [float(v) for v in values]
            if len(values) > 1:
                axes.append((key, values))
                drift[key] = None
            else:
                drift[key] = values[0]
        drift.setdefault("d_head", drift["d_model"])
        if "prompt" in drift:
            drift["prompt_length"] = len(drift["prompt"])
        else:
            drift["prompt"] = None
            drift.setdefault("prompt_length", 8)
        drift.setdefault("keep_attention", min(2, len(self.seeds)))
        self.drift = drift
        self.drift_axes = axes

    def _read_lora(self, section):
        lora = dict(LORA_DEFAULTS)
        # [lora] seeds, when given, replace the [experiment] seeds for the
        # LoRA sweep only.
        self.lora_seeds = self.seeds
        for key, text in section.items():
            if key == "seeds":
                self.lora_seeds = self._read_seeds(text)
                continue
            if key in LORA_WORD_KEYS:
                values = [v.strip() for v in text.split(",")]
            else:
                values = parse_values(text)
                if key in LORA_INTEGER_KEYS:
                    values = [int(v) for v in values]
                else:
                    values = [float(v) for v in values]
            lora[key] = values if key in LORA_SWEEPABLE else values[0]
        for key in LORA_SWEEPABLE:
            if not isinstance(lora[key], list):
                lora[key] = [lora[key]]
        self.lora = lora

    def drift_points(self):
        """Yield one dict per sweep point, first axis slowest: every
        sweepable key with its value at that point."""
        sizes = [len(values) for _, values in self.drift_axes]
        for index in np.ndindex(*sizes):
            point = {key: self.drift[key] for key in DRIFT_SWEEPABLE
                     if self.drift[key] is not None}
            for (key, values), i in zip(self.drift_axes, index):
                point[key] = values[i]
            yield index, point
