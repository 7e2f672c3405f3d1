"""A misspelled lever in reality-check's --set, sensitivity's --params or a --ranges file.

Each said only "unknown parameter 'Shock Sise'; did you mean ...", while gvcdyn run's
--set and a scenario file name the option or the file ("--set 'Shock Sise=0.5': key
..."); with several --set options, or a ranges file beside the command line's names, the
user could not tell which input to fix.
"""

from __future__ import annotations

from pathlib import Path

from console import assert_one_line_error, gvcdyn

DID_YOU_MEAN = "unknown parameter 'Shock Sise'; did you mean 'Shock Size'"


def test_reality_check_names_the_set_option(tmp_path: Path) -> None:
    result = gvcdyn(
        "reality-check", "gvc_upgrading", "gvc_upgrading.checks.toml",
        "--set", "Buyer Support=0.5", "--set", "Shock Sise=1", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result, "--set 'Shock Sise=1'", DID_YOU_MEAN)


def test_sensitivity_names_the_params_option(tmp_path: Path) -> None:
    result = gvcdyn(
        "sensitivity", "gvc_upgrading", "--params", "Buyer Support,Shock Sise",
        "--vars", "Unit Value", "--n", "8", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result, "--params 'Buyer Support,Shock Sise'", DID_YOU_MEAN)


def test_sensitivity_names_the_ranges_file(tmp_path: Path) -> None:
    tables = {
        "parameters": 'parameters = ["Buyer Support", "Shock Sise"]\n',
        "ranges": '[ranges]\n"Shock Sise" = [0, 0.5]\n',
        "groups": '[groups]\nshock = ["Shock Sise", "Shock Year"]\n',
    }
    for name, text in tables.items():
        ranges = tmp_path / f"{name}.toml"
        ranges.write_text(text, encoding="utf-8")
        result = gvcdyn(
            "sensitivity", "gvc_upgrading", "--ranges", ranges, "--vars", "Unit Value",
            "--n", "8", cwd=tmp_path,
        )  # fmt: skip
        assert_one_line_error(result, ranges.name, DID_YOU_MEAN)
    # the levers from --params, the misspelled range from the file: the file is named
    result = gvcdyn(
        "sensitivity", "gvc_upgrading", "--params", "Shock Size", "--ranges",
        tmp_path / "ranges.toml", "--vars", "Unit Value", "--n", "8", cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(result, "ranges.toml", DID_YOU_MEAN)


def test_reality_check_says_a_simulation_setting_is_not_a_lever(tmp_path: Path) -> None:
    """'FINAL TIME' in --set said "unknown parameter 'FINAL TIME'; did you mean 'Routine
    Time'?", pointing at an unrelated lever; gvcdyn run says it is a setting, and so does
    reality-check now, with its own advice (it has --time-step, no --final-time)."""
    advice = {
        "FINAL TIME=20": "the checks run to the model's FINAL TIME; edit it in the model",
        "time_step=0.5": "change it with --time-step",
        "SAVEPER=1": "edit SAVEPER in the model",
    }
    for text, hint in advice.items():
        result = gvcdyn(
            "reality-check", "gvc_upgrading", "gvc_upgrading.checks.toml", "--set", text,
            cwd=tmp_path,
        )  # fmt: skip
        line = assert_one_line_error(
            result, f"--set {text!r}", "is a simulation setting, not a lever", hint
        )
        assert "did you mean" not in line, line
