"""Overlapping windows: a chain's next window starts before its predecessor has drained.

In one flow run, ``bar[8]`` and ``foo[9]`` run side by side. Cut the campaign
into windows run one after another and ``foo[9]`` (window 3) waits for the
whole of window 2 to drain, plus a flow run's start-up: every boundary is a
stall on the critical path. So, in a plain call, each window's flow run starts
early, in a thread of its own, and its run loop waits inside it (:meth:`Link.go`)
until its predecessor has spawned all of its points and the flow run of the
window before that is over: at most two run loops at once, both real
top-level Prefect flow runs, and at most four flow runs not over. Window k
tells window k+1 through a :class:`Baton` (thread-safe, in-process) how each
of its instances ended, so a child in window k+1 whose parent is still
running in window k waits for it (:class:`LiveScheduler`), takes its result
straight from the parent's state (:class:`LiveEarlier`), and is blocked if it
failed. Parents in windows whose
loops have ended are read from result storage as before.

What keeps it honest:

- each window runs only its own instances, so each instance runs once, and
  the runahead limit counts the predecessor's active points as well;
- the progress record advances in window order: window k+1 writes its record
  only after window k wrote its own and let the chain go on, so a process
  killed while two windows overlap restarts at window k (what completed comes
  back ``Cached``);
- ``stop_cycling`` in window k reaches window k+1 at once (nothing there
  starts after it), and a failure in window k blocks its children in k+1 and
  ends the chain: a window started early that never got to run ends
  ``Cancelled``, having run nothing.

A run from a deployment hands over through ``run_deployment`` after it
drained (see docs/running-for-ever.md for why it does not overlap), and a
chain called inside a flow or task runs its windows one after another.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prefect.context import (
    AsyncClientContext,
    FlowRunContext,
    SyncClientContext,
    TaskRunContext,
)
from prefect.states import State

from ..cycling.points import Point
from ..graph.unroll import Instance
from .earlier import MISSING, Earlier
from .scheduler import Scheduler, _Record

#: Whether a plain call overlaps its windows (False: each starts when the last ended).
#: Measured (benchmarks/chain_windows.py, 4,000 points, budget 400): RSS levels off after
#: ten windows (118.0 MB at window 11, 119.0 MB at window 19); it grew 2 MB a window while
#: finished windows piled up behind slow API calls (see :func:`in_background`, Link.go).
OVERLAP_WINDOWS = True

#: What :meth:`Baton.outcome` gives for a parent still running in the predecessor.
PENDING = object()

#: Seconds between checks of the predecessor's record before a window writes its own.
_END_POLL = 0.05


class Baton:
    """What a running window tells its successor: outcomes, a stop, its active points.

    Written by the window's run loop, read by the successor's; every method
    takes the lock. Events, in order: ``entered`` (its flow run is running),
    ``going`` (its run loop started, ``went``, or never will), ``released``
    (it spawned all of its points: the successor's loop may start),
    ``loop_done`` (``loop_goes_on`` when it completed without a stop),
    ``recorded`` (its progress record is written; ``goes_on`` when the chain
    continues after it) and ``ended`` (its flow run is over; every event set).
    """

    def __init__(self, start: Point, stop: Point) -> None:
        self.start, self.stop = start, stop
        self._lock = threading.Lock()
        self._states: dict[Instance, State | None] = {}  # None: did not succeed
        self._outputs: dict[Instance, frozenset[str]] = {}  # the outputs each reached
        self._news: list[Instance] = []
        self._stop: Point | None = None
        self._active: tuple[Point, ...] = ()
        self._closed = False
        self._wakers: list[Callable[[], None]] = []
        self.released = threading.Event()
        self.entered = threading.Event()  # its flow run is running: run_id is known
        self.going = threading.Event()  # its run loop may start (or never will): see Link.go
        self.went = False
        self.loop_done = threading.Event()
        self.loop_goes_on = False
        self.recorded = threading.Event()  # its progress record is written (or never will be)
        self.ended = threading.Event()
        self.goes_on = False
        self.run_id: str | None = None

    # -- the window's side ------------------------------------------------------------

    def finished(
        self,
        inst: Instance,
        ok: bool,
        state: State | None = None,
        outputs: frozenset[str] | None = None,
    ) -> None:
        with self._lock:
            self._states[inst] = state if ok else None
            if outputs is not None:
                self._outputs[inst] = outputs
            self._news.append(inst)
        self._wake()

    def stopped(self, point: Point) -> None:
        with self._lock:
            self._stop = point if self._stop is None else min(self._stop, point)
        self._wake()

    def progress(self, active: tuple[Point, ...], spawned_all: bool) -> None:
        with self._lock:
            changed = active != self._active
            self._active = active
        if spawned_all:
            self.released.set()
        if changed:
            self._wake()

    def close(self, goes_on: bool = False) -> None:
        """The window's run loop is over: no more outcomes come; ``goes_on`` when it
        completed without stopping the cycling.

        Its active points stay: points left with failed or blocked instances
        hold the runahead limit of the successor, as they would in one flow run.
        """
        with self._lock:
            if not self._closed:
                self._closed, self.loop_goes_on = True, goes_on
        self.loop_done.set()
        self._wake()

    def end(self) -> None:
        """The window's flow run is over (called last, whatever happened)."""
        self.close()
        self.entered.set()
        self.recorded.set()
        self.ended.set()
        self.going.set()
        self.released.set()

    def _wake(self) -> None:
        for wake in list(self._wakers):
            wake()

    # -- the successor's side ---------------------------------------------------------

    def covers(self, inst: Instance) -> bool:
        return self.start <= inst.point <= self.stop

    def subscribe(self, wake: Callable[[], None]) -> None:
        self._wakers.append(wake)

    def outcome(self, inst: Instance) -> Any:
        """The outputs it reached (True: succeeded; None: not known), PENDING (it may
        still run), MISSING (ask storage)."""
        with self._lock:
            if inst in self._states:
                if inst in self._outputs:
                    return self._outputs[inst]
                return None if self._states[inst] is None else True
            return MISSING if self._closed else PENDING

    def state(self, inst: Instance) -> State | None:
        with self._lock:
            return self._states.get(inst)

    def news(self) -> tuple[list[Instance], Point | None, bool]:
        """Instances ended since the last call, the stop point so far, and whether closed."""
        with self._lock:
            news, self._news = self._news, []
            return news, self._stop, self._closed

    def active(self) -> tuple[Point, ...]:
        with self._lock:
            return self._active


class LiveEarlier(Earlier):
    """Parents of earlier windows: from the running predecessor when it ran them, else storage."""

    def __init__(self, earlier: Earlier, baton: Baton) -> None:
        self.__dict__.update(earlier.__dict__)
        self.baton = baton

    def live(self, inst: Instance) -> Any:
        """The scheduler's lookup: like :meth:`outcome`, or PENDING while the parent may run."""
        if self.baton.covers(inst):
            found = self.baton.outcome(inst)
            if found is not MISSING:
                return found
        return self.outputs(inst)

    def result(self, inst: Instance) -> Any:
        state = self.baton.state(inst) if self.baton.covers(inst) else None
        if state is not None:
            try:
                return state.result(raise_on_failure=False)
            except Exception:  # unreadable in memory: the stored record may still say
                pass
        return super().result(inst)


class LiveScheduler(Scheduler):
    """A window's scheduler whose earlier parents may still be running in its predecessor."""

    def __init__(self, *args: Any, baton: Baton, **kwargs: Any) -> None:
        self.baton = baton
        self.pending: set[Instance] = set()  # parents still running in the predecessor
        super().__init__(*args, **kwargs)

    def _from_earlier(self, parent: Instance) -> None:
        found = self._earlier_outcome(parent)
        if found is not PENDING:
            super()._from_earlier(parent)
            return
        self._earlier.add(parent)
        self._records[parent] = _Record(None, "running")  # running in the predecessor
        self.pending.add(parent)

    def earlier_ended(self, parent: Instance, got: Any) -> None:
        """A parent running in the predecessor ended with the outputs ``got`` (True:
        succeeded; None: not known): release its children, or block them."""
        if parent not in self.pending:
            return
        self.pending.discard(parent)
        rec = self._records.get(parent)
        if rec is None:
            return
        ended = self._earlier_record(parent, got)
        rec.state, rec.outputs = ended.state, ended.outputs
        self._wake(parent)

    def _within_runahead(self, point: Point) -> bool:
        """The runahead limit counts the predecessor's active points as well as ours."""
        ahead = self.baton.active()
        if not ahead:
            return super()._within_runahead(point)
        if self.cut is not None and point > self.cut:
            return False
        limit = self.runahead
        if isinstance(limit, int):
            return len(ahead) + len(self._active) <= limit
        return point <= self.workflow.cycling.add(ahead[0], limit)


def spawned_all(sched: Scheduler) -> bool:
    """Every point of the window is spawned (none left behind the runahead limit) and no
    stop cut it short: the successor may start, and waits for what it needs of this one."""
    return sched.cut is None and not sched.stalled_by_runahead()


class Link:
    """A window's run loop's ties to its neighbours: the predecessor's baton and its own."""

    def __init__(self, outbox: Baton, inbox: Baton | None, before: Baton | None = None) -> None:
        self.outbox = outbox
        self.inbox = inbox
        self.before = before  # the window before the predecessor
        self.earlier: LiveEarlier | None = None
        self._seen_closed = False

    # -- set-up -----------------------------------------------------------------------

    def go(self) -> bool:
        """Wait, inside the started flow run, until this window's run loop may start.

        The flow run is created and started early (its start-up off the critical
        path); its loop starts once the predecessor spawned all its points and the
        flow run of the window before that is over, both letting the chain go on.
        False when the chain ended before this window.

        Over, not just its loop: a window's flow run ends after its loop (its record
        waits for the predecessor's, then Prefect's final API calls), and each one
        not over holds its Prefect bookkeeping. Waiting for the loop alone let them
        pile up window after window while a loaded server answered slowly; this
        way at most four windows' flow runs are running at once (one draining, one
        running, two started early), whatever the server's latency.
        """
        try:
            if self.inbox is not None:
                _wait(self.inbox.released)
                if self.inbox.loop_done.is_set() and not self.inbox.loop_goes_on:
                    return False
            if self.before is not None:
                _wait(self.before.ended)
                if not self.before.loop_goes_on:
                    return False
            self.outbox.went = True
            return True
        finally:
            self.outbox.going.set()

    def earlier_for(self, earlier: Earlier | None) -> Earlier | None:
        if earlier is None or self.inbox is None:
            return earlier
        self.earlier = LiveEarlier(earlier, self.inbox)
        return self.earlier

    def scheduler(self, *args: Any, **kwargs: Any) -> Scheduler:
        if self.inbox is None or self.earlier is None:
            self.inbox = None  # nothing to hear from: parents come from storage
            return Scheduler(*args, **kwargs)
        kwargs["earlier"] = self.earlier.live
        return LiveScheduler(*args, baton=self.inbox, **kwargs)

    def subscribe(self, wake: Callable[[], None]) -> None:
        if self.inbox is not None:
            self.inbox.subscribe(wake)

    # -- each turn of the run loop -------------------------------------------------------

    def receive(self, sched: Scheduler) -> None:
        """Apply what the predecessor said since last time: a stop, then outcomes."""
        if self.inbox is None or not isinstance(sched, LiveScheduler):
            return
        news, stop, closed = self.inbox.news()
        self._seen_closed = closed
        if stop is not None and (sched.cut is None or stop < sched.cut):
            sched.stop_after(stop)
            self.outbox.stopped(stop)
        for inst in news:
            sched.earlier_ended(inst, self.inbox.outcome(inst))
        if closed and sched.pending:  # never reported: it did not run there; storage says
            for inst in list(sched.pending):
                found = self.earlier.outputs(inst) if self.earlier else None
                sched.earlier_ended(inst, found)

    def waiting(self) -> bool:
        """True until :meth:`receive` has seen the predecessor's run loop end."""
        return self.inbox is not None and not self._seen_closed

    def progress(self, sched: Scheduler) -> None:
        self.outbox.progress(tuple(_active(sched)), spawned_all(sched))

    def finished(
        self,
        inst: Instance,
        ok: bool,
        state: State | None = None,
        outputs: frozenset[str] | None = None,
    ) -> None:
        self.outbox.finished(inst, ok, state, outputs)

    def stopped(self, point: Point) -> None:
        self.outbox.stopped(point)

    def close(self, outcome: Any) -> None:
        self.outbox.close(goes_on(outcome))

    def predecessor_goes_on(self) -> bool:
        """Wait for the predecessor's progress record; whether the chain goes on after it."""
        if self.inbox is None:
            return True
        while not self.inbox.recorded.wait(_END_POLL):
            pass
        return self.inbox.goes_on

    def recorded(self, goes_on: bool) -> None:
        """This window's record is written (or will not be): the successor may write its own."""
        self.outbox.goes_on = goes_on
        self.outbox.recorded.set()


def _wait(event: threading.Event) -> None:
    while not event.wait(0.5):
        pass


def _join(thread: threading.Thread) -> None:
    while thread.is_alive():
        thread.join(0.5)


def goes_on(outcome: Any) -> bool:
    """Whether a window's run-loop outcome lets the chain go on: completed, not stopped."""
    if isinstance(outcome, State):
        if not outcome.is_completed():
            return False
        outcome = outcome.data
    return isinstance(outcome, dict) and outcome.get("stopped_at") is None


def _active(sched: Scheduler) -> tuple[Point, ...]:
    return tuple(getattr(sched, "_active", ()))


#: The link of the window a lane thread runs (read by the window's flow body).
LINK: contextvars.ContextVar[Link | None] = contextvars.ContextVar(
    "prefect_cycles_link", default=None
)


def link_for(start: Point) -> Link | None:
    """The link of the window starting at ``start``, when a lane set one up for it."""
    link = LINK.get()
    return link if link is not None and link.outbox.start == start else None


def can_overlap() -> bool:
    """Overlap only top-level chains: inside a flow or task each window is a subflow."""
    return OVERLAP_WINDOWS and FlowRunContext.get() is None and TaskRunContext.get() is None


class Lane:
    """One window's flow run, in a thread of its own (or inline, when not overlapping)."""

    def __init__(
        self,
        run: Callable[[], State],
        baton: Baton,
        inbox: Baton | None,
        threaded: bool,
        after: Callable[[], None] | None = None,
        before: Baton | None = None,
    ) -> None:
        self.baton = baton
        self.link = Link(baton, inbox, before) if threaded else None
        self._run, self._after = run, after
        self.state: State | None = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.beside: list[threading.Thread] = []  # started by in_background in the window
        if threaded:
            ctx = contextvars.copy_context()  # Prefect's settings (a test harness's API)
            self.thread = threading.Thread(
                target=ctx.run,
                args=(self._main,),
                name=f"prefect-cycles-window-{baton.start}",
                daemon=True,
            )

    def start(self) -> Lane:
        if self.thread is not None:
            self.thread.start()
        else:
            self._main()
        return self

    def _main(self) -> None:
        token = LINK.set(self.link) if self.link is not None else None
        beside = _BESIDE.set(self.beside)
        try:
            self.state = self._run()
        except BaseException as exc:  # handed to the driver's thread by join()
            self.error = exc
        finally:
            _BESIDE.reset(beside)
            if token is not None:
                LINK.reset(token)
            self.baton.end()
            if self._after is not None:
                with contextlib.suppress(Exception):
                    self._after()

    def wait_going(self) -> bool:
        """Until this window's run loop started, or never will; whether it started."""
        _wait(self.baton.going)
        return self.baton.went or self.link is None

    def join(self) -> State:
        """The window's final state, once its flow run and what ran beside it are over."""
        if self.thread is not None:
            _join(self.thread)
        for thread in self.beside:  # complete once the window's flow run is over
            _join(thread)
        self.beside.clear()
        if self.error is not None:
            raise self.error
        assert self.state is not None
        return self.state

    @property
    def run_id(self) -> str | None:
        """The window's flow run id (waits until its flow run started)."""
        _wait(self.baton.entered)
        if self.baton.run_id is not None:
            return self.baton.run_id
        return None if self.state is None else str(self.state.state_details.flow_run_id)


#: The threads :func:`in_background` started inside a lane's window, for the lane to join.
_BESIDE: contextvars.ContextVar[list[threading.Thread] | None] = contextvars.ContextVar(
    "prefect_cycles_beside", default=None
)


@contextlib.contextmanager
def in_background(fn: Callable[[], None]) -> Iterator[None]:
    """Run ``fn`` in a thread while the body runs (off the critical path); wait for it after.

    Inside a window run by a :class:`Lane`, the lane waits for it instead, once the
    window's flow run is over (:meth:`Lane.join`). What runs here (the name and labels of
    a window not created with them) is API calls that a loaded server answers slowly (503
    retried with back-off, measured up to two minutes): had the flow run waited for them,
    its progress record would wait too, and so would every window after it (records go in
    window order), each holding its flow run and Prefect's bookkeeping, while the chain
    went on starting new ones: memory grew window after window. Waited for by the lane, a
    slow call holds up the chain's driver instead (no new window starts), and only its own
    small thread.
    """
    ctx = contextvars.copy_context()
    beside = _BESIDE.get()
    if beside is not None:  # it may outlast the flow run, whose API clients close at its end
        ctx.run(_no_run_clients)
    thread = threading.Thread(target=ctx.run, args=(fn,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        if beside is None:
            thread.join()
        else:
            beside.append(thread)


def _no_run_clients() -> None:
    """In a copied context: no API client of the flow run's (``get_client`` makes its own)."""
    SyncClientContext.__var__.set(None)  # type: ignore[arg-type]
    AsyncClientContext.__var__.set(None)  # type: ignore[arg-type]


__all__ = [
    "OVERLAP_WINDOWS",
    "PENDING",
    "Baton",
    "Lane",
    "Link",
    "LiveEarlier",
    "LiveScheduler",
    "can_overlap",
    "link_for",
    "spawned_all",
]
