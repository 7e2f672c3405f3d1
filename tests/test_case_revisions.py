"""Sourced case revisions (gvcdyn.calibrate.revisions; issue 20, ninth step): a coded cell
changes only with a source and a quote, never against a value nobody checked, and a
calibration config that names the file fits the revised table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.revisions import REQUIRED, apply_revisions, read_revisions
from gvcdyn.errors import CaseDataError

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
HEADER = ",".join(REQUIRED)


def _cases() -> pd.DataFrame:
    return pd.DataFrame(
        {"id": ["A", "B"], "trigger": ["buyer-led", "none"], "trigger_year": ["1970", ""]}
    )


def _write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "revisions.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_a_revision_changes_only_its_cell(tmp_path):
    path = _write(tmp_path, "A,trigger,buyer-led,none:state-led,https://x,a quote")
    out = apply_revisions(_cases(), read_revisions(path))
    assert out.loc[0, "trigger"] == "none:state-led"
    assert out.drop(index=0).equals(_cases().drop(index=0))
    assert _cases().loc[0, "trigger"] == "buyer-led"  # the input is not changed in place


@pytest.mark.parametrize(
    ("row", "header", "message"),
    [
        ("A,trigger,buyer-led,none,,a quote", HEADER, "'source' is blank"),
        ("A,trigger,buyer-led,none,https://x,", HEADER, "'quote' is blank"),
        ("A,trigger,none,none,https://x,q", HEADER, "'revised' equals 'coded'"),
        ("A,trigger,buyer-led,none,https://x", "id,column,coded,revised,source", "quote"),
    ],
)
def test_a_revision_without_a_source_or_a_change_is_refused(tmp_path, row, header, message):
    with pytest.raises(CaseDataError, match=message):
        read_revisions(_write(tmp_path, row, header=header))


def test_a_cell_revised_twice_is_refused(tmp_path):
    rows = ["A,trigger,buyer-led,none,https://x,q", "A,trigger,buyer-led,none:x,https://y,q"]
    with pytest.raises(CaseDataError, match="A trigger is revised twice"):
        read_revisions(_write(tmp_path, *rows))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CaseDataError, match="does not exist"):
        read_revisions(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Z,trigger,buyer-led,none,https://x,q", "case 'Z' is not in the case table"),
        ("A,colour,red,blue,https://x,q", "'colour' .* is not a revisable column"),
        ("A,id,A,B,https://x,q", "'id' .* is not a revisable column"),
        # the table changed since the revision was written: refused, not applied blindly
        ("A,trigger,shock:x,none,https://x,q", "A trigger is 'buyer-led' in the case table"),
    ],
)
def test_a_revision_that_does_not_fit_the_table_is_refused(tmp_path, row, message):
    with pytest.raises(CaseDataError, match=message):
        apply_revisions(_cases(), read_revisions(_write(tmp_path, row)))


def test_the_project_revisions_apply_and_map():
    """Every revision in calibration/case_revisions.csv names a source address and still
    fits the coded table, and the revised table maps without an invalid row."""
    revisions = read_revisions(CALIBRATION / "case_revisions.csv")
    assert revisions["source"].str.startswith("http").all()
    frame = read_case_csv(CALIBRATION / "gvc_cases.csv")
    revised = apply_revisions(frame, revisions)
    changed = (revised != frame).sum().sum()
    assert changed == len(revisions)
    table = apply_mapping(revised, read_mapping(CALIBRATION / "case_levers.toml"))
    assert len(table) == len(frame) and not table.invalid


@pytest.mark.parametrize(
    ("base", "revised"),
    [
        ("config_v3_checks_post.toml", "config_v3_checks_revised.toml"),
        ("config_v3_checks_cv.toml", "config_v3_checks_revised_cv.toml"),
    ],
)
def test_a_revised_config_differs_from_its_base_only_in_the_revisions(base, revised):
    base_cfg = load_config(CALIBRATION / base)
    revised_cfg = load_config(CALIBRATION / revised)
    assert revised_cfg.revisions == (CALIBRATION / "case_revisions.csv").resolve()
    strip = {"path": None, "text": "", "revisions": None}
    assert dataclasses.replace(revised_cfg, **strip) == dataclasses.replace(base_cfg, **strip)


def test_the_calibration_fits_the_revised_table():
    """CalibrationProblem reads the revisions its config names: CO_FLOWERS' start turns
    from buyer-led to FDI-led in the lever rows it fits."""
    from gvcdyn.calibrate.problem import CalibrationProblem

    rows = {}
    for name in ("config_v3_checks_post.toml", "config_v3_checks_revised.toml"):
        cfg = dataclasses.replace(load_config(CALIBRATION / name), checks=None)
        cases = CalibrationProblem.from_config(cfg).cases
        i = list(cases.ids).index("CO_FLOWERS")
        rows[name] = dict(zip(cases.levers, cases.values[i], strict=True))
    assert rows["config_v3_checks_post.toml"]["Buyer Led Start"] > 0
    assert rows["config_v3_checks_post.toml"]["FDI Led Start"] == 0
    assert rows["config_v3_checks_revised.toml"]["Buyer Led Start"] == 0
    assert rows["config_v3_checks_revised.toml"]["FDI Led Start"] > 0


def test_v3_measures_judge_a_fit_on_the_table_it_was_made_on(tmp_path):
    """studies/v3_fit_measures.py reads the revisions a fit file records, so a fit on the
    revised table is judged on it, and a fit without them on the table as coded."""
    import sys

    import xarray as xr

    sys.path.insert(0, str(REPO / "studies"))
    import v3_fit_measures as fm  # a study script, not a package

    revised = xr.Dataset(attrs={"case_revisions": str(CALIBRATION / "case_revisions.csv")})
    coded = xr.Dataset(attrs={"case_revisions": ""})
    shrimp = {
        name: fm.fit_cases(fit).set_index("id").loc["TH_SHRIMP", "governance"]
        for name, fit in (("revised", revised), ("coded", coded))
    }
    assert shrimp == {"revised": "market", "coded": "hierarchy"}
