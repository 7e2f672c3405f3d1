"""One place that runs models/gvc_upgrading.mdl for the behavioural tests.

Every behavioural test calls :func:`run_gvc`, which runs gvcdyn's compiled core (all
parameter sets in one batch). Every constant not set by a test comes from the pinned
reference parameter file ``gvc_reference_params.toml``, not from the model's defaults:
calibration may change the defaults in the ``.mdl`` without changing what the tests mean.
:func:`run_gvc_pysd` runs the same model through PySD,
translated once per process from a copy in a temporary directory (``pysd.read_vensim``
writes a ``.py`` file next to the ``.mdl`` and must never write into the repository);
the parity test checks that both agree.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
import tomllib
import types
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODEL_PATH = Path(__file__).resolve().parents[1] / "models" / "gvc_upgrading.mdl"
REFERENCE_PATH = Path(__file__).resolve().parent / "gvc_reference_params.toml"

#: The stocks of the model (names fixed by issue 4).
STOCKS = (
    "Process Capability",
    "Product Capability",
    "Innovation Capability",
    "Search Effort",
    "Institutional Capacity",
    "Buyer Control",
    "Global Production Capacity",
    "World Price",
    "Entrant Capability",
    "Market Share",
    "Wage",
)

#: Outcome auxiliaries reported for every run.
OUTCOMES = (
    "Unit Value",
    "Value Capture Share",
    "Market Position",
    "Innovation Gap",
    "Market Vulnerability",
)

#: Measurement variables calibration reads at each case's horizon (issue 10): latent
#: quantities of the ordered logits, relative to the start of the run.
MEASURES = (
    "Process Upgrading",
    "Product Upgrading",
    "Functional Upgrading",
    "Cluster Market Position",
)

#: The levers a case or a what-if run sets (names fixed by issue 4).
LEVERS = (
    "Initial Buyer Control",
    "Buyer Challenge",
    "Buyer Support",
    "Buyer Blocking Strength",
    "National Market Share",
    "Shock Year",
    "Shock Size",
    "State Participation",
    "Initial Institutional Capacity",
    "Business Association Strength",
    "Global Demand Growth",
    "Entrant Wage Gap",
    "Scouting Intensity",
    # v2 (issue 10): kinds of start and further sources of learning [PF]
    "Buyer Led Start",
    "State Led Start",
    "FDI Led Start",
    "University Research Strength",
    "FDI Learning",
)

#: Extra auxiliaries some tests read.
EXTRA = (
    "Production Gap",
    "labour productivity",
    "cluster unit cost",
    "Cluster Margin",
    "profit index",
    "buyer blocking",
    "shock pressure",
    "share loss vulnerability",
    "financing capacity",
    "innovation effort",
    "margin vulnerability",
    "experimentation space",
    "innovation learning sources",
)

_RANGE = re.compile(r"\[\s*([-+0-9.eE]+|\?)\s*,\s*([-+0-9.eE]+|\?)")


@functools.lru_cache(maxsize=1)
def _pysd_model() -> Any:
    """Translate the model once per process, in a temporary directory.

    Cached because translation costs about a second and the tests run the model hundreds
    of times; the temporary directory lives as long as the process.
    """
    import pysd

    # removed when the model object goes away, at the latest at interpreter exit
    tmp_dir = tempfile.TemporaryDirectory(prefix="gvc_pysd_")
    copy = Path(tmp_dir.name) / MODEL_PATH.name
    shutil.copy(MODEL_PATH, copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pysd.read_vensim(str(copy))
    # PySD keeps params set in one run() for the next; remember the defaults so that
    # every run starts from the model as written.
    model._gvc_tmp_dir = tmp_dir
    model._gvc_defaults = {name: float(model[name]) for name in lever_ranges()}
    model._gvc_time_step = float(model["TIME STEP"])
    model._gvc_final_time = float(model["FINAL TIME"])
    return model


@functools.lru_cache(maxsize=1)
def gvcdyn_model() -> Any:
    """The model loaded by gvcdyn once per process (its kernel is cached per machine)."""
    import gvcdyn

    return gvcdyn.load(MODEL_PATH)


def run_gvc(
    params: Mapping[str, float] | Sequence[Mapping[str, float]],
    final_time: float | None = None,
    columns: Sequence[str] | None = None,
    time_step: float | None = None,
    method: str = "euler",
    check_status: bool = True,
) -> list[pd.DataFrame]:
    """Run the model once per parameter mapping (one compiled batch); one frame per run.

    Each frame is indexed by time (saved every year) with one column per variable, under
    its Vensim name. Unset constants take their pinned reference values. Every run must
    end with status ok (a non-finite value anywhere fails the calling test here) unless
    ``check_status`` is false, as in the robustness test, which counts such runs as
    failures of the behaviour instead.
    """
    rows = [params] if isinstance(params, Mapping) else list(params)
    cols = list(columns) if columns is not None else [*STOCKS, *OUTCOMES, *MEASURES, *EXTRA]
    base = reference_params()
    names = sorted(base)
    table = pd.DataFrame([{**base, **row} for row in rows], columns=names)
    if table.shape[1] != len(names):
        raise KeyError(f"not constants of the model: {sorted(set(table.columns) - set(base))}")
    ds = gvcdyn_model().run(
        table,
        final_time=final_time,
        time_step=time_step,
        saveper=1.0,
        method=method,
        variables=cols,
    )
    bad = np.flatnonzero(ds["status"].values != 0)
    assert bad.size == 0 or not check_status, (
        f"runs {bad.tolist()} ended with status {ds['status'].values[bad]}"
    )
    n_run, n_time = ds.sizes["run"], ds.sizes["time"]
    # one (run, time, column) array, then cheap per-run frames (xarray indexing per run
    # and column would cost more than the simulation itself)
    cube = np.empty((n_run, n_time, len(cols)))
    for j, c in enumerate(cols):
        values = ds[c].values
        cube[:, :, j] = values if values.ndim == 2 else values[:, None]
    index = pd.Index(ds["time"].values, name="time")
    return [pd.DataFrame(cube[run], index=index, columns=cols) for run in range(n_run)]


def run_gvc_pysd(
    params: Mapping[str, float] | Sequence[Mapping[str, float]],
    final_time: float | None = None,
    columns: Sequence[str] | None = None,
    time_step: float | None = None,
    method: str = "euler",
) -> list[pd.DataFrame]:
    """The same as :func:`run_gvc`, through PySD, one run at a time.

    Unset constants keep their model defaults (PySD would otherwise keep ``params`` from
    the previous run). ``method="rk4"`` swaps PySD's Euler step for a classical RK4 step
    over the same translated equations (PySD itself only integrates with Euler).
    """
    if method not in ("euler", "rk4"):
        raise ValueError(f"method must be 'euler' or 'rk4', not {method!r}")
    rows = [params] if isinstance(params, Mapping) else list(params)
    cols = list(columns) if columns is not None else [*STOCKS, *OUTCOMES, *MEASURES, *EXTRA]
    model = _pysd_model()
    out = []
    unknown = {k for row in rows for k in row} - set(model._gvc_defaults)
    if unknown:
        raise KeyError(f"not constants of the model: {sorted(unknown)}")
    for row in rows:
        p = {**model._gvc_defaults, **reference_params(), **row}
        if method == "rk4":
            model._integrate_step = types.MethodType(_rk4_step, model)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = model.run(
                    params=p,
                    return_columns=cols,
                    final_time=final_time if final_time is not None else model._gvc_final_time,
                    time_step=time_step if time_step is not None else model._gvc_time_step,
                    saveper=1.0,
                )
        finally:
            model.__dict__.pop("_integrate_step", None)
        out.append(df)
    return out


def _rk4_step(self: Any) -> None:
    """One classical RK4 step over all of PySD's dynamic stateful elements.

    Replaces ``Model._integrate_step`` (Euler) for one run: the stocks (and SMOOTH
    states) are set to the stage values, the caches cleaned, and ``ddt()`` re-evaluated.
    """
    dt = self.time.time_step()
    t = self.time()
    y0 = self.state
    k1 = self.ddt()
    self.state = y0 + k1 * (dt / 2)
    self.time.update(t + dt / 2)
    self.clean_caches()
    k2 = self.ddt()
    self.state = y0 + k2 * (dt / 2)
    self.clean_caches()
    k3 = self.ddt()
    self.state = y0 + k3 * dt
    self.time.update(t + dt)
    self.clean_caches()
    k4 = self.ddt()
    self.state = y0 + (k1 + 2 * k2 + 2 * k3 + k4) * (dt / 6)
    self.clean_caches()


def constant_ranges() -> dict[str, tuple[float, float]]:
    """Read each constant's documented ``[min,max]`` range from the .mdl units field.

    The ranges live in the model so that the random test, the scenarios and the Sobol
    analysis all use the same bounds; ``?`` (unbounded) becomes ``inf``.
    """
    text = MODEL_PATH.read_text(encoding="utf-8").split("\\\\\\---///")[0]
    text = text.replace("{UTF-8}", "", 1)
    ranges: dict[str, tuple[float, float]] = {}
    for block in text.split("|"):
        parts = block.split("~")
        if len(parts) < 3 or "=" not in parts[0]:
            continue
        name, expr = parts[0].split("=", 1)
        name = name.strip()
        m = _RANGE.search(parts[1])
        if m is None:
            continue
        lo, hi = (np.inf if v == "?" else float(v) for v in m.groups())
        try:
            float(expr.strip())
        except ValueError:
            name = "stock or auxiliary:" + name
        ranges[name] = (lo, hi)
    return ranges


def variable_ranges() -> dict[str, tuple[float, float]]:
    """Documented ranges of stocks and auxiliaries (not constants), by Vensim name."""
    return {
        k.split(":", 1)[1]: v
        for k, v in constant_ranges().items()
        if k.startswith("stock or auxiliary:")
    }


def lever_ranges() -> dict[str, tuple[float, float]]:
    """Documented ranges of the constants (levers and rate/time constants)."""
    return {
        k: v
        for k, v in constant_ranges().items()
        if not k.startswith("stock or auxiliary:") and k not in CONTROL
    }


CONTROL = ("FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP")


@functools.lru_cache(maxsize=1)
def _reference() -> dict[str, float]:
    data = tomllib.loads(REFERENCE_PATH.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in data["parameters"].items()}


def reference_params() -> dict[str, float]:
    """The pinned reference value of every constant of the model (a fresh copy)."""
    return dict(_reference())


def non_lever_constants() -> tuple[str, ...]:
    """Constants that are neither levers nor fixed index bases (range ``[1,1]``): the
    rates, times, sensitivities and initial values the robustness test perturbs."""
    ranges = lever_ranges()
    return tuple(
        n for n in sorted(reference_params()) if n not in LEVERS and ranges[n][0] < ranges[n][1]
    )


def draw_constants(n: int, spread: float, seed: int) -> list[dict[str, float]]:
    """``n`` sets of all non-lever constants, each drawn uniformly within +-``spread``
    (a fraction) of its reference value and clipped to its documented range."""
    rng = np.random.default_rng(seed)
    ranges = lever_ranges()
    ref = reference_params()
    names = non_lever_constants()
    sets = []
    for _ in range(n):
        row = {}
        for name in names:
            lo, hi = ranges[name]
            value = ref[name] * (1 + rng.uniform(-spread, spread))
            row[name] = float(min(max(value, lo), hi))
        sets.append(row)
    return sets
