"""Output file names: the extension says the format, and a bad path is refused before any work.

One rule for every file a command writes (``--out``, ``--plot``): an extension gvcdyn
does not write is refused naming the ones it does, and a path that cannot become a file
(one of its parent folders is a file) is refused naming that file. Both are checked
before a run that may take minutes, and cost no import of numpy, xarray or matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gvcdyn.errors import GvcdynError, OutputWriteError, PlotFormatError

__all__ = ["PLOT_FORMATS", "RUN_FORMATS", "check_format", "check_parents", "check_plot_path"]

#: picture formats by extension (matplotlib's format names)
PLOT_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".svg": "svg"}

#: formats of a run's results by extension: netCDF (everything, with provenance), or a
#: text table in Vensim's export layout, comma- or tab-separated (``gvcdyn.io.run_tables``)
RUN_FORMATS = {".nc": "netcdf", ".csv": "csv", ".tab": "tab"}


def check_format(
    path: str | Path,
    formats: Mapping[str, str],
    *,
    what: str,
    example: str,
    error: type[GvcdynError] = OutputWriteError,
) -> str:
    """The format ``path``'s extension names in ``formats``; ``error`` if it names none.

    ``what`` is what the file holds ("a plot"), ``example`` a good file name ("plot.png").
    """
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        known = " ".join(sorted(formats))
        raise error(
            f"cannot write {what} to {path}: the extension {suffix or '(none)'!r} is not "
            f"one of {known}; name the file e.g. {example}"
        )
    return formats[suffix]


def check_plot_path(path: str | Path) -> str:
    """The matplotlib format for a plot file; ``PlotFormatError`` if its extension is none."""
    return check_format(
        path, PLOT_FORMATS, what="a plot", example="plot.png", error=PlotFormatError
    )


def check_parents(path: str | Path) -> None:
    """``OutputWriteError`` naming the file if one of ``path``'s parents is a file (the
    operating system says only "File exists" or "Not a directory")."""
    path = Path(path)
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise OutputWriteError(
                f"cannot write {path}: {parent} is a file, not a folder; give a path in a folder"
            )
