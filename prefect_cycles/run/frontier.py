"""The frontier: where a chain continues after a stop or a crash.

A restart must neither replay the history nor run anything twice: the
progress record beside the results says where the chain goes on, and
without it the instances are looked up window by window. A wall-clock
initial point is resolved once per chain and kept until the chain ends,
as Cylc keeps a workflow's initial cycle point on restart.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

from ..cycling.points import Point
from ..graph.unroll import Unroller
from .earlier import Earlier
from .progress_record import InitialPoint, ProgressRecord, fingerprint
from .resume import Resume
from .windows import default_stop, plan_window, point_of

if TYPE_CHECKING:
    from .flow import CyclicFlow

logger = logging.getLogger("prefect_cycles.chain")


def frontier(
    cflow: CyclicFlow, origin: Point, stop: object, rerun: object
) -> tuple[Point | None, int, str | None]:
    """Where the chain from ``origin`` continues, the number of its next window, and the
    flow run it continues from (the predecessor of its next window), if the record says.

    From the progress record: the next window's start, or the last window
    again when the chain had ended (its instances come back ``Cached``). With
    no usable record, the instances are looked up window by window (a warning
    says so when a record was lost or spoiled, or when results were found
    without one). A chain's first window writes no record when it is also its
    last (a restart then looks up at most one window's instances), nor does
    a window that failed (a restart runs it again). ``rerun`` starts from the
    origin, as a single run would.
    """
    wf, resume = cflow.workflow, cflow.resumer
    if resume is None or Resume.active(resume) is None or rerun:
        return origin, 1, None
    record = ProgressRecord(resume, wf.fmt(origin))
    progress, why = record.read()
    if progress is not None and progress.fingerprint != fingerprint(resume, cflow.implementations):
        progress, why = None, "the code of a task changed since it was written"
    if progress is not None:
        nxt = point_of(wf, progress.next)
        end = point_of(wf, stop)
        if nxt is None or progress.stopped_at is not None or (end is not None and nxt > end):
            return wf.cycling.point(progress.last_start), progress.windows, progress.flow_run
        return nxt, progress.windows + 1, progress.flow_run
    found, index, looked = _look_up(cflow, origin, stop)
    if why is not None or found != origin:
        logger.warning(
            "%s: the progress record of the chain from %s %s; looked up the results of %d "
            "points instead: continuing from %s",
            cflow.name,
            wf.fmt(origin),
            why or "is missing",
            looked,
            "the end" if found is None else wf.fmt(found),
        )
    return found, index, None


def _look_up(cflow: CyclicFlow, origin: Point, stop: object) -> tuple[Point | None, int, int]:
    """The first window from ``origin`` with an instance that has no result.

    Windows are planned from the origin as the chain plans them, so the chain
    restarts at a window's first point and the instances of that window that
    completed come back ``Cached``. With every instance done, the last window
    again. Returns its start, its number and how many points were looked up.
    """
    wf = cflow.workflow
    # read through the storage the runs use (JSON only, when asked for): never unpickle
    resume = cflow.resumer.for_run()  # type: ignore[union-attr]
    earlier = Earlier(wf, dict(cflow.implementations), resume)
    looked, index, first = 0, 1, origin
    last: Point | None = None
    while True:
        win = plan_window(wf, first, stop, cflow.max_instances_per_run)
        if win is None:
            return (last if last is not None else origin), max(1, index - 1), looked
        for _, spawned in Unroller(wf, win.start, win.stop).cycles():
            looked += 1
            if any(earlier.outcome(inst) is None for inst, _ in spawned):
                return win.start, index, looked
        earlier.forget()
        last = win.start
        if win.next is None:
            return last, index, looked
        first, index = win.next, index + 1


def anchored(cflow: CyclicFlow, initial: str | None) -> CyclicFlow:
    """The flow with its wall-clock initial point fixed at ``initial`` (None: now).

    A flow whose initial point is fixed is returned as it is.
    """
    wf = cflow.workflow
    if wf.wall_clock_initial is None:
        return cflow
    fixed = wf.at_wall_clock() if initial is None else wf.at_initial(initial)
    view = copy.copy(cflow)  # the same flow (name, tasks, storage) over the fixed window
    view.workflow = fixed
    return view


def chain_initial(cflow: CyclicFlow, start: object, stop: object) -> CyclicFlow:
    """The flow anchored at its chain's initial point, for a call or deployment run with
    no ``chain`` parameter (a new chain, or a restart).

    As Cylc keeps a workflow's initial point on restart, a chain whose initial
    point came from the wall clock keeps it until the chain has ended: the
    point its first run resolved is read back (:class:`InitialPoint`) while its
    progress record says it goes on. Otherwise the wall clock is read now, and
    the point written down for restarts.
    """
    wf, resume = cflow.workflow, cflow.resumer
    if wf.wall_clock_initial is None or resume is None:
        return cflow
    mark = InitialPoint(resume, wf.wall_clock_initial)
    kept = mark.read()
    if kept is not None:
        view = anchored(cflow, kept)
        if not _ended(view, start, default_stop(view.workflow, stop)):
            return view
    view = anchored(cflow, None)
    mark.write(view.workflow.fmt(view.workflow.initial))
    return view


def _ended(cflow: CyclicFlow, start: object, stop: object) -> bool:
    """Whether the chain from ``start`` has ended, by its progress record (none: not yet)."""
    wf = cflow.workflow
    origin = Unroller(wf, start, stop).start
    progress, _ = ProgressRecord(cflow.resumer, wf.fmt(origin)).read()  # type: ignore[arg-type]
    if progress is None:
        return False
    nxt, end = point_of(wf, progress.next), point_of(wf, stop)
    return nxt is None or progress.stopped_at is not None or (end is not None and nxt > end)
