"""``gvcdyn check``: compare a model's simulation with a Vensim output or with PySD."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gvcdyn.cli.common import err, load, out, run_batch
from gvcdyn.errors import CheckError

EXIT_MISMATCH = 1


def pysd_reference(model_path: Path) -> Any:
    """Run PySD on a copy of the model in a temporary folder and return its output frame.

    A copy, because ``pysd.read_vensim`` writes a ``.py`` file next to the ``.mdl`` and
    must never write into the user's (or a shared, read-only) folder.
    """
    from gvcdyn.errors import ModelFileNotFoundError

    if not model_path.is_file():
        raise ModelFileNotFoundError(f"model file not found: {model_path}")
    import pysd

    with tempfile.TemporaryDirectory(prefix="gvcdyn_check_") as tmp:
        copy = Path(tmp) / model_path.name
        shutil.copy(model_path, copy)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return pysd.read_vensim(str(copy)).run()
        except Exception as exc:  # PySD raises many kinds; report, do not crash
            detail = " ".join(str(exc).split())[:300]
            raise CheckError(
                f"PySD could not run {model_path} for the comparison: "
                f"{type(exc).__name__}: {detail}; give a Vensim output with --reference"
            ) from exc


def check_model(
    model_path: Path, reference: Path | None = None, *, rtol: float = 1e-3, atol: float = 1e-6
) -> Any:
    """Simulate a model with its own settings and compare with Vensim's output or PySD.

    Returns a ``gvcdyn.reference.Comparison``; the suite's rule is
    ``numpy.isclose(sim, ref, rtol, atol)`` at every reference time.
    """
    from gvcdyn.reference import compare, compare_frames, dataset_columns, read_reference

    ref = read_reference(reference) if reference is not None else None
    model = load(model_path)
    ds = run_batch(model, None, method="euler")
    time, columns = dataset_columns(ds)
    if ref is not None:
        return compare(columns, ref, time=time, rtol=rtol, atol=atol)
    with err.status("running PySD on a copy of the model for the comparison"):
        frame = pysd_reference(model_path)
    return compare_frames(columns, frame, time=time, rtol=rtol, atol=atol)


def check(
    model: Annotated[Path, typer.Argument(help="Vensim .mdl model file.")],
    reference: Annotated[
        Path | None,
        typer.Option(help="Vensim output (.tab or .csv); default: compare with a PySD run."),
    ] = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-3,
    atol: Annotated[float, typer.Option(help="Absolute tolerance.")] = 1e-6,
) -> None:
    """Simulate MODEL and compare with a Vensim reference or PySD; exit 0 if they agree, 1 if not.

    Example:

      gvcdyn check SIR/SIR.mdl --reference SIR/output.csv

      gvcdyn check models/gvc_upgrading.mdl
    """
    comparison = check_model(model, reference, rtol=rtol, atol=atol)
    against = str(reference) if reference is not None else "PySD (same model, Euler)"
    table = Table(title=f"{model.name} vs {against}", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("verdict", "[green]PASS[/green]" if comparison.passed else "[red]FAIL[/red]")
    table.add_row(
        "compared",
        f"{comparison.n_compared_columns} columns, "
        f"{comparison.n_compared_values} values "
        f"(rtol={rtol:g}, atol={atol:g})",
    )
    if comparison.worst_variable is not None:
        kind = "worst excess over tolerance" if not comparison.passed else "largest relative error"
        table.add_row("worst variable", str(comparison.worst_variable))
        table.add_row("at time", f"{comparison.worst_time:g}")
        table.add_row(
            "simulated / reference",
            f"{comparison.worst_simulated:.6g} / {comparison.worst_reference:.6g}",
        )
        table.add_row(kind, f"{comparison.worst_error:.3g}")
    out.print(table)
    out.print(comparison.summary(), soft_wrap=True)
    raise typer.Exit(0 if comparison.passed else EXIT_MISMATCH)


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ``gvcdyn`` command."""
    app.command()(check)
