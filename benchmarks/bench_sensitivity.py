"""Benchmark a full Sobol' study of the GVC model against issue 21's 15 s target (idle).

Sobol' with second order for every lever of ``models/gvc_upgrading.mdl`` (its "Levers"
view) at N = 4,096, with indices at every saved year (the final time included), for the
functional-upgrading outputs. Prints the time of sampling, runs and analysis
separately, and SALib's ``sobol.analyze`` time per output column on the same outputs
(measured on a few columns), so the two analyses can be compared per column.

    python benchmarks/bench_sensitivity.py                  # N = 4096, all saved years
    python benchmarks/bench_sensitivity.py --n 1024 --salib-columns 1
    python benchmarks/bench_sensitivity.py --integration rk23 --salib-columns 0

Numbers depend on the machine and on what else runs on it; run it on an idle machine.
The target is the README's: sampling, runs and analysis under 15 s wall on an idle
machine, at the model's own method (rk23 for the GVC model; 60 s was the target at
Euler 1/64, before issue 21). The script prints it beside the total; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

import gvcdyn
from gvcdyn.sensitivity import study as sens
from gvcdyn.sensitivity.estimator import sobol_indices

REPO = Path(__file__).resolve().parents[1]
#: Functional-upgrading outputs; those the model does not have are left out.
OUTPUTS = ("Innovation Capability", "Value Capture Share", "Functional Upgrading")
#: issue 21's target for the total (sampling + runs + analysis), wall seconds, idle
TARGET_WALL_S = 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "gvc_upgrading.mdl")
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--salib-columns", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--integration", help="e.g. rk23; default: the model's declared method")
    args = parser.parse_args()

    start = time.perf_counter()
    model = gvcdyn.load(args.model)
    names = {v.name for v in model.variables}
    outputs = [o for o in OUTPUTS if o in names]
    study = sens.prepare(model, outputs, at="all", integration=args.integration)
    model.simulate(study.space.matrix(study.space.bounds[:, :1].T))  # compile or load once
    setup = time.perf_counter() - start

    ds = sens.sobol(study, args.n, second_order=True, seed=args.seed)
    t = study.timings
    D, m = study.space.k, len(outputs) * len(study.times)
    total = t["sampling"] + t["runs"] + t["analysis"]
    print(f"model: {args.model.name}, {D} levers, outputs: {', '.join(outputs)}")
    print(
        f"design: Sobol' with second order, N = {args.n}, {ds.attrs['n_runs']:,} runs, "
        f"{len(study.times)} times x {len(outputs)} outputs = {m} columns"
    )
    grid = study.evaluator.grid
    print(
        f"integration {study.evaluator.method}, time step {grid.time_step:g} "
        f"({grid.n_steps:,} steps per run), "
        f"numba threads: {_threads()}, cores: {os.cpu_count()}"
    )
    print(f"load + kernel (not in total): {setup:7.2f} s")
    print(f"{'phase':<30}{'wall':>9}{'CPU (all threads)':>20}")
    for phase, what in (("sampling", "SALib"), ("runs", "evaluator"), ("analysis", "vectorised")):
        print(f"{phase + ' (' + what + ')':<30}{t[phase]:8.2f}s{t[phase + '_cpu']:19.2f}s")
    cpu = t["sampling_cpu"] + t["runs_cpu"] + t["analysis_cpu"]
    print(f"{'total':<30}{total:8.2f}s{cpu:19.2f}s   (target: < {TARGET_WALL_S} s wall, idle)")
    print(
        f"per run: {1e6 * t['runs'] / ds.attrs['n_runs']:.1f} us wall, "
        f"{1e6 * t['runs_cpu'] / ds.attrs['n_runs']:.1f} us CPU; analysis per column: "
        f"{1e3 * t['analysis'] / m:.1f} ms wall (100 resamples)"
    )
    print(
        f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"(> {os.cpu_count()} means other work shared the cores)"
    )
    if args.salib_columns:
        salib_per_column(study, args, ds)


def salib_per_column(study: sens.Study, args: argparse.Namespace, ds) -> None:
    """SALib's ``sobol.analyze`` on the same design, a few columns, and ours on one."""
    from SALib.analyze import sobol as salib_sobol
    from SALib.sample import sobol as salib_sample

    X = salib_sample.sample(study.problem, args.n, calc_second_order=True, seed=args.seed)
    final = [
        j
        for j, label in enumerate(study.evaluator.names)
        if label.endswith(f"@ {study.times[-1]:g}")
    ]
    Y, _ = study.evaluator(X)
    times, cpu = [], []
    for j in final[: args.salib_columns]:
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            salib_sobol.analyze(
                study.problem, Y[:, j].copy(), calc_second_order=True, seed=args.seed
            )
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    t0 = time.perf_counter()
    sobol_indices(Y[:, final[:1]], study.space.k, second_order=True, seed=args.seed)
    ours_one = time.perf_counter() - t0
    per = float(np.mean(times))
    m = len(study.evaluator.names)
    print(
        f"SALib sobol.analyze:          {per:6.2f} s wall, {np.mean(cpu):.2f} s CPU per column "
        f"(mean of {len(times)}): about {per * m:.0f} s wall for all {m} columns"
    )
    print(f"ours on one column alone:     {ours_one:6.2f} s")


def _threads() -> int:
    import numba

    return numba.get_num_threads()


if __name__ == "__main__":
    main()
