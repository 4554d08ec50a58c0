"""Shared harness of the Python integration tests.

Each test script defines functions named test_*; run_tests() calls them in
file order with a Context (paths to the driftlab binary, the shipped
configs and a scratch folder of the test's own), prints one line per test
and a closing "N passed, M failed, K skipped" line, and exits non-zero on
any failure. A test that raises Skip is reported with its reason and does
not fail the script. When tests were skipped and none failed, the exit
status is SKIP_STATUS, which CTest shows as a skipped test where the test
sets SKIP_RETURN_CODE to it.
"""
import argparse
import inspect
import os
import shutil
import subprocess
import sys
import traceback


SKIP_STATUS = 77


class Skip(Exception):
    """Exception a test raises when it cannot pass yet, with the reason as its message."""


class Context:
    def __init__(self, driftlab, configs, workdir):
        self.driftlab = driftlab
        self.configs = configs
        self.workdir = workdir

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def write_config(self, name, text):
        """Write text to WORKDIR/NAME and return the path."""
        path = self.path(name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def driftlab_run(self, *args, check=True, env=None):
        """Run the driftlab binary with args; return the CompletedProcess.

        With check, a non-zero exit fails the test with stderr shown."""
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        done = subprocess.run([self.driftlab, *args], cwd=self.workdir,
                              capture_output=True, text=True, env=full_env,
                              stdin=subprocess.DEVNULL, timeout=600)
        if check and done.returncode != 0:
            raise AssertionError(
                f"driftlab {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done


def run_tests(module_globals):
    parser = argparse.ArgumentParser()
    parser.add_argument("--driftlab", required=True)
    parser.add_argument("--configs", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    context = Context(os.path.abspath(args.driftlab), os.path.abspath(args.configs),
                      os.path.abspath(args.workdir))

    tests = [(name, f) for name, f in module_globals.items()
             if name.startswith("test_") and inspect.isfunction(f)]
    passed = failed = skipped = 0
    for name, function in tests:
        try:
            function(context)
        except Skip as reason:
            skipped += 1
            print(f"skip {name}: {reason}")
        except Exception:  # any other exception is a failed test, reported in full
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if failed or not tests:
        sys.exit(1)
    sys.exit(SKIP_STATUS if skipped else 0)
