"""Cycle points and intervals, integer and ISO 8601 date-time.

A *point* is where a cycle sits (``3``, ``2020-01-31T06Z``), an *interval* is the
step between points (``P1``, ``PT6H``, ``P1M``). Points are plain values: ``int``
for integer cycling, metomi-isodatetime ``TimePoint`` (normalised to the
workflow's time zone) for date-time cycling. Both hash, compare and add an
interval with ``+``, so the rest of the package can stay mode-agnostic and ask
its :class:`Cycling` only to read, write and shift them.
"""

from __future__ import annotations

import datetime as _dt
import re
from abc import ABC, abstractmethod
from typing import TypeAlias

from metomi.isodatetime.data import Duration, TimePoint
from metomi.isodatetime.dumpers import TimePointDumper
from metomi.isodatetime.exceptions import ISO8601SyntaxError, IsodatetimeError
from metomi.isodatetime.parsers import DurationParser, TimePointParser

from .errors import PointError

Point: TypeAlias = "int | TimePoint"
Interval: TypeAlias = "int | Duration"

_INT_INTERVAL = re.compile(r"^([+-]?)P(\d+)$")
_INT_POINT = re.compile(r"^[+-]?\d+$")


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

    def add(self, point: Point, interval: Interval) -> Point:
        """The point ``interval`` after ``point`` (before it, for a negative interval)."""
        return point + interval  # type: ignore[operator]

    def sub(self, point: Point, interval: Interval) -> Point:
        """The point ``interval`` before ``point``."""
        return point - interval  # type: ignore[operator]

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
        if not _INT_POINT.match(text):
            hint = (
                "this workflow cycles in integers, not date-times: use a whole number like 1"
                if re.search(r"\d{4}|T\d\d|[-:]", text)
                else "use a whole number like 1"
            )
            raise PointError(
                f"{text!r} is not an integer cycle point", text=text, fix=hint
            )
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
        n = int(interval)  # type: ignore[arg-type]
        return f"-P{-n}" if n < 0 else f"P{n}"

    def zero(self) -> int:
        return 0


class DateTimeCycling(Cycling):
    """ISO 8601 date-time points in one time zone (UTC unless told otherwise).

    ``time_zone`` is an ISO 8601 designator (``Z``, ``+13``, ``-0530``): points
    written without a zone are taken to be in it, and every point is converted
    to it, so equal instants are equal points and format the same way.
    """

    mode = "datetime"
    dump_format = "CCYYMMDDThhmmZ"

    def __init__(self, time_zone: str = "Z") -> None:
        self.time_zone = time_zone
        hours, minutes = _parse_zone(time_zone)
        self._zone = (hours, minutes)
        self._parser = TimePointParser(
            allow_truncated=False,
            assumed_time_zone=(hours, minutes),
        )
        self._durations = DurationParser()
        self._dumper = TimePointDumper()
        utc = hours == 0 and minutes == 0
        self._fmt = "%Y%m%dT%H%MZ" if utc else "%Y%m%dT%H%M" + _zone_suffix(hours, minutes)

    def point(self, value: object) -> TimePoint:
        if isinstance(value, TimePoint):
            return self._normalise(value)
        if isinstance(value, _dt.datetime):
            value = value.isoformat()
        elif isinstance(value, _dt.date):
            value = value.isoformat()
        if isinstance(value, int) and not isinstance(value, bool):
            raise PointError(
                f"{value} is an integer, but this workflow cycles in date-times",
                point=value,
                fix="give a date-time such as 20200101T00Z, or use integer cycling",
            )
        text = str(value).strip()
        try:
            tp = self._parser.parse(text)
        except (IsodatetimeError, ISO8601SyntaxError, ValueError) as exc:
            raise PointError(
                f"{text!r} is not an ISO 8601 date-time cycle point",
                text=text,
                fix="write it like 20200101T00Z or 2020-01-01T00:00Z",
            ) from exc
        return self._normalise(tp)

    def _normalise(self, tp: TimePoint) -> TimePoint:
        if self._zone == (0, 0):
            return tp.to_utc()
        return tp.to_time_zone(_time_zone(*self._zone))

    def interval(self, text: str) -> Duration:
        raw = str(text).strip()
        sign = 1
        body = raw
        if body[:1] in "+-":
            sign = -1 if body[0] == "-" else 1
            body = body[1:]
        try:
            dur = self._durations.parse(body)
        except (IsodatetimeError, ISO8601SyntaxError, ValueError) as exc:
            hint = (
                "date-time cycling takes ISO 8601 durations like PT6H or P1D, "
                "not integer intervals"
                if re.match(r"^P\d+$", body)
                else "write an ISO 8601 duration such as PT6H, P1D or -P1M"
            )
            raise PointError(f"{raw!r} is not a date-time interval", text=raw, fix=hint) from exc
        return dur * -1 if sign < 0 else dur

    def format(self, point: Point) -> str:
        return self._dumper.strftime(point, self._fmt)  # type: ignore[arg-type]

    def format_interval(self, interval: Interval) -> str:
        return str(interval)

    def zero(self) -> Duration:
        return Duration(hours=0)

    def __repr__(self) -> str:
        return f"DateTimeCycling(time_zone={self.time_zone!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DateTimeCycling) and other._zone == self._zone

    def __hash__(self) -> int:
        return hash((DateTimeCycling, self._zone))


def _parse_zone(text: str) -> tuple[int, int]:
    t = text.strip()
    if t in ("Z", "z", "+00", "+0000", "+00:00", ""):
        return (0, 0)
    m = re.match(r"^([+-])(\d\d):?(\d\d)?$", t)
    if not m:
        raise PointError(
            f"{text!r} is not an ISO 8601 time zone", text=text, fix="use Z, +13, -0530 or +05:30"
        )
    sign = -1 if m.group(1) == "-" else 1
    return sign * int(m.group(2)), sign * int(m.group(3) or 0)


def _zone_suffix(hours: int, minutes: int) -> str:
    sign = "-" if hours < 0 or minutes < 0 else "+"
    h, m = abs(hours), abs(minutes)
    return f"{sign}{h:02d}{m:02d}" if m else f"{sign}{h:02d}"


def _time_zone(hours: int, minutes: int):  # noqa: ANN202 - isodatetime type
    from metomi.isodatetime.data import TimeZone

    return TimeZone(hours=hours, minutes=minutes)


def cycling_for(initial: object, time_zone: str | None = None) -> Cycling:
    """Pick the cycling mode a workflow's initial point implies (int -> integer)."""
    if isinstance(initial, int) and not isinstance(initial, bool):
        return IntegerCycling()
    if isinstance(initial, str) and _INT_POINT.match(initial.strip()):
        return IntegerCycling()
    return DateTimeCycling(time_zone or "Z")
