"""Clock triggers: when the wall clock lets a date-time cycle point start.

Cylc's ``wall_clock`` xtrigger holds a task until the real time reaches its
cycle point plus an offset, so real-time cycling keeps in step with the clock,
while points already in the past run at once (catch-up). This module holds the
arithmetic from a point to a UTC time and the reading of Cylc's
``wall_clock(offset=PT1H)`` declarations. The model stores the triggers
(:class:`~prefect_cycles.graph.conditions.ClockTrigger`), the decorators spell them
(:func:`~prefect_cycles.frontends.refs.wall_clock`), and the scheduler asks the clock.
"""

from __future__ import annotations

import datetime as _dt
import re

from metomi.isodatetime.data import Duration, TimePoint
from metomi.isodatetime.parsers import DurationParser

from ..errors import PointError, ValidationError

__all__ = ["WALL_CLOCK", "clock_time", "parse_call", "parse_offset", "utc_now"]

#: The xtrigger function (and the label usable undeclared, ``@wall_clock``) Cylc provides.
WALL_CLOCK = "wall_clock"

#: A Cylc xtrigger declaration: ``func(args)`` with an optional ``:PT1M`` check interval.
_CALL = re.compile(r"^\s*([\w.]+)\s*\((.*)\)\s*(?::\s*[\w.]+)?\s*$", re.DOTALL)

_OFFSET_HELP = "give an ISO 8601 duration such as PT1H, -PT30M, P1D or PT10S"


def parse_offset(text: object, *, task: str | None = None) -> tuple[str, Duration]:
    """Read a clock offset (``PT1H``, ``-PT30M``, ``P1D``, a ``timedelta``): text and duration.

    Unlike cycle intervals, a clock offset may hold seconds, as Cylc's does.
    """
    if isinstance(text, _dt.timedelta):
        text = _timedelta_text(text)
    if not isinstance(text, str):
        raise PointError(
            f"a clock offset must be a duration, not {text!r}", task=task, fix=_OFFSET_HELP
        )
    raw = text.strip().strip("'\"").strip()
    body, negative = raw, False
    if body[:1] in ("+", "-"):
        negative, body = body[0] == "-", body[1:]
    try:
        dur = DurationParser().parse(body)
    except Exception:  # isodatetime raises several error types for bad text
        raise PointError(
            f"{raw!r} is not a clock offset", task=task, text=raw or None, fix=_OFFSET_HELP
        ) from None
    return raw, dur * -1 if negative else dur


def _timedelta_text(delta: _dt.timedelta) -> str:
    seconds = delta.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    whole = int(seconds)
    return f"{sign}PT{whole if whole == seconds else seconds}S"


def clock_time(point: TimePoint, offset: Duration) -> _dt.datetime:
    """The UTC time at which a clock trigger at ``point`` with ``offset`` falls due.

    Calendar offsets (``P1M``) are added on the calendar, as Cylc does; the
    time is whole seconds, like Cylc's trigger times.
    """
    seconds = (point + offset).seconds_since_unix_epoch
    return _dt.datetime.fromtimestamp(int(seconds), _dt.timezone.utc)


def utc_now() -> _dt.datetime:
    """The real time now, in UTC (the scheduler's default clock)."""
    return _dt.datetime.now(_dt.timezone.utc)


def parse_call(text: str, *, label: str | None = None) -> tuple[str, str | None]:
    """Read a Cylc xtrigger declaration: its function name and, for ``wall_clock``, its offset.

    ``wall_clock()``, ``wall_clock(PT1H)``, ``wall_clock(offset=PT1H)`` and
    ``wall_clock(offset=PT1H, sequential=False)`` are read; other functions
    give their name and None (the caller decides what to do with them).
    """
    where = f"xtrigger {label}" if label else "xtrigger"
    m = _CALL.match(text or "")
    if m is None:
        raise ValidationError(
            f"{where} = {text!r} is not a function call",
            text=text,
            fix="declare it like clock_1 = wall_clock(offset=PT1H)",
        )
    name, args = m.group(1), m.group(2).strip()
    if name != WALL_CLOCK:
        return name, None
    positional: list[str] = []
    keywords: dict[str, str] = {}
    for part in (p.strip() for p in args.split(",")) if args else ():
        if not part:
            continue
        key, eq, value = part.partition("=")
        if eq:
            keywords[key.strip()] = value.strip()
        else:
            positional.append(part)
    unknown = sorted(set(keywords) - {"offset", "sequential"})
    if unknown or len(positional) > 1 or (positional and "offset" in keywords):
        raise ValidationError(
            f"{where} = {text.strip()} has arguments wall_clock does not take",
            text=text.strip(),
            fix="write wall_clock(), wall_clock(PT1H) or wall_clock(offset=PT1H)",
        )
    offset = keywords.get("offset", positional[0] if positional else "PT0S")
    try:
        raw, _ = parse_offset(offset)
    except PointError as exc:
        raise ValidationError(
            f"{where} = {text.strip()}: {offset!r} is not a clock offset",
            text=text.strip(),
            fix=exc.fix,
        ) from None
    return name, raw
