"""Synthetic Vensim models of any size, for compile-time benchmarks and kernel tests.

Real models with thousands of variables are not public; what makes a kernel slow to
compile is its number of equations and branches, not what they mean. ``synthetic_mdl``
writes a model with ``n_auxiliaries`` auxiliaries, ``n_auxiliaries // 10`` stocks (unless
given), a few constants and lookups, mixing the constructs real models use (MIN, MAX,
EXP, ABS, IF THEN ELSE, lookups, division). Every auxiliary reads earlier auxiliaries,
a stock and a constant, so the dependency graph is deep as well as wide; every stock
relaxes towards an auxiliary, so runs stay bounded. The same arguments give the same
text (a seeded generator), so the kernel cache key is stable.
"""

from __future__ import annotations

import random
from pathlib import Path

_CONTROLS = """\
FINAL TIME = {final_time}
\t~\tYear
\t~\tThe final time for the simulation.
\t|

INITIAL TIME = 0
\t~\tYear
\t~\tThe initial time for the simulation.
\t|

SAVEPER = 1
\t~\tYear [0,?]
\t~\tThe frequency with which output is stored.
\t|

TIME STEP = {time_step}
\t~\tYear [0,?]
\t~\tThe time step for the simulation.
\t|
"""


def synthetic_mdl(
    n_auxiliaries: int,
    n_stocks: int | None = None,
    *,
    seed: int = 0,
    final_time: float = 10.0,
    time_step: float = 0.125,
) -> str:
    """The text of a generated ``.mdl`` model with ``n_auxiliaries`` auxiliaries."""
    if n_auxiliaries < 1:
        raise ValueError(f"n_auxiliaries must be at least 1, not {n_auxiliaries}")
    n_stocks = max(1, n_auxiliaries // 10) if n_stocks is None else n_stocks
    n_constants = max(5, n_auxiliaries // 50)
    n_lookups = max(1, n_auxiliaries // 250)
    rng = random.Random(seed)
    blocks = ["{UTF-8}"]
    for k in range(n_constants):
        value = round(rng.uniform(0.2, 0.9), 3)
        blocks.append(_equation(f"Constant {k}", f"{value}", "Dmnl [0,1]"))
    for k in range(n_lookups):
        points = ",".join(f"({x},{round(rng.uniform(0, 1), 3)})" for x in range(6))
        blocks.append(f"Table {k}(\n\t[(0,0)-(5,1)],{points})\n\t~\tDmnl\n\t~\t\n\t|\n")
    for k in range(n_stocks):
        initial = round(rng.uniform(0.5, 2.0), 3)
        blocks.append(_equation(f"Stock {k}", f"INTEG(Change {k}, {initial})", "Units"))
        target = f"Aux {rng.randrange(n_auxiliaries)}"
        time_constant = f"(1 + Constant {rng.randrange(n_constants)} * 4)"
        blocks.append(
            _equation(f"Change {k}", f"({target} - Stock {k}) / {time_constant}", "Units/Year")
        )
    for j in range(n_auxiliaries):
        blocks.append(_equation(f"Aux {j}", _auxiliary(j, rng, n_stocks, n_constants, n_lookups)))
    blocks.append(_CONTROLS.format(final_time=final_time, time_step=time_step))
    return "\n".join(blocks)


def write_synthetic_mdl(path: Path | str, n_auxiliaries: int, **options: object) -> Path:
    """Write :func:`synthetic_mdl` to ``path`` and return the path."""
    path = Path(path)
    path.write_text(synthetic_mdl(n_auxiliaries, **options), encoding="utf-8")  # type: ignore[arg-type]
    return path


def _equation(name: str, expression: str, units: str = "Units") -> str:
    return f"{name} =\n\t{expression}\n\t~\t{units}\n\t~\t\n\t|\n"


def _auxiliary(j: int, rng: random.Random, n_stocks: int, n_constants: int, n_lookups: int) -> str:
    """One auxiliary: a stock, a constant and (after the first few) earlier auxiliaries."""
    stock = f"Stock {rng.randrange(n_stocks)}"
    constant = f"Constant {rng.randrange(n_constants)}"
    if j < 3:
        return f"{stock} * {constant}"
    a, b = (f"Aux {rng.randrange(max(0, j - 30), j)}" for _ in range(2))
    form = rng.randrange(6)
    if form == 0:
        return f"{stock} * {constant} + {a} * 0.01"
    if form == 1:
        return f"MIN({a}, {stock}) + 0.1 * {constant}"
    if form == 2:
        return f"IF THEN ELSE({stock} > {constant}, {a}, {b}) * 0.5"
    if form == 3:
        return f"EXP(-ABS({a})) * {constant}"
    if form == 4:
        return f"MAX(0, {stock} - {a}) / (1 + {constant})"
    return f"Table {rng.randrange(n_lookups)}({stock} + {a}) * {constant}"
