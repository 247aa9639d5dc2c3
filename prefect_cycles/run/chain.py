"""Continue-as-new: a cyclic workflow runs as a chain of bounded Prefect flow runs.

One flow run for a whole campaign grows without bound: Prefect keeps a few
KB of bookkeeping per task run in the flow process for the life of the run,
the server will not draw a run graph past 10,000 task runs, and a restart
replays the whole history. So, as Temporal's continue-as-new does, a cyclic
flow runs as a chain of *windows*: each is a flow run of its own covering
consecutive cycle points up to ``max_instances_per_run`` instances (always
whole points), then hands the cycling over to a fresh flow run that starts at
the next point. What crosses a boundary is kept beside the results: each
instance's result (read back by :mod:`prefect_cycles.run.earlier`) and the
chain's progress record (:mod:`prefect_cycles.run.progress_record`).

A plain call (``seed()``, ``prefect-cycles run``) runs the windows in this
process, one top-level flow run after another, and returns the outcome of the
whole chain. A flow run started from a deployment hands over through that
deployment (``run_deployment``, not waiting), so a worker picks up the next
window like any other run. Every window is named ``flow[first..last]``, tagged
``prefect-cycles:<flow>``, and names its predecessor in its ``chain``
parameter and in the label ``prefect-cycles.predecessor``. A wall-clock
initial point (``now``) is worked out once per chain and carried in ``chain``
as a literal; a restart keeps it until the chain has ended (:func:`chain_initial`).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import gc
import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect import Flow
from prefect.context import FlowRunContext
from prefect.states import Cancelled, Completed, State

from ..cycling.points import Point
from ..errors import CycleError
from ..graph.model import Workflow
from ..graph.unroll import Instance, Unroller, triggers
from .earlier import Earlier
from .loop import run_cycles
from .overlap import Baton, Lane, Link, can_overlap, in_background, link_for
from .progress_record import InitialPoint, Progress, ProgressRecord, fingerprint
from .release import keep, released
from .resume import Resume
from .scheduler import Scheduler

if TYPE_CHECKING:
    from .flow import CyclicFlow

#: The default budget of one flow run, in instances (task runs). Well under the
#: server's 10,000-node run-graph limit, so every window's graph draws; a few
#: MB of Prefect's per-task-run bookkeeping (2.5-4.5 KB each) per window; and
#: with about 1 s of flow-run overhead against 4-6 ms per task run, the
#: hand-overs cost under a tenth. The UI draws edges only up to 500 nodes: a
#: budget of 500 buys that with about 40 % overhead on trivial tasks.
DEFAULT_MAX_INSTANCES_PER_RUN = 2000

#: The flow parameter that makes a flow run one window of a chain.
CHAIN_PARAM = "chain"

#: Tag prefix shared by every flow run of a chain (``prefect-cycles:<flow name>``).
TAG_PREFIX = "prefect-cycles:"

#: Label naming a window's predecessor flow run.
PREDECESSOR_LABEL = "prefect-cycles.predecessor"

#: Label giving a window's number in its chain (1 for the first).
WINDOW_LABEL = "prefect-cycles.window"

#: Between windows of a plain call, hand freed memory back to the OS (glibc's
#: ``malloc_trim``): a window's task runs leave the allocator's arenas
#: fragmented, and without it the process's RSS creeps up window after window
#: although Python holds no more objects (measured: benchmarks/chain_windows.py).
TRIM_BETWEEN_WINDOWS = True

logger = logging.getLogger("prefect_cycles.chain")


@dataclass(frozen=True)
class Window:
    """Consecutive points ``start..stop`` run as one flow run; ``next`` starts the next one."""

    start: Point
    stop: Point
    next: Point | None
    instances: int


def plan_window(
    workflow: Workflow, start: object, chain_stop: object, budget: int | None
) -> Window | None:
    """The window from ``start``: whole points while they fit in ``budget`` instances.

    At least one point, even one holding more instances than the budget.
    None when no task runs at ``start`` or after it (up to ``chain_stop``).
    """
    total, first, last = 0, None, None
    for point, size in Unroller(workflow, start, chain_stop).sizes():
        if last is not None and budget is not None and total + size > budget:
            return Window(first, last, point, total)  # type: ignore[arg-type]
        first = point if first is None else first
        total, last = total + size, point
    return None if last is None else Window(first, last, None, total)  # type: ignore[arg-type]


def forward_dependency(workflow: Workflow) -> str | None:
    """A dependency on a later point, which a window boundary could cut; None if none.

    ``foo[+P1] => bar`` makes ``bar`` at the last point of a window wait for an
    instance of the next window: chaining does not split such workflows.
    """
    cyc, initial = workflow.cycling, workflow.initial
    for dep in workflow.dependencies:
        seq = workflow.sequence(dep.recurrence)
        first = seq.first_point(initial)
        for trig in triggers(dep.condition):
            off = trig.offset
            if off is None or first is None:
                continue
            if off.resolve(first, initial, cyc) > first:
                return f"{trig.task}[{off}] => {dep.target} ({dep.recurrence})"
    return None


def check_budget(workflow: Workflow, budget: object, resume: bool) -> int | None:
    """Check ``cyclic_flow(max_instances_per_run=...)``; the budget in force, or None."""
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise CycleError(
            f"max_instances_per_run must be a whole number of at least 1, not {budget!r}",
            fix="pass e.g. max_instances_per_run=2000, or None for one flow run per call",
        )
    explicit = budget != DEFAULT_MAX_INSTANCES_PER_RUN
    if not resume:
        if explicit:
            raise CycleError(
                "a chain of flow runs needs resume=True: results cross from one flow run "
                "to the next through result storage",
                fix="drop resume=False, or pass max_instances_per_run=None",
            )
        return None
    forward = forward_dependency(workflow)
    if forward is not None:
        if explicit:
            raise CycleError(
                f"the workflow depends on a later point ({forward}), which a boundary "
                "between flow runs could cut",
                task=forward.split("[")[0],
                fix="pass max_instances_per_run=None to run each call as one flow run",
            )
        return None
    return budget


# -- one window: the body of a flow run of a chain --------------------------------------


def param(workflow: Workflow, point: Point | None) -> Any:
    """A point as a flow parameter: an int, or the workflow's date-time text."""
    if point is None:
        return None
    return point if workflow.cycling.mode == "integer" else workflow.fmt(point)


def window_name(flow: str, workflow: Workflow, start: Point, stop: Point) -> str:
    return f"{flow}[{workflow.fmt(start)}..{workflow.fmt(stop)}]"


def run_window(
    cflow: CyclicFlow,
    start: Any,
    stop: Any,
    runahead: Any,
    rerun: Any,
    chain: Mapping[str, Any] | None,
) -> Any:
    """The body of a chained flow's run: one window, then its record and hand-over.

    With ``chain`` (set by the plain-call driver, or by a predecessor's
    hand-over) the run covers exactly ``start..stop``. Without it, from a
    deployment, this is the chain's first run: it finds the frontier and plans
    its window itself.
    """
    keep()  # a plain call's driver empties this run's bookkeeping when it is over
    deployment = _deployment_id()
    if chain is None:
        if deployment is None or cflow.resumer is None or cflow.max_instances_per_run is None:
            cflow = anchored(cflow, None)  # not a chain: one run, from the wall clock's point
            stop = _default_stop(cflow.workflow, stop)
            return _cycles(cflow, start, stop, runahead, rerun, None)
        cflow = chain_initial(cflow, start, stop)
        wf = cflow.workflow
        stop = _default_stop(wf, stop)
        origin = Unroller(wf, start, stop).start
        first, index, predecessor = frontier(cflow, origin, stop, rerun)
        budget = cflow.max_instances_per_run
        win = plan_window(wf, first, stop, budget) if first is not None else None
        if win is None:
            return _nothing_left(wf, origin)
        chain = {
            "origin": wf.fmt(origin),
            "stop": param(wf, _point(wf, stop)),
            "window": index,
            "predecessor": predecessor,
            **_initial(wf),
        }
        start, stop = param(wf, win.start), param(wf, win.stop)
    else:
        cflow = anchored(cflow, chain.get("initial"))
    wf, resume, budget = cflow.workflow, cflow.resumer, cflow.max_instances_per_run
    origin = wf.cycling.point(chain["origin"])
    chain_stop = chain.get("stop")
    ws, we = wf.cycling.point(start), wf.cycling.point(stop)
    ctx = FlowRunContext.get()
    run_id = str(ctx.flow_run.id) if ctx and ctx.flow_run else None
    link = link_for(ws)  # set when this window overlaps its neighbours (plain calls)
    goes_on = False  # whether the chain goes on after this window, for an overlapping successor
    try:
        with in_background(lambda: _label_run(cflow, wf, ws, we, chain)):  # off critical path
            if link is not None:
                link.outbox.run_id = run_id
                link.outbox.entered.set()
                if not link.go():  # started early, it waited for its predecessor in vain
                    return Cancelled(message="the chain ended before this window: it ran nothing")
            outcome = _cycles(cflow, start, stop, runahead, rerun, origin, link)
            # the record goes forward in window order: after the predecessor's, if it went on
            before_ok = link is None or link.predecessor_goes_on()
        if isinstance(outcome, State) or resume is None or not before_ok:
            goes_on = before_ok and _completed_unstopped(outcome)  # unsaved results: goes on
            return outcome  # failed or blocked: the chain ends here, the record stays behind
        stopped = outcome.get("stopped_at")
        # The record keeps the next point even past this call's stop, so a later call with a
        # later stop continues there instead of replaying the last window.
        after = None if stopped is not None else _next_point(wf, we, None)
        end = _point(wf, chain_stop)
        nxt = after if after is None or end is None or after <= end else None
        index = int(chain.get("window") or 1)
        # A chain of one flow run needs no record (see frontier()), unless its initial point
        # is the wall clock's: chain_initial() reads the record to tell whether it has ended.
        if index > 1 or nxt is not None or "initial" in chain:
            _record(cflow, resume, wf, origin, ws, we, after, index, run_id, stopped)
        goes_on = nxt is not None
    finally:
        if link is not None:
            link.recorded(goes_on)
    if deployment is not None and nxt is not None and budget is not None:
        successor = _hand_over(cflow, deployment, nxt, chain_stop, runahead, rerun, chain, run_id)
        outcome = {**outcome, "successor": successor}
    return outcome


def _completed_unstopped(outcome: Any) -> bool:
    if not isinstance(outcome, State) or not outcome.is_completed():
        return False
    data = outcome.data if isinstance(outcome.data, dict) else {}
    return data.get("stopped_at") is None


def _record(
    cflow: CyclicFlow,
    resume: Resume,
    wf: Workflow,
    origin: Point,
    ws: Point,
    we: Point,
    nxt: Point | None,
    index: int,
    run_id: str | None,
    stopped: str | None,
) -> None:
    ProgressRecord(resume, wf.fmt(origin)).write(
        Progress(
            flow=resume.flow,
            origin=wf.fmt(origin),
            fingerprint=fingerprint(resume, cflow.implementations),
            last_start=wf.fmt(ws),
            last_stop=wf.fmt(we),
            next=None if nxt is None else wf.fmt(nxt),
            windows=index,
            flow_run=run_id,
            stopped_at=None if stopped is None else str(stopped),
        )
    )


def _cycles(
    cflow: CyclicFlow,
    start: Any,
    stop: Any,
    runahead: Any,
    rerun: Any,
    origin: Point | None,
    link: Link | None = None,
) -> Any:
    return run_cycles(
        cflow.workflow,
        cflow.implementations,
        start,
        stop,
        runahead,
        cflow.tag_points,
        resume=cflow.resumer,
        rerun=rerun,
        origin=origin,
        link=link,
    )


def _point(wf: Workflow, value: object) -> Point | None:
    return None if value in (None, "") else wf.cycling.point(value)


def _next_point(wf: Workflow, after: Point, chain_stop: object) -> Point | None:
    """The first point after ``after`` where a task runs (up to the chain's stop)."""
    stop = _point(wf, chain_stop)
    if stop is not None and stop <= after:
        return None
    for point in Unroller(wf, after, stop).points():
        if point > after:
            return point
    return None


def _nothing_left(wf: Workflow, origin: Point) -> dict[str, Any]:
    return {
        "succeeded": 0,
        "failed": [],
        "blocked": [],
        "never_run": [],
        "removed": [],
        "stopped_at": None,
        "unsaved": [],
        "note": f"the chain from {wf.fmt(origin)} has nothing left to run",
    }


def _deployment_id() -> str | None:
    """The deployment this flow run came from, from its own record (no API round trip:
    ``prefect.runtime.deployment.id`` reads the flow run again when not in a deployment)."""
    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    value = run.deployment_id if run is not None else None
    return str(value) if value else None


def _label_run(
    cflow: CyclicFlow, wf: Workflow, start: Point, stop: Point, chain: Mapping[str, Any]
) -> None:
    """Name the running flow run after its points; tag it with the chain; link its predecessor."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    from prefect.client.orchestration import get_client

    run = ctx.flow_run
    name = window_name(cflow.name, wf, start, stop)
    tags = sorted(set(run.tags) | {TAG_PREFIX + cflow.name})
    labels: dict[str, Any] = {WINDOW_LABEL: str(chain.get("window") or 1)}
    if chain.get("predecessor"):
        labels[PREDECESSOR_LABEL] = str(chain["predecessor"])
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, name=name, tags=tags)
            client.update_flow_run_labels(run.id, labels)
    except Exception as exc:
        logger.warning("could not name flow run %s %r: %s", run.id, name, exc)


def _hand_over(
    cflow: CyclicFlow,
    deployment: str,
    start: Point,
    chain_stop: Any,
    runahead: Any,
    rerun: Any,
    chain: Mapping[str, Any],
    run_id: str | None,
) -> str | None:
    """Start the next window as a new run of this run's own deployment, not waiting for it.

    The idempotency key (this run and the next point) stops a retried or
    restarted hand-over from starting a second successor.
    """
    from prefect.deployments import run_deployment

    wf = cflow.workflow
    win = plan_window(wf, start, chain_stop, cflow.max_instances_per_run)
    if win is None:
        return None
    nxt_chain = {
        "origin": chain["origin"],
        "stop": chain_stop,
        "window": int(chain.get("window") or 1) + 1,
        "predecessor": run_id,
        **_initial(wf),
    }
    parameters = {
        "start": param(wf, win.start),
        "stop": param(wf, win.stop),
        "runahead": runahead,
        CHAIN_PARAM: nxt_chain,
    }
    if rerun is not None:
        parameters["rerun"] = rerun
    successor: Any = run_deployment(  # a FlowRun, called from sync code
        deployment,
        parameters=parameters,
        flow_run_name=window_name(cflow.name, wf, win.start, win.stop),
        tags=[TAG_PREFIX + cflow.name],
        timeout=0,
        as_subflow=False,
        idempotency_key=f"prefect-cycles:{run_id}:{wf.fmt(win.start)}",
    )
    return str(successor.id)


# -- the frontier: where a chain continues -----------------------------------------------


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
        nxt = _point(wf, progress.next)
        end = _point(wf, stop)
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


# -- a wall-clock initial point: resolved once per chain -----------------------------------


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
        if not _ended(view, start, _default_stop(view.workflow, stop)):
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
    nxt, end = _point(wf, progress.next), _point(wf, stop)
    return nxt is None or progress.stopped_at is not None or (end is not None and nxt > end)


def _initial(wf: Workflow) -> dict[str, str]:
    """The ``chain`` parameter's entry carrying a wall-clock initial point as a literal."""
    return {} if wf.wall_clock_initial is None else {"initial": wf.fmt(wf.initial)}


def _default_stop(wf: Workflow, stop: Any) -> Any:
    """``stop``, or ``[scheduling]stop after cycle point`` when none is given."""
    if stop is None and wf.stop_after != wf.final:
        return param(wf, wf.stop_after)
    return stop


# -- the plain call: the whole chain in this process ---------------------------------------


def call_chain(cflow: CyclicFlow, args: tuple, kwargs: dict[str, Any], return_state: bool) -> Any:
    """Run the chain window after window, each a top-level flow run; the chain's outcome."""
    bound = inspect.signature(cflow.fn).bind_partial(*args, **kwargs)
    bound.apply_defaults()
    params = dict(bound.arguments)
    params.pop(CHAIN_PARAM, None)
    start, stop = params.get("start"), params.get("stop")
    rerun = params.get("rerun")
    try:
        cflow = chain_initial(cflow, start, stop)
    except CycleError:  # bad parameters: one flow run fails with them, before any task
        return Flow.__call__(cflow, *args, return_state=return_state, **kwargs)
    wf = cflow.workflow
    stop = _default_stop(wf, stop)
    try:  # bad parameters, and what holds for the whole campaign (a runahead that never ends)
        origin = Unroller(wf, start, stop).start
        Scheduler(wf, origin, stop, params.get("runahead"))
    except CycleError:  # one flow run over the whole window fails with it, before any task
        return Flow.__call__(cflow, *args, return_state=return_state, **kwargs)
    first, index, predecessor = frontier(cflow, origin, stop, rerun)
    if predecessor is None and (first is None or plan_window(wf, first, stop, 1) is None):
        # a window with no instances at all: one flow run says so, as an unchained one does
        return Flow.__call__(cflow, *args, return_state=return_state, **kwargs)
    total = _nothing_left(wf, origin)
    total.pop("note")
    runs: list[str] = []
    state: State | None = None  # the last window's, or the first that did not complete
    threaded = can_overlap()
    live: list[Lane] = []  # windows started and not yet accounted for, oldest first
    halt = False

    def account(lane: Lane) -> bool:
        """Add a window that ended to the chain's outcome; True when the chain ends there."""
        nonlocal state
        ended = lane.join()
        runs.append(str(ended.state_details.flow_run_id))
        if not lane.wait_going() and (ended.is_completed() or ended.is_cancelled()):
            return True  # started early, it ran nothing: the chain had ended before it
        # (a window that failed before its run loop, e.g. on bad parameters, is an outcome)
        if state is not None and not state.is_completed():
            return True  # an earlier window failed: that is the chain's outcome
        state = ended
        if not ended.is_completed():
            return True
        outcome = ended.result()
        total["succeeded"] += outcome.get("succeeded", 0)
        for key in ("never_run", "removed", "unsaved"):  # the windows' lists, added up
            total[key] += outcome.get(key, [])
        if outcome.get("stopped_at") is not None:
            total["stopped_at"] = outcome["stopped_at"]
            return True
        return False

    frozen = _freeze_heap(threaded and TRIM_BETWEEN_WINDOWS)
    try:
        while first is not None and not halt:
            win = plan_window(wf, first, stop, cflow.max_instances_per_run)
            if win is None:
                break
            chain = {
                "origin": wf.fmt(origin),
                "stop": param(wf, _point(wf, stop)),
                "window": index,
                "predecessor": predecessor,
                **_initial(wf),
            }
            parameters = {
                **params,
                "start": param(wf, win.start),
                "stop": param(wf, win.stop),
                CHAIN_PARAM: chain,
            }
            lane = Lane(
                _window_call(cflow, parameters),
                Baton(win.start, win.stop),
                live[-1].baton if live else None,
                threaded,
                after=_trim if TRIM_BETWEEN_WINDOWS else None,
                before=live[-2].baton if len(live) > 1 else None,
            ).start()
            live.append(lane)
            # Overlapping, each window's flow run starts early and its run loop waits (see
            # overlap.Link.go): at most two run loops at once, a flow run's start-up off the
            # critical path. Windows are accounted for in order, as they end.
            # Started early, up to two windows wait to go: the next starts once the one before
            # this went (each waits inside its flow run: see overlap.Link.go).
            if len(live) > 1 and not live[-2].wait_going():
                halt = True  # the chain ended before that window: it ran nothing
            while live and live[0].baton.ended.is_set():
                halt = account(live.pop(0)) or halt
            predecessor = lane.run_id
            first, index = win.next, index + 1
        for lane in live:
            account(lane)
    finally:
        if frozen:
            gc.unfreeze()
    total["flow_runs"] = runs
    if state is None:
        total["note"] = f"the chain from {wf.fmt(origin)} has nothing left to run"
    elif not state.is_completed():
        return state if return_state else state.result()
    if not return_state:
        return total
    if state is None:
        return Completed(data=total, message=total["note"])
    return state.model_copy(update={"data": total})  # the last flow run, the chain's outcome


def _window_call(cflow: CyclicFlow, parameters: dict[str, Any]) -> Callable[[], State]:
    return lambda: _run_flow(cflow, parameters)


def _run_flow(cflow: CyclicFlow, parameters: dict[str, Any]) -> State:
    """One window as a flow run of its own (a subflow when called inside a flow)."""
    call: Callable[..., State] = Flow.__call__
    with released():
        return call(cflow, **parameters, return_state=True)


def _freeze_heap(freeze: bool) -> bool:
    """Move what is alive before the chain's first window out of the collector's sight.

    The full collection of :func:`_trim` then scans only what the windows made
    since: over Prefect's and the program's own objects it took 0.3 s a window
    (more on a loaded machine), holding the interpreter lock while the next
    window runs beside it. ``gc.unfreeze()`` when the chain ends.
    """
    if freeze:
        gc.collect()
        gc.freeze()
    return freeze


def _trim() -> None:
    """Collect garbage and return free heap pages to the OS, where glibc allows it."""
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def chained_instances(workflow: Workflow, start: object, stop: object, budget: int) -> list:
    """The windows a chain over ``start..stop`` runs, as lists of instances (for tests, docs)."""
    out: list[list[Instance]] = []
    first: Point | None = Unroller(workflow, start, stop).start
    while first is not None:
        win = plan_window(workflow, first, stop, budget)
        if win is None:
            break
        out.append([i for i, _ in Unroller(workflow, win.start, win.stop).walk()])
        first = win.next
    return out


__all__ = [
    "CHAIN_PARAM",
    "DEFAULT_MAX_INSTANCES_PER_RUN",
    "Window",
    "call_chain",
    "chained_instances",
    "check_budget",
    "plan_window",
    "run_window",
]
