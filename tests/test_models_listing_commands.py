"""Each calibration config ``gvcdyn models`` lists comes with a command that runs it.

A model with several configs (gvc_upgrading_v3 has a dozen) listed every one of them as
``(gvcdyn calibrate gvc_upgrading_v3)``, but that name runs only its first config; the
others are named by their file, which works from any directory.
"""

from __future__ import annotations

import re
import shlex

from console import gvcdyn

from gvcdyn.bundled import resolve_calibration_config, shipped_models


def test_every_listed_calibrate_command_runs_the_config_it_is_listed_with(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the commands work from any directory
    done = gvcdyn("models", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = re.findall(r"^calibration: (\S+) \(gvcdyn calibrate (.+)\)$", done.stdout, re.M)
    expected = sum(len(m.calibrations) for m in shipped_models())
    assert len(lines) == expected and expected > 0, done.stdout
    for listed, command in lines:
        (argument,) = shlex.split(command)
        resolved = resolve_calibration_config(argument)
        assert resolved.as_posix().endswith(listed), (listed, command, resolved)
