"""Cycle points and intervals, integer and ISO 8601 date-time.

A *point* is where a cycle sits (``3``, ``2020-01-31T06Z``), an *interval* is the
step between points (``P1``, ``PT6H``, ``P1M``). Points are plain values: ``int``
for integer cycling, metomi-isodatetime ``TimePoint`` (normalised to the
workflow's time zone, to the minute) for date-time cycling. Both hash, compare
and add an interval with ``+``, so the rest of the package can stay mode-agnostic
and ask its :class:`Cycling` only to read, write and shift them.

Spellings follow Cylc 8 (``flow.cylc``):

============================  ==============================================
integer point                 ``1``, ``05`` (whole numbers)
integer interval              ``P1``, ``+P2``, ``-P3``
integer final point           ``10``, or ``+P9`` / ``-P0`` from the initial point
date-time point               ``2020``, ``2020-01``, ``20200101T00``,
                              ``2020-01-01T00:00Z``, ``2020-W01-1``,
                              ``2020-032``; seconds are dropped, as Cylc does
date-time interval            ``PT6H``, ``P1D``, ``-P1M``, ``+P1W`` (whole minutes)
date-time final point         absolute, or ``+P1D``, ``P1D``, ``+P1D-PT6H``,
                              ``T18`` (first 18:00 at or after the initial point)
time zone                     ``Z`` (Cylc 8's default), ``+13``, ``-0530``,
                              ``+0000``: points are written with exactly that
                              suffix, ``20200101T0000+13``
============================  ==============================================

Wall-clock points (``now``, ``next(T00)``, ``previous(...)``) and truncated
initial points are refused: they would make a workflow depend on when it is
built.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TypeAlias

from metomi.isodatetime.data import Duration, TimePoint

from ..errors import PointError

Point: TypeAlias = "int | TimePoint"
Interval: TypeAlias = "int | Duration"

_INT_INTERVAL = re.compile(r"^([+-]?)P(\d+)$")
INT_POINT = re.compile(r"^[+-]?\d+$")
_INT_RELATIVE = re.compile(r"^([+-])P(\d+)$")


# Cylc reads a truncated point it cannot parse as written by prefixing the
# dashes that stand for its missing leading units (``01T00`` is a day of the
# month, ``---01T00``); these are the shapes it tries, in its order.


class Cycling(ABC):
    """How one workflow reads, writes and shifts its cycle points."""

    mode: str

    @abstractmethod
    def point(self, value: object) -> Point:
        """Read a point from text (or an int/datetime); raise PointError if it is not one."""

    @abstractmethod
    def interval(self, text: str) -> Interval:
        """Read a signed interval such as ``P1``, ``-PT6H`` or ``+P1M``."""

    @abstractmethod
    def format(self, point: Point) -> str:
        """Write a point as Cylc writes it in task ids (``1``, ``20200101T0000Z``)."""

    @abstractmethod
    def format_interval(self, interval: Interval) -> str:
        """Write an interval back as text (``P1``, ``-PT6H``)."""

    @abstractmethod
    def zero(self) -> Interval:
        """The null interval (``P0``, ``PT0S``)."""

    @abstractmethod
    def final_point(self, value: object, initial: Point) -> Point | None:
        """Read a ``final cycle point``: absolute, or relative to ``initial`` (``+P10``)."""

    @abstractmethod
    def add(self, point: Point, interval: Interval) -> Point:
        """The point ``interval`` after ``point`` (before it, for a negative interval)."""

    @abstractmethod
    def sub(self, point: Point, interval: Interval) -> Point:
        """The point ``interval`` before ``point``."""

    def is_interval(self, text: str) -> bool:
        """True when ``text`` reads as an interval of this mode."""
        try:
            self.interval(text)
        except PointError:
            return False
        return True

    def is_point(self, text: str) -> bool:
        """True when ``text`` reads as a point of this mode."""
        try:
            self.point(text)
        except PointError:
            return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(type(self))


class IntegerCycling(Cycling):
    """Integer cycle points: ``1``, ``2``... with intervals ``P1``, ``-P2``."""

    mode = "integer"

    def point(self, value: object) -> int:
        if isinstance(value, bool):
            raise PointError(f"{value!r} is not an integer cycle point", fix="use a whole number")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not INT_POINT.match(text):
            hint = (
                "this workflow cycles in integers, not date-times: use a whole number like 1"
                if re.search(r"\d{4}|T\d\d|[-:]\d", text)
                else "use a whole number like 1"
            )
            raise PointError(f"{text!r} is not an integer cycle point", text=text, fix=hint)
        return int(text)

    def interval(self, text: str) -> int:
        raw = str(text).strip()
        m = _INT_INTERVAL.match(raw)
        if not m:
            hint = (
                "integer cycling takes intervals like P1 or -P2, not date-time durations"
                if re.match(r"^[+-]?P.*[YMWDTHS]", raw)
                else "write an interval as P<n>, e.g. P1, -P1, +P2"
            )
            raise PointError(f"{raw!r} is not an integer interval", text=raw, fix=hint)
        n = int(m.group(2))
        return -n if m.group(1) == "-" else n

    def format(self, point: Point) -> str:
        return str(point)

    def format_interval(self, interval: Interval) -> str:
        n = _whole(interval)
        return f"-P{-n}" if n < 0 else f"P{n}"

    def add(self, point: Point, interval: Interval) -> int:
        return _whole(point) + _whole(interval)

    def sub(self, point: Point, interval: Interval) -> int:
        return _whole(point) - _whole(interval)

    def zero(self) -> int:
        return 0

    def final_point(self, value: object, initial: Point) -> int | None:
        """``10`` as written, or ``+P9`` / ``-P1`` from the initial point (as Cylc reads it)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str) and "P" in value:
            m = _INT_RELATIVE.match(value.strip())
            if not m:
                raise PointError(
                    f"{value.strip()!r} is not an integer final cycle point",
                    text=value.strip(),
                    fix="give a whole number, or an offset from the initial point like +P10",
                )
            n = int(m.group(2))
            return _whole(initial) + (-n if m.group(1) == "-" else n)
        return self.point(value)


def _whole(value: Point | Interval) -> int:
    """An integer point or interval; a date-time here is a mix-up of two cyclings."""
    if not isinstance(value, int):
        raise PointError(
            f"{value} is a date-time, but this workflow cycles in integers",
            fix="give whole numbers as points (1, 2, ...) and intervals (P1)",
        )
    return value


def cycling_for(initial: object, time_zone: str | None = None) -> Cycling:
    """Pick the cycling mode a workflow's initial point implies.

    An ``int`` or an all-digit string (``3``, ``"3"``) means integer cycling;
    anything else means date-time cycling, so write dates with a ``T``
    (``"20200101T00"``) or pass ``cycling=DateTimeCycling()``.
    """
    from .datetimes import DateTimeCycling  # it builds on this module's Cycling

    if isinstance(initial, int) and not isinstance(initial, bool):
        return IntegerCycling()
    if isinstance(initial, str) and INT_POINT.match(initial.strip()):
        return IntegerCycling()
    return DateTimeCycling(time_zone or "Z")
