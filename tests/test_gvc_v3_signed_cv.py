"""The sign-bounded context logit (``gvcdyn.calibrate.crossval._context_logit(...,
signs=)``) and studies/v3_signed_context_cv.py (issue 20: is the context logit's lead
over v3 reachable in the seeds' directions?).

Why: the study's verdict rests on three things that could silently go wrong: the free
baseline must stay bitwise what ``gvcdyn calibrate --crossval`` computes (else its
numbers are not the fit file's), the bounds must hold and line up with the columns left
after the non-varying ones are dropped (else a sign lands on the wrong column), and the
study's fold plans must be ``crossvalidate``'s own (else "signed vs free" compares
different folds). Synthetic data and the toy cases only (results/ is not in CI).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from gvcdyn.calibrate import crossval
from gvcdyn.calibrate.crossval import _context_logit, _fit_context_logit, stratified_folds
from gvcdyn.calibrate.likelihood import (
    cutpoints_from_free,
    free_from_cutpoints,
    level_probabilities,
)

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "studies" / "v3_signed_context_cv.py"
sys.path.insert(0, str(REPO / "studies"))
import v3_signed_context_cv as study  # noqa: E402  (a study script, not a package)

DATA = Path(__file__).parent / "data" / "calibration"


def _old_context_logit(x_train, y_train, w_train, x_test, n_levels, pseudo):
    """``_context_logit`` as it was before ``signs`` (commit adf5d59), verbatim."""
    keep = y_train >= 0
    x_train, y_train, w_train = x_train[keep], y_train[keep], w_train[keep]
    mean, sd = x_train.mean(axis=0), x_train.std(axis=0)
    varying = sd > 1e-12
    z_train = (x_train[:, varying] - mean[varying]) / sd[varying]
    z_test = (x_test[:, varying] - mean[varying]) / sd[varying]
    p = z_train.shape[1]
    freq = crossval._frequencies(y_train, w_train, n_levels, pseudo)
    cum = np.clip(np.cumsum(freq)[:-1], 1e-6, 1 - 1e-6)
    start = np.concatenate([np.zeros(p), free_from_cutpoints(np.log(cum / (1 - cum)))])

    def objective(params):
        beta, cuts = params[:p], cutpoints_from_free(params[p:])
        probs = level_probabilities(z_train @ beta, cuts)
        ll = np.log(np.clip(probs[np.arange(len(y_train)), y_train], 1e-300, 1.0))
        prior = level_probabilities(np.zeros(1), cuts)[0]
        return (
            -np.sum(w_train * ll)
            - pseudo / n_levels * np.sum(np.log(np.clip(prior, 1e-300, 1.0)))
            + 0.5 * crossval.RIDGE * np.sum(beta**2)
        )

    res = minimize(objective, start, method="L-BFGS-B")
    beta, cuts = res.x[:p], cutpoints_from_free(res.x[p:])
    return level_probabilities(z_test @ beta, cuts)


def _ordered(x: np.ndarray, effect: np.ndarray, seed: int) -> np.ndarray:
    """Three ordered levels from a latent ``x @ effect`` plus logistic noise."""
    rng = np.random.default_rng(seed)
    latent = x @ effect + rng.logistic(size=len(x))
    return np.digitize(latent, np.quantile(latent, [1 / 3, 2 / 3])).astype(np.int64)


def test_without_signs_the_context_logit_is_bitwise_the_old_one() -> None:
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.standard_normal((50, 4)), np.ones(50), rng.integers(0, 2, 50)])
    y = _ordered(x, np.array([1.0, -0.5, 0.0, 0.3, 0.0, 0.8]), seed=4)
    y[[2, 9]] = -1  # blank cells, dropped
    w = np.where(rng.random(50) < 0.3, 0.5, 1.0)
    old = _old_context_logit(x[:40], y[:40], w[:40], x[40:], 3, 0.5)
    for new in (
        _context_logit(x[:40], y[:40], w[:40], x[40:], 3, 0.5),
        _context_logit(x[:40], y[:40], w[:40], x[40:], 3, 0.5, signs=None),
    ):
        assert new.tobytes() == old.tobytes()


def test_the_signed_logit_keeps_its_signs_on_the_columns_they_name() -> None:
    rng = np.random.default_rng(5)
    # column 1 is constant: its sign entry must be dropped with it, not shift the others
    x = np.column_stack([rng.standard_normal(80), np.full(80, 2.0), rng.standard_normal((80, 2))])
    y = _ordered(x, np.array([1.5, 0.0, 1.5, -1.0]), seed=6)
    w = np.ones(80)
    free = _fit_context_logit(x, y, w, 3, 0.5)
    signs = np.array([+1.0, -1.0, -1.0, 0.0])
    signed = _fit_context_logit(x, y, w, 3, 0.5, signs=signs)
    assert free.beta.shape == signed.beta.shape == (3,)
    assert free.beta[0] > 0.3 and free.beta[1] > 0.3 and free.beta[2] < -0.3
    assert signed.beta[0] > 0.3  # along its sign: not pinned
    assert signed.beta[1] == 0.0  # against its sign: pinned at the bound
    assert signed.beta[2] < -0.3  # free
    probs = _context_logit(x[:70], y[:70], w[:70], x[70:], 3, 0.5, signs=signs)
    refit = _fit_context_logit(x[:70], y[:70], w[:70], 3, 0.5, signs=signs)
    np.testing.assert_array_equal(probs, refit.probabilities(x[70:]))
    with pytest.raises(ValueError, match="3 signs for 4 context columns"):
        _fit_context_logit(x, y, w, 3, 0.5, signs=signs[:3])


def _synthetic_design(name: str, sparse_name: str, x: np.ndarray, y: np.ndarray):
    """A one-column design whose column carries the study's sign for ``name``."""
    n = len(y)
    return study.Design(
        context=x,
        context_names=[name],
        sparse=x,
        sparse_names=[sparse_name],
        levels={"functional_upg": y},
        n_levels={"functional_upg": 3},
        weights=np.ones(n),
        pseudo=0.5,
        subsets={"all": np.arange(n)},
    )


@pytest.mark.parametrize(
    ("lever", "covariate", "against"),
    [("Buyer Led Start", "buyer-led start", True), ("State Led Start", "state-led start", False)],
)
def test_signed_cv_loses_when_the_true_effect_is_against_the_sign(
    lever: str, covariate: str, against: bool
) -> None:
    """The seeds sign Buyer Led Start (and the buyer-led start covariate) - on Functional
    Upgrading, State Led Start +: data with a + effect is against the first, along the
    second."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((60, 1))
    y = _ordered(x, np.array([2.0]), seed=8)
    design = _synthetic_design(lever, covariate, x, y)
    members = np.arange(60)
    plan = [t for _ in range(2) for t in stratified_folds(y, 5, rng)]
    found = study.per_case_scores(design, members, plan, "functional_upg")
    loss = {k: v[:, 0].mean() for k, v in found.items() if k != "rows"}
    for base in ("context", "sparse"):
        gap = loss[f"{base} seeds"] - loss[base]
        if against:
            assert gap > 0.2, (base, loss)
            assert loss[f"{base} seeds"] > loss["frequencies"] - 0.05  # no better than shares
        else:
            assert abs(gap) < 0.02, (base, loss)
            assert loss[f"{base} seeds"] < loss["frequencies"] - 0.2


def test_the_study_replays_crossvalidates_folds(monkeypatch, tmp_path: Path) -> None:
    """The study's free context logit, sparse logit and frequencies score what
    ``crossvalidate`` scores (to 1e-12; at results/fit_v3_later60_cv.nc the study prints
    differences of at most 7e-16), at repeated k-fold and leave-one-out, on both subsets
    (the second subset's folds come after the first's bootstrap draws: a replay that missed
    one would move them). The model's search is stubbed (its starts, as they are) and the
    signed logits left out: only the fold plans matter here."""
    from gvcdyn.calibrate.config import load_config
    from gvcdyn.calibrate.problem import CalibrationProblem

    def no_search(problem, starts, **_):
        return np.asarray(starts, dtype=float), np.zeros(len(starts))

    monkeypatch.setattr(crossval, "batched_search", no_search)
    monkeypatch.setattr(study, "signed_readings", lambda design, column: {})  # free only
    # the first 20 toy cases (13 low-confidence): leave-one-out stays quick
    rows = (DATA / "toy_cases.csv").read_text().splitlines(keepends=True)[:21]
    (tmp_path / "cases.csv").write_text("".join(rows))
    text = (DATA / "toy_config.toml").read_text().replace('"toy_', f'"{DATA}/toy_')
    text = text.replace(f'"{DATA}/toy_cases.csv"', f'"{tmp_path}/cases.csv"')
    sparse = '\n[[crossval.sparse]]\nname = "high support"\ncolumn = "support"\nvalues = ["high"]\n'
    (tmp_path / "config.toml").write_text(text + sparse)
    config = load_config(tmp_path / "config.toml")
    config = replace(config, cv_folds=4, cv_repeats=2, cv_loo=True, cv_outcomes=("outcome_class",))
    problem = CalibrationProblem.from_config(config)
    cv = crossval.crossvalidate(problem)
    design = study.design_of(problem)
    plans = crossval.replay_plans(problem, loo=True)  # what the study's main reads
    assert list(plans) == cv.subsets
    for a, (subset, schemes) in enumerate(plans.items()):
        assert list(schemes) == cv.schemes
        for b, plan in enumerate(schemes.values()):
            found = study.per_case_scores(design, design.subsets[subset], plan, "outcome_class")
            for name in ("frequencies", "context", "sparse"):
                d = cv.predictors.index(name)
                assert abs(found[name][:, 0].mean() - cv.score[a, b, 0, d, 0]) < 1e-12


@pytest.mark.parametrize("script", ["v3_signed_context_cv.py", "v3_predictable_context.py"])
def test_the_study_refuses_a_missing_fit_file(tmp_path: Path, script: str) -> None:
    """Both studies read the fit file through this study's reader (the eighteenth step's
    script imports it), so both name the missing file and exit 2."""
    missing = tmp_path / "no_such_fit.nc"
    run = subprocess.run(
        [sys.executable, str(REPO / "studies" / script), str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert f"no fit file {missing}" in run.stderr


def _fit_made_elsewhere(tmp_path: Path) -> tuple[Path, Path]:
    """A fit file of the toy config whose recorded paths are in a checkout that is gone
    (``elsewhere/calibration/``), and a repository holding the toy case file and model in
    ``calibration/`` (as this one holds calibration/gvc_cases.csv): the fit file and the
    repository."""
    import xarray as xr

    from gvcdyn.calibrate.cases import file_sha256

    elsewhere = tmp_path / "elsewhere" / "calibration"
    repo = tmp_path / "repo"
    (repo / "calibration").mkdir(parents=True)
    for name in ("toy_cases.csv", "toy_upgrading.mdl"):
        (repo / "calibration" / name).write_bytes((DATA / name).read_bytes())
    attrs = {
        "config_text": (DATA / "toy_config.toml").read_text(),
        "config_path": str(elsewhere / "toy_config.toml"),
        "mapping_text": (DATA / "toy_levers.toml").read_text(),
        "mapping_path": str(elsewhere / "toy_levers.toml"),
        "model_path": str(elsewhere / "toy_upgrading.mdl"),
        "model_sha256": file_sha256(DATA / "toy_upgrading.mdl"),
        "case_file": str(elsewhere / "toy_cases.csv"),
        "case_file_sha256": file_sha256(DATA / "toy_cases.csv"),
        "case_revisions": "",
        "method": "euler",
    }
    names = ["Learning Rate", "Innovation Rate"]
    fit = xr.Dataset({"estimate": ("parameter", [0.3, 0.2])}, {"parameter": names}, attrs)
    fit.to_netcdf(tmp_path / "fit.nc")
    return tmp_path / "fit.nc", repo


def test_a_fit_made_in_another_checkout_is_read_on_the_repositorys_files(tmp_path: Path) -> None:
    """The recorded model and case file do not exist: the repository's, whose SHA-256 is
    the recorded one, are read instead, and give the problem the toy config gives."""
    from gvcdyn.calibrate.config import load_config
    from gvcdyn.calibrate.fitfile import fit_problem
    from gvcdyn.calibrate.problem import CalibrationProblem

    fit_path, repo = _fit_made_elsewhere(tmp_path)
    problem = fit_problem(fit_path, repo=repo, checks=False, changed_model=True).problem
    assert problem.config.cases == repo / "calibration" / "toy_cases.csv"
    reference = CalibrationProblem.from_config(load_config(DATA / "toy_config.toml"))
    assert list(problem.cases.ids) == list(reference.cases.ids)
    np.testing.assert_array_equal(problem.levels, reference.levels)
    np.testing.assert_array_equal(problem.weights, reference.weights)
    np.testing.assert_array_equal(problem.case_levers, reference.case_levers)


@pytest.mark.parametrize(
    ("change", "named", "says"),
    [
        ("edit", "toy_cases.csv", "is not the file the fit was made on (SHA-256 differs)"),
        ("remove", "toy_upgrading.mdl", "does not exist, nor does"),
    ],
)
def test_a_fit_whose_files_are_not_here_is_refused_naming_the_file(
    tmp_path: Path, monkeypatch, capsys, change: str, named: str, says: str
) -> None:
    """A recorded file that is gone, with no repository file of the fit's SHA-256 to stand
    in for it: exit code 2 and a message naming the file and what to do, no traceback."""
    fit_path, repo = _fit_made_elsewhere(tmp_path)
    local = repo / "calibration" / named
    if change == "edit":
        local.write_text(local.read_text() + "\n")
    else:
        local.unlink()
    monkeypatch.setattr(study, "REPO", repo)
    monkeypatch.setattr(sys, "argv", ["v3_signed_context_cv.py", str(fit_path)])
    with pytest.raises(SystemExit) as exit_:
        study.main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'elsewhere' / 'calibration' / named} does not exist" in err
    assert str(local) in err and says in err
    assert "checkout the fit was made in" in err
