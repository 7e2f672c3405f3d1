"""Model v3's lever ranges and their basis (issue 20: "evidence-based ranges for every lever,
with a basis column; uncoded levers narrow (or coded, where the case sources support a new
coded column ... never by guessing)").

Why a script: a lever's documented ``[min,max]`` in ``models/gvc_upgrading_v3.mdl`` is
what the what-if commands accept, what the Latin-hypercube lever sweeps and b10's
extremes range over, and what calibration clips case levers to, so the table of
models/gvc_upgrading_v3.md ("v3 lever ranges and their basis") should be read from the model, not
copied. For each of the 18 levers (studies/lever_sweeps.py's LEVERS) it prints the
default and the range from ``gvcdyn.load(...).parameter_table()``, the values the declared
case mapping (calibration/case_levers.toml) can give the lever and those it gives the 41
cases of calibration/gvc_cases.csv, and the basis of the range (``BASIS``: the seed
section, the mapping, or the index's definition). A lever is flagged when part of its
documented range has no basis (``BASIS[lever].unsupported``): those are the candidates
for narrowing, which is a model change this script does not make.

    python studies/v3_lever_ranges.py            # the markdown table of models/gvc_upgrading_v3.md
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import gvcdyn
from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

REPO = Path(__file__).resolve().parents[1]
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
MAPPING = REPO / "calibration" / "case_levers.toml"
CASES = REPO / "calibration" / "gvc_cases.csv"
SCENARIOS = REPO / "models" / "scenarios"
CONFIG = REPO / "calibration" / "config_v3.toml"
V3_CHECKS = REPO / "models" / "gvc_upgrading_v3.checks.toml"
sys.path.insert(0, str(REPO / "studies"))
from lever_sweeps import LEVERS  # noqa: E402  (sibling script: the 18 levers)


@dataclass(frozen=True)
class Basis:
    """Why a lever's documented range is what it is.

    ``kind``: ``cases`` (a case column sets it through the declared mapping, inside a
    scale whose ends the index defines), ``seed`` (a seed section bounds it) or ``none``
    (no case column and no seed size). ``text``: the basis, with its source.
    ``unsupported``: the part of the documented range no basis supports ("" = none).
    ``proposed``: for a flagged lever, the range its basis supports: the seed's part, else
    a deliberately narrow band of +-20% around the default (no source); not in the .mdl.
    """

    kind: str
    text: str
    unsupported: str = ""
    proposed: tuple[float, float] | None = None


_SOURCE_SCALE = (
    "index 0 absent ... 1 at the frontier [PF sources of learning]; the mapping makes a "
    "presence code a weak or a strong source, 0.1 / 0.6 (absent from a study is rarely "
    "absent from the cluster; present is not the frontier)"
)

#: The basis of every lever's documented v3 range. Seeds: [S] = seed 004 (Schmitz, GVC
#: governance and upgrading), [PF] = seed 000 (the induced-search abstract).
BASIS: dict[str, Basis] = {
    "Initial Buyer Control": Basis(
        "cases",
        "governance: 0.1 market, balanced, national / 0.9 captive, hierarchy [S s.3]; the "
        "ends are the index's definition (0 no lead firm in control, 1 a parent's control)",
    ),
    "Buyer Challenge": Basis(
        "none",
        "no case column separates buyers' demands from their support (mapping [unmapped]); "
        "[S s.4] says buyers are demanding, not how much",
        "all of [0,1] but the default 0.6: no source for its width",
        (0.48, 0.72),
    ),
    "Buyer Support": Basis(
        "cases",
        "learn_buyers: 0.2 / 0.7 [S s.4]; index 0 no teaching ... 1 full support",
    ),
    "Buyer Blocking Strength": Basis(
        "none",
        "no case column codes lead firms' resistance to suppliers' design and branding "
        "(mapping [unmapped]); [S s.5] 'in some cases' says it varies across chains "
        "(so 0 for some), not how strong it is where it acts",
        "the upper part: no source for a strength, only for its presence in some chains",
        (0.0, 0.6),
    ),
    "National Market Share": Basis(
        "cases",
        "end_market: 0.1 global / 0.7 national [S s.6]; a share of sales, so [0,1] by definition",
    ),
    "Shock Year": Basis(
        "cases",
        "trigger_year minus period_start, clipped to [0,40] by the mapping (a trigger before "
        "the period is under way at 0); 40 years is the run (FINAL TIME)",
    ),
    "Shock Size": Basis(
        "cases",
        "trigger: 0 none or a start / 0.6 a shock / 0.8 quota removal (the library codes "
        "the kind, not the size) [PF]; index 0 none ... 1 existential",
    ),
    "State Participation": Basis(
        "cases", "state_participation: 0.1 low / 0.7 high [PF]; index 0 absent ... 1 full"
    ),
    "Initial Institutional Capacity": Basis("cases", f"learn_state_agency; {_SOURCE_SCALE}"),
    "Business Association Strength": Basis("cases", f"learn_business_assoc; {_SOURCE_SCALE}"),
    "Global Demand Growth": Basis(
        "seed",
        "no case column (mapping [unmapped]); [S s.8 concern 1]: 'the growth in production "
        "capability is greater than the growth in demand', i.e. demand growth below global "
        "capacity growth (0.04/year at the default Capacity Diffusion Rate 0.06 minus "
        "Capacity Retirement Rate 0.02)",
        "(0.04, 0.08]: demand outgrowing capacity, the opposite of the seed's situation "
        "(b18 uses 0.08 as a contrast)",
        (0.0, 0.04),
    ),
    "Entrant Wage Gap": Basis(
        "none",
        "no case column codes competing low-wage locations (mapping [unmapped]); [S s.8 "
        "concern 2] says buyers look for low-wage suppliers (a gap > 0), not how large",
        "all of [0,0.9] but 'above 0': no source for its size",
        (0.4, 0.6),
    ),
    "Scouting Intensity": Basis(
        "none",
        "no case column codes buyers' scouting (mapping [unmapped]); [S s.8 concern 2] "
        "'keep scouting for low wage suppliers' says it is present, not how intense",
        "all of [0,1] but 'above 0': no source for its size",
        (0.32, 0.48),
    ),
    "Buyer Led Start": Basis(
        "cases",
        "trigger: 0.8 buyer-led or domestic-TNC-led, else 0 [S s.8; PF]; index 0 none ... "
        "1 full adoption",
    ),
    "State Led Start": Basis(
        "cases", "trigger: 0.6 state-led, else 0 [PF]; index 0 none ... 1 full programme"
    ),
    "FDI Led Start": Basis(
        "cases", "trigger: 0.8 FDI attraction, else 0 [PF]; index 0 none ... 1 full start"
    ),
    "University Research Strength": Basis("cases", f"learn_univ_research; {_SOURCE_SCALE}"),
    "FDI Learning": Basis("cases", f"learn_fdi; {_SOURCE_SCALE}"),
}


def mapping_values(mapping_path: Path = MAPPING) -> dict[str, tuple[float, ...]]:
    """Every value the declared mapping can give each lever (sorted); a numeric column
    gives its clip ends (the lever can take any value between)."""
    mapping = read_mapping(mapping_path)
    values: dict[str, set[float]] = {}
    for m in mapping.maps:
        if m.lever is not None:
            values.setdefault(m.lever, set()).update(m.clip or ())
            continue
        for setting in m.values.values():
            for lever, value in setting.items():
                values.setdefault(lever, set()).add(value)
    return {lever: tuple(sorted(v)) for lever, v in values.items()}


def case_values(model: gvcdyn.Model) -> pd.DataFrame:
    """The levers the declared mapping gives the cases of calibration/gvc_cases.csv
    (NaN where a case does not set a lever)."""
    mapping = read_mapping(MAPPING)
    cases = apply_mapping(read_case_csv(CASES, mapping.id_column), mapping, model=model)
    return pd.DataFrame(cases.values, index=list(cases.ids), columns=list(cases.levers))


def evidence_ranges(model: gvcdyn.Model) -> dict[str, tuple[float, float]]:
    """Each lever's range with a basis: the proposed one for a flagged lever, else the
    documented one (for analyses over the evidence, e.g. Latin-hypercube backgrounds)."""
    out = {}
    for lever in LEVERS:
        p = model.parameter(lever)
        proposed = BASIS[lever].proposed
        out[lever] = proposed if proposed is not None else (p.minimum, p.maximum)
    return out


def table(model: gvcdyn.Model) -> pd.DataFrame:
    """One row per lever: default, documented range, mapping values, cases' span, basis."""
    params = model.parameter_table().set_index("name")
    mapped = mapping_values()
    cases = case_values(model)
    rows = []
    for lever in LEVERS:
        p = params.loc[lever]
        given = cases[lever].dropna() if lever in cases else pd.Series(dtype=float)
        basis = BASIS[lever]
        rows.append(
            {
                "lever": lever,
                "default": float(p["default"]),
                "min": float(p["min"]),
                "max": float(p["max"]),
                "mapping": mapped.get(lever, ()),
                "cases": (float(given.min()), float(given.max()), len(given))
                if len(given)
                else None,
                "kind": basis.kind,
                "basis": basis.text,
                "unsupported": basis.unsupported,
                "proposed": basis.proposed,
            }
        )
    return pd.DataFrame(rows)


def used_values(lever: str) -> dict[str, list[float]]:
    """The values the scenario files (models/scenarios, ``[parameters]``) and the v3 checks
    file (``"Lever" = x`` settings and ``sweep`` values) give ``lever``: what a narrower
    documented range would put outside it (what-if runs refuse such values unless allowed
    explicitly; checks accept them)."""
    scenarios = []
    for path in sorted(SCENARIOS.glob("*.toml")):
        value = tomllib.loads(path.read_text(encoding="utf-8"))["parameters"].get(lever)
        if value is not None:
            scenarios.append(float(value))
    text = V3_CHECKS.read_text(encoding="utf-8")
    name = re.escape(lever)
    checks = [float(v) for v in re.findall(rf'"{name}"\s*=\s*([-\d.eE+]+)', text)]
    for values in re.findall(rf'lever\s*=\s*"{name}"\s*,\s*values\s*=\s*\[([^\]]*)\]', text):
        checks += [float(v) for v in values.split(",") if v.strip()]
    return {"scenarios": scenarios, "checks": checks}


def estimated_table(model: gvcdyn.Model) -> pd.DataFrame:
    """The constants the v3 calibrations estimate (calibration/config_v3.toml's
    [estimate]; the four v3 configs share them): default, documented range, the
    calibration's bounds, and whether the documented range is wider than the bounds."""
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    rows = []
    for name, entry in config["estimate"].items():
        p = model.parameter(name)
        low, high = (float(b) for b in entry["bounds"])
        rows.append(
            {
                "constant": name,
                "default": p.default,
                "min": p.minimum,
                "max": p.maximum,
                "bound_low": low,
                "bound_high": high,
                "wider": p.minimum < low or p.maximum > high,
            }
        )
    return pd.DataFrame(rows)


def _num(x: float) -> str:
    return f"{x:g}"


def markdown(frame: pd.DataFrame) -> str:
    """The table of models/gvc_upgrading_v3.md, "v3 lever ranges and their basis"."""
    lines = [
        "| lever | default | range in the .mdl | mapping gives | the 41 cases get | basis "
        "| range without basis |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in frame.itertuples():
        mapping = " / ".join(_num(v) for v in r.mapping) if r.mapping else "not mapped"
        if r.lever == "Shock Year" and r.mapping:
            mapping = f"any value in [{_num(r.mapping[0])}, {_num(r.mapping[-1])}]"
        cases = f"{_num(r.cases[0])} .. {_num(r.cases[1])}" if r.cases else "default"
        flag = f"**{r.unsupported}**" if r.unsupported else "none"
        if r.proposed is not None:
            flag += f"; with basis: [{_num(r.proposed[0])}, {_num(r.proposed[1])}]"
        lines.append(
            f"| `{r.lever}` | {_num(r.default)} | [{_num(r.min)}, {_num(r.max)}] | {mapping} "
            f"| {cases} | {r.kind}: {r.basis} | {flag} |"
        )
    return "\n".join(lines)


def main() -> None:
    model = gvcdyn.load(V3)
    frame = table(model)
    print(markdown(frame))
    print("\n| estimated constant | default | range in the .mdl | calibration bounds | "
          ".mdl range wider |\n|---|---|---|---|---|")  # fmt: skip
    for r in estimated_table(model).itertuples():
        wider = "yes" if r.wider else "no"
        print(f"| `{r.constant}` | {_num(r.default)} | [{_num(r.min)}, {_num(r.max)}] | "
              f"[{_num(r.bound_low)}, {_num(r.bound_high)}] | {wider} |")  # fmt: skip
    flagged = frame.loc[frame["unsupported"] != "", "lever"].tolist()
    print(f"\n{len(frame)} levers; {len(flagged)} with part of their range unsupported: "
          + ", ".join(flagged))  # fmt: skip
    outside = frame[[bool(r.mapping) and not (r.min <= min(r.mapping) and max(r.mapping) <= r.max)
                     for r in frame.itertuples()]]  # fmt: skip
    print(f"mapping values outside the documented range: {len(outside)}")
    spans = np.array([r.max - r.min for r in frame.itertuples()])
    print(f"levers with a degenerate range: {int((spans <= 0).sum())}")
    print("\nflagged levers: values the scenario files and the v3 checks set outside the "
          "range with a basis")  # fmt: skip
    for r in frame[frame["unsupported"] != ""].itertuples():
        low, high = r.proposed
        for where, values in used_values(r.lever).items():
            out = [v for v in values if not low - 1e-12 <= v <= high + 1e-12]
            print(
                f"  {r.lever} [{_num(low)}, {_num(high)}], {where}: {len(out)} of "
                f"{len(values)} outside ({', '.join(_num(v) for v in sorted(set(out)))})"
            )
    for path in sorted(SCENARIOS.glob("*.toml")):
        given = tomllib.loads(path.read_text(encoding="utf-8"))["parameters"]
        out = [
            f"{k} {_num(v)}"
            for k, v in given.items()
            if k in BASIS and BASIS[k].proposed is not None
            and not BASIS[k].proposed[0] <= v <= BASIS[k].proposed[1]
        ]  # fmt: skip
        if out:
            print(f"  scenario {path.stem}: {', '.join(out)}")


if __name__ == "__main__":
    main()
