"""Operator precedence and associativity of Vensim expressions, checked against Python.

The rules, and where they come from:

- Unary minus binds looser than ``^``, always: ``-x^y`` is ``-(x^y)``. Vensim's outputs:
  ``-2^2`` is -4 in the reference suite's ``exponentiation`` model; with ``a = 3``,
  ``-3^2`` and ``-a^2`` are both -9 (SDEverywhere issue #569); ``-Time^cons2`` with
  ``Time = 10, cons2 = 2`` is -100 (issue #22: an earlier reading of a reference file as
  100 was a misreading, and the special case built on it is gone). PySD folds a written
  minus into a number before ``^`` (``-2^2`` would be 4); ``gvcdyn.language.vensim_precedence``
  undoes that fold. A negative number in parentheses, ``(-2)^2``, is a negative base.
- ``^`` is right-associative: ``2^3^2`` is ``2^(3^2)`` = 512 (PySD evaluates the chain as
  Python's ``**``, which is right-associative).
- ``* /`` before ``+ -``, left to right within a level; comparisons after arithmetic, one
  per operand of a logical operator; ``:NOT:`` applies to the comparison after it;
  ``:AND:`` binds before ``:OR:`` (Vensim's operator table).

Python's grammar has the same rules for arithmetic (``-x**y`` is ``-(x**y)``, ``**``
right-associative) and the other rules for logic (``not`` over ``and`` over ``or``), so
the expected value of every equation is the same text with the operators spelled the
Python way, evaluated by Python on numpy floats (numpy's arithmetic is the kernel's: a
negative base with a fractional exponent is NaN, x/0 is inf).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from mdl_helpers import write_mdl
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.vensim import vensim_element

import gvcdyn
from gvcdyn.errors import ModelParseError, TranslatorIncompatibleError
from gvcdyn.language.vensim_precedence import vensim_visitor

LEAVES = {"a": 2.0, "b": 3.0, "c": 0.5, "d": 1.5, "e": 4.0, "z": 0.0}
CONSTANTS = {"cons2": 2.0, "cons3": 3.0}  # in the model, not in random expressions

# Vensim text -> Python text of the same expression (both read with their own grammar)
FIXED = {
    "neg time power": ("-Time^cons2", "-(time**cons2)"),
    "neg time power parens": ("(-Time)^cons2", "(-time)**cons2"),
    "neg of power": ("-(Time^cons2)", "-(time**cons2)"),
    "neg time literal power": ("-Time^2", "-(time**2)"),
    "neg literal power": ("-2^2", "-(2**2)"),
    "sdeverywhere literal": ("-3^2", "-(3**2)"),
    "sdeverywhere name": ("-cons3^2", "-(cons3**2)"),
    "neg literal base": ("-2^cons2", "-(2**cons2)"),
    "parens literal base": ("(-2)^2", "(-2)**2"),
    "neg of parens literal base": ("-(-2)^2", "-((-2)**2)"),
    "neg fraction literal power": ("-Time^0.5", "-(time**0.5)"),
    "neg exponent literal power": ("-Time^1e1", "-(time**10)"),
    "neg parens literal power": ("-Time^(2)", "-(time**2)"),
    "neg negative literal power": ("-a^-2", "-(a**-2)"),
    "neg expression power": ("-Time^(cons2 + 0)", "-(time**(cons2 + 0))"),
    "neg subscripted base": ("-vec[d2]^cons2", "-(vec_d2**cons2)"),
    "neg call base": ("-ABS(a - e)^cons2", "-(abs(a - e)**cons2)"),
    "neg parens base": ("-(a + b)^cons2", "-((a + b)**cons2)"),
    "neg name neg exponent": ("-a^-b", "-(a**-b)"),
    "neg time neg exponent": ("-Time^-cons2", "-(time**-cons2)"),
    "neg literal neg exponent": ("-2^-2", "-(2**-2)"),
    "neg literal neg name exponent": ("-2^-cons2", "-(2**-cons2)"),
    "neg parens literal base": ("-(2)^2", "-(2**2)"),
    "power neg literal power exponent": ("a^-2^2", "a**-(2**2)"),
    "power chain": ("2^3^2", "2**3**2"),
    "power chain neg": ("-a^b^c", "-(a**b**c)"),
    "power chain neg literal": ("-cons2^2^cons2", "-(cons2**2**cons2)"),
    "power neg exponent": ("a^-b", "a**-b"),
    "power neg exponent chain": ("e^-cons2^cons2", "e**-cons2**cons2"),
    "power times": ("a*b^2", "a*b**2"),
    "power over": ("e/a^2", "e/a**2"),
    "neg times": ("-Time*3", "-time*3"),
    "times neg power": ("2*-Time^cons2", "2*-(time**cons2)"),
    "times neg literal power": ("2*-Time^2", "2*-(time**2)"),
    "minus minus": ("a - -b", "a - -b"),
    "sub chain": ("e - a - b", "e - a - b"),
    "div chain": ("e / a / c", "e / a / c"),
    "mixed": ("a + b * c - e / d", "a + b * c - e / d"),
    "neg sqrt": ("(-Time)^0.5", "(-time)**0.5"),
    "compare arithmetic": ("IF THEN ELSE(a + b > e * c, 1, 0)", "1 if a + b > e * c else 0"),
    "compare neg power": ("IF THEN ELSE(-a^2 < 0, 1, 0)", "1 if -(a**2) < 0 else 0"),
    "compare neg name power": ("IF THEN ELSE(-a^cons2 < 0, 1, 0)", "1 if -(a**cons2) < 0 else 0"),
    "and before or": (
        "IF THEN ELSE(a > e :AND: b > e :OR: c < e, 1, 0)",
        "1 if a > e and b > e or c < e else 0",
    ),
    "or before and": (
        "IF THEN ELSE(c < e :OR: a > e :AND: b > e, 1, 0)",
        "1 if c < e or a > e and b > e else 0",
    ),
    "and or and": (
        "IF THEN ELSE(a > e :AND: b > e :OR: c < e :AND: d < e, 1, 0)",
        "1 if a > e and b > e or c < e and d < e else 0",
    ),
    "not binds comparison": (
        "IF THEN ELSE(:NOT: a > e :AND: b > e, 1, 0)",
        "1 if not a > e and b > e else 0",
    ),
    "not before or": (
        "IF THEN ELSE(:NOT: a < e :OR: b > e, 1, 0)",
        "1 if not a < e or b > e else 0",
    ),
    "equal and unequal": (
        "IF THEN ELSE(a = 2 :AND: b <> 2, 1, 0)",
        "1 if a == 2 and b != 2 else 0",
    ),
    "compare le ge": (
        "IF THEN ELSE(a <= 2 :AND: b >= 3.5, 1, 0)",
        "1 if a <= 2 and b >= 3.5 else 0",
    ),
    "truthy value": ("IF THEN ELSE(z :OR: a, 1, 0)", "1 if z or a else 0"),
}


def _random_arithmetic(rng: random.Random, depth: int) -> str:
    """A random expression over the leaves with ``+ - * / ^`` and unary minus."""
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([n for n in LEAVES if n != "z"])
    kind = rng.random()
    if kind < 0.15:  # Vensim's minus applies to a name, a number or a parenthesis
        inner = _random_arithmetic(rng, depth - 1)
        return f"-{inner}" if inner in LEAVES else f"-({inner})"
    if kind < 0.25:
        return f"({_random_arithmetic(rng, depth - 1)})"
    op = rng.choice(["+", "-", "*", "/", "^", "^"])
    return f"{_random_arithmetic(rng, depth - 1)} {op} {_random_arithmetic(rng, depth - 1)}"


def _random_condition(rng: random.Random) -> str:
    """A random chain of comparisons joined by :AND:/:OR:, some negated with :NOT:."""
    parts = []
    for k in range(rng.randint(2, 4)):
        if k:
            parts.append(rng.choice([":AND:", ":OR:"]))
        comparison = (
            f"{_random_arithmetic(rng, 1)} {rng.choice(['<', '<=', '>', '>=', '=', '<>'])} "
            f"{_random_arithmetic(rng, 1)}"
        )
        parts.append((":NOT: " if rng.random() < 0.3 else "") + comparison)
    return " ".join(parts)


def _to_python(vensim: str) -> str:
    """Python text of the same expression (Python's unary minus binds as Vensim's)."""
    text = vensim.replace("^", "**").replace(":AND:", "and").replace(":OR:", "or")
    text = text.replace(":NOT:", "not")
    comparisons = {"<>": "!=", "<=": "<=", ">=": ">=", "=": "=="}
    return re.sub(r"<>|<=|>=|=", lambda m: comparisons[m.group(0)], text)


def _cases() -> dict[str, tuple[str, str]]:
    rng = random.Random(20261201)
    cases = dict(FIXED)
    for i in range(40):
        expression = _random_arithmetic(rng, 4)
        cases[f"random arithmetic {i}"] = (expression, _to_python(expression))
    for i in range(30):
        condition = _random_condition(rng)
        cases[f"random logic {i}"] = (
            f"IF THEN ELSE({condition}, 1, 0)",
            f"1 if {_to_python(condition)} else 0",
        )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """All cases as auxiliaries of one model (one compile), run at Time = 10."""
    lines = [f"{name} = {value}\n\t~\tDmnl\n\t~\t\t|" for name, value in LEAVES.items()]
    lines += [f"{name} = {value}\n\t~\tDmnl\n\t~\t\t|" for name, value in CONSTANTS.items()]
    lines += ["dim: d1, d2\n\t~\t\n\t~\t\t|", "vec[dim] = 10, 20\n\t~\tDmnl\n\t~\t\t|"]
    lines += [f"{name} = {vensim}\n\t~\tDmnl\n\t~\t\t|" for name, (vensim, _) in CASES.items()]
    root = tmp_path_factory.mktemp("operators")
    path = write_mdl(root, "\n".join(lines), final_time=10, initial_time=10, name="operators")
    return gvcdyn.load(path).run().isel(run=0)


def _expected(python: str) -> float:
    env = {name: np.float64(value) for name, value in LEAVES.items()}
    env |= {name: np.float64(value) for name, value in CONSTANTS.items()}
    env |= {"time": np.float64(10.0), "vec_d2": np.float64(20.0), "abs": abs}
    with np.errstate(all="ignore"):
        return float(eval(python, {"__builtins__": {}}, env))


@pytest.mark.parametrize("name", list(CASES))
def test_operator_rules_match_python(results: xr.Dataset, name: str) -> None:
    vensim, python = CASES[name]
    got = float(np.ravel(results[name].values)[0])
    expected = _expected(python)
    np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=f"{vensim} vs {python}")


def test_the_reported_cases(results: xr.Dataset) -> None:
    """The values named in the issue, in SDEverywhere #569 and in the reference suite."""

    def value(name: str) -> float:
        return float(np.ravel(results[name].values)[0])

    assert value("neg time power") == -100.0  # issue #22: -Time^cons2 is -100
    assert value("neg time literal power") == -100.0
    assert value("neg of power") == -100.0
    assert value("neg time power parens") == 100.0
    assert value("neg name neg exponent") == -(2.0**-3.0)
    assert value("neg literal neg exponent") == -0.25
    assert value("neg literal power") == -4.0  # the suite's exponentiation model
    assert value("sdeverywhere literal") == -9.0  # SDEverywhere #569: -3^2 ...
    assert value("sdeverywhere name") == -9.0  # ... and -a^2 with a = 3
    assert value("power chain") == 512.0
    assert np.isnan(value("neg sqrt"))


def _ast(expression: str) -> Any:
    """PySD's AST of one right-hand side, parsed by PySD's own ``Component.parse``."""
    component = vensim_element.Component("x", ([], []), expression)
    component.parse()
    return component.ast


def test_the_fold_is_undone_while_pysd_parses_and_pysd_is_left_as_it_was() -> None:
    """Fails if PySD stops looking up ``EquationVisitor`` by name or changes its AST."""
    pysd_visitor = vensim_element.EquationVisitor
    pysd_fold = ae.ArithmeticStructure(["^"], (-2, 2))
    negative_power = ae.ArithmeticStructure(["negative"], (ae.ArithmeticStructure(["^"], (2, 2)),))
    negative_name_power = ae.ArithmeticStructure(
        ["negative"], (ae.ArithmeticStructure(["^"], (_reference("time"), _reference("cons2"))),)
    )
    assert _ast("-2^2") == pysd_fold  # PySD's own reading: (-2)^2
    assert _ast("-Time^cons2") == negative_name_power  # right without help
    with vensim_visitor():
        assert vensim_element.EquationVisitor is not pysd_visitor
        assert _ast("-2^2") == negative_power
        assert _ast("(-2)^2") == pysd_fold  # a negative base in parentheses
        assert _ast("-Time^cons2") == negative_name_power
        assert _ast("-(Time^cons2)") == negative_name_power
    assert vensim_element.EquationVisitor is pysd_visitor
    assert _ast("-2^2") == pysd_fold


def _reference(name: str) -> Any:
    return ae.ReferenceStructure(name, None)


@pytest.mark.parametrize("literal", ["2", "2.5", "1e3", "(2)", "-2"])
def test_pysd_stores_a_literal_exponent_as_a_number(literal: str) -> None:
    """The visitor's test for a literal exponent: PySD keeps a plain Python number."""
    with vensim_visitor():
        ast = _ast(f"-Time^{literal}")
    assert ast.operators == ["negative"]
    power = ast.arguments[0]
    assert power.operators == ["^"]
    assert type(power.arguments[1]) in (int, float)
    assert power.arguments[1] == float(literal.strip("()"))


def test_pysd_visitor_is_restored_when_parsing_fails(tmp_path: Path) -> None:
    pysd_visitor = vensim_element.EquationVisitor
    path = write_mdl(tmp_path, "x = -a^ * 2\n\t~\tDmnl\n\t~\t\t|")
    with pytest.raises(ModelParseError, match=r"model\.mdl"):
        gvcdyn.load(path)
    assert vensim_element.EquationVisitor is pysd_visitor


def test_a_pysd_without_the_hook_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(vensim_element, "EquationVisitor")
    with pytest.raises(TranslatorIncompatibleError, match=r"pysd~=3\.14\.3"), vensim_visitor():
        pass


def test_the_interpreter_folds_the_same_ast(tmp_path: Path) -> None:
    """A control computed before the run (``gvcdyn.language.interpret``) follows the same rule:
    ``SAVEPER = k`` with ``k = -2^cons2 + 8`` saves every 4 time units (with PySD's
    fold, ``(-2)^2 + 8``, it would be 12)."""
    equations = "cons2 = 2\n\t~\tDmnl\n\t~\t\t|\nk = -2^cons2 + 8\n\t~\tDmnl\n\t~\t\t|"
    path = write_mdl(tmp_path, equations, final_time=12, saveper="k")
    result = gvcdyn.load(path).run().isel(run=0)
    np.testing.assert_array_equal(result["time"].values, [0.0, 4.0, 8.0, 12.0])
    assert float(np.ravel(result["k"].values)[0]) == 4.0
