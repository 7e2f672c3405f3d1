"""The rough edges of the command line (issue 9, section 4), each through the real script.

Every test runs the installed ``gvcdyn`` console script in a subprocess, as a user would:
usage errors are one line, user text with square brackets is printed as written, run
labels stay distinct in narrow terminals, repeated or misplaced settings are refused,
plots are written in the format their name says, outputs are checked before a run, and
results record where the model came from. Small models are written per test so that a
kernel compiles in a second.
"""

from __future__ import annotations

import os
import re
import subprocess
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path

import console
import numpy as np
import pytest
import xarray as xr
from console import gvcdyn
from mdl_helpers import write_mdl

REPO = Path(__file__).resolve().parents[1]
GVC = REPO / "models" / "gvc_upgrading.mdl"
SCENARIOS = REPO / "models" / "scenarios"

# Documentation and units with square brackets, which rich would read as markup.
GROWTH_MODEL = """
stock = INTEG(inflow, 1)
	~	widgets
	~	The stock [design note sec.2].
	|
inflow = rate * stock
	~	widgets/Month
	~	Growth, [red]not red[/red].
	|
rate = 0.1
	~	1/Month [0, 1]
	~	Growth rate, see [design note sec.2].
	|
"""


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The shared check, with nothing on stdout either."""
    return console.assert_one_line_error(result, *fragments, stdout_empty=True)


@pytest.fixture
def growth(tmp_path: Path) -> Path:
    return write_mdl(tmp_path, GROWTH_MODEL, final_time=10, time_step=0.5, name="growth")


def test_version_is_the_installed_one() -> None:
    result = gvcdyn("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"gvcdyn {version('gvcdyn')}"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--integration", "rk5"), ("--integration", "rk5", "euler", "rk4")),
        (("--time-step", "abc"), ("--time-step", "abc")),
        (("--no-such-flag",), ("--no-such-flag",)),
    ],
    ids=["bad-choice", "not-a-number", "unknown-option"],
)
def test_usage_errors_are_one_line(growth: Path, args: tuple[str, ...], fragments) -> None:
    line = assert_one_line_error(gvcdyn("run", growth, *args), *fragments)
    assert "Value error" not in line  # no validation-library wording


def test_missing_argument_is_one_line() -> None:
    assert_one_line_error(gvcdyn("run"), "Missing argument", "gvcdyn run --help")


def test_params_prints_square_brackets_as_written(growth: Path) -> None:
    result = gvcdyn("params", growth)
    assert result.returncode == 0, result.stderr
    assert "[design note sec.2]" in result.stdout
    assert "[0, 1]" in result.stdout


def test_params_prints_every_digit_of_a_value(tmp_path: Path) -> None:
    """A seed-like default keeps its digits (not 4.48756e+06), a decimal stays short."""
    text = "seed = 4487556\n\t~\tDmnl [0, 2147483648]\n\t~\tA seed.\n\t|\n"
    text += "share = 0.1\n\t~\tDmnl [0, 1]\n\t~\tA share.\n\t|\n"
    result = gvcdyn("params", write_mdl(tmp_path, text, final_time=1, name="digits"))
    assert result.returncode == 0, result.stderr
    assert "4487556" in result.stdout and "[0, 2147483648]" in result.stdout
    assert " 0.1 " in result.stdout


def test_scenario_names_with_brackets_are_printed_as_written(growth: Path, tmp_path: Path):
    scenario = tmp_path / "my[red]scen.toml"
    scenario.write_text('description = "x [y]"\n[parameters]\nrate = 0.2\n', encoding="utf-8")
    result = gvcdyn("run", growth, "-s", scenario)
    assert result.returncode == 0, result.stderr
    assert "my[red]scen" in result.stdout


def _first_column(table_text: str) -> list[str]:
    """The first column of every rich table in ``table_text``, folded lines joined."""
    labels: list[str] = []
    for line in table_text.splitlines():
        cells = line.split("│")
        if len(cells) < 3:
            continue
        first, rest = cells[1].strip(), [c.strip() for c in cells[2:-1]]
        if any(rest):  # a new row (its numbers are on its first line)
            labels.append(first)
        elif labels:  # a folded continuation of the label above
            labels[-1] += first
    return labels


@pytest.mark.parametrize("columns", [80, 120])
def test_scenario_labels_stay_distinct_in_narrow_terminals(tmp_path: Path, columns: int):
    scenarios = sorted(SCENARIOS.glob("*.toml"))
    args = [a for path in scenarios for a in ("-s", path)]
    result = gvcdyn("run", GVC, *args, cwd=tmp_path, columns=columns)
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= columns
    labels = _first_column(result.stdout)
    expected = [p.stem for p in scenarios]
    # each table (outcomes may be split over several) lists every run, whole
    assert len(labels) % len(expected) == 0 and labels, result.stdout
    for k in range(0, len(labels), len(expected)):
        assert labels[k : k + len(expected)] == expected, result.stdout


def test_a_lever_set_twice_is_an_error(growth: Path) -> None:
    assert_one_line_error(
        gvcdyn("run", growth, "--set", "rate=0.2", "--set", "rate=0.4"), "rate", "twice"
    )


def test_a_run_is_labelled_with_what_was_set(growth: Path) -> None:
    result = gvcdyn("run", growth, "--set", "rate=0.2")
    assert result.returncode == 0, result.stderr
    assert "rate=0.2" in result.stdout and "default" not in result.stdout


def test_setting_final_time_points_to_its_option(growth: Path) -> None:
    line = assert_one_line_error(gvcdyn("run", growth, "--set", "FINAL TIME=20"), "--final-time")
    assert "did you mean" not in line.lower()


def test_jpeg_plot_is_a_jpeg_and_unknown_extensions_are_refused(growth, tmp_path: Path):
    result = gvcdyn("run", growth, "--plot", "p.jpg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG's SOI marker
    assert_one_line_error(gvcdyn("run", growth, "--plot", "p.bmp", cwd=tmp_path), "p.bmp", ".png")
    assert not (tmp_path / "p.bmp").exists()


def test_demo_fails_on_an_unwritable_folder_before_printing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert_one_line_error(gvcdyn("demo", "--out", blocker / "sub"), str(blocker / "sub"))
    if Path("/proc").is_dir():  # the case from the issue, on systems that have /proc
        assert_one_line_error(gvcdyn("demo", "--out", "/proc/nope"), "/proc/nope")


@pytest.mark.parametrize("name", ["out.nc", "demo.PNG", "r.csv"])
def test_demo_refuses_a_file_name_for_its_out_folder(tmp_path: Path, name: str) -> None:
    """demo writes two files into --out, a folder: ``-o out.nc`` is a user expecting the
    results in that file, so it is refused naming the option, not made into a folder."""
    line = assert_one_line_error(gvcdyn("demo", "-o", name, cwd=tmp_path), "--out", name)
    assert "folder" in line
    assert not (tmp_path / name).exists()


def test_demo_takes_an_existing_folder_whose_name_has_a_suffix(tmp_path: Path) -> None:
    """A folder the user made (even one named like a file) is a folder: written into."""
    folder = tmp_path / "runs.nc"
    folder.mkdir()
    result = gvcdyn("demo", "-o", folder)
    assert result.returncode == 0, result.stderr
    assert (folder / "demo.nc").is_file()


def test_provenance_records_the_model_path_absolute(growth: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    relative = os.path.relpath(growth, work)
    result = gvcdyn("run", relative, "--out", "r.nc", cwd=work)
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(work / "r.nc") as ds:
        assert Path(ds.attrs["model_file"]) == growth.resolve()
        assert Path(ds.attrs["working_directory"]) == work.resolve()
        assert relative in ds.attrs["command_line"]


def test_sweep_plot_names_what_was_varied(growth: Path, tmp_path: Path) -> None:
    """An SVG keeps its texts as comments: the title and the legend can be read back."""
    for name, value in (("slow", 0.05), ("fast", 0.3)):
        (tmp_path / f"{name}.toml").write_text(f"[parameters]\nrate = {value}\n", encoding="utf-8")
    result = gvcdyn(
        "run", growth, "-s", "slow.toml", "-s", "fast.toml", "--sweep", "rate=0:0.2:3",
        "--plot", "s.svg", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    texts = re.findall(r"<!-- (.*?) -->", (tmp_path / "s.svg").read_text(encoding="utf-8"))
    assert any("sweep of rate 0 to 0.2 (3 values)" in t for t in texts), texts
    assert "rate (light to dark)" in texts and "scenario" in texts
    assert {"slow", "fast"} <= set(texts)
    # The six run lines (drawn in run order: slow x 3 rates, then fast x 3) are shades of
    # two colours: each colour is its scenario's colour mixed with white.
    svg = (tmp_path / "s.svg").read_text(encoding="utf-8")
    strokes = re.findall(r"stroke: (#[0-9a-f]{6}); stroke-width: 1\.6", svg)
    assert len(strokes) == 6, strokes
    rgb = np.array([[int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)] for h in strokes])
    assert len({tuple(c) for c in rgb.round(3)}) == 6  # every run its own shade
    for group in (rgb[:3], rgb[3:]):
        darkest = 1.0 - group[-1]  # the last sweep value is the full colour
        for colour in group:
            along = np.cross(1.0 - colour, darkest)
            assert np.allclose(along, 0, atol=0.02), (colour, group[-1])
        assert (group.sum(axis=1)[:-1] > group.sum(axis=1)[1:]).all()  # light to dark
    assert not np.allclose(rgb[2], rgb[5])  # the two scenarios differ


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("command", ["run", "calibrate", "sensitivity", "check", "params"])
def test_help_text_fills_the_terminal_width(command: str, columns: int) -> None:
    """A docstring wrapped at 100 columns in the source must not break mid-sentence at 80:
    prose paragraphs fill their lines, and an example command wrapped by the terminal
    continues on an indented line (or after a ``\\``), never at the margin."""
    result = gvcdyn(command, "--help", columns=columns)
    assert result.returncode == 0, result.stderr
    description = result.stdout.split("Usage:", 1)[1].split("╭", 1)[0]
    paragraphs = [p.splitlines() for p in re.split(r"\n\s*\n", description)[1:] if p.strip()]
    assert paragraphs
    for lines in paragraphs:
        lines = [line.rstrip()[1:] for line in lines]  # rich's one-column margin
        if lines[0].lstrip().startswith("gvcdyn"):  # example command lines
            for before, line in pairwise(lines):
                assert line.startswith((" ", "gvcdyn")) or before.endswith("\\"), lines
        else:  # prose: every line but the last is nearly full
            for line in lines[:-1]:
                assert len(line) > columns - 25, lines
