"""`gvcdyn calibrate gvc_upgrading` takes the first of that model's configs by file name
(calibration/config.toml) and said nothing of which: in an editable install, a config
added to calibration/ that sorts first (alt.toml) changed what the command fitted without
a word. It now names the config before fitting; a config given by its path, which the
user named, adds no line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

import gvcdyn.calibrate.study as study
import gvcdyn.cli.common as common
from gvcdyn.bundled import resolve_calibration_config
from gvcdyn.cli import app


@pytest.fixture
def fitted(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The configs the command would fit (the fit itself replaced by a Ctrl-C at once)."""
    seen: list[Path] = []

    def stop(cfg, **_):
        seen.append(cfg.path)
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "calibrate", stop)
    return seen


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the command prints on stderr: its console holds the stream it was made with,
    which CliRunner does not replace."""
    stream = io.StringIO()
    monkeypatch.setattr(common.err, "file", stream)
    return stream


def test_a_config_taken_by_the_model_name_is_named(tmp_path: Path, fitted, stderr) -> None:
    out = tmp_path / "fit.nc"
    result = CliRunner().invoke(app, ["calibrate", "gvc_upgrading", "--out", str(out)])
    assert result.exit_code == 130, result.output
    (config,) = fitted
    assert config == resolve_calibration_config("gvc_upgrading")
    assert f"config: {config} (the one 'gvc_upgrading' names)" in stderr.getvalue()


def test_a_config_given_by_path_adds_no_line(tmp_path: Path, fitted, stderr) -> None:
    config = resolve_calibration_config("gvc_upgrading")
    out = tmp_path / "fit.nc"
    result = CliRunner().invoke(app, ["calibrate", str(config), "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert fitted == [config]
    text = stderr.getvalue()
    assert "interrupted" in text, text  # the streams were read
    assert "config: " not in text
