"""Hostile input: mutated models, scenario files, calibration configs, mappings and case CSVs.

Each test takes a real input file of the repository, applies one to three random
mutations (delete or duplicate text, insert a token that means something in that format,
swap lines, cut the file short, replace a number by 0, -5, 1e308, nan...) and feeds it to
the reader that a user's file would go through. The rule: the input is accepted, or it
is refused with a ``GvcdynError`` whose message names the file; never another exception,
a hang (each input gets ``INPUT_SECONDS``, enforced by SIGALRM) or, for a model that
loads and runs, a NaN reported as a successful run.

``pytest tests/test_fuzz_inputs.py --hypothesis-show-statistics`` prints how many
mutated inputs each test tried; ``GVCDYN_FUZZ_SCALE=10`` tries ten times more.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gvcdyn
from gvcdyn.errors import (
    GvcdynError,
    ModelParseError,
    ModelStructureError,
    UnsupportedFeatureError,
)

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "sd-test-models"
REFERENCE_MODELS = [
    SUITE / "teacup" / "teacup.mdl",
    SUITE / "SIR" / "SIR.mdl",
    SUITE / "delays" / "test_delays.mdl",
    SUITE / "lookups_inline" / "test_lookups_inline.mdl",
    SUITE / "subscript_1d_arrays" / "test_subscript_1d_arrays.mdl",
    SUITE / "control_vars" / "test_control_vars.mdl",
]
GVC_MODEL = REPO / "models" / "gvc_upgrading.mdl"
SCENARIOS = sorted((REPO / "models" / "scenarios").glob("*.toml"))
CALIBRATION = REPO / "calibration"
INPUT_SECONDS = 60

MDL_TOKENS = [
    "|", "~", "(", ")", "[", "]", "=", ":", ",", '"', "*", "+", "-", "/", "^", "\n",
    "INTEG(", "IF THEN ELSE(", "WITH LOOKUP(", "DELAY1(", "SMOOTH(", "SMOOTH N(", ":AND:",
    "{", "}", "\\\\\\---/// Sketch", "****", "Time", "FINAL TIME", "TIME STEP", "SAVEPER",
    "A FUNCTION OF(", "nan", "1e400", "-1", "0", "!", "'", "\x00", "é", ":MACRO:", "->",
]  # fmt: skip
TOML_TOKENS = [
    '"', "'", "=", "[", "]", "{", "}", ",", "\n", "#", "nan", "inf", "-inf", "1e999", "-1",
    "0", "true", "[parameters]", "[estimate]", "[[outcome]]", "[[map]]", "description",
    '"""', "0x10", "1_000", "1979-05-27", "é", "\x00", ".", "= {}", "= []",
]  # fmt: skip
CSV_TOKENS = [
    ",", '"', "\n", "\r\n", ";", "", "NA", "nan", "-", "9999", "-1", "é", "\x00", "captive",
    "global", "2020", "x", "1e308", " ", "id",
]  # fmt: skip
NUMBERS = ["0", "-5", "1e308", "1e-320", "nan", "inf", "1e6", "0.0", "-0"]
T = TypeVar("T")


# ----------------------------------------------------------------------------- mutation


@st.composite
def mutated(draw: st.DrawFn, text: str, tokens: list[str]) -> str:
    """``text`` after one to three random edits that matter in its format."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "insert", "replace", "dup", "swap", "cut", "num"]))
        i = draw(st.integers(0, len(text)))
        if op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 20)) :]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(tokens)) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(st.sampled_from(tokens)) + text[i + draw(st.integers(1, 8)) :]
        elif op == "cut":
            text = text[:i]
        elif op == "num":
            numbers = list(re.finditer(r"\d+(\.\d+)?", text))
            if numbers:
                m = draw(st.sampled_from(numbers))
                text = text[: m.start()] + draw(st.sampled_from(NUMBERS)) + text[m.end() :]
        else:
            lines = text.split("\n")
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(0, len(lines) - 1))
            if op == "dup":
                lines.insert(b, lines[a])
            else:
                lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


class InputHang(BaseException):
    """An input took longer than ``INPUT_SECONDS`` (a hang, as far as a user can tell).

    A ``BaseException``, like ``KeyboardInterrupt``: a reader that turns every ``Exception``
    into its own error (the frontend wraps PySD's) must not pass a hang off as a refusal.
    """


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise InputHang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


#: ``GVCDYN_FUZZ_SCALE=10 pytest tests/test_fuzz_inputs.py`` tries ten times more inputs.
FUZZ_SCALE = float(os.environ.get("GVCDYN_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    """Hypothesis settings of a fuzz test: ``examples`` inputs (times ``FUZZ_SCALE``), no
    per-input deadline (the time limit is ``INPUT_SECONDS``), fixtures shared across inputs."""
    return settings(
        max_examples=max(1, round(examples * FUZZ_SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def write_mutant(
    data: st.DataObject, sources: Sequence[Path], tokens: list[str], folder: Path
) -> tuple[Path, Path]:
    """``(mutant, source)``: a mutant of one of ``sources`` written into ``folder`` under a
    fresh name with the source's suffix (its folder matters: a calibration config names
    the files beside it)."""
    source = data.draw(st.sampled_from(list(sources)))
    text = data.draw(mutated(source.read_text(encoding="utf-8", errors="replace"), tokens))
    path = folder / f"{source.stem}_mutant_{uuid.uuid4().hex[:8]}{source.suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return path, source


def feed_mutant(
    data: st.DataObject,
    sources: Sequence[Path],
    tokens: list[str],
    folder: Path,
    read: Callable[[Path], T],
    *,
    also_named: Sequence[str] = (),
) -> T | None:
    """What ``read`` returns for a mutant of one of ``sources``, or None if it refused it.

    ``read`` gets ``INPUT_SECONDS``. A refusal must be a ``GvcdynError`` whose message is
    one line naming the mutant (or one of ``also_named``: a file handed to the reader
    unchanged, such as the case CSV a mutated mapping is applied to); any other exception
    or a hang fails the test, naming the file the mutant came from.
    """
    path, source = write_mutant(data, sources, tokens, folder)
    try:
        with time_limit(INPUT_SECONDS):
            return read(path)
    except GvcdynError as exc:
        message = str(exc).strip()
        assert message and "\n" not in message and "Traceback" not in message, message
        named = [path.name, *also_named]
        assert any(name in message for name in named), f"{message!r} names none of {named}"
        return None
    except BaseException as exc:
        raise AssertionError(f"{type(exc).__name__} on a mutant of {source.name}") from exc


@pytest.fixture(scope="module")
def gvc_model() -> gvcdyn.Model:
    return gvcdyn.load(GVC_MODEL)


# ----------------------------------------------------------------------------- models


@fuzz(60)
@given(data=st.data())
def test_a_mutated_model_loads_or_is_refused_cleanly(tmp_path: Path, data: st.DataObject) -> None:
    feed_mutant(data, REFERENCE_MODELS, MDL_TOKENS, tmp_path, gvcdyn.load)


@pytest.mark.slow
@fuzz(12)
@given(data=st.data())
def test_a_mutated_model_that_loads_runs_without_silent_nan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))
    ds = feed_mutant(
        data, REFERENCE_MODELS[:4], MDL_TOKENS, tmp_path, lambda path: gvcdyn.load(path).run()
    )
    if ds is None:
        return
    status = ds["status"].values
    for name, var in ds.data_vars.items():
        if var.dtype.kind == "f" and "run" in var.dims:
            values = var.values.reshape(len(status), -1)
            silent = ~np.isfinite(values).all(axis=1) & (status == 0)
            assert not silent.any(), f"'{name}' is not finite in a run reported as ok"


@pytest.mark.slow
@fuzz(8)
@given(data=st.data())
def test_the_mutated_gvc_model_loads_or_is_refused_cleanly(
    tmp_path: Path, data: st.DataObject
) -> None:
    feed_mutant(data, [GVC_MODEL], MDL_TOKENS, tmp_path, gvcdyn.load)


# Found by fuzzing: errors of the steps after parsing (lowering, scheduling, code
# generation) named the variable but not the file. ``gvcdyn.load`` now puts the file in
# front of every error it raises, keeping the error's class and cause.
AFTER_PARSING_ERRORS = {
    "undefined name": (
        ModelStructureError,
        "x = INTEG(-k * y, 1)\n\t~\tWidgets\n\t~\t|\nk = 1\n\t~\t1/Month\n\t~\t|\n",
    ),
    "unsupported function": (
        UnsupportedFeatureError,
        "x = INTEG(-k * x, 1)\n\t~\t~\t|\nk = RANDOM POISSON(0, 9, 1, 0, 1, 0)\n\t~\t~\t|\n",
    ),
    "algebraic loop": (
        ModelStructureError,
        "a = b + 1\n\t~\t~\t|\nb = a * 2\n\t~\t~\t|\n",
    ),
}


@pytest.mark.parametrize("case", sorted(AFTER_PARSING_ERRORS))
def test_model_errors_after_parsing_name_the_file(tmp_path: Path, case: str) -> None:
    from mdl_helpers import write_mdl

    kind, equations = AFTER_PARSING_ERRORS[case]
    path = write_mdl(tmp_path, equations, name=f"fuzz_{case.replace(' ', '_')}")
    with pytest.raises(kind) as caught:
        gvcdyn.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert message.count(path.name) == 1, message


def test_a_parse_error_names_the_file_once_and_keeps_its_cause(tmp_path: Path) -> None:
    from mdl_helpers import write_mdl

    path = write_mdl(tmp_path, "x = (1 +\n\t~\t~\t|\n", name="unbalanced")
    with pytest.raises(ModelParseError) as caught:
        gvcdyn.load(path)
    assert str(caught.value).count(path.name) == 1, str(caught.value)
    assert caught.value.__cause__ is not None  # PySD's own diagnosis stays attached


# Found by fuzzing test_subscripted_lookups.mdl (the definition 'lookup1dim[A](...)'
# renamed): a subscripted lookup defined for some elements only, called for all of them.
# Code generation raised a bare KeyError; the lowering now refuses it by name.
PARTIAL_LOOKUP = """
dim1:
	A, B
	~
	~	|
lookup1dim[B](
	(3,4),(4,-1),(8,1.5))
	~
	~	|
y[dim1] = lookup1dim[dim1](Time)
	~
	~	|
"""


def test_a_lookup_called_where_it_has_no_table_is_refused_by_name(tmp_path: Path) -> None:
    from mdl_helpers import write_mdl

    path = write_mdl(tmp_path, PARTIAL_LOOKUP, name="partial_lookup")
    with pytest.raises(ModelStructureError) as caught:
        gvcdyn.load(path)
    message = str(caught.value)
    for part in (path.name, "'lookup1dim'", "lookup1dim[A]", "y[A]"):
        assert part in message, message
    assert "y[B]" not in message  # the element that has a table is not blamed


def test_a_lookup_defined_for_some_elements_runs_where_it_is_defined(tmp_path: Path) -> None:
    from mdl_helpers import write_mdl

    defined_at_b = PARTIAL_LOOKUP.replace(
        "y[dim1] = lookup1dim[dim1](Time)", "y = lookup1dim[B](Time)"
    )
    ds = gvcdyn.load(write_mdl(tmp_path, defined_at_b, name="partial_lookup_b")).run()
    # the table's points, held flat outside them: (3, 4), (4, -1), (8, 1.5)
    y = ds["y"].sel(run=0)
    assert [float(y.sel(time=t)) for t in (0, 3, 4, 6, 8, 10)] == [4, 4, -1, 0.25, 1.5, 1.5]


# Found by fuzzing test_delays.mdl ('Order Variable = 2 + STEP(1, 10)' with 2 -> 1e6): one
# internal stock per order of DELAY N took 84 s and 3.6 GB, then a bare MemoryError.
@pytest.mark.parametrize("order", ["1e6", "1e308"])
def test_a_delay_of_absurd_order_is_refused_at_once(tmp_path: Path, order: str) -> None:
    from mdl_helpers import write_mdl

    equations = f"y = DELAY N(1, 2, 0, {order})\n\t~\t~\t|\n"
    path = write_mdl(tmp_path, equations, name="absurd_order")
    with time_limit(INPUT_SECONDS), pytest.raises(ModelStructureError, match="DELAY N") as caught:
        gvcdyn.load(path)
    assert path.name in str(caught.value)


# ----------------------------------------------------------------------------- scenarios


@fuzz(150)
@given(data=st.data())
def test_a_mutated_scenario_file_is_read_or_refused_cleanly(
    tmp_path: Path, gvc_model: gvcdyn.Model, data: st.DataObject
) -> None:
    from gvcdyn.whatif.scenarios import build_batch, read_scenario

    batch = feed_mutant(
        data,
        SCENARIOS,
        TOML_TOKENS,
        tmp_path,
        lambda path: build_batch(gvc_model, [read_scenario(path)]),
    )
    if batch is not None:  # an accepted file never smuggles in NaN or inf
        assert np.isfinite(gvc_model.parameter_matrix(batch.params)).all()


# ----------------------------------------------------------------------------- calibration


@pytest.fixture
def calibration_copy(tmp_path: Path) -> Path:
    """The calibration folder's inputs in a scratch folder (mutants never touch the repo)."""
    folder = tmp_path / "calibration"
    folder.mkdir()
    for name in ("config.toml", "case_levers.toml", "gvc_cases.csv"):
        shutil.copy(CALIBRATION / name, folder / name)
    return folder


@fuzz(150)
@given(data=st.data())
def test_a_mutated_calibration_config_is_read_or_refused_cleanly(
    calibration_copy: Path, data: st.DataObject
) -> None:
    from gvcdyn.calibrate.config import load_config

    feed_mutant(data, [CALIBRATION / "config.toml"], TOML_TOKENS, calibration_copy, load_config)


@pytest.mark.parametrize("mutated_file", ["case_levers.toml", "gvc_cases.csv"])
@fuzz(100)
@given(data=st.data())
def test_a_mutated_case_input_is_applied_or_refused_cleanly(
    calibration_copy: Path, gvc_model: gvcdyn.Model, mutated_file: str, data: st.DataObject
) -> None:
    """A mutated case -> lever mapping applied to the repository's case CSV, or a mutated
    case CSV under the repository's mapping."""
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    cases, levers = calibration_copy / "gvc_cases.csv", calibration_copy / "case_levers.toml"
    mutating_cases = mutated_file == cases.name

    def apply(path: Path) -> object:
        csv, mapping = (path, levers) if mutating_cases else (cases, path)
        frame = read_case_csv(csv)
        return apply_mapping(frame, read_mapping(mapping), model=gvc_model, source=str(csv))

    feed_mutant(
        data,
        [CALIBRATION / mutated_file],
        CSV_TOKENS if mutating_cases else TOML_TOKENS,
        calibration_copy,
        apply,
        # a mutated mapping that the unchanged case rows do not satisfy is named by them
        also_named=[] if mutating_cases else [cases.name],
    )


# ----------------------------------------------------------------------------- command line


@pytest.mark.slow
@fuzz(20)
@given(data=st.data())
def test_the_cli_answers_a_mutated_scenario_without_a_traceback(
    tmp_path: Path, data: st.DataObject
) -> None:
    """``gvcdyn run MODEL -s FILE``: a user error is one line and exit code 2, never a traceback."""
    import io

    from gvcdyn.cli import run_cli

    path, _ = write_mutant(data, SCENARIOS, TOML_TOKENS, tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with (
        time_limit(INPUT_SECONDS),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = run_cli(["run", str(GVC_MODEL), "-s", str(path), "--final-time", "2"])
    assert "Traceback" not in out.getvalue() + err.getvalue()
    assert code in (0, 2), err.getvalue()
    if code == 2:
        message = err.getvalue().strip()
        assert message.startswith("error: ") and "\n" not in message, message
        assert path.name in message, message


def test_a_control_that_reads_a_stock_is_refused_at_load_naming_the_file(tmp_path: Path) -> None:
    """Found by fuzzing: a mutant SIR model whose SAVEPER read the stock 'Infectious'
    loaded, and its run raised an error that named no file."""
    from mdl_helpers import write_mdl

    from gvcdyn.errors import SimulationSettingsError

    stock = "x = INTEG(1, 1)\n\t~\tWidgets\n\t~\t|\n"
    path = write_mdl(tmp_path, stock, final_time=10, saveper="x")
    with pytest.raises(SimulationSettingsError, match=rf"{path.name}.*depends on 'x'"):
        gvcdyn.load(path)
