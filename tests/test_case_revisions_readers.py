"""Everything that reads a calibration's case table reads the revised one (review of
gvcdyn.calibrate.revisions, issue 20): a sensitivity study's case source, a resume's
checkpoints and a report's provenance and case groups; and a malformed revisions file
is refused with the cell or the fix named, not a traceback."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
import xarray as xr

from gvcdyn.calibrate.cases import file_sha256
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.revisions import (
    REQUIRED,
    fit_revisions,
    read_revised_cases,
    read_revisions,
)
from gvcdyn.errors import CaseDataError

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
HEADER = ",".join(REQUIRED)
FLOWERS = "CO_FLOWERS,trigger,buyer-led,none:FDI-attraction,https://x"


def _write(tmp_path: Path, text: bytes | str) -> Path:
    path = tmp_path / "revisions.csv"
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def test_a_comma_outside_quotes_is_refused_not_shifted(tmp_path):
    """pandas reads a row one cell wider than the header with its first cell as the index:
    every value would move one column (a traceback before this check)."""
    path = _write(tmp_path, f"{HEADER}\n{FLOWERS},a quote, with a comma\n")
    with pytest.raises(CaseDataError, match="a value with a comma in double quotes"):
        read_revisions(path)


def test_a_quoted_comma_and_extra_columns_are_read(tmp_path):
    path = _write(tmp_path, f'{HEADER},reading\n{FLOWERS},"a, b",why\n')
    assert read_revisions(path).loc[0, "quote"] == "a, b"


def test_a_file_that_is_not_utf8_says_so(tmp_path):
    path = _write(tmp_path, f"{HEADER}\n{FLOWERS},Flor\xe1merica\n".encode("latin-1"))
    with pytest.raises(CaseDataError, match=r"is not UTF-8 text .*save it as UTF-8"):
        read_revisions(path)


def test_a_revised_value_the_mapping_refuses_names_the_revisions(tmp_path):
    """The bad value is in the revisions file, not in the case file the user would open."""
    from gvcdyn.calibrate.problem import CalibrationProblem

    path = _write(tmp_path, f"{HEADER}\nCO_FLOWERS,trigger,buyer-led,not-a-trigger,https://x,q\n")
    cfg = load_config(CALIBRATION / "config_v3_checks_revised.toml")
    cfg = dataclasses.replace(cfg, checks=None, revisions=path)
    with pytest.raises(CaseDataError, match=re.escape(f"with the revisions of {path}")):
        CalibrationProblem.from_config(cfg)


def test_the_sensitivity_case_source_reads_the_revised_table():
    from gvcdyn import load
    from gvcdyn.sensitivity.sources import case_source

    model = load(REPO / "models" / "gvc_upgrading_v3.mdl")
    rows = {}
    for name in ("config_v3_checks_post.toml", "config_v3_checks_revised.toml"):
        source = case_source(model, CALIBRATION / name)
        i = source.row_ids.index("CO_FLOWERS")
        rows[name] = dict(zip(source.levers, source.rows[i], strict=True))
    assert rows["config_v3_checks_post.toml"]["FDI Led Start"] == 0
    assert rows["config_v3_checks_revised.toml"]["FDI Led Start"] > 0
    assert "with the revisions of case_revisions.csv" in source.note


def test_a_resume_sees_a_changed_revisions_file(tmp_path):
    """The checkpoints' fingerprint holds the revisions' SHA-256 (the config text holds
    only their path), and a config without revisions keeps the fingerprint it had."""
    from gvcdyn.calibrate.problem import CalibrationProblem
    from gvcdyn.calibrate.tasks import job_config

    base = load_config(CALIBRATION / "config_v3_checks_revised.toml")
    base = dataclasses.replace(base, checks=None)
    edited = tmp_path / "case_revisions.csv"
    shutil.copy(base.revisions, edited)
    with edited.open("a", encoding="utf-8") as f:
        f.write("TW_PC,trigger_year,1982,1983,https://x,q,\n")
    configs = {
        "as committed": job_config(CalibrationProblem.from_config(base), "fit"),
        "edited": job_config(
            CalibrationProblem.from_config(dataclasses.replace(base, revisions=edited)), "fit"
        ),
        "none": job_config(
            CalibrationProblem.from_config(dataclasses.replace(base, revisions=None)), "fit"
        ),
    }
    assert configs["as committed"]["case_revisions_sha256"] == file_sha256(base.revisions)
    assert configs["as committed"] != configs["edited"]
    assert "case_revisions_sha256" not in configs["none"]


def test_a_fit_on_a_changed_revisions_file_is_refused(tmp_path):
    path = _write(tmp_path, f"{HEADER}\n{FLOWERS},q\n")
    attrs = {"case_revisions": str(path), "case_revisions_sha256": file_sha256(path)}
    assert fit_revisions({"case_revisions": ""}) is None
    assert len(fit_revisions(attrs)) == 1
    path.write_text(f"{HEADER}\n{FLOWERS},another quote\n", encoding="utf-8")
    with pytest.raises(CaseDataError, match="changed since the fit"):
        fit_revisions(attrs)


def test_a_fit_that_recorded_its_revisions_text_reads_it_not_the_file(tmp_path):
    """A fit carries the revisions it was made with, so a moved or edited file neither
    breaks nor changes the table its readers rebuild."""
    path = _write(tmp_path, f"{HEADER}\n{FLOWERS},q\n")
    attrs = {
        "case_revisions": str(path),
        "case_revisions_sha256": file_sha256(path),
        "case_revisions_text": path.read_text(encoding="utf-8"),
    }
    path.write_text(f"{HEADER}\n{FLOWERS},another quote\n", encoding="utf-8")
    assert list(fit_revisions(attrs)["quote"]) == ["q"]
    path.unlink()
    assert list(fit_revisions(attrs)["revised"]) == ["none:FDI-attraction"]
    bad = {**attrs, "case_revisions_text": f"{HEADER}\nCO_FLOWERS,trigger,x,x,https://x,q\n"}
    with pytest.raises(CaseDataError, match="'revised' equals 'coded'"):
        fit_revisions(bad)  # the recorded text is checked as a file would be


def test_the_report_names_the_revisions():
    from gvcdyn.reports.calibration import _provenance

    ds = xr.Dataset(coords={"case": ["A"]}, attrs={"case_file": "cases.csv"})
    assert "revisions" not in _provenance(ds, "x")[0].text
    ds.attrs.update(case_revisions="rev.csv", case_revisions_sha256="ab" * 32)
    assert "with the revisions of `rev.csv` (SHA-256 `abababab" in _provenance(ds, "x")[0].text


def test_read_revised_cases_without_revisions_is_the_case_table():
    frame, source = read_revised_cases(CALIBRATION / "gvc_cases.csv", None)
    assert source == f"case file {CALIBRATION / 'gvc_cases.csv'}"
    assert frame.set_index("id").loc["CO_FLOWERS", "trigger"] == "buyer-led"
