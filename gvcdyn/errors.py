"""One root for every error gvcdyn raises on purpose.

Each subclass also inherits the matching builtin, so callers can catch either
``GvcdynError`` (anything we diagnosed) or the usual ``ValueError`` /
``FileNotFoundError`` / ``KeyError``. Messages name the thing that is wrong and
say what to do about it; the CLI prints them as one line.
"""

from __future__ import annotations


class GvcdynError(Exception):
    """Root of all errors raised deliberately by gvcdyn."""


class ModelFileNotFoundError(GvcdynError, FileNotFoundError):
    """A model file (or a file it needs) does not exist."""


class ModelParseError(GvcdynError, ValueError):
    """The .mdl file could not be read or translated."""


class UnsupportedFeatureError(GvcdynError, ValueError):
    """The model uses a Vensim function or construct the compiled core does not support."""


class ModelStructureError(GvcdynError, ValueError):
    """The model is readable but ill-formed: undefined names, algebraic loops, bad shapes."""


class UndefinedNameError(ModelStructureError):
    """An equation uses a name the model does not define.

    ``variable``: the Vensim name of the variable whose equation it is; ``name``: the
    name as written there; ``suggestions``: the closest names the model defines.
    """

    def __init__(
        self, message: str, variable: str = "", name: str = "", suggestions: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.variable = variable
        self.name = name
        self.suggestions = suggestions


class UnknownParameterError(GvcdynError, KeyError):
    """A parameter name that the model does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParameterValueError(GvcdynError, ValueError):
    """A parameter value that is not a finite number, has the wrong shape, or is out of range."""


def structural_parameter_error(
    name: str, *, detail: str = "", change: str = "cannot change at run time", instead: str = ""
) -> ParameterValueError:
    """The one message for a value given to a structural parameter (the order of SMOOTH N
    or DELAY N, fixed when the kernel is generated): ``detail`` adds to what it is,
    ``change`` says what was asked of it, ``instead`` what to do."""
    return ParameterValueError(
        f"parameter '{name}' fixes the model's structure (an order of SMOOTH N or DELAY N"
        f"{detail}) and {change}; {instead or 'edit the model instead'}"
    )


class SimulationSettingsError(GvcdynError, ValueError):
    """Bad integration settings: method, time step, save period or final time."""


class ControlNotKnownError(SimulationSettingsError):
    """A simulation control reads a value known only once the run starts (a stock)."""


class UnknownVariableError(GvcdynError, KeyError):
    """A variable name (for output selection) that the model does not have."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class OutputWriteError(GvcdynError, OSError):
    """A results file or plot could not be written (missing folder, no permission)."""


class CheckError(GvcdynError, RuntimeError):
    """The comparison simulator (PySD) could not run the model."""


class SensitivityDesignError(GvcdynError, ValueError):
    """A sensitivity design that cannot be analysed: wrong sample size, bad ranges or levers."""


class MemoryLimitError(GvcdynError, MemoryError):
    """A job whose arrays would exceed the memory limit (``gvcdyn.limits``), refused before
    anything is allocated."""


class OutcomeError(GvcdynError, ValueError):
    """An outcome definition that cannot be read from the model's results."""


class ExecutorError(GvcdynError, RuntimeError):
    """An executor could not be set up: a bad option or an unreachable dask scheduler."""


class CheckpointError(GvcdynError, ValueError):
    """A job's checkpoint folder cannot be used: it belongs to another job, or is unreadable."""


class JobInterrupted(GvcdynError, KeyboardInterrupt):
    """A chunked job stopped on Ctrl-C; finished chunks are kept and the message says how to
    resume. It is a ``KeyboardInterrupt`` too, so code that lets Ctrl-C through keeps doing so.
    """


class CaseDataError(GvcdynError, ValueError):
    """A case table that cannot be used: a missing column, a bad year, an unmapped value."""


class CaseMappingError(GvcdynError, ValueError):
    """A case -> lever mapping file that is malformed or names an unknown lever."""


class CalibrationConfigError(GvcdynError, ValueError):
    """A calibration config (or a fit file) that is malformed or inconsistent."""


class ScenarioFileError(GvcdynError, FileNotFoundError):
    """A scenario file named on the command line does not exist."""


class ScenarioFormatError(GvcdynError, ValueError):
    """A scenario file exists but is not valid TOML or not in the scenario layout."""


class SpecSyntaxError(GvcdynError, ValueError):
    """A ``--set`` or ``--sweep`` argument that does not follow its syntax (or repeats a lever)."""


class ReferenceFileError(GvcdynError, FileNotFoundError):
    """The reference output file (Vensim ``.tab``/``.csv``) does not exist."""


class ReferenceFormatError(GvcdynError, ValueError):
    """The reference output file exists but cannot be read as a Vensim export."""


class ComparisonInputError(GvcdynError, ValueError):
    """The simulated data handed to ``reference.compare`` is inconsistent (lengths, names)."""


class PlotFormatError(GvcdynError, ValueError):
    """A plot file name whose extension is not an image format gvcdyn writes."""


class DataFileNotFoundError(GvcdynError, FileNotFoundError):
    """A data file a model reads (GET XLS/DIRECT ..., a data variable's run output) is missing."""


class ExternalDataError(GvcdynError, ValueError):
    """A data file exists but the sheet, cell range or column a variable reads is not in it."""


class TranslatorIncompatibleError(GvcdynError, RuntimeError):
    """The installed PySD translator lacks the internals gvcdyn hooks into (see the pin)."""


class DataFileRequiredError(ExternalDataError):
    """A model has a data variable (values from another run's output) and no file was given.

    ``how`` says how to pass the file where the model is loaded: the library's message names
    ``gvcdyn.load(..., data_files=[...])``, the command line's names ``--data FILE``.
    """

    def __init__(self, variable: str, how: str = "gvcdyn.load(model, data_files=[...])"):
        self.variable = variable
        self.how = how
        super().__init__(
            f"'{variable}' is a data variable without an equation: its values come from the "
            f"output of another run; pass that file with {how}"
        )


class KernelCacheError(GvcdynError, OSError):
    """The kernel cache folder cannot be trusted or used: another user's, or writable by
    others (who could plant code gvcdyn would run)."""


class RealityCheckError(GvcdynError, ValueError):
    """A reality-check file that is malformed: an unknown key, name, kind or time in a check."""


class ReportInputError(GvcdynError, ValueError):
    """A file ``gvcdyn report`` cannot report on: missing, not netCDF, or neither a
    calibration fit nor a sensitivity study."""
