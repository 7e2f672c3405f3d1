"""``gvcdyn run --set`` reaches the kernel with each check made once (issue 18).

Names, ranges and structural parameters are resolved once, by ``build_batch``, into the
batch's parameter columns and the columns that vary; the grid is made once from those;
the kernel path (``WhatIf.simulate``) checks nothing again. The test runs the console
command in this process and counts the calls of every check on the way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from mdl_helpers import SIR, write_mdl

import gvcdyn
from gvcdyn.cli import run_cli
from gvcdyn.language import ir
from gvcdyn.model import Model
from gvcdyn.whatif import scenarios

#: (owner, attribute) of every check on the way from the command line to the kernel
CHECKS = [
    (scenarios, "resolve_levers"),  # the one pass over the request's names and values
    (scenarios, "resolve_parameters"),  # one source's pass (scenario tables of checks)
    (scenarios, "check_lever"),  # a lever's structure and range
    (Model, "parameter"),  # a name looked up
    (Model, "parameter_matrix"),  # the library's pass over a mapping of values
    (Model, "_check_ranges"),  # ... and its range check
    (Model, "_check_structural"),  # the kernel path's structural check of a matrix
    (Model, "grid"),  # the time grid (the controls evaluated)
    (ir.Parameter, "outside_range"),  # a range compared
]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Every check of ``CHECKS`` counted (and still made) while the test runs."""
    counted: Counter = Counter()

    def counting(name: str, check: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return check(*args, **kwargs)

        return wrapper

    for owner, name in CHECKS:
        monkeypatch.setattr(owner, name, counting(name, getattr(owner, name)))
    return counted


@pytest.fixture(scope="module")
def sir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mdl(tmp_path_factory.mktemp("one_check"), SIR, final_time=20)


CASES = [
    (["--set", "beta=0.6"], 1),
    (["--set", "beta=0.6", "--sweep", "gamma=0.05:0.2:4"], 2),
]


@pytest.mark.parametrize(("args", "levers"), CASES)
def test_run_set_makes_each_check_once(
    sir: Path, calls: Counter, tmp_path: Path, args: list[str], levers: int
) -> None:
    out = tmp_path / "run.nc"
    assert run_cli(["run", str(sir), *args, "--out", str(out)]) == 0
    assert calls["resolve_levers"] == 1
    assert calls["check_lever"] == levers  # structure and range: once per lever
    assert calls["outside_range"] == levers
    assert calls["parameter"] == levers  # each name looked up once
    assert calls["grid"] == 1
    for repeated in ("resolve_parameters", "parameter_matrix", "_check_ranges"):
        assert calls[repeated] == 0, repeated
    assert calls["_check_structural"] == 0  # the kernel path trusts the checked batch
    # the numbers are Model.run's, which checks everything itself
    with xr.open_dataset(out) as ds:
        levers = [str(v) for v in ds["lever"].values]
        params = {lever: ds["lever_value"].values[:, i] for i, lever in enumerate(levers)}
        expected = gvcdyn.load(sir).run(params)
        for name in ("S", "I"):
            np.testing.assert_array_equal(ds[name].values, expected[name].values)


def test_a_structural_lever_is_refused_by_the_one_check(tmp_path: Path) -> None:
    """The one check refuses a structural parameter, naming where it was given (before, the
    refusal came from ``Model.run``'s own check and named no source)."""
    text = (
        SIR + "order = 2\n\t~\tDmnl [1,4]\n\t~\t\t|\nsm = SMOOTH N(I, 2, I, order)\n\t~\t\t~\t\t|\n"
    )
    model = gvcdyn.load(write_mdl(tmp_path, text))
    with pytest.raises(gvcdyn.GvcdynError, match=r"--set 'order=3': key 'order': .*structure"):
        scenarios.build_batch(model, sets=["order=3"])
    assert scenarios.build_batch(model, sets=["order=2"]).params["order"].tolist() == [2.0]
