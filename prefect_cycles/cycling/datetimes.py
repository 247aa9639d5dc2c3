"""ISO 8601 date-time cycling: reading, writing and shifting date-time points as Cylc 8 does.

Points are metomi-isodatetime ``TimePoint`` values, normalised to the
workflow's time zone and to the minute; the spellings are tabled in
:mod:`~prefect_cycles.cycling.points`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable

from metomi.isodatetime.data import Duration, TimePoint, TimeZone
from metomi.isodatetime.dumpers import TimePointDumper
from metomi.isodatetime.exceptions import IsodatetimeError
from metomi.isodatetime.parsers import DurationParser, TimePointParser

from ..errors import PointError
from .calendars import CALENDARS, use_calendar
from .points import INT_POINT, Cycling, Interval, Point
from .truncation import add_truncated

#: Cylc 8's default date-time point format, before the time zone suffix.
CYLC_POINT_FORMAT = "CCYYMMDDThhmm"


_TRUNCATION_PREFIXES = (
    ("---", (re.compile(r"^\d\dT"),)),
    ("--", (re.compile(r"^\d\d\d\dT"),)),
    (
        "-",
        (
            re.compile(r"^\d\d\dT"),
            re.compile(r"\dW\d\dT"),
            re.compile(r"W\d\d\d?T"),
            re.compile(r"W-\dT"),
            re.compile(r"W-\d"),
        ),
    ),
)


_HAS_OFFSET = re.compile(r"[+-]P.+$")


_OFFSET_START = re.compile(r"[+-]P")


_OFFSET = re.compile(r"[+-]P[^+-]*")


_WALL_CLOCK = re.compile(r"^(now|next\s*\(|previous\s*\()")


class DateTimeCycling(Cycling):
    """ISO 8601 date-time points in one time zone (UTC, ``Z``, unless told otherwise).

    ``time_zone`` is what ``[scheduler]cycle point time zone`` takes in Cylc: an
    ISO 8601 basic-format designator (``Z``, ``+13``, ``-0530``, ``+0000``).
    Points written without a zone are taken to be in it, every point is
    converted to it, and points are written ``CCYYMMDDThhmm`` followed by that
    very text, exactly as Cylc writes them.

    ``point_format`` is ``[scheduler]cycle point format`` (``%Y%m%dT%H``,
    ``CCYY``...): how points are written everywhere (reference text, task
    run names, pictures); ``expanded_year_digits`` is ``cycle point num
    expanded year digits`` (points such as ``+0020100101T0000Z``). Neither
    changes what a point is.
    """

    mode = "datetime"

    def __init__(
        self,
        time_zone: str | None = "Z",
        point_format: str | None = None,
        expanded_year_digits: int = 0,
        calendar: str = "gregorian",
    ) -> None:
        if calendar not in CALENDARS:
            raise PointError(
                f"unknown calendar {calendar!r}",
                text=calendar,
                fix=f"use one of {', '.join(CALENDARS)}",
            )
        self.calendar = calendar
        use_calendar(calendar)
        tz = "Z" if time_zone is None or not str(time_zone).strip() else str(time_zone).strip()
        self.time_zone = tz
        self._zone = _parse_zone(tz)
        self.expanded_year_digits = expanded_year_digits
        if point_format is not None:
            _check_point_format(point_format)
        if point_format is not None and expanded_year_digits and "+X" not in point_format:
            raise PointError(
                f"the cycle point format {point_format!r} has no room for expanded years",
                text=point_format,
                fix="start it with +X (e.g. +XCCYYMMDDThhmmZ), or drop cycle point num "
                "expanded year digits",
            )
        #: The full form points are read and normalised in (minutes and zone kept).
        self.dump_format = ("+X" if expanded_year_digits else "") + CYLC_POINT_FORMAT + tz
        #: The form points are written in (Cylc's ``cycle point format``).
        self.point_format = point_format or self.dump_format
        self._tz = TimeZone(hours=self._zone[0], minutes=self._zone[1])
        self._parser = TimePointParser(
            allow_only_basic=False,
            allow_truncated=True,
            assumed_time_zone=self._zone,
            dump_format=self.dump_format,
            num_expanded_year_digits=expanded_year_digits,
        )
        self._durations = DurationParser()
        self._dumper = TimePointDumper(num_expanded_year_digits=expanded_year_digits)

    @property
    def zone(self) -> tuple[int, int]:
        """The time zone's offset from UTC as (hours, minutes), both negative west of UTC."""
        return self._zone

    # -- points -------------------------------------------------------------------

    def point(self, value: object) -> TimePoint:
        use_calendar(self.calendar)
        if isinstance(value, TimePoint):
            if value.truncated:
                raise PointError(
                    f"{value} is a truncated date-time, not a cycle point",
                    text=str(value),
                    fix="give a full date-time such as 20200101T00Z",
                )
            return self._normalise(value)
        if isinstance(value, (_dt.datetime, _dt.date)):
            value = value.isoformat()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise PointError(
                f"{value} is a number, but this workflow cycles in date-times",
                point=value,
                fix="give a date-time such as 20200101T00Z, or use integer cycling",
            )
        text = str(value).strip()
        if _WALL_CLOCK.match(text):
            raise PointError(
                f"{text!r} depends on the wall clock",
                text=text,
                fix="give a fixed date-time such as 20200101T00Z (now/next()/previous() "
                "are not supported)",
            )
        tp = self.parse_time(text, what="cycle point")
        if tp.truncated:
            raise PointError(
                f"{text!r} is a truncated date-time, not a cycle point",
                text=text,
                fix="write the full date, e.g. 20200101T06 rather than T06",
            )
        return self._normalise(tp)

    def _normalise(self, tp: TimePoint) -> TimePoint:
        """The same instant in the workflow's zone, to the minute, as a calendar date."""
        try:
            text = self._dumper.dump(tp, self.dump_format)
            return self._parser.parse(text)
        except Exception as exc:  # isodatetime raises several types for out-of-range years
            raise PointError(
                f"a date-time in the year {getattr(tp, 'year', '?')} cannot be a cycle point",
                fix="keep cycle points between the years 0 and 9999",
            ) from exc

    def parse_time(
        self, text: str, *, truncated: bool = True, what: str = "date-time"
    ) -> TimePoint:
        """Read an ISO 8601 date-time, possibly truncated (``T06``, ``01T00``), as Cylc does.

        ``truncated=False`` skips Cylc's second try with the dashes a truncated
        point leaves out (``01T00`` is read as ``---01T00``); the first try
        already accepts the usual truncated forms (``T06``, ``-W-1``).
        """
        raw = text.strip()
        if re.fullmatch(r"\d\d", raw):
            raise PointError(
                f"{raw!r}: 2-digit centuries are not allowed",
                text=raw,
                fix="did you mean an hour such as T00?",
            )
        body = raw + "00" if raw.endswith("T") else raw
        try:
            return self._parser.parse(body)
        except Exception:  # isodatetime raises several error types for bad text
            pass
        if truncated:
            for prefix, shapes in _TRUNCATION_PREFIXES:
                if any(shape.search(raw) for shape in shapes):
                    try:
                        return self._parser.parse(prefix + body)
                    except Exception:  # try the next shape, as Cylc does
                        continue
        hint = (
            "this workflow cycles in date-times: write a point like 20200101T00"
            if INT_POINT.match(raw)
            else "write it like 20200101T00Z, 2020-01-01T00:00Z, or truncated like T06"
        )
        raise PointError(f"{raw!r} is not an ISO 8601 {what}", text=raw, fix=hint)

    def split_offsets(self, text: str) -> tuple[str, list[Duration]]:
        """Split ``20200101T00+P1D-PT6H`` into ``20200101T00`` and its offsets, in order."""
        raw = text.strip()
        if not _HAS_OFFSET.search(raw):
            return raw, []
        start = _OFFSET_START.search(raw)
        assert start is not None  # _HAS_OFFSET matched
        base, rest = raw[: start.start()], raw[start.start() :]
        pieces = _OFFSET.findall(rest)
        if "".join(pieces) != rest:
            raise PointError(
                f"cannot read the offsets in {raw!r}",
                text=raw,
                fix="chain offsets as +P1D-PT6H after the point",
            )
        return base.strip(), [self.interval(p) for p in pieces]

    def expression(
        self, text: str, context: TimePoint | None, *, truncated: bool = True
    ) -> TimePoint | None:
        """Resolve a Cylc point expression against ``context``.

        ``20200101T00``, ``T06`` (the first 06:00 at or after ``context``),
        ``+PT6H`` (``context`` plus 6 hours), ``T06-PT1H``, ``min(T06, T03)``.
        Returns None when the expression is only offsets and there is no context.
        """
        raw = text.strip()
        if raw.startswith("min("):
            raw = self.earliest(raw, context)
        base, offsets = self.split_offsets(raw)
        if not base:
            if context is None:
                return None
            point = context
        else:
            tp = self.parse_time(base, truncated=truncated)
            if tp.truncated:
                if context is None:
                    raise PointError(
                        f"the truncated point {base!r} needs a context point",
                        text=raw,
                        fix="write a full date-time",
                    )
                tp = _checked_sum(lambda: add_truncated(context, tp), raw)
            point = tp
        for off in offsets:
            point = _checked_add(point, off, raw)
        return self._normalise(point)

    def earliest(self, raw: str, context: TimePoint | None) -> str:
        """The text of the earliest point in ``min(a, b, ...)`` (Cylc's ``min()``)."""
        m = re.fullmatch(r"min\(([^)]+)\)", raw)
        if not m:
            raise PointError(
                f"cannot read {raw!r}", text=raw, fix="write min(T06, T03) with nothing after it"
            )
        best: tuple[TimePoint, str] | None = None
        for item in (s.strip() for s in m.group(1).split(",")):
            tp = self.expression(item, context) if item else None
            if tp is None:
                raise PointError(f"cannot read {item!r} in {raw!r}", text=raw)
            if best is None or tp < best[0]:
                best = (tp, item)
        assert best is not None
        return best[1]

    def final_point(self, value: object, initial: Point) -> TimePoint | None:
        """Absolute, or offsets from ``initial`` (``+P1D``, ``+P1D-PT6H``), as Cylc reads it.

        A truncated final point (``T18``) is the first such time at or after
        the initial point.
        """
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            return self.point(value)
        text = value.strip()
        parts = [p for p in re.split(r"([+-])", text) if p.strip()]
        sign, point = 1, _time_point(initial)
        try:
            for part in parts:
                if part in "+-":
                    sign = -1 if part == "-" else 1
                    continue
                dur = self._durations.parse(part.strip())
                point = _checked_add(point, dur * sign, text)
                sign = 1
        except PointError:
            raise
        except Exception:  # not a chain of durations: a point, maybe with offsets
            tp = self.expression(text.replace(" ", ""), _time_point(initial))
            assert tp is not None
            return tp
        return self._normalise(point)

    # -- intervals ----------------------------------------------------------------

    def interval(self, text: str) -> Duration:
        raw = str(text).strip()
        body, negative = raw, False
        if body[:1] in ("+", "-"):
            negative, body = body[0] == "-", body[1:]
        try:
            dur = self._durations.parse(body)
        except Exception as exc:  # isodatetime raises several error types for bad text
            hint = (
                "date-time cycling takes ISO 8601 durations like PT6H or P1D, not integer intervals"
                if re.match(r"^P\d+$", body)
                else "write an ISO 8601 duration such as PT6H, P1D or -P1M"
            )
            raise PointError(f"{raw!r} is not a date-time interval", text=raw, fix=hint) from exc
        if not whole_minutes(dur):
            raise PointError(
                f"{raw!r} is not a whole number of minutes",
                text=raw,
                fix="cycle points are precise to the minute: use e.g. PT1M or PT90M",
            )
        return dur * -1 if negative else dur

    def format(self, point: Point) -> str:
        use_calendar(self.calendar)
        try:
            return self._dumper.dump(_time_point(point), self.point_format)
        except (IsodatetimeError, ValueError, OverflowError):
            year = getattr(point, "year", "?")
            raise PointError(
                f"a cycle point in the year {year} is outside the years 0 to 9999 that cycle "
                "points can be written in",
                fix="keep points and offsets within the years 0 to 9999 (a nearer final point, "
                "or a smaller offset)",
            ) from None

    def add(self, point: Point, interval: Interval) -> Point:
        use_calendar(self.calendar)
        return _time_point(point) + _duration(interval)

    def sub(self, point: Point, interval: Interval) -> Point:
        use_calendar(self.calendar)
        return _time_point(point) - _duration(interval)

    def format_full(self, point: Point) -> str:
        """A point in the full form it is read in (minutes and zone), whatever the point format."""
        return self._dumper.dump(_time_point(point), self.dump_format)

    def format_interval(self, interval: Interval) -> str:
        return str(interval)

    def zero(self) -> Duration:
        return Duration(hours=0)

    def _key(self) -> tuple[str, str, int, str]:
        return (self.time_zone, self.point_format, self.expanded_year_digits, self.calendar)

    def __repr__(self) -> str:
        extra = "" if self.point_format == self.dump_format else f", {self.point_format!r}"
        if self.expanded_year_digits:
            extra += f", expanded_year_digits={self.expanded_year_digits}"
        if self.calendar != "gregorian":
            extra += f", calendar={self.calendar!r}"
        return f"DateTimeCycling(time_zone={self.time_zone!r}{extra})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DateTimeCycling) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash((DateTimeCycling, self._key()))


def _check_point_format(text: str) -> None:
    """Cylc's rules for ``cycle point format``: no ``/`` or ``:``, and it must dump a point."""
    for bad in "/:":
        if bad in text:
            raise PointError(
                f"the cycle point format {text!r} holds {bad!r}, which Cylc refuses "
                "(points name directories)",
                text=text,
                fix="drop the character, e.g. CCYYMMDDThhmmZ or %Y%m%dT%H",
            )
    sample = TimePoint(year=2001, month_of_year=3, day_of_month=1, hour_of_day=4, minute_of_hour=30)
    digits = range(1, 101) if "X" in text and "%" not in text else range(1)
    for n in digits:
        try:
            TimePointDumper(num_expanded_year_digits=n).dump(sample, text)
            return
        except Exception:  # isodatetime raises several types for a bad format
            continue
    raise PointError(
        f"{text!r} is not a cycle point format",
        text=text,
        fix="use ISO 8601 units (CCYYMMDDThhmmZ) or strftime codes (%Y%m%dT%H)",
    )


def whole_minutes(dur: Duration) -> bool:
    """True when ``dur`` has whole years and months and its exact part is whole minutes."""
    if any(v is not None and v != int(v) for v in (dur.years, dur.months)):
        return False
    seconds = (
        ((dur.weeks or 0) * 7 + (dur.days or 0)) * 86400
        + (dur.hours or 0) * 3600
        + (dur.minutes or 0) * 60
        + (dur.seconds or 0)
    )
    return math.isclose(seconds / 60, round(seconds / 60), abs_tol=1e-6)


def _time_point(point: Point) -> TimePoint:
    """``point`` as a date-time; an integer point here is a mix-up of two cyclings."""
    if not isinstance(point, TimePoint):
        raise PointError(
            f"{point!r} is an integer cycle point, but this workflow cycles in date-times",
            fix="give date-time points such as 20200101T00Z",
        )
    return point


def _duration(interval: Interval) -> Duration:
    """``interval`` as a duration; an integer here is a mix-up of two cyclings."""
    if not isinstance(interval, Duration):
        raise PointError(
            f"{interval!r} is an integer interval, but this workflow cycles in date-times",
            fix="give durations such as PT6H",
        )
    return interval


def _checked_add(point: TimePoint, offset: Duration, text: str) -> TimePoint:
    """``point + offset``, its failures a PointError on ``text``."""
    return _checked_sum(lambda: point + offset, text)


def _checked_sum(add: Callable[[], TimePoint], text: str) -> TimePoint:
    """Run an isodatetime addition, turning its failures into a PointError on ``text``."""
    try:
        return add()
    except PointError:
        raise
    except Exception as exc:  # isodatetime raises several error types
        raise PointError(
            f"cannot compute the point {text!r}",
            text=text,
            fix="check the offsets and keep points between the years 0 and 9999",
        ) from exc


def _parse_zone(text: str) -> tuple[int, int]:
    """Hours and minutes of a time zone, accepting what Cylc accepts (basic format)."""
    probe = "20010301T043054" + text
    try:
        TimePointParser(allow_only_basic=True).parse(probe)
        zone = TimePointDumper().get_time_zone(text)
    except Exception:  # isodatetime raises several error types for bad text
        zone = None
    if zone is None:
        hint = (
            f"write it in basic format, {text.replace(':', '')}"
            if re.fullmatch(r"[+-]\d\d:\d\d", text)
            else "use Z, +13, -0530 or +0000 (ISO 8601 basic format)"
        )
        raise PointError(f"{text!r} is not an ISO 8601 time zone", text=text, fix=hint)
    return zone
