"""``typing.get_type_hints`` resolves the public API's annotations.

Annotations are strings (``from __future__ import annotations``), evaluated by
``get_type_hints`` in each function's module: a name imported for type checkers only
(``pd`` under ``if TYPE_CHECKING:`` in gvcdyn.model) raised NameError there, so tools
that read signatures (documentation, validation, command-line builders) failed on
``gvcdyn.Model.run``. Each case runs in a fresh interpreter, since what a module can
resolve depends on what was imported before it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import gvcdyn

# every public function, class, method (with __init__ and __call__) and property of
# gvcdyn.__all__, and of the callable analysis packages' own __all__; then the hints
_CHECK_ALL = """
import inspect, sys, typing
import gvcdyn

def members(label, obj):
    yield label, obj
    if inspect.isclass(obj):
        for attr, value in vars(obj).items():
            if attr.startswith("_") and attr not in ("__init__", "__call__"):
                continue
            if isinstance(value, property):
                value = value.fget
            elif isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if inspect.isfunction(value):
                yield f"{label}.{attr}", value

checked, failed = 0, []
for name in NAMES:
    obj = getattr(gvcdyn, name)
    if inspect.ismodule(obj):  # calibrate, sensitivity: called, and their own API
        found = [(f"{name}()", type(obj).__call__)]
        for attr in obj.__all__:
            found += members(f"{name}.{attr}", getattr(obj, attr))
    elif callable(obj):
        found = list(members(name, obj))
    else:
        continue  # __version__
    for label, target in found:
        try:
            typing.get_type_hints(target)
            checked += 1
        except Exception as error:
            failed.append(f"{label}: {type(error).__name__}: {error}")
print(checked)
print("\\n".join(failed))
"""


def _hints_in_a_fresh_process(names: list[str]) -> tuple[int, list[str]]:
    """How many public callables' hints resolved, and the failures, asking ``names``
    of gvcdyn in that order in a new interpreter."""
    code = f"NAMES = {names!r}\n" + textwrap.dedent(_CHECK_ALL)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    count, *failed = done.stdout.strip().split("\n")
    return int(count), [line for line in failed if line]


@pytest.mark.parametrize(
    "first",
    ["Model", "Evaluator", "ParameterSpace", "sensitivity", "calibrate"],
)
def test_get_type_hints_resolves_every_public_signature(first: str) -> None:
    """Whichever public name is asked for first (a module's names depend on what was
    imported before it: Evaluator's and ParameterSpace's Model is set by gvcdyn.model)."""
    names = [first, *(n for n in gvcdyn.__all__ if n != first)]
    checked, failed = _hints_in_a_fresh_process(names)
    assert not failed, "\n".join(failed)
    assert checked > 100  # the walk found the API (about 170 callables)


def test_model_run_hints_name_the_real_classes() -> None:
    """``pd`` and ``xr`` resolve to pandas and xarray themselves, imported on use."""
    import typing

    import pandas as pd
    import xarray as xr

    from gvcdyn.model import Model, ParamsLike

    hints = typing.get_type_hints(Model.run)
    assert hints["return"] is xr.Dataset
    assert pd.DataFrame in typing.get_args(hints["params"])
    assert typing.get_type_hints(Model.parameter_table)["return"] is pd.DataFrame
    assert pd.DataFrame in typing.get_args(typing.get_type_hints(Model.parameter_matrix)["params"])
    assert typing.get_args(ParamsLike)[-1] is type(None)
