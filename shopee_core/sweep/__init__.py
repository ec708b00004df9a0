"""Sweeps: one recipe trained over a grid of spec values, each configuration scored as the builder
scores a model (thresholds re-tuned on valid: base, Min2, INB), run by Optuna's grid sampler on
a shared storage so several workers (one per GPU, or machines) split the grid.

:mod:`.grid` parses and checks the grid, :mod:`.engine` runs the study (resume, claims,
results), :mod:`.score` scores one finished run. The results schema and the figures' data live
in :mod:`shopee_core.analysis.sweeps` (the bundle reader validates what a bundle ships with it).
"""

from .engine import RESULTS_CSV, RESULTS_JSON, Sweep, prepare, read_results, work
from .grid import Axis, Config, configs, parse_grid

__all__ = ["RESULTS_CSV", "RESULTS_JSON", "Axis", "Config", "Sweep", "configs", "parse_grid", "prepare",
           "read_results", "work"]
