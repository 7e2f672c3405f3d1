"""A calibration problem: estimated parameters x cases -> model quantities -> likelihood.

Everything downstream (differential evolution, profiles, bootstrap, cross-validation,
prediction) asks one question many times: for these ``n`` candidate parameter vectors,
what is each case's model quantity, and how likely are the observed outcomes? One call
of :meth:`CalibrationProblem.quantities` builds the ``n x C`` runs (the candidates
repeated over the cases, each case's levers beside them) and evaluates them as ONE
compiled batch through the analysis seam (in pieces of bounded memory when many cases
make it large), each run read at its own case's horizon.
The likelihood of any re-weighting of the cases (a bootstrap replicate, a training
fold) is then numpy on those quantities, with the cutpoints profiled out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gvcdyn.calibrate.cases import (
    CaseMapping,
    CaseTable,
    apply_mapping,
    read_mapping,
)
from gvcdyn.calibrate.config import CalibrationConfig, OutcomeSpec
from gvcdyn.calibrate.likelihood import profile_cutpoints
from gvcdyn.calibrate.revisions import read_revised_cases
from gvcdyn.checks.run import CheckRunner, all_hold
from gvcdyn.checks.spec import read_checks
from gvcdyn.errors import (
    CalibrationConfigError,
    CaseDataError,
    UnknownParameterError,
    UnknownVariableError,
)
from gvcdyn.limits import check_memory, chunk_rows
from gvcdyn.model import load
from gvcdyn.outcomes import Outcome, nearest_saved
from gvcdyn.space import ParameterSpace

__all__ = ["CalibrationProblem", "case_weights", "observed_levels"]

#: objective value given to a candidate whose runs fail (NaN/inf in the model)
FAILED = 1e10


def observed_levels(
    cases: CaseTable, outcomes: Sequence[OutcomeSpec], *, strict: bool = True
) -> np.ndarray:
    """``(C, m)`` level index of each observed outcome; -1 where the cell is blank."""
    levels = np.full((len(cases), len(outcomes)), -1, dtype=np.int64)
    bad = []
    for k, spec in enumerate(outcomes):
        if spec.column not in cases.frame.columns:
            if strict:
                raise CaseDataError(f"case table has no outcome column '{spec.column}'")
            continue
        index = {v: j for j, v in enumerate(spec.levels)}
        for i, raw in enumerate(cases.frame[spec.column]):
            key = raw
            if key not in index:  # "2.0" for "2"
                try:
                    number = float(raw)
                    key = str(int(number)) if number == int(number) else raw
                except ValueError:
                    pass
            if key in index:
                levels[i, k] = index[key]
            elif raw != "":
                bad.append(
                    f"case '{cases.ids[i]}', column '{spec.column}': value '{raw}' is "
                    f"not one of the levels {list(spec.levels)}"
                )
    if bad and strict:
        raise CaseDataError("; ".join(bad[:10]))
    return levels


def case_weights(cases: CaseTable, config: CalibrationConfig) -> np.ndarray:
    """``(C,)`` case weights from the weight column (1 everywhere when none is configured)."""
    if config.weight_column is None:
        return np.ones(len(cases))
    if config.weight_column not in cases.frame.columns:
        raise CaseDataError(f"case table has no weight column '{config.weight_column}'")
    weights = np.ones(len(cases))
    for i, raw in enumerate(cases.frame[config.weight_column]):
        if raw not in config.weight_values:
            raise CaseDataError(
                f"case '{cases.ids[i]}', column '{config.weight_column}': value '{raw}' has no "
                f"weight in [weights] (known: {sorted(config.weight_values)})"
            )
        weights[i] = config.weight_values[raw]
    return weights


def _check_bounds_in_range(param, bounds: tuple[float, float], config: CalibrationConfig) -> None:
    """Refuse [estimate] bounds that leave the parameter's documented range here, where
    the config can be named: the parameter space would refuse them too, but its remedy
    (``allow_out_of_range=True``) is one a config file cannot take."""
    if not param.outside_range(np.asarray(bounds, dtype=float)).any():
        return
    where = f"calibration config {config.path}" if config.path else "calibration config"
    raise CalibrationConfigError(
        f"{where}: [estimate] bounds [{bounds[0]:g}, {bounds[1]:g}] of '{param.name}' leave "
        f"its documented range {param.range_text()}; narrow them to that range, or widen "
        "the range in the model's .mdl if the wider values are meaningful"
    )


@dataclass
class RunCounter:
    runs: int = 0
    batches: int = 0


class CalibrationProblem:
    """Estimated parameters, mapped cases, outcome quantities and the likelihood."""

    def __init__(
        self,
        model,
        config: CalibrationConfig,
        mapping: CaseMapping,
        cases: CaseTable,
        *,
        strict_outcomes: bool = True,
    ) -> None:
        self.model = model
        self.config = config
        self.mapping = mapping.canonical(model)
        self.cases = cases
        self.outcomes = config.outcomes
        names, bounds, priors = [], [], []
        for est in config.estimate:
            try:  # a misspelled name names the config, as its bad bounds and keys do
                param = model.parameter(est.name)
            except UnknownParameterError as error:
                raise error.at(file=config.path) from None
            if param.name in cases.levers:
                raise CalibrationConfigError(
                    f"'{param.name}' is both estimated and set by the case mapping; "
                    "estimate it or map it, not both"
                )
            lo, hi = est.bounds if est.bounds else (param.minimum, param.maximum)
            if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
                raise CalibrationConfigError(
                    f"estimated parameter '{param.name}' has no finite range in the model; "
                    "give bounds = [low, high] in [estimate]"
                )
            _check_bounds_in_range(param, (lo, hi), config)
            names.append(param.name)
            bounds.append((float(lo), float(hi)))
            priors.append(est.prior_normal)
        self.names: tuple[str, ...] = tuple(names)
        self.bounds = np.array(bounds, dtype=float)
        self._priors = priors
        try:  # a bad level or weight names the case file, as its other bad cells do
            self.levels = observed_levels(cases, self.outcomes, strict=strict_outcomes)
            self.weights = case_weights(cases, config) if strict_outcomes else np.ones(len(cases))
        except CaseDataError as error:
            raise error.at(file=config.cases) from None
        self.counter = RunCounter()
        self._build_evaluator()
        self.checks = self._build_checks()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, config: CalibrationConfig, model=None) -> CalibrationProblem:

        mapping = read_mapping(config.mapping)
        model_path = config.model or mapping.model
        if model is None:
            if model_path is None:
                raise CalibrationConfigError(
                    "no model: give 'model' in the calibration config or in the mapping file"
                )
            model = load(model_path)
        frame, source = read_revised_cases(config.cases, config.revisions, mapping.id_column)
        cases = apply_mapping(frame, mapping, model=model, source=source)
        if len(cases) == 0:
            raise CaseDataError(f"case file {config.cases}: no case is left after the mapping")
        problem = cls(model, config, mapping, cases)
        problem._refuse_unobserved_outcomes()
        return problem

    def _refuse_unobserved_outcomes(self) -> None:
        """Refuse a fit to nothing: an outcome that no case with a weight > 0 observes
        adds nothing to the likelihood (every candidate scores alike on it; with every
        outcome so, the objective is 0 and the "estimate" is the search's first best),
        and its cutpoints would be the prior's alone."""
        counted = (self.levels >= 0) & (self.weights[:, None] > 0)
        for k, spec in enumerate(self.outcomes):
            if counted[:, k].any():
                continue
            coded = int((self.levels[:, k] >= 0).sum())
            why = (
                f"is observed in none of the {len(self.cases)} cases (every '{spec.column}' "
                "cell is blank)"
                if coded == 0
                else f"is observed only in {coded} case(s) of weight 0 ([weights] "
                f"'{self.config.weight_column}'), none with a weight > 0"
            )
            raise CaseDataError(
                f"case file {self.config.cases}: outcome '{spec.column}' {why}, so the fit "
                "would learn nothing from it; code it in the cases, or remove its "
                "[[outcome]] from the config"
            )

    def _build_evaluator(self) -> None:
        model = self.model
        levers = list(self.cases.levers)
        lever_bounds = {}
        for j, lever in enumerate(levers):
            param = model.parameter(lever)
            if (
                param.minimum is not None
                and param.maximum is not None
                and math.isfinite(param.minimum)
                and math.isfinite(param.maximum)
                and param.minimum < param.maximum
            ):
                lever_bounds[lever] = (param.minimum, param.maximum)
            else:
                column = self.cases.values[:, j]
                span = np.concatenate([column[np.isfinite(column)], [param.default]])
                lever_bounds[lever] = (float(span.min()), float(span.max()) + 1e-9)
        names = [*self.names, *levers]
        bounds = {n: tuple(b) for n, b in zip(self.names, self.bounds, strict=True)}
        self.space = ParameterSpace(model, names, bounds={**bounds, **lever_bounds})
        base = self.space.base[self.space.columns[len(self.names) :]]
        self.case_levers = np.where(np.isnan(self.cases.values), base, self.cases.values)
        outcomes = [Outcome(o.quantity, "value", at="run", name=o.column) for o in self.outcomes]
        final = float(np.max(self.cases.horizon)) if len(self.cases) else None
        try:  # an [[outcome]] quantity the model lacks names the config
            self.evaluator = model.evaluator(
                self.space,
                outcomes,
                method=self.config.method,
                final_time=final,
                time_step=self.config.time_step,
            )
        except UnknownVariableError as error:
            raise error.at(file=self.config.path) from None
        self._refuse_unsaved_horizons()
        self.scales = np.array([o.scale for o in self.outcomes])

    def _refuse_unsaved_horizons(self) -> None:
        """Refuse a case whose period does not end at a time the model saves (a period of
        11.5 years, SAVEPER 1): its outcomes are read at the period's end, so every batch
        of runs failed with "outcome 'x': time 11.5 is not a saved time", naming neither
        the case nor its columns (``predict`` answered for no case, ``calibrate`` stopped).
        The outcomes' reader's own test (``outcomes.nearest_saved``)."""
        saved = self.evaluator.grid.save_times
        horizon = self.cases.horizon
        if len(saved) < 2 or not len(horizon):
            return
        _, off_grid, spacing = nearest_saved(np.asarray(horizon, dtype=float), saved)
        off = np.flatnonzero(off_grid)
        if not len(off):
            return
        i, m = int(off[0]), self.mapping
        row = self.cases.frame.iloc[i]
        more = f" (and {len(off) - 1} more case(s))" if len(off) > 1 else ""
        raise CaseDataError(
            f"case file {self.config.cases}: case '{self.cases.ids[i]}', columns "
            f"'{m.start_column}' to '{m.end_column}': its period {row[m.start_column]} to "
            f"{row[m.end_column]} lasts {horizon[i]:g}, not a time the model saves (every "
            f"{spacing:g} from {saved[0]:g}), and its outcomes are read at the period's "
            f"end{more}; give a period of whole save periods, or save more often (SAVEPER)"
        )

    def _build_checks(self) -> CheckRunner | None:
        """The config's reality checks, judged at each candidate vector (the estimated
        parameters over the model's defaults, under the calibration's integration
        setting), or None without a ``checks`` file."""
        if self.config.checks is None:
            return None
        spec = read_checks(self.config.checks, self.model)
        return CheckRunner(
            self.model,
            spec,
            method=self.config.method,
            time_step=self.config.time_step,
            varying=self.names,
        )

    # ------------------------------------------------------------------ evaluation
    @property
    def k(self) -> int:
        return len(self.names)

    def quantities(
        self, theta: np.ndarray, cases: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``theta (n, k)`` -> quantities ``(n, C, m)`` and run status ``(n, C)``, one batch
        (evaluated in pieces when its saved values would not fit in ``chunk_rows``'s
        bound: many cases, long horizons); refused when even its inputs and results
        would exceed the memory limit."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        rows = np.arange(len(self.cases)) if cases is None else np.asarray(cases)
        n, c = theta.shape[0], len(rows)
        m = len(self.evaluator.outcomes)
        check_memory(
            n * c * (theta.shape[1] + self.case_levers.shape[1] + m + 2) * 8,
            f"{n * c:,} runs ({n:,} parameter vectors x {c:,} cases)",
            hint="use fewer cases or a smaller population",
            error=CaseDataError,
        )
        X = np.concatenate(
            [np.repeat(theta, c, axis=0), np.tile(self.case_levers[rows], (n, 1))], axis=1
        )
        times = np.tile(self.cases.horizon[rows], n)
        # the kernel holds every saved time of every run until the outcomes are read:
        # evaluate in pieces of bounded size (the same numbers: runs are independent)
        step = chunk_rows(self.run_bytes, len(X))
        if step >= len(X):
            Y, status = self.evaluator(X, times=times)
        else:
            parts = [
                self.evaluator(X[i : i + step], times=times[i : i + step])
                for i in range(0, len(X), step)
            ]
            Y = np.concatenate([p[0] for p in parts])
            status = np.concatenate([p[1] for p in parts])
        self.counter.runs += X.shape[0]
        self.counter.batches += 1
        return Y.reshape(n, c, -1), status.reshape(n, c)

    @property
    def run_bytes(self) -> int:
        """Bytes one run's saved values take in a batch (every saved time of every cell
        the outcomes read, up to the longest case's horizon)."""
        return len(self.evaluator.grid.save_times) * len(self.evaluator.columns) * 8

    def log_prior(self, theta: np.ndarray) -> np.ndarray:
        """Minus the log prior density (up to a constant): 0 for uniform priors."""
        theta = np.atleast_2d(theta)
        total = np.zeros(theta.shape[0])
        for j, prior in enumerate(self._priors):
            if prior is not None:
                total += 0.5 * ((theta[:, j] - prior[0]) / prior[1]) ** 2
        return total

    def nll_from_quantities(
        self, s: np.ndarray, status: np.ndarray, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Profiled negative log-likelihood ``(n,)`` and cutpoints per outcome ``(n, J-1)``.

        ``weights`` ``(C,)`` or ``(n, C)`` replace the case weights (bootstrap, folds).
        """
        n = s.shape[0]
        w = self.weights if weights is None else weights
        w = np.broadcast_to(w, (n, s.shape[1]))
        failed = np.any((status != 0) & (w > 0), axis=1)
        total = np.zeros(n)
        cuts = []
        for k, spec in enumerate(self.outcomes):
            eta = s[:, :, k] / self.scales[k]
            nll, c = profile_cutpoints(
                eta, self.levels[:, k], w, len(spec.levels), pseudo_count=self.config.pseudo_count
            )
            total += nll
            cuts.append(c)
        total = np.where(failed | ~np.isfinite(total), FAILED, total)
        return total, cuts

    def check_verdicts(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(margin, holds)``, each ``(n, checks)``, of the config's reality checks at
        candidates ``theta (n, k)``: one batch (an empty check axis without checks)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        if self.checks is None:
            return np.empty((len(theta), 0)), np.empty((len(theta), 0), dtype=bool)
        bases = np.tile(self.checks.base, (len(theta), 1))
        bases[:, [self.model.parameter(n).column for n in self.names]] = theta
        margins, holds = self.checks.verdicts(bases)
        self.counter.runs += len(theta) * self.checks.rows
        self.counter.batches += 1
        return margins, holds

    def checks_hold(self, theta: np.ndarray) -> np.ndarray:
        """``(n,)`` True where every reality check of the config holds at candidates
        ``theta (n, k)`` (``checks.run.all_hold`` of :meth:`check_verdicts`: one batch;
        True for all without checks): the support of the fit and of the posterior."""
        return all_hold(self.check_verdicts(theta)[1])

    def objective(
        self, theta: np.ndarray, weights: np.ndarray | None = None, *, checks: bool = True
    ) -> np.ndarray:
        """Negative log posterior ``(n,)`` of candidates ``theta (n, k)``: one batch of the
        cases (and one of the checks, if any: a candidate that breaks a check is outside
        the support and gets ``FAILED`` without its cases being run).

        ``checks=False``: the cases' term alone, the checks not run (the posterior's
        sampler judges them afterwards, only where a proposal would be accepted)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        if self.checks is None or not checks:
            s, status = self.quantities(theta)
            nll, _ = self.nll_from_quantities(s, status, weights)
            return nll + self.log_prior(theta)
        allowed = self.checks_hold(theta)
        out = np.full(len(theta), FAILED)
        if allowed.any():
            w = weights if weights is None or np.ndim(weights) == 1 else weights[allowed]
            s, status = self.quantities(theta[allowed])
            nll, _ = self.nll_from_quantities(s, status, w)
            out[allowed] = nll + self.log_prior(theta[allowed])
        return out

    def unit(self, theta: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        return (np.asarray(theta) - lo) / (hi - lo)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        return lo + np.clip(np.asarray(u), 0.0, 1.0) * (hi - lo)

    def with_frame(self, frame) -> CalibrationProblem:
        """The same problem (same evaluator) with the outcome columns of ``frame``.

        ``frame`` has the problem's cases in the same order (e.g. from
        :func:`gvcdyn.calibrate.synthetic.simulate_outcomes`).
        """
        import copy

        if list(frame[self.mapping.id_column]) != list(self.cases.ids):
            raise CaseDataError("the new outcome table must list the same cases in the same order")
        clone = copy.copy(self)
        c = self.cases
        clone.cases = CaseTable(
            c.ids,
            c.levers,
            c.values,
            c.horizon,
            frame.reset_index(drop=True),
            c.excluded,
            c.invalid,
        )
        clone.levels = observed_levels(clone.cases, self.outcomes)
        clone.counter = self.counter
        return clone
