"""Long flat sums, products and logic chains compile; too deep an expression is named.

PySD hands a flat chain (``a + b - c + ...``) over as one list; lowering built it as a
left-deep tree, one level per term, which overflowed Python's parser (300 terms: "too many
nested parentheses" in the generated kernel) and the recursion of the IR's rewrites (400
and more: a RecursionError). ``ir.chain`` builds a chain longer than ``ir.LONG_CHAIN`` as a
balanced tree; shorter ones stay as they were, so ordinary kernels do not change.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl
from test_cli import assert_one_line_error
from test_cli import gvcdyn as run_gvcdyn

import gvcdyn
from gvcdyn.language import interpret, ir


def _eq(name: str, expr: str) -> str:
    return f"{name} = {expr}\n\t~\t\n\t~\t\n\t|\n"


def _left_fold(values: list[float], ops: list[str]) -> float:
    result = values[0]
    for op, value in zip(ops, values[1:], strict=True):
        result = {"+": result + value, "-": result - value, "*": result * value}.get(
            op, result / value if op == "/" else math.nan
        )
    return result


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))


def _chains(n: int) -> tuple[str, list[float], list[str], list[str]]:
    """Equations ``Total`` (n terms, both signs), ``Product`` (n factors, both * and /) and
    ``All Positive``/``Some Small`` (chains of n :AND:s) over three constants."""
    rng = random.Random(23)
    constants = [rng.uniform(0.5, 1.5) for _ in range(3)]
    values = [constants[i % 3] for i in range(n)]
    signs = [rng.choice("+-") for _ in range(n - 1)]
    factors = [rng.choice("*/") for _ in range(n - 1)]
    text = "".join(_eq(f"a{i}", repr(v)) for i, v in enumerate(constants))
    names = [f"a{i % 3}" for i in range(n)]
    total = "".join(f" {s} {x}" for s, x in zip(signs, names[1:], strict=True))
    product = "".join(f" {f} {x}" for f, x in zip(factors, names[1:], strict=True))
    text += _eq("Total", names[0] + total) + _eq("Product", names[0] + product)
    both = " :AND: ".join(f"{x} > 0.4" for x in names)
    text += _eq("All Positive", f"IF THEN ELSE({both}, 1, 0)")
    text += _eq("Some Small", f"IF THEN ELSE({both} :AND: a2 > 1000, 1, 0)")
    return text, values, signs, factors


def test_a_sum_of_300_terms_compiles_and_computes(tmp_path: Path) -> None:
    """A 300-term sum with both signs compiles (a SyntaxError, too many nested
    parentheses, before) and gives the left-to-right value up to rounding."""
    text, values, signs, _ = _chains(300)
    text = text.split("Product =")[0]
    model = gvcdyn.load(write_mdl(tmp_path, text, final_time=1, time_step=1, name="sum300"))
    total = model.run(method="euler")["Total"].values.ravel()
    assert total[0] == pytest.approx(_left_fold(values, signs), rel=1e-12)


@pytest.mark.slow  # two kernels (both methods) of long expressions: about 30 s loaded
def test_products_and_logic_chains_of_300_compile_and_compute(tmp_path: Path) -> None:
    """A 300-factor product with divisions and chains of 300 :AND:s compile and compute,
    by both methods."""
    text, values, _, factors = _chains(300)
    model = gvcdyn.load(write_mdl(tmp_path, text, final_time=1, time_step=1, name="long300"))
    for method in ("euler", "rk4"):
        ds = model.run(method=method)
        assert ds["Product"].values.ravel()[0] == pytest.approx(
            _left_fold(values, factors), rel=1e-12
        )
        assert np.all(ds["All Positive"].values == 1) and np.all(ds["Some Small"].values == 0)


def test_short_chains_are_left_to_right_as_before() -> None:
    """Up to LONG_CHAIN operands a chain is the left-deep tree of the text (kernels of
    ordinary models unchanged); longer ones are log2(n) deep."""
    args: list[ir.Expr] = [ir.Sym(f"x{i}") for i in range(ir.LONG_CHAIN)]
    short = ir.chain(args, ["+"] * (len(args) - 1))
    expected = args[0]
    for arg in args[1:]:
        expected = ir.Op("+", (expected, arg))
    assert short == expected
    for n in (ir.LONG_CHAIN + 1, 20_000):
        args = [ir.Sym(f"x{i}") for i in range(n)]
        assert ir.depth(ir.chain(args, ["-"] * (n - 1))) == math.ceil(math.log2(n)) + 1


@pytest.mark.parametrize("group", ["+-", "*/"])
def test_balanced_chains_keep_the_value_of_the_text(group: str) -> None:
    """Regrouping is exact algebra (a - b + c is a - (b - c)): random operators of one
    group over 1,000 random operands give the left-to-right value up to rounding."""
    rng = random.Random(group)
    n = 1000
    values = [rng.uniform(0.9, 1.1) for _ in range(n)]
    ops = [rng.choice(group) for _ in range(n - 1)]
    expr = ir.chain([ir.Num(v) for v in values], ops)
    assert ir.depth(expr) <= 11
    assert interpret.evaluate(expr, lambda s: math.nan) == pytest.approx(
        _left_fold(values, ops), rel=1e-11
    )


@pytest.mark.slow  # PySD alone takes about 16 s to read the equation
def test_a_sum_of_20000_terms_is_read_and_generated(tmp_path: Path) -> None:
    """A 20,000-term sum (a RecursionError traceback before): lowered 16 levels deep, its
    kernel source parses, and its value is exact. (numba takes about two minutes to
    compile that one expression, so this test stops at the generated source.)"""
    n = 20_000
    text = "".join(_eq(f"a{i}", str(i)) for i in range(3))
    text += _eq("Out", " + ".join(f"a{i % 3}" for i in range(n)))
    model = gvcdyn.load(write_mdl(tmp_path, text, name="long20000"))
    (cell,) = model.ir.variable("Out").cells
    blocks = (model.ir.static_equations, model.ir.output_equations, model.ir.dynamic_equations)
    (expr,) = [e.expr for block in blocks for e in block if e.symbol == cell]
    assert ir.depth(expr) == math.ceil(math.log2(n)) + 1
    defaults = {p.symbol: p.default for p in model.ir.parameters}
    assert interpret.evaluate(expr, defaults.__getitem__) == (n // 3) * 3 + 1
    compile(model.source, "kernel", "exec")  # no "too many nested parentheses"


def test_too_deep_an_expression_is_named(tmp_path: Path) -> None:
    """A power tower of 250 levels cannot be regrouped: the console script names the
    variable, its depth and the limit in one line (a RecursionError traceback before)."""
    text = _eq("a", "1") + _eq("Tower", " ^ ".join(["a"] * 250))
    path = write_mdl(tmp_path, text, name="tower")
    assert_one_line_error(run_gvcdyn("params", path), "'Tower'", "250 levels", str(ir.MAX_DEPTH))
