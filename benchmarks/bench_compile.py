"""Cold compile time of generated kernels: one-function against split, by model size.

For each model (generated ones with 200 / 1,000 / 5,000 auxiliaries and a tenth as many
stocks, see ``gvcdyn.testing.synthetic_mdl``, plus any ``.mdl`` given), the kernel source is
generated both ways and each is compiled in a fresh Python process with an empty
``GVCDYN_CACHE_DIR``: the time printed is that process's first ``Model.run`` (compile plus
one run of a few milliseconds). It also checks that both kernels give bitwise equal
results. The one-function kernel is skipped above ``--unsplit-max`` auxiliaries (it
takes minutes there); translation (PySD) time is printed separately. With ``--runs N``
each compiled kernel then runs N parameter sets on one thread (all stocks saved, best of
five) and the table shows runs per CPU second, to see what the split costs at run time.

    python benchmarks/bench_compile.py                          # 200, 1000, 5000
    python benchmarks/bench_compile.py --sizes 1000 --methods euler rk4
    python benchmarks/bench_compile.py --sizes 200 --runs 2000  # run speed, both kernels
    python benchmarks/bench_compile.py --sizes --mdl tests/sd-test-models/*/test_vector_select.mdl

Numbers depend on the machine and its load: CPU seconds are the better measure on a
shared machine; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import gvcdyn
from gvcdyn.backend import codegen
from gvcdyn.model import Model
from gvcdyn.testing.synthetic_mdl import write_synthetic_mdl


def child(model_pickle: str, method: str, values_out: str, runs: str) -> None:
    """In a fresh process: time the first run (the compile) and save its values; then,
    if ``runs`` > 0, the best of three batches of that many runs (runs per second)."""
    with open(model_pickle, "rb") as fh:
        model = pickle.load(fh)
    start, cpu = time.perf_counter(), time.process_time()
    dataset = model.run({}, method=method)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(values_out, np.concatenate([dataset[v].values.ravel() for v in dataset.data_vars]))
    speed = 0.0
    if int(runs) > 0:
        stocks = [v.name for v in model.variables if v.kind == "stock"] or None
        _, columns = model.output_columns(stocks)
        matrix = np.tile(model.defaults(), (int(runs), 1))
        matrix *= np.random.default_rng(1).uniform(0.95, 1.05, matrix.shape)
        grid = model.grid(matrix[:1])
        best = float("inf")
        for _ in range(5):  # CPU time of one thread: less sensitive to other jobs than wall
            start = time.process_time()
            model.simulate(matrix, grid=grid, columns=columns, method=method)
            best = min(best, time.process_time() - start)
        speed = int(runs) / best
    print(f"{seconds:.3f} {cpu:.3f} {speed:.0f}")


def cold_compile(
    model: Model, split: bool, method: str, work: Path, runs: int
) -> tuple[str, np.ndarray]:
    """Wall (CPU) seconds of a cold first run of ``model``'s kernel (split or not), then
    runs per second if ``runs``, and its values. CPU time is what the compile needs; wall
    time grows with the machine's load."""
    variant = Model.__new__(Model)
    variant.__setstate__(
        {"ir": model.ir, "path": model.path, "source": codegen.generate(model.ir, split=split)}
    )
    tag = f"{'split' if split else 'whole'}_{method}"
    pickled, values = work / f"{tag}.pkl", work / f"{tag}.npy"
    pickled.write_bytes(pickle.dumps(variant))
    env = dict(os.environ, GVCDYN_CACHE_DIR=tempfile.mkdtemp(dir=work), NUMBA_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(pickled), method, str(values), str(runs)],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the compile of {tag} failed:\n{result.stderr}")
    wall, cpu, speed = (float(x) for x in result.stdout.split())
    cell = f"{wall:.1f} s ({cpu:.1f} s)" + (f", {speed:,.0f} runs/CPU s" if runs else "")
    return cell, np.load(values)


def measure(label: str, mdl: Path, n_aux: int | None, args: argparse.Namespace, work: Path) -> None:
    start = time.perf_counter()
    model = gvcdyn.load(mdl)
    translate = time.perf_counter() - start
    equations = codegen.equation_count(model.ir)
    for method in args.methods:
        split_s, split_values = cold_compile(model, True, method, work, args.runs)
        whole = "skipped"
        same = ""
        if not args.no_unsplit and (n_aux is None or n_aux <= args.unsplit_max):
            whole_s, whole_values = cold_compile(model, False, method, work, args.runs)
            whole = whole_s
            same = "yes" if np.array_equal(split_values, whole_values, equal_nan=True) else "NO"
        print(
            f"| {label} | {len(model.ir.stocks)} | {equations} | {method} | {translate:.1f} s "
            f"| {whole} | {split_s} | {same} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 1000, 5000])
    parser.add_argument("--methods", nargs="+", default=["euler"], choices=codegen.METHODS)
    parser.add_argument("--unsplit-max", type=int, default=1000)
    parser.add_argument("--mdl", type=Path, nargs="*", default=[])
    parser.add_argument("--part-chars", type=int, help="override codegen.PART_CHARS")
    parser.add_argument("--no-unsplit", action="store_true", help="time split kernels only")
    parser.add_argument("--runs", type=int, default=0, help="then time this many runs")
    args = parser.parse_args()
    if args.part_chars:
        codegen.PART_CHARS = args.part_chars
    print(
        f"split threshold {codegen.SPLIT_THRESHOLD} equations, "
        f"parts of at most {codegen.PART_CHARS} characters; {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| model | stocks | equations | method | translate | one function, wall (CPU) "
        "| split, wall (CPU) | bitwise equal |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n_aux in args.sizes:
            mdl = write_synthetic_mdl(work / f"synthetic_{n_aux}.mdl", n_aux)
            measure(f"synthetic, {n_aux} auxiliaries", mdl, n_aux, args, work)
        for mdl in args.mdl:
            measure(mdl.stem, mdl, None, args, work)
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
