"""Per-run status codes written by the kernel, so one bad run never sinks a batch."""

from __future__ import annotations

OK = 0
NONFINITE_OUTPUT = 1  # some saved value was NaN or infinite; the run went on
NONFINITE_STATE = 2  # a stock became NaN or infinite; the run stopped there
NONFINITE_FINAL_TIME = 3  # a FINAL TIME computed in the run was NaN or infinite; it stopped
STEP_FAILED = 4  # an adaptive-step method could not meet its tolerance; the run stopped there

MESSAGES = {
    OK: "ok",
    NONFINITE_OUTPUT: "non-finite output value (NaN or infinity in a saved variable)",
    NONFINITE_STATE: "non-finite stock value: the run stopped; later times are NaN",
    NONFINITE_FINAL_TIME: "FINAL TIME was NaN or infinite in the run: it stopped there; "
    "later times are NaN",
    STEP_FAILED: "the adaptive step could not meet its tolerance (the step fell below its "
    "minimum or the run took too many steps): the run stopped there; later times are NaN",
}


def describe(code: int) -> str:
    """Human-readable meaning of a status code."""
    return MESSAGES.get(int(code), f"unknown status {code}")
