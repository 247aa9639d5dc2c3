"""Recurrences: which cycle points a graph section runs at.

A recurrence is the heading of a Cylc graph section (``P1``, ``R1/$``,
``T00!T12``). :func:`parse_recurrence` reads one for a workflow's initial point
(``^``) and final point (``$``) and gives a :class:`Sequence`. The forms and
their meaning are Cylc 8.5's, checked against ``cylc graph --reference``.
``S`` is a start point, ``E`` an end point, ``I`` an interval, ``n`` a count
(``R`` alone: no limit)::

    integer form  example               points when ^ = 1 and $ = 10
    I             P2                    1 3 5 7 9
    S/I           2/P2, +P1/P2          2 4 6 8 10     (+Pn as S: after ^)
    Rn/S/I        R3/2/P2               2 4 6
    Rn//I         R3//P2                1 3 5
    R1            R1                    1
    R1/S          R1/3, R1/+P2, R/3     3
    R1/I          R1/P0, R1/$           10
    R1//E         R1//-P1               9              (-Pn as E: before $)
    Rn/I          R2/P2                 8 10           (counted back from $)
    Rn/I/E        R3/P2/10              6 8 10
    I/E           P2/$                  2 4 6 8 10     (quirk, see below)
    X!Y           P2!5, P1!(3,5), P1!P3 1 3 7 9 / 1 2 4 6 7 8 9 10 / 2 3 5 6 8 9
    A, B          R1/2, R1/5            2 5            (a union)

    date-time     example               points when ^ = 2020-01-01T00
    I             PT6H, P1D, P1M        every 6 hours / day / month from ^
    S             T00, T06              the first 06:00 at or after ^, then daily;
                  01T00, W-1T00         monthly on the 1st, weekly on Mondays,
                  0101T00               yearly on 1 January (the unit above S)
    S/I           +PT6H/PT12H           06:00, 18:00, ... (also ^+PT6H/PT12H)
                  T06/PT12H, 2020-01-31T00/P1M
    Rn/S/I        R3/^/PT12H, R/^/P1M
    Rn/S/E        R2/^/20200101T06      ISO 8601 format 1: the step is E - S
    R1, R1/S      R1/T12, R1/^+PT6H, R1/$-PT6H, R1//-PT6H
    R1/I          R1/P0D, R1/$          the final point
    Rn/I, I/E     R2/PT6H, PT12H/$      counted back from $ (or E)
    X!Y           PT6H!T18, PT6H!(T00,T12), P1D!2020-01-05, PT6H!PT12H

Date-time points may be truncated (``T06``), carry offsets (``T06-PT1H``,
``$-P1D``) or pick the earliest of several (``min(T06,T03)``). Steps add up one
at a time, as in Cylc: ``P1M`` from 2020-01-31 gives 2020-02-29, 2020-03-29...;
``P1Y`` from 2020-02-29 gives 2021-02-28, 2022-02-28... Steps shorter than a
minute are refused (Cylc's points are to the minute and it fails on them).

Cylc quirks kept on purpose, so that a flow.cylc means the same here: integer
``I/E`` and ``Rn/I`` without a count align on ``$ - ^`` modulo the step
(``P2/-P1`` gives 2 4 6 8); a start before ``^`` moves *forward* by
``(^ - S) mod I`` (``-P1/P3`` and ``0/P3`` give 2 5 8, not 3 6 9); an
``Rn/S/I`` that would run past ``$`` is cut one step early unless the
remainder is half the step (``R3/2/P2`` with ``$`` = 4 gives only 2); integer
``Rn/S/E`` with n > 1 is an error (Cylc cannot divide it); ``P0`` alone is one
point at ``^`` without a final point and an error with one.

Points before the initial point or after the final point never belong to a
sequence (Cylc's scheduler never runs them), so ``R1`` is empty for a window
starting after ``^``. A sequence whose every point is excluded is empty (Cylc
recurses forever on it).
"""

from __future__ import annotations

from typing import Literal

from ..errors import PointError, RecurrenceError
from .datetimes import DateTimeCycling
from .forms import (
    DATETIME_HINT,
    INTEGER_HINT,
    LOOKS_DATETIME,
    LOOKS_INTEGER,
    SECTIONS,
    Bad,
    NeedsFinal,
    bare_message,
    split_exclusions,
)
from .integer import read_integer
from .iso8601 import read_datetime
from .points import Cycling, IntegerCycling, Point
from .sequence import Sequence, Union

Form = Literal["forward", "backward", "span"]


def parse_recurrence(text: str, cycling: Cycling, initial: Point, final: Point | None) -> Sequence:
    """Read a recurrence for a workflow with these initial (``^``) and final (``$``) points.

    Raises RecurrenceError, quoting the text and a fix, for text that is not a
    recurrence of this cycling mode, or that needs a final point the workflow
    does not have (``R1/$``, ``R2/P2``, ``P2/$``).
    """
    integer = isinstance(cycling, IntegerCycling)
    hint = INTEGER_HINT if integer else DATETIME_HINT
    if not isinstance(text, str):
        raise RecurrenceError(f"a recurrence must be text, not {type(text).__name__}", fix=hint)
    raw = text.strip()
    if not raw:
        raise RecurrenceError("the recurrence is empty", fix=hint)
    init = cycling.point(initial)
    fin = None if final is None else cycling.point(final)
    members = []
    for part in (p.strip() for p in SECTIONS.split(raw)):
        try:
            if not part:
                raise Bad("an empty item in a list of recurrences", "write them like R1/2, R1/5")
            members.append(_read(part, cycling, init, fin))
        except (Bad, PointError) as exc:
            why, fix = (exc.why, exc.fix) if isinstance(exc, Bad) else bare_message(exc)
            if not isinstance(exc, NeedsFinal):
                fix = _mode_hint(part, integer) or fix or hint
            where = "" if part == raw else f" {part!r}"
            raise RecurrenceError(f"bad recurrence{where}: {why}", text=raw, fix=fix) from None
    return members[0] if len(members) == 1 else Union(raw, members, init)


def _mode_hint(part: str, integer: bool) -> str | None:
    """A fix for a recurrence written for the other cycling mode, if it looks like one."""
    if integer and LOOKS_DATETIME.search(part):
        return (
            f"{part!r} looks like a date-time recurrence, but this workflow cycles in "
            f"integers: {INTEGER_HINT}"
        )
    if not integer and LOOKS_INTEGER.search(part):
        return (
            f"{part!r} looks like an integer recurrence, but this workflow cycles in "
            f"date-times (use cycling mode = integer, or {DATETIME_HINT})"
        )
    return None


def _read(part: str, cycling: Cycling, init: Point, fin: Point | None) -> Sequence:
    """One recurrence (no commas) after putting in the initial and final points."""
    if "$" in part and fin is None:
        raise Bad(
            "it refers to the final cycle point ($), and the workflow has none",
            "set a final cycle point, or use a recurrence that does not need one (R1, P1)",
        )
    expr = part.replace("^", cycling.format(init))
    if fin is not None:
        expr = expr.replace("$", cycling.format(fin))
    main, excluded = split_exclusions(expr)
    if isinstance(cycling, IntegerCycling):
        return read_integer(part, main, excluded, init, fin)  # type: ignore[arg-type]
    if isinstance(cycling, DateTimeCycling):
        return read_datetime(part, main, excluded, cycling, init, fin)  # type: ignore[arg-type]
    raise Bad(f"cannot read recurrences for {cycling!r}", "use IntegerCycling or DateTimeCycling")
