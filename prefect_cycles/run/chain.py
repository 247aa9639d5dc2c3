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
import ctypes
import gc
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from prefect import Flow
from prefect.context import FlowRunContext, SyncClientContext, TaskRunContext
from prefect.states import Cancelled, Completed, State

from ..cycling.points import Point
from ..errors import CycleError
from ..graph.model import Workflow
from ..graph.unroll import Unroller
from .frontier import anchored, chain_initial, frontier
from .handover import Successor, WindowRuns, deployment_id, hand_over, label_run, labelled
from .heartbeat import beating, handed_over
from .loop import run_cycles
from .overlap import Baton, Lane, Link, can_overlap, in_background, link_for
from .progress_record import Progress, ProgressRecord, fingerprint
from .release import keep, released
from .resume import Resume
from .scheduler import Scheduler
from .windows import (
    CHAIN_PARAM,
    Window,
    chain_param,
    default_stop,
    next_point,
    param,
    plan_window,
    point_of,
)

if TYPE_CHECKING:
    from .flow import CyclicFlow


#: Between windows of a plain call, hand freed memory back to the OS (glibc's
#: ``malloc_trim``): a window's task runs leave the allocator's arenas
#: fragmented, and without it the process's RSS creeps up window after window
#: although Python holds no more objects (measured: benchmarks/chain_windows.py).
TRIM_BETWEEN_WINDOWS = True


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
    deployment = deployment_id()
    if chain is None:
        if deployment is None or cflow.resumer is None or cflow.max_instances_per_run is None:
            cflow = anchored(cflow, None)  # not a chain: one run, from the wall clock's point
            stop = default_stop(cflow.workflow, stop)
            return _cycles(cflow, start, stop, runahead, rerun, None)
        cflow = chain_initial(cflow, start, stop)
        wf = cflow.workflow
        stop = default_stop(wf, stop)
        origin = Unroller(wf, start, stop).start
        first, index, predecessor = frontier(cflow, origin, stop, rerun)
        budget = cflow.max_instances_per_run
        win = plan_window(wf, first, stop, budget) if first is not None else None
        if win is None:
            return _nothing_left(wf, origin)
        chain = chain_param(wf, wf.fmt(origin), param(wf, point_of(wf, stop)), index, predecessor)
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
    # a plain call's windows are created named and labelled; others are labelled beside the run
    naming = (
        nullcontext()
        if labelled(cflow, wf, ws, we, chain)
        else in_background(lambda: label_run(cflow, wf, ws, we, chain))
    )
    try:
        with naming, beating():  # the heartbeat stops with the body (see run.heartbeat)
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
        after = None if stopped is not None else next_point(wf, we, None)
        end = point_of(wf, chain_stop)
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
        successor = hand_over(cflow, deployment, nxt, chain_stop, runahead, rerun, chain, run_id)
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
    stop = default_stop(wf, stop)
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

    budget = cflow.max_instances_per_run

    def window_parameters(win: Window, index: int, predecessor: str | None) -> dict[str, Any]:
        chain = chain_param(wf, wf.fmt(origin), param(wf, point_of(wf, stop)), index, predecessor)
        return {
            **params,
            "start": param(wf, win.start),
            "stop": param(wf, win.stop),
            CHAIN_PARAM: chain,
        }

    def successor(win: Window, index: int) -> Successor:
        def build(run_id: str) -> tuple[dict[str, Any], Point, Point] | None:
            nxt = plan_window(wf, win.next, stop, budget) if win.next is not None else None
            if nxt is None:
                return None
            return window_parameters(nxt, index + 1, run_id), nxt.start, nxt.stop

        return build

    runs_of = WindowRuns(cflow)
    with _chain_session(runs_of):
        while first is not None and not halt:
            win = plan_window(wf, first, stop, budget)
            if win is None:
                break
            parameters = window_parameters(win, index, predecessor)
            # one after another, the next window's flow run is created while this one runs
            ahead = None if threaded else successor(win, index)
            lane = Lane(
                _window_call(cflow, parameters, runs_of, win, ahead),
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


def _window_call(
    cflow: CyclicFlow,
    parameters: dict[str, Any],
    runs_of: WindowRuns,
    win: Window,
    ahead: Successor | None,
) -> Callable[[], State]:
    return lambda: _run_flow(cflow, parameters, runs_of, win, ahead)


def _run_flow(
    cflow: CyclicFlow,
    parameters: dict[str, Any],
    runs_of: WindowRuns,
    win: Window,
    ahead: Successor | None = None,
) -> State:
    """One window as a flow run of its own (a subflow when called inside a flow).

    A top-level window's flow run is created named, tagged and labelled, and
    with ``ahead`` its successor's meanwhile (see :class:`~.handover.WindowRuns`);
    a subflow's is created by the engine, under its parent's task run, and
    labelled from inside.
    """
    with released():
        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return runs_of.run(parameters, win.start, win.stop, ahead)
        call: Callable[..., State] = Flow.__call__
        return call(cflow, **parameters, return_state=True)


@contextmanager
def _chain_session(runs_of: WindowRuns) -> Iterator[None]:
    """What a chain's windows share, set up once per chain rather than once per window.

    One Prefect client (the engine otherwise opens one per flow run: a new
    connection and its requests); the flow-run heartbeat carried by each
    window's body, so no window's end waits for the engine's heartbeat thread
    (:mod:`.heartbeat`); and the heap frozen, so :func:`_trim` between windows
    collects only what the windows made. When the chain ends, a flow run
    created ahead for a window that will not run is deleted.
    """
    with ExitStack() as stack:
        stack.enter_context(SyncClientContext.get_or_create())
        stack.callback(runs_of.close)  # before the client goes
        stack.enter_context(handed_over())
        if _freeze_heap(TRIM_BETWEEN_WINDOWS):
            stack.callback(gc.unfreeze)
        yield


def _freeze_heap(freeze: bool) -> bool:
    """Move what is alive before the chain's first window out of the collector's sight.

    The full collection of :func:`_trim` then scans only what the windows made
    since: over Prefect's and the program's own objects it took 0.2-0.5 s a
    window on a loaded machine, 0.02-0.04 s frozen, on the critical path of
    every boundary (and, with overlapping windows, holding the interpreter lock
    while the next window runs beside it). ``gc.unfreeze()`` when the chain ends.
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


__all__ = ["call_chain", "run_window"]
