"""Settling which instances run, point by point, in bounded memory.

:func:`~prefect_cycles.graph.unroll.unroll` decides which instances of a
window run over the whole window at once; :class:`Settler` makes the same
decisions while the window is walked point by point, keeping only what later
points can still need: instances within reach of a relative offset, those
that ``[^]`` or absolute offsets pin, and instances waiting for a parent at a
later point (future triggers). ``validate`` and the reference text use it so
that their memory does not grow with the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import NamedTuple, TypeAlias

from ..cycling.minutes import Domain, Minutes
from ..cycling.points import Point
from ..cycling.sequence import INT_DOMAIN
from .conditions import triggers
from .model import Workflow
from .unroll import Expr, Instance, Unroller, evaluate, needs


class Status(NamedTuple):
    """Whether an instance runs and, when not, the parent and the missing root that stop it.

    ``exists`` is False for a parent outside the run (off its sequence, or past
    the stop point); ``why`` then says why, as :meth:`Unroller.why_missing` does.
    """

    runs: bool
    exists: bool = True
    first: Instance | None = None
    first_exists: bool = True
    root: Instance | None = None
    why: str | None = None


RUNS = Status(True)

#: An instance decided: its prerequisite, its status and its parents' statuses.
Decided: TypeAlias = tuple[Instance, "Expr | None", Status, dict[Instance, Status]]


def reason(status: Status, workflow: Workflow) -> str:
    """Why an instance never runs, worded as :func:`unroll` words it."""
    fmt = workflow.fmt
    first, root = status.first, status.root
    assert first is not None and root is not None
    name = f"{first.task}[{fmt(first.point)}]"
    if not status.first_exists:
        return f"it needs {name}, which does not exist: {status.why}"
    return (
        f"it needs {name}, which never runs "
        f"({root.task}[{fmt(root.point)}] does not exist: {status.why})"
    )


def keys_of(workflow: Workflow) -> Domain:
    """The integer keys of the workflow's points (the points, or minutes since 1970)."""
    cyc = workflow.cycling
    return INT_DOMAIN if cyc.mode == "integer" else Minutes(cyc)  # type: ignore[arg-type]


class Reach(NamedTuple):
    """How far, in keys, a parent can lie before (``back``) or after (``ahead``) its child
    through a relative offset; ``exact`` when every such offset is a fixed number of keys
    (no month or year in it)."""

    back: int
    ahead: int
    exact: bool


def reach(u: Unroller, keys: Domain) -> Reach:
    """The relative offsets' reach, measured at the start point (widened for months and
    years, whose length varies)."""
    wf = u.workflow
    back = ahead = 0
    exact = True
    k0 = keys.to(u.start)
    for dep in (*wf.dependencies, *wf.suicides):
        for trig in triggers(dep.condition):
            off = trig.offset
            if off is None or off.kind != "relative":
                continue
            delta = keys.to(off.resolve(u.start, wf.initial, wf.cycling)) - k0
            nominal = abs(getattr(off.interval, "months", 0) or 0) + 12 * abs(
                getattr(off.interval, "years", 0) or 0
            )
            if nominal:
                exact = False
            slack = nominal * 3 * 1440
            back, ahead = max(back, -delta + slack), max(ahead, delta + slack)
    return Reach(back, ahead, exact)


class _Waiting:
    """An instance waiting for parents not decided yet, with the statuses already known."""

    __slots__ = ("expr", "known", "left")

    def __init__(self, expr: Expr, known: dict[Instance, Status], left: int) -> None:
        self.expr, self.known, self.left = expr, known, left


class Settler:
    """Decide, point by point, which instances of ``u``'s window run (see module doc)."""

    def __init__(self, u: Unroller, keys: Domain | None = None) -> None:
        self.u = u
        self.keys = keys or keys_of(u.workflow)
        self.reach = reach(u, self.keys)
        self._pinned = u.pinned()
        self.kept: dict[Instance, Status] = {}  # decided, still within reach
        # The kept instances by point, with their statuses (read without hashing points,
        # which isodatetime makes slow).
        self._by_point: deque[tuple[int, list[tuple[Instance, Status]]]] = deque()
        self.pinned: dict[Instance, Status] = {}
        self.waiting: dict[Instance, _Waiting] = {}
        self._waiters: dict[Instance, list[Instance]] = {}
        self._fresh: set[Instance] = set()
        self._here: frozenset[Instance] = frozenset()

    def status(self, inst: Instance) -> Status | None:
        """The decided status of ``inst``; for one outside the run, why it is missing."""
        got = self.kept.get(inst) or self.pinned.get(inst)
        if got is not None:
            return got
        if inst in self.waiting or inst in self._fresh or self.u.exists(inst):
            return None
        return Status(False, False, why=self.u.why_missing(inst))

    def feed(self, point: Point, spawned: Iterable[tuple[Instance, Expr | None]]) -> list[Decided]:
        """Take the instances of the next point; return those decided now (maybe earlier
        ones), each with its prerequisite and its parents' statuses."""
        spawned = list(spawned)
        self._fresh = {inst for inst, _ in spawned}
        self._here = frozenset(self._fresh)
        key = self.keys.to(point)
        out: list[Decided] = []
        here: list[tuple[Instance, Status]] = []
        self._by_point.append((key, here))
        for inst, expr in spawned:
            if expr is None:
                self._decided(inst, None, RUNS, {}, out, here)
                continue
            known: dict[Instance, Status] = {}
            left = 0
            for parent in {n.parent for n in needs(expr)}:
                st = self.status(parent)
                if st is None:
                    self._waiters.setdefault(parent, []).append(inst)
                    left += 1
                else:
                    known[parent] = st
            if left:
                self.waiting[inst] = _Waiting(expr, known, left)
            else:
                self._decided(inst, expr, self._decide(expr, known), known, out, here)
        self._fresh = set()
        self._forget(key)
        return out

    def _decide(self, expr: Expr, known: dict[Instance, Status]) -> Status:
        first = self.u.past_stop(expr)
        if first is None:
            if evaluate(expr, lambda n: known[n.parent].runs):
                return RUNS
            first = next(n.parent for n in needs(expr) if not known[n.parent].runs)
        par = known[first]
        if not par.exists:
            return Status(False, True, first, False, first, par.why)
        return Status(False, True, first, True, par.root, par.why)

    def _decided(
        self,
        inst: Instance,
        expr: Expr | None,
        st: Status,
        known: dict[Instance, Status],
        out: list[Decided],
        here: list[tuple[Instance, Status]],
    ) -> None:
        spawned_here = self._here
        todo = [(inst, expr, st, known)]
        while todo:
            inst, expr, st, known = todo.pop()
            self._fresh.discard(inst)
            if inst.point in self._pinned:
                self.pinned[inst] = st
            else:
                self.kept[inst] = st
                (here if inst in spawned_here else self._bucket(inst)).append((inst, st))
            out.append((inst, expr, st, known))
            for child in self._waiters.pop(inst, ()):
                w = self.waiting[child]
                w.known[inst] = st
                w.left -= 1
                if not w.left:
                    del self.waiting[child]
                    todo.append((child, w.expr, self._decide(w.expr, w.known), w.known))

    def _bucket(self, inst: Instance) -> list[tuple[Instance, Status]]:
        """The list of decided instances at ``inst``'s point (most often the newest)."""
        key = self.keys.to(inst.point)
        for k, insts in reversed(self._by_point):
            if k == key:
                return insts
            if k < key:
                break
        return []  # an instance of a point already forgotten is dropped with it

    def _forget(self, key: int) -> None:
        """Drop decided instances that no point after ``key`` can need."""
        low = key - self.reach.back
        by_point, kept = self._by_point, self.kept
        while by_point and by_point[0][0] < low:
            for inst, _ in by_point.popleft()[1]:
                kept.pop(inst, None)

    def window(self, key: int) -> list[tuple[int, Instance, Status]]:
        """The decided instances a point after ``key`` can reach: (key, instance, status)."""
        low = key - self.reach.back
        return [(k, inst, st) for k, insts in self._by_point if k >= low for inst, st in insts]

    def restore(self, entries: list[tuple[int, Instance, Status]]) -> None:
        """Replace the kept instances (nothing waiting) with ``entries``: a jump ahead."""
        assert not self.waiting
        self.kept = {}
        self._by_point = deque()
        for k, inst, st in entries:
            if not self._by_point or self._by_point[-1][0] != k:
                self._by_point.append((k, []))
            self._by_point[-1][1].append((inst, st))
            self.kept[inst] = st
