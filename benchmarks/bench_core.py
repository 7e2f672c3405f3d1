"""Benchmark gvcdyn's compiled core against PySD, both run in this process.

For each model it prints PySD's time per run, gvcdyn's time per run at several batch
sizes (kernel only: parameters in, saved stocks out), the cold compile time (empty
kernel cache), the cached load time in a fresh process, and the ratios; then per-run
times of the evaluator and ``Model.run`` at batches of 1, 100 and 10,000 (wall and CPU,
x PySD, and over the hand-written kernel for ``gvc_like``; see ``seam_table.py``).

    python benchmarks/bench_core.py                 # all models, batches 1..100,000
    python benchmarks/bench_core.py --quick         # smaller batches, fewer repeats
    python benchmarks/bench_core.py --models gvc_like,gvc_upgrading

Numbers depend on the machine and on what else runs on it (the load average is printed
with them); run it on an idle machine, or compare CPU times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from seam_table import (
    BATCHES,
    Seam,
    accuracy,
    hand_kernel,
    load_average,
    print_table,
    time_hand,
)

REPO = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("GVCDYN_SD_TEST_MODELS", REPO / "tests" / "sd-test-models"))

MODELS = {
    "teacup": SUITE / "teacup" / "teacup.mdl",
    "gvc_like": REPO / "benchmarks" / "models" / "gvc_like.mdl",
    # the largest reference-suite model (by equations) that both PySD and gvcdyn run
    "subscripted_trig": SUITE / "subscripted_trig",
    "gvc_upgrading": REPO / "models" / "gvc_upgrading.mdl",
}


def find_mdl(path: Path) -> Path:
    if path.is_file():
        return path
    return next(p for p in path.iterdir() if p.suffix.lower() == ".mdl")


def time_pysd(mdl: Path, repeats: int) -> tuple[float, float]:
    """(translation seconds, median seconds per run) of PySD on a copy of the model."""
    import pysd

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / mdl.name
        shutil.copy(mdl, copy)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            model = pysd.read_vensim(str(copy))
            translate = time.perf_counter() - start
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.run()
                runs.append(time.perf_counter() - start)
    return translate, statistics.median(runs)


def cold_compile(mdl: Path) -> float:
    """Seconds to load and compile the Euler kernel with an empty cache (fresh process)."""
    with tempfile.TemporaryDirectory() as cache:
        return _timed_subprocess(mdl, cache)


def cached_load(mdl: Path) -> float:
    """Seconds to load an already-compiled model and run it once, in a fresh process."""
    _timed_subprocess(mdl, None)  # make sure the user cache holds it
    return _timed_subprocess(mdl, None)


def _timed_subprocess(mdl: Path, cache: str | None) -> float:
    code = (
        "import time, gvcdyn\n"
        "t = time.perf_counter()\n"
        f"m = gvcdyn.load({str(mdl)!r})\n"
        "m.simulate(m.defaults()[None, :])\n"
        "print(time.perf_counter() - t)\n"
    )
    env = dict(os.environ)
    if cache is not None:
        env["GVCDYN_CACHE_DIR"] = cache
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def time_gvcdyn(mdl: Path, batches: list[int], repeats: int) -> dict[int, float]:
    """Best seconds per run at each batch size (kernel call, stocks saved)."""
    import gvcdyn

    model = gvcdyn.load(mdl)
    stocks = [v.name for v in model.variables if v.kind == "stock"] or None
    _, columns = model.output_columns(stocks)
    rng = np.random.default_rng(1)
    result = {}
    for n in batches:
        matrix = np.tile(model.defaults(), (n, 1))
        # vary parameters a little so runs are not identical (ranges are not checked here)
        matrix *= rng.uniform(0.95, 1.05, matrix.shape)
        grid = model.grid(matrix[:1])
        model.simulate(matrix[:1], grid=grid, columns=columns)  # compile/load outside timing
        best = float("inf")
        for _ in range(repeats if n < 100_000 else max(1, repeats // 2)):
            start = time.perf_counter()
            model.simulate(matrix, grid=grid, columns=columns)
            best = min(best, time.perf_counter() - start)
        result[n] = best / n
    return result


def print_seam(mdl: Path, pysd_run: float, batches: tuple[int, ...], budget: float) -> None:
    """Per-run times of the evaluator and Model.run (and the hand kernel, if any)."""
    import gvcdyn

    model = gvcdyn.load(mdl)
    seam = Seam.of(model)
    print(accuracy(model))
    kernel = hand_kernel(seam.model)
    hand = time_hand(seam, kernel, batches, budget) if kernel else None
    print(
        f"evaluator ({seam.space.k} parameters varied, 5 stocks at the final time) and "
        f"Model.run (every variable); {load_average()}"
    )
    print_table(seam.time(batches, budget), pysd_run, hand)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batches up to 10,000, 1 repeat")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    args = parser.parse_args()
    batches = [1, 1_000, 10_000] if args.quick else [1, 1_000, 10_000, 100_000]
    seam_batches = (1, 100, 1_000) if args.quick else BATCHES
    repeats = 1 if args.quick else 5
    import numba

    print(f"numba threads: {numba.get_num_threads()}, cores: {os.cpu_count()}; {load_average()}")
    for name in args.models.split(","):
        path = MODELS[name]
        if not path.exists():
            print(f"\n## {name}: {path} not found, skipped")
            continue
        mdl = find_mdl(path)
        translate, pysd_run = time_pysd(mdl, 1 if args.quick else 3)
        cold = cold_compile(mdl)
        warm = cached_load(mdl)
        per_run = time_gvcdyn(mdl, batches, repeats)
        print(f"\n## {name} ({mdl.name})")
        print(f"PySD: translate {translate:.2f} s, run {pysd_run * 1e3:.1f} ms per run")
        print(
            f"gvcdyn: cold load+compile {cold:.2f} s, cached load+first run {warm:.2f} s "
            "(fresh process, excluding interpreter start)"
        )
        print(f"{'batch':>8} {'us/run':>10} {'runs/s':>12} {'x PySD':>10}")
        for n, seconds in per_run.items():
            print(
                f"{n:>8} {seconds * 1e6:>10.2f} {1 / seconds:>12,.0f} {pysd_run / seconds:>10,.0f}"
            )
        print_seam(mdl, pysd_run, seam_batches, 0.3 if args.quick else 1.0)


if __name__ == "__main__":
    main()
