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

import bisect
import math
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Literal

from metomi.isodatetime.data import Duration, TimePoint, TimeRecurrence

from .errors import CycleError, PointError, RecurrenceError
from .points import Cycling, DateTimeCycling, IntegerCycling, Point

Form = Literal["forward", "backward", "span"]

# What to suggest when a text cannot be read.
_INTEGER_HINT = "integer recurrences look like P1, 2/P2, R1, R1/3, R1/$, R2/P2, P2!5"
_DATETIME_HINT = "date-time recurrences look like PT6H, P1D, T00, +PT6H/PT12H, R1, R1/$, PT6H!T18"

# A comma separates sections, except inside an exclusion list's parentheses.
_SECTIONS = re.compile(r"(?![^(]+\)),")

_S = r"(?P<start>[^PR/][^/]*)"
_E = r"(?P<end>[^PR/][^/]*)"
_I = r"(?P<step>P[^/]*)"


def _forms(table: list[tuple[str, Form]]) -> list[tuple[re.Pattern[str], Form]]:
    return [(re.compile(pattern), form) for pattern, form in table]


# Forms in the order Cylc tries them: the first that matches wins. "forward"
# counts from the start point, "backward" from the end point, "span" is ISO
# 8601's format 1 (the step is the gap between the two points).
_INTEGER_FORMS = _forms(
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

_DATETIME_FORMS = _forms(
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

_INT_RELATIVE = re.compile(r"([+-])P(\d+)")
_INT_ABSOLUTE = re.compile(r"\s*[+-]?\d+\s*")
_LOOKS_DATETIME = re.compile(r"P\d*[.,]?\d*[YMWDTHS]|T\d|\d{8}|\d{4}-\d\d|W-?\d")
_LOOKS_INTEGER = re.compile(r"(^|[/!(,])[+-]?P\d+($|[/!),])|^R\d*/[+-]?\d{1,3}($|/)|^\d{1,3}/P")

# The period a truncated point implies when no interval is given (``T06``: daily).
_TRUNCATION_STEP = {
    "year_of_century": Duration(years=100),
    "year_of_decade": Duration(years=10),
    "month_of_year": Duration(years=1),
    "week_of_year": Duration(years=1),
    "day_of_year": Duration(years=1),
    "day_of_month": Duration(months=1),
    "day_of_week": Duration(days=7),
    "hour_of_day": Duration(days=1),
    "minute_of_hour": Duration(hours=1),
    "second_of_minute": Duration(minutes=1),
}

# Consecutive excluded points walked on a month/year sequence before deciding
# that the exclusions cover it all (exact steps decide this arithmetically).
_MAX_NOMINAL_SKIP = 5000


class Sequence(ABC):
    """An ordered, possibly endless set of cycle points."""

    text: str

    @abstractmethod
    def first_point(self, at_or_after: Point) -> Point | None:
        """The first point of the sequence at or after ``at_or_after``, or None."""

    @abstractmethod
    def next_point(self, point: Point) -> Point | None:
        """The first point of the sequence strictly after ``point``, or None."""

    @abstractmethod
    def prev_point(self, point: Point) -> Point | None:
        """The last point of the sequence strictly before ``point``, or None."""

    @abstractmethod
    def contains(self, point: Point) -> bool:
        """True when ``point`` is on the sequence."""

    @abstractmethod
    def last_point(self) -> Point | None:
        """The last point of the sequence, or None when it is endless (or empty)."""

    def points(self, start: Point, stop: Point | None = None) -> Iterator[Point]:
        """Points of the sequence in ``[start, stop]`` (endless when stop is None)."""
        p = self.first_point(start)
        while p is not None and (stop is None or p <= stop):
            yield p
            p = self.next_point(p)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.text!r}>"


# -- errors ------------------------------------------------------------------------


class _Bad(Exception):
    """Why a recurrence cannot be read, and the fix; becomes a RecurrenceError."""

    def __init__(self, why: str, fix: str | None = None) -> None:
        super().__init__(why)
        self.why, self.fix = why, fix


class _NeedsFinal(_Bad):
    """The recurrence is counted from (or ends at) a final point the workflow lacks."""

    def __init__(self) -> None:
        super().__init__(
            "this recurrence needs a final cycle point, and the workflow has none",
            "set a final cycle point, or use a recurrence counted from the initial point "
            "(P1, R1, 2/P2)",
        )


class _NotASequence(_Bad):
    """A text that reads as points but makes no sequence (Cylc then tries it as a point)."""


def _bare(exc: CycleError) -> tuple[str, str | None]:
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


class _Arith:
    """Keys ``start, start+step, ...`` up to ``stop``; a single key when step is 0."""

    __slots__ = ("empty", "last", "start", "step")

    def __init__(self, start: int, step: int, stop: int | None) -> None:
        self.start, self.step = start, step
        self.empty = stop is not None and stop < start
        if step == 0:
            self.last: int | None = start
        elif stop is None:
            self.last = None
        else:
            self.last = start + (stop - start) // step * step

    def ceil(self, k: int) -> int | None:
        """The first key at or after ``k``."""
        if self.empty:
            return None
        if k <= self.start:
            c = self.start
        elif self.step == 0:
            return None
        else:
            c = k + (self.start - k) % self.step
        return None if self.last is not None and c > self.last else c

    def floor(self, k: int) -> int | None:
        """The last key at or before ``k``."""
        if self.empty or k < self.start:
            return None
        if self.last is not None and k >= self.last:
            return self.last
        return k - (k - self.start) % self.step

    def has(self, k: int) -> bool:
        if self.empty or k < self.start or (self.last is not None and k > self.last):
            return False
        return k == self.start if self.step == 0 else (k - self.start) % self.step == 0


class _Walk:
    """Date-time points a month/year step apart, added up one at a time as Cylc does.

    Points are made on demand and kept, with their keys, for bisection.
    """

    __slots__ = ("_dom", "_done", "_lock", "keys", "points", "step", "stop")

    def __init__(self, start: TimePoint, step: Duration, stop: TimePoint | None, dom: _Minutes):
        self.step, self._dom, self._lock = step, dom, threading.Lock()
        self.stop = None if stop is None else dom.to(stop)
        self.keys, self.points = [dom.to(start)], [start]
        self._done = False
        if self.stop is not None and self.keys[0] > self.stop:
            self.keys, self.points, self._done = [], [], True

    def _grow(self, k: int) -> None:
        """Make points until one lies beyond key ``k`` (or the walk ends)."""
        keys, pts = self.keys, self.points
        if self._done or keys[-1] > k:
            return
        with self._lock:  # sequences are shared: one thread extends at a time
            while not self._done and keys[-1] <= k:
                try:
                    nxt = pts[-1] + self.step
                    nk = self._dom.to(nxt)
                except Exception:  # isodatetime fails past its calendar range
                    self._done = True
                    break
                past_stop = self.stop is not None and nk > self.stop
                if past_stop or nk <= keys[-1] or nk > _LAST_MINUTE:
                    self._done = True
                    break
                pts.append(nxt)  # the point first: readers find a key's point by index
                keys.append(nk)

    def ceil(self, k: int) -> int | None:
        """The index of the first point at or after key ``k``."""
        self._grow(k)
        i = bisect.bisect_left(self.keys, k)
        return i if i < len(self.keys) else None

    def floor(self, k: int) -> int | None:
        """The index of the last point at or before key ``k``."""
        self._grow(k)
        i = bisect.bisect_right(self.keys, k) - 1
        return i if i >= 0 else None

    def has(self, k: int) -> bool:
        i = self.ceil(k)
        return i is not None and self.keys[i] == k


def _days(y: int, m: int, d: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (a standard civil-date formula)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil(z: int) -> tuple[int, int, int]:
    """The proleptic Gregorian date ``z`` days after 1970-01-01 (inverse of _days)."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


# Date-time points stay within the years 0 to 9999, as ISO 8601 (and Cylc) write them.
_LAST_MINUTE = _days(10000, 1, 1) * 1440 - 1


class _Domain:
    """Keys of integer points: the points themselves."""

    def to(self, point: Point) -> int:
        return point  # type: ignore[return-value]

    def back(self, key: int, near: Point | None = None, near_key: int | None = None) -> Point:
        return key

    def accepts(self, point: object) -> bool:
        return isinstance(point, int) and not isinstance(point, bool)


class _Minutes(_Domain):
    """Keys of date-time points: minutes since 1970-01-01T00Z."""

    def __init__(self, cyc: DateTimeCycling) -> None:
        self.cyc = cyc
        hours, minutes = cyc.zone
        self.zone, self.offset = (hours, minutes), hours * 60 + minutes

    def to(self, point: Point) -> int:
        p: TimePoint = point  # type: ignore[assignment]
        if not self._canonical(p):
            p = self.cyc.point(p)
        minutes = (
            (p.hour_of_day or 0) * 60 + (p.minute_of_hour or 0) + (p.second_of_minute or 0) / 60
        )
        day = _days(p.year, p.month_of_year, p.day_of_month)
        return day * 1440 + math.floor(minutes + 1e-9) - self.offset

    def back(self, key: int, near: Point | None = None, near_key: int | None = None) -> Point:
        if near_key is not None and self._canonical(near):
            if key == near_key:
                return near  # type: ignore[return-value]
            days, minutes = divmod(key - near_key, 1440)
            return near + Duration(days=days, minutes=minutes)
        days, minutes = divmod(key + self.offset, 1440)
        y, m, d = _civil(days)
        return TimePoint(
            year=y,
            month_of_year=m,
            day_of_month=d,
            hour_of_day=minutes // 60,
            minute_of_hour=minutes % 60,
            second_of_minute=0,
            time_zone_hour=self.zone[0],
            time_zone_minute=self.zone[1],
            dump_format=self.cyc.dump_format,
        )

    def accepts(self, point: object) -> bool:
        return isinstance(point, TimePoint) and not point.truncated

    def _canonical(self, point: object) -> bool:
        """True for a calendar-date point in the workflow's zone, to the minute."""
        if not isinstance(point, TimePoint) or not point.get_is_calendar_date():
            return False
        tz = point.time_zone
        return (tz.hours, tz.minutes) == self.zone and not point.second_of_minute


# -- sequences ------------------------------------------------------------------


class _Exclusions:
    """Keys and recurrences taken out of a sequence (``!5``, ``!(T00,T12)``, ``!P3``)."""

    def __init__(self, points: set[int], ariths: list[_Arith], walks: list[_Walk]) -> None:
        self.points, self.walks = points, walks
        self.ariths = [a for a in ariths if not a.empty]
        self.any = bool(points or self.ariths or walks)
        bounds = {a.start for a in self.ariths}
        bounds |= {a.last + 1 for a in self.ariths if a.last is not None}
        self._bounds = sorted(bounds)
        self._regions: dict[int, tuple[int, int | None, int | None, list[_Arith]]] = {}

    def hit(self, k: int) -> bool:
        """True when key ``k`` is excluded."""
        return (
            k in self.points
            or any(a.has(k) for a in self.ariths)
            or any(w.has(k) for w in self.walks)
        )

    def region(self, k: int) -> tuple[int, int | None, int | None, list[_Arith]]:
        """The stretch around ``k`` where the same exclusion recurrences apply."""
        i = bisect.bisect_right(self._bounds, k)
        reg = self._regions.get(i)
        if reg is None:
            lo = self._bounds[i - 1] if i else None
            hi = self._bounds[i] - 1 if i < len(self._bounds) else None
            active = [a for a in self.ariths if a.start <= k and (a.last is None or k <= a.last)]
            reg = self._regions[i] = (i, lo, hi, active)
        return reg


class _KeyedSequence(Sequence):
    """A recurrence over integer keys of a domain (point numbers, or minutes), within bounds."""

    def __init__(
        self,
        text: str,
        dom: _Domain,
        base: _Arith | _Walk,
        lo: int,
        hi: int | None,
        excl: _Exclusions,
    ) -> None:
        self.text, self._dom, self._base, self._excl = text, dom, base, excl
        self._lo, self._hi = lo, hi

    def contains(self, point: Point) -> bool:
        if not self._dom.accepts(point):
            return False
        k = self._dom.to(point)
        if k < self._lo or (self._hi is not None and k > self._hi) or not self._base.has(k):
            return False
        return not (self._excl.any and self._excl.hit(k))


class _ArithSequence(_KeyedSequence):
    """One recurrence whose points are evenly spaced (integers, or exact date-time steps)."""

    _base: _Arith

    def __init__(
        self, text: str, dom: _Domain, base: _Arith, lo: int, hi: int | None, excl: _Exclusions
    ) -> None:
        super().__init__(text, dom, base, lo, hi, excl)
        self._cap = _LAST_MINUTE if isinstance(dom, _Minutes) else None

    def _first(self, k: int) -> int | None:
        c = self._base.ceil(k if k > self._lo else self._lo)
        if c is not None and self._excl.any:
            c = self._skip(c, 1)
        if c is None or (self._hi is not None and c > self._hi):
            return None
        if self._cap is not None and c > self._cap:
            return None
        return c

    def _last(self, k: int | None) -> int | None:
        if self._hi is not None:
            k = self._hi if k is None or k > self._hi else k
        c = self._base.last if k is None else self._base.floor(k)
        if c is not None and self._excl.any:
            c = self._skip(c, -1)
        return None if c is None or c < self._lo else c

    def first_point(self, at_or_after: Point) -> Point | None:
        k = self._dom.to(at_or_after)
        c = self._first(k)
        return None if c is None else self._dom.back(c, at_or_after, k)

    def next_point(self, point: Point) -> Point | None:
        k = self._dom.to(point)
        c = self._first(k + 1)
        return None if c is None else self._dom.back(c, point, k)

    def prev_point(self, point: Point) -> Point | None:
        k = self._dom.to(point)
        c = self._last(k - 1)
        return None if c is None else self._dom.back(c, point, k)

    def last_point(self) -> Point | None:
        if self._hi is None and self._base.last is None:
            return None
        c = self._last(None)
        return None if c is None else self._dom.back(c)

    def _skip(self, k: int | None, direction: int) -> int | None:
        """The first key from ``k`` on (backwards when direction < 0) that is not excluded.

        Within a stretch where the same exclusion recurrences apply, the keys
        they exclude repeat with a known period: a full period of excluded
        keys means the whole stretch is excluded, so jump past it.
        """
        base, excl = self._base, self._excl
        limit = self._hi if direction > 0 else self._lo
        run, region = 0, -1
        while k is not None:
            if limit is not None and (k > limit if direction > 0 else k < limit):
                return None
            if not any(a.has(k) for a in excl.ariths):
                if k not in excl.points and not any(w.has(k) for w in excl.walks):
                    return k
                run = 0
            else:
                index, lo, hi, active = excl.region(k)
                if index != region:
                    region, run = index, 0
                run += 1
                if run >= _period(base.step, active):
                    edge = hi if direction > 0 else lo
                    if edge is None:
                        return None
                    k = base.ceil(edge + 1) if direction > 0 else base.floor(edge - 1)
                    region, run = -1, 0
                    continue
            k = base.ceil(k + 1) if direction > 0 else base.floor(k - 1)
        return None


class _IntSequence(_ArithSequence):
    """An integer recurrence, with arithmetic fast paths when nothing is excluded."""

    def __init__(self, text: str, base: _Arith, lo: int, hi: int | None, excl: _Exclusions) -> None:
        super().__init__(text, _INT_DOMAIN, base, lo, hi, excl)
        first = base.ceil(lo)
        last = base.last if hi is None else base.floor(hi)
        if (hi is not None and last is None) or (
            first is not None and last is not None and last < first
        ):
            first = last = None  # nothing between the initial and final points
        self._head, self._tail = first, last
        self._plain = not excl.any

    def first_point(self, at_or_after: Point) -> Point | None:
        if not self._plain:
            return self._first(at_or_after)  # type: ignore[arg-type]
        head = self._head
        if head is None or at_or_after <= head:  # type: ignore[operator]
            return head
        step = self._base.step
        if step == 0:
            return None
        c = at_or_after + (self._base.start - at_or_after) % step  # type: ignore[operator]
        return c if self._tail is None or c <= self._tail else None

    def next_point(self, point: Point) -> Point | None:
        return self.first_point(point + 1)  # type: ignore[operator]

    def prev_point(self, point: Point) -> Point | None:
        return self._last(point - 1)  # type: ignore[operator]

    def contains(self, point: Point) -> bool:
        if self._plain:
            head = self._head
            if head is None or type(point) is not int or point < head:
                return False
            if self._tail is not None and point > self._tail:
                return False
            step = self._base.step
            return point == head if step == 0 else (point - self._base.start) % step == 0
        return super().contains(point)


def _period(step: int, active: list[_Arith]) -> int:
    """After how many steps of ``step`` the keys ``active`` exclude repeat."""
    period = 1
    for a in active:
        if a.step and step:
            period = math.lcm(period, a.step // math.gcd(a.step, step))
    return period


class _WalkSequence(_KeyedSequence):
    """One date-time recurrence with a month/year step (points found by walking)."""

    _base: _Walk

    def _skip(self, i: int | None, direction: int) -> TimePoint | None:
        """The first point from index ``i`` on that is in bounds and not excluded."""
        base, excl = self._base, self._excl
        for _ in range(_MAX_NOMINAL_SKIP):
            if i is None:
                return None
            k = base.keys[i]
            if direction > 0 and self._hi is not None and k > self._hi:
                return None
            if direction < 0 and k < self._lo:
                return None
            if not (excl.any and excl.hit(k)):
                return base.points[i]
            if direction < 0:
                i = i - 1 if i > 0 else None
                continue
            i = base.ceil(k + 1)
        return None

    def first_point(self, at_or_after: Point) -> Point | None:
        k = self._dom.to(at_or_after)
        return self._skip(self._base.ceil(k if k > self._lo else self._lo), 1)

    def next_point(self, point: Point) -> Point | None:
        k = self._dom.to(point) + 1
        return self._skip(self._base.ceil(k if k > self._lo else self._lo), 1)

    def prev_point(self, point: Point) -> Point | None:
        k = self._dom.to(point) - 1
        if self._hi is not None and k > self._hi:
            k = self._hi
        return self._skip(self._base.floor(k), -1)

    def last_point(self) -> Point | None:
        ends = [e for e in (self._hi, self._base.stop) if e is not None]
        if not ends:
            return None
        return self._skip(self._base.floor(min(ends)), -1)


class _Union(Sequence):
    """Several recurrences in one heading (``R1/2, R1/5``): a point on any of them."""

    def __init__(self, text: str, members: list[Sequence], initial: Point) -> None:
        self.text, self.members, self._initial = text, members, initial

    def first_point(self, at_or_after: Point) -> Point | None:
        found = [p for s in self.members if (p := s.first_point(at_or_after)) is not None]
        return min(found) if found else None

    def next_point(self, point: Point) -> Point | None:
        found = [p for s in self.members if (p := s.next_point(point)) is not None]
        return min(found) if found else None

    def prev_point(self, point: Point) -> Point | None:
        found = [p for s in self.members if (p := s.prev_point(point)) is not None]
        return max(found) if found else None

    def last_point(self) -> Point | None:
        lasts = []
        for s in self.members:
            last = s.last_point()
            if last is None and s.first_point(self._initial) is not None:
                return None  # endless
            if last is not None:
                lasts.append(last)
        return max(lasts) if lasts else None

    def contains(self, point: Point) -> bool:
        return any(s.contains(point) for s in self.members)


_INT_DOMAIN = _Domain()


# -- reading ------------------------------------------------------------------------


def parse_recurrence(text: str, cycling: Cycling, initial: Point, final: Point | None) -> Sequence:
    """Read a recurrence for a workflow with these initial (``^``) and final (``$``) points.

    Raises RecurrenceError, quoting the text and a fix, for text that is not a
    recurrence of this cycling mode, or that needs a final point the workflow
    does not have (``R1/$``, ``R2/P2``, ``P2/$``).
    """
    integer = isinstance(cycling, IntegerCycling)
    hint = _INTEGER_HINT if integer else _DATETIME_HINT
    if not isinstance(text, str):
        raise RecurrenceError(f"a recurrence must be text, not {type(text).__name__}", fix=hint)
    raw = text.strip()
    if not raw:
        raise RecurrenceError("the recurrence is empty", fix=hint)
    init = cycling.point(initial)
    fin = None if final is None else cycling.point(final)
    members = []
    for part in (p.strip() for p in _SECTIONS.split(raw)):
        try:
            if not part:
                raise _Bad("an empty item in a list of recurrences", "write them like R1/2, R1/5")
            members.append(_read(part, cycling, init, fin))
        except (_Bad, PointError) as exc:
            why, fix = (exc.why, exc.fix) if isinstance(exc, _Bad) else _bare(exc)
            if not isinstance(exc, _NeedsFinal):
                fix = _mode_hint(part, integer) or fix or hint
            where = "" if part == raw else f" {part!r}"
            raise RecurrenceError(f"bad recurrence{where}: {why}", text=raw, fix=fix) from None
    return members[0] if len(members) == 1 else _Union(raw, members, init)


def _mode_hint(part: str, integer: bool) -> str | None:
    """A fix for a recurrence written for the other cycling mode, if it looks like one."""
    if integer and _LOOKS_DATETIME.search(part):
        return (
            f"{part!r} looks like a date-time recurrence, but this workflow cycles in "
            f"integers: {_INTEGER_HINT}"
        )
    if not integer and _LOOKS_INTEGER.search(part):
        return (
            f"{part!r} looks like an integer recurrence, but this workflow cycles in "
            f"date-times (use cycling mode = integer, or {_DATETIME_HINT})"
        )
    return None


def _read(part: str, cycling: Cycling, init: Point, fin: Point | None) -> Sequence:
    """One recurrence (no commas) after putting in the initial and final points."""
    if "$" in part and fin is None:
        raise _Bad(
            "it refers to the final cycle point ($), and the workflow has none",
            "set a final cycle point, or use a recurrence that does not need one (R1, P1)",
        )
    expr = part.replace("^", cycling.format(init))
    if fin is not None:
        expr = expr.replace("$", cycling.format(fin))
    main, excluded = _split_exclusions(expr)
    if isinstance(cycling, IntegerCycling):
        return _read_integer(part, main, excluded, init, fin)  # type: ignore[arg-type]
    if isinstance(cycling, DateTimeCycling):
        return _read_datetime(part, main, excluded, cycling, init, fin)  # type: ignore[arg-type]
    raise _Bad(f"cannot read recurrences for {cycling!r}", "use IntegerCycling or DateTimeCycling")


def _match(
    forms: list[tuple[re.Pattern[str], Form]], expr: str
) -> tuple[dict[str, str | None], Form] | None:
    """The parts of the first form ``expr`` matches, in Cylc's order, and that form."""
    for pattern, form in forms:
        m = pattern.fullmatch(expr)
        if m:
            return m.groupdict(), form
    return None


def _split_exclusions(expr: str) -> tuple[str, list[str]]:
    """``P1!(3, 5)`` -> ``P1`` and ``['3', '5']``, as Cylc splits them."""
    count = expr.count("!")
    if count == 0:
        return expr, []
    if count > 1:
        raise _Bad(
            "only one '!' (one set of exclusions) is allowed",
            "list every exclusion in one set, e.g. P1!(3, 5, P7)",
        )
    main, rest = expr.split("!")
    body = rest.strip()
    if "," in body and not (body.startswith("(") and body.endswith(")")):
        raise _Bad(
            f"the list of exclusions {body!r} must be in parentheses",
            f"write {main.strip()}!({body.strip('()')})",
        )
    items = body.translate(str.maketrans("", "", " ()")).split(",")
    for item in items:
        if not item:
            raise _Bad("an empty exclusion", "write exclusions like P1!3 or P1!(3, 5)")
    return main.strip(), items


# -- integer cycling ----------------------------------------------------------------


def _read_integer(
    text: str, main: str, excluded: list[str], init: int, fin: int | None
) -> Sequence:
    base, start, stop = _integer_arith(main, init, fin)
    points: set[int] = set()
    ariths: list[_Arith] = []
    for item in excluded:
        if _INT_RELATIVE.fullmatch(item):
            raise _Bad(
                f"cannot exclude the relative point {item!r}",
                "exclude an absolute point (P1!5) or a recurrence (P1!P3, P1!R1//-P1)",
            )
        if _INT_ABSOLUTE.fullmatch(item):
            points.add(int(item))
            continue
        try:
            ariths.append(_integer_arith(item, start, stop)[0])
        except _NeedsFinal:
            raise
        except _Bad as exc:
            raise _Bad(f"in the exclusion {item!r}: {exc.why}", exc.fix) from None
    return _IntSequence(text, base, init, fin, _Exclusions(points, ariths, []))


def _integer_arith(
    expr: str, ctx_start: int, ctx_stop: int | None
) -> tuple[_Arith, int, int | None]:
    """The points of one integer recurrence, with the start and stop Cylc gives its exclusions."""
    found = _match(_INTEGER_FORMS, expr)
    if found is None:
        raise _Bad(f"{expr!r} is not an integer recurrence", _INTEGER_HINT)
    g, form = found
    reps = int(g["reps"]) if g.get("reps") else None
    start_text, end_text, step_text = g.get("start") or None, g.get("end") or None, g.get("step")
    start = ctx_start if start_text is None else _int_point(start_text, ctx_start)
    if end_text is not None:
        stop = _int_point(end_text, ctx_stop)
    else:
        stop = ctx_stop
        if stop is None and form != "forward":
            raise _NeedsFinal()
    step = _int_step(step_text) if step_text else None

    if form == "forward":
        if step is None or (reps is not None and reps <= 1):
            return _Arith(start, 0, None), start, start
        if reps:
            stop = start + step * (reps - 1)
        elif ctx_stop is not None:
            if step == 0:
                raise _Bad(
                    "a zero interval (P0) repeats forever at one point",
                    "write R1 for the initial point or R1/P0 for the final point",
                )
            stop = ctx_stop - (ctx_stop - start) % step
    elif form == "span":
        if reps != 1:
            raise _Bad(
                f"Cylc cannot read R{reps}/START/END in integer cycling",
                f"give the interval instead: R{reps}/{start_text}/P<n>",
            )
        return _Arith(start, 0, None), start, start
    else:
        assert stop is not None
        if reps is not None and reps <= 1:
            return _Arith(stop, 0, None), stop, stop
        assert step is not None
        if reps is not None:
            start = stop - step * (reps - 1)
        else:
            if ctx_stop is None:
                raise _NeedsFinal()
            if step == 0:
                raise _Bad("a zero interval (P0) cannot be counted back", "write R1/P0")
            start = ctx_start - (ctx_stop - ctx_start) % step
    if step:
        # Cylc's own arithmetic, reproduced as is (see the module notes).
        if start < ctx_start:
            start = ctx_start + (ctx_start - start) % step
        if stop is not None and ctx_stop is not None and stop > ctx_stop:
            stop = ctx_stop - step + (ctx_stop - start) % step
    return _Arith(start, step or 0, stop if step else None), start, stop


def _int_point(expr: str, context: int | None) -> int:
    """An integer point: absolute (``5``) or relative to ``context`` (``+P2``)."""
    m = _INT_RELATIVE.fullmatch(expr)
    if m:
        if context is None:
            raise _NeedsFinal()
        n = int(m.group(2))
        return context + (-n if m.group(1) == "-" else n)
    if _INT_ABSOLUTE.fullmatch(expr):
        return int(expr)
    if re.search(r"\d\s*[+-]\s*P\d", expr):
        fix = (
            "Cylc cannot offset ^ or $ in integer recurrences: write +P1 (or R1/+P1) "
            "for a point after the initial point, and R1//-P1 for one before the final point"
        )
    else:
        fix = "use a whole number (5), or an offset +P2 from ^ (start) or -P1 from $ (end)"
    raise _Bad(f"{expr!r} is not an integer cycle point", fix)


def _int_step(text: str) -> int:
    m = re.fullmatch(r"P(\d+)", text)
    if not m:
        raise _Bad(f"{text!r} is not an integer interval", "write an interval as P<n>, e.g. P2")
    return int(m.group(1))


# -- date-time cycling ---------------------------------------------------------------


def _read_datetime(
    text: str,
    main: str,
    excluded: list[str],
    cyc: DateTimeCycling,
    init: TimePoint,
    fin: TimePoint | None,
) -> Sequence:
    if re.search(r"\s", main):
        raise _Bad(
            "date-time recurrences cannot contain spaces (Cylc refuses them)",
            "write " + repr(re.sub(r"\s+", "", text)),
        )
    dom = _Minutes(cyc)
    try:
        rec = _datetime_recurrence(main, cyc, init, fin)
    except _NotASequence as exc:
        raise _Bad(exc.why, exc.fix) from None
    base = _progression(rec, dom)
    ctx_start = rec.start_point if rec.start_point is not None else init
    ctx_end = rec.end_point if rec.end_point is not None else fin
    points: set[TimePoint] = set()
    ariths: list[_Arith] = []
    walks: list[_Walk] = []
    for item in excluded:
        try:
            found = _datetime_exclusion(item, cyc, ctx_start, ctx_end)
        except _NeedsFinal:
            raise
        except (_Bad, PointError) as exc:
            why, fix = (exc.why, exc.fix) if isinstance(exc, _Bad) else _bare(exc)
            raise _Bad(f"in the exclusion {item!r}: {why}", fix) from None
        if isinstance(found, TimePoint):
            points.add(found)
            continue
        prog = _progression(found, dom)
        (ariths if isinstance(prog, _Arith) else walks).append(prog)  # type: ignore[arg-type]
    excl = _Exclusions({dom.to(p) for p in points}, ariths, walks)
    lo, hi = dom.to(init), None if fin is None else dom.to(fin)
    if isinstance(base, _Arith):
        return _ArithSequence(text, dom, base, lo, hi, excl)
    return _WalkSequence(text, dom, base, lo, hi, excl)


def _datetime_recurrence(
    expr: str, cyc: DateTimeCycling, ctx_start: TimePoint, ctx_end: TimePoint | None
) -> TimeRecurrence:
    """One date-time recurrence as ISO 8601 defines it, with Cylc's shorthand filled in."""
    found = _match(_DATETIME_FORMS, expr)
    if found is None:
        raise _Bad(f"{expr!r} is not a date-time recurrence", _DATETIME_HINT)
    g, form = found
    reps = int(g["reps"]) if g.get("reps") else None
    start_raw, start_offsets = _datetime_part(g.get("start"), cyc, ctx_start, form != "backward")
    end_raw, end_offsets = _datetime_part(g.get("end"), cyc, ctx_end, form != "forward", end=True)
    step_text = g.get("step")
    truncated = None
    if start_raw is not None and start_raw.truncated:
        truncated = start_raw
    if end_raw is not None and end_raw.truncated:
        truncated = end_raw
    if step_text is not None:
        step: Duration | None = cyc.interval(step_text)
    elif truncated is not None:
        step = _TRUNCATION_STEP.get(truncated.get_largest_truncated_property_name() or "")
    else:
        step = None
    if form == "span":
        step = None
    elif reps == 1:
        step = Duration(0)
    start = _complete(start_raw, start_offsets, ctx_start, cyc, expr)
    end = _complete(end_raw, end_offsets, ctx_end, cyc, expr, end=True)
    if step and start is None and reps is None:
        assert end is not None
        start, reps = _count_back(end, step, ctx_start, expr)
        end = None
    if reps is not None and reps < 1:
        raise _NotASequence(f"R{reps} repeats nothing", "give R1 or more repetitions")
    if step is None and reps != 1 and (start is None or end is None):
        raise _NotASequence(
            f"{expr!r} is a single date-time, not a recurrence",
            f"write R1/{expr} for one point, or {expr}/P1D to repeat it",
        )
    if step is None and start is not None and end is not None and end < start:
        raise _NotASequence(
            f"in {expr!r} the second point is before the first", "swap the two points"
        )
    span = step if step is not None or start is None or end is None else end - start
    if reps is not None and reps > 1 and span and _years(span) * (reps - 1) > 10000:
        raise _Bad(
            f"R{reps} repetitions of {span} run past the year 9999",
            "use fewer repetitions or a shorter interval",
        )
    try:
        return TimeRecurrence(repetitions=reps, start_point=start, duration=step, end_point=end)
    except Exception as exc:  # isodatetime's own checks
        raise _NotASequence(f"{expr!r} is not a valid ISO 8601 recurrence ({exc})") from None


def _years(step: Duration) -> float:
    """About how many years ``step`` spans (to keep counts within the calendar)."""
    days = (step.weeks or 0) * 7 + (step.days or 0)
    days += (step.hours or 0) / 24 + (step.minutes or 0) / 1440 + (step.seconds or 0) / 86400
    return abs((step.years or 0) + (step.months or 0) / 12 + days / 365.25)


def _datetime_part(
    text: str | None,
    cyc: DateTimeCycling,
    context: TimePoint | None,
    required: bool,
    *,
    end: bool = False,
) -> tuple[TimePoint | None, list[Duration]]:
    """A start or end point as written (maybe truncated), and its offsets."""
    if text is None:
        if not required:
            return None, []
        if context is None:
            raise _NeedsFinal()
        return context, []
    if text.startswith("min("):
        text = cyc.earliest(text, context)
    base, offsets = cyc.split_offsets(text)
    if not base:
        if context is None:
            if end:
                raise _NeedsFinal()
            raise _Bad(f"{text!r} has nothing to be relative to")
        return context, offsets
    return cyc.parse_time(base), offsets


def _complete(
    point: TimePoint | None,
    offsets: list[Duration],
    context: TimePoint | None,
    cyc: DateTimeCycling,
    expr: str,
    *,
    end: bool = False,
) -> TimePoint | None:
    """Fill a truncated point from its context (``T06`` -> the next 06:00), then offset it."""
    if point is None:
        return None
    try:
        if point.truncated:
            if context is None:
                raise _NeedsFinal() if end else _Bad(f"{point} has nothing to be relative to")
            point = point + context
        for off in offsets:
            point = point + off
    except _Bad:
        raise
    except Exception as exc:  # isodatetime's arithmetic errors
        raise _Bad(f"cannot compute a point of {expr!r} ({exc})") from None
    return cyc.point(point)


def _count_back(
    end: TimePoint, step: Duration, ctx_start: TimePoint, expr: str
) -> tuple[TimePoint, int]:
    """Step back from ``end`` to the first point at or before ``ctx_start`` (Cylc's way)."""
    if step.is_exact():
        step_s = round(step.get_seconds())
        gap = round((end - ctx_start).get_seconds())
        n = -(-gap // step_s) if gap > 0 else 0
        total = n * step_s
        start = end - Duration(days=total // 86400, seconds=total % 86400)
        return start, n + 1
    start, reps = end, 1
    try:
        while start > ctx_start:
            start = start - step
            reps += 1
            if reps > 200_000:
                raise _Bad(f"{expr!r} counts back too far", "use a later start or longer step")
    except _Bad:
        raise
    except Exception as exc:  # isodatetime past its calendar range
        raise _Bad(f"cannot count {expr!r} back to the initial point ({exc})") from None
    return start, reps


def _progression(rec: TimeRecurrence, dom: _Minutes) -> _Arith | _Walk:
    """The points of a recurrence: numbered minutes for exact steps, else walked."""
    start, step, end = rec.start_point, rec.duration, rec.end_point
    if rec.repetitions == 1 or not step:
        one = start if start is not None else end
        return _Arith(dom.to(one), 0, None)
    if start is None:
        raise _Bad("this recurrence has no start point")
    if step.is_exact():
        minutes = round(step.get_seconds() / 60)
        return _Arith(dom.to(start), minutes, None if end is None else dom.to(end))
    return _Walk(start, step, end, dom)


def _datetime_exclusion(
    item: str, cyc: DateTimeCycling, ctx_start: TimePoint, ctx_end: TimePoint | None
) -> TimePoint | TimeRecurrence:
    """An exclusion: a point (``20200101T06``) or a recurrence (``T18``, ``PT12H``)."""
    if item.startswith("min("):
        raise _Bad("min() cannot be used in an exclusion", "exclude the points themselves")
    if re.fullmatch(r"([+-]P[^+-]*)+", item):
        raise _Bad(
            "an offset alone is not a point",
            "exclude points (20200101T06, T18+PT1H) or recurrences (T18, PT12H, R1/$)",
        )
    spec = item
    try:
        base, offsets = cyc.split_offsets(item)
        written = cyc.parse_time(base, truncated=False) if base else None
    except PointError:
        written = None
    if written is not None:
        try:
            for off in offsets:
                written = written + off
        except Exception as exc:  # isodatetime cannot offset a truncated point by days
            raise _Bad(f"cannot offset {base!r} ({exc})") from None
        if not written.truncated:
            return cyc.point(written)
        spec = str(written)
    try:
        return _datetime_recurrence(spec, cyc, ctx_start, ctx_end)
    except _NotASequence:
        return cyc.point(spec)
