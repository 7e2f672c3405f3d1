"""A state programme inside a case's period, after the trigger, in v3 (issue 20, fifteenth
step; the protocol calibration/sources/later_programme_protocol.md, "The model and the
mapping, fixed now").

Why a script: in v3 only a shock or a state programme directs firms' search to new
functions, and a case's start and its programme share one lever (``Shock Year``), so a
cluster started by a buyer, foreign firms or a shock, in which the state started a
programme later inside the period, is run without that programme [PF]. gvc_upgrading_v3.mdl
now carries a later programme (``Later Programme Size``, ``Later Programme Year``,
``later programme onset`` phased in as ``trigger onset`` is), and ``state programme`` is
``MAX(State Led Start x trigger onset, Later Programme Size x later programme onset)``: the
later programme is the state-led start again at its own year, through every channel the
state programme has. With ``Later Programme Size`` 0 the second term is exactly 0 and
``MAX(x, 0)`` is ``x`` for ``x >= 0``, so every run is the earlier v3's bit for bit:
``check_neutral`` (v3_later_shock's, shared by the two studies) compares every saved
variable, the later levers drawn too, with v3 whose state programme is the start's alone
(``earlier_text``), or with any other .mdl given (``--against``, e.g. the committed v3
before this step). The sourced programmes are the case table's columns
``later_programme`` and ``later_programme_year`` (calibration/sources/later_programmes.csv),
which calibration/case_levers_v3_programme.toml maps and config_v3_programme.toml fits.

    python studies/v3_later_programme.py                       # neutrality, one example
    python studies/v3_later_programme.py --against old_v3.mdl  # neutrality against a file
    python studies/v3_later_programme.py --compare REFERENCE PROGRAMME [--before BEFORE]
        # where the likelihood moves between two fits, which `yes` rows act in the model,
        # and (--before) whether a refit equals the fit of its config before the change
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
CASES = REPO / "calibration" / "gvc_cases.csv"
MAPPING = REPO / "calibration" / "case_levers_v3_programme.toml"
sys.path.insert(0, str(REPO / "studies"))
import lever_sweeps as ls  # noqa: E402  (sibling script: the 18 levers)
from v3_face_validity_residuals import replace_equation  # noqa: E402
from v3_later_shock import METHODS, check_neutral, range_rows, write_v3_copy  # noqa: E402

#: The state programme before the later programme: the state-led start's alone.
EARLIER_STATE_PROGRAMME = "State Led Start*trigger onset"
#: The later programme's term in ``state programme`` (what ``earlier_text`` takes out).
LATER_TERM = "Later Programme Size*later programme onset)"
#: Levers v3 gained after the 18 of the hypercube, drawn too in the neutrality design
#: (``Later Programme Size`` stays 0: that is the setting claimed neutral).
LATER_LEVERS = ("Later Shock Size", "Later Shock Year", "Entrant Entry Year",
                "Later Programme Year")  # fmt: skip
NEUTRAL_LEVERS = (*ls.LEVERS, *LATER_LEVERS)

#: The basis of the two levers' documented ranges, as v3_later_shock.LATER_BASIS gives the
#: later shock's (rows of models/gvc_upgrading_v3.md's range table).
PROGRAMME_BASIS = {
    "Later Programme Size": (
        "cases: later_programme: 0 no or open / 0.6 yes, the state-led start's size in the "
        "mapping (the sources code whether and when, not the size) [PF]; 0 none ... 1 full"
    ),
    "Later Programme Year": (
        "cases: later_programme_year minus period_start, clipped to [0,40] (40, after every "
        "period, where no later programme is coded); 40 years is the run (FINAL TIME)"
    ),
}


def earlier_text(text: str) -> str:
    """A v3 .mdl text whose state programme is the state-led start's alone (the later
    programme's levers and onset stay, unused); refused on a text without the later
    programme, where there would be nothing to compare."""
    equation = text.split("\nstate programme=", 1)[-1][:200]
    if "Later Programme Size=" not in text or LATER_TERM not in equation:
        raise SystemExit("the v3 .mdl carries no later programme")
    return replace_equation(text, "state programme", EARLIER_STATE_PROGRAMME)


def without_later_programme(folder: Path) -> Path:
    """A copy of v3 whose state programme leaves the later programme out (the earlier
    form), with v3's settings file beside it so it integrates as v3 does."""
    text = earlier_text(V3.read_text(encoding="utf-8"))
    return write_v3_copy(text, folder / "gvc_upgrading_v3_no_later_programme.mdl")


def neutral_design(model: object, n: int, seed: int) -> pd.DataFrame:
    """``n`` Latin-hypercube settings of NEUTRAL_LEVERS over their documented ranges, with
    ``Later Programme Size`` at its default 0."""
    from v3_fit_measures import lhs_levers  # lazy, as v3_later_shock.check_neutral's

    return lhs_levers(model, n, seed, NEUTRAL_LEVERS)


def programme_example() -> pd.DataFrame:
    """A buyer-led start in year 5 with and without a later programme (size 0.6) in year
    15, at the model's defaults: Functional Search and Functional Upgrading by year."""
    import gvcdyn

    model = gvcdyn.load(V3)
    runs = pd.DataFrame(
        {"Buyer Led Start": [0.8, 0.8], "Shock Year": [5.0, 5.0],
         "Later Programme Size": [0.0, 0.6], "Later Programme Year": [15.0, 15.0]}
    )  # fmt: skip
    ds = model.run(runs, saveper=1.0, variables=["Functional Search", "Functional Upgrading"])
    frame = pd.DataFrame(
        {
            f"{name} {label}": ds[name].values[i]
            for name in ("Functional Search", "Functional Upgrading")
            for i, label in enumerate(("start", "start + programme"))
        },
        index=ds["time"].values,
    )
    return frame


def lever_rows(cases: Path = CASES) -> list[str]:
    """The two levers' rows of models/gvc_upgrading_v3.md's range table, read from the
    model, the variant mapping and the cases it maps (the table needs the columns
    ``later_programme`` and ``later_programme_year``)."""
    return range_rows(MAPPING, PROGRAMME_BASIS, cases)


#: The fit variables compared between a refit and the fit made before the model change:
#: the estimate, the cutpoints, each case's probabilities and the cross-validation scores.
COMPARED = ("estimate", "cutpoint", "probability", "cv_score")
#: The fit attributes that say what a fit was made on (printed, not compared: a refit on
#: the changed model records another model hash by design).
RECORDED = ("model_sha256", "case_file_sha256")
#: A programme starting less than this many years before the case's reading (its period's
#: end) barely acts: one in the period's last year has the run's last instant only, and
#: its onset is phased in as the trigger's is.
BARELY_YEARS = 1.0


def case_nll(fit: xr.Dataset) -> pd.DataFrame:
    """Each case's (rows) and outcome's (columns) negative log-likelihood at the fit's
    estimate, -log P(observed level), from its ``probability`` and ``observed``; NaN where
    the outcome is blank (observed -1 or NaN), so that sums leave it out, as the fit does.
    Unweighted: the fit's case weights are the objective's, not this reading's."""
    observed = fit["observed"].transpose("case", "outcome").values.astype(float)
    probability = fit["probability"].transpose("case", "outcome", "level").values
    blank = ~np.isfinite(observed) | (observed < 0)
    level = np.where(blank, 0, observed).astype(int)
    if (level >= probability.shape[2]).any():
        raise SystemExit("an observed level beyond the fit's levels: not a fit's variables")
    chosen = np.take_along_axis(probability, level[..., None], axis=2)[..., 0]
    with np.errstate(divide="ignore"):
        nll = np.where(blank, np.nan, -np.log(chosen))
    return pd.DataFrame(nll, index=fit["case"].values, columns=fit["outcome"].values)


def nll_change(reference: xr.Dataset, programme: xr.Dataset) -> pd.DataFrame:
    """``programme``'s case_nll minus ``reference``'s, in the reference's case order;
    refused unless the two fits have the same cases, outcomes and observed levels, since
    otherwise the difference would mix a change of data with the model's."""
    ref, prog = case_nll(reference), case_nll(programme)
    if set(ref.index) != set(prog.index) or list(ref.columns) != list(prog.columns):
        raise SystemExit("the two fits have other cases or outcomes: not comparable")
    ref_obs, prog_obs = (f["observed"].transpose("case", "outcome").to_pandas()
                         for f in (reference, programme))  # fmt: skip
    if not ref_obs.equals(prog_obs.loc[ref_obs.index]):
        raise SystemExit("the two fits have other observed levels: not comparable")
    return prog.loc[ref.index] - ref


def summed_change(change: pd.DataFrame, groupings: dict[str, pd.Series]) -> pd.DataFrame:
    """The change summed over cases (blank outcomes left out), for all cases and for each
    value of each grouping (name -> a label per case), one row each with the number of
    cases, one column per outcome and their total; refused when a grouping does not label
    every case (a row would silently go missing)."""
    rows = {f"all ({len(change)})": change.sum()}
    for name, labels in groupings.items():
        missing = sorted(set(change.index) - set(labels.dropna().index))
        if missing:
            raise SystemExit(f"{name}: no label for {', '.join(missing[:5])}")
        labels = labels.loc[change.index]
        for value in sorted(labels.unique(), key=str):
            part = change[labels == value]
            rows[f"{name} {value} ({len(part)})"] = part.sum()
    table = pd.DataFrame(rows).T
    return table.assign(total=table.sum(axis=1))


def largest_changes(change: pd.DataFrame, n: int = 5) -> pd.Series:
    """The ``n`` largest single-case changes by size, either sign, indexed (case, outcome)."""
    stacked = change.stack().dropna()
    return stacked.loc[stacked.abs().sort_values(ascending=False, kind="stable").index[:n]]


def largest_difference(a: xr.DataArray, b: xr.DataArray) -> float:
    """0.0 when ``a`` and ``b`` are equal (NaN equal to NaN), the largest absolute
    difference otherwise (inf where one is NaN and the other not); refused when their
    coordinates differ (the same numbers in another order would not be the same fit)."""
    try:
        a, b = xr.align(a, b, join="exact")
    except ValueError as exc:
        raise SystemExit(f"{a.name}: the two fits' coordinates differ ({exc})") from None
    x, y = a.transpose(*b.dims).values.astype(float), b.values.astype(float)
    if np.array_equal(x, y, equal_nan=True):
        return 0.0
    nan_x, nan_y = np.isnan(x), np.isnan(y)
    if (nan_x != nan_y).any():
        return float("inf")
    return float(np.nanmax(np.abs(x - y)))


def fit_agreement(before: xr.Dataset, after: xr.Dataset) -> dict[str, float]:
    """For the objective and each of COMPARED: 0.0 when ``after`` (the refit) equals
    ``before`` (the same config's fit before the model change), else the largest
    absolute difference."""
    found = {"objective": abs(float(after.attrs["objective"]) - float(before.attrs["objective"]))}
    for name in COMPARED:
        found[name] = largest_difference(before[name], after[name])
    return found


def agreement_lines(before: xr.Dataset, after: xr.Dataset) -> list[str]:
    """The fit_agreement of ``after`` with ``before`` as lines, with the hashes each
    records (RECORDED)."""
    lines = [f"objective {float(after.attrs['objective']):.4f} (before the change "
             f"{float(before.attrs['objective']):.4f})"]  # fmt: skip
    for name, diff in fit_agreement(before, after).items():
        size = "" if name == "objective" else f" ({after[name].size} values)"
        verdict = "equal" if diff == 0 else f"largest difference {diff:.3g}"
        lines.append(f"  {name}{size}: {verdict}")
    for name in RECORDED:
        lines.append(f"  {name}: {after.attrs.get(name, '?')[:16]} (before "
                     f"{before.attrs.get(name, '?')[:16]})")  # fmt: skip
    return lines


def programme_action(levers: pd.DataFrame) -> pd.DataFrame:
    """How each row with a later programme (``Later Programme Size`` > 0) acts in the
    model, from its mapped levers and ``horizon``: ``before_reading`` (years from the
    programme to the case's reading), ``unchanged`` when ``state programme =
    MAX(State Led Start x trigger onset, Later Programme Size x later programme onset)``
    keeps the start's term at every time (a start at least as large, from a year no
    later: the two onsets phase in alike, so the earlier is never below the later), and
    ``barely`` when, not unchanged, it starts less than BARELY_YEARS before the reading."""
    rows = levers[levers["Later Programme Size"] > 0]
    start, size = rows["State Led Start"], rows["Later Programme Size"]
    before = rows["horizon"] - rows["Later Programme Year"]
    unchanged = (start >= size) & (rows["Shock Year"] <= rows["Later Programme Year"])
    return pd.DataFrame(
        {"before_reading": before, "unchanged": unchanged,
         "barely": ~unchanged & (before < BARELY_YEARS)},
        index=rows.index,
    )  # fmt: skip


def mapped_levers(cases: Path = CASES) -> pd.DataFrame:
    """The programme mapping's levers for each case (a lever the mapping leaves unset at
    the model's default), with its ``horizon`` and the case table's ``later_programme``
    and ``outcome_class`` codes, indexed by case id."""
    import gvcdyn
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    model = gvcdyn.load(V3)
    table = apply_mapping(read_case_csv(cases), read_mapping(MAPPING), model=model)
    frame = pd.DataFrame(table.values, index=list(table.ids), columns=list(table.levers))
    frame = frame.fillna({n: model.parameter(n).default for n in frame.columns})
    codes = table.frame[["later_programme", "outcome_class"]].set_axis(frame.index)
    return pd.concat([frame.assign(horizon=table.horizon), codes], axis=1)


def action_lines(levers: pd.DataFrame) -> list[str]:
    """The programme_action of the `yes` rows as three lists: change nothing, barely
    act, act (with the years before the reading)."""
    action = programme_action(levers)
    yes = levers.index[levers["later_programme"] == "yes"]
    unmapped = sorted(set(yes) - set(action.index))
    acts = action[~action["unchanged"] & ~action["barely"]]
    return [
        f"`yes` rows in the model ({len(yes)}; {MAPPING.name}, {CASES.name}):",
        "  change nothing (State Led Start >= Later Programme Size, under MAX): "
        + ", ".join(action.index[action["unchanged"]]),
        f"  barely act (less than {BARELY_YEARS:g} year before the reading): "
        + ", ".join(action.index[action["barely"]]),
        "  act (years before the reading): "
        + ", ".join(f"{i} {y:g}" for i, y in acts["before_reading"].items()),
        *([f"  coded yes, no programme mapped: {', '.join(unmapped)}"] if unmapped else []),
    ]


def compare(reference: Path, programme: Path, before: Path | None = None) -> None:
    """Print where the likelihood moves from ``reference`` to ``programme`` (two fits of
    the same cases), how the `yes` rows act, and with ``before`` whether ``reference``
    (a refit on the changed model) equals the fit of its config made before the change."""
    from gvcdyn.calibrate.cases import file_sha256
    from gvcdyn.calibrate.fitfile import read_fit

    ref, prog = read_fit(reference).load(), read_fit(programme).load()
    if before is not None:
        print(f"{reference.name} against {before.name}:")
        print("\n".join(agreement_lines(read_fit(before).load(), ref)))
    levers = mapped_levers()
    action = programme_action(levers)
    in_model = pd.Series("none", index=levers.index)
    in_model[action.index] = np.where(
        action["unchanged"], "unchanged", np.where(action["barely"], "barely", "acts")
    )
    change = nll_change(ref, prog)
    groupings = {"later_programme": levers["later_programme"], "in model": in_model,
                 "outcome_class": levers["outcome_class"]}  # fmt: skip
    ours, recorded = file_sha256(CASES), prog.attrs.get("case_file_sha256", "")
    print(f"\nWhere the likelihood moves: -log P(observed), summed over cases, unweighted, "
          f"{programme.name} minus {reference.name}; codes from {CASES.name} {ours[:12]} "
          f"({'the' if ours == recorded else 'NOT the'} programme fit's)")  # fmt: skip
    print(summed_change(change, groupings).to_string(float_format=lambda v: f"{v:+.3f}"))
    print("largest single-case changes:")
    for (case, outcome), value in largest_changes(change, 6).items():
        print(f"  {case} {outcome} {value:+.3f} ({levers.loc[case, 'later_programme']}, "
              f"{levers.loc[case, 'outcome_class']})")  # fmt: skip
    print("\n".join(action_lines(levers)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="an .mdl to compare with (default: "
                        "v3 with the state-led start's programme alone)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("REFERENCE", "PROGRAMME"),
                        help="two fits: where the likelihood moves, how yes rows act")  # fmt: skip
    parser.add_argument("--before", type=Path, help="with --compare: the reference's config "
                        "fitted before the model change, compared with REFERENCE")  # fmt: skip
    args = parser.parse_args()
    if args.before and not args.compare:
        parser.error("--before needs --compare")
    if args.compare:
        from gvcdyn.errors import CalibrationConfigError

        try:  # a fit missing or not a fit: exit 2 naming it, as the sweep's read_fit_or_exit
            compare(*args.compare, before=args.before)
        except CalibrationConfigError as exc:
            parser.error(str(exc))
        return
    with tempfile.TemporaryDirectory() as tmp:
        earlier = args.against or without_later_programme(Path(tmp))
        compared = check_neutral(earlier, n=args.runs, levers=NEUTRAL_LEVERS)
    print(f"neutral against {earlier.name}: {args.runs} lever settings x "
          f"{' and '.join(METHODS)}, {compared} saved variables, bitwise equal")  # fmt: skip
    frame = programme_example()
    print(frame.iloc[[5, 10, 15, 16, 20, 25, 30, 40]].round(4).to_string())
    header = pd.read_csv(CASES, nrows=0).columns
    if {"later_programme", "later_programme_year"} <= set(header):
        print("\n".join(lever_rows()))
    else:
        print(f"{CASES.name} has no later_programme columns yet: no range rows")


if __name__ == "__main__":
    main()
