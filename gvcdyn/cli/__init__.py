"""The ``gvcdyn`` command: thin typer commands over the library.

Each command module parses its arguments, calls library functions and prints or writes
the result. Errors are turned into output in ONE place, :func:`main`: every error gvcdyn
diagnoses (a ``GvcdynError``) and every usage error click detects (unknown option, bad
value, missing argument) prints one line ``error: ...`` on stderr and exits with code 2,
never a traceback or a box. ``check`` exits 0 when the model agrees with its reference
and 1 when it does not.

How to add a command module (e.g. ``gvcdyn/cli/calibrate.py``):
  1. in the module, define ``def register(app: typer.Typer) -> None`` that adds its
     commands with ``app.command()(function)``; raise ``GvcdynError`` subclasses for bad
     input and let them propagate (``main`` prints them);
  2. add ONE line below, ``calibrate.register(app)``, next to the others (and the import).

Command modules import the library (numba, PySD, xarray, dask: about a second) inside the
command's function: the CLI imports the library when a command runs, so ``--help``,
``--version`` and a mistyped option cost well under a second.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from gvcdyn.cli import calibrate, check, models, params, reality, report, sensitivity, whatif
from gvcdyn.errors import GvcdynError

try:  # typer >= 0.2x parses with its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # older typer parses with click itself
    from click import exceptions as click_exceptions

app = typer.Typer(
    name="gvcdyn",
    help="Compile Vensim .mdl models to batched kernels and run what-if experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from gvcdyn._version import __version__

        print(f"gvcdyn {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Compile Vensim .mdl models to batched kernels and run what-if experiments."""


whatif.register(app)
params.register(app)
check.register(app)
calibrate.register(app)
sensitivity.register(app)
models.register(app)
reality.register(app)
report.register(app)


def _reflowed(doc: str) -> str:
    """A command's docstring as help text that the terminal wraps: typer's rich mode keeps
    every line break written in a docstring, so a paragraph wrapped for the source at 100
    columns breaks mid-sentence at 80. Prose paragraphs become one line each; indented
    ones (example command lines) keep their breaks."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(
        p if any(line[:1].isspace() for line in p.splitlines()) else " ".join(p.split())
        for p in paragraphs
    )


for _command in app.registered_commands:  # one place for every command's help text
    _doc = _command.help or inspect.getdoc(_command.callback)
    if _doc:
        _command.help = _reflowed(_doc)

EXIT_ERROR = 2


def _one_line(text: str) -> str:
    # typer validates values with pydantic, whose messages start with its own category.
    return " ".join(text.replace("Value error, ", "").split())


_VALIDATION_WORDING = re.compile(r"Input should be (?:a )?valid (\w+)[^.]*")


def _given_value(argv: Sequence[str], opts: Sequence[str]) -> str | None:
    """The value the user typed for an option (``--x v`` or ``--x=v``), if it can be found."""
    for i, token in enumerate(argv):
        if token in opts and i + 1 < len(argv):
            return argv[i + 1]
        for opt in opts:
            if token.startswith(f"{opt}="):
                return token[len(opt) + 1 :]
    return None


def _usage_message(exc: Exception, argv: Sequence[str]) -> str:
    """click's message, with the validation library's wording replaced by the typed value."""
    message = _one_line(exc.format_message())  # type: ignore[attr-defined]
    match = _VALIDATION_WORDING.search(message)
    param = getattr(exc, "param", None)
    value = _given_value(argv, getattr(param, "opts", ())) if param is not None else None
    if match and value is not None:
        kind = {"int": "whole number", "integer": "whole number", "float": "number"}.get(
            match.group(1), match.group(1)
        )
        message = message.replace(match.group(0), f"{value!r} is not a {kind}")
    return message


def _without_flag_placeholders(command: Any) -> Any:
    """The click command with no value placeholder shown for flags: typer's help shows
    ``<bool>`` beside ``--resume`` or ``--help``, which take no value."""

    def clean(option: Any) -> Any:
        if option is not None and getattr(option, "is_flag", False):
            option.metavar = ""
        return option

    def visit(cmd: Any) -> None:
        for param in cmd.params:
            clean(param)
        original = cmd.get_help_option
        cmd.get_help_option = lambda ctx: clean(original(ctx))
        for sub in getattr(cmd, "commands", {}).values():
            visit(sub)

    visit(command)
    return command


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``gvcdyn``): the one place errors become output."""
    warnings.showwarning = _show_warning
    sys.exit(run_cli(argv))


_PACKAGE = Path(__file__).resolve().parents[1]
_python_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A warning gvcdyn raises, as the commands print theirs: one line ``warning: ...``,
    not Python's ``path/to/gvcdyn/module.py:534: UserWarning:`` and the source line
    (a resumed job's altered chunk said so from deep inside the checkpoint code). A
    category other than UserWarning keeps its name in that line (``warning:
    RuntimeWarning: invalid value encountered in divide``: numpy's, attributed to the
    gvcdyn line that divided, is not gvcdyn's own notice). Warnings of other libraries
    (files outside the gvcdyn folder, by path component: not a sibling ``gvcdyn_x/``)
    keep Python's form, which says where they come from."""
    if not Path(filename).resolve().is_relative_to(_PACKAGE):
        _python_showwarning(message, category, filename, lineno, file, line)
        return
    kind = "" if category is UserWarning else f"{category.__name__}: "
    stream = sys.stderr if file is None else file
    with contextlib.suppress(OSError):  # stderr gone (a closed pipe): as Python's own
        print(f"warning: {kind}{_one_line(str(message))}", file=stream)


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    try:
        command = _without_flag_placeholders(typer.main.get_command(app))
        code = command(
            args=None if argv is None else list(argv), prog_name="gvcdyn", standalone_mode=False
        )
    except click_exceptions.NoArgsIsHelpError as exc:  # bare ``gvcdyn``: show the help
        text = exc.format_message().strip()
        if text:  # typer may have printed the help already
            print(text, file=sys.stderr)
        return EXIT_ERROR
    except click_exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "gvcdyn"
        given = list(sys.argv[1:] if argv is None else argv)
        print(f"error: {_usage_message(exc, given)} (see '{where} --help')", file=sys.stderr)
        return EXIT_ERROR
    except click_exceptions.ClickException as exc:
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)
        return exc.exit_code
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 1
    except GvcdynError as exc:
        print(f"error: {_one_line(str(exc)) or type(exc).__name__}", file=sys.stderr)
        return EXIT_ERROR
    return code if isinstance(code, int) else 0


__all__ = ["app", "main", "run_cli"]
