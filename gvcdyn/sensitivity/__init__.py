"""Global sensitivity analysis of a model's levers: Sobol' indices and Morris screening."""

from __future__ import annotations

from gvcdyn.sensitivity.levers import LeverChoice, choose_levers, read_ranges, view_names
from gvcdyn.sensitivity.sobol import SobolResult, sobol_indices
from gvcdyn.sensitivity.study import Study, morris, prepare, sobol

__all__ = [
    "LeverChoice",
    "SobolResult",
    "Study",
    "choose_levers",
    "morris",
    "prepare",
    "read_ranges",
    "sobol",
    "sobol_indices",
    "view_names",
]
