"""gvcdyn against Vensim on the reference suite (issue 3, section 6).

Every model of ``sd-test-models`` in the basic, builtins and subscripts tiers is
compiled and run with its own control variables, flattened to Vensim's column layout
and compared with the canonical Vensim output under the suite's rule
(``numpy.isclose(sim, ref, rtol=1e-3, atol=1e-6)``). Models PySD passes must pass;
models PySD fails or cannot run are expected failures with the manifest's note as the
reason (a pass there is reported as XPASS and is worth a second look).
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from gvcdyn.reference import compare, dataset_columns, read_reference

# Models the compiled core does not support yet: {manifest name: reason}. Each entry
# turns that model's test into an expected failure; remove it once the core covers it.
KNOWN_UNSUPPORTED: dict[str, str] = {
    "invert_matrix": "INVERT MATRIX is not supported by the compiled core (fails loudly by name)",
    "vector_select": "VECTOR SELECT is not supported by the compiled core (fails loudly by name)",
}

TIERS = ("basic", "builtins", "subscripts")

SUITE = Path(
    os.environ.get(
        "GVCDYN_SD_TEST_MODELS",
        Path(__file__).resolve().parents[1].parent / "shared" / "sd-test-models",
    )
)


def _cases() -> list:
    manifest = SUITE / "MANIFEST.csv"
    if not manifest.is_file():
        return [
            pytest.param(
                None,
                id="suite-missing",
                marks=pytest.mark.skip(
                    reason=f"reference suite not found at {SUITE}: put the sd-test-models "
                    "folder (with MANIFEST.csv) there or point GVCDYN_SD_TEST_MODELS at it"
                ),
            )
        ]
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh) if row["tier"] in TIERS]
    cases = []
    for row in rows:
        marks = []
        if row["name"] in KNOWN_UNSUPPORTED:
            marks.append(pytest.mark.xfail(strict=False, reason=KNOWN_UNSUPPORTED[row["name"]]))
        elif row["pysd_status"] != "pass":
            marks.append(
                pytest.mark.xfail(strict=False, reason=f"PySD {row['pysd_status']}: {row['note']}")
            )
        cases.append(pytest.param(row, id=row["name"], marks=marks))
    return cases


@pytest.mark.parametrize("row", _cases())
def test_matches_vensim(row: dict[str, str], tmp_path: Path) -> None:
    import gvcdyn

    # Work on a copy: translating a model may write files next to it, and the suite is
    # shared read-only material.
    folder = shutil.copytree(SUITE / row["name"], tmp_path / row["name"])
    (mdl,) = [p for p in folder.iterdir() if p.suffix.lower() == ".mdl"]
    reference = read_reference(folder / row["canonical_file"])

    result = gvcdyn.load(mdl).run()
    time, columns = dataset_columns(result)
    comparison = compare(columns, reference, time=time)

    assert comparison.passed, f"{row['name']}: {comparison.summary()}"
