"""Adaptive-step kernels: embedded Runge-Kutta pairs with step control per run.

Why: a fixed step must be small enough for a model's fastest moments everywhere. The GVC
model's runs have short fast episodes (a shock whose onset takes a month, a margin that
leaves zero and feeds back on itself in a year) between long slow stretches, and its
MAX/IF THEN ELSE kinks cost fixed-step RK4 two orders of accuracy. An embedded pair
estimates each step's error from the same stage values, shrinks the step where the
error is large and grows it where the run is smooth, so each run takes the steps it
needs.

Methods (``ADAPTIVE_METHODS``): ``rk45`` is Dormand and Prince's 5(4) pair (MATLAB's
ode45, SciPy's RK45), ``rk23`` Bogacki and Shampine's 3(2) pair (ode23). Both reuse the
last stage of a step as the first of the next (FSAL). A method is spelled with its
tolerance or without (``rk23:1e-6``; ``rk23`` is ``DEFAULT_TOLERANCE``), wherever an
integration method is named. How a run steps:

- TIME STEP is the first step tried and fixes the saved times (the fixed-step grid's,
  accumulated alike); every saved time is a step's end, exactly, so no step goes past the
  next one (SAVEPER bounds the step), and the auxiliaries saved there are computed at
  that time and state. A model's TIME STEP chosen for Euler therefore serves as it is:
  the step grows from it within a few steps. A step shortened to land on a saved time
  does not shorten the next one.
- A step is accepted when, for every stock, ``|error| <= TOLERANCE * (1 + max(|x|,
  |x_new|))`` (one number as absolute and relative tolerance); the next step is
  ``0.9 * (1/err)^(1/(q+1))`` times this one (q the embedded order), between 0.2 and
  5 times.
- A step whose new stocks or error estimate are not finite is rejected like an
  inaccurate one. The estimate reads the rates at the step's end, which are the next
  step's first stage (FSAL): a step that lands where a rate is not a number (a stock
  past the bound of a power with a fractional exponent, overshot by a step too long
  for the stability of the method while the error itself is negligible) is shrunk, not
  accepted with a first stage that would fail every step after it; a run
  whose step falls below TIME STEP * MIN_STEP_FRACTION, or that tries more than
  MAX_STEPS_PER_UNIT times as many steps as the fixed-step grid has, stops: with status
  NONFINITE_STATE if the step it stops on was rejected for values that were not finite
  (a division by zero in a rate, as the fixed-step kernels report it), else STEP_FAILED
  (also when that step was accepted and only the step count stops the run, after an
  earlier step was rejected for a value that was not finite).

Everything a run does depends on its own parameters only: results are bitwise the same
whatever the batch, its order or the thread count.

Why rk45 is not the more accurate at kinks (``python benchmarks/adaptive_kinks.py``): a
step with a kink inside it (``MAX(0, ...)`` of a stock, a trigger year in an IF THEN
ELSE) has a local error of low order in either method, and Dormand and Prince's error
estimate sees only a small part of it. Over where in the step the kink falls, the true
error of the solution kept is a median 20 times the estimate that accepts it (35 for a
jump in the rate; up to 169 there), Bogacki and Shampine's 0.7 (1.7 for a jump, up to 14).
So at the same tolerance rk45 errs more at kinks, and its worst error over many runs is
not monotone in the tolerance (it depends on where the kinks fall in the steps), while
on smooth stretches it is the more accurate (an oscillator: 1.0e-5 against rk23's
1.1e-4 at 1e-5). SciPy's RK45 errs alike (a one-stock kink at 40 places, worst error
at 1e-5: 2.3e-3, gvcdyn's rk45 9.4e-4, rk23 2.9e-5): the pair's, not this code's (the
tableaus equal SciPy's). On the GVC model (200 Latin-hypercube runs against RK4 at
1/512; rk23 / rk45) the worst error is 8.7e-4 / 3.9e-3 at 1e-5, 4.0e-4 / 8.7e-4 at 3e-6,
1.7e-4 / 1.35e-3 at 1e-6, and the median run's 6.5e-5 / 2.8e-4, 2.1e-5 / 9.1e-5,
6.9e-6 / 3.2e-5. Hence rk23 for models with kinks (the GVC model's default).

Why the step after a landing on a saved time is ``max(h, hh * factor)`` (Boost odeint's
rule for output times; ``python benchmarks/adaptive_landing.py``, 2026-12-06, load 3-7):
a run lands on each of its 40 saved times. Over 200 Latin-hypercube runs of the GVC
model at rk23, after 16 landings a run the rule keeps a longer step than the landing's
error asks for, and 408 of the 3,858 rejected steps come right after those; after one
landing a run that error asks for a shorter step (68 rejections follow). Rules that
follow the landing's error cost more steps than the rejections they avoid: only when it
asks for a shorter step, 146.9 steps tried per run against 146.6 (+0.1 to +0.5% over
the Latin hypercubes of this model, v3 and gvc_like at rk23 and rk45, never fewer; v3's
worst error at rk23 1.4e-3 against 4.6e-4); after every landing (SciPy's and MATLAB's
rule at the end of their interval) +0.5 to +3.5%. Stretching a step up to 10% to reach a
saved time (MATLAB's) saves 1.1 to 2.7%, but rk45's worst error on this model grows to
5.7e-3 from 3.9e-3. SciPy's, MATLAB's and Hairer's no growth of the step after a
rejection saves 1.0 to 5.7%, 2.7% on this model at rk23 (CPU per run at batches of
10,000: 98.7 against 101.4 us, 15 rounds). Too little to redo every calibration made at
rk23: the rule stays, and a change that alters the adaptive results anyway should take
the last one along.

What these methods refuse (``SimulationSettingsError``, when the kernel is made):
models with discrete states (SAMPLE IF TRUE, DELAY N's registers) or DELAY FIXED pipes
(both defined per time step), random functions (a draw per evaluation: the stream
would depend on the steps taken), and a FINAL TIME that changes in the run. The kernel
is generated as one function whatever the model's size.

The module is generated apart from the Euler/RK4 kernel module (whose source, cache key
and results stay what they were) and cached by its own content, which names the method
and its tolerance.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from fractions import Fraction

from gvcdyn.backend import codegen, stages
from gvcdyn.backend.stages import StageFunction
from gvcdyn.errors import SimulationSettingsError
from gvcdyn.language import ir
from gvcdyn.status import NONFINITE_OUTPUT, NONFINITE_STATE, OK, STEP_FAILED

# the smallest step, as a fraction of TIME STEP, and the most steps (accepted and
# rejected) per step of the fixed-step grid a run may try before it stops with STEP_FAILED
MIN_STEP_FRACTION = 1e-9
MAX_STEPS_PER_UNIT = 1000
SAFETY, SHRINK_LIMIT, GROW_LIMIT = 0.9, 0.2, 5.0


@dataclasses.dataclass(frozen=True)
class Tableau:
    """An explicit embedded Runge-Kutta pair whose last stage is at the step's end with
    the solution's weights (first same as last): ``a[i]`` the weights of stage ``i + 1``
    (stage 0 is the step's start), ``error`` the weights of the error estimate
    (solution minus embedded), ``order`` the embedded (lower) order."""

    title: str
    c: tuple[Fraction, ...]
    a: tuple[tuple[Fraction, ...], ...]
    error: tuple[Fraction, ...]
    order: int

    @property
    def stages(self) -> int:
        return len(self.c)


def _fractions(row: str) -> tuple[Fraction, ...]:
    """``"1/5 3/10"`` as exact fractions."""
    return tuple(Fraction(x) for x in row.split())


DORMAND_PRINCE = Tableau(
    title="Dormand-Prince 5(4)",
    c=_fractions("0 1/5 3/10 4/5 8/9 1 1"),
    a=tuple(
        _fractions(row)
        for row in (
            "1/5",
            "3/40 9/40",
            "44/45 -56/15 32/9",
            "19372/6561 -25360/2187 64448/6561 -212/729",
            "9017/3168 -355/33 46732/5247 49/176 -5103/18656",
            "35/384 0 500/1113 125/192 -2187/6784 11/84",
        )
    ),
    error=_fractions("71/57600 0 -71/16695 71/1920 -17253/339200 22/525 -1/40"),
    order=4,
)

BOGACKI_SHAMPINE = Tableau(
    title="Bogacki-Shampine 3(2)",
    c=_fractions("0 1/2 3/4 1"),
    a=tuple(_fractions(row) for row in ("1/2", "0 3/4", "2/9 1/3 4/9")),
    error=_fractions("-5/72 1/12 1/9 -1/8"),
    order=2,
)

ADAPTIVE_METHODS: dict[str, Tableau] = {"rk45": DORMAND_PRINCE, "rk23": BOGACKI_SHAMPINE}
DEFAULT_TOLERANCE = {"rk45": 1e-5, "rk23": 1e-5}
MAX_TOLERANCE = 0.1
# locals of the generated function that no model identifier may take
_OWN_NAMES = frozenset(
    {
        "h",
        "hh",
        "t_new",
        "target",
        "t_grid",
        "err",
        "e_",
        "taken",
        "limit",
        "h_min",
        "factor",
        "failing",
        "stopped",
    }
)


def is_adaptive(method: str) -> bool:
    """Whether ``method`` names an adaptive method (``rk23``, ``rk45:1e-6``, ...), valid or not."""
    return method.partition(":")[0] in ADAPTIVE_METHODS


def parse(method: str) -> tuple[str, float]:
    """``(name, tolerance)`` of an adaptive method spelled ``name`` or ``name:tolerance``
    (``rk23``, ``rk45:1e-6``); a bad spelling raises ``SimulationSettingsError``."""
    name, colon, given = method.partition(":")
    if name not in ADAPTIVE_METHODS:
        raise SimulationSettingsError(
            f"'{method}' is not an adaptive integration method; choose one of "
            f"{', '.join(ADAPTIVE_METHODS)}, optionally with a tolerance ('rk23:1e-6')"
        )
    if not colon:
        return name, DEFAULT_TOLERANCE[name]
    try:
        tolerance = float(given)
    except ValueError:
        tolerance = math.nan
    if not 0.0 < tolerance <= MAX_TOLERANCE:
        raise SimulationSettingsError(
            f"integration method '{method}': the tolerance after ':' must be a number in "
            f"(0, {MAX_TOLERANCE:g}], such as '{name}:1e-6'"
        )
    return name, tolerance


def refuse_unsupported(model: ir.ModelIR, method: str) -> None:
    """Raise ``SimulationSettingsError`` naming what in ``model`` ``method`` cannot run."""
    reasons = []
    if model.discrete_states:
        reasons.append(
            "discrete states (SAMPLE IF TRUE, DELAY N), which change once per time step: "
            + ", ".join(d.symbol for d in model.discrete_states[:3])
        )
    if model.fixed_delays:
        reasons.append(
            "DELAY FIXED, whose pipe has one slot per time step: "
            + ", ".join(f.symbol for f in model.fixed_delays[:3])
        )
    if codegen.noise_seed(model) is not None:
        reasons.append("random functions, whose draws would depend on the steps taken")
    if model.final_time_symbol is not None:
        reasons.append("a FINAL TIME that changes in the run")
    if reasons:
        raise SimulationSettingsError(
            f"integration method '{method}' (adaptive step) cannot run model "
            f"'{model.name}': it has {'; and '.join(reasons)}; use euler or rk4"
        )


def _number(value: Fraction | float) -> str:
    return repr(float(value))


def generate(model: ir.ModelIR, method: str) -> str:
    """The source of the kernel module of ``model`` for adaptive ``method`` (``rk23``,
    ``rk45:1e-6``, ...): it defines ``batch_<name>`` with the fixed-step kernels'
    signature, and the tolerance as a constant (so in the cache key)."""
    name, tolerance = parse(method)
    refuse_unsupported(model, method)
    tableau = ADAPTIVE_METHODS[name]
    names = codegen.identifiers(model, _OWN_NAMES)
    tables = codegen.lookup_tables(model)
    emitter = codegen._Emitter(names, tables, {lk.name: lk.mode for lk in model.lookups})
    title = f": {name} ({tableau.title}, adaptive step)"
    lines = codegen.module_head(model, tables, title, [f"TOLERANCE = {tolerance!r}"])
    stage = codegen.stage_function(model, f"_stage_{name}", names, emitter, save=True)
    if stage is not None:
        lines += stage.lines
    lines += _batch_function(model, name, tableau, names, emitter, stage)
    return "\n".join(lines) + "\n"


def _batch_function(
    model: ir.ModelIR,
    method: str,
    tableau: Tableau,
    names: Mapping[str, str],
    emitter: codegen._Emitter,
    stage: StageFunction | None = None,
) -> list[str]:
    """``batch_<method>``: the runs of a batch (or of a slice of its rows), one after the
    other, each run's code inside the loop over the rows; the stages call ``stage`` if
    given (each stage's equations inline otherwise). A run that stops (its step fails)
    fills the rows not reached, sets its status and leaves the step loop (``stopped``).

    Why inline, not a run function the batch function calls (issue 21, as
    ``codegen._fixed_step_batch`` for the fixed-step kernels): numba optimised and
    compiled the run's function with LLVM, then once more inside the batch function that
    links it: gvc_upgrading's rk23 compile and first run took 2.24-2.32 s CPU, 2.02-2.08 s
    inline (``benchmarks/bench_compile.py --stages``). The same statements on the same
    values: results are bitwise those of before."""
    plain = names.__getitem__
    i0 = "    "
    i1, i2, i3, i4, i5 = ("    " * k for k in range(2, 7))
    stocks = {s.symbol: names[s.symbol] for s in model.stocks}
    out = [
        f"@njit({codegen._KERNEL_FLAGS})",
        f"def batch_{method}(C, OUT, STATUS, save_rows, sel, t0, dt, n_steps, saveper, "
        "final_time):",
        f'{i0}"""The runs of a batch ({method}, adaptive step), one after the other."""',
        f"{i0}for r in range(C.shape[0]):",
        f"{i1}c = C[r]",
        f"{i1}out = OUT[r]",
        f"{i1}time = t0",
        f"{i1}status = {OK}",
        f"{i1}next_row = 0  # rows from here on are not reached (yet)",
        f"{i1}# parameters",
    ]
    for p in model.parameters:
        out.append(codegen._assign(p.symbol, f"c[{p.column}]", names, i1))
    out.append(f"{i1}# initialization")
    for eq in model.init_equations:
        out.append(codegen._assign(eq.symbol, emitter.expr(eq.expr, plain), names, i1))
    out.append(f"{i1}# constant auxiliaries")
    for eq in model.static_equations:
        out.append(codegen._assign(eq.symbol, emitter.expr(eq.expr, plain), names, i1))
    cells = codegen.visible_cells(model)
    ns = len(stocks)
    extra = stage.size + (2 + tableau.stages) * ns if stage is not None else 0
    out += codegen.saved_values_buffer(cells, i1, extra)
    out.append(f"{i1}# the start's auxiliaries and rates (later: the last stage's, same point)")
    if stage is not None:
        first = len(cells) + stage.size
        out += stage.store_constants(names, i1, len(cells))
        out += [
            f"{i1}_xp = rt.offset(vp, {first})  # the stocks, in vals",
            f"{i1}_yp = rt.offset(vp, {first + ns})  # a stage's stock values",
            f"{i1}_dp = rt.offset(vp, {first + 2 * ns})  # the stages' rates, stage by stage",
            *stages.moves("scatter", "_xp", list(stocks.values()), i1),
            stage.call("_xp", "_dp", plain, i1, "-np.inf"),
        ]
    else:
        for eq in model.dynamic_equations:
            out.append(codegen._assign(eq.symbol, emitter.expr(eq.expr, plain), names, i1))
        for s in model.stocks:
            out.append(f"{i1}d_1_{stocks[s.symbol]} = {emitter.expr(s.rate, plain)}")
    out += [
        f"{i1}h = dt  # the next step to try: TIME STEP first",
        f"{i1}h_min = dt * {MIN_STEP_FRACTION!r}",
        f"{i1}taken = 0",
        f"{i1}failing = {STEP_FAILED}  # the status if the step fails: {NONFINITE_STATE} if "
        "not finite",
        f"{i1}limit = {MAX_STEPS_PER_UNIT} * (n_steps + 1)",
        f"{i1}t_grid = t0",
        f"{i1}stopped = False  # the step failed: the run stops",
        f"{i1}for step in range(n_steps + 1):",
        f"{i2}row = save_rows[step]",
        f"{i2}if row >= 0:",
        f"{i3}target = t_grid  # a saved time: a step ends there exactly",
        f"{i3}while time < target:",
        f"{i4}if target - time <= h:",
        f"{i5}hh = target - time",
        f"{i5}t_new = target",
        f"{i4}else:",
        f"{i5}hh = h",
        f"{i5}t_new = time + h",
    ]
    if stage is not None:
        out += _stage_calls(tableau, ns, i4, stage, plain)
        out += _control_arrays(tableau, ns, i4)
    else:
        out += _stages(model, tableau, names, emitter, stocks, i4)
        out += _control(tableau, stocks, i4)
    out += [
        f"{i3}if stopped:",
        f"{i3}    break",
        f"{i3}next_row = row + 1",
    ]
    if stage is not None:  # the stocks, and the last stage's auxiliaries (at this time)
        out += stages.moves("gather", "_xp", list(stocks.values()), i3)
        out += stage.restore(names, i3)
    for eq in model.output_equations:
        out.append(codegen._assign(eq.symbol, emitter.expr(eq.expr, plain), names, i3))
    out += codegen.store_saved_values(cells, names, i3)
    out += [
        f"{i3}total = 0.0",
        f"{i3}for j in range(sel.shape[0]):",
        f"{i3}    out[row, j] = vals[sel[j]]",
        f"{i3}    total += vals[sel[j]] * 0.0  # NaN if any value is NaN/inf",
        f"{i3}if not rt.all_finite(total):",
        f"{i3}    status = max(status, {NONFINITE_OUTPUT})",
        f"{i2}t_grid = t_grid + dt  # the fixed-step kernels' times, accumulated alike",
        f"{i1}STATUS[r] = status",
        "",
        "",
    ]
    return out


def _stages(
    model: ir.ModelIR,
    tableau: Tableau,
    names: Mapping[str, str],
    emitter: codegen._Emitter,
    stocks: Mapping[str, str],
    indent: str,
) -> list[str]:
    """Stages 2.. of one step: stage values ``y_``, auxiliaries, rates ``d_<k>_``."""

    rename = codegen.stage_renamer(names, stocks)
    out = []
    for k in range(1, tableau.stages):
        c, weights = tableau.c[k], tableau.a[k - 1]
        out.append(f"{indent}time_s = {'t_new' if c == 1 else f'time + {_number(c)} * hh'}")
        for ident in stocks.values():
            out.append(f"{indent}y_{ident} = {ident} + hh * ({_terms(weights, ident)})")
        for eq in model.dynamic_equations:
            out.append(codegen._assign(eq.symbol, emitter.expr(eq.expr, rename), names, indent))
        for s in model.stocks:
            out.append(f"{indent}d_{k + 1}_{stocks[s.symbol]} = {emitter.expr(s.rate, rename)}")
    return out


def _terms(weights: tuple[Fraction, ...], ident: str) -> str:
    """``w1 * d_1_<ident> + ...``: a stage's (or the error's) weighted sum of the rates."""
    return " + ".join(f"{_number(w)} * d_{j + 1}_{ident}" for j, w in enumerate(weights) if w != 0)


def _stage_calls(
    tableau: Tableau, ns: int, indent: str, stage: StageFunction, plain: Callable[[str], str]
) -> list[str]:
    """Stages 2.. of one step by calls of ``stage``: each stage's stock values at ``_yp``
    (a loop over the stocks, compiled once whatever their number), its rates at ``_dp``
    (stage k's at slot k * ns), its time in a name of its own (``_t<k>``: a variable
    assigned once costs numba's SSA pass nothing). The last stage stores its auxiliaries
    if the step ends at the saved time, where they are reported if it is accepted. The
    operations of the inline stages (:func:`_stages`), on the same values."""
    out = []
    last = tableau.stages - 1
    inner = indent + "    "
    for k in range(1, tableau.stages):
        c, weights = tableau.c[k], tableau.a[k - 1]
        time = "t_new" if c == 1 else f"_t{k + 1}"
        if c != 1:
            out.append(f"{indent}{time} = time + {_number(c)} * hh")
        out.append(f"{indent}for _j in range({ns}):")
        out.append(f"{inner}_yp[_j] = _xp[_j] + hh * ({_array_terms(weights, ns)})")

        def rename(symbol: str, time: str = time) -> str:
            return time if symbol == "time" else plain(symbol)

        rates = f"rt.offset(_dp, {k * ns})"
        save_from = "target" if k == last else "np.inf"
        out.append(stage.call("_yp", rates, rename, indent, save_from))
    return out


def _array_terms(weights: tuple[Fraction, ...], ns: int) -> str:
    """``w1 * _dp[_j] + w2 * _dp[ns + _j] + ...``: :func:`_terms` over the rate arrays."""
    return " + ".join(
        f"{_number(w)} * _dp[{f'{j * ns} + ' if j else ''}_j]"
        for j, w in enumerate(weights)
        if w != 0
    )


def _control_arrays(tableau: Tableau, ns: int, indent: str) -> list[str]:
    """:func:`_control` over the stock arrays (``_xp`` the stocks, ``_yp`` the new ones,
    ``_dp`` the stages' rates): the same operations in the same order, in loops."""
    inner, deeper = indent + "    ", indent + "        "
    last = tableau.stages
    exponent = _number(Fraction(-1, tableau.order + 1))
    return [
        f"{indent}err = 0.0",
        f"{indent}check = 0.0",
        f"{indent}for _j in range({ns}):",
        f"{inner}e_ = abs(hh * ({_array_terms(tableau.error, ns)})) / "
        "(1.0 + max(abs(_xp[_j]), abs(_yp[_j])))",
        f"{inner}err = max(err, e_)",  # max() would drop a NaN e_: check has it
        f"{inner}check += (_yp[_j] + e_) * 0.0",
        f"{indent}err = err / TOLERANCE",
        f"{indent}taken += 1",
        f"{indent}if err <= 1.0 and rt.all_finite(check):",
        f"{inner}time = t_new",
        f"{inner}for _j in range({ns}):",
        f"{deeper}_xp[_j] = _yp[_j]",
        f"{deeper}_dp[_j] = _dp[{(last - 1) * ns} + _j]",
        *_step_size(exponent, inner, deeper, indent),
    ]


def _control(tableau: Tableau, stocks: Mapping[str, str], indent: str) -> list[str]:
    """Accept or reject the step (``y_`` holds the new stocks) and choose the next one."""
    inner, deeper = indent + "    ", indent + "        "
    last = tableau.stages
    out = [f"{indent}err = 0.0", f"{indent}check = 0.0"]
    for ident in stocks.values():
        terms = " + ".join(
            f"{_number(w)} * d_{j + 1}_{ident}" for j, w in enumerate(tableau.error) if w != 0
        )
        out.append(f"{indent}e_ = abs(hh * ({terms})) / (1.0 + max(abs({ident}), abs(y_{ident})))")
        out.append(f"{indent}err = max(err, e_)")  # max() would drop a NaN e_: check has it
        out.append(f"{indent}check += (y_{ident} + e_) * 0.0")
    exponent = _number(Fraction(-1, tableau.order + 1))
    out += [
        f"{indent}err = err / TOLERANCE",
        f"{indent}taken += 1",
        f"{indent}if err <= 1.0 and rt.all_finite(check):",
        f"{inner}time = t_new",
    ]
    out += [f"{inner}{ident} = y_{ident}" for ident in stocks.values()]
    out += [f"{inner}d_1_{ident} = d_{last}_{ident}" for ident in stocks.values()]
    return out + _step_size(exponent, inner, deeper, indent)


def _step_size(exponent: str, inner: str, deeper: str, indent: str) -> list[str]:
    """The end of :func:`_control` after an accepted step's new stocks: the next step
    (and a rejected step's), and the stop when the steps fail (out of the loop over the
    steps to a saved time; ``stopped`` takes the run out of the loop over saved times)."""
    return [
        # the status if the run stops now (the step limit): of this attempt, not of an
        # earlier step rejected for a value that was not finite
        f"{inner}failing = {STEP_FAILED}",
        f"{inner}factor = {GROW_LIMIT!r} if err == 0.0 else "
        f"min({GROW_LIMIT!r}, max({SHRINK_LIMIT!r}, {SAFETY!r} * err ** {exponent}))",
        f"{inner}h = max(h, hh * factor) if t_new == target else hh * factor",
        f"{indent}else:",
        f"{inner}if err <= 1e300 and rt.all_finite(check):  # inaccurate",
        f"{deeper}factor = max({SHRINK_LIMIT!r}, {SAFETY!r} * err ** {exponent})",
        f"{deeper}failing = {STEP_FAILED}",
        f"{inner}else:  # a stock or the error estimate is not finite",
        f"{deeper}factor = {SHRINK_LIMIT!r}",
        f"{deeper}failing = {NONFINITE_STATE}",
        f"{inner}h = hh * factor",
        f"{indent}if h < h_min or taken > limit:",
        f"{inner}rt.fill_unreached(out, next_row)",
        f"{inner}status = failing",
        f"{inner}stopped = True",
        f"{inner}break",
    ]
