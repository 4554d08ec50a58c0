"""Compare driftlab with the reference on random small configs.

    cd tests
    /usr/bin/python3 -m reference.random_configs --driftlab ../build/driftlab \\
        --workdir /tmp/random-configs --count 50 --seed 1

Each config is a random [drift] or [lora] section of small sizes. The
script prints every config that driftlab rejects or that differs from the
reference, and exits with status 1 if any did. Known problems show up
here too (docs/verification.md lists them): with rank-deficient updates,
amplification differences are expected.
"""
import argparse
import os
import random
import subprocess
import sys

from .compare import compare_drift, compare_lora
from .config import Config

DRIFT_AXIS_VALUES = {
    "temperature": ["0", "0.3", "1", "2.5", "0, 1", "0.1, 0.9, 3"],
    "top_k": ["0", "1", "2", "3", "0, 2", "1, 3"],
    "top_p": ["1", "0.5", "0", "0.9", "0.3, 1"],
    "min_p": ["0", "0.1", "0.5", "1", "0, 0.3"],
    "repetition_penalty": ["1", "0.7", "1.5", "1, 4"],
    "gain": ["0", "1", "8", "20", "2, 12", "1:30:3:log"],
    "gain_out": ["0", "1", "8", "3, 9"],
    "cluster_spread": ["0", "0.5", "2", "0.1, 1"],
}


def random_drift_section(rng):
    clusters, members, d_model = rng.randint(1, 12), rng.randint(1, 12), rng.randint(1, 24)
    projection = rng.choice(["identity", "random"])
    lines = ["[drift]", f"rule = {rng.choice(['cluster', 'lm'])}",
             f"projection = {projection}", f"clusters = {clusters}",
             f"tokens_per_cluster = {members}", f"d_model = {d_model}"]
    if projection == "random":
        lines.append(f"d_head = {rng.randint(1, 6)}")
    if rng.random() < 0.3:
        ids = [str(rng.randrange(clusters * members)) for _ in range(rng.randint(1, 5))]
        lines.append("prompt = " + ", ".join(ids))
    else:
        lines.append(f"prompt_length = {rng.randint(1, 6)}")
    lines.append(f"steps = {rng.randint(1, 40)}")
    for key in rng.sample(sorted(DRIFT_AXIS_VALUES), rng.randint(0, 3)):
        lines.append(f"{key} = {rng.choice(DRIFT_AXIS_VALUES[key])}")
    return lines


def random_lora_section(rng):
    D, N = rng.randint(1, 9), rng.randint(1, 9)
    largest = min(D, N)
    init = rng.choice(["kaiming", "gaussian", "svd"])
    ranks = rng.sample(range(1, largest + 1), rng.randint(1, min(3, largest)))
    alphas = rng.choice(["1", "2, 8", "0.5"] if init == "svd" else ["0", "1", "2, 8", "0, 4"])
    n_train = rng.randint(1, 12)
    return ["[lora]", f"D = {D}", f"N = {N}", f"task_rank = {rng.randint(1, largest)}",
            f"task_scale = {rng.choice(['3', '1'])}",
            f"task_decay = {rng.choice(['0.7', '1', '0.2'])}",
            f"task_noise = {rng.choice(['0', '0', '0.5'])}", f"n_train = {n_train}",
            f"n_eval = {rng.randint(1, 6)}", f"n_old = {rng.randint(1, 6)}",
            "rank = " + ", ".join(map(str, ranks)), f"alpha = {alphas}",
            f"scaling = {rng.choice(['standard', 'rslora', 'none', 'none, standard'])}",
            f"init = {init}", f"optimizer = {rng.choice(['adam', 'sgd'])}",
            f"learning_rate = {rng.choice(['0.01', '0.1'])}", f"steps = {rng.randint(1, 15)}",
            f"batch_size = {rng.randint(0, n_train)}", f"curve_length = {rng.randint(2, 8)}"]


def main():
    parser = argparse.ArgumentParser(prog="reference.random_configs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--driftlab", required=True, help="the driftlab binary")
    parser.add_argument("--workdir", required=True, help="folder for the configs and results")
    parser.add_argument("--count", type=int, default=50, help="number of configs (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the config generator")
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    rng = random.Random(args.seed)
    failures = 0
    for case in range(args.count):
        kind = rng.choice(["drift", "lora"])
        section = random_drift_section(rng) if kind == "drift" else random_lora_section(rng)
        header = ["[experiment]", f"seed = {rng.randrange(1000)}",
                  f"seeds = {rng.choice(['1', '2', '3', '4, 1', '0..2'])}", ""]
        path = os.path.join(args.workdir, f"random-{args.seed}-{case}.ini")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(header + section) + "\n")

        output = path[:-len(".ini")]
        done = subprocess.run([args.driftlab, "run", path, "-o", output, "-q", "--no-render"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            failures += 1
            print(f"{path}: driftlab exited {done.returncode}: {done.stderr.strip()}")
            continue
        config = Config(path)
        results = os.path.join(output, "results.h5")
        compare = compare_drift if kind == "drift" else compare_lora
        problems = compare(config, results)
        if problems:
            failures += 1
            print(f"{path}:\n  " + "\n  ".join(problems))
    print(f"{args.count - failures} of {args.count} configs match the reference")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
