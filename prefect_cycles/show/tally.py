"""A running count of a cyclic run, per cycle point, for progress views.

The scheduler forgets finished cycles to keep its memory bounded, so a view
that shows every point keeps its own small count per point, fed by the
scheduler's events (:meth:`~prefect_cycles.run.scheduler.Scheduler.subscribe`).
It needs neither Prefect nor rich: ``prefect-cycles run`` renders it, and
tests drive it with a bare scheduler. Events arrive on the flow's thread and
views read from another, hence the lock.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from ..cycling.points import Point
from ..graph.unroll import Instance
from ..run.scheduler import Scheduler

#: The column an instance counts in after each scheduler event.
CATEGORY = {
    "spawned": "waiting",
    "submitted": "running",
    "started": "running",
    "succeeded": "done",
    "failed_ok": "handled",  # failed, and the graph routed it (a:fail? => recover)
    "failed": "failed",
    "never_run": "never",
    "skipped": "skipped",
    "removed": "skipped",  # by a suicide trigger
    "dropped": "skipped",
    "expired": "skipped",  # not run: its clock-expire time passed
}


@dataclass
class PointCount:
    """How many instances at one point are in each state.

    ``total`` is the number of instances expected to run there: known in
    advance when the run has a stop point, else the number spawned.
    ``waiting`` is what is left: spawned and not yet started, or not spawned
    yet (held back by the runahead limit, which is still so when the run ends).
    ``handled`` counts failures that an optional output routed elsewhere
    (``a:fail? => recover``): complete for the run, yet failed task runs.
    ``blocked`` is filled in when the run ends with spawned instances still
    waiting for parents that failed. ``not_run`` counts instances the graph
    never runs, those skipped because an optional output did not come, and
    those dropped when a task stopped the cycling.
    """

    point: Point
    expected: int | None = None
    seen: int = 0
    done: int = 0
    running: int = 0
    failed: int = 0
    handled: int = 0
    blocked: int = 0
    never: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        """Instances this point runs (or ran), leaving out those the graph never runs."""
        return self.expected if self.expected is not None else self.seen - self.never

    @property
    def waiting(self) -> int:
        left = self.total - self.done - self.running - self.failed - self.handled
        return max(left - self.blocked - self.skipped, 0)

    @property
    def not_run(self) -> int:
        return self.never + self.skipped

    @property
    def resolved(self) -> int:
        """Instances of ``total`` that will not change again (done, failed, skipped)."""
        return self.done + self.failed + self.handled + self.skipped

    @property
    def finished(self) -> bool:
        return self.running == 0 and self.waiting == 0


class Tally:
    """Counts per cycle point, kept up to date from one scheduler's events.

    ``expected`` maps each point to the number of instances that will run
    there, when that is known in advance (a run with a stop point).
    """

    def __init__(self, expected: Mapping[Point, int] | None = None) -> None:
        self._lock = threading.Lock()
        self._points: dict[Point, PointCount] = {
            p: PointCount(p, expected=n) for p, n in (expected or {}).items()
        }
        self.known_total = expected is not None
        self._live: dict[Instance, str] = {}  # unfinished instances and their column
        self.scheduler: Scheduler | None = None
        # every scheduler followed: overlapping windows of a chain take turns at watching()
        self._followed: weakref.WeakSet[Scheduler] = weakref.WeakSet()
        self.ended = False
        self._on_event: list[Callable[[], None]] = []

    def attach(self, scheduler: Scheduler) -> None:
        """Follow ``scheduler`` from now on (idempotent; use as a watching() callback)."""
        if self.scheduler is scheduler or scheduler in self._followed:
            return
        self._followed.add(scheduler)
        self.scheduler = scheduler
        scheduler.subscribe(self.event)

    def on_event(self, callback: Callable[[], None]) -> None:
        """Also call ``callback()`` after every event (to update a progress bar)."""
        self._on_event.append(callback)

    def event(self, inst: Instance, event: str) -> None:
        """Account for one scheduler event."""
        new = CATEGORY[event]
        with self._lock:
            count = self._points.get(inst.point)
            if count is None:
                count = self._points[inst.point] = PointCount(inst.point)
            old = self._live.pop(inst, None)
            if old is None:
                count.seen += 1
            elif old == "running":
                count.running -= 1
            if new in ("waiting", "running"):
                self._live[inst] = new
            if new != "waiting":
                setattr(count, new, getattr(count, new) + 1)
        for callback in self._on_event:
            callback()

    def end(self) -> None:
        """The run is over: what waits on a failed parent is blocked; past a stop, dropped.

        Instances never spawned because the runahead limit held their points
        back stay in ``waiting``: nothing blocks them but the window.
        """
        sched = self.scheduler
        cut = sched.cut if sched is not None else None
        stuck = Counter(i.point for i, _ in sched.blocked()) if sched is not None else None
        with self._lock:
            self.ended = True
            for count in self._points.values():
                left = count.waiting
                if cut is not None and count.point > cut:
                    count.skipped += left
                else:
                    count.blocked += left if stuck is None else min(left, stuck[count.point])
            self._live.clear()

    def rows(self) -> list[PointCount]:
        """A consistent copy of every point's counts, in point order."""
        with self._lock:
            return [replace(self._points[p]) for p in sorted(self._points)]

    def overall(self) -> PointCount:
        """The sums over all points (its ``point`` is None)."""
        total = PointCount(None)  # type: ignore[arg-type]
        total.expected = 0
        for row in self.rows():
            total.expected += row.total
            for name in (
                "seen",
                "done",
                "running",
                "failed",
                "handled",
                "blocked",
                "never",
                "skipped",
            ):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total
