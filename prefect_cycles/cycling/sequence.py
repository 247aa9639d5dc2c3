"""Sequences: the ordered, possibly endless sets of points a recurrence gives.

A :class:`Sequence` answers first/next/previous/contains/last for a recurrence
already read; evenly spaced points are arithmetic on keys
(:mod:`prefect_cycles.cycling.minutes`), month and year steps are walked one
addition at a time, as Cylc adds them. Exclusions and unions compose sequences.
"""

from __future__ import annotations

import bisect
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Literal

from metomi.isodatetime.data import Duration, TimePoint

from .minutes import LAST_MINUTE, Domain, Minutes
from .points import Point

Form = Literal["forward", "backward", "span"]

MAX_NOMINAL_SKIP = 5000


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
    def prev_point(self, point: Point) -> Point | None:
        """The last point of the sequence strictly before ``point``, or None."""

    @abstractmethod
    def contains(self, point: Point) -> bool:
        """True when ``point`` is on the sequence."""

    @abstractmethod
    def last_point(self) -> Point | None:
        """The last point of the sequence, or None when it is endless (or empty)."""

    def shape(self) -> tuple[int, set[int]] | None:
        """``(period, edges)`` in keys: between edge keys membership repeats every ``period``
        keys. None when it does not repeat in keys (month and year steps)."""
        return None

    def points(self, start: Point, stop: Point | None = None) -> Iterator[Point]:
        """Points of the sequence in ``[start, stop]`` (endless when stop is None)."""
        p = self.first_point(start)
        while p is not None and (stop is None or p <= stop):
            yield p
            p = self.next_point(p)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.text!r}>"


# -- errors ------------------------------------------------------------------------


class Arith:
    """Keys ``start, start+step, ...`` up to ``stop``; a single key when step is 0."""

    __slots__ = ("empty", "last", "start", "step")

    def __init__(self, start: int, step: int, stop: int | None) -> None:
        self.start, self.step = start, step
        self.empty = stop is not None and stop < start
        if step == 0:
            self.last: int | None = start
        elif stop is None:
            self.last = None
        else:
            self.last = start + (stop - start) // step * step

    def ceil(self, k: int) -> int | None:
        """The first key at or after ``k``."""
        if self.empty:
            return None
        if k <= self.start:
            c = self.start
        elif self.step == 0:
            return None
        else:
            c = k + (self.start - k) % self.step
        return None if self.last is not None and c > self.last else c

    def floor(self, k: int) -> int | None:
        """The last key at or before ``k``."""
        if self.empty or k < self.start:
            return None
        if self.last is not None and k >= self.last:
            return self.last
        return k - (k - self.start) % self.step

    def has(self, k: int) -> bool:
        if self.empty or k < self.start or (self.last is not None and k > self.last):
            return False
        return k == self.start if self.step == 0 else (k - self.start) % self.step == 0


class Walk:
    """Date-time points a month/year step apart, added up one at a time as Cylc does.

    Points are made on demand and kept, with their keys, for bisection.
    """

    __slots__ = ("_dom", "_done", "_lock", "keys", "points", "step", "stop")

    def __init__(self, start: TimePoint, step: Duration, stop: TimePoint | None, dom: Minutes):
        self.step, self._dom, self._lock = step, dom, threading.Lock()
        self.stop = None if stop is None else dom.to(stop)
        self.keys, self.points = [dom.to(start)], [start]
        self._done = False
        if self.stop is not None and self.keys[0] > self.stop:
            self.keys, self.points, self._done = [], [], True

    def _grow(self, k: int) -> None:
        """Make points until one lies beyond key ``k`` (or the walk ends)."""
        keys, pts = self.keys, self.points
        if self._done or keys[-1] > k:
            return
        with self._lock:  # sequences are shared: one thread extends at a time
            while not self._done and keys[-1] <= k:
                try:
                    nxt = pts[-1] + self.step
                    nk = self._dom.to(nxt)
                except Exception:  # isodatetime fails past its calendar range
                    self._done = True
                    break
                past_stop = self.stop is not None and nk > self.stop
                if past_stop or nk <= keys[-1] or nk > LAST_MINUTE:
                    self._done = True
                    break
                pts.append(nxt)  # the point first: readers find a key's point by index
                keys.append(nk)

    def ceil(self, k: int) -> int | None:
        """The index of the first point at or after key ``k``."""
        self._grow(k)
        i = bisect.bisect_left(self.keys, k)
        return i if i < len(self.keys) else None

    def floor(self, k: int) -> int | None:
        """The index of the last point at or before key ``k``."""
        self._grow(k)
        i = bisect.bisect_right(self.keys, k) - 1
        return i if i >= 0 else None

    def has(self, k: int) -> bool:
        i = self.ceil(k)
        return i is not None and self.keys[i] == k


class Exclusions:
    """Keys and recurrences taken out of a sequence (``!5``, ``!(T00,T12)``, ``!P3``)."""

    def __init__(self, points: set[int], ariths: list[Arith], walks: list[Walk]) -> None:
        self.points, self.walks = points, walks
        self.ariths = [a for a in ariths if not a.empty]
        self.any = bool(points or self.ariths or walks)
        bounds = {a.start for a in self.ariths}
        bounds |= {a.last + 1 for a in self.ariths if a.last is not None}
        self._bounds = sorted(bounds)
        self._regions: dict[int, tuple[int, int | None, int | None, list[Arith]]] = {}

    def hit(self, k: int) -> bool:
        """True when key ``k`` is excluded."""
        return (
            k in self.points
            or any(a.has(k) for a in self.ariths)
            or any(w.has(k) for w in self.walks)
        )

    def region(self, k: int) -> tuple[int, int | None, int | None, list[Arith]]:
        """The stretch around ``k`` where the same exclusion recurrences apply."""
        i = bisect.bisect_right(self._bounds, k)
        reg = self._regions.get(i)
        if reg is None:
            lo = self._bounds[i - 1] if i else None
            hi = self._bounds[i] - 1 if i < len(self._bounds) else None
            active = [a for a in self.ariths if a.start <= k and (a.last is None or k <= a.last)]
            reg = self._regions[i] = (i, lo, hi, active)
        return reg


class KeyedSequence(Sequence):
    """A recurrence over integer keys of a domain (point numbers, or minutes), within bounds."""

    def __init__(
        self,
        text: str,
        dom: Domain,
        base: Arith | Walk,
        lo: int,
        hi: int | None,
        excl: Exclusions,
    ) -> None:
        self.text, self._dom, self._base, self._excl = text, dom, base, excl
        self._lo, self._hi = lo, hi

    def contains(self, point: Point) -> bool:
        if not self._dom.accepts(point):
            return False
        k = self._dom.to(point)
        if k < self._lo or (self._hi is not None and k > self._hi) or not self._base.has(k):
            return False
        return not (self._excl.any and self._excl.hit(k))


class ArithSequence(KeyedSequence):
    """One recurrence whose points are evenly spaced (integers, or exact date-time steps)."""

    _base: Arith

    def shape(self) -> tuple[int, set[int]] | None:
        base, excl = self._base, self._excl
        if excl.walks:
            return None
        period = base.step or 1
        edges = {base.start, self._lo, *excl.points}
        edges |= {k for k in (base.last, self._hi) if k is not None}
        for a in excl.ariths:
            if a.step:
                period = math.lcm(period, a.step)
            edges.add(a.start)
            if a.last is not None:
                edges.add(a.last)
        return period, edges

    def __init__(
        self, text: str, dom: Domain, base: Arith, lo: int, hi: int | None, excl: Exclusions
    ) -> None:
        super().__init__(text, dom, base, lo, hi, excl)
        self._cap = LAST_MINUTE if isinstance(dom, Minutes) else None

    def _first(self, k: int) -> int | None:
        c = self._base.ceil(k if k > self._lo else self._lo)
        if c is not None and self._excl.any:
            c = self._skip(c, 1)
        if c is None or (self._hi is not None and c > self._hi):
            return None
        if self._cap is not None and c > self._cap:
            return None
        return c

    def _last(self, k: int | None) -> int | None:
        if self._hi is not None:
            k = self._hi if k is None or k > self._hi else k
        c = self._base.last if k is None else self._base.floor(k)
        if c is not None and self._excl.any:
            c = self._skip(c, -1)
        return None if c is None or c < self._lo else c

    def first_point(self, at_or_after: Point) -> Point | None:
        k = self._dom.to(at_or_after)
        c = self._first(k)
        return None if c is None else self._dom.back(c, at_or_after, k)

    def next_point(self, point: Point) -> Point | None:
        k = self._dom.to(point)
        c = self._first(k + 1)
        return None if c is None else self._dom.back(c, point, k)

    def prev_point(self, point: Point) -> Point | None:
        k = self._dom.to(point)
        c = self._last(k - 1)
        return None if c is None else self._dom.back(c, point, k)

    def last_point(self) -> Point | None:
        if self._hi is None and self._base.last is None:
            return None
        c = self._last(None)
        return None if c is None else self._dom.back(c)

    def _skip(self, k: int | None, direction: int) -> int | None:
        """The first key from ``k`` on (backwards when direction < 0) that is not excluded.

        Within a stretch where the same exclusion recurrences apply, the keys
        they exclude repeat with a known period: a full period of excluded
        keys means the whole stretch is excluded, so jump past it.
        """
        base, excl = self._base, self._excl
        limit = self._hi if direction > 0 else self._lo
        run, region = 0, -1
        while k is not None:
            if limit is not None and (k > limit if direction > 0 else k < limit):
                return None
            if not any(a.has(k) for a in excl.ariths):
                if k not in excl.points and not any(w.has(k) for w in excl.walks):
                    return k
                run = 0
            else:
                index, lo, hi, active = excl.region(k)
                if index != region:
                    region, run = index, 0
                run += 1
                if run >= _period(base.step, active):
                    edge = hi if direction > 0 else lo
                    if edge is None:
                        return None
                    k = base.ceil(edge + 1) if direction > 0 else base.floor(edge - 1)
                    region, run = -1, 0
                    continue
            k = base.ceil(k + 1) if direction > 0 else base.floor(k - 1)
        return None


class IntSequence(ArithSequence):
    """An integer recurrence, with arithmetic fast paths when nothing is excluded."""

    def __init__(self, text: str, base: Arith, lo: int, hi: int | None, excl: Exclusions) -> None:
        super().__init__(text, INT_DOMAIN, base, lo, hi, excl)
        first = base.ceil(lo)
        last = base.last if hi is None else base.floor(hi)
        if (hi is not None and last is None) or (
            first is not None and last is not None and last < first
        ):
            first = last = None  # nothing between the initial and final points
        self._head, self._tail = first, last
        self._plain = not excl.any

    def first_point(self, at_or_after: Point) -> Point | None:
        if not self._plain:
            return self._first(at_or_after)  # type: ignore[arg-type]
        head = self._head
        if head is None or at_or_after <= head:
            return head
        step = self._base.step
        if step == 0:
            return None
        c = at_or_after + (self._base.start - at_or_after) % step  # type: ignore[operator]
        return c if self._tail is None or c <= self._tail else None

    def next_point(self, point: Point) -> Point | None:
        return self.first_point(point + 1)

    def prev_point(self, point: Point) -> Point | None:
        return self._last(point - 1)  # type: ignore[operator]

    def contains(self, point: Point) -> bool:
        if self._plain:
            head = self._head
            if head is None or type(point) is not int or point < head:
                return False
            if self._tail is not None and point > self._tail:
                return False
            step = self._base.step
            return point == head if step == 0 else (point - self._base.start) % step == 0
        return super().contains(point)


def _period(step: int, active: list[Arith]) -> int:
    """After how many steps of ``step`` the keys ``active`` exclude repeat."""
    period = 1
    for a in active:
        if a.step and step:
            period = math.lcm(period, a.step // math.gcd(a.step, step))
    return period


class WalkSequence(KeyedSequence):
    """One date-time recurrence with a month/year step (points found by walking)."""

    _base: Walk

    def _skip(self, i: int | None, direction: int) -> TimePoint | None:
        """The first point from index ``i`` on that is in bounds and not excluded."""
        base, excl = self._base, self._excl
        for _ in range(MAX_NOMINAL_SKIP):
            if i is None:
                return None
            k = base.keys[i]
            if direction > 0 and self._hi is not None and k > self._hi:
                return None
            if direction < 0 and k < self._lo:
                return None
            if not (excl.any and excl.hit(k)):
                return base.points[i]
            if direction < 0:
                i = i - 1 if i > 0 else None
                continue
            i = base.ceil(k + 1)
        return None

    def first_point(self, at_or_after: Point) -> Point | None:
        k = self._dom.to(at_or_after)
        return self._skip(self._base.ceil(k if k > self._lo else self._lo), 1)

    def next_point(self, point: Point) -> Point | None:
        k = self._dom.to(point) + 1
        return self._skip(self._base.ceil(k if k > self._lo else self._lo), 1)

    def prev_point(self, point: Point) -> Point | None:
        k = self._dom.to(point) - 1
        if self._hi is not None and k > self._hi:
            k = self._hi
        return self._skip(self._base.floor(k), -1)

    def last_point(self) -> Point | None:
        ends = [e for e in (self._hi, self._base.stop) if e is not None]
        if not ends:
            return None
        return self._skip(self._base.floor(min(ends)), -1)


class Union(Sequence):
    """Several recurrences in one heading (``R1/2, R1/5``): a point on any of them."""

    def __init__(self, text: str, members: list[Sequence], initial: Point) -> None:
        self.text, self.members, self._initial = text, members, initial

    def first_point(self, at_or_after: Point) -> Point | None:
        found = [p for s in self.members if (p := s.first_point(at_or_after)) is not None]
        return min(found) if found else None

    def next_point(self, point: Point) -> Point | None:
        found = [p for s in self.members if (p := s.next_point(point)) is not None]
        return min(found) if found else None

    def prev_point(self, point: Point) -> Point | None:
        found = [p for s in self.members if (p := s.prev_point(point)) is not None]
        return max(found) if found else None

    def last_point(self) -> Point | None:
        lasts = []
        for s in self.members:
            last = s.last_point()
            if last is None and s.first_point(self._initial) is not None:
                return None  # endless
            if last is not None:
                lasts.append(last)
        return max(lasts) if lasts else None

    def contains(self, point: Point) -> bool:
        return any(s.contains(point) for s in self.members)

    def shape(self) -> tuple[int, set[int]] | None:
        period, edges = 1, set[int]()
        for s in self.members:
            got = s.shape()
            if got is None:
                return None
            period, edges = math.lcm(period, got[0]), edges | got[1]
        return period, edges


INT_DOMAIN = Domain()
