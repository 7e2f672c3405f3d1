"""Convergence report: Sobol' indices and their intervals against N, so users see when N is enough.

Scrambled Sobol' samples with one seed are nested (the design for N is the first N base
samples of the design for 2N), so the script runs the largest design once and analyses
its prefixes. Two models:

- ``tests/models/ishigami.mdl``: the error against the analytic indices, the interval
  width, and how many of the six intervals contain the analytic value;
- the GVC model (``models/gvc_upgrading.mdl``, its Levers view, model defaults): the
  widest interval of ST and S1, the largest change of ST from the largest N, and whether
  the top five levers are already those of the largest N.

Writes ``results/sensitivity_convergence.md`` and ``.png`` and prints the tables.

    python benchmarks/sensitivity_convergence.py                 # N = 64 .. 4096
    python benchmarks/sensitivity_convergence.py --max-n 1024
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from SALib.sample import sobol as salib_sample
from scipy.stats import spearmanr

import gvcdyn
from gvcdyn.sensitivity import study as sens
from gvcdyn.sensitivity.estimator import block_size, sobol_indices

REPO = Path(__file__).resolve().parents[1]
GVC_OUTPUTS = ("Functional Upgrading", "Innovation Capability", "Value Capture Share")

# Ishigami, a = 7, b = 0.1 on [-pi, pi]^3
_V1 = 0.5 * (1 + 0.1 * np.pi**4 / 5) ** 2
_V2 = 49 / 8
_V13 = 8 * 0.01 * np.pi**8 / 225
_V = _V1 + _V2 + _V13
ISHIGAMI = {"S1": np.array([_V1, _V2, 0]) / _V, "ST": np.array([_V1 + _V13, _V2, _V13]) / _V}


def nested_outputs(study: sens.Study, max_n: int, seed: int) -> tuple[np.ndarray, float]:
    """Outputs of the largest design (its prefixes are the smaller designs) and run time."""
    X = salib_sample.sample(study.problem, max_n, calc_second_order=False, seed=seed)
    start = time.perf_counter()
    Y, status = study.evaluator(X)
    elapsed = time.perf_counter() - start
    if status.any():
        raise SystemExit(f"{int((status != 0).sum())} runs failed; the ladder needs all of them")
    return Y, elapsed


def ladder(Y: np.ndarray, D: int, ns: list[int], seed: int) -> dict[int, object]:
    step = block_size(D, False)
    return {n: sobol_indices(Y[: n * step], D, seed=seed) for n in ns}


def ishigami_table(results: dict[int, object]) -> list[str]:
    rows = [
        "| N | runs | max abs error S1 | max abs error ST | mean 95% half-width S1 | "
        "mean half-width ST | intervals containing the analytic value |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in results.items():
        err1 = np.abs(r.S1[:, 0] - ISHIGAMI["S1"])
        errT = np.abs(r.ST[:, 0] - ISHIGAMI["ST"])
        inside = int((err1 <= r.S1_conf[:, 0]).sum() + (errT <= r.ST_conf[:, 0]).sum())
        rows.append(
            f"| {n} | {n * 5:,} | {err1.max():.4f} | {errT.max():.4f} | "
            f"{r.S1_conf[:, 0].mean():.4f} | {r.ST_conf[:, 0].mean():.4f} | {inside} of 6 |"
        )
    return rows


def gvc_table(results: dict[int, object], names: tuple[str, ...], labels, D: int) -> list[str]:
    largest = results[max(results)]
    rows = [
        "| N | runs | widest half-width ST | widest half-width S1 | max abs change of ST "
        "from the largest N | min Spearman rho with the largest N | top 5 as at the largest N |",
        "|---|---|---|---|---|---|---|",
    ]
    top_ref = [list(np.argsort(-largest.ST[:, j])[:5]) for j in range(largest.ST.shape[1])]
    for n, r in results.items():
        rho = min(spearmanr(r.ST[:, j], largest.ST[:, j]).statistic for j in range(r.ST.shape[1]))
        same = sum(list(np.argsort(-r.ST[:, j])[:5]) == top_ref[j] for j in range(r.ST.shape[1]))
        rows.append(
            f"| {n} | {n * (D + 2):,} | {r.ST_conf.max():.3f} | {r.S1_conf.max():.3f} | "
            f"{np.abs(r.ST - largest.ST).max():.3f} | {rho:.2f} | {same} of {r.ST.shape[1]} "
            "outputs |"
        )
    rows += ["", f"Outputs (columns): {', '.join(labels)}. Levers: {', '.join(names)}."]
    return rows


def figure(ish: dict[int, object], gvc: dict[int, object], levers, label: str, path: Path) -> None:
    fig = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    ns = np.array(list(ish))
    left.loglog(ns, [r.ST_conf[:, 0].mean() for r in ish.values()], "o-", label="Ishigami ST")
    left.loglog(ns, [r.S1_conf[:, 0].mean() for r in ish.values()], "o-", label="Ishigami S1")
    gns = np.array(list(gvc))
    left.loglog(gns, [r.ST_conf.max() for r in gvc.values()], "s-", label="GVC widest ST")
    ref = ish[ns[0]].ST_conf[:, 0].mean() * np.sqrt(ns[0] / ns)
    left.loglog(ns, ref, "k:", label="1/sqrt(N)")
    left.set_xlabel("N (base samples)")
    left.set_ylabel("95% half-width")
    left.legend(fontsize=8)
    largest = gvc[max(gvc)]
    top = np.argsort(-largest.ST[:, 0])[:5]
    for i in top:
        ST = np.array([r.ST[i, 0] for r in gvc.values()])
        conf = np.array([r.ST_conf[i, 0] for r in gvc.values()])
        line = right.semilogx(gns, ST, "o-", label=levers[i])[0]
        right.fill_between(gns, ST - conf, ST + conf, color=line.get_color(), alpha=0.15)
    right.set_xlabel("N (base samples)")
    right.set_ylabel(f"ST on {label}")
    right.legend(fontsize=7)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=4096)
    parser.add_argument("--min-n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "gvc_upgrading.mdl")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "sensitivity_convergence.md")
    args = parser.parse_args()
    ns = [2**k for k in range(int(np.log2(args.min_n)), int(np.log2(args.max_n)) + 1)]

    ishigami_model = gvcdyn.load(REPO / "tests" / "models" / "ishigami.mdl")
    ish_study = sens.prepare(ishigami_model, ["Ishigami"])
    Y, t_ish = nested_outputs(ish_study, args.max_n, args.seed)
    ish = ladder(Y, 3, ns, args.seed)

    model = gvcdyn.load(args.model)
    outputs = [o for o in GVC_OUTPUTS if o in {v.name for v in model.variables}]
    gvc_study = sens.prepare(model, outputs, at="10,20,40")
    Y, t_gvc = nested_outputs(gvc_study, args.max_n, args.seed)
    start = time.perf_counter()
    gvc = ladder(Y, gvc_study.space.k, ns, args.seed)
    t_analysis = time.perf_counter() - start

    D = gvc_study.space.k
    names = gvc_study.space.names
    lines = [
        "# Sobol' convergence: indices and interval widths against N",
        "",
        f"Generated by `{shlex.join(['python', *sys.argv])}`; seed {args.seed}; nested "
        "scrambled Sobol' designs (each N is a prefix of the largest); first and total "
        "indices, 95% bootstrap intervals (100 resamples). Runs: "
        f"Ishigami {t_ish:.1f} s, GVC model {t_gvc:.1f} s; GVC analysis of the whole "
        f"ladder {t_analysis:.1f} s (wall, this machine, shared).",
        "",
        "## Ishigami (analytic indices known)",
        "",
        *ishigami_table(ish),
        "",
        f"## GVC model: {D} levers, model defaults, read at 10, 20, 40 years",
        "",
        *gvc_table(gvc, names, gvc_study.evaluator.names, D),
        "",
        "Reading it: the half-width shrinks about as 1/sqrt(N); N is enough for a ranking "
        "when the top levers stop changing and the widest interval is small against the "
        "gaps between the indices being compared.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    first = gvc_study.evaluator.names[0]
    figure(ish, gvc, gvc_study.space.names, first, args.out.with_suffix(".png"))
    print(text)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
