"""The logic of studies/v3_face_validity_residuals.py (issue 20, face validity diagnosis):
rank residuals, group tables, the partial rho, the ordering of adjacent levels, and the
equation replacement that builds the candidate models as copies.

Why: models/gvc_upgrading_v3.md's section "Why face validity stays below 0.6" reads its groups and
candidates from these functions; a sign error in the rank residual or an equation replaced
in the wrong place would mislead it silently. No fit file is read (results/ is not in CI);
synthetic cases and the committed v3 .mdl only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_face_validity_residuals as fr  # noqa: E402  (a study script, not a package)


def test_rank_residual_is_positive_where_the_model_ranks_a_case_too_high() -> None:
    idx = pd.Index(list("abcd"))
    code = pd.Series([0, 1, 2, 3], index=idx)
    quantity = pd.Series([0.1, 0.2, 0.3, 0.4], index=idx)
    assert fr.rank_residuals(quantity, code).abs().sum() == 0
    swapped = pd.Series([0.4, 0.2, 0.3, 0.1], index=idx)  # a ranked top, d ranked bottom
    d = fr.rank_residuals(swapped, code)
    assert d["a"] == 3 and d["d"] == -3 and d["b"] == 0


def test_group_table_shares_add_up_and_dropping_the_bad_group_restores_the_order() -> None:
    idx = pd.Index([f"c{i}" for i in range(8)])
    code = pd.Series(range(8), index=idx, dtype=float)  # no ties: rho 1 when in order
    quantity = pd.Series([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], index=idx)
    quantity["c0"], quantity["c7"] = 0.9, 0.05  # two cases out of rank, both in group "x"
    groups = pd.Series(["x", "y", "y", "y", "y", "y", "y", "x"], index=idx)
    table = fr.group_table(quantity, code, groups)
    assert table["share of d^2"].sum() == pytest.approx(1.0)
    assert table.loc["x", "share of d^2"] > 0.9
    assert table.loc["x", "rho without"] == pytest.approx(1.0)
    assert table.loc["y", "rho within"] == pytest.approx(1.0)
    assert np.isnan(table.loc["x", "rho within"])  # fewer than five cases


def test_partial_rho_removes_what_a_third_column_explains() -> None:
    rng = np.random.default_rng(0)
    z = pd.Series(rng.normal(size=200))
    x = z + 0.1 * pd.Series(rng.normal(size=200))
    y = z + 0.1 * pd.Series(rng.normal(size=200))
    assert fr.rho(x, y) > 0.9
    assert abs(fr.partial_rho(x, y, z)) < 0.2


def test_adjacent_order_counts_pairs_and_ties_half() -> None:
    code = pd.Series([0, 0, 1, 1, 2])
    assert fr.adjacent_order(pd.Series([1.0, 2, 3, 4, 5]), code) == {(0, 1): 1.0, (1, 2): 1.0}
    reversed_ = fr.adjacent_order(pd.Series([5.0, 4, 3, 2, 1]), code)
    assert reversed_ == {(0, 1): 0.0, (1, 2): 0.0}
    assert fr.adjacent_order(pd.Series([1.0, 1, 1, 1, 1]), code)[(0, 1)] == 0.5


def test_trigger_kinds_and_period_bins() -> None:
    assert fr.trigger_kind("shock:trade-liberalisation") == "shock: trade-liberalisation"
    assert fr.trigger_kind("shock:other(disease/environment)") == "shock: other"
    assert fr.trigger_kind("none:state-led-irrigation") == "state-led start"
    assert fr.trigger_kind("none:domestic-TNC-led") == "buyer/FDI/TNC start"
    assert fr.trigger_kind("none") == "none"
    assert [fr.period_bin(y) for y in (5, 8, 9, 15, 16, 31)] == [
        "5-8 years", "5-8 years", "9-15 years", "9-15 years", "16-31 years", "16-31 years",
    ]  # fmt: skip


MDL = "a=\n\tb*2\n\t~\tDmnl\n\t~\tdoc\n\t|\n\nb=\n\t3\n\t~\tDmnl\n\t~\tdoc\n\t|\n"


def test_replace_equation_changes_only_that_right_hand_side() -> None:
    out = fr.replace_equation(MDL, "a", "b*4")
    assert out == MDL.replace("b*2", "b*4")
    with pytest.raises(ValueError, match="0 equations"):
        fr.replace_equation(MDL, "c", "1")
    with pytest.raises(ValueError, match="2 equations"):
        fr.replace_equation(MDL + MDL, "a", "1")


@pytest.mark.parametrize("name", sorted(fr.CANDIDATES))
def test_each_candidate_is_a_copy_differing_only_in_its_equations(
    name: str, tmp_path: Path
) -> None:
    """The copy lies in the given folder (never models/), and its lines differ from the
    committed v3 model only in the replaced right-hand sides."""
    path = fr.candidate_model(name, tmp_path)
    assert path.parent == tmp_path
    old = fr.V3.read_text(encoding="utf-8").splitlines()
    new = path.read_text(encoding="utf-8").splitlines()
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert [b.strip() for _, b in changed] == list(fr.CANDIDATES[name].values())


@pytest.mark.parametrize(
    ("attrs", "refused"),
    [
        ({}, False),  # an old fit that records nothing: the table as coded
        ({"mapping_text": "same"}, False),
        ({"mapping_text": "[[map]]\ncolumn = 'other'\n"}, True),  # a variant mapping
        ({"case_revisions": "calibration/case_revisions.csv"}, True),
    ],
)
def test_a_fit_on_another_table_or_mapping_is_refused_not_judged_on_this_one(
    tmp_path, monkeypatch, attrs, refused
) -> None:
    """The study runs the cases as coded with case_levers.toml; a fit made with revisions
    or the later shock's mapping would be judged on cases it was not fitted to."""
    import xarray as xr

    mapping = tmp_path / "case_levers.toml"
    mapping.write_text("same", encoding="utf-8")
    monkeypatch.setattr(fr, "RESULTS", tmp_path)
    monkeypatch.setattr(fr.fv, "MAPPING", mapping)
    xr.Dataset(
        {"estimate": ("parameter", [0.5])}, coords={"parameter": ["Shock Order Loss"]}, attrs=attrs
    ).to_netcdf(tmp_path / "fit.nc")
    if refused:
        with pytest.raises(SystemExit, match="v3_fit_measures"):
            fr.estimate("fit.nc")
    else:
        assert fr.estimate("fit.nc") == {"Shock Order Loss": 0.5}
