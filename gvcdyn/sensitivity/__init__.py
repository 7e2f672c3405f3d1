"""Global sensitivity analysis of a model's levers: Sobol' indices and Morris screening.

    from gvcdyn.sensitivity import prepare, sobol
    study = prepare(model, ["Innovation Capability"], at="all")   # levers: the Levers view
    ds = sobol(study, 1024, second_order=True, seed=1)            # S1, ST, S2 (+ _conf)

The study is built on the analysis seam (``ParameterSpace``, ``Outcome``, the model's
evaluator); results are ``xarray.Dataset``s over ``parameter``, ``output`` and ``time``.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from gvcdyn.sensitivity.dataset import write
from gvcdyn.sensitivity.estimator import SobolResult, sobol_indices
from gvcdyn.sensitivity.levers import LeverChoice, choose_levers, read_ranges, view_names
from gvcdyn.sensitivity.plots import plot_indices
from gvcdyn.sensitivity.study import Study, analyse, base_of, morris, prepare, sobol

__all__ = [
    "LeverChoice",
    "SobolResult",
    "Study",
    "analyse",
    "base_of",
    "choose_levers",
    "morris",
    "plot_indices",
    "prepare",
    "read_ranges",
    "sobol",
    "sobol_indices",
    "view_names",
    "write",
]


class _Package(ModuleType):
    """Called, the package is its verb: ``gvcdyn.sensitivity(model, levers, outputs, ...)``
    is ``analyse`` (``prepare``, then ``sobol`` or ``morris``), the study's Dataset."""

    def __call__(self, *args: Any, **options: Any) -> Any:
        return analyse(*args, **options)


sys.modules[__name__].__class__ = _Package
