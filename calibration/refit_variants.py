"""Quick refits of the calibration under variants: a fixed constant at other values, or
an estimated constant held to narrower bounds.

The full calibration (``gvcdyn calibrate``) takes 15-25 minutes with its profiles,
bootstrap and cross-validation; a question such as "how much do the cases care about
Search Persistence?" needs only the best objective under each variant. Each variant is
refitted with one short differential-evolution start (same config, cases and mapping;
the model's default replaced in a temporary copy for a fixed constant), so the numbers
compare variants with each other, not with the full fit's objective (they can be a few
tenths worse).

    python calibration/refit_variants.py --fixed "Search Persistence" 0 0.5 0.7 0.85 0.95
    python calibration/refit_variants.py --lower "Innovation Depreciation Rate" 0.02 0.04 0.08
    python calibration/refit_variants.py --fixed "Buyer Gain Capture" 0 0.5 1

``--model`` refits a structural variant (an edited copy of the model) instead of the
model the mapping names, with the same cases, mapping and config.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import differential_evolution

import gvcdyn
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.problem import CalibrationProblem

HERE = Path(__file__).resolve().parent


def with_default(model_path: Path, name: str, value: float, directory: Path) -> Path:
    """A copy of the model whose constant ``name`` has the default ``value``."""
    text = model_path.read_text(encoding="utf-8")
    pattern = re.compile(rf"(^{re.escape(name)}=\s*\n\s*)([-+0-9.eE]+)(\s*\n\s*~)", re.M)
    new, count = pattern.subn(lambda m: f"{m.group(1)}{value!r}{m.group(3)}", text)
    if count != 1:
        raise SystemExit(f"{model_path}: '{name}' is not a constant defined once")
    copy = directory / model_path.name
    copy.write_text(new, encoding="utf-8")
    return copy


def quick_fit(
    problem: CalibrationProblem, seed: int, popsize: int, maxiter: int
) -> tuple[float, np.ndarray]:
    """Best objective and parameters of one vectorised differential-evolution start."""

    def objective(u: np.ndarray) -> np.ndarray:
        return problem.objective(problem.from_unit(np.atleast_2d(u.T)))

    result = differential_evolution(
        objective,
        [(0.0, 1.0)] * problem.k,
        vectorized=True,
        updating="deferred",
        seed=seed,
        popsize=popsize,
        maxiter=maxiter,
        tol=1e-4,
        polish=False,
    )
    return float(result.fun), problem.from_unit(result.x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "config.toml")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--fixed", nargs="+", metavar=("NAME", "VALUE"))
    group.add_argument("--lower", nargs="+", metavar=("NAME", "BOUND"))
    parser.add_argument("--model", type=Path, help="a variant of the model to refit instead")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--popsize", type=int, default=8)
    parser.add_argument("--maxiter", type=int, default=25)
    args = parser.parse_args()

    config = load_config(args.config)
    name, *values = args.fixed or args.lower
    print(
        f"config {args.config}; one DE start, seed {args.seed}, popsize {args.popsize}, "
        f"{args.maxiter} generations"
    )
    model = gvcdyn.load(args.model) if args.model else None
    if args.model:
        print(f"model {args.model}")
    for value in map(float, values):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            if args.fixed:
                problem = CalibrationProblem.from_config(config, model=model)
                path = with_default(Path(problem.model.path), name, value, Path(tmp))
                problem = CalibrationProblem.from_config(config, model=gvcdyn.load(path))
                label = f"{name} = {value:g}"
            else:
                problem = CalibrationProblem.from_config(config, model=model)
                j = problem.names.index(name)
                problem.bounds[j, 0] = value
                label = f"{name} >= {value:g}"
            best, theta = quick_fit(problem, args.seed, args.popsize, args.maxiter)
        estimates = ", ".join(f"{n} {v:.3g}" for n, v in zip(problem.names, theta, strict=True))
        print(f"{label}: objective {best:.2f} ({time.perf_counter() - started:.0f} s); {estimates}")


if __name__ == "__main__":
    main()
