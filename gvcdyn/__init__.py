"""gvcdyn: system-dynamics models of upgrading in global value chains.

Vensim ``.mdl`` models are parsed by PySD's translator, lowered to gvcdyn's own IR and
compiled to batched numba kernels that integrate many parameter sets at once.

The public names below are imported when first used (PEP 562), not with the package:
numba, PySD and xarray take about a second to import, and ``gvcdyn --version``, a
command's ``--help`` or a mistake on the command line should not pay for them.

The three verbs take plain data and return an ``xarray.Dataset``, by the same functions
the commands call: ``what_if(model, scenarios, sets, sweeps)`` (``gvcdyn run``),
``calibrate(config_or_mapping)`` (``gvcdyn calibrate``) and ``sensitivity(model, levers,
outputs)`` (``gvcdyn sensitivity``). ``calibrate`` and ``sensitivity`` are the analysis
packages themselves, called (``gvcdyn.calibrate.crossval`` stays importable). ``load``
takes a model file or a shipped model's name (``"gvc_upgrading"``), as they all do.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from gvcdyn._version import __version__
from gvcdyn.errors import GvcdynError

if TYPE_CHECKING:
    from gvcdyn import calibrate, sensitivity
    from gvcdyn.bundled.loading import load
    from gvcdyn.checks import reality_check
    from gvcdyn.evaluator import Evaluator
    from gvcdyn.model import Model
    from gvcdyn.outcomes import Outcome
    from gvcdyn.space import ParameterSpace
    from gvcdyn.whatif import what_if

#: public name -> the module that defines it
_LAZY = {
    "reality_check": "gvcdyn.checks",
    "Evaluator": "gvcdyn.evaluator",
    "Model": "gvcdyn.model",
    "load": "gvcdyn.bundled.loading",  # a path, or a shipped model's name
    "Outcome": "gvcdyn.outcomes",
    "ParameterSpace": "gvcdyn.space",
    "what_if": "gvcdyn.whatif",
}
#: names whose module's annotations name Model, which gvcdyn.model sets there (those modules
#: cannot import it: it imports them), so it is imported with them: typing.get_type_hints
#: then resolves their signatures. A Model is needed to make either anyway.
_WITH_MODEL = ("Evaluator", "ParameterSpace")
#: verbs that are analysis packages, callable (their ``__call__``): the package is the value
_CALLABLE_PACKAGES = ("calibrate", "sensitivity")

__all__ = [
    "Evaluator",
    "GvcdynError",
    "Model",
    "Outcome",
    "ParameterSpace",
    "__version__",
    "calibrate",
    "load",
    "reality_check",
    "sensitivity",
    "what_if",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        if name in _WITH_MODEL:
            import_module("gvcdyn.model")
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # once: later lookups find it without this function
        return value
    if name in _CALLABLE_PACKAGES:
        return import_module(f"gvcdyn.{name}")  # importing it sets the attribute too
    raise AttributeError(f"module 'gvcdyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
