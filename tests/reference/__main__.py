import argparse
import sys

from .compare import compare_drift, compare_lora, format_problems
from .config import Config


def main():
    parser = argparse.ArgumentParser(prog="reference",
                                     description="compare a results.h5 with the numpy reference")
    parser.add_argument("config", help="the INI config driftlab ran")
    parser.add_argument("results", help="the results.h5 driftlab wrote")
    args = parser.parse_args()
    config = Config(args.config)
    problems = []
    if config.drift is not None:
        problems += compare_drift(config, args.results)
    if config.lora is not None:
        problems += compare_lora(config, args.results)
    print(format_problems(problems))
    return 1 if problems else 0


sys.exit(main())
