"""ISO 8601 date-time recurrences (``PT6H``, ``T00``, ``R3/^/PT12H``, ``PT6H!T18``) as sequences."""

from __future__ import annotations

import re
from typing import Literal

from metomi.isodatetime.data import Duration, TimePoint, TimeRecurrence

from ..errors import PointError
from .datetimes import DateTimeCycling
from .forms import (
    DATETIME_FORMS,
    DATETIME_HINT,
    Bad,
    NeedsFinal,
    NotASequence,
    bare_message,
    match_form,
)
from .minutes import Minutes
from .sequence import Arith, ArithSequence, Exclusions, Sequence, Walk, WalkSequence
from .truncation import add_truncated

Form = Literal["forward", "backward", "span"]


# The period a truncated point implies when no interval is given (``T06``: daily).
TRUNCATION_STEP = {
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


def read_datetime(
    text: str,
    main: str,
    excluded: list[str],
    cyc: DateTimeCycling,
    init: TimePoint,
    fin: TimePoint | None,
) -> Sequence:
    # Cylc reads the points inside min(...) one by one, so spaces there are fine.
    main = re.sub(r"min\(([^)]*)\)", lambda m: "min(" + re.sub(r"\s+", "", m[1]) + ")", main)
    if re.search(r"\s", main):
        raise Bad(
            "date-time recurrences cannot contain spaces (Cylc refuses them)",
            "write " + repr(re.sub(r"\s+", "", text)),
        )
    dom = Minutes(cyc)
    try:
        rec = _datetime_recurrence(main, cyc, init, fin)
    except NotASequence as exc:
        raise Bad(exc.why, exc.fix) from None
    base = _progression(rec, dom)
    ctx_start = rec.start_point if rec.start_point is not None else init
    ctx_end = rec.end_point if rec.end_point is not None else fin
    points: set[TimePoint] = set()
    ariths: list[Arith] = []
    walks: list[Walk] = []
    for item in excluded:
        try:
            found = _datetime_exclusion(item, cyc, ctx_start, ctx_end)
        except NeedsFinal:
            raise
        except (Bad, PointError) as exc:
            why, fix = (exc.why, exc.fix) if isinstance(exc, Bad) else bare_message(exc)
            raise Bad(f"in the exclusion {item!r}: {why}", fix) from None
        if isinstance(found, TimePoint):
            points.add(found)
            continue
        prog = _progression(found, dom)
        (ariths if isinstance(prog, Arith) else walks).append(prog)  # type: ignore[arg-type]
    excl = Exclusions({dom.to(p) for p in points}, ariths, walks)
    lo, hi = dom.to(init), None if fin is None else dom.to(fin)
    if isinstance(base, Arith):
        return ArithSequence(text, dom, base, lo, hi, excl)
    return WalkSequence(text, dom, base, lo, hi, excl)


def _datetime_recurrence(
    expr: str, cyc: DateTimeCycling, ctx_start: TimePoint, ctx_end: TimePoint | None
) -> TimeRecurrence:
    """One date-time recurrence as ISO 8601 defines it, with Cylc's shorthand filled in."""
    found = match_form(DATETIME_FORMS, expr)
    if found is None:
        raise Bad(f"{expr!r} is not a date-time recurrence", DATETIME_HINT)
    g, form = found
    reps_text = g.get("reps")
    reps = int(reps_text) if reps_text else None
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
        step = TRUNCATION_STEP.get(truncated.get_largest_truncated_property_name() or "")
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
        raise NotASequence(f"R{reps} repeats nothing", "give R1 or more repetitions")
    if step is None and reps != 1 and (start is None or end is None):
        raise NotASequence(
            f"{expr!r} is a single date-time, not a recurrence",
            f"write R1/{expr} for one point, or {expr}/P1D to repeat it",
        )
    if step is None and start is not None and end is not None and end < start:
        raise NotASequence(
            f"in {expr!r} the second point is before the first", "swap the two points"
        )
    span = step if step is not None or start is None or end is None else end - start
    if reps is not None and reps > 1 and span and _years(span) * (reps - 1) > 10000:
        raise Bad(
            f"R{reps} repetitions of {span} run past the year 9999",
            "use fewer repetitions or a shorter interval",
        )
    try:
        return TimeRecurrence(repetitions=reps, start_point=start, duration=step, end_point=end)
    except Exception as exc:  # isodatetime's own checks
        raise NotASequence(f"{expr!r} is not a valid ISO 8601 recurrence ({exc})") from None


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
            raise NeedsFinal()
        return context, []
    if text.startswith("min("):
        text = cyc.earliest(text, context)
    base, offsets = cyc.split_offsets(text)
    if not base:
        if context is None:
            if end:
                raise NeedsFinal()
            raise Bad(f"{text!r} has nothing to be relative to")
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
                raise NeedsFinal() if end else Bad(f"{point} has nothing to be relative to")
            point = add_truncated(context, point)
        for off in offsets:
            point = point + off
    except Bad:
        raise
    except Exception as exc:  # isodatetime's arithmetic errors
        raise Bad(f"cannot compute a point of {expr!r} ({exc})") from None
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
                raise Bad(f"{expr!r} counts back too far", "use a later start or longer step")
    except Bad:
        raise
    except Exception as exc:  # isodatetime past its calendar range
        raise Bad(f"cannot count {expr!r} back to the initial point ({exc})") from None
    return start, reps


def _progression(rec: TimeRecurrence, dom: Minutes) -> Arith | Walk:
    """The points of a recurrence: numbered minutes for exact steps, else walked."""
    start, step, end = rec.start_point, rec.duration, rec.end_point
    if rec.repetitions == 1 or not step:
        one = start if start is not None else end
        return Arith(dom.to(one), 0, None)
    if start is None:
        raise Bad("this recurrence has no start point")
    if step.is_exact():
        minutes = round(step.get_seconds() / 60)
        return Arith(dom.to(start), minutes, None if end is None else dom.to(end))
    return Walk(start, step, end, dom)


def _datetime_exclusion(
    item: str, cyc: DateTimeCycling, ctx_start: TimePoint, ctx_end: TimePoint | None
) -> TimePoint | TimeRecurrence:
    """An exclusion: a point (``20200101T06``) or a recurrence (``T18``, ``PT12H``)."""
    if item.startswith("min("):
        raise Bad("min() cannot be used in an exclusion", "exclude the points themselves")
    if re.fullmatch(r"([+-]P[^+-]*)+", item):
        raise Bad(
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
            raise Bad(f"cannot offset {base!r} ({exc})") from None
        if not written.truncated:
            return cyc.point(written)
        spec = str(written)
    try:
        return _datetime_recurrence(spec, cyc, ctx_start, ctx_end)
    except NotASequence:
        return cyc.point(spec)
