"""An output path that is one of the command's own input files is refused before any work.

``gvcdyn sensitivity --fit fit.nc -o fit.nc`` wrote the indices over the calibration fit,
``gvcdyn reality-check ... --params fit.nc -o fit.nc`` the check table over it,
``gvcdyn predict --cases new.csv -o new.csv`` the predictions over the case table and
``gvcdyn run --data ref.csv -o ref.csv`` the results over the data file, each with exit 0
and the input gone. Now each is one line naming the output and the input it would
replace (exit 2), and the input is left as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

DATA = Path(__file__).parent / "data" / "calibration"
MODEL = DATA / "toy_upgrading.mdl"


def _input(tmp_path: Path, name: str) -> tuple[Path, bytes]:
    path = tmp_path / name
    path.write_bytes(b"an input file the command reads\n")
    return path, path.read_bytes()


@pytest.mark.parametrize(
    ("name", "arguments", "option"),
    [
        ("fit.nc", ["sensitivity", MODEL, "--vars", "Skill Index", "--fit", "{f}", "-o", "{f}"],
         "--fit"),
        ("fit.nc", ["reality-check", MODEL, DATA / "toy_levers.toml", "--params", "{f}",
                    "-o", "{f}"], "--params"),
        ("new.csv", ["predict", "--fit", DATA / "toy_config.toml", "--cases", "{f}",
                     "-o", "{f}"], "--cases"),
        ("fit.csv", ["predict", "--fit", "{f}", "--cases", DATA / "toy_cases.csv",
                     "-o", "{f}"], "--fit"),
        ("new.json", ["predict", "--fit", DATA / "toy_config.toml", "--cases", "{f}",
                      "-o", "{d}/new.csv"], "--cases"),
        ("ref.csv", ["run", MODEL, "--data", "{f}", "-o", "{f}"], "--data"),
    ],
)  # fmt: skip
def test_an_output_over_an_input_is_refused(tmp_path, name, arguments, option) -> None:
    path, before = _input(tmp_path, name)
    given = [str(a).format(f=path, d=tmp_path) if isinstance(a, str) else a for a in arguments]
    done = gvcdyn(*given, cwd=tmp_path)
    assert_one_line_error(done, name, f"a file this command reads ({option})", "another name")
    assert path.read_bytes() == before


def test_run_over_its_data_file_wrote_the_results_there(tmp_path) -> None:
    """The case that lost a file before: the toy model reads no data, so the run itself
    succeeded and replaced ref.csv; written elsewhere, the same run works."""
    path, before = _input(tmp_path, "ref.csv")
    done = gvcdyn("run", MODEL, "--data", path, "-o", tmp_path / "ref.csv", cwd=tmp_path)
    assert done.returncode == 2 and path.read_bytes() == before, done.stderr
    done = gvcdyn("run", MODEL, "--data", path, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.csv").read_text().startswith("Time,")


@pytest.mark.parametrize("where", ["folder.csv", "afile/t.csv"])
def test_reality_check_refuses_an_unwritable_out_before_the_runs(tmp_path, where) -> None:
    """reality-check ran every check (with --perturb, its draws) and only then failed to
    write: 'cannot write afile/t.csv: File exists', or 'Is a directory', with the table
    printed above it. Now it is refused first, in the words of the other commands."""
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "afile").write_text("a file\n")
    checks = tmp_path / "c.toml"
    checks.write_text(
        '[[check]]\nname = "n"\nconditions.a = {}\nexpect = "compare"\n'
        "left = 'a[\"Skill Index\"] @ 5'\nop = \">\"\nright = '-1'\n"
    )
    done = gvcdyn("reality-check", MODEL, checks, "-o", tmp_path / where, cwd=tmp_path)
    said = "it is a folder" if where == "folder.csv" else "afile is a file, not a folder"
    assert_one_line_error(done, str(tmp_path / where), said, stdout_empty=True)


def test_reality_check_out_of_range_set_names_no_missing_option(tmp_path) -> None:
    """'--set Support=5' said '... outside its range [0, 1]; use a value inside it or allow
    out-of-range values explicitly': reality-check has no option to allow them."""
    checks = tmp_path / "c.toml"
    checks.write_text(
        '[[check]]\nname = "n"\nconditions.a = {}\nexpect = "compare"\n'
        "left = 'a[\"Skill Index\"] @ 5'\nop = \">\"\nright = '-1'\n"
    )
    done = gvcdyn("reality-check", MODEL, checks, "--set", "Support=5", cwd=tmp_path)
    line = assert_one_line_error(done, "'Support' = 5", "outside its range", "use a value inside")
    assert "out-of-range" not in line


@pytest.mark.parametrize("kind", [str, Path])
def test_refuse_output_over_input_takes_str_paths(tmp_path, monkeypatch, kind) -> None:
    """A ``str`` (or any PathLike) is a path, not a sequence of one-character paths: an
    input given as ``"ref.csv"`` was iterated by character, and an output given as one
    raised AttributeError (``str.exists``) instead of the refusal."""
    from gvcdyn.cli.common import refuse_output_over_input
    from gvcdyn.errors import OutputWriteError

    path, before = _input(tmp_path, "ref.csv")
    monkeypatch.chdir(tmp_path)
    for output, given in [(kind(path), str(path)), (str(path), kind("ref.csv"))]:
        with pytest.raises(OutputWriteError, match="a file this command reads \\(--data\\)"):
            refuse_output_over_input({"--out": output}, {"--data": given})
        with pytest.raises(OutputWriteError, match="--data"):
            refuse_output_over_input({"--out": output}, {"--data": [kind("x.csv"), given]})
    other = tmp_path / "out.csv"
    other.write_text("x\n")
    refuse_output_over_input({"--out": str(other)}, {"--data": str(path), "--fit": None})
    assert path.read_bytes() == before
