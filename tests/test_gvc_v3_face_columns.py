"""The logic of studies/v3_face_validity_columns.py (issue 20): face validity with one case
column at the cases' median, with only its present entries at their median, and with v3's
governance channels neutralised.

Why: models/gvc_upgrading_v3.md reads which mechanism earns v3 its face validity and which costs it
from these tables; a median that leaks into another column, a "size removed" reading that
gives the cases without a shock a shock, a constant column read as a mechanism, or one
batch per case instead of per table would each tell a wrong story or cost an hour.
Synthetic designs, the committed model, mapping and four rows of the committed case table
(results/ is not in CI).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import spearmanr

import gvcdyn
from gvcdyn.calibrate.cases import read_case_csv, read_mapping

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (study scripts, not packages)
import v3_face_validity_columns as fc  # noqa: E402
import v3_fit_measures as fm  # noqa: E402

MAPPING = REPO / "calibration" / "case_levers_v3_later.toml"
SETTING = ("rk23", None)  # the reference fit's integration
#: a shock, a buyer-led start, a state-led start, a later shock: every column varies
FOUR = ["PK_SIALKOT_FOOTBALL", "IN_TIRUPPUR_KNIT", "CL_SALMON_RISE", "CR_MEDDEV"]


def _design() -> tuple[np.ndarray, list[str]]:
    """Six cases x four columns: a size with zeros (two sizes present), a start with one
    size, a year whose absent value is 40, and a constant."""
    X = np.array(
        [
            [0.0, 0.8, 40.0, 0.5],
            [0.6, 0.0, 12.0, 0.5],
            [0.8, 0.0, 40.0, 0.5],
            [0.0, 0.0, 5.0, 0.5],
            [0.6, 0.8, 20.0, 0.5],
            [0.8, 0.0, 40.0, 0.5],
        ]
    )
    return X, ["Shock Size", "Buyer Led Start", "Later Shock Year", "Constant"]


def test_the_median_reading_touches_only_its_column() -> None:
    X, levers = _design()
    variants, _ = fc.column_variants(X, levers, {"Later Shock Year": 40.0})
    medians = [v for v in variants if v[1] == "median"]
    assert [v[0] for v in medians] == levers[:3]
    for lever, _, value, Xv in medians:
        j = levers.index(lever)
        assert value == np.median(X[:, j])
        assert (Xv[:, j] == value).all()
        others = np.delete(np.arange(X.shape[1]), j)
        assert np.array_equal(Xv[:, others], X[:, others])
    assert np.array_equal(X, _design()[0])  # the fit's design is not edited in place


def test_the_present_reading_keeps_the_absent_entries_and_removes_the_size() -> None:
    X, levers = _design()
    variants, _ = fc.column_variants(X, levers, {"Later Shock Year": 40.0})
    present = {v[0]: v for v in variants if v[1] == "present at median"}
    # Buyer Led Start has one size present: nothing to remove, no second reading
    assert set(present) == {"Shock Size", "Later Shock Year"}
    _, _, value, Xs = present["Shock Size"]
    assert value == 0.7  # the median of 0.6, 0.8, 0.6, 0.8
    assert (Xs[[0, 3], 0] == 0.0).all()  # no shock stays no shock
    assert (Xs[[1, 2, 4, 5], 0] == 0.7).all()
    _, _, year, Xy = present["Later Shock Year"]
    assert year == 12.0 and (Xy[[0, 2, 5], 2] == 40.0).all()  # 40: no later shock
    assert (Xy[[1, 3, 4], 2] == 12.0).all()
    assert np.array_equal(np.delete(Xy, 2, axis=1), np.delete(X, 2, axis=1))


def test_a_constant_column_is_skipped_and_so_is_a_size_reading_with_one_size() -> None:
    X, levers = _design()
    variants, skipped = fc.column_variants(X, levers, {})
    assert set(skipped) == {"Constant", "Buyer Led Start"}
    assert skipped["Constant"] == "constant over the cases"
    assert skipped["Buyer Led Start"].startswith("one size present (0.8)")
    assert "Constant" not in {v[0] for v in variants}


def test_the_absent_values_are_the_mappings_missing_values() -> None:
    absent = fc.absent_values(read_mapping(MAPPING))
    assert absent == {"Shock Year": 0.0, "Later Shock Year": 40.0}


def test_each_table_is_one_batch_and_its_fit_row_is_case_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = gvcdyn.load(fm.V3)
    cases = read_case_csv(fv.CASES)
    cases = cases[cases["id"].isin(FOUR)].reset_index(drop=True)
    mapping = read_mapping(MAPPING)
    values = {"Share Loss Sensitivity": 5.0}  # an estimate over the defaults
    also = (*fc.GOVERNANCE, *fc.RACE)
    table, space, X0 = fm.case_design(model, values, cases, mapping, also=also)
    assert list(space.names[-len(also) :]) == list(also)
    assert (X0[:, -len(also) :] == [model.parameter(p).default for p in also]).all()
    codes = fv.observed_codes(cases).apply(pd.to_numeric).loc[list(table.ids)]
    horizon = np.asarray(table.horizon, dtype=float)
    calls = []
    real = fm.case_quantities

    def counted(*args, **kwargs):
        calls.append(len(args[2]))
        return real(*args, **kwargs)

    monkeypatch.setattr(fm, "case_quantities", counted)
    governance = fc.governance_table(model, space, X0, horizon, SETTING, codes)
    assert calls == [len(FOUR) * len(fc.governance_variants())]
    frame = fm.case_frame(model, values, SETTING, cases, mapping)
    for code in fc.CODES:  # the extra columns at the base leave the fit's runs alone
        at_fit = spearmanr(frame[fv.MEASURES[code]], frame[code]).statistic
        assert governance.loc["fit", code] == pytest.approx(at_fit, abs=1e-12)
    # neutralising the channels moves the quantities (else the table says nothing)
    assert governance.loc["all four", "functional_upg rho IBC"] != pytest.approx(
        governance.loc["fit", "functional_upg rho IBC"]
    )
    calls.clear()
    columns, at_fit, skipped = fc.columns_table(
        model, space, list(table.levers), X0, horizon, SETTING, codes, fc.absent_values(mapping)
    )
    assert len(calls) == 1 and calls[0] == len(FOUR) * (len(columns) + 1)
    assert at_fit == pytest.approx(governance.loc["fit", list(fc.CODES)].to_dict())
    assert set(skipped) <= set(table.levers) and "Shock Size" in set(columns["lever"])


def test_a_missing_fit_or_one_on_another_model_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        fc.main([str(tmp_path / "none.nc")])
    assert exit_.value.code == 2
    assert "none.nc: no such file" in capsys.readouterr().err
    other = tmp_path / "other.nc"
    xr.Dataset(attrs={"model_sha256": "0" * 64}).to_netcdf(other)
    with pytest.raises(SystemExit) as exit_:
        fc.main([str(other)])
    assert exit_.value.code == 2
    assert "made on a model with sha256 000000000000" in capsys.readouterr().err
