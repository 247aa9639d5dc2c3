"""A truncated point (``T06``, ``W-1``, ``--01``) filled from a full one, as Cylc 8 does.

Cylc 8.5 pins metomi-isodatetime below 3.2 (``<1!3.2.0``), and 3.2 changed
how ``full + truncated`` is computed; Cylc 8 is the reference, so this
module does it the way Cylc's isodatetime (3.1) does, whatever isodatetime
is installed:

- the units of the time of day below a given one are zero (``T06`` is
  06:00:00), but a truncation with no time of day keeps the full point's
  time (``W-1`` from a Wednesday 06:00 is the next Monday 06:00; 3.2 says
  Monday 00:00);
- then each given unit moves forward, smallest first (second, minute, hour,
  day of week, day of month, day of year, week, month, year of decade,
  year of century), to the first time it has the given value, the smaller
  units kept as they are (``--01``, January, from 4 January is 4 January
  itself; 3.2 says 1 January of the next year). A day of the month past the
  end of a month rolls into the next, as isodatetime's own tick-over does.

Every step is isodatetime's own calendar arithmetic, so it holds in the
360day, 365day and 366day calendars too.
"""

from __future__ import annotations

from collections.abc import Callable

from metomi.isodatetime.data import Duration, TimePoint

__all__ = ["add_truncated"]

_WHOLE: dict[str, tuple[int, str]] = {
    "second_of_minute": (60, "seconds"),
    "minute_of_hour": (60, "minutes"),
    "hour_of_day": (24, "hours"),
}


def add_truncated(point: TimePoint, truncated: TimePoint) -> TimePoint:
    """The first point at or after ``point`` that matches ``truncated`` (Cylc 8's reading)."""
    if not truncated.truncated:
        raise ValueError(f"{truncated} is not a truncated point")
    props = dict(truncated.get_truncated_properties() or {})
    if props.get("hour_of_day") is not None and props.get("minute_of_hour") is None:
        props["minute_of_hour"] = 0
    if (
        props.get("hour_of_day") is not None or props.get("minute_of_hour") is not None
    ) and props.get("second_of_minute") is None:
        props["second_of_minute"] = 0
    new = point.to_time_zone(truncated.time_zone)
    for unit, (size, name) in _WHOLE.items():
        want = props.get(unit)
        if want is not None:
            step = (int(want) - int(getattr(new, unit))) % size
            if step:
                new = new + Duration(**{name: step})
    if props.get("day_of_week") is not None:
        want = int(props["day_of_week"])
        step = (want - int(new.to_week_date().day_of_week)) % 7
        if step:
            new = new + Duration(days=step)
    new = _until(new, "day_of_month", props, lambda p: p.to_calendar_date(), Duration(days=1))
    new = _until(new, "day_of_year", props, lambda p: p.to_ordinal_date(), Duration(days=1))
    new = _until(new, "week_of_year", props, lambda p: p.to_week_date(), Duration(days=7))
    if props.get("month_of_year") is not None:
        want = int(props["month_of_year"])
        for _ in range(24):
            if int(new.to_calendar_date().month_of_year) == want:
                break
            new = _next_month(new)
    for unit, factor in (("year_of_decade", 10), ("year_of_century", 100)):
        if props.get(unit) is not None:
            step = (int(props[unit]) - int(new.to_calendar_date().year)) % factor
            if step:
                new = new + Duration(years=step)
    return new.to_time_zone(point.time_zone)


def _until(
    new: TimePoint,
    unit: str,
    props: dict[str, float],
    view: Callable[[TimePoint], TimePoint],
    step: Duration,
) -> TimePoint:
    """Step forward until ``unit`` (read in its own date form) has the given value."""
    want = props.get(unit)
    if want is None:
        return new
    for _ in range(800):
        if int(getattr(view(new), unit)) == int(want):
            return new
        new = new + step
    raise ValueError(f"no point has {unit} {want}")


def _next_month(point: TimePoint) -> TimePoint:
    """The same day of the next month, rolling past the month's end (31 Jan -> 2 or 3 Mar)."""
    day = int(point.to_calendar_date().day_of_month)
    first = point + Duration(days=1 - day)
    return first + Duration(months=1) + Duration(days=day - 1)
