"""External data: data variables and GET XLS/DIRECT DATA, CONSTANTS, LOOKUPS and SUBSCRIPT.

The files are read once, at load time, with PySD's own readers (``ExtData``,
``ExtLookup``, ``ExtConstant``, ``ExtSubscript`` and ``TabData`` of
``pysd.py_backend``), which already handle the quirks of Excel and CSV files: cell
ranges by name, ``*`` for transposed reads, trailing and missing values (filled with the
variable's interpolation, as Vensim does). Their values reach the kernel as

- constants: the defaults of ordinary parameters (so a run can still set them);
- lookups: lookup tables, like a table written in the model;
- data: a table of time against value, read at ``time`` with the variable's keyword
  (``interpolate``, ``hold_backward``, ``look_forward``, ``raw``), as PySD's ``Data``.

Each file is hashed (SHA-256) as it is read; the hashes go into the IR
(``ModelIR.data_files``), into the kernel source (so into the kernel cache key) and into
result provenance.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures.abstract_model import AbstractUnchangeableConstant

from gvcdyn.errors import DataFileNotFoundError, DataFileRequiredError, ExternalDataError
from gvcdyn.language import ir
from gvcdyn.language.lower.elements import ModelVariable, parameter
from gvcdyn.language.schedule import ModelParts
from gvcdyn.language.subscripts import SubscriptCatalog, name_key
from gvcdyn.runtime import DATA_MODE_CODES

__all__ = ["EXTERNAL_NODES", "ExternalData", "is_external"]

EXTERNAL_NODES = (
    ae.DataStructure,
    ae.GetDataStructure,
    ae.GetLookupsStructure,
    ae.GetConstantsStructure,
)
DATA_MODES = tuple(DATA_MODE_CODES)  # interpolate, hold_backward, look_forward, raw
RUN_OUTPUT_SUFFIXES = (".tab", ".csv", ".nc")  # what PySD's TabData reads


def is_external(node: Any) -> bool:
    """Whether an equation's AST takes its values from a file."""
    return isinstance(node, EXTERNAL_NODES)


@dataclass
class _Table:
    """What one component read: ``values[..., *cell position]``, ``series`` for data/lookups."""

    values: np.ndarray
    series: np.ndarray | None = None


@dataclass
class ExternalData:
    """The external data of one model: where files are, what was read, and their hashes.

    ``root`` is the model's folder (file names in GET functions are relative to it);
    ``data_files`` are the outputs of other runs that data variables without an equation
    are read from, in order of preference (PySD's ``data_files``).
    """

    root: Path
    data_files: tuple[Path, ...] = ()
    hashes: dict[str, str] = field(default_factory=dict)  # resolved path -> sha256
    _read: dict[int, _Table] = field(default_factory=dict)  # by id(component)

    # ------------------------------------------------------------------ subscripts
    def resolve_ranges(self, ranges: list[Any]) -> list[Any]:
        """Subscript ranges with every GET XLS/DIRECT SUBSCRIPT replaced by its elements.

        PySD's reader (and with it pandas, xarray and openpyxl) is imported only for a
        model that has such a range (``gvcdyn.language.pysd_package``).
        """
        resolved = []
        for rng in ranges:
            spec = rng.subscripts
            if not isinstance(spec, dict):
                resolved.append(rng)
                continue
            from pysd.py_backend.external import ExtSubscript

            what = f"subscript range '{rng.name}'"
            self._hash(spec["file"], what)
            elements = self._pysd(
                what,
                spec,
                lambda spec=spec: (
                    ExtSubscript(
                        spec["file"],
                        spec["tab"],
                        spec["firstcell"],
                        spec["lastcell"],
                        spec["prefix"],
                        self.root,
                    ).subscript
                ),
            )
            if not elements:
                raise ExternalDataError(
                    f"{what}: no elements in {spec['file']}, sheet '{spec['tab']}', "
                    f"cells {spec['firstcell']}:{spec['lastcell']}"
                )
            resolved.append(replace(rng, subscripts=list(elements)))
        return resolved

    # ------------------------------------------------------------------ cells
    def lower_cell(
        self,
        parts: ModelParts,
        catalog: SubscriptCatalog,
        var: ModelVariable,
        component: Any,
        symbol: str,
        position: tuple[int, ...],
    ) -> None:
        """Add what one cell of an external component becomes to ``parts``."""
        ast = component.ast
        table = self._table(catalog, var, component)
        column = (Ellipsis, *position)
        if isinstance(ast, ae.GetConstantsStructure):
            value = float(np.asarray(table.values)[position] if position else table.values)
            if isinstance(component, AbstractUnchangeableConstant):
                parts.fixed[symbol] = value
                parts.equations[symbol] = ir.Num(value)
            else:
                parts.parameters.append(parameter(var, symbol, value, len(parts.parameters)))
            return
        assert table.series is not None
        xs = tuple(float(x) for x in table.series)
        ys = tuple(float(y) for y in np.asarray(table.values)[column])
        if isinstance(ast, ae.GetLookupsStructure):
            parts.lookups[symbol] = ir.Lookup(symbol, xs, ys)
            return
        mode = _data_mode(component, var)
        name = f"{symbol}~data"
        parts.lookups[name] = ir.Lookup(name, xs, ys, mode)
        parts.equations[symbol] = ir.LookupCall(name, ir.TIME)

    def provenance(self) -> tuple[tuple[str, str], ...]:
        """``(file, sha256)`` of every file read, sorted by file."""
        return tuple(sorted(self.hashes.items()))

    # ------------------------------------------------------------------ reading
    def _table(self, catalog: SubscriptCatalog, var: ModelVariable, component: Any) -> _Table:
        cached = self._read.get(id(component))
        if cached is None:
            cached = self._read_component(catalog, var, component)
            self._read[id(component)] = cached
        return cached

    def _read_component(
        self, catalog: SubscriptCatalog, var: ModelVariable, component: Any
    ) -> _Table:
        from pysd.py_backend import external as pysd_external

        ast = component.ast
        lhs = component.subscripts[0]
        # PySD only needs the shape and the order of the dimensions: positional keys avoid
        # clashes when a variable repeats a range (x[dim, dim])
        coords = {f"dim{i}": list(catalog.members(sub)) for i, sub in enumerate(lhs)}
        py_name = name_key(var.name)
        if isinstance(ast, ae.DataStructure):
            return self._read_tab_data(var, component, coords)
        what = f"'{var.name}'"
        self._hash(ast.file, what)
        if isinstance(ast, ae.GetConstantsStructure):

            def read() -> _Table:
                reader = pysd_external.ExtConstant(
                    ast.file, ast.tab, ast.cell, coords, self.root, coords, py_name
                )
                reader.initialize()
                return _Table(np.asarray(_values(reader.data), dtype=float))

        elif isinstance(ast, ae.GetLookupsStructure):

            def read() -> _Table:
                reader = pysd_external.ExtLookup(
                    ast.file, ast.tab, ast.x_row_or_col, ast.cell, coords, self.root, coords,
                    py_name,
                )  # fmt: skip
                reader.initialize()
                return _Table(_values(reader.data), reader.data["lookup_dim"].values)

        else:

            def read() -> _Table:
                reader = pysd_external.ExtData(
                    ast.file, ast.tab, ast.time_row_or_col, ast.cell,
                    _data_mode(component, var), coords, self.root, coords, py_name,
                )  # fmt: skip
                reader.initialize()
                return _Table(_values(reader.data), reader.data["time"].values)

        spec = {"file": ast.file, "tab": ast.tab, "cell": ast.cell}
        return self._pysd(what, spec, read)

    def _read_tab_data(self, var: ModelVariable, component: Any, coords: dict) -> _Table:
        """A data variable without an equation: its column(s) in another run's output."""
        from pysd.py_backend.data import Columns, TabData

        if not self.data_files:
            raise DataFileRequiredError(var.name)
        for path in self.data_files:
            if not path.is_file():
                raise DataFileNotFoundError(
                    f"data file not found: {path} (needed for data variable '{var.name}')"
                )
            if path.suffix.lower() not in RUN_OUTPUT_SUFFIXES:
                raise ExternalDataError(
                    f"data file {path} (for data variable '{var.name}'): gvcdyn reads other "
                    f"runs' outputs as {', '.join(RUN_OUTPUT_SUFFIXES)}; export a Vensim "
                    ".vdf run as .tab or .csv"
                )
            self._hash(str(path), f"'{var.name}'")
        names = [str(p) for p in self.data_files]
        reader = TabData(var.name, name_key(var.name), coords, _data_mode(component, var))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader.load_data(list(self.data_files))
        except Exception as exc:  # PySD: ValueError for a variable in none of the files
            for path in self.data_files:
                if _is_results_file(path):
                    raise ExternalDataError(
                        f"data file {path} (for data variable '{var.name}') is a gvcdyn "
                        "results file (dimensions run and time), which data variables "
                        "cannot read (PySD's reader takes its own .nc); write the run as a "
                        "table instead (gvcdyn run ... -o run.csv, one run) and pass that"
                    ) from exc
            raise ExternalDataError(
                f"data variable '{var.name}': no column for it in {', '.join(names)}"
            ) from exc
        finally:
            Columns.clean()
        data = reader.data
        return _Table(_values(data), data["time"].values)

    def _pysd(self, what: str, spec: dict, read: Any) -> Any:
        """Run one of PySD's readers; its errors become one line naming file, sheet, cell."""
        from pysd.py_backend.external import Excels

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return read()
        except (DataFileNotFoundError, ExternalDataError):
            raise
        except Exception as exc:
            lines = str(exc).splitlines()
            if len(lines) > 1 and " " not in lines[0].strip():
                lines = lines[1:]  # PySD's messages start with the object's Python name
            detail = " ".join(" ".join(lines).split()) or type(exc).__name__
            where = ", ".join(
                f"{'sheet' if k == 'tab' else k} '{v}'" for k, v in spec.items() if k != "file"
            )
            raise ExternalDataError(
                f"{what}: cannot read {spec['file']} ({where}): {detail[:300]}"
            ) from exc
        finally:
            Excels.clean()  # PySD caches workbooks per process: a changed file is re-read

    def _hash(self, file: str, what: str) -> None:
        """Check a file exists (relative to the model) and record its SHA-256."""
        if file.startswith("?"):
            raise ExternalDataError(
                f"{what} reads the indirect file reference '{file}', which gvcdyn "
                "does not support; name the file itself"
            )
        path = (self.root / file).resolve()
        if not path.is_file():
            raise DataFileNotFoundError(
                f"data file not found: {path} (read by {what}; file names in GET functions "
                "are relative to the model's folder)"
            )
        key = str(path)
        if key not in self.hashes:
            self.hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()


def _is_results_file(path: Path) -> bool:
    """Whether ``path`` is a netCDF file of gvcdyn's results (a ``run`` dimension), not
    the PySD output (``time`` and the variables' own dimensions) that PySD reads."""
    if path.suffix.lower() != ".nc":
        return False
    import xarray as xr  # only on this error path

    try:
        with xr.open_dataset(path) as ds:
            return "run" in ds.dims
    except Exception:  # not readable as netCDF: the general message stands
        return False


def _values(data: Any) -> np.ndarray:
    """The numbers of PySD's result (an ``xarray.DataArray`` or a float)."""
    return np.asarray(getattr(data, "values", data), dtype=float)


def _data_mode(component: Any, var: ModelVariable) -> str:
    keyword = (getattr(component, "keyword", None) or "interpolate").replace(" ", "_").lower()
    if keyword not in DATA_MODES:
        raise ExternalDataError(
            f"data variable '{var.name}': unknown keyword '{keyword}' "
            f"(expected one of {', '.join(DATA_MODES)})"
        )
    return keyword
