"""A mistyped lever is refused before the model is parsed when the file was seen before
(gvcdyn.backend.lever_names): the same one-line error as the full check, at a fraction of the
cost (issue 22: an unknown lever cost 2.7 s of CPU, mostly PySD parsing the .mdl)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend import lever_names
from gvcdyn.errors import UnknownParameterError
from gvcdyn.language import frontend
from gvcdyn.whatif.scenarios import lever_keys

MODEL = (
    "x = INTEG(growth * x, 1)\n\t~\tWidgets\n\t~\t|\ngrowth = 0.1\n\t~\t1/Month [0, 1]\n\t~\t|\n"
)


@pytest.fixture
def seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model file loaded once (its names remembered) in the test's own cache."""
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))
    path = write_mdl(tmp_path, MODEL, final_time=5)
    gvcdyn.load(path)
    return path


def test_a_typo_is_refused_without_parsing_and_reads_as_the_full_check(seen, monkeypatch):
    full = None
    try:
        gvcdyn.load(seen).parameter_matrix({"growht": 0.2})
    except UnknownParameterError as exc:
        full = str(exc)
    assert full and "did you mean 'growth'" in full

    def no_parse(*args, **kwargs):
        raise AssertionError("the model was parsed")

    monkeypatch.setattr(frontend, "read_abstract_model", no_parse)
    keys = lever_keys([], ["growht=0.2"], [])
    with pytest.raises(UnknownParameterError) as caught:
        lever_names.refuse_unknown(seen, keys)
    assert str(caught.value) == f"--set 'growht=0.2': key 'growht': {full}"
    lever_names.refuse_unknown(seen, lever_keys([], ["Growth=0.2"], []))  # known: passes


def test_an_unseen_changed_or_damaged_names_file_changes_nothing(seen, tmp_path):
    keys = [("--set 'nope=1'", "nope")]
    (tmp_path / "other").mkdir()
    other = write_mdl(tmp_path / "other", MODEL.replace("0.1", "0.2"), final_time=5)
    lever_names.refuse_unknown(other, keys)  # never loaded here: no early check
    for names_file in (tmp_path / "cache" / "names").glob("*.json"):
        names_file.write_text("{not json")
    lever_names.refuse_unknown(seen, keys)  # damaged: no early check either
    lever_names.refuse_unknown(tmp_path / "missing.mdl", keys)


def test_the_console_script_gives_the_same_line_before_and_after_the_names_are_kept(
    tmp_path: Path,
):
    env = {**os.environ, "GVCDYN_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    path = write_mdl(tmp_path, MODEL, final_time=5)
    arguments = ["gvcdyn", "run", str(path), "--set", "growht=0.2"]
    script = "import sys; from gvcdyn.cli import main; sys.argv = sys.argv[1:]; main()"
    outputs = []
    for _ in range(2):  # the first run parses and keeps the names, the second does not parse
        done = subprocess.run(
            [sys.executable, "-c", script, *arguments],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 2
        outputs.append(done.stderr.strip().splitlines()[-1])
    assert outputs[0] == outputs[1]
    assert "unknown parameter 'growht'; did you mean 'growth'" in outputs[1]
    assert list((tmp_path / "cache" / "names").glob("*.json"))


def test_a_simulation_setting_is_left_to_the_full_check():
    """'FINAL TIME' is no lever: the full check says to use --final-time, so the early
    check must not call it an unknown parameter."""
    assert lever_keys([], ["FINAL TIME=20", "growth=0.2"], []) == [("--set 'growth=0.2'", "growth")]
