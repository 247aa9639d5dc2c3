"""Recurrences: which cycle points a graph section runs at.

INTERFACE STUB - being implemented. Only plain ``Pn`` and ``R1`` for integer
cycling work for now.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from .errors import RecurrenceError
from .points import Cycling, IntegerCycling, Point


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
    def contains(self, point: Point) -> bool:
        """True when ``point`` is on the sequence."""

    def points(self, start: Point, stop: Point | None = None) -> Iterator[Point]:
        """Points of the sequence in ``[start, stop]`` (endless when stop is None)."""
        p = self.first_point(start)
        while p is not None and (stop is None or p <= stop):
            yield p
            p = self.next_point(p)


class _IntSeq(Sequence):
    def __init__(self, text: str, start: int, step: int, end: int | None) -> None:
        self.text, self.start, self.step, self.end = text, start, step, end

    def first_point(self, at_or_after: Point) -> Point | None:
        p = at_or_after  # type: ignore[assignment]
        if p < self.start:
            p = self.start
        else:
            p = self.start + -(-(p - self.start) // self.step) * self.step if self.step else p
            if self.step == 0 and p != self.start:
                return None
        return p if self.end is None or p <= self.end else None

    def next_point(self, point: Point) -> Point | None:
        return self.first_point(point + 1)  # type: ignore[operator]

    def contains(self, point: Point) -> bool:
        return self.first_point(point) == point


def parse_recurrence(
    text: str, cycling: Cycling, initial: Point, final: Point | None
) -> Sequence:
    """Read a recurrence for a workflow with these initial and final points."""
    raw = text.strip()
    if isinstance(cycling, IntegerCycling):
        if raw == "R1":
            return _IntSeq(raw, initial, 0, initial)  # type: ignore[arg-type]
        if raw.startswith("P") and raw[1:].isdigit() and int(raw[1:]) > 0:
            return _IntSeq(raw, initial, int(raw[1:]), final)  # type: ignore[arg-type]
    raise RecurrenceError(f"unsupported recurrence {raw!r} (stub)", text=raw)
