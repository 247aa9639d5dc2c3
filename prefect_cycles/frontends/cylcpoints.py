"""A flow.cylc's cycle points: the cycling mode, the initial and final points, their constraints.

Read as Cylc 8 reads ``[scheduling]`` and ``[scheduler]``: Cylc's defaults,
offsets from the initial point, a wall-clock initial point resolved now, and
``cycle point format``/``time zone``/``num expanded year digits``.
"""

from __future__ import annotations

import re

from metomi.isodatetime.exceptions import IsodatetimeError

from ..cycling.datetimes import DateTimeCycling
from ..cycling.points import Cycling, IntegerCycling, Point
from ..cycling.wallclock import resolve_wall_clock
from ..errors import CycleError, GraphSyntaxError, PointError
from .cylcfile import Section, file_error, unquote, unquote_list

_MAX_POINT_TEXT = 80


def _point_text(text: str, what: str) -> str:
    if len(text) > _MAX_POINT_TEXT:
        raise PointError(
            f"the {what} is too long to be a cycle point",
            text=text[:_MAX_POINT_TEXT] + "...",
            fix="give a point such as 1 or 20200101T00Z",
        )
    low = text.lower().replace(" ", "")
    if low == "now" or low.startswith(("next(", "previous(")):
        raise PointError(
            f"the {what} {text!r} depends on the wall clock, which Cylc allows only in "
            "date-time cycling and for the initial cycle point",
            text=text,
            fix="give an explicit point such as 20200101T00Z (or an offset such as +P1D "
            "for the final point)",
        )
    return text


def _checked(cycling: Cycling, point: Point, what: str, text: str) -> Point:
    """Make sure a computed point can be written back (isodatetime stops at year 9999)."""
    try:
        cycling.format(point)
    except (IsodatetimeError, ValueError, OverflowError):
        raise PointError(
            f"the {what} falls outside the years 0 to 9999",
            text=text,
            fix="choose a nearer point or a shorter offset",
        ) from None
    return point


def _final_point(text: str, initial: Point, cycling: Cycling) -> Point:
    """Read ``final cycle point``: absolute, or offsets from the initial point.

    Integer: ``4``, ``+P3``. Date-time: ``20200105``, ``+P1D``, ``P1D``,
    ``+P1D+PT6H``, ``2020-02-03 -P1D``, as Cylc reads them.
    """
    _point_text(text, "final cycle point")
    if isinstance(cycling, IntegerCycling):
        if "P" in text:
            return cycling.add(initial, cycling.interval(text.replace(" ", "")))
        return cycling.point(text)
    tokens = [t for part in text.split() for t in re.split(r"(?=[+-]P)", part) if t]
    if not tokens:
        raise PointError(
            "the final cycle point is empty", fix="give a point or an offset like +P1D"
        )
    base: Point = initial
    if not tokens[0].lstrip("+-").startswith("P"):
        # an absolute point, or a truncated one (T06: the first at or after the initial point)
        base = cycling.final_point(tokens[0], initial) or initial
        tokens = tokens[1:]
    point = base
    for tok in tokens:
        try:
            point = cycling.add(point, cycling.interval(tok))
        except (IsodatetimeError, ValueError, OverflowError):
            raise PointError(
                f"cannot add {tok} in the final cycle point",
                text=text,
                fix="use offsets such as +P1D or -PT6H",
            ) from None
    return _checked(cycling, point, "final cycle point", text)


def _cycling(mode: str, line: int | None, scheduler: Section | None, source: str) -> Cycling:
    """Integer or Gregorian date-time cycling (other calendars are refused)."""
    if mode == "integer":
        return IntegerCycling()
    if mode not in ("gregorian", "360day", "365day", "366day"):
        raise file_error(
            source,
            line,
            f"unknown cycling mode {mode!r}",
            "use integer, gregorian, 360day, 365day or 366day",
        )

    def setting(key: str) -> tuple[str, int | None]:
        item = scheduler.items.get(key) if scheduler is not None else None
        return ("", None) if item is None else (unquote(item.value, source, item.line), item.line)

    zone = setting("cycle point time zone")[0] or "Z"
    point_format, format_line = setting("cycle point format")
    digits_text, digits_line = setting("cycle point num expanded year digits")
    if digits_text and not digits_text.isdigit():
        raise file_error(
            source,
            digits_line,
            f"cycle point num expanded year digits = {digits_text!r} is not a whole number",
            "give the number of extra year digits, e.g. 2",
        )
    try:
        return DateTimeCycling(zone, point_format or None, int(digits_text or 0), mode)
    except PointError as exc:
        if not point_format or exc.text != point_format:
            raise
        problem = exc.args[0].split(". Fix:")[0]
        raise file_error(source, format_line, problem, exc.fix or "") from None


def read_window(
    scheduling: Section, scheduler: Section | None, graph: dict[str, str], source: str
) -> tuple[Cycling, Point, Point | None, str | None]:
    """The cycling mode, the initial and final points, with Cylc's defaults.

    The last item is the initial point as written when it depends on the wall
    clock (``now``, ``previous(T00)``...), which is resolved here, as it is
    when Cylc starts a workflow.
    """

    def value(key: str) -> tuple[str, int | None]:
        item = scheduling.items.get(key)
        return ("", None) if item is None else (unquote(item.value, source, item.line), item.line)

    mode, mode_line = value("cycling mode")
    icp, _ = value("initial cycle point")
    fcp, _ = value("final cycle point")
    if not mode and icp in ("", "1") and all(k in ("R1", "1") for k in graph):
        # Cylc: a graph of R1 sections alone is integer cycling at point 1.
        mode, icp, fcp = "integer", "1", fcp or "1"
    cycling = _cycling(mode or "gregorian", mode_line, scheduler, source)
    if not icp:
        if not isinstance(cycling, IntegerCycling):
            raise GraphSyntaxError(
                f"{source} has no [scheduling]initial cycle point",
                fix="add e.g. initial cycle point = 20200101T00Z (or use cycling mode = "
                "integer, which starts at 1)",
            )
        icp = "1"
    wall_clock = None
    if isinstance(cycling, DateTimeCycling) and len(icp) <= _MAX_POINT_TEXT:
        resolved = resolve_wall_clock(icp, cycling)
        if resolved != icp.replace(" ", ""):
            wall_clock, icp = icp, resolved
    point = cycling.point(_point_text(icp, "initial cycle point"))
    initial = _checked(cycling, point, "initial cycle point", icp)
    final = _final_point(fcp, initial, cycling) if fcp else None
    _check_constraints(scheduling, cycling, initial, final, source)
    return cycling, initial, final, wall_clock


def _check_constraints(
    scheduling: Section, cycling: Cycling, initial: Point, final: Point | None, source: str
) -> None:
    """``initial/final cycle point constraints``: the point must be one of the forms listed.

    Each entry (``T00``, ``01T00``, ``+P0D``...) is resolved from the point
    itself, and must give it back, as in Cylc.
    """
    for what, point in (("initial", initial), ("final", final)):
        item = scheduling.items.get(f"{what} cycle point constraints")
        if item is None or point is None:
            continue
        entries = unquote_list(item.value)
        for entry in entries:
            try:
                if cycling.final_point(entry.replace(" ", ""), point) == point:
                    break
            except CycleError:
                continue
        else:
            raise file_error(
                source,
                item.line,
                f"{what.capitalize()} cycle point {cycling.format(point)} does not meet the "
                f"constraints {entries}",
                f"choose a {what} cycle point that matches one of them",
            )
