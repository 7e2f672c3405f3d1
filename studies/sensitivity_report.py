"""Write ``results/sensitivity_levers.md``: which levers most affect functional upgrading.

Each lever over its documented range: the earlier design, kept for comparison. The
project's answer is ``results/sensitivity.md``, written by
``studies/sensitivity_evidence.py`` on the evidence basis of issue 19 (coded contexts
drawn case by case, the fit's posterior, stated bands for the uncoded levers).

Re-run it whenever the model or the calibration fit changes: nothing in the text below
is typed by hand except the design and the seeds' claims; every number, ranking and
verdict is computed from the runs.

Design. Two base scenarios (``models/scenarios/captive.toml`` and
``market-based.toml``), at the calibrated parameters when ``results/fit.nc`` exists.
In each, the governance lever that defines the chain type (``Initial Buyer Control``)
stays at the scenario's value and every other lever in the model's "Levers" view varies
over its documented range: Sobol' first-order and total indices with 95% bootstrap
intervals at 10, 20 and 40 years, plus Morris mean elementary effects for the
direction of each effect. The trigger year (``Shock Year``) can take most of the
variance by deciding whether anything has happened by the reading time, so the design is
repeated with it held at the scenario's value; the claims are read from that one. [PF]'s
claim is about what follows a *shock*, and in that design every sample also carries a
buyer-, state- and FDI-led start of random strength at once (no case in the library has
more than one kind of start), so a third design holds the start levers at 0: shock
episodes. A pooled study (governance varied too) ranks the governance lever itself. The fit's
parameter uncertainty: the same Sobol' study repeated at bootstrap draws of the fit, with
how far each ranking moves.

    python studies/sensitivity_report.py                   # N = 1024, 8 fit draws
    python studies/sensitivity_report.py --n 256 --draws 3 # quick look

The report of each study on its own (every lever's indices with their intervals per
output and time, and the figure) is ``gvcdyn report``'s, written beside its netCDF file
(``results/sensitivity_captive_report.md``...); this script runs the GVC designs and
writes the comparison across them that the seeds' claims need, built with the same
report blocks (``gvcdyn.reports``), so ``--out`` may also name an ``.html`` page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.stats import spearmanr

import gvcdyn
from gvcdyn.reports import check_out
from gvcdyn.reports.build import save, write_report
from gvcdyn.reports.document import Bullets, Report, Section, Table, Text
from gvcdyn.sensitivity import study as sens
from gvcdyn.sensitivity.dataset import write
from gvcdyn.sensitivity.fits import fit_draws
from gvcdyn.sensitivity.levers import choose_levers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sensitivity_common import ranking  # a sibling script, not a package

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("Functional Upgrading", "Innovation Capability", "Value Capture Share")
TIMES = (10.0, 20.0, 40.0)
_AT = ",".join(f"{t:g}" for t in TIMES)  # the studies' ``at``
GOVERNANCE = ("Initial Buyer Control",)
#: Levers that set *when* things happen; their range spans the horizon, so they can take
#: most of the variance at a fixed reading time. A second design holds them fixed.
TIMING = ("Shock Year",)
#: The kinds of start other than a shock [PF]; the shock-episode design holds them at 0.
STARTS = ("Buyer Led Start", "State Led Start", "FDI Led Start")
#: The sources of learning [PF] whose summed total index the claims section reports.
SOURCES = (
    "State Participation",
    "Initial Institutional Capacity",
    "Business Association Strength",
    "University Research Strength",
    "FDI Learning",
)
#: Below this total index a lever's effect is called negligible in the claims section.
NEGLIGIBLE = 0.01
BASES = {"captive": "captive.toml", "market-based": "market-based.toml"}


def _unvaried(base: dict[str, float] | None, varied: list[str]) -> dict[str, float]:
    """The scenario's values of the levers a design does not vary (it samples the rest).

    The governance scenarios also set levers the designs vary; a study refuses a base
    that does, so the report keeps only what the scenario decides: its governance.
    """
    return {name: value for name, value in (base or {}).items() if name not in varied}


@dataclass(frozen=True)
class Claim:
    """A seed claim, the levers that carry it and the sign it predicts on upgrading."""

    title: str
    statement: str
    levers: dict[str, str]  # lever -> expected sign of its effect: "+", "-", "0" or "?"


CLAIMS = (
    Claim(
        "Buyer power and resource requirements as obstacles",
        "Captive buyers block suppliers' moves into design, branding and marketing, and "
        "functional upgrading needs resources that captive margins do not leave [S §5].",
        {"Buyer Blocking Strength": "-", "Initial Buyer Control": "-"},
    ),
    Claim(
        "National markets",
        "Selling in national and regional markets gives room to experiment with design and "
        "branding [S §6].",
        {"National Market Share": "+"},
    ),
    Claim(
        "Induced search and sources of learning",
        "Upgrading starts from shocks of market vulnerability (usually state policy); "
        "what follows depends on the sources of learning [PF].",
        {
            "Shock Size": "?",
            "State Participation": "+",
            "Initial Institutional Capacity": "+",
            "Business Association Strength": "+",
            "University Research Strength": "+",
            "FDI Learning": "?",
            "State Led Start": "+",
            "Buyer Led Start": "?",
            "FDI Led Start": "?",
        },
    ),
    Claim(
        "The race to the bottom",
        "Buyers scouting cheaper suppliers drag established producers into a race to the "
        "bottom; innovation does not follow production [S §8].",
        {"Entrant Wage Gap": "-", "Scouting Intensity": "-", "Global Demand Growth": "+"},
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "models" / "gvc_upgrading.mdl")
    parser.add_argument("--fit", type=Path, default=REPO / "results" / "fit.nc")
    parser.add_argument("--no-fit", action="store_true", help="ignore the fit file")
    parser.add_argument("--n", type=int, default=1024, help="Sobol' N at the estimate")
    parser.add_argument("--draws", type=int, default=8, help="fit bootstrap draws")
    parser.add_argument("--draw-n", type=int, default=256, help="Sobol' N at each draw")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "sensitivity_levers.md")
    args = parser.parse_args()
    check_out(args.out)  # .md or .html, before the runs
    started = time.perf_counter()

    model = gvcdyn.load(args.model)
    known = {v.name for v in model.variables}
    outputs = [o for o in OUTPUTS if o in known]
    fit = None if args.no_fit or not args.fit.is_file() else args.fit
    levers = choose_levers(model).names
    varied = [name for name in levers if name not in GOVERNANCE]
    results_dir = args.out.parent

    studies, morris = _per_scenario(model, outputs, fit, varied, args, _write_with_report)
    untimed = [name for name in varied if name not in TIMING]
    fixed, fixed_morris = (
        _per_scenario(model, outputs, fit, untimed, args, write, design="timing fixed")
        if len(untimed) < len(varied)
        else ({}, {})
    )
    shock_only = [name for name in untimed if name not in STARTS]
    episode, episode_morris = (
        _per_scenario(
            model, outputs, fit, shock_only, args, write, design="shock episode", zero=STARTS
        )
        if len(shock_only) < len(untimed)
        else ({}, {})
    )
    pooled_base, pooled_label = sens.base_of(model, None, fit)
    pooled, pooled_morris = _sobol_and_morris(
        model, outputs, levers, pooled_base, pooled_label, args, "pooled"
    )
    _write_with_report(pooled, results_dir / "sensitivity_pooled.nc")
    designs = (studies, morris, fixed, fixed_morris, episode, episode_morris)
    n_runs = sum(ds.attrs["n_runs"] for design in designs for ds in design.values())
    n_runs += pooled.attrs["n_runs"] + pooled_morris.attrs["n_runs"]

    spread: dict[str, list[xr.Dataset]] = {label: [] for label in BASES}
    draws = fit_draws(fit, args.draws) if fit is not None else []
    for i, draw in enumerate(draws):
        for label, file in BASES.items():
            scenario = REPO / "models" / "scenarios" / file
            base, _ = sens.base_of(model, scenario, None)
            base = {**base, **{model.parameter(k).name: v for k, v in draw.items()}}
            base = _unvaried(base, varied)
            study = sens.prepare(
                model, outputs, at=_AT, params=varied, base=base, base_label=f"fit draw {i}"
            )
            print(f"fit draw {i + 1}/{len(draws)}, {label} ...", flush=True)
            spread[label].append(sens.sobol(study, args.draw_n, seed=args.seed + 1 + i))
            n_runs += spread[label][-1].attrs["n_runs"]

    elapsed = time.perf_counter() - started
    report = render(
        model,
        args,
        fit,
        outputs,
        (studies, morris),
        (fixed, fixed_morris),
        (episode, episode_morris),
        (pooled, pooled_morris),
        spread,
        n_runs,
        elapsed,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(report, args.out)
    print(f"wrote {args.out} ({n_runs:,} runs, {elapsed:.0f} s)")


def _per_scenario(
    model: gvcdyn.Model,
    outputs: list[str],
    fit: Path | None,
    varied: list[str],
    args: argparse.Namespace,
    save: Callable[[xr.Dataset, Path], None],
    *,
    design: str = "",
    zero: tuple[str, ...] = (),
) -> tuple[dict[str, xr.Dataset], dict[str, xr.Dataset]]:
    """One design in each base scenario (``BASES``): the Sobol' studies and the Morris
    screenings by base, each Sobol' study saved by ``save`` as
    ``sensitivity_<base>[_<design>].nc`` beside ``--out``.

    The designs (levers over their ranges, timing fixed, shock episodes) differ only in
    the levers they vary and the levers they hold at 0 (``zero``: the other starts in
    shock episodes); every other step is this one, so the designs stay comparable.
    """
    sobol: dict[str, xr.Dataset] = {}
    morris: dict[str, xr.Dataset] = {}
    for label, file in BASES.items():
        base, base_label = sens.base_of(model, REPO / "models" / "scenarios" / file, fit)
        base = {**(base or {}), **{model.parameter(name).name: 0.0 for name in zero}}
        what = f"{label}, {design}" if design else label
        sobol[label], morris[label] = _sobol_and_morris(
            model, outputs, varied, _unvaried(base, varied), base_label, args, what
        )
        suffix = f"_{design.replace(' ', '_')}" if design else ""
        save(sobol[label], args.out.parent / f"sensitivity_{label}{suffix}.nc")
    return sobol, morris


def _sobol_and_morris(
    model: gvcdyn.Model,
    outputs: list[str],
    varied: list[str],
    base: dict[str, float] | None,
    base_label: str,
    args: argparse.Namespace,
    what: str,
) -> tuple[xr.Dataset, xr.Dataset]:
    """One study's Sobol' indices (N = ``--n``) and Morris effects (100 trajectories, for
    the direction of each effect), announced on stdout as ``what``: every design reads
    both from the same prepared study, with the same seed."""
    study = sens.prepare(model, outputs, at=_AT, params=varied, base=base, base_label=base_label)
    print(f"{what}: Sobol' N = {args.n}, {study.space.k} levers ...", flush=True)
    return (
        sens.sobol(study, args.n, seed=args.seed, command_line=sys.argv),
        sens.morris(study, 100, seed=args.seed, command_line=sys.argv),
    )


def _write_with_report(ds: xr.Dataset, path: Path) -> None:
    """The study's file and its own report beside it (``gvcdyn report``'s)."""
    write(ds, path)
    write_report(path, generated_by=f"gvcdyn report {_shown(path)}")


# --------------------------------------------------------------------------- rendering


def rank_of(ds: xr.Dataset, output: str, t: float, lever: str) -> int | None:
    names = [r[0] for r in ranking(ds, output, t)]
    return names.index(lever) + 1 if lever in names else None


def direction(ds: xr.Dataset, output: str, t: float, lever: str) -> str:
    """Sign of the Morris mean effect, when the effects mostly share it (|mu| > mu*/2)."""
    if lever not in ds.parameter.values:
        return "n/a"
    one = ds.sel(output=output, time=t, parameter=lever)
    mu, mu_star = float(one.mu), float(one.mu_star)
    if mu_star < 1e-9:
        return "0"
    if abs(mu) <= 0.5 * mu_star:
        return "±"
    return "+" if mu > 0 else "-"


def render(
    model,
    args,
    fit,
    outputs,
    main_design,
    fixed_design,
    episode_design,
    pooled_design,
    spread,
    n_runs,
    elapsed,
) -> Report:
    studies, morris = main_design
    fixed, fixed_morris = fixed_design
    episode, episode_morris = episode_design
    pooled, pooled_morris = pooled_design
    main = outputs[0]
    any_ds = next(iter(studies.values()))
    report = Report("Which levers most affect functional upgrading")
    report.opening += [
        Text(
            f"Generated by `{shlex.join(['python', *sys.argv])}` on "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC ({n_runs:,} model runs, "
            f"{elapsed:.0f} s on this machine). Re-run it after the model or the fit changes; "
            "every number below comes from the runs."
        ),
        Bullets(
            [
                f"model: `{_shown(Path(args.model))}`, "
                f"SHA-256 `{model.ir.source_hash[:16]}…`, gvcdyn {gvcdyn.__version__}",
                f"base parameters: {_fit_line(fit, model)}",
                f"design: Sobol' (Saltelli sampling, first-order S1 and total ST with 95% "
                f"bootstrap intervals, 100 resamples), N = {args.n}, seed {args.seed}; "
                f"{any_ds.attrs['n_runs']:,} runs per study; Morris (100 trajectories, 4 "
                "levels) for the direction of effects",
                f"outputs: {', '.join(outputs)}, read at {', '.join(f'{t:g}' for t in TIMES)} "
                "years",
                f"varied: every lever of the model's Levers view except {', '.join(GOVERNANCE)} "
                "(which defines the chain type and stays at the scenario's value), each over "
                "its documented range; all other constants at the scenario (and the fit's "
                "estimates)",
                "files: `results/sensitivity_{captive,market-based,pooled}.nc` (indices with "
                "dimensions parameter, output, time; `_timing_fixed` and `_shock_episode` for "
                "the second and third designs), each with its own report beside it (every "
                "lever's indices per output and time, and the figure; `gvcdyn report`): "
                "`results/sensitivity_{captive,market-based,pooled}_report.md`",
            ]
        ),
        Text(
            "ST is the share of the output's variance that involves the lever (alone or with "
            "others); S1 the share it explains alone. Direction is the sign of the Morris mean "
            "effect (± when the effects change sign across the space)."
        ),
    ]
    shown: list[str] = []
    for output in outputs:
        section = report.add(Section(f"output/{output}", output))
        twin = next((o for o in shown if _same_indices(studies, o, output)), None)
        if twin is not None:
            section.add(
                Text(
                    f"Indices identical to those of {twin} in every study (a linear rescaling "
                    "of it under this design); see above."
                )
            )
            continue
        shown.append(output)
        for label, ds in studies.items():
            report.add(
                Section(f"output/{output}/{label}", f"{label} chain", level=3).add(
                    *_ranking_table(ds, morris[label], output)
                )
            )
    if fixed:
        _design_section(
            report,
            Section(
                "timing-fixed", f"{main} with {', '.join(TIMING)} held at the scenario's value"
            ),
            f"{', '.join(TIMING)} sets when the trigger (shock, buyer-, state- or FDI-led "
            "start) comes; over a range that spans the horizon it decides whether anything "
            "has happened by the reading time, which can hide every other lever. The same "
            "design with it fixed (files `results/sensitivity_*_timing_fixed.nc`):",
            (fixed, fixed_morris),
            main,
            "timing fixed",
        )
    if episode:
        _design_section(
            report,
            Section("episodes", f"{main} after a shock: the other kinds of start held at 0"),
            f"{', '.join(STARTS)} held at 0 and {', '.join(TIMING)} at the scenario's value; "
            "every other lever varied (Shock Size over its range, 0 included). This is the "
            "setting of [PF]'s claim: a shock of market vulnerability starts the search and "
            "the sources of learning decide what it leads to (files "
            "`results/sensitivity_*_shock_episode.nc`):",
            (episode, episode_morris),
            main,
            "shock episodes",
        )
    report.add(
        Section("pooled", "The governance lever itself (pooled: chain type varied too)")
    ).add(_pooled_lines(pooled, pooled_morris, outputs))
    claims = report.add(Section("claims", "What it says about the seeds' claims"))
    if fixed:
        claims.add(Text(f"(From the design with {', '.join(TIMING)} fixed, and the pooled one.)"))
        claims.add(*_claims(fixed, fixed_morris, pooled, pooled_morris, main))
    else:
        claims.add(*_claims(studies, morris, pooled, pooled_morris, main))
    if episode:
        claims.add(
            Text(
                "In shock episodes (the other starts at 0; the levers of the claim about what a "
                "shock leads to):"
            ),
            *_claims(episode, episode_morris, None, None, main, only="Induced search and sources"),
        )
    report.add(
        Section("uncertainty", "How much the ranking moves across the fit's parameter uncertainty")
    ).add(*_uncertainty(studies, spread, main, fit))
    report.add(Section("caveats", "Caveats")).add(_caveats(studies, main))
    return report


def _same_indices(studies, a: str, b: str) -> bool:
    return all(
        np.allclose(ds.ST.sel(output=a), ds.ST.sel(output=b), atol=1e-6)
        and np.allclose(ds.S1.sel(output=a), ds.S1.sel(output=b), atol=1e-6)
        for ds in studies.values()
    )


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _fit_line(fit, model) -> str:
    if fit is None:
        return "model defaults (no calibration fit in results/fit.nc)"
    ds = xr.load_dataset(fit)
    pairs = ", ".join(
        f"{p} = {v:.3g}" for p, v in zip(ds.parameter.values, ds.estimate.values, strict=True)
    )
    made_for = str(ds.attrs.get("model_sha256", ""))
    stale = (
        f" **The fit was made for another version of the model (SHA-256 `{made_for[:16]}…`); "
        "re-run `gvcdyn calibrate` and then this script.**"
        if made_for and made_for != model.ir.source_hash
        else ""
    )
    return (
        f"calibrated estimates from `{Path(fit).name}` (created "
        f"{ds.attrs.get('created', '?')}): {pairs}.{stale}"
    )


def _design_section(
    report: Report,
    section: Section,
    intro: str,
    design: tuple[dict[str, xr.Dataset], dict[str, xr.Dataset]],
    output: str,
    what: str,
) -> None:
    """A second design's section (``section``, opened by ``intro``) and its ranking of
    ``output`` in each base scenario, titled "<base> chain, <what>": the timing-fixed
    and shock-episode designs are shown alike, so their tables read side by side."""
    report.add(section).add(Text(intro))
    studies, morris = design
    for label, ds in studies.items():
        report.add(
            Section(f"{section.key}/{label}", f"{label} chain, {what}", level=3).add(
                *_ranking_table(ds, morris[label], output)
            )
        )


def _ranking_table(ds: xr.Dataset, md: xr.Dataset, output: str) -> list:
    columns = ["rank"]
    for t in TIMES:
        columns += [f"{t:g} years: lever", "ST ± 95%", "S1", "dir"]
    rankings = {t: ranking(ds, output, t) for t in TIMES}
    rows = []
    for r in range(min(8, ds.sizes["parameter"])):
        row = [str(r + 1)]
        for t in TIMES:
            name, st, conf, s1 = rankings[t][r]
            row += [name, f"{st:.3f} ± {conf:.3f}", f"{s1:.3f}", direction(md, output, t, name)]
        rows.append(row)
    total_s1 = {t: sum(row[3] for row in rankings[t]) for t in TIMES}
    return [
        Table(columns, rows),
        Text(
            "Sum of S1 (1 = additive; less = interactions): "
            + ", ".join(f"{total_s1[t]:.2f} at {t:g}" for t in TIMES)
            + f". {ds.sizes['parameter']} levers varied; the rest are in the study's own "
            "report and netCDF file."
        ),
    ]


def _pooled_lines(pooled: xr.Dataset, md: xr.Dataset, outputs) -> Bullets:
    lines = []
    for output in outputs:
        parts = []
        for t in TIMES:
            for lever in GOVERNANCE:
                one = pooled.sel(output=output, time=t, parameter=lever)
                parts.append(
                    f"{t:g} years: rank {rank_of(pooled, output, t, lever)} of "
                    f"{pooled.sizes['parameter']}, ST {float(one.ST):.3f} ± "
                    f"{float(one.ST_conf):.3f}, direction "
                    f"{direction(md, output, t, lever)}"
                )
        lines.append(f"{output}, {', '.join(GOVERNANCE)}: " + "; ".join(parts))
    return Bullets(lines)


def _claims(studies, morris, pooled, pooled_morris, output, only: str = "") -> list:
    t = TIMES[-1]
    blocks: list = [
        Text(
            f"On {output} at {t:g} years (rank of the lever among those varied, ST, "
            "direction; expected = the sign the claim predicts):"
        )
    ]
    designs = [*studies.items(), *((("pooled", pooled),) if pooled is not None else ())]
    for claim in CLAIMS:
        if not claim.title.startswith(only):
            continue
        blocks.append(Text(f"**{claim.title}.** {claim.statement}"))
        items = []
        for lever, expected in claim.levers.items():
            cells = []
            for label, ds in designs:
                md = pooled_morris if label == "pooled" else morris[label]
                if lever not in ds.parameter.values:
                    continue
                one = ds.sel(output=output, time=t, parameter=lever)
                got = direction(md, output, t, lever)
                cells.append(
                    f"{label}: rank {rank_of(ds, output, t, lever)}/"
                    f"{ds.sizes['parameter']}, ST {float(one.ST):.3f} ± "
                    f"{float(one.ST_conf):.3f}, {got}{_verdict(expected, got, one)}"
                )
            if cells:
                items.append(f"{lever} (expected {expected}): " + "; ".join(cells))
            elif only:
                items.append(f"{lever}: held fixed in this design")
            else:
                items.append(f"{lever}: not a lever of this model version")
        if set(SOURCES) <= set(claim.levers):
            items.append(_sources_together(designs, output, t))
        blocks.append(Bullets(items))
    return blocks


def _sources_together(designs, output: str, t: float) -> str:
    """The five sources of learning together: the sum of their total indices, an upper
    bound of the group's total index (an interaction among them is counted once per
    member), and the largest single one, a lower bound."""
    cells = []
    for label, ds in designs:
        present = [s for s in SOURCES if s in ds.parameter.values]
        st = ds.ST.sel(output=output, time=t, parameter=present).values
        cells.append(f"{label}: sum {st.sum():.3f}, largest {st.max():.3f}")
    return (
        "The sources of learning together (their joint total index lies between the "
        "largest single ST and the sum): " + "; ".join(cells)
    )


def _verdict(expected: str, got: str, one: xr.Dataset) -> str:
    if float(one.ST) <= float(one.ST_conf):
        return " (no effect distinguishable from zero)"
    if float(one.ST) < NEGLIGIBLE:
        return f" (negligible: ST < {NEGLIGIBLE:g})"
    if expected in "+-" and got in "+-":
        return " (as claimed)" if got == expected else " (**against the claim**)"
    return ""


def _uncertainty(studies, spread, output, fit) -> list:
    if fit is None or not any(spread.values()):
        return [
            Text(
                "No calibration fit with bootstrap draws was found; re-run after "
                "`gvcdyn calibrate ... --out results/fit.nc`."
            )
        ]
    intro = Text(
        f"The Sobol' study of {output} repeated at {len(next(iter(spread.values())))} "
        "bootstrap draws of the fit (smaller N per draw). Spearman correlation of each "
        "draw's ST vector with the estimate's, the share of draws with the same leading "
        "lever, and the range of rank of the estimate's top three levers:"
    )
    rows = []
    for label, draws in spread.items():
        ds = studies[label]
        for t in TIMES:
            ref = ds.sel(output=output, time=t).ST
            top = [r[0] for r in ranking(ds, output, t)[:3]]
            rhos, same, ranks = [], 0, {name: [] for name in top}
            for d in draws:
                st = d.sel(output=output, time=t).ST.sel(parameter=ref.parameter)
                rhos.append(spearmanr(ref.values, st.values).statistic)
                order = [r[0] for r in ranking(d, output, t)]
                same += order[0] == top[0]
                for name in top:
                    ranks[name].append(order.index(name) + 1)
            rank_text = ", ".join(f"{n} {min(v)}-{max(v)}" for n, v in ranks.items())
            rows.append(
                [
                    label,
                    f"{t:g}",
                    f"{np.nanmin(rhos):.2f} / {np.nanmedian(rhos):.2f}",
                    f"{same}/{len(draws)}",
                    rank_text,
                ]
            )
    columns = [
        "chain",
        "time",
        "Spearman rho (min / median)",
        "same top lever",
        "ranks of the top 3 across draws",
    ]
    return [intro, Table(columns, rows)]


def _caveats(studies, output) -> Bullets:
    lines = []
    for label, ds in studies.items():
        widest = float(ds.ST_conf.sel(output=output).max())
        lines.append(
            f"{label}: widest 95% interval of ST on {output}: ±{widest:.3f}; "
            f"{ds.attrs['n_failed_runs']} failed runs "
            f"({ds.attrs['n_dropped_groups']} base samples left out)."
        )
    lines += [
        "Indices depend on the ranges: a lever's documented range is a statement about "
        "which clusters are plausible, and a narrow range makes a lever look unimportant.",
        "Sobol' indices rank contributions to variance, not the size or sign of an effect; "
        "the direction column comes from Morris elementary effects on the same space.",
        "`python benchmarks/sensitivity_convergence.py` shows how the indices and their "
        "intervals settle as N grows.",
    ]
    return Bullets(lines)


if __name__ == "__main__":
    main()
