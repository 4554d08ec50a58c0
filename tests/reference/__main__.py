import argparse
import sys

from .compare import compare_drift, compare_lora, format_problems
from .config import Config
from .lora import fit_config


def main():
    parser = argparse.ArgumentParser(prog="reference",
                                     description="compare a results.h5 with the numpy reference")
    parser.add_argument("config", help="the INI config driftlab ran")
    parser.add_argument("results", help="the results.h5 driftlab wrote")
    parser.add_argument("--perturbed", action="store_true",
                        help="widen the LoRA tolerances by the change that a one-ulp change "
                             "of one training input makes, measured by a second reference "
                             "run; for trainings of hundreds of steps (docs/verification.md)")
    args = parser.parse_args()
    config = Config(args.config)
    problems = []
    if config.drift is not None:
        problems += compare_drift(config, args.results)
    if config.lora is not None:
        reference = fit_config(config)
        perturbed = fit_config(config, perturb_input=True) if args.perturbed else None
        problems += compare_lora(config, args.results, reference, perturbed)
    print(format_problems(problems))
    return 1 if problems else 0


sys.exit(main())
