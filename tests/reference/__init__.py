"""An independent numpy reference for driftlab, written from the docs.

`python3 -m reference CONFIG RESULTS` (from the tests folder) recomputes
every run of CONFIG and compares it with RESULTS, a results.h5 that
driftlab wrote for that config.
"""
