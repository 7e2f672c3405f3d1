"""Posterior draws of a calibration's parameters: emcee's ensemble sampler, ArviZ diagnostics.

The point estimate and its profiles say where the objective is lowest and how it rises
along each axis; a posterior says which parameter vectors are credible together, and so
how uncertain a prediction made from them is. emcee's affine-invariant ensemble sampler
(Goodman and Weare 2010; Foreman-Mackey et al. 2013) needs no gradients and no tuning
beyond the number of walkers, and with ``vectorize=True`` each of its moves proposes for
half the walkers at once: one move is ONE call of :meth:`CalibrationProblem.objective`,
so one compiled batch of (walkers / 2) x cases runs (with reality checks, one more batch
of checks for the proposals the cases would accept: see below).

The target density is ``exp(-objective(theta))`` on the config's bounds: the profiled
ordered-logit likelihood of the coded outcomes times the config's priors (uniform on the
bounds unless a normal prior is given). The cutpoints of each outcome are set to their
best values for every ``theta`` (profiled out, as in the fit), not sampled: a profile
posterior, somewhat narrower than the joint posterior over parameters and cutpoints. The
result says so in its attributes. A ``constraint`` (e.g. behaviour checks that must hold)
removes the vectors that break it from the support: no draw breaks it. The support is
judged last: each move computes the cases' density of its proposals, draws emcee's
acceptance numbers, and runs the checks (and the constraint) only for the proposals the
density would accept (:class:`_Screened`): the same chain, draw for draw, as with the
checks inside the density, for far fewer check runs (on the GVC calibration the 77 check
runs of a candidate cost about four times its 41 cases, and most proposals are refused
by the density or leave the bounds).

Walkers start dispersed, drawn uniformly over the bounds (and the constraint), so that
the convergence diagnostics can see a chain that has not forgotten its start. The
diagnostics are ArviZ's rank-normalised split R-hat and bulk/tail effective sample size
with the walkers as chains, and emcee's integrated autocorrelation time. A run is called
converged only when every parameter has R-hat <= 1.01, bulk ESS >= 400 and the kept
chain is at least 50 autocorrelation times long (Vehtari et al. 2021; emcee's guide);
otherwise the result says which criterion failed and by how much.

The draws come back as ArviZ ``InferenceData`` (groups ``posterior`` and
``sample_stats``), which ``arviz.from_netcdf`` opens as it is.

An ``execution`` with an output checkpoints the chain like the calibration's other
steps (``gvcdyn.execute.checkpoint``): every ``checkpoint_every`` moves the new steps
(walker positions and log densities), the acceptance counts, the random state of
emcee's generator and the model runs so far are saved atomically as one chunk of
``fit.nc.posterior.job/``. A resume (``execution.resume``) rebuilds emcee's chain from
the chunks and continues from the last one: since an ensemble move depends only on the
walkers, their log densities and the generator's state, the finished chain is bitwise
the chain of an uninterrupted run. The folder's fingerprint holds the computation's
identity (``gvcdyn.identity``: model, kernel, method, time grid...), the config, case
and checks files and the sampler's settings, so a resume with any of them changed is
refused, naming what changed. Like the other steps' folders it is kept until the fit
is written (``gvcdyn.calibrate.tasks.remove_checkpoints``).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gvcdyn.calibrate.config import PosteriorSettings
from gvcdyn.calibrate.feasibility import no_fit
from gvcdyn.calibrate.problem import FAILED, CalibrationProblem
from gvcdyn.calibrate.tasks import job_config
from gvcdyn.checks.run import evenly_spaced
from gvcdyn.errors import CalibrationConfigError
from gvcdyn.execute import Checkpoint, Execution, fingerprint
from gvcdyn.identity import identity_of

__all__ = ["PosteriorSettings", "convergence", "sample_posterior"]

#: thresholds of the convergence verdict (see the module docstring)
RHAT_MAX = 1.01
ESS_MIN = 400.0
TAU_LENGTHS = 50.0

#: a constraint: ``(n, k)`` parameter vectors -> ``(n,)`` bool, True where allowed
Constraint = Callable[[np.ndarray], np.ndarray]
#: progress(step, steps) after each ensemble step
StepProgress = Callable[[int, int], None]
#: ensemble moves between two checkpoints of the chain (with an execution's output)
CHECKPOINT_EVERY = 10


@contextlib.contextmanager
def _quiet_diagnostics() -> Iterator[None]:
    """Without the two libraries' warnings about a short chain, which the verdict
    (:attr:`Convergence.failures`) already states in its own words: ArviZ's "More chains
    (16) than draws (15)", a guess that the array's axes were swapped (they are not:
    walkers are the chains by construction), and numpy's "invalid value encountered in
    divide" from emcee's autocorrelation of a walker that never moved (its time is NaN,
    which the verdict counts as failed). Both printed Python's multi-line warning form
    into ``gvcdyn calibrate``'s output, and ArviZ's logger its "Shape validation failed"
    for fewer than 4 kept draws (R-hat and ESS are then NaN, failed in the verdict); the
    numbers are unchanged."""
    # ArviZ logs through a Logger of its own, not the one logging.getLogger("arviz") gives
    logger = getattr(_arviz(), "_log", None) or logging.getLogger("arviz")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.filterwarnings("ignore", message="More chains", category=UserWarning)
            yield
    finally:
        logger.setLevel(level)


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
    problem: CalibrationProblem, constraint: Constraint | None, *, checks: bool = True
) -> Callable[[np.ndarray], np.ndarray]:
    """``log p(theta)`` for ``(n, k)`` vectors, -inf outside the bounds, where a run fails
    or where the constraint is broken: one batch for the vectors inside the support.
    ``checks=False``: without the problem's checks (the screened moves judge them)."""
    lo, hi = problem.bounds[:, 0], problem.bounds[:, 1]
    kwargs = {} if checks or not problem_has_checks(problem) else {"checks": False}

    def log_prob(theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        out = np.full(theta.shape[0], -np.inf)
        inside = np.all((theta >= lo) & (theta <= hi), axis=1)
        if constraint is not None and inside.any():
            allowed = np.asarray(constraint(theta[inside]), dtype=bool)
            inside[np.flatnonzero(inside)[~allowed]] = False
        if inside.any():
            value = problem.objective(theta[inside], **kwargs)
            out[inside] = np.where(value >= FAILED, -np.inf, -value)
        return out

    return log_prob


def _dispersed_starts(
    problem: CalibrationProblem,
    walkers: int,
    log_prob: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    tries: int = 50,
    *,
    constraint: Constraint | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(walkers, k)`` starting points drawn uniformly over the bounds, each with a finite
    log probability (redrawn up to ``tries`` times, one batch per round), and those
    ``(walkers,)`` log probabilities (so the sampler need not compute them again).

    Walkers left without one raise ``CalibrationInfeasibleError`` naming the checks (or
    runs) that fail (``feasibility.no_fit``), unless a ``constraint`` of the caller's
    (``log_prob``'s) may be what excludes them."""
    start = np.empty((walkers, problem.k))
    lp = np.full(walkers, -np.inf)
    todo = np.arange(walkers)
    for _ in range(tries):
        start[todo] = problem.from_unit(rng.random((len(todo), problem.k)))
        lp[todo] = log_prob(start[todo])
        todo = todo[~np.isfinite(lp[todo])]
        if len(todo) == 0:
            return start, lp
    if constraint is None:  # the problem's own support: say which checks (or runs) fail
        raise no_fit(
            problem,
            start[todo],
            step=f"the posterior's starting points ({tries} uniform draws over the bounds for "
            f"each of {len(todo)} of {walkers} walkers)",
            missed="the support is a small part of the bounds: narrow the [estimate] bounds "
            "around the fit, or use fewer walkers ([posterior] walkers)",
            stage="posterior",
        )
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
    execution: Execution | None = None,
    checkpoint_every: int = CHECKPOINT_EVERY,
):
    """Posterior draws of ``problem``'s parameters as ArviZ ``InferenceData``.

    ``settings``: the config's ``[posterior]`` table (default ``PosteriorSettings()``).

    ``posterior`` holds one variable per estimated parameter, dims ``(chain, draw)`` with a
    chain per walker (after burn-in and thinning); ``sample_stats`` holds ``lp`` (the log
    density, up to a constant) and the walkers' acceptance fractions. Attributes carry the
    settings, the convergence verdict and its numbers (see :func:`convergence`).

    ``execution`` with an ``output`` saves the chain every ``checkpoint_every`` moves in
    ``<output>.posterior.job/`` and, with ``resume``, continues from there (see the
    module docstring); the draws are bitwise those of an uninterrupted run. A
    ``constraint`` given here is not part of the fingerprint (the problem's checks file
    is): resume with the same one.
    """
    import emcee

    az = _arviz()
    settings = settings or PosteriorSettings()
    walkers, burn, thin = settings.resolved(problem.k)
    log_prob = _log_probability(problem, constraint)
    support = _support(problem, constraint)
    if support is None:
        sampler = emcee.EnsembleSampler(
            walkers, problem.k, log_prob, vectorize=True, moves=_moves(settings.moves)
        )
    else:  # the same chain, the support judged only where a proposal would be accepted
        moves = [(_Screened(move, support), w) for move, w in _move_list(settings.moves)]
        cases_only = _log_probability(problem, None, checks=False)
        sampler = emcee.EnsembleSampler(walkers, problem.k, cases_only, vectorize=True, moves=moves)
    saved = _ChainCheckpoint.open(problem, settings, walkers, execution, checkpoint_every)
    try:
        done = saved.restore(sampler, problem) if saved is not None else 0
        if done == 0:
            rng = np.random.default_rng(settings.seed)
            start, lp0 = _dispersed_starts(problem, walkers, log_prob, rng, constraint=constraint)
            sampler.random_state = np.random.RandomState(settings.seed).get_state()
            initial = emcee.State(start, log_prob=lp0)
        else:  # the last saved step, with the generator's state after it
            last = sampler.backend.get_last_sample()
            initial = emcee.State(last.coords, log_prob=last.log_prob)
            initial.random_state = sampler.backend.random_state
            if progress is not None:
                progress(done, settings.steps)
        if done < settings.steps:
            moves = sampler.sample(
                initial,
                iterations=settings.steps - done,
                # a resumed ensemble was checked when it started; an uninterrupted run
                # does not check it again mid-way, so neither does a resume
                skip_initial_state_check=done > 0,
            )
            for step, state in enumerate(moves, start=done + 1):
                if saved is not None and (step % checkpoint_every == 0 or step == settings.steps):
                    saved.save(sampler, state, step, problem)
                if progress is not None:
                    progress(step, settings.steps)
    except BaseException:
        if saved is not None:
            saved.checkpoint.release()  # another process may resume it
        raise
    chain = sampler.get_chain(discard=burn, thin=thin)  # (draw, walker, k)
    lp = sampler.get_log_prob(discard=burn, thin=thin)  # (draw, walker)
    with _quiet_diagnostics():
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
            "sampler": _SAMPLER[settings.moves],
            "moves": settings.moves,  # the [posterior] setting, as the config spells it
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


#: the posterior's ``sampler`` attribute for each ``moves`` setting
_SAMPLER = {
    "stretch": "emcee EnsembleSampler, stretch move, vectorized (one batch a move)",
    "de": ("emcee EnsembleSampler, DEMove 0.8 + DESnookerMove 0.2, vectorized (one batch a move)"),
}


def _moves(name: str):
    """emcee's ``moves`` argument for the ``[posterior]`` table's ``moves`` setting: None
    (emcee's default stretch move, so the default draws are those of before the setting)
    or the differential-evolution mixture emcee's guide recommends ("Using different
    moves", https://emcee.readthedocs.io/en/stable/tutorials/moves/)."""
    if name == "stretch":
        return None
    return _move_list(name)


def _move_list(name: str) -> list[tuple[object, float]]:
    """The ``(move, weight)`` pairs of a ``moves`` setting (stretch: emcee's default)."""
    import emcee  # lazy: emcee is imported only when a posterior is sampled

    if name == "stretch":
        return [(emcee.moves.StretchMove(), 1.0)]
    return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]


def _support(problem: CalibrationProblem, constraint: Constraint | None) -> Constraint | None:
    """``(n, k) -> (n,)`` True where every check of the problem holds and the
    ``constraint`` (if any) allows; None when nothing but the bounds limits the support."""
    checked = problem_has_checks(problem)
    if constraint is None and not checked:
        return None

    def allowed(theta: np.ndarray) -> np.ndarray:
        ok = np.ones(len(theta), dtype=bool)
        if constraint is not None:
            ok &= np.asarray(constraint(theta), dtype=bool)
        if checked and ok.any():
            ok[ok] = problem.checks_hold(theta[ok])
        return ok

    return allowed


class _Screened:
    """An emcee red-blue move (stretch, DE, snooker) whose proposals are judged against
    the support (the checks, a constraint) only where the density would accept them.

    The target is ``p(theta) x 1[theta in S]``. Metropolis accepts a proposal ``q`` of a
    walker at ``x`` (inside ``S``) when ``log u < f + log p(q) - log p(x)`` and ``q`` is
    in ``S``: the two conditions can be tested in either order, so ``S`` need not be
    judged where the first fails (delayed acceptance, Christen and Fox 2005, with an
    indicator as its second stage: exact). The checks are about four times dearer than
    the cases per candidate on the GVC calibration, and most proposals fail the first
    test. Everything else is emcee's ``RedBlueMove.propose`` (emcee 3.1), step for step
    and draw for draw, so the chain is bitwise the chain of the unscreened target; only
    the number of check runs changes.
    """

    def __init__(self, move, support: Constraint) -> None:
        from emcee.moves.red_blue import RedBlueMove  # lazy: only a posterior needs emcee

        if not isinstance(move, RedBlueMove):
            raise TypeError(f"cannot screen emcee's {type(move).__name__}")
        self.move, self.support = move, support

    def propose(self, model, state):
        from emcee.state import State  # lazy: only a posterior needs emcee

        move = self.move
        nwalkers, ndim = state.coords.shape
        if nwalkers < 2 * ndim and not move.live_dangerously:
            raise RuntimeError("fewer walkers than twice the number of dimensions")
        move.setup(state.coords)
        accepted = np.zeros(nwalkers, dtype=bool)
        all_inds = np.arange(nwalkers)
        inds = all_inds % move.nsplits
        if move.randomize_split:
            model.random.shuffle(inds)
        for split in range(move.nsplits):
            S1 = inds == split
            sets = [state.coords[inds == j] for j in range(move.nsplits)]
            q, factors = move.get_proposal(
                sets[split], sets[:split] + sets[split + 1 :], model.random
            )
            new_log_probs, new_blobs = model.compute_log_prob_fn(q)
            passes = np.zeros(len(q), dtype=bool)
            for i, (j, f, nlp) in enumerate(zip(all_inds[S1], factors, new_log_probs, strict=True)):
                passes[i] = f + nlp - state.log_prob[j] > np.log(model.random.rand())
            if passes.any():
                passes[passes] = self.support(q[passes])
            accepted[all_inds[S1][passes]] = True
            new_state = State(q, log_prob=new_log_probs, blobs=new_blobs)
            state = move.update(state, new_state, accepted, S1)
        return state, accepted


class _ChainCheckpoint:
    """The saved chain of an interrupted posterior: one chunk of ``Checkpoint`` per
    ``every`` moves, holding those moves' positions and log densities and, after them,
    the acceptance counts, the state of emcee's generator and the model runs (and
    batches) made since the sampler started, its starting points included."""

    def __init__(self, checkpoint: Checkpoint, every: int, problem: CalibrationProblem) -> None:
        self.checkpoint = checkpoint
        self.every = every
        self.saved_steps = 0
        counter = getattr(problem, "counter", None)
        #: the counter when the sampler started: a chunk saves the runs made since
        self.counted = (0, 0) if counter is None else (counter.runs, counter.batches)

    @classmethod
    def open(
        cls,
        problem: CalibrationProblem,
        settings: PosteriorSettings,
        walkers: int,
        execution: Execution | None,
        every: int,
    ) -> _ChainCheckpoint | None:
        """The chain's checkpoint beside ``execution.output`` (None without an output),
        refused when it holds another job (``Checkpoint.open``)."""
        if execution is None or execution.output is None:
            return None
        if every < 1:
            raise CalibrationConfigError(f"checkpoint_every must be >= 1, got {every}")
        identity = identity_of(getattr(problem, "evaluator", problem))
        _walkers, burn, thin = settings.resolved(problem.k)
        # the default moves are not named, so a stretch chain saved before the setting
        # existed still resumes; any other moves setting is part of the job
        moves = {} if settings.moves == "stretch" else {"moves": settings.moves}
        config = job_config(
            problem,
            "posterior",
            walkers=walkers,
            steps=settings.steps,
            burn=burn,
            thin=thin,
            **moves,
        )
        fp = fingerprint(
            model=identity.get("model_sha256", ""),
            config=config,
            seed=settings.seed,
            n_runs=settings.steps,
            chunk_size=every,
            X=np.zeros((0, problem.k)),
            computation=identity,
        )
        output = Path(execution.output)
        checkpoint = Checkpoint.open(
            output.with_name(f"{output.name}.posterior"),
            fp,
            resume=execution.resume,
            resume_command=execution.resume_command,
            keep=True,  # the fit is written later: removed with the other steps' folders
        )
        return cls(checkpoint, every, problem)

    def restore(self, sampler, problem: CalibrationProblem) -> int:
        """Put the saved moves into ``sampler``'s backend; the number of moves restored
        (0: start afresh). Chunks are read in order up to the first missing or damaged
        one: the moves after it are run again, to the same numbers."""
        digests = self.checkpoint.digests()
        chunks = []
        for index in range(len(self.checkpoint.finished())):
            loaded = self.checkpoint.load(index, digests)
            if loaded is None:
                break
            chunks.append(loaded[0][0])
        if not chunks:
            return 0
        backend = sampler.backend
        chain = np.concatenate([c["chain"] for c in chunks])
        log_prob = np.concatenate([c["log_prob"] for c in chunks])
        last = chunks[-1]
        if chain.shape[1:] != backend.shape or int(last["step"]) != len(chain):
            return 0  # not this sampler's chain (the fingerprint makes this unlikely)
        backend.chain, backend.log_prob = chain, log_prob
        backend.accepted = np.array(last["accepted"], dtype=backend.dtype)
        backend.iteration = len(chain)
        backend.random_state = (
            "MT19937",
            np.array(last["key"], dtype=np.uint32),
            int(last["pos"]),
            int(last["has_gauss"]),
            float(last["gauss"]),
        )
        counter = getattr(problem, "counter", None)
        if counter is not None:  # the saved moves' runs count as if made now
            counter.runs += int(last["runs"])
            counter.batches += int(last["batches"])
        self.saved_steps = len(chain)
        return self.saved_steps

    def save(self, sampler, state, step: int, problem: CalibrationProblem) -> None:
        """Save the moves since the last chunk, ending with move ``step``."""
        backend = sampler.backend
        n, (w, k) = step - self.saved_steps, backend.shape
        kind, key, pos, has_gauss, gauss = state.random_state
        if kind != "MT19937":
            raise CalibrationConfigError(f"cannot checkpoint emcee's {kind} generator")
        counter = getattr(problem, "counter", None)
        runs, batches = (0, 0) if counter is None else (counter.runs, counter.batches)
        chunk = np.zeros(
            1,
            dtype=[
                ("chain", "f8", (n, w, k)),
                ("log_prob", "f8", (n, w)),
                ("accepted", "f8", (w,)),
                ("key", "u4", (624,)),
                ("pos", "i8"),
                ("has_gauss", "i8"),
                ("gauss", "f8"),
                ("step", "i8"),
                ("runs", "i8"),
                ("batches", "i8"),
            ],
        )
        chunk["chain"] = backend.chain[self.saved_steps : step]
        chunk["log_prob"] = backend.log_prob[self.saved_steps : step]
        chunk["accepted"] = backend.accepted
        chunk["key"], chunk["pos"] = key, pos
        chunk["has_gauss"], chunk["gauss"] = has_gauss, gauss
        chunk["step"] = step
        chunk["runs"] = runs - self.counted[0]
        chunk["batches"] = batches - self.counted[1]
        index = (self.saved_steps + self.every - 1) // self.every
        self.checkpoint.save(index, chunk, np.zeros(1, dtype=np.int64))
        self.saved_steps = step


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
        """Each criterion that fails, with the worst parameter and its number (an
        undefined number, NaN, is the worst: a walker that never moved gives one)."""
        out = []
        worst = _worst(self.rhat, largest=True)
        if not np.all(self.rhat <= RHAT_MAX):
            out.append(f"R-hat {self.rhat[worst]:.3f} > {RHAT_MAX} ({self.names[worst]})")
        worst = _worst(self.ess_bulk, largest=False)
        if not np.all(self.ess_bulk >= ESS_MIN):
            out.append(f"bulk ESS {self.ess_bulk[worst]:.0f} < {ESS_MIN:.0f} ({self.names[worst]})")
        worst = _worst(self.tau, largest=True)
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
        """netCDF-safe attributes: the verdict and the worst value of each number (NaN
        when it is undefined for some parameter)."""
        return {
            "converged": int(self.converged),
            "convergence_failures": "; ".join(self.failures) or "none",
            "rhat_max": float(self.rhat[_worst(self.rhat, largest=True)]),
            "ess_bulk_min": float(self.ess_bulk[_worst(self.ess_bulk, largest=False)]),
            "ess_tail_min": float(self.ess_tail[_worst(self.ess_tail, largest=False)]),
            "autocorr_time_max": float(self.tau[_worst(self.tau, largest=True)]),
        }


def _worst(values: np.ndarray, *, largest: bool) -> int:
    """Index of the worst value: the first NaN if any, else the largest or smallest."""
    undefined = np.flatnonzero(np.isnan(values))
    if len(undefined):
        return int(undefined[0])
    return int(np.argmax(values) if largest else np.argmin(values))


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


#: posterior draws kept, evenly over all draws (``evenly_spaced``), for predictions (each
#: with its cutpoints)
PREDICTIVE_DRAWS = 200

#: posterior attributes carried into a fit file, each prefixed ``posterior_``
_FIT_ATTRS = (
    "sampler",
    "moves",
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
    theta = flat[evenly_spaced(len(flat), n_predictive)]
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
    with _quiet_diagnostics():
        idata = az.from_dict(
            posterior={name: draws.sel(parameter=name).values for name in names},
            sample_stats={"lp": fit["posterior_lp"].values},
        )
    prefix = "posterior_"
    idata.posterior.attrs.update(
        {key[len(prefix) :]: value for key, value in fit.attrs.items() if key.startswith(prefix)}
    )
    return idata
