"""Cycle points that depend on the wall clock: ``now``, ``next(T00)``, ``previous(T00) - P1D``.

Cylc resolves these in ``[scheduling]initial cycle point`` when a workflow
starts (``cycling/iso8601.py``: ``ingest_time`` and ``prev_next``), and so
does prefect-cycles: at load time for ``graph`` and ``validate``, and again
at the start of every flow run (so a deployment started each day starts at
that day's point). The forms, as Cylc 8.5 reads them:

- ``now``: the current time (to the minute);
- ``PT1H``, ``-P1D``: an offset from now;
- ``T06``, ``01T00``: a truncated point, the next such time at or after now;
- ``next(T00)``, ``previous(T06)``: the nearest such time after (before) now,
  where ``previous`` steps back by the next larger unit than the point
  names (a day for ``T06``); several candidates may be given,
  ``next(T00;T12)``, and the nearest wins; an offset may follow,
  ``previous(T00) - PT6H``. White space is ignored.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING

from metomi.isodatetime.data import Duration, TimePoint
from metomi.isodatetime.parsers import DurationParser

from ..errors import PointError
from .truncation import add_truncated

if TYPE_CHECKING:
    from .datetimes import DateTimeCycling

__all__ = ["is_wall_clock", "resolve_wall_clock", "utc_now_point"]

_GO_BACK = {
    "minute_of_hour": "PT1M",
    "hour_of_day": "PT1H",
    "day_of_week": "P1D",
    "day_of_month": "P1D",
    "day_of_year": "P1D",
    "week_of_year": "P1W",
    "month_of_year": "P1M",
    "year_of_decade": "P1Y",
    "decade_of_century": "P10Y",
    "year_of_century": "P1Y",
    "century": "P100Y",
}

_FIX = "write e.g. now, next(T00), previous(T06) - PT6H or next(T00;T12) (';' between times)"


def is_wall_clock(text: str) -> bool:
    """Whether a point written this way depends on when it is read (Cylc's ``ingest_time``)."""
    value = text.replace(" ", "")
    if value == "now" or "next" in value or "previous" in value:
        return True
    return value.startswith(("P", "-P"))


def utc_now_point() -> TimePoint:
    """The current time, to the second, in UTC (Cylc's ``get_current_time_string``)."""
    now = _dt.datetime.now(_dt.timezone.utc)
    return TimePoint(
        year=now.year,
        month_of_year=now.month,
        day_of_month=now.day,
        hour_of_day=now.hour,
        minute_of_hour=now.minute,
        second_of_minute=now.second,
        time_zone_hour=0,
        time_zone_minute=0,
    )


def resolve_wall_clock(text: str, cycling: DateTimeCycling, now: TimePoint | None = None) -> str:
    """The point ``text`` stands for at time ``now`` (default: the current time), as text.

    Truncated points (``T06``) resolve too. Anything else is returned as given.
    """
    value = text.replace(" ", "")
    if re.fullmatch(r"\d+", value) or (value.startswith(("-", "+")) and "P" not in value):
        return value
    prev_next = "next" in value or "previous" in value
    offset_only = value.startswith(("P", "-P"))
    truncated: TimePoint | None = None
    if not (prev_next or offset_only or value == "now"):
        tp = cycling.parse_time(value, truncated=False)
        if not tp.truncated:
            return value
        truncated = tp
    here = now if now is not None else utc_now_point()
    if value == "now":
        return _standardise(here, cycling)
    if re.search(r"\(-\d{2}[);T]", value):  # Cylc: a year-only truncation looks a year on
        here += Duration(years=1)
    elif re.search(r"\(-\d{4}[);T]", value):
        here += Duration(months=1)
    offset: str | None = None
    if prev_next and cycling.calendar != "gregorian":
        raise PointError(
            f"previous()/next() need the gregorian calendar, not {cycling.calendar} ({text!r})",
            text=text,
            fix="give an explicit initial cycle point, as Cylc requires",
        )
    if prev_next:
        point, offset = _prev_next(value, here, cycling)
    elif offset_only:
        point, offset = here, value
    else:
        assert truncated is not None
        point = add_truncated(here, truncated)
    if offset:
        try:
            point += DurationParser().parse(offset.replace("+", ""))
        except Exception:  # isodatetime raises several types
            raise PointError(f"bad offset {offset!r} in {text!r}", text=text, fix=_FIX) from None
    return _standardise(point, cycling)


def _standardise(point: TimePoint, cycling: DateTimeCycling) -> str:
    """The point as Cylc keeps it: written in the cycle point format and read back.

    Cylc's ``ISO8601Point.standardise`` drops what the format does not show:
    the seconds of ``now`` always, and the time of day for ``%Y%m%d``.
    """
    return cycling.format_full(cycling.point(cycling.format(cycling.point(point))))


def _prev_next(
    value: str, now: TimePoint, cycling: DateTimeCycling
) -> tuple[TimePoint, str | None]:
    """Cylc's ``prev_next``: the nearest of the candidate times, and the offset after ``)``."""
    try:
        direction, rest = value.split("(", 1)
        inner, offset = rest.split(")", 1)
    except ValueError:
        raise PointError(f"cannot read {value!r}", text=value, fix=_FIX) from None
    if direction not in ("next", "previous"):
        raise PointError(f"cannot read {value!r}", text=value, fix=_FIX)
    candidates: list[TimePoint] = []
    for item in inner.split(";"):
        if "," in item:
            raise PointError(
                f"invalid offset {item!r}: offset lists are semicolon separated",
                text=value,
                fix=f"try {item.replace(',', ';')}",
            )
        try:
            parsed = cycling.parse_time(item.strip(), truncated=False)
        except PointError:
            raise
        candidate = add_truncated(now, parsed)
        if direction == "previous":
            unit = parsed.get_smallest_missing_property_name() or "minute_of_hour"
            candidate -= DurationParser().parse(_GO_BACK[unit])
        candidates.append(candidate)
    diffs = [abs(c - now) for c in candidates]
    point = candidates[diffs.index(min(diffs))]
    date_only = "T" not in value.split(")")[0]
    year_only = re.search(r"\(-\d{2}[);T]", value) is not None
    month_only = re.search(r"\(-(-\d{2}|\d{4})[;T)]", value) is not None
    if date_only or year_only or month_only:
        point = point.to_calendar_date()  # a week date's year is its week-year
        fields = {
            "year": point.year,
            "month_of_year": point.month_of_year,
            "day_of_month": point.day_of_month,
            "hour_of_day": point.hour_of_day,
            "minute_of_hour": point.minute_of_hour,
        }
        if date_only:
            fields.update(hour_of_day=0, minute_of_hour=0)
        if year_only:
            fields.update(month_of_year=1, day_of_month=1)
        elif month_only:
            fields.update(day_of_month=1)
        point = TimePoint(
            **fields,
            second_of_minute=0,
            time_zone_hour=point.time_zone.hours,
            time_zone_minute=point.time_zone.minutes,
        )
    return point, offset.strip() or None
