"""gvcdyn: system-dynamics models of upgrading in global value chains.

Vensim ``.mdl`` models are parsed by PySD's translator, lowered to gvcdyn's own IR and
compiled to batched numba kernels that integrate many parameter sets at once.
"""

from __future__ import annotations

from gvcdyn._version import __version__
from gvcdyn.checks import reality_check
from gvcdyn.errors import GvcdynError
from gvcdyn.evaluator import Evaluator
from gvcdyn.model import Model, load
from gvcdyn.outcomes import Outcome
from gvcdyn.space import ParameterSpace

__all__ = [
    "Evaluator",
    "GvcdynError",
    "Model",
    "Outcome",
    "ParameterSpace",
    "__version__",
    "load",
    "reality_check",
]
