"""The calendar of date-time arithmetic, per workflow rather than per process.

metomi-isodatetime keeps one calendar object for the whole process
(``metomi.isodatetime.data.CALENDAR``, which ``Calendar.default()`` returns
and ``set_mode`` changes in place): Cylc sets it once per scheduler. Here a
process may hold a 360-day and a Gregorian workflow at once, even running in
two threads, so that one object is replaced, once, by a stand-in that reads
every attribute from the calendar of the current context (a
:class:`~contextvars.ContextVar`: per thread, and per asyncio task; Prefect
copies the context into the threads that run task bodies). Each date-time
operation of a workflow (:class:`~prefect_cycles.cycling.datetimes.DateTimeCycling`)
selects its own calendar first with :func:`use_calendar`; a thread that has
selected none computes in the Gregorian calendar. isodatetime's own caches
are keyed by the calendar's mode, so they stay right.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from metomi.isodatetime import data as _data

__all__ = ["CALENDARS", "calendar_mode", "use_calendar"]

#: The calendars of Cylc's ``cycling mode`` (metomi-isodatetime's modes).
CALENDARS = ("gregorian", "360day", "365day", "366day")

_Calendar: Any = _data.Calendar


def _make(mode: str) -> Any:
    cal = object.__new__(_Calendar)
    _Calendar.set_mode(cal, mode)
    return cal


_BY_MODE: dict[str, Any] = {mode: _make(mode) for mode in CALENDARS}
_current: ContextVar[Any] = ContextVar("prefect_cycles_calendar", default=_BY_MODE["gregorian"])


class _ContextCalendar:
    """Stands in for isodatetime's one calendar: attributes of the context's calendar."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_current.get(), name)

    def set_mode(self, mode: str | None = None) -> None:
        """isodatetime's own way to switch calendar, kept: for this context only."""
        use_calendar((mode or "gregorian").lower())

    def __repr__(self) -> str:
        return f"<calendar of this context: {calendar_mode()}>"


def use_calendar(mode: str) -> None:
    """Make ``mode`` the calendar of this thread's (or task's) date-time arithmetic."""
    cal = _BY_MODE.get(mode)
    if cal is None:
        cal = _BY_MODE[mode] = _make(mode)  # an unknown mode raises isodatetime's KeyError
    if _current.get() is not cal:
        _current.set(cal)


def calendar_mode() -> str:
    """The calendar this thread's date-time arithmetic uses."""
    return str(_current.get().mode)


def _install() -> None:
    if not isinstance(_data.CALENDAR, _ContextCalendar):
        proxy = _ContextCalendar()
        _data.CALENDAR = proxy
        _Calendar._DEFAULT = proxy


_install()
