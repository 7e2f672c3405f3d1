"""The step's first evaluation computes the equations that call libm early (codegen.calls_first).

Every auxiliary is live until the saved-row block that follows the step's equations, and
a value live across a call (EXP, a power) is stored to the stack and loaded back. A call
equation is therefore moved up, with the unplaced equations it reads if they are at most
``CALLS_FIRST_INPUTS``; the rest keep the IR's order, and so do RK4's later stages. The
same operations on the same values: results are bitwise those of the IR's order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend import codegen
from gvcdyn.language import ir

EQUATIONS = """\
a1 = level * 2
\t~\t\n\t~\t\n\t|
a2 = level + 1
\t~\t\n\t~\t\n\t|
a3 = a2 * 3
\t~\t\n\t~\t\n\t|
a4 = a3 - level
\t~\t\n\t~\t\n\t|
a5 = a4 / 7
\t~\t\n\t~\t\n\t|
grown = EXP(g * level) * a1
\t~\t\n\t~\t\n\t|
far = (a2 + a3 + a4 + a5) ^ p
\t~\t\n\t~\t\n\t|
g = 0.03
\t~\t\n\t~\t\n\t|
p = 0.5
\t~\t\n\t~\t\n\t|
level = INTEG(0.01 * grown - 0.001 * far, 1)
\t~\t\n\t~\t\n\t|
"""


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> gvcdyn.Model:
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))
    return gvcdyn.load(write_mdl(tmp_path, EQUATIONS, final_time=4.0, time_step=0.25))


def _assigned(lines: list[str]) -> list[str]:
    wanted = ("a1", "a2", "a3", "a4", "a5", "grown", "far")
    return [
        line.split(" = ")[0].strip() for line in lines if line.split(" = ")[0].strip() in wanted
    ]


def _blocks(source: str, method: str) -> list[list[str]]:
    """The dynamic equations of ``batch_<method>``'s step (the run is inline), one list
    per evaluation."""
    body = source.split(f"def batch_{method}(")[1].split("\ndef ")[0]
    loop = body.split("for step in range(n_steps + 1):")[1]
    first = loop.split("row = save_rows[step]")[0]
    stages = loop.split("time_s = time + ")[1:]
    return [_assigned(first.splitlines())] + [_assigned(s.splitlines()) for s in stages]


def test_a_call_moves_up_with_few_inputs_and_not_with_many(model: gvcdyn.Model) -> None:
    source = codegen.generate(model.ir, split=False)
    ir_order = ["a1", "a2", "a3", "a4", "a5", "grown", "far"]
    assert (
        _assigned(
            [f"{codegen.identifiers(model.ir)[e.symbol]} = " for e in model.ir.dynamic_equations]
        )
        == ir_order
    )
    # grown (EXP, reads a1) first with a1; far's power reads four unplaced equations: stays
    moved = ["a1", "grown", "a2", "a3", "a4", "a5", "far"]
    assert _blocks(source, "euler") == [moved]
    rk4 = _blocks(source, "rk4")
    assert rk4[0] == moved
    assert rk4[1:] == [ir_order] * 3  # RK4's later stages: no saved row follows them


def test_results_are_bitwise_those_of_the_ir_order(
    model: gvcdyn.Model, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    runs = {"calls first": {}, "IR order": {}}
    for label in runs:
        if label == "IR order":
            monkeypatch.setattr(codegen, "calls_first", tuple)
            monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache-ir-order"))
        again = gvcdyn.load(model.path)
        for method in codegen.METHODS:
            raw = again.simulate(np.tile(again.defaults(), (3, 1)), method=method)
            runs[label][method] = (raw.values, raw.status)
    assert runs["calls first"].keys() == runs["IR order"].keys()
    for method, (values, status) in runs["calls first"].items():
        other_values, other_status = runs["IR order"][method]
        assert np.array_equal(values, other_values)
        assert np.array_equal(status, other_status)
        assert np.isfinite(values).all()


def _eq(symbol: str, expr: ir.Expr) -> ir.Equation:
    return ir.Equation(symbol, expr)


def test_the_ir_order_is_kept_when_an_equation_draws_a_random_number() -> None:
    x = ir.Sym("x")
    cheap = _eq("cheap", ir.Op("*", (x, ir.Num(2.0))))
    draw = _eq("draw", ir.Call("random_uniform", (ir.Num(0.0), ir.Num(1.0), ir.Num(0.0))))
    call = _eq("call", ir.Call("exp", (x,)))
    assert codegen.calls_first((cheap, call)) == (call, cheap)
    assert codegen.calls_first((cheap, draw, call)) == (cheap, draw, call)
