"""Reality checks: declarative statements of how a model must behave, run as one batch.

    import gvcdyn
    model = gvcdyn.load("models/gvc_upgrading.mdl")
    ds = gvcdyn.reality_check(model, "models/gvc_upgrading.checks.toml")
    ds["holds"], ds["margin"]                  # per check, at the model's defaults

A check file (TOML, ``docs/reality-checks.md``) states conditions (lever settings, a
scenario, a sweep of one lever) and expectations (a bound, a sign, a direction along the
sweep, a comparison between conditions). :mod:`~gvcdyn.checks.spec` reads and checks
it against the model, :mod:`~gvcdyn.checks.run` runs all checks through the model's
evaluator in one batch, :mod:`~gvcdyn.checks.report` turns the result into a table.
"""

from __future__ import annotations

from gvcdyn.checks.report import table, write
from gvcdyn.checks.run import base_values, reality_check
from gvcdyn.checks.spec import Check, CheckFile, parse_checks, read_checks

__all__ = [
    "Check",
    "CheckFile",
    "base_values",
    "parse_checks",
    "read_checks",
    "reality_check",
    "table",
    "write",
]
