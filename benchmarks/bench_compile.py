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

``--stages`` prints instead where a cold build's CPU goes, stage by stage, each model
and method in a fresh process with an empty kernel cache (one numba thread): importing
numba, importing gvcdyn (pandas, xarray, PySD's translator), PySD's translation,
gvcdyn's lowering to its IR, code generation, and numba's compile plus the first run.
A tiny model (teacup) shows what every process pays once whatever the model: numba's
first compile loads its typing and lowering registries and the runtime helpers.

    python benchmarks/bench_compile.py --stages tests/sd-test-models/teacup/teacup.mdl \
        models/gvc_upgrading.mdl --methods euler rk4 rk23

Issue 21 (2026-12-06, 2-core machine at load 2.5-2.7, a calibration running; the
better of two interleaved runs, CPU seconds), total of a cold build before (2e448dd) and
after (saved rows stored by ``rt.scatter``; batches threaded by ``kernel.Threaded``
instead of a numba ``prange`` loop):

    | model | method | before | after | of which: imports, translate | compile + first run |
    |---|---|---|---|---|---|
    | teacup | euler | 2.47 | 2.05 | 0.97 | 1.52 -> 1.05 |
    | gvc_upgrading | euler | 4.68 | 3.50 | 1.23 | 3.45 -> 2.25 |
    | gvc_upgrading | rk4 | 7.26 | 5.49 | 1.21 | 5.91 -> 4.25 |
    | gvc_upgrading | rk23 | 8.84 | 7.45 | 1.24 | 7.58 -> 6.19 |

Then (2026-12-06 21:47 UTC, load 2-2.6, the better of two interleaved runs) c6573af
against a02f8e4, whose adaptive kernels call one stage function holding the equations
once (gvcdyn.backend.stages): gvc_upgrading rk23 8.09 -> 4.42, rk45 10.47 -> 5.30;
Euler 3.55 / 3.61 and RK4 6.10 / 5.77 (their source unchanged); teacup euler 2.20 / 2.11.

Then (2026-12-07 00:00 UTC, load 1.2-1.4, two interleaved runs each) eb570fe against
6628b81 (the run's code inline in the fixed-step batch functions, the parameters read
16 at a time; and, not this script's doing, gvcdyn imported lazily: the `gvcdyn import`
stage 0.47 -> 0.13 s): gvc_upgrading Euler 3.25 / 3.18 -> 2.32 / 2.25 (compile + first
run 2.08 / 2.06 -> 1.61 / 1.57), rk23 3.73 / 3.63 -> 3.30 / 3.13 (its module, from
``gvcdyn.backend.adaptive``, compiles as before: 2.60 / 2.52 -> 2.55 / 2.44).

Then (2026-12-07 00:20 UTC, load 1.1-1.6, four alternating rounds) the adaptive
``batch_<method>`` holding the run's code (no ``simulate_<method>`` compiled apart and
again inside it) against 065ada3: gvc_upgrading rk23 2.95 / 3.01 / 2.89 / 2.92 ->
2.73 / 2.69 / 2.74 / 2.82 (compile + first run 2.24-2.32 -> 2.02-2.08); rk45 (two
rounds) 3.40 / 3.41 -> 3.18 / 3.17.
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
from gvcdyn.backend.kernel import check_method
from gvcdyn.errors import GvcdynError
from gvcdyn.model import Model
from gvcdyn.testing.synthetic_mdl import write_synthetic_mdl

STAGES = ("numba import", "gvcdyn import", "PySD translate", "lower", "codegen")
STAGES += ("compile + first run",)
# The cold build, in a fresh process (so that nothing is imported before it is timed):
# CPU seconds of each of STAGES, then of a second run, then the total.
STAGES_SCRIPT = """
import sys, time
clock = time.process_time
marks = [clock()]
import numba
marks.append(clock())
from pathlib import Path
from gvcdyn.backend import adaptive
from gvcdyn.language.frontend import read_abstract_model
from gvcdyn.language.lower import lower
from gvcdyn.model import Model
marks.append(clock())
mdl, method = Path(sys.argv[1]), sys.argv[2]
abstract, digest = read_abstract_model(mdl)
marks.append(clock())
model_ir = lower(abstract, digest, mdl.stem)
marks.append(clock())
model = Model(model_ir, mdl)
if adaptive.is_adaptive(method):
    model._kernel(method)  # generates the method's own module
marks.append(clock())
matrix = model.defaults()[None, :]
model.simulate(matrix, method=method)
marks.append(clock())
model.simulate(matrix, method=method)
second = clock() - marks[-1]
steps = [b - a for a, b in zip(marks, marks[1:])]
print(" ".join(f"{x:.3f}" for x in [*steps, second, marks[-1] - marks[0]]))
"""


def stage_table(mdls: list[Path], methods: list[str], work: Path) -> None:
    """Print the stages of a cold build (``stages_child``) of each model and method."""
    print(f"| model | method | {' | '.join(STAGES)} | total | second run |")
    print("|---|---|" + "---|" * (len(STAGES) + 2))
    for mdl in mdls:
        for method in methods:
            env = dict(os.environ, GVCDYN_CACHE_DIR=tempfile.mkdtemp(dir=work))
            env["NUMBA_NUM_THREADS"] = "1"
            result = subprocess.run(
                [sys.executable, "-c", STAGES_SCRIPT, str(mdl), method],
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"the cold build of {mdl} failed:\n{result.stderr}")
            *steps, second, total = (float(x) for x in result.stdout.split())
            cells = " | ".join(f"{x:.2f}" for x in steps)
            print(
                f"| {mdl.stem} | {method} | {cells} | **{total:.2f}** | {second:.3f} |", flush=True
            )


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


def _method(text: str) -> str:
    """A method name checked here, not inside a child process's error output."""
    try:
        return check_method(text)
    except GvcdynError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 1000, 5000])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["euler"],
        type=_method,
        help=f"{', '.join(codegen.METHODS)} or an adaptive method (rk23, rk45:1e-6)",
    )
    parser.add_argument("--unsplit-max", type=int, default=1000)
    parser.add_argument("--mdl", type=Path, nargs="*", default=[])
    parser.add_argument("--part-chars", type=int, help="override codegen.PART_CHARS")
    parser.add_argument("--no-unsplit", action="store_true", help="time split kernels only")
    parser.add_argument("--runs", type=int, default=0, help="then time this many runs")
    parser.add_argument(
        "--stages",
        type=Path,
        nargs="+",
        help="instead: the CPU seconds of each stage of a cold build of these models",
    )
    args = parser.parse_args()
    if args.stages:
        print(f"CPU seconds; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        with tempfile.TemporaryDirectory() as tmp:
            stage_table(args.stages, args.methods, Path(tmp))
        print(f"load average after {os.getloadavg()[0]:.1f}")
        return
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
