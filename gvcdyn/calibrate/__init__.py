"""Calibration of a model to ordinal case outcomes: fit, uncertainty, cross-validation, predict.

The flow, one module per step: ``cases`` (case CSV + case -> lever mapping, with
``revisions``: sourced changes to the table's codes) and ``config`` -> ``problem``
(candidates x cases as one evaluator batch; ordered-logit likelihood from ``likelihood``)
-> ``fit`` (multi-start differential evolution + polish) -> ``uncertainty`` (profiles,
Fisher information, collinearity, bootstrap; batched local refits from ``search``) ->
``crossval`` -> ``study`` (all of it as one Dataset) -> ``predict``, which rebuilds the
fit's problem with ``fitfile`` (a fit file read back, for the studies of a fit too).
``synthetic`` simulates outcomes from known parameters for recovery checks.

Called, the package is the verb ``gvcdyn.calibrate(config_or_mapping, ...)``: a config
file, a shipped model's name or a mapping of the config's keys (``config.as_config``)
through ``study.calibrate``, the function ``gvcdyn calibrate`` calls.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
    from gvcdyn.calibrate.config import CalibrationConfig, as_config, load_config
    from gvcdyn.calibrate.fit import FitResult, fit
    from gvcdyn.calibrate.predict import predict, write_predictions
    from gvcdyn.calibrate.problem import CalibrationProblem
    from gvcdyn.calibrate.revisions import apply_revisions, read_revisions
    from gvcdyn.calibrate.study import calibrate

# Imported when first used (PEP 562): the command line reads the example config from
# ``config`` without paying for scipy, numba and xarray.
_LAZY = {
    "apply_mapping": "cases",
    "read_case_csv": "cases",
    "read_mapping": "cases",
    "CalibrationConfig": "config",
    "load_config": "config",
    "as_config": "config",
    "FitResult": "fit",
    "fit": "fit",
    "predict": "predict",
    "write_predictions": "predict",
    "CalibrationProblem": "problem",
    "apply_revisions": "revisions",
    "read_revisions": "revisions",
    "calibrate": "study",
}

__all__ = [
    "CalibrationConfig",
    "CalibrationProblem",
    "FitResult",
    "apply_mapping",
    "apply_revisions",
    "as_config",
    "calibrate",
    "fit",
    "load_config",
    "predict",
    "read_case_csv",
    "read_mapping",
    "read_revisions",
    "write_predictions",
]


class _Package(ModuleType):
    """``fit`` and ``predict`` name both a submodule and its main function: the package
    attribute stays the function (as when this file imported them eagerly), however
    the submodule is first imported."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("fit", "predict") and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)

    def __call__(self, config: Any, **options: Any) -> Any:
        """``gvcdyn.calibrate(config_or_mapping, ...)``: the package is also its verb, the
        whole calibration (``study.calibrate``) of a config file, a shipped model's name
        or a mapping with the config's keys (``config.as_config``); ``options``: seed,
        crossval, progress, execution. Returns the fit Dataset."""
        return self.calibrate(self.as_config(config), **options)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f"gvcdyn.calibrate.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gvcdyn.calibrate' has no attribute {name!r}")
