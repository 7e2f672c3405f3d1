"""Posterior draws of a calibration's parameters: emcee's ensemble sampler, ArviZ diagnostics.

The point estimate and its profiles say where the objective is lowest and how it rises
along each axis; a posterior says which parameter vectors are credible together, and so
how uncertain a prediction made from them is. emcee's affine-invariant ensemble sampler
(Goodman and Weare 2010; Foreman-Mackey et al. 2013) needs no gradients and no tuning
beyond the number of walkers, and with ``vectorize=True`` each of its moves proposes for
half the walkers at once: one move is ONE call of :meth:`CalibrationProblem.objective`,
so one compiled batch of (walkers / 2) x cases runs.

The target density is ``exp(-objective(theta))`` on the config's bounds: the profiled
ordered-logit likelihood of the coded outcomes times the config's priors (uniform on the
bounds unless a normal prior is given). The cutpoints of each outcome are set to their
best values for every ``theta`` (profiled out, as in the fit), not sampled: a profile
posterior, somewhat narrower than the joint posterior over parameters and cutpoints. The
result says so in its attributes. A ``constraint`` (e.g. behaviour checks that must hold)
removes the vectors that break it from the support: no draw breaks it.

Walkers start dispersed, drawn uniformly over the bounds (and the constraint), so that
the convergence diagnostics can see a chain that has not forgotten its start. The
diagnostics are ArviZ's rank-normalised split R-hat and bulk/tail effective sample size
with the walkers as chains, and emcee's integrated autocorrelation time. A run is called
converged only when every parameter has R-hat <= 1.01, bulk ESS >= 400 and the kept
chain is at least 50 autocorrelation times long (Vehtari et al. 2021; emcee's guide);
otherwise the result says which criterion failed and by how much.

The draws come back as ArviZ ``InferenceData`` (groups ``posterior`` and
``sample_stats``), which ``arviz.from_netcdf`` opens as it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gvcdyn.calibrate.config import PosteriorSettings
from gvcdyn.calibrate.problem import FAILED, CalibrationProblem
from gvcdyn.errors import CalibrationConfigError

__all__ = ["PosteriorSettings", "convergence", "sample_posterior"]

#: thresholds of the convergence verdict (see the module docstring)
RHAT_MAX = 1.01
ESS_MIN = 400.0
TAU_LENGTHS = 50.0

#: a constraint: ``(n, k)`` parameter vectors -> ``(n,)`` bool, True where allowed
Constraint = Callable[[np.ndarray], np.ndarray]
#: progress(step, steps) after each ensemble step
StepProgress = Callable[[int, int], None]


def problem_has_checks(problem) -> bool:
    """Whether the problem's own objective constrains the support (a checks file)."""
    return getattr(problem, "checks", None) is not None


def _arviz():
    """ArviZ, imported without its FutureWarning about the coming 1.0 refactor (printed on
    every import; the functions used here, from_dict, rhat, ess, keep their meaning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz

    return arviz


def _log_probability(
    problem: CalibrationProblem, constraint: Constraint | None
) -> Callable[[np.ndarray], np.ndarray]:
    """``log p(theta)`` for ``(n, k)`` vectors, -inf outside the bounds, where a run fails
    or where the constraint is broken: one batch for the vectors inside the support."""
    lo, hi = problem.bounds[:, 0], problem.bounds[:, 1]

    def log_prob(theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        out = np.full(theta.shape[0], -np.inf)
        inside = np.all((theta >= lo) & (theta <= hi), axis=1)
        if constraint is not None and inside.any():
            allowed = np.asarray(constraint(theta[inside]), dtype=bool)
            inside[np.flatnonzero(inside)[~allowed]] = False
        if inside.any():
            value = problem.objective(theta[inside])
            out[inside] = np.where(value >= FAILED, -np.inf, -value)
        return out

    return log_prob


def _dispersed_starts(
    problem: CalibrationProblem,
    walkers: int,
    log_prob: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    tries: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """``(walkers, k)`` starting points drawn uniformly over the bounds, each with a finite
    log probability (redrawn up to ``tries`` times, one batch per round), and those
    ``(walkers,)`` log probabilities (so the sampler need not compute them again)."""
    start = np.empty((walkers, problem.k))
    lp = np.full(walkers, -np.inf)
    todo = np.arange(walkers)
    for _ in range(tries):
        start[todo] = problem.from_unit(rng.random((len(todo), problem.k)))
        lp[todo] = log_prob(start[todo])
        todo = todo[~np.isfinite(lp[todo])]
        if len(todo) == 0:
            return start, lp
    raise CalibrationConfigError(
        f"no finite posterior density at {len(todo)} of {walkers} starting points after "
        f"{tries} uniform draws over the bounds: the constraint (or failing runs) leaves "
        "almost no support; check the bounds and the checks"
    )


def sample_posterior(
    problem: CalibrationProblem,
    settings: PosteriorSettings | None = None,
    *,
    constraint: Constraint | None = None,
    progress: StepProgress | None = None,
):
    """Posterior draws of ``problem``'s parameters as ArviZ ``InferenceData``.

    ``settings``: the config's ``[posterior]`` table (default ``PosteriorSettings()``).

    ``posterior`` holds one variable per estimated parameter, dims ``(chain, draw)`` with a
    chain per walker (after burn-in and thinning); ``sample_stats`` holds ``lp`` (the log
    density, up to a constant) and the walkers' acceptance fractions. Attributes carry the
    settings, the convergence verdict and its numbers (see :func:`convergence`).
    """
    import emcee

    az = _arviz()
    settings = settings or PosteriorSettings()
    walkers, burn, thin = settings.resolved(problem.k)
    rng = np.random.default_rng(settings.seed)
    log_prob = _log_probability(problem, constraint)
    start, lp0 = _dispersed_starts(problem, walkers, log_prob, rng)
    sampler = emcee.EnsembleSampler(walkers, problem.k, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(settings.seed).get_state()
    initial = emcee.State(start, log_prob=lp0)
    for step, _state in enumerate(sampler.sample(initial, iterations=settings.steps), start=1):
        if progress is not None:
            progress(step, settings.steps)
    chain = sampler.get_chain(discard=burn, thin=thin)  # (draw, walker, k)
    lp = sampler.get_log_prob(discard=burn, thin=thin)  # (draw, walker)
    tau = np.asarray(sampler.get_autocorr_time(discard=burn, tol=0), dtype=float)
    posterior = {name: chain[:, :, j].T for j, name in enumerate(problem.names)}
    idata = az.from_dict(
        posterior=posterior,
        sample_stats={"lp": lp.T},
        attrs={"inference_library": "emcee", "inference_library_version": emcee.__version__},
    )
    verdict = convergence(idata, tau=tau, kept_steps=settings.steps - burn)
    idata.posterior.attrs.update(
        {
            "sampler": "emcee EnsembleSampler, stretch move, vectorized (one batch a move)",
            "target": (
                "exp(-objective): profiled ordered-logit likelihood x priors on the bounds; "
                "cutpoints profiled out, not sampled (a profile posterior)"
            ),
            "constrained": int(constraint is not None or problem_has_checks(problem)),
            "walkers": walkers,
            "steps": settings.steps,
            "burn": burn,
            "thin": thin,
            "seed": settings.seed,
            "acceptance_fraction_mean": float(np.mean(sampler.acceptance_fraction)),
            **verdict.attrs(),
        }
    )
    idata.sample_stats["acceptance_fraction"] = ("chain", sampler.acceptance_fraction)
    return idata


@dataclass(frozen=True)
class Convergence:
    """The numbers behind the verdict, per parameter, and the verdict itself."""

    names: tuple[str, ...]
    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_tail: np.ndarray
    tau: np.ndarray
    kept_steps: int

    @property
    def failures(self) -> list[str]:
        """Each criterion that fails, with the worst parameter and its number."""
        out = []
        worst = int(np.nanargmax(self.rhat))
        if not np.all(self.rhat <= RHAT_MAX):
            out.append(f"R-hat {self.rhat[worst]:.3f} > {RHAT_MAX} ({self.names[worst]})")
        worst = int(np.nanargmin(self.ess_bulk))
        if not np.all(self.ess_bulk >= ESS_MIN):
            out.append(f"bulk ESS {self.ess_bulk[worst]:.0f} < {ESS_MIN:.0f} ({self.names[worst]})")
        worst = int(np.nanargmax(self.tau))
        if not np.all(self.kept_steps >= TAU_LENGTHS * self.tau):
            out.append(
                f"kept chain {self.kept_steps} steps < {TAU_LENGTHS:.0f} x autocorrelation "
                f"time {self.tau[worst]:.1f} ({self.names[worst]})"
            )
        return out

    @property
    def converged(self) -> bool:
        return not self.failures

    def attrs(self) -> dict[str, object]:
        """netCDF-safe attributes: the verdict and the worst value of each number."""
        return {
            "converged": int(self.converged),
            "convergence_failures": "; ".join(self.failures) or "none",
            "rhat_max": float(np.nanmax(self.rhat)),
            "ess_bulk_min": float(np.nanmin(self.ess_bulk)),
            "ess_tail_min": float(np.nanmin(self.ess_tail)),
            "autocorr_time_max": float(np.nanmax(self.tau)),
        }


def convergence(idata, *, tau: np.ndarray, kept_steps: int) -> Convergence:
    """ArviZ's R-hat and ESS of every posterior variable, with emcee's ``tau`` per parameter."""
    az = _arviz()
    names = tuple(idata.posterior.data_vars)
    rhat = az.rhat(idata)
    bulk = az.ess(idata, method="bulk")
    tail = az.ess(idata, method="tail")

    def values(ds) -> np.ndarray:
        return np.array([float(ds[name]) for name in names])

    return Convergence(names, values(rhat), values(bulk), values(tail), tau, kept_steps)


#: posterior draws kept, evenly over all draws, for predictions (each with its cutpoints)
PREDICTIVE_DRAWS = 200

#: posterior attributes carried into a fit file, each prefixed ``posterior_``
_FIT_ATTRS = (
    "sampler",
    "target",
    "constrained",
    "walkers",
    "steps",
    "burn",
    "thin",
    "seed",
    "acceptance_fraction_mean",
    "converged",
    "convergence_failures",
    "rhat_max",
    "ess_bulk_min",
    "ess_tail_min",
    "autocorr_time_max",
)


def fit_variables(
    idata, problem: CalibrationProblem, n_predictive: int = PREDICTIVE_DRAWS
) -> dict[str, tuple]:
    """The draws as fit-file variables: ``posterior_draw (chain, draw, parameter)``,
    ``posterior_lp (chain, draw)``, and the draws predictions use with their cutpoints,
    ``predictive_estimate (sample, parameter)`` and ``predictive_cutpoint (sample,
    outcome, cut)`` (one batch of ``n_predictive`` x cases runs)."""
    names = list(problem.names)
    draws = np.stack([idata.posterior[name].values for name in names], axis=-1)
    flat = draws.reshape(-1, len(names))
    pick = np.unique(np.linspace(0, len(flat) - 1, min(n_predictive, len(flat))).round())
    theta = flat[pick.astype(np.int64)]
    s, status = problem.quantities(theta)
    _nll, cuts = problem.nll_from_quantities(s, status)
    n_cut = max(len(o.levels) for o in problem.outcomes) - 1
    cut = np.full((len(theta), len(problem.outcomes), n_cut), np.nan)
    for k, c in enumerate(cuts):
        cut[:, k, : c.shape[1]] = c
    return {
        "posterior_draw": (
            ("chain", "draw", "parameter"),
            draws,
            {"description": "posterior draws (emcee walkers as chains, after burn-in)"},
        ),
        "posterior_lp": (
            ("chain", "draw"),
            idata.sample_stats["lp"].values,
            {"description": "log posterior density of each draw, up to a constant"},
        ),
        "predictive_estimate": (
            ("sample", "parameter"),
            theta,
            {"description": "posterior draws used by predict, evenly over all draws"},
        ),
        "predictive_cutpoint": (
            ("sample", "outcome", "cut"),
            cut,
            {"description": "cutpoints profiled on the fitted cases at each predictive draw"},
        ),
    }


def fit_attributes(idata) -> dict[str, object]:
    """The sampler's settings and convergence verdict as ``posterior_*`` fit attributes."""
    attrs = idata.posterior.attrs
    return {f"posterior_{key}": attrs[key] for key in _FIT_ATTRS if key in attrs}


def inference_data(fit):
    """ArviZ ``InferenceData`` (``posterior``, ``sample_stats``) of a fit Dataset's draws,
    to write with ``.to_netcdf`` or pass to ArviZ's plots; the fit must hold a posterior."""
    if "posterior_draw" not in fit:
        raise CalibrationConfigError(
            "the fit has no posterior draws: add a [posterior] table to the calibration "
            "config and calibrate again"
        )
    az = _arviz()
    draws = fit["posterior_draw"]
    names = [str(name) for name in draws["parameter"].values]
    idata = az.from_dict(
        posterior={name: draws.sel(parameter=name).values for name in names},
        sample_stats={"lp": fit["posterior_lp"].values},
    )
    prefix = "posterior_"
    idata.posterior.attrs.update(
        {key[len(prefix) :]: value for key, value in fit.attrs.items() if key.startswith(prefix)}
    )
    return idata
