"""Operator precedence and associativity of Vensim expressions, checked against Python.

The rules, and where they come from:

- ``^`` binds tighter than a leading unary minus: ``-a^2`` is ``-(a^2)``. Vensim's operator
  table lists unary minus above ``^``, but Vensim's own output says otherwise (``-2^2`` is -4
  in the reference suite's ``exponentiation`` model, exported from Vensim 6.3), and PySD's
  translator wraps ``-a^b`` as ``negative(a^b)``. A negated base in parentheses, ``(-a)^2``,
  is a negative base.
- ``^`` is right-associative: ``2^3^2`` is ``2^(3^2)`` = 512 (PySD evaluates the chain as
  Python's ``**``, which is right-associative).
- ``* /`` before ``+ -``, left to right within a level; comparisons after arithmetic, one
  per operand of a logical operator; ``:NOT:`` applies to the comparison after it;
  ``:AND:`` binds before ``:OR:`` (Vensim's operator table).

Python's own grammar has exactly these rules (``**`` over unary minus, right-associative;
``not`` over ``and`` over ``or``), so the expected value of every equation is the same text
with the operators spelled the Python way, evaluated by Python on numpy floats (numpy's
arithmetic is the kernel's: a negative base with a fractional exponent is NaN, x/0 is inf).
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import xarray as xr
from mdl_helpers import write_mdl

import gvcdyn

LEAVES = {"a": 2.0, "b": 3.0, "c": 0.5, "d": 1.5, "e": 4.0, "z": 0.0}

# Vensim text -> Python text of the same expression (both read with their own grammar)
FIXED = {
    "neg time power": ("-Time^cons2", "-time**cons2"),
    "neg time power parens": ("(-Time)^cons2", "(-time)**cons2"),
    "neg of power": ("-(Time^cons2)", "-(time**cons2)"),
    "neg literal power": ("-2^2", "-2**2"),
    "power chain": ("2^3^2", "2**3**2"),
    "power chain neg": ("-a^b^c", "-a**b**c"),
    "power neg exponent": ("a^-b", "a**-b"),
    "power times": ("a*b^2", "a*b**2"),
    "power over": ("e/a^2", "e/a**2"),
    "neg times": ("-Time*3", "-time*3"),
    "times neg power": ("2*-Time^cons2", "2*-time**cons2"),
    "minus minus": ("a - -b", "a - -b"),
    "sub chain": ("e - a - b", "e - a - b"),
    "div chain": ("e / a / c", "e / a / c"),
    "mixed": ("a + b * c - e / d", "a + b * c - e / d"),
    "neg sqrt": ("(-Time)^0.5", "(-time)**0.5"),
    "compare arithmetic": ("IF THEN ELSE(a + b > e * c, 1, 0)", "1 if a + b > e * c else 0"),
    "compare neg power": ("IF THEN ELSE(-a^2 < 0, 1, 0)", "1 if -a**2 < 0 else 0"),
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
    lines.append("cons2 = 2\n\t~\tDmnl\n\t~\t\t|")
    lines += [f"{name} = {vensim}\n\t~\tDmnl\n\t~\t\t|" for name, (vensim, _) in CASES.items()]
    root = tmp_path_factory.mktemp("operators")
    path = write_mdl(root, "\n".join(lines), final_time=10, initial_time=10, name="operators")
    return gvcdyn.load(path).run().isel(run=0)


def _expected(python: str) -> float:
    env = {name: np.float64(value) for name, value in LEAVES.items()}
    env |= {"cons2": np.float64(2.0), "time": np.float64(10.0)}
    with np.errstate(all="ignore"):
        return float(eval(python, {"__builtins__": {}}, env))


@pytest.mark.parametrize("name", list(CASES))
def test_operator_rules_match_python(results: xr.Dataset, name: str) -> None:
    vensim, python = CASES[name]
    got = float(np.ravel(results[name].values)[0])
    expected = _expected(python)
    np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=f"{vensim} vs {python}")


def test_the_reported_cases(results: xr.Dataset) -> None:
    """The values named in the issue and in the reference suite, spelled out."""
    assert float(np.ravel(results["neg time power"].values)[0]) == -100.0
    assert float(np.ravel(results["neg time power parens"].values)[0]) == 100.0
    assert float(np.ravel(results["neg literal power"].values)[0]) == -4.0
    assert float(np.ravel(results["power chain"].values)[0]) == 512.0
    assert np.isnan(np.ravel(results["neg sqrt"].values)[0])
