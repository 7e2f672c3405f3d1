"""The ten cases started by buyers, foreign firms or a domestic TNC, case by case (issue 20,
step "examine the ten cases"), for the table in models/gvc_upgrading_v3.md, section "Model v3
(draft)".

Why a script: the examination compares each case's codes with what v2.2, the directed
search draft (commit f86ea13) and the working v3 model give it, and the lead will want
the same rows after the case table or the mapping changes. For each case it prints the
coded context (governance, trigger and year, sources of learning, state participation)
and outcomes (process / product / functional upgrading, outcome class, confidence,
citation check), and each model's Functional Upgrading and Cluster Market Position at
the case's own period end with the declared mapping (calibration/case_levers.toml) at
the model's defaults, each at its own integration (the draft Euler 1/64; v2.2 and v3
their settings files' rk23, v3 since issue 20's seventh step: the numbers in
models/gvc_upgrading_v3.md were measured at v3's RK4 1/8). It ends with Spearman rho over all cases
and without the ten.

    python studies/v3_started_cases.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (a sibling script, not a package)

#: The cases the directed-search draft's face-validity finding names (models/gvc_upgrading_v3.md).
STARTED = (
    "IN_TIRUPPUR_KNIT", "KE_HORT_VEG", "TW_PC", "TW_BICYCLE", "CO_FLOWERS",
    "IN_SOFTWARE", "CR_MEDDEV", "TH_SHRIMP", "TH_HDD", "MY_PENANG_ELEC",
)  # fmt: skip
DRAFT_REV = "f86ea13"
SOURCES = ("learn_buyers", "learn_state_agency", "learn_business_assoc",
           "learn_univ_research", "learn_fdi")  # fmt: skip


def models(folder: Path) -> dict[str, Path]:
    """v2.2, the directed-search draft and the working v3 model."""
    draft = subprocess.run(
        ["git", "show", f"{DRAFT_REV}:models/gvc_upgrading_v3.mdl"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    (folder / "v3_draft.mdl").write_text(draft, encoding="utf-8")
    return {
        "v2.2": REPO / "models" / "gvc_upgrading.mdl",
        "v3 draft": folder / "v3_draft.mdl",
        "v3": REPO / "models" / "gvc_upgrading_v3.mdl",
    }


def main() -> None:
    cases = pd.read_csv(fv.CASES).set_index("id")
    obs = fv.observed_codes(cases.reset_index())
    text = fv.MAPPING.read_text(encoding="utf-8")
    values = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for label, mdl in models(folder).items():
            mapping = folder / f"case_levers_{label.replace(' ', '_')}.toml"
            mapping.write_text(
                re.sub(r'(?m)^model = "[^"]*"', f'model = "{mdl.as_posix()}"', text, count=1)
            )
            fv.MAPPING = mapping
            _, y = fv.case_runs(None)
            values[label] = y
    for case in STARTED:
        c = cases.loc[case]
        learn = "".join(str(int(c[s])) for s in SOURCES)
        upg = f"{c.process_upg}/{c.product_upg}/{c.functional_upg}"
        print(f"{case}: {c.governance}, {c.end_market}, {c.trigger} {c.trigger_year:g} "
              f"({c.period_start}-{c.period_end}); sources b/sa/ba/ur/fdi {learn}, state "
              f"{c.state_participation}; coded p/pr/f {upg}, {c.outcome_class}; "
              f"{c.confidence}, {c.citation_check}")  # fmt: skip
        print("   " + "; ".join(
            f"{label} FU {y.loc[case, 'Functional Upgrading']:+.2f} CMP "
            f"{y.loc[case, 'Cluster Market Position']:+.2f}"
            for label, y in values.items()
        ))  # fmt: skip
    for label, y in values.items():
        o = obs.loc[y.index]
        rest = ~y.index.isin(STARTED)
        parts = []
        for code, var in (("outcome_class", "Cluster Market Position"),
                          ("functional_upg", "Functional Upgrading")):  # fmt: skip
            every = spearmanr(y[var], o[code]).statistic
            other = spearmanr(y.loc[rest, var], o.loc[rest, code]).statistic
            parts.append(f"{code} {every:+.3f} (without the ten {other:+.3f})")
        print(f"{label}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
