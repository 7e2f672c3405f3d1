"""The ``gvcdyn`` command: thin typer commands over the library.

Each command parses its arguments, calls library functions (``gvcdyn.load``,
``gvcdyn.scenarios``, ``gvcdyn.results_io``, ``gvcdyn.plotting``, ``gvcdyn.reference``)
and prints or writes the result. Every error gvcdyn diagnoses (a ``GvcdynError``)
prints ONE line ``error: ...`` on stderr and exits with code 2, never a traceback;
``check`` exits 0 when the model agrees with its reference and 1 when it does not.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gvcdyn.compiler import is_compiled
from gvcdyn.errors import GvcdynError

app = typer.Typer(
    name="gvcdyn",
    help="Compile Vensim .mdl models to batched kernels and run what-if experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_ERROR = 2
EXIT_MISMATCH = 1
SUMMARY_ROWS = 30


def _console(stream: Any) -> Console:
    # Pipes and test captures get a wide table instead of rich's 80-column default.
    return Console(file=stream, width=None if stream.isatty() else 200, highlight=False)


out = _console(sys.stdout)
err = _console(sys.stderr)


class CheckError(GvcdynError, RuntimeError):
    """The comparison simulator (PySD) could not run the model."""


class Method(StrEnum):
    euler = "euler"
    rk4 = "rk4"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn diagnosed errors into ``error: <message>`` and exit code 2."""
    try:
        yield
    except GvcdynError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        raise typer.Exit(EXIT_ERROR) from None


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A file that cannot be written is the user's problem to fix, not a traceback."""
    try:
        yield
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        raise typer.Exit(EXIT_ERROR) from None


# --------------------------------------------------------------------------- helpers


def _load(path: Path) -> Any:
    import gvcdyn

    with err.status(f"reading {path}"):
        return gvcdyn.load(path)


def _run_batch(model: Any, params: Any, *, method: str, **settings: Any) -> Any:
    if is_compiled(model.source, method):
        message = f"loading the compiled {method} kernel and running"
    else:
        message = f"compiling {method} kernel (first use of this model, cached afterwards)"
    with err.status(message):
        return model.run(params, method=method, **settings)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _print_summary(ds: Any, variables: Sequence[str], title: str) -> None:
    from gvcdyn.results_io import final_values, units_of

    frame = final_values(ds, variables)
    table = Table(title=title, title_justify="left")
    table.add_column("scenario", style="bold")
    for column in frame.columns:
        units = units_of(ds, column)
        table.add_column(f"{column}\n[{units}]" if units else column, justify="right")
    status = ds["status"].values if "status" in ds else None
    shown = frame.iloc[:SUMMARY_ROWS]
    for i, (label, row) in enumerate(shown.iterrows()):
        mark = "" if status is None or status[i] == 0 else " (!)"
        table.add_row(f"{label}{mark}", *(_fmt(v) for v in row.to_numpy()))
    out.print(table)
    if len(frame) > SUMMARY_ROWS:
        out.print(f"... and {len(frame) - SUMMARY_ROWS} more runs (all are in the results file)")


def _report_status(ds: Any, model: Any) -> None:
    if "status" not in ds:
        return
    labels = ds["scenario"].values if "scenario" in ds.coords else ds["run"].values
    bad = [(str(labels[i]), int(code)) for i, code in enumerate(ds["status"].values) if code]
    for label, code in bad[:10]:
        err.print(f"warning: run {label!r}: {model.status_message(code)}")
    if len(bad) > 10:
        err.print(f"warning: {len(bad) - 10} more runs did not finish cleanly (see 'status')")


def _split_vars(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [v.strip() for v in text.split(",") if v.strip()]
    return names or None


def _what_if(
    model_path: Path,
    scenario_paths: Sequence[Path],
    sets: Sequence[str],
    sweeps: Sequence[str],
    *,
    method: str,
    final_time: float | None,
    time_step: float | None,
    variables: list[str] | None,
    allow_out_of_range: bool,
    out_path: Path | None,
    plot_path: Path | None,
    title: str,
) -> Any:
    """The shared body of ``run`` and ``demo``: validate, run one batch, report, write."""
    from gvcdyn.results_io import annotate, default_outcomes, write_netcdf
    from gvcdyn.scenarios import build_batch, read_scenario

    scenarios = [read_scenario(p) for p in scenario_paths]
    model = _load(model_path)
    batch = build_batch(model, scenarios, sets, sweeps, allow_out_of_range=allow_out_of_range)
    if variables is not None:
        for name in variables:  # fail before compiling, with the close names
            model.output_columns([name])
    ds = _run_batch(model, batch.params, method=method, final_time=final_time,
                    time_step=time_step, variables=variables,
                    allow_out_of_range=allow_out_of_range)
    ds = annotate(ds, batch, model, allow_out_of_range=allow_out_of_range)
    shown = variables if variables is not None else default_outcomes(ds)
    final = float(ds["time"].values[-1]) if ds.sizes["time"] else float("nan")
    _print_summary(ds, shown, f"{title}: final values at time {final:g}")
    _report_status(ds, model)
    if out_path is not None:
        with _writing(out_path):
            write_netcdf(ds, out_path)
        out.print(f"results: {out_path}")
    if plot_path is not None:
        from gvcdyn.plotting import plot_runs

        with _writing(plot_path):
            plot_runs(ds, shown, plot_path, title=title)
        out.print(f"plot:    {plot_path}")
    return ds


# --------------------------------------------------------------------------- commands


@app.command()
def run(
    model: Annotated[Path, typer.Argument(help="Vensim .mdl model file.")],
    scenario: Annotated[list[Path] | None, typer.Option(
        "--scenario", "-s", help="Scenario TOML file; repeat to run several side by side.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="NAME=VALUE for every run; repeatable.")] = None,
    sweep: Annotated[list[str] | None, typer.Option(
        "--sweep", help="NAME=START:STOP:N grid; repeat for a cartesian product.")] = None,
    method: Annotated[Method, typer.Option(help="Integration method.")] = Method.euler,
    final_time: Annotated[float | None, typer.Option(help="Override FINAL TIME.")] = None,
    time_step: Annotated[float | None, typer.Option(help="Override TIME STEP.")] = None,
    vars_: Annotated[str | None, typer.Option(
        "--vars", help="Comma-separated variables to save, summarise and plot "
                       "(default: all saved, main outcomes shown).")] = None,
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="Write the results as netCDF here (e.g. results/NAME.nc).")] = None,
    plot_path: Annotated[Path | None, typer.Option(
        "--plot", help="Write a PNG of the shown variables over time here.")] = None,
    allow_out_of_range: Annotated[bool, typer.Option(
        "--allow-out-of-range", help="Accept lever values outside their documented range.")
    ] = False,
) -> None:
    """Run one what-if, several scenarios side by side, or a grid sweep, in ONE batch.

    Examples (in models/: scenarios side by side; one lever set, files written; a
    5 x 3 grid sweep):

      gvcdyn run gvc_upgrading.mdl -s scenarios/captive.toml -s scenarios/no-shock.toml

      gvcdyn run gvc_upgrading.mdl --set "Shock Size=0.5" --out r.nc --plot r.png

      gvcdyn run gvc_upgrading.mdl --sweep "Buyer Support=0:1:5" --sweep "Shock Size=0:0.8:3"
    """
    with _one_line_errors():
        _what_if(model, scenario or [], set_ or [], sweep or [], method=method.value,
                 final_time=final_time, time_step=time_step, variables=_split_vars(vars_),
                 allow_out_of_range=allow_out_of_range, out_path=out_path,
                 plot_path=plot_path, title=model.stem)


@app.command()
def params(
    model: Annotated[Path, typer.Argument(help="Vensim .mdl model file.")],
    format_: Annotated[Format, typer.Option("--format", "-f", help="Output format.")
                       ] = Format.table,
) -> None:
    """List the model's levers and constants: name, default, range, units, documentation.

    Example:

      gvcdyn params models/gvc_upgrading.mdl

      gvcdyn params models/gvc_upgrading.mdl --format csv > levers.csv
    """
    with _one_line_errors():
        m = _load(model)
        frame = m.parameter_table()
    if format_ is Format.csv:
        frame.to_csv(sys.stdout, index=False)
        return
    if format_ is Format.json:
        records = [
            {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
        ]
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    table = Table(title=f"{m.name}: {len(frame)} constants", title_justify="left")
    for column, justify in [("name", "left"), ("default", "right"), ("range", "center"),
                            ("units", "left"), ("doc", "left")]:
        table.add_column(column, justify=justify,  # type: ignore[arg-type]
                         overflow="fold", ratio=3 if column == "doc" else None)
    for row in frame.itertuples(index=False):
        lo = "" if row.min is None or row.min != row.min else f"{row.min:g}"
        hi = "" if row.max is None or row.max != row.max else f"{row.max:g}"
        span = f"[{lo or '-inf'}, {hi or 'inf'}]" if (lo or hi) else ""
        table.add_row(str(row.name), f"{row.default:g}", span, str(row.units), str(row.doc))
    out.print(table)


def bundled_gvc() -> tuple[Path, list[Path]]:
    """The GVC model and its scenario files shipped with the source tree.

    They are found relative to the installed package (``<repo>/models`` beside
    ``<repo>/gvcdyn``), which is where ``pip install -e .`` leaves them, so ``demo``
    works from any directory.
    """
    from gvcdyn.errors import ModelFileNotFoundError
    from gvcdyn.scenarios import scenario_files

    root = Path(__file__).resolve().parents[1] / "models"
    model = root / "gvc_upgrading.mdl"
    if not model.is_file():
        raise ModelFileNotFoundError(
            f"the bundled GVC model is not at {model}; 'gvcdyn demo' needs the source tree "
            "(install with: pip install -e . from a clone of the repository)"
        )
    scenarios = scenario_files(root / "scenarios")
    if not scenarios:
        raise ModelFileNotFoundError(f"no scenario files (*.toml) in {root / 'scenarios'}")
    return model, scenarios


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option(help="Folder for demo.nc and demo.png.")] = Path(
        "results"),
    method: Annotated[Method, typer.Option(help="Integration method.")] = Method.euler,
) -> None:
    """Run the GVC model's standard scenarios; write results/demo.nc and results/demo.png.

    Example (from any directory, no arguments needed):

      gvcdyn demo
    """
    with _one_line_errors():
        model, scenarios = bundled_gvc()
        out.print(f"GVC upgrading model: {len(scenarios)} scenarios from "
                  f"{scenarios[0].parent}")
        _what_if(model, scenarios, [], [], method=method.value, final_time=None,
                 time_step=None, variables=None, allow_out_of_range=False,
                 out_path=out_dir / "demo.nc", plot_path=out_dir / "demo.png",
                 title="GVC upgrading scenarios")
        out.print("open the results with: python -c \"import xarray; "
                  f"print(xarray.open_dataset('{out_dir / 'demo.nc'}'))\"")


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


def check_model(model_path: Path, reference: Path | None = None, *, rtol: float = 1e-3,
                atol: float = 1e-6) -> Any:
    """Simulate a model with its own settings and compare with Vensim's output or PySD.

    Returns a ``gvcdyn.reference.Comparison``; the suite's rule is
    ``numpy.isclose(sim, ref, rtol, atol)`` at every reference time.
    """
    from gvcdyn.reference import compare, compare_frames, dataset_columns, read_reference

    ref = read_reference(reference) if reference is not None else None
    model = _load(model_path)
    ds = _run_batch(model, None, method="euler")
    time, columns = dataset_columns(ds)
    if ref is not None:
        return compare(columns, ref, time=time, rtol=rtol, atol=atol)
    with err.status("running PySD on a copy of the model for the comparison"):
        frame = pysd_reference(model_path)
    return compare_frames(columns, frame, time=time, rtol=rtol, atol=atol)


@app.command()
def check(
    model: Annotated[Path, typer.Argument(help="Vensim .mdl model file.")],
    reference: Annotated[Path | None, typer.Option(
        help="Vensim output (.tab or .csv); default: compare with a PySD run.")] = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-3,
    atol: Annotated[float, typer.Option(help="Absolute tolerance.")] = 1e-6,
) -> None:
    """Simulate MODEL and compare with a Vensim reference or PySD; exit 0 if they agree, 1 if not.

    Example:

      gvcdyn check SIR/SIR.mdl --reference SIR/output.csv

      gvcdyn check models/gvc_upgrading.mdl
    """
    with _one_line_errors():
        comparison = check_model(model, reference, rtol=rtol, atol=atol)
    against = str(reference) if reference is not None else "PySD (same model, Euler)"
    table = Table(title=f"{model.name} vs {against}", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("verdict", "[green]PASS[/green]" if comparison.passed else "[red]FAIL[/red]")
    table.add_row("compared", f"{comparison.n_compared_columns} columns, "
                              f"{comparison.n_compared_values} values "
                              f"(rtol={rtol:g}, atol={atol:g})")
    if comparison.worst_variable is not None:
        kind = "worst excess over tolerance" if not comparison.passed else \
            "largest relative error"
        table.add_row("worst variable", str(comparison.worst_variable))
        table.add_row("at time", f"{comparison.worst_time:g}")
        table.add_row("simulated / reference",
                      f"{comparison.worst_simulated:.6g} / {comparison.worst_reference:.6g}")
        table.add_row(kind, f"{comparison.worst_error:.3g}")
    out.print(table)
    out.print(comparison.summary(), soft_wrap=True)
    raise typer.Exit(0 if comparison.passed else EXIT_MISMATCH)


def main() -> None:
    """Console-script entry point (``gvcdyn``)."""
    app()


if __name__ == "__main__":
    main()
