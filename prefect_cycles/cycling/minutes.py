"""Date-time points as whole minutes since 1970-01-01T00Z, and back.

Sequences do their arithmetic on integer keys: the point itself in integer
cycling, minutes in date-time cycling. Keys keep isodatetime (slow) out of the
inner loops: a date-time point is built once, by one addition.
"""

from __future__ import annotations

import math
from typing import Literal

from metomi.isodatetime.data import Duration, TimePoint

from .datetimes import DateTimeCycling
from .points import Point

Form = Literal["forward", "backward", "span"]


#: Days before each month, for the calendars whose years are all alike.
_FIXED = {
    "360day": (360, tuple(30 * i for i in range(12))),
    "365day": (365, (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)),
    "366day": (366, (0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335)),
}


def _days_in(calendar: str, y: int, m: int, d: int) -> int:
    """Days from 1970-01-01 to a date of ``calendar``."""
    if calendar == "gregorian":
        return _days(y, m, d)
    year, before = _FIXED[calendar]
    return (y - 1970) * year + before[m - 1] + d - 1


def _civil_in(calendar: str, z: int) -> tuple[int, int, int]:
    """The date of ``calendar`` ``z`` days after 1970-01-01 (inverse of _days_in)."""
    if calendar == "gregorian":
        return _civil(z)
    year, before = _FIXED[calendar]
    y, doy = divmod(z, year)
    m = max(i for i, b in enumerate(before) if b <= doy)
    return 1970 + y, m + 1, doy - before[m] + 1


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
LAST_MINUTE = _days(10000, 1, 1) * 1440 - 1


class Domain:
    """Keys of integer points: the points themselves."""

    def to(self, point: Point) -> int:
        return point  # type: ignore[return-value]

    def back(self, key: int, near: Point | None = None, near_key: int | None = None) -> Point:
        return key

    def accepts(self, point: object) -> bool:
        return isinstance(point, int) and not isinstance(point, bool)


class Minutes(Domain):
    """Keys of date-time points: minutes since 1970-01-01T00Z."""

    def __init__(self, cyc: DateTimeCycling) -> None:
        self.cyc = cyc
        self.calendar = cyc.calendar
        hours, minutes = cyc.zone
        self.zone, self.offset = (hours, minutes), hours * 60 + minutes

    def to(self, point: Point) -> int:
        p: TimePoint = point  # type: ignore[assignment]
        if not self._canonical(p):
            p = self.cyc.point(p)
        minutes = (
            (p.hour_of_day or 0) * 60 + (p.minute_of_hour or 0) + (p.second_of_minute or 0) / 60
        )
        day = _days_in(self.calendar, p.year, p.month_of_year, p.day_of_month)
        return day * 1440 + math.floor(minutes + 1e-9) - self.offset

    def back(self, key: int, near: Point | None = None, near_key: int | None = None) -> Point:
        if near_key is not None and self._canonical(near):
            if key == near_key:
                return near  # type: ignore[return-value]
            days, minutes = divmod(key - near_key, 1440)
            return self.cyc.add(near, Duration(days=days, minutes=minutes))  # type: ignore[arg-type]
        days, minutes = divmod(key + self.offset, 1440)
        y, m, d = _civil_in(self.calendar, days)
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
            num_expanded_year_digits=self.cyc.expanded_year_digits,
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
