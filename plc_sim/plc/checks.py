"""How the PLC refuses an input: the reason codes, the exception, and the one check of a
number, a text and a value's type that every setpoint and command argument goes through.

A range check written `v < lo or v > hi` lets NaN through (every comparison with NaN is
false), so numbers are checked finite first; text is bounded before anything parses it, and
what a refusal repeats of an input is clipped so that a huge value cannot flood the audit
log or the events.
"""

from __future__ import annotations

import enum
import math
from typing import Any

from plc_sim.model.vocab import DataType

MAX_TEXT_CHARS = 8192
"""The longest text a setpoint or command argument takes (a maintenance plan of a few
hundred windows fits)."""

ECHO_CHARS = 200
"""How much of an input a refusal message or an audit record repeats."""

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "Double": (float, int), "Int32": (int,), "Boolean": (bool,), "String": (str,),
}


class Refusal(enum.Enum):
    """Why a write or command was refused (the server maps these to status codes)."""

    ACCESS_DENIED = "BadUserAccessDenied"
    NOT_WRITABLE = "BadNotWritable"
    TYPE_MISMATCH = "BadTypeMismatch"
    OUT_OF_RANGE = "BadOutOfRange"
    INVALID_STATE = "BadInvalidState"
    NOT_FOUND = "BadNodeIdUnknown"
    ARGUMENTS_MISSING = "BadArgumentsMissing"
    TOO_MANY_ARGUMENTS = "BadTooManyArguments"
    INVALID_ARGUMENT = "BadInvalidArgument"
    FAILED = "BadInternalError"


class Rejected(Exception):  # noqa: N818 (a refusal, not an error; the name is used by every part)
    """A write or command refused, with the reason code and a message for the operator."""

    def __init__(self, refusal: Refusal, message: str, argument: str | None = None) -> None:
        super().__init__(clip(message, 2 * ECHO_CHARS))
        self.refusal = refusal
        self.argument = argument
        """The name of the method argument refused, when one is to blame (a client is told which)."""


def clip(text: object, limit: int = ECHO_CHARS) -> str:
    """`text` as a string of at most `limit` characters (an ellipsis and the full length
    mark a cut)."""
    s = text if isinstance(text, str) else repr(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}... ({len(s)} chars)"


def echo(value: Any, limit: int = ECHO_CHARS) -> Any:
    """A value fit to be kept in an audit record, a log or an event: scalars as they are,
    anything else as text of at most `limit` characters."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return clip(value, limit)


def check_type(value: Any, dtype: DataType, what: str) -> Any:
    """`value` if it is of the PLC data type `dtype` (a bool is no number, a Double also
    takes an int), else Rejected(TYPE_MISMATCH)."""
    ok = isinstance(value, _PY_TYPES[dtype]) and (dtype == "Boolean" or not isinstance(value, bool))
    if not ok:
        raise Rejected(Refusal.TYPE_MISMATCH, f"{what} takes a {dtype}, not {type(value).__name__}")
    return value


def check_number(value: float, lo: float | None, hi: float | None, what: str, unit: str = "") -> float:
    """`value` if it is finite and within [lo, hi] (None: unbounded), else Rejected(OUT_OF_RANGE).
    The one range check of the PLC: tags and command arguments both use it."""
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite or (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise Rejected(Refusal.OUT_OF_RANGE, f"{what}={clip(value)} is outside {bounds} {unit}".rstrip())
    return value


def check_text(value: str, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """`value` if it has at most `max_chars` characters, else Rejected(OUT_OF_RANGE)."""
    if len(value) > max_chars:
        raise Rejected(Refusal.OUT_OF_RANGE, f"{what} takes at most {max_chars} characters, not {len(value)}")
    return value


def check_value(value: Any, dtype: DataType, what: str, lo: float | None = None, hi: float | None = None,
                unit: str = "") -> Any:
    """Type, then range (numbers: finite and within bounds; Int32 also within 32 bits) or
    length (text): the checks every input of the PLC gets before anything else looks at it."""
    check_type(value, dtype, what)
    if dtype == "Int32":
        check_number(value, INT32_MIN if lo is None else lo, INT32_MAX if hi is None else hi, what, unit)
    elif dtype == "Double":
        check_number(value, lo, hi, what, unit)
    elif dtype == "String":
        check_text(value, what)
    return value
