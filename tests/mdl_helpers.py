"""Writing small Vensim ``.mdl`` files for tests.

``write_mdl`` takes the model's equations in Vensim syntax (``name = expr ~ units ~ doc |``
blocks) and appends a control section, so a test states only what it is about.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

_CONTROLS = """\
********************************************************
	.Control
********************************************************~
		Simulation Control Parameters
	|

FINAL TIME  = {final_time!r}
	~	Month
	~	The final time for the simulation.
	|

INITIAL TIME  = {initial_time!r}
	~	Month
	~	The initial time for the simulation.
	|

SAVEPER  = {saveper}
	~	Month [0,?]
	~	The frequency with which output is stored.
	|

TIME STEP  = {time_step!r}
	~	Month [0,?]
	~	The time step for the simulation.
	|
"""


def write_mdl(
    tmp_path: Path,
    equations: str,
    final_time: float = 10.0,
    time_step: float = 1.0,
    saveper: float | str = "TIME STEP",
    *,
    initial_time: float = 0.0,
    name: str = "model",
) -> Path:
    """Write ``<tmp_path>/<name>.mdl`` with ``equations`` and the given controls; return its path.

    ``saveper`` may be a number or an expression such as ``"TIME STEP"``.
    """
    body = textwrap.dedent(equations).strip() + "\n\n"
    controls = _CONTROLS.format(
        final_time=float(final_time),
        initial_time=float(initial_time),
        saveper=repr(float(saveper)) if not isinstance(saveper, str) else saveper,
        time_step=float(time_step),
    )
    path = Path(tmp_path) / f"{name}.mdl"
    path.write_text("{UTF-8}\n" + body + controls, encoding="utf-8")
    return path


#: a small SIR model (two stocks, three constants with ranges) for kernel and seam tests
SIR = """
S = INTEG(-infection, population - 1)
	~	People
	~		|
I = INTEG(infection - recovery, 1)
	~	People
	~		|
infection = beta * S * I / population
	~	People/Month
	~		|
recovery = gamma * I
	~	People/Month
	~		|
beta = 0.5
	~	1/Month [0,2]
	~		|
gamma = 0.1
	~	1/Month [0,1]
	~		|
population = 1000
	~	People [1,100000]
	~		|
"""


#: a one-stock logistic model with two rate constants, for sweeps and interrupts
LOGISTIC = """
a = 0.5
	~	1/Month [0,1]
	~		|

b = 0.5
	~	1/Month [0,1]
	~		|

x = INTEG(a * (1 - x) - b * x * x, 0)
	~	Dmnl
	~		|
"""


#: logistic growth toward a capacity, with documented ranges on both constants
GROWTH = """
x = INTEG(rate * x * (1 - x / capacity), 1)
	~	Units
	~		|
rate = 0.8
	~	1/Month [0.1, 2]
	~		|
capacity = 100
	~	Units [10, 1000]
	~		|
"""


def write_reference(path: Path, ds: Any, variable: str) -> Path:
    """A Vensim-style output table (``Time,<variable>``) of one run's ``variable``, for
    comparing a model with "Vensim's" output that is really a chosen gvcdyn run."""
    times, values = ds["time"].values.tolist(), ds[variable].values[0].tolist()
    rows = [f"Time,{variable}"] + [f"{t!r},{x!r}" for t, x in zip(times, values, strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
