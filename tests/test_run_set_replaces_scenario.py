"""``gvcdyn run -s SCENARIO --set LEVER=VALUE`` where the scenario file sets that lever.

``--set`` wins (the documented precedence: defaults, scenario, --set, --sweep), but the
run kept the scenario's name alone ("captive") and nothing said that captive.toml's own
value was not used: the table read as the scenario's result. The run says so now, in
one line naming the scenarios and their values; a --set that agrees with the scenario,
or sets a lever it does not give, runs without a word.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from console import gvcdyn
from mdl_helpers import SIR, write_mdl

import gvcdyn as gd


@pytest.fixture
def sir(tmp_path: Path) -> Path:
    path = write_mdl(tmp_path, SIR, final_time=5)
    for name, gamma in (("slow", 0.05), ("fast", 0.3)):
        (tmp_path / f"{name}.toml").write_text(f"[parameters]\ngamma = {gamma}\nbeta = 0.5\n")
    return path


def test_a_set_that_replaces_a_scenario_value_says_so(sir: Path) -> None:
    folder = sir.parent
    result = gvcdyn(
        "run", sir, "-s", folder / "slow.toml", "-s", folder / "fast.toml",
        "--set", "GAMMA=0.2", "--set", "beta=0.5", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warning == [
        "warning: --set 'GAMMA=0.2' replaces 'gamma' of scenarios slow (= 0.05), fast (= 0.3); "
        "their runs keep their names and run with 0.2"
    ], result.stderr


def test_the_library_warns_alike_and_quietly_when_nothing_is_replaced(sir: Path) -> None:
    scenario = sir.parent / "slow.toml"
    with pytest.warns(UserWarning, match=r"replaces 'gamma' of scenario slow \(= 0.05\)"):
        gd.what_if(sir, [scenario], sets={"gamma": 0.2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gd.what_if(sir, [scenario], sets={"beta": 0.5, "population": 500})
