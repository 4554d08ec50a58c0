"""An independent numpy reference for driftlab, written from the docs.

`python3 -m reference CONFIG RESULTS` (from the tests folder) recomputes
every run of CONFIG and compares it with RESULTS, a results.h5 that
driftlab wrote for that config.
"""
import os

# The drift runs multiply many small stacked matrices, for which OpenBLAS
# threads cost more than they save. A sweep of 63 points x 32 seeds x 256
# steps took 12 s with 2 threads and 6 s with one, on a 2-core machine. The variable only takes effect
# when this package is imported before numpy, as `python3 -m reference`
# does, and a value set by the caller wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
