"""Calibration of a model to ordinal case outcomes: fit, uncertainty, cross-validation, predict.

The flow, one module per step: ``cases`` (case CSV + case -> lever mapping) and
``config`` -> ``problem`` (candidates x cases as one evaluator batch; ordered-logit
likelihood from ``likelihood``) -> ``fit`` (multi-start differential evolution + polish)
-> ``uncertainty`` (profiles, Fisher information, collinearity, bootstrap; batched local
refits from ``search``) -> ``crossval`` -> ``study`` (all of it as one Dataset) ->
``predict``. ``synthetic`` simulates outcomes from known parameters for recovery checks.
"""

from __future__ import annotations

from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.config import CalibrationConfig, load_config
from gvcdyn.calibrate.fit import FitResult, fit
from gvcdyn.calibrate.predict import predict, write_predictions
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.study import calibrate

__all__ = [
    "CalibrationConfig",
    "CalibrationProblem",
    "FitResult",
    "apply_mapping",
    "calibrate",
    "fit",
    "load_config",
    "predict",
    "read_case_csv",
    "read_mapping",
    "write_predictions",
]
