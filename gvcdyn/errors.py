"""One root for every error gvcdyn raises on purpose.

Each subclass also inherits the matching builtin, so callers can catch either
``GvcdynError`` (anything we diagnosed) or the usual ``ValueError`` /
``FileNotFoundError`` / ``KeyError``. Messages name the thing that is wrong and
say what to do about it; the CLI prints them as one line.

Besides its message an error carries what a program may want to act on, as fields set
where it is raised: ``file`` (the file at fault), ``variable`` (the model variable or
parameter) and ``hint`` (what to do). Code that learns the file later (loading a model:
lowering knows the variable, not the file) tells the error with ``at(file=...)``; the
message itself (``args``) is never rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self


class GvcdynError(Exception):
    """Root of all errors raised deliberately by gvcdyn.

    ``GvcdynError(message, file=..., variable=..., hint=...)``; ``str()`` is the one line
    the CLI prints: ``file: message; hint`` (the file only when the message does not
    already name it). ``message`` is the text as raised.
    """

    file: str | None = None
    variable: str | None = None
    hint: str | None = None

    def __init__(
        self,
        *args: object,
        file: str | Path | None = None,
        variable: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(*args)
        if file is not None:
            self.file = str(file)
        if variable is not None:
            self.variable = variable
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        """The message as raised, without the file or the hint."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.describe()

    def describe(self, hint: str | None = None) -> str:
        """One line: the file (unless the message names it), the message, what to do
        (``hint`` instead of the error's own, for a caller that says it in its words)."""
        text = self.message
        hint = self.hint if hint is None else hint
        if hint:
            text = f"{text}; {hint}" if text else hint
        if self.file and Path(self.file).name not in text:
            text = f"{self.file}: {text or type(self).__name__}"
        return text

    def at(self, *, file: str | Path | None = None, variable: str | None = None) -> Self:
        """This error, told the file or variable it concerns where that becomes known
        (unless it already says): the same object, class, message, cause and traceback."""
        if file is not None and self.file is None:
            self.file = str(file)
        if variable is not None and self.variable is None:
            self.variable = variable
        return self

    def advise(self, hint: str) -> Self:
        """This error with ``hint`` as what to do (a caller that knows the user's way to
        act, e.g. the command line's option, says it in those words)."""
        self.hint = hint
        return self


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
        super().__init__(message, variable=variable or None)
        self.name = name
        self.suggestions = suggestions


class UnknownParameterError(GvcdynError, KeyError):
    """A parameter name that the model does not have (``str`` is GvcdynError's: KeyError's
    would quote the message)."""


class ParameterValueError(GvcdynError, ValueError):
    """A parameter value that is not a finite number, has the wrong shape, or is out of range."""


def structural_parameter_error(
    name: str,
    *,
    where: str = "",
    detail: str = "",
    change: str = "cannot change at run time",
    instead: str = "edit the model instead",
) -> ParameterValueError:
    """The one message for a value given to a structural parameter (the order of SMOOTH N
    or DELAY N, fixed when the kernel is generated): ``where`` the value was given,
    ``detail`` adds to what it is, ``change`` says what was asked of it, ``instead`` what
    to do (the hint)."""
    return ParameterValueError(
        f"{where}{': ' if where else ''}parameter '{name}' fixes the model's structure (an "
        f"order of SMOOTH N or DELAY N{detail}) and {change}",
        variable=name,
        hint=instead,
    )


class SimulationSettingsError(GvcdynError, ValueError):
    """Bad integration settings: method, time step, save period or final time."""


class ControlNotKnownError(SimulationSettingsError):
    """A simulation control reads a value known only once the run starts (a stock)."""


class UnknownVariableError(GvcdynError, KeyError):
    """A variable name (for output selection) that the model does not have."""


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


class CalibrationInfeasibleError(CalibrationConfigError):
    """A calibration step found no parameter set it could report: none of the candidates it
    tried (inside the bounds) satisfied every reality check of the config's ``checks``, or
    every candidate's runs failed. Raised instead of returning the failure sentinel as if
    it were a fit.

    ``failing``: ``(check, margin)`` of the checks that fail at the candidate tried that
    came closest (margin NaN: a run failed), the largest violations first; ``never_held``:
    ``(check, best margin)`` of the checks that held at none of the candidates tried;
    ``failed_cases``: the case ids whose runs failed there (when the runs are the problem);
    ``candidate``: that candidate, estimated parameter -> value; ``stage``: the step that
    found nothing ("fit", "profiles", "bootstrap", "posterior" or "crossval").

    A calibration with an output (``Execution(output=...)``, as the command line's) ends
    its checkpoints with the error (``calibrate.tasks.settle_checkpoints``): ``kept``, the
    folders of the finished steps a fit can still be written from (the step that failed
    was the posterior or the cross-validation), ``removed``, those deleted because no
    later run could use them; ``remedy``: what to do about the step itself, the hint
    before a note of what was kept or removed (a caller that says it in its own words
    starts from it).
    """

    stage: str = "fit"
    failing: tuple[tuple[str, float], ...] = ()
    never_held: tuple[tuple[str, float], ...] = ()
    failed_cases: tuple[str, ...] = ()
    candidate: dict[str, float] | None = None
    kept: tuple[Path, ...] = ()
    removed: tuple[Path, ...] = ()
    remedy: str | None = None


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

    ``how`` says how to pass the file where the model is loaded, the error's hint: the
    library's names ``gvcdyn.load(..., data_files=[...])``, the command line advises
    ``--data FILE``.
    """

    def __init__(self, variable: str, how: str = "gvcdyn.load(model, data_files=[...])"):
        self.how = how
        super().__init__(
            f"'{variable}' is a data variable without an equation: its values come from the "
            "output of another run",
            variable=variable,
            hint=f"pass that file with {how}",
        )

    def __reduce__(self) -> tuple:  # rebuilt from its variable, not from its message
        return (type(self), (self.variable, self.how), self.__dict__)


class KernelCacheError(GvcdynError, OSError):
    """The kernel cache folder cannot be trusted or used: another user's, or writable by
    others (who could plant code gvcdyn would run)."""


class RealityCheckError(GvcdynError, ValueError):
    """A reality-check file that is malformed: an unknown key, name, kind or time in a check."""


class ReportInputError(GvcdynError, ValueError):
    """A file ``gvcdyn report`` cannot report on: missing, not netCDF, or neither a
    calibration fit nor a sensitivity study."""
