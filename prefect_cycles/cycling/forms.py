"""The grammar of recurrences: the forms Cylc tries, in its order, and why a text fails.

Each cycling mode has its own table of forms (see :mod:`prefect_cycles.cycling.recurrence`
for what each means); a text is matched against them in Cylc's order and the
first that fits wins. ``Bad`` carries the reason a text cannot be read, and its
fix, until :func:`~prefect_cycles.cycling.recurrence.parse_recurrence` turns it into
a :class:`~prefect_cycles.errors.RecurrenceError` that quotes the whole text.
"""

from __future__ import annotations

import re
from typing import Literal

from ..errors import CycleError

Form = Literal["forward", "backward", "span"]

INTEGER_HINT = "integer recurrences look like P1, 2/P2, R1, R1/3, R1/$, R2/P2, P2!5"
DATETIME_HINT = "date-time recurrences look like PT6H, P1D, T00, +PT6H/PT12H, R1, R1/$, PT6H!T18"

# A comma separates sections, except inside an exclusion list's parentheses.
SECTIONS = re.compile(r"(?![^(]+\)),")

_S = r"(?P<start>[^PR/][^/]*)"
_E = r"(?P<end>[^PR/][^/]*)"
_I = r"(?P<step>P[^/]*)"


def _forms(table: list[tuple[str, Form]]) -> list[tuple[re.Pattern[str], Form]]:
    return [(re.compile(pattern), form) for pattern, form in table]


# Forms in the order Cylc tries them: the first that matches wins. "forward"
# counts from the start point, "backward" from the end point, "span" is ISO
# 8601's format 1 (the step is the gap between the two points).
INTEGER_FORMS = _forms(
    [
        (rf"R(?P<reps>\d+)/{_S}/{_E}", "span"),
        (rf"{_S}/{_I}/?", "forward"),
        (_I, "forward"),
        (rf"{_I}/{_E}", "backward"),
        (rf"R(?P<reps>1)?/{_S}/?", "forward"),
        (rf"R(?P<reps>\d*)/{_S}/{_I}", "forward"),
        (rf"R(?P<reps>\d*)//{_I}", "forward"),
        (rf"R(?P<reps>\d*)/{_I}/{_E}", "backward"),
        (rf"R(?P<reps>\d*)/{_I}/?", "backward"),
        (r"R(?P<reps>1)/?", "forward"),
        (rf"R(?P<reps>1)//{_E}", "backward"),
    ]
)

DATETIME_FORMS = _forms(
    [
        (_S, "forward"),
        (rf"R(?P<reps>\d*)/{_S}/{_E}", "span"),
        (rf"{_S}/{_I}/?", "forward"),
        (_I, "forward"),
        (rf"{_I}/{_E}", "backward"),
        (rf"R(?P<reps>\d*)/{_S}/?", "forward"),
        (rf"R(?P<reps>\d*)/{_S}/{_I}", "forward"),
        (rf"R(?P<reps>\d*)/(?P<start>)/{_I}", "forward"),
        (rf"R(?P<reps>\d*)/{_I}/{_E}", "backward"),
        (rf"R(?P<reps>\d*)/{_I}/?", "backward"),
        (rf"R(?P<reps>\d*)//{_E}", "backward"),
        (r"R(?P<reps>1)/?(?P<start>)", "forward"),
    ]
)

INT_RELATIVE = re.compile(r"([+-])P(\d+)")
INT_ABSOLUTE = re.compile(r"\s*[+-]?\d+\s*")
LOOKS_DATETIME = re.compile(r"P\d*[.,]?\d*[YMWDTHS]|T\d|\d{8}|\d{4}-\d\d|W-?\d")
LOOKS_INTEGER = re.compile(r"(^|[/!(,])[+-]?P\d+($|[/!),])|^R\d*/[+-]?\d{1,3}($|/)|^\d{1,3}/P")


class Bad(Exception):
    """Why a recurrence cannot be read, and the fix; becomes a RecurrenceError."""

    def __init__(self, why: str, fix: str | None = None) -> None:
        super().__init__(why)
        self.why, self.fix = why, fix


class NeedsFinal(Bad):
    """The recurrence is counted from (or ends at) a final point the workflow lacks."""

    def __init__(self) -> None:
        super().__init__(
            "this recurrence needs a final cycle point, and the workflow has none",
            "set a final cycle point, or use a recurrence counted from the initial point "
            "(P1, R1, 2/P2)",
        )


class NotASequence(Bad):
    """A text that reads as points but makes no sequence (Cylc then tries it as a point)."""


def bare_message(exc: CycleError) -> tuple[str, str | None]:
    """The message of a CycleError without its where/fix decorations, and its fix."""
    msg = str(exc.args[0]) if exc.args else str(exc)
    if exc.fix and msg.endswith(f". Fix: {exc.fix}"):
        msg = msg[: -len(f". Fix: {exc.fix}")]
    if exc.text is not None and msg.endswith(f" (in {exc.text!r})"):
        msg = msg[: -len(f" (in {exc.text!r})")]
    return msg, exc.fix


# -- progressions: the points of one recurrence, before exclusions and bounds ---------
#
# Sequences work on whole-number *keys*: the point itself in integer cycling,
# minutes since 1970-01-01T00Z in date-time cycling. Keys make first_point
# arithmetic for evenly spaced points, and keep isodatetime (slow) out of the
# inner loops: a date-time point is built once, by one addition.


def match_form(
    forms: list[tuple[re.Pattern[str], Form]], expr: str
) -> tuple[dict[str, str | None], Form] | None:
    """The parts of the first form ``expr`` matches, in Cylc's order, and that form."""
    for pattern, form in forms:
        m = pattern.fullmatch(expr)
        if m:
            return m.groupdict(), form
    return None


def split_exclusions(expr: str) -> tuple[str, list[str]]:
    """``P1!(3, 5)`` -> ``P1`` and ``['3', '5']``, as Cylc splits them."""
    count = expr.count("!")
    if count == 0:
        return expr, []
    if count > 1:
        raise Bad(
            "only one '!' (one set of exclusions) is allowed",
            "list every exclusion in one set, e.g. P1!(3, 5, P7)",
        )
    main, rest = expr.split("!")
    body = rest.strip()
    if "," in body and not (body.startswith("(") and body.endswith(")")):
        raise Bad(
            f"the list of exclusions {body!r} must be in parentheses",
            f"write {main.strip()}!({body.strip('()')})",
        )
    items = body.translate(str.maketrans("", "", " ()")).split(",")
    for item in items:
        if not item:
            raise Bad("an empty exclusion", "write exclusions like P1!3 or P1!(3, 5)")
    return main.strip(), items


# -- integer cycling ----------------------------------------------------------------
