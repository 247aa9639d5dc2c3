"""The run loop: the body of every cyclic flow run.

The scheduler says which instances are ready; the loop submits each as a
Prefect task run (:mod:`prefect_cycles.run.submit`), waits for the next to
finish or for the clock, feeds the outcome back, and ends with an honest
final state: Completed only when every instance that could run completed.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from prefect import Task, get_run_logger
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed

from ..cycling.points import Point
from ..errors import CyclicFlowFailed
from ..graph.conditions import triggers
from ..graph.model import Workflow
from ..graph.unroll import Instance, Unroller
from .direct import Direct
from .earlier import Earlier
from .emit import OutputWatch
from .lease import guarded
from .overlap import Link
from .rerun import Rerun, parse_rerun, refreshed_before
from .resume import Resume, owns_caching
from .saving import Saving
from .scheduler import Ready, Scheduler
from .stopped import known_stop, remember
from .submit import Submitter
from .xtriggers import XTriggerCalls

if TYPE_CHECKING:
    pass


#: Seconds between checks of whether a task run has started, done only for
#: task runs whose ``:started`` output another instance waits for.
STARTED_POLL = 0.2


#: Put in the done-queue to wake the loop when the predecessor window has news.
WAKE = Instance("prefect-cycles-wake", 0)


#: Seconds added to a clock wait, so the flow wakes just after the clock time, not before.
CLOCK_SLACK = 0.01


_watchers: list[Callable[[Scheduler], None]] = []


@contextmanager
def watching(callback: Callable[[Scheduler], None]) -> Iterator[None]:
    """Call ``callback(scheduler)`` after every change while cyclic flows run in this process.

    Flow bodies run in the calling process whatever the task runner, so a
    progress view (``prefect-cycles run``) can read the scheduler's states.
    """
    _watchers.append(callback)
    try:
        yield
    finally:
        _watchers.remove(callback)


def _notify(sched: Scheduler) -> None:
    for callback in list(_watchers):
        callback(sched)


def run_cycles(
    workflow: Workflow,
    impls: Mapping[str, Task],
    start: object = None,
    stop: object = None,
    runahead: str | None = None,
    tag_points: bool = False,
    *,
    resume: Resume | None = None,
    rerun: object = None,
    origin: object = None,
    link: Link | None = None,
) -> Any:
    """The body of a cyclic flow: schedule, submit and wait on every instance.

    With resume, under run-once locks and a lease (:func:`~prefect_cycles.run.lease.guarded`).
    ``origin`` is set for a window of a chain: parents between it and ``start``
    ran in earlier windows and are read back from result storage. ``link`` ties
    the window to its neighbours when windows overlap (:mod:`.overlap`).
    """
    logger = get_run_logger()
    outcome: Any = None
    try:
        with guarded(Resume.active(resume), logger) as active:
            outcome = _run(
                workflow,
                impls,
                start,
                stop,
                runahead,
                tag_points,
                active,
                rerun,
                logger,
                origin,
                link,
            )
        return outcome
    finally:
        if link is not None:
            link.close(outcome)


def _run(
    workflow: Workflow,
    impls: Mapping[str, Task],
    start: object,
    stop: object,
    runahead: str | None,
    tag_points: bool,
    resume: Resume | None,
    rerun: object,
    logger: Any,
    origin: object = None,
    link: Link | None = None,
) -> Any:
    earlier = Earlier(workflow, dict(impls), resume) if resume and origin is not None else None
    lookup = earlier.outputs if earlier else None
    if link is not None:  # parents may still be running in the predecessor window
        earlier = link.earlier_for(earlier)
        sched = link.scheduler(workflow, start, stop, runahead, origin=origin, earlier=lookup)
    else:
        sched = Scheduler(workflow, start, stop, runahead, origin=origin, earlier=lookup)
    if resume is not None:  # what ends without a result still counts in a later window
        keeper = earlier or Earlier(workflow, dict(impls), resume)
        sched.subscribe(keeper.keeper(sched.outputs_of))
    # a window of a chain reads the selectors against the chain from its origin (see rerun)
    chain_view = Unroller(workflow, origin, None, origin) if earlier is not None else None
    chosen = parse_rerun(rerun, chain_view or sched.unroller)  # type: ignore[arg-type]
    fmt = workflow.fmt
    window = f"{fmt(sched.unroller.start)} to " + (
        fmt(sched.unroller.stop) if sched.unroller.stop is not None else "no stop point"
    )
    if sched.unroller.first_point(None) is None:
        logger.warning(
            "No instance of any task falls in the window %s of %s, so nothing runs. Fix: choose "
            "start/stop points where tasks run (prefect-cycles graph shows them)",
            window,
            workflow.name,
        )
    logger.info(
        "Cycling %s from %s (runahead %s)", workflow.name, window, runahead or workflow.runahead
    )
    submitter = Submitter(workflow, impls, tag_points, resume, chosen, earlier)
    if earlier is not None and chosen:  # the refresh goes on downstream across the boundary
        submitter.carried = frozenset(
            refreshed_before(chosen, workflow, sched.unroller.origin, sched.unroller.start)
        )
    known = stopper = _known_stop(sched, resume, chosen, impls, submitter, logger)
    clock = _ClockLog(workflow)
    outputs = OutputWatch(workflow, submitter.impls)
    # Finished instances for this thread to settle, None (a worker settled one: look
    # again), or an exception a worker met, raised here.
    done: queue.SimpleQueue[Instance | BaseException | None] = queue.SimpleQueue()
    in_flight: dict[Instance, PrefectFuture] = {}
    stopped_at: Point | None = None
    expired_told = 0
    calls = XTriggerCalls()  # function xtriggers, called off this thread
    lock = threading.Lock()  # held for every use of the scheduler, the submitter, in_flight
    closed = False  # the loop has ended: nothing more is submitted

    gating = gating_tasks(workflow)

    def submit_ready() -> None:
        # Submitting can release more at once (children of ':submitted').
        while items := sched.ready():
            for item in critical_first(items, gating):
                inst = item.instance
                try:
                    fut = submitter.submit(item)
                except Exception as exc:  # refused before it was handed to the runner
                    _submit_failed(sched, submitter, inst, logger, exc)
                    continue
                in_flight[inst] = fut
                fut.add_done_callback(when_done(inst))
                sched.submitted(inst)

    def settle(inst: Instance) -> None:
        """Feed one finished instance's outcome back to the scheduler."""
        nonlocal stopped_at, stopper
        fut = in_flight.pop(inst)
        try:
            fut.wait()
            state = fut.state
        except Exception as exc:  # the runner could not run it (e.g. not picklable)
            _submit_failed(sched, submitter, inst, logger, exc)
            if link is not None:
                link.finished(inst, False)
            return
        outputs.ended(sched, inst, fut, state, logger)
        if state.is_crashed() and not _body_started(fut):
            _submit_failed(sched, submitter, inst, logger, state.message)
            if link is not None:
                link.finished(inst, False)
            return
        sched.started(inst)
        ok = state.is_completed()
        sched.finished(inst, ok)
        if not ok:
            logger.warning(
                "%s[%s] ended %s: %s", inst.task, fmt(inst.point), state.name, state.message or ""
            )
        elif submitter.stopped_cycling(inst, state, logger):
            stopped_at = inst.point if stopped_at is None else min(stopped_at, inst.point)
            stopper = stopper if stopper and stopper[1] <= inst.point else (inst.task, inst.point)
            sched.stop_after(inst.point)
            if link is not None:
                link.stopped(inst.point)
            logger.info(
                "%s[%s] stopped the cycling: no later point starts", inst.task, fmt(inst.point)
            )
        if link is not None:  # after the stop, so that no child of it starts there
            link.finished(inst, ok, state, sched.outputs_of(inst))

    def settle_and_submit(inst: Instance) -> None:
        settle(inst)
        submit_ready()
        submitter.forget_except(sched)  # the flow's thread may sleep through many settles

    def flow_thread_needed() -> bool:
        """Whether the flow's thread has work after a worker settled an instance.

        Waking it for nothing puts its wake-up and loop on the critical path, in
        the same moment as the children's start: it has work only to end the loop
        (nothing in flight), to wait for the clock or poll (its timeout changes),
        for xtriggers, clock-expiry, watchers of the scheduler and a linked window.
        """
        return bool(
            not in_flight
            or _watchers
            or link is not None
            or workflow.xtriggers
            or workflow.clock_expire
            or calls.in_flight
            or sched.next_clock() is not None
            or sched.waiting_for_started
            or outputs.watching(in_flight)
        )

    direct = Direct.for_runner()

    def closed_now() -> None:
        nonlocal closed
        closed = True

    def when_done(inst: Instance) -> Callable[[PrefectFuture], None]:
        """A done callback. On a thread pool, the thread that ran the task settles it and
        submits the children it releases at once, with no hop through this thread (see
        :mod:`.direct`); when another thread holds the scheduler, or elsewhere, it hands
        the instance to this thread."""

        def callback(_future: PrefectFuture) -> None:
            if direct is None or not lock.acquire(blocking=False):
                done.put(inst)
                return
            try:
                if closed:
                    return
                direct.run(settle_and_submit, inst)
                if flow_thread_needed():
                    done.put(None)
            except BaseException as exc:  # raised again in the flow's thread
                done.put(exc)
            finally:
                lock.release()

        return callback

    if link is not None:
        link.subscribe(lambda: done.put(WAKE))
    with direct if direct is not None else nullcontext(), _closing(lock, closed_now):
        while True:
            with lock:
                if link is not None:
                    link.receive(sched)
                submit_ready()
                expired_told = _tell_expired(sched, workflow, logger, expired_told)
                for sig, func, args, kwargs in sched.xtrigger_calls(sched.now()):
                    calls.start(sig, func, args, kwargs)
                _notify(sched)
                if link is not None:
                    link.progress(sched)
                due = sched.next_clock()
                waiting = link is not None and link.waiting()  # the predecessor may still tell
                if not in_flight and due is None and not calls.in_flight and not waiting:
                    break
                if due is not None:
                    clock.announce(sched, logger)
                watch = [i for i in sched.waiting_for_started if i in in_flight]
                polling = watch or outputs.watching(in_flight) or calls.in_flight
            poll = STARTED_POLL if polling else None
            try:
                finished = [done.get(timeout=_wait_time(due, sched, poll))]
            except queue.Empty:
                with lock:
                    for inst in watch:
                        if inst in in_flight and in_flight[inst].state.is_running():
                            sched.started(inst)
                    outputs.poll(sched, in_flight, logger)
                    _xtrigger_results(sched, calls, logger)
                continue
            while True:
                try:
                    finished.append(done.get_nowait())
                except queue.Empty:
                    break
            with lock:
                for got in finished:
                    if isinstance(got, BaseException):
                        raise got
                    if got is not None and got is not WAKE:
                        settle(got)
                _xtrigger_results(sched, calls, logger)
                submitter.forget_except(sched)
    calls.close()
    submitter.report(logger)
    if resume is not None and stopper is not None and stopper != known:
        remember(resume, submitter.impls, stopper[0], fmt(stopper[1]))
    return _outcome(sched, workflow, stopped_at, logger, submitter.saving)


def gating_tasks(workflow: Workflow) -> frozenset[str]:
    """The tasks some dependency waits on: their instances gate others, leaves gate none."""
    return frozenset(t.task for dep in workflow.dependencies for t in triggers(dep.condition))


def critical_first(items: list[Ready], gating: frozenset[str]) -> list[Ready]:
    """A batch of ready instances in submission order: those that gate others first.

    Instances released together start together, competing for the worker
    threads and the interpreter; a leaf (``bar`` in ``foo[-P1] => foo => bar``)
    delays only itself, while ``foo[+P1]`` holds up the rest of the chain. The
    order within each group is the scheduler's.
    """
    if len(items) < 2:
        return items
    return sorted(items, key=lambda item: item.instance.task not in gating)


@contextmanager
def _closing(lock: threading.Lock, close: Callable[[], None]) -> Iterator[None]:
    """Close the loop on the way out, however it ends, so that a task run ending after
    it (the flow failed) submits nothing."""
    try:
        yield
    finally:
        with lock:
            close()


def _xtrigger_results(sched: Scheduler, calls: XTriggerCalls, logger: Any) -> None:
    for sig, ok, results, error in calls.drain():
        if error is not None:
            logger.warning("xtrigger %s(...) failed, to be tried again: %s", sig[0], error)
        elif ok:
            logger.info("xtrigger satisfied: %s%s", sig[0], f" {results}" if results else "")
        sched.xtrigger_result(sig, ok, results, sched.now())


def _submit_failed(
    sched: Scheduler, submitter: Submitter, inst: Instance, logger: Any, why: object
) -> None:
    """``inst`` never ran: Cylc's ``submit-failed`` output. Its future is dropped, so no
    child waits on it or reads a result from it."""
    logger.warning(
        "%s[%s] submit-failed (it never started): %s",
        inst.task,
        sched.workflow.fmt(inst.point),
        why,
    )
    submitter.futures.pop(inst, None)
    sched.submit_failed(inst)


def _body_started(fut: PrefectFuture) -> bool:
    """Whether a crashed task run had entered its body (Running) before it crashed."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            run = client.read_task_run(fut.task_run_id)
    except Exception:  # no record of it: it never got as far as the server
        return False
    return bool(run.run_count) or run.start_time is not None


def _tell_expired(sched: Scheduler, workflow: Workflow, logger: Any, told: int) -> int:
    for inst in sched.expired[told:]:
        expires = workflow.expire_time(inst.task, inst.point)
        logger.warning(
            "%s[%s] expired: not started by %s (clock-expire %s), so it will not run",
            inst.task,
            workflow.fmt(inst.point),
            expires.strftime("%Y-%m-%dT%H:%M:%SZ") if expires else "?",
            workflow.clock_expire.get(inst.task),
        )
    return len(sched.expired)


def _known_stop(
    sched: Scheduler,
    resume: Resume | None,
    chosen: Rerun,
    impls: Mapping[str, Task],
    submitter: Submitter,
    logger: Any,
) -> tuple[str, Point] | None:
    """Stop after the point where an earlier run stopped, when it will stop there again.

    See :mod:`prefect_cycles.run.stopped`: this makes a rerun of a finished
    loop-until workflow restore the same instances every time and start none.
    """
    if resume is None or chosen:
        return None
    known = known_stop(
        resume, sched.workflow, submitter.impls, {n: owns_caching(t) for n, t in impls.items()}
    )
    if known is None or known[1] < sched.unroller.start:
        return None
    sched.stop_after(known[1])
    logger.info(
        "%s[%s] stopped the cycling in an earlier run: this run restores the points up to "
        "it and starts nothing later",
        known[0],
        sched.workflow.fmt(known[1]),
    )
    return known


def _wait_time(due: dt.datetime | None, sched: Scheduler, poll: float | None) -> float | None:
    """Seconds to wait for a task run to end: until the next clock time at the latest.

    An instance waiting for the clock is simply not submitted yet, so it holds
    no worker thread; the flow's own thread sleeps on the done-queue instead.
    """
    if due is None:
        return poll
    until = max(0.0, (due - sched.now()).total_seconds()) + CLOCK_SLACK
    return until if poll is None else min(poll, until)


class _ClockLog:
    """Logs "waiting for the clock" once per instance, not at every wake-up."""

    def __init__(self, workflow: Workflow) -> None:
        self.fmt = workflow.fmt
        self.told: set[Instance] = set()

    def announce(self, sched: Scheduler, logger: Any) -> None:
        waiting = sched.waiting_for_clock()
        for inst, due in waiting:
            if inst not in self.told:
                logger.info(
                    "%s[%s] waiting for the clock until %s",
                    inst.task,
                    self.fmt(inst.point),
                    due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
        self.told = {inst for inst, _ in waiting}


def _outcome(
    sched: Scheduler,
    workflow: Workflow,
    stopped_at: Point | None,
    logger: Any,
    saving: Saving | None = None,
) -> Any:
    fmt = workflow.fmt

    def label(inst: Instance) -> str:
        return f"{inst.task}[{fmt(inst.point)}]"

    for inst, reason in sched.never_run:
        logger.warning("%s never runs: %s", label(inst), reason)
    for inst in sched.removed:
        logger.info("%s removed by a suicide trigger: it did not run", label(inst))
    blocked = sched.blocked()
    summary: dict[str, Any] = {
        "succeeded": sched.succeeded,
        "failed": [label(i) for i in sched.failed],
        "blocked": [label(i) for i, _ in blocked],
        "never_run": [label(i) for i, _ in sched.never_run],
        "removed": [label(i) for i in sched.removed],
        # a point as the flow's parameters take it: an int, or Cylc's date-time text
        "stopped_at": stopped_at
        if stopped_at is None or isinstance(stopped_at, int)
        else fmt(stopped_at),
        "unsaved": list(saving.unsaved) if saving is not None else [],
    }
    unsaved = saving.report() if saving is not None else None
    if not sched.failed and not blocked and not sched.stalled_by_runahead():
        done = f"All {sched.succeeded + sched.failed_ok} instances completed"
        if unsaved is None:
            logger.info(done)
            return summary
        # The work is done, so the run completes; the message says what a rerun repeats.
        logger.warning("%s, but %s", done, unsaved)
        return Completed(message=f"{done}, but {unsaved}", data=summary)
    parts = []
    if sched.failed:
        parts.append("failed: " + ", ".join(summary["failed"]))
    if blocked:
        parts.append("blocked: " + "; ".join(f"{label(i)} ({why})" for i, why in blocked))
    if sched.stalled_by_runahead():
        parts.append("later points were held back by the runahead limit")
    if unsaved is not None:
        parts.append(unsaved)
    error = CyclicFlowFailed(
        f"Cyclic workflow {workflow.name!r} did not complete. " + ". ".join(parts),
        summary=summary,
        fix="read the error of each failed task run in its logs, fix the cause and run the "
        "flow again (with resume, what completed comes back Cached and only the rest runs)",
    )
    logger.error(str(error))
    # The error is the state's data, so that Prefect raises it from a plain call
    # (it can raise an exception, never a dict) and return_state=True still has it.
    return Failed(message=str(error), data=error)
