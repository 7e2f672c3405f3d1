"""What every command shares: the two consoles, option enums, progress and write errors."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from gvcdyn.errors import (
    DataFileNotFoundError,
    DataFileRequiredError,
    JobInterrupted,
    OutputWriteError,
)
from gvcdyn.execute import remove_checkpoints
from gvcdyn.progress import RichProgress

#: exit status of a command stopped by Ctrl-C (the shell's 128 + SIGINT)
EXIT_INTERRUPTED = 130


def _console(stream: Any) -> Console:
    # A terminal (or an explicit COLUMNS) sets the width; pipes and test captures get a
    # wide table instead of rich's 80-column default.
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(file=stream, width=200 if wide else None, highlight=False)


out = _console(sys.stdout)
err = _console(sys.stderr)


class Method(StrEnum):
    euler = "euler"
    rk4 = "rk4"
    rk23 = "rk23"  # adaptive step at its default tolerance (gvcdyn.backend.adaptive)
    rk45 = "rk45"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


# One vocabulary for every command (the table in docs/cli.md): -o/--out is where a command
# writes its result, --vars the variables it saves or explains (repeatable or
# comma-separated), --integration euler|rk4, -s/--scenario a scenario, -h/--help. Old
# spellings stay as hidden options that still work and say what replaced them.

IntegrationOption = Annotated[
    Method | None,
    typer.Option(
        "--integration",
        help=escape(
            "Integration method: euler (Vensim's), rk4, or the adaptive rk23/rk45 (TIME "
            "STEP is then only their first step) [default: the model's settings file's "
            "(MODEL.settings.toml beside the .mdl: rk23 for gvc_upgrading), else the one "
            "its .mdl settings declare, else euler]."
        ),
        show_default=False,
    ),
]
#: ``run``'s and ``demo``'s old name for --integration (``--method`` is sobol|morris in
#: ``sensitivity``)
OldMethodOption = Annotated[
    Method | None, typer.Option("--method", hidden=True, help="Deprecated: --integration.")
]
VarsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--vars",
        metavar="NAMES",
        help="Variables, comma-separated or the option repeated.",
    ),
]


def deprecated(old: str, new: str) -> None:
    """Say on stderr that an option spelling is old, and what replaces it."""
    err.print(escape(f"warning: {old} is deprecated; use {new}"), soft_wrap=True)


def integration(chosen: Method | None, old: Method | None) -> str | None:
    """The integration method from --integration, or from the deprecated --method; None:
    the model's declared method (``Model.integration``: its settings file's, else its
    .mdl's)."""
    if old is None:
        return None if chosen is None else chosen.value
    deprecated(f"--method {old.value}", f"--integration {old.value}")
    return old.value


def split_names(values: list[str] | None) -> list[str] | None:
    """Variable names from repeated options, each possibly comma-separated; a comma inside
    brackets belongs to a subscripted name (``Stock[a, b]``), one inside double quotes to
    a quoted Vensim name (``"weird, name"``)."""
    names: list[str] = []
    for value in values or []:
        depth, start, quoted = 0, 0, False
        for i, char in enumerate(value + ","):
            depth += {"[": 1, "]": -1}.get(char, 0)
            quoted ^= char == '"'
            if char == "," and depth <= 0 and not quoted:
                name = value[start:i].strip()
                if name:
                    names.append(name)
                start = i + 1
    return names or None


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """A file that cannot be written is the user's problem to fix, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise OutputWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc


def save_results(path: Path, write: Callable[[], None] | None) -> None:
    """Write a checkpointed job's results to ``path`` (``write``; None when they were
    streamed there already), then remove the job's checkpoints, then say where.

    The checkpoints go only after the write: a failed write keeps every finished chunk
    for ``--resume``."""
    if write is not None:
        with writing(path):
            write()
    remove_checkpoints(path)
    out.print(f"results: {escape(str(path))}")


def save_plot(path: Path, plot: Callable[[], None]) -> None:
    """Draw the plot into ``path`` (``plot``), then say where, aligned under ``results:``."""
    with writing(path):
        plot()
    out.print(f"plot:    {escape(str(path))}")


@contextlib.contextmanager
def exit_on_interrupt(unsaved: str | Callable[[], str]) -> Iterator[None]:
    """Ctrl-C as one message and exit status 130, never a traceback.

    A chunked job's ``JobInterrupted`` says what is kept and the command that resumes
    (printed unwrapped, so it can be copied); Ctrl-C anywhere else prints ``unsaved``
    (a callable is asked then, for a message that depends on what is on disk).
    """
    try:
        yield
    except JobInterrupted as stop:
        err.print(escape(str(stop)), soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        err.print(escape(unsaved() if callable(unsaved) else unsaved), soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


@contextlib.contextmanager
def status(message: str) -> Iterator[None]:
    """A step of the command's own (reading a model, running the checks, writing a
    report) as a stage of the one progress protocol: its spinner line on stderr, drawn
    as the library's stages are (``RichProgress.stage``)."""
    with RichProgress(err) as progress, progress.stage(message):
        yield


def load(path: Path, data_files: Sequence[Path] = ()) -> Any:
    """The model at ``path``, its data variables read from ``data_files`` (``--data``)."""
    from gvcdyn import model  # lazy: numba and PySD load when a command needs a model

    with status(f"reading {path}"):
        return model.load(path, data_files=list(data_files))


#: the help of every argument that takes a model file or a shipped model's name
MODEL_HELP = "Vensim .mdl model file, or the name of a model shipped with gvcdyn (gvcdyn models)."
#: the help of every option that takes a scenario file or a scenario's name
SCENARIO_HELP = (
    "Scenario .toml file, or the name of one in the scenarios/ folder beside the model "
    "(gvcdyn models lists the shipped ones)"
)


def check_output(path: Path, formats: dict[str, str], *, what: str, example: str) -> None:
    """Refuse an output path before any work: an extension that names none of ``formats``
    (gvcdyn writes what the extension says), or a parent folder that is a file."""
    from gvcdyn.io.output_files import check_format, check_parents

    check_format(path, formats, what=what, example=example)
    check_parents(path)


#: a path as the standard library takes one: a ``str`` or an ``os.PathLike`` (a ``Path``)
StrPath = str | os.PathLike[str]


def refuse_output_over_input(
    outputs: dict[str, StrPath | None], inputs: dict[str, StrPath | Sequence[StrPath] | None]
) -> None:
    """Refuse, before any work, an output that is one of the files the command reads
    (``-o fit.nc`` beside ``--fit fit.nc``, ``-o cases.csv`` beside ``--cases cases.csv``):
    writing it would replace that input with the results, a calibration fit or a case
    table lost without a word. ``outputs`` and ``inputs``: option -> path(s), or None; a
    path is a ``str`` or a PathLike (a ``str`` is one path, not a sequence of them)."""
    for out_option, given_out in outputs.items():
        if given_out is None:
            continue
        out_path = Path(given_out)
        if not out_path.exists():
            continue
        for in_option, given in inputs.items():
            if any(_same_file(out_path, path) for path in _paths(given)):
                raise OutputWriteError(
                    f"{out_option} {out_path} is a file this command reads ({in_option}): "
                    "writing there would replace it; give the output another name"
                )


def _paths(given: StrPath | Sequence[StrPath] | None) -> list[Path]:
    """The paths of one input option: none, one (a ``str`` or PathLike), or a sequence of
    them; anything else is a ``TypeError`` naming its type (from ``Path``)."""
    if given is None:
        return []
    if isinstance(given, str | os.PathLike):
        return [Path(given)]
    return [Path(path) for path in given]


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one existing file (also through a link or ``..``)."""
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def model_data_files(model: Any) -> list[Path]:
    """The data files a loaded ``model`` read (its GET DIRECT/XLS functions' files,
    relative to its folder, and the ``--data`` files), for
    :func:`refuse_output_over_input`: they are the command's inputs as much as the files
    on its command line, but known only once the model is read."""
    return [Path(name) for name, _ in model.ir.data_files]


def model_path(name: Path) -> Path:
    """The model file a command was given: a path that exists, else a shipped model's name."""
    from gvcdyn.bundled import resolve_model

    return resolve_model(name)


def scenario_paths(names: list[Path] | None, model: Path) -> list[Path]:
    """The scenario files given: paths that exist, else names of the model's scenarios."""
    from gvcdyn.bundled import resolve_scenario

    return [resolve_scenario(name, model) for name in names or []]


DataOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--data",
        metavar="FILE",
        help="Output of another run (.tab/.csv) that the model's data variables read; "
        "repeatable, first match wins.",
    ),
]


@contextlib.contextmanager
def data_files(paths: list[Path] | None) -> Iterator[list[Path]]:
    """The ``--data`` files, checked to exist and made absolute (a path typed in a shell is
    relative to the working directory; the library reads relative names from the model's
    folder); a model that needs one and got none is told to pass it with ``--data``."""
    paths = list(paths or [])
    for path in paths:
        if not path.is_file():
            what = "a folder, not a file" if path.is_dir() else "file not found"
            raise DataFileNotFoundError(f"--data {path}: {what}")
    try:
        yield [path.resolve() for path in paths]
    except DataFileRequiredError as exc:  # the library's "how to pass it", in CLI words
        raise exc.advise("pass that file with --data FILE") from exc.__cause__
