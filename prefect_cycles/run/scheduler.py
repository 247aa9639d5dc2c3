"""The scheduler: which instances may start now, given what has finished.

It follows Cylc 8's scheduler: instances are spawned point by point, at most
``runahead`` points ahead of the oldest point with unfinished work; an
instance starts when its prerequisites are met (outputs ``succeeded``,
``failed``, ``started``, ``finished``, ``submitted``, ``submit-failed``,
``expired`` and custom outputs emitted while a task runs; ``&``/``|``
conditions); a finished instance is complete when its completion expression
holds (:mod:`prefect_cycles.graph.completion`), and an incomplete one blocks
only what needs the missing output. Limited queues hold ready instances back
(:mod:`prefect_cycles.run.queues`); clock-expire instances not started in
time expire instead of running. It knows nothing of Prefect: the
flow builder feeds it outcomes and submits what it hands out, which keeps the
logic testable on its own and the same for every task runner.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ..cycling.clock import utc_now
from ..cycling.points import Point
from ..errors import ValidationError
from ..graph.completion import Completion, completion_for
from ..graph.conditions import AllOf
from ..graph.model import Workflow, runahead_limit
from ..graph.unroll import Expr, Instance, Need, Unroller, evaluate, needs
from .queues import Queues
from .xwaits import XtriggerWaits

#: The most cycle points a runahead limit may keep active at once. A larger
#: limit over a longer window would spawn instances without end (with no final
#: point, ``P99999999999999999999`` spawned for ever and never ran a task).
MAX_ACTIVE_POINTS = 10_000

#: Outputs an instance has reached in each terminal state.
SUCCEEDED = frozenset({"started", "succeeded", "finished"})
FAILED = frozenset({"started", "failed", "finished"})


@dataclass
class Ready:
    """An instance to start now, with the parents whose outputs it waited for."""

    instance: Instance
    parents: list[Need] = field(default_factory=list)
    #: Parameters from the xtriggers it waited for: ``label`` -> results, ``label_key`` -> value.
    inputs: dict[str, object] = field(default_factory=dict)


@dataclass
class _Record:
    expr: Expr | None
    state: str = "waiting"  # waiting, submitted, running, succeeded, failed, expired, dropped
    outputs: frozenset[str] = frozenset()
    cursor: int = 0  # terms of a top-level AND (expr) known to hold: see Scheduler._satisfied


class Scheduler:
    """Spawn, release and account for the instances of one run over ``[start, stop]``."""

    def __init__(
        self,
        workflow: Workflow,
        start: object = None,
        stop: object = None,
        runahead: str | None = None,
        now: Callable[[], dt.datetime] = utc_now,
        *,
        origin: object = None,
        earlier: Callable[[Instance], bool | frozenset[str] | None] | None = None,
    ) -> None:
        self.workflow = workflow
        self.now = now  # the wall clock, for clock triggers (injectable for tests)
        self.unroller = Unroller(workflow, start, stop, origin)
        # Parents in [origin, start) ran in an earlier window of a chain: ``earlier``
        # says how each ended (True succeeded, None unknown or failed: it blocks).
        self._earlier_outcome = earlier or (lambda inst: None)
        self._earlier: set[Instance] = set()
        self.runahead = runahead_limit(runahead or workflow.runahead, workflow.cycling)
        self._check_runahead(runahead or workflow.runahead)
        self._cycles = self.unroller.cycles()
        self._next: tuple[Point, list] | None = next(self._cycles, None)
        self._active: deque[Point] = deque()  # spawned points with unfinished work, in order
        self._unfinished: dict[Point, int] = {}
        self._records: dict[Instance, _Record] = {}
        # parent -> (child, need) for each need of a spawned child on that parent
        self._waiters: dict[Instance, list[tuple[Instance, Need]]] = {}
        self._candidates: list[Instance] = []
        self._start_watched: set[Instance] = set()  # parents whose :started output is needed
        self._pinned = self.unroller.pinned()
        self._done_points: deque[Point] = deque()
        self.cut: Point | None = None  # no instance after this point starts
        self.never_run: list[tuple[Instance, str]] = []
        self._never: dict[Instance, Point] = {}  # never-run instances still worth knowing
        self.skipped: list[Instance] = []  # not run: an optional output they need did not come
        self.succeeded = 0
        self.failed: list[Instance] = []  # failed with a required output missing
        self.failed_ok = 0  # failed where failure was optional
        #: removed by a suicide trigger (``a:fail? => !b``): not run, blocking nothing
        self.removed: list[Instance] = []
        self._suicide: dict[Instance, Expr] = {}
        self._suicide_waiters: dict[Instance, list[Instance]] = {}
        # Instances whose prerequisites are met but whose clock time is still to come.
        self._clock_wait: dict[Instance, dt.datetime] = {}
        self._clock_heap: list[tuple[dt.datetime, int, Instance]] = []
        self._clock_seq = 0
        self._listeners: list[Callable[[Instance, str], None]] = []
        self.completion: dict[str, Completion] = {
            name: completion_for(name, workflow.outputs, workflow.completion.get(name))
            for name in workflow.tasks
        }
        self.queues = Queues(workflow.queues)
        self.expired: list[Instance] = []  # not run: their clock-expire time passed
        self._expiry_heap: list[tuple[dt.datetime, int, Instance]] = []
        self.xwaits = XtriggerWaits(workflow)  # function xtriggers, calls shared by signature

    # -- public protocol ---------------------------------------------------------

    def ready(self) -> list[Ready]:
        """Spawn what the runahead limit allows and hand out every instance now ready.

        An instance with a clock trigger is ready once its prerequisites are
        met *and* the clock has reached its time; until then it waits (see
        :meth:`next_clock`), holding its cycle but no worker.
        """
        self._spawn()
        now = self.now()
        while self._clock_heap and self._clock_heap[0][0] <= now:
            inst = heapq.heappop(self._clock_heap)[2]
            if self._clock_wait.pop(inst, None) is not None:
                self._candidates.append(inst)
        self._expire_due(now)
        out: list[Ready] = []
        for inst in self.queues.release():
            rec = self._records.get(inst)
            if rec is not None and rec.state == "waiting":
                self._hand_out(inst, rec, out)
        while self._candidates:
            todo, self._candidates = self._candidates, []
            for inst in todo:
                rec = self._records.get(inst)
                if rec is None or rec.state != "waiting" or inst in self._clock_wait:
                    continue
                if self.cut is not None and inst.point > self.cut:
                    continue
                if self._satisfied(rec):
                    due = self.unroller.clock_time(inst)
                    if due is not None and due > now:
                        self._clock_wait[inst] = due
                        self._clock_seq += 1
                        heapq.heappush(self._clock_heap, (due, self._clock_seq, inst))
                        continue
                    if self.xwaits.waits(inst, now):
                        continue
                    if self.queues.admit(inst):
                        self._hand_out(inst, rec, out)
        return out

    def _hand_out(self, inst: Instance, rec: _Record, out: list[Ready]) -> None:
        rec.state = "submitted"
        self._tell(inst, "submitted")
        inputs = self.xwaits.inputs(inst)
        out.append(Ready(inst, [n for n in needs(rec.expr) if self._met(n)], inputs))

    def xtrigger_calls(self, now: dt.datetime) -> list[tuple[tuple, str, tuple, dict]]:
        """Xtrigger calls due now (signature, function, args, kwargs); each is then running."""
        return self.xwaits.calls(now)

    def xtrigger_result(
        self, sig: tuple, satisfied: bool, results: dict[str, object], now: dt.datetime
    ) -> None:
        """A call ended: release its instances, or call again after its interval."""
        self._candidates.extend(self.xwaits.result(sig, satisfied, results, now))

    def waiting_for_xtriggers(self) -> list[tuple[Instance, list[str]]]:
        """Instances whose prerequisites are met, waiting for xtriggers (and which)."""
        return self.xwaits.waiting()

    def submitted(self, inst: Instance) -> None:
        """The task runner took ``inst``: release what waits on its ``submitted`` output."""
        rec = self._records[inst]
        if "submitted" not in rec.outputs and rec.state in ("submitted", "running"):
            rec.outputs = rec.outputs | {"submitted"}
            self._wake(inst)

    def emitted(self, inst: Instance, output: str) -> bool:
        """``inst`` completed the custom ``output`` while running; True if that is news."""
        rec = self._records.get(inst)
        if rec is None or output in rec.outputs or rec.state not in ("submitted", "running"):
            return False
        self.started(inst)
        rec.outputs = rec.outputs | {output}
        self._wake(inst)
        return True

    def outputs_of(self, inst: Instance) -> frozenset[str]:
        """The outputs ``inst`` has reached so far (empty if forgotten or not spawned)."""
        rec = self._records.get(inst)
        return rec.outputs if rec is not None else frozenset()

    def submit_failed(self, inst: Instance) -> None:
        """``inst`` never ran: its task runner refused it or it crashed before its body."""
        rec = self._records[inst]
        rec.state = "failed"
        rec.outputs = frozenset({"submit-failed"})
        self._ended(inst, rec, ok_event="failed_ok")

    def _expire_due(self, now: dt.datetime) -> None:
        """Expire every waiting instance whose clock-expire time has come (Cylc: only
        waiting instances expire; one already submitted runs)."""
        heap = self._expiry_heap
        while heap and heap[0][0] <= now:
            inst = heapq.heappop(heap)[2]
            rec = self._records.get(inst)
            if rec is None or rec.state != "waiting":
                continue
            if self.cut is not None and inst.point > self.cut:
                continue
            self._clock_wait.pop(inst, None)
            rec.state = "expired"
            rec.outputs = frozenset({"expired"})
            self.expired.append(inst)
            self._ended(inst, rec, ok_event="expired")

    def next_clock(self) -> dt.datetime | None:
        """The earliest time (UTC) at which an instance waiting only for the clock may start.

        None when nothing waits for the clock. Call :meth:`ready` at or after it.
        """
        heap = self._clock_heap
        while heap and self._clock_wait.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)  # dropped since, by stop_after()
        due = heap[0][0] if heap else None
        call = self.xwaits.next_call()
        return call if due is None or (call is not None and call < due) else due

    def waiting_for_clock(self) -> list[tuple[Instance, dt.datetime]]:
        """Instances whose prerequisites are met, waiting for their clock time, soonest first."""
        return sorted(self._clock_wait.items(), key=lambda item: (item[1], item[0].point))

    def started(self, inst: Instance) -> None:
        """``inst`` is running: release what waits on its ``started`` output."""
        rec = self._records[inst]
        if rec.state == "submitted":
            rec.state = "running"
            rec.outputs = rec.outputs | {"started"}
            self._tell(inst, "started")
            self._wake(inst)
            self._suicides_after(inst)

    def finished(self, inst: Instance, succeeded: bool) -> None:
        """``inst`` ended; record its outputs and release its children.

        Children that now can never start because an *optional* output did not
        come are skipped, as Cylc never spawns them; children of a failure
        whose output was required stay waiting and are reported as blocked.
        """
        rec = self._records[inst]
        rec.state = "succeeded" if succeeded else "failed"
        rec.outputs = rec.outputs | (SUCCEEDED if succeeded else FAILED)
        self._ended(inst, rec, ok_event="succeeded" if succeeded else "failed_ok")

    def _ended(self, inst: Instance, rec: _Record, ok_event: str) -> None:
        """Account for a finished (or expired, or submit-failed) instance and free children."""
        self.queues.done(inst)
        complete = self.completion[inst.task].complete(rec.outputs)
        if complete:
            if ok_event == "succeeded":
                self.succeeded += 1
            elif ok_event == "failed_ok":
                self.failed_ok += 1
            self._tell(inst, ok_event)
            self._finish(inst)
        else:
            self.failed.append(inst)
            self._tell(inst, "failed")
        self._wake(inst)
        if complete:
            for child in self._doomed_children(inst):
                self._never_runs(child, "", skipped=True)
        self._suicides_after(inst)

    def stop_after(self, point: Point) -> None:
        """End the cycling: nothing at a later point starts; started instances finish."""
        if self.cut is None or point < self.cut:
            self.cut = point
        for inst, rec in list(self._records.items()):
            if inst.point > point and rec.state == "waiting":
                rec.state = "dropped"
                self._clock_wait.pop(inst, None)
                self.queues.done(inst)
                self.xwaits.drop(inst)
                self._tell(inst, "dropped")
                self._finish(inst)

    @property
    def waiting_for_started(self) -> list[Instance]:
        """Submitted instances whose ``started`` output something waits for."""
        return [
            inst
            for inst in self._start_watched
            if (rec := self._records.get(inst)) is not None and rec.state == "submitted"
        ]

    def blocked(self) -> list[tuple[Instance, str]]:
        """Spawned instances still waiting, with what they wait for (call when stalled)."""
        fmt = self.workflow.fmt
        out = []
        for inst, rec in self._records.items():
            if rec.state != "waiting" or (self.cut is not None and inst.point > self.cut):
                continue
            due = self._clock_wait.get(inst)
            if due is not None:
                out.append((inst, f"waiting for the clock until {due.isoformat()}"))
                continue
            xts = self.xwaits.waiting_on(inst)
            if xts is not None:
                out.append((inst, f"waiting for xtrigger {'; '.join(xts)}"))
                continue
            queue = self.queues.queued(inst)
            if queue is not None:
                out.append((inst, f"queued in {queue.name} (limit {queue.limit})"))
                continue
            missing = [n for n in needs(rec.expr) if not self._met(n)]
            what = ", ".join(
                f"{n.parent.task}[{fmt(n.parent.point)}]:{n.output}"
                + (" (did not succeed in an earlier flow run)" if n.parent in self._earlier else "")
                for n in missing
            )
            out.append((inst, f"waiting for {what}"))
        return out

    def stalled_by_runahead(self) -> bool:
        """True when more points exist but the runahead limit holds them back."""
        return self._next is not None and (self.cut is None or self._next[0] <= self.cut)

    @property
    def remembered(self) -> Mapping[Instance, object]:
        """The instances the scheduler still tracks (a read-only view)."""
        return self._records

    def subscribe(self, callback: Callable[[Instance, str], None]) -> None:
        """Call ``callback(instance, event)`` whenever an instance changes state.

        Events: ``spawned``, ``submitted``, ``started``, ``succeeded``, ``failed``
        (a required output is missing), ``failed_ok`` (the failure, or a
        submit-failure, was optional), ``expired`` (its clock-expire time passed),
        ``never_run``, ``skipped`` (an optional output it needed did not come),
        ``removed`` (by a suicide trigger) and
        ``dropped`` (past a :meth:`stop_after` point). The scheduler forgets
        finished cycles; an observer that must remember them, such as the
        progress view of ``prefect-cycles run``, keeps its own account from
        these. Each instance's latest event so far is replayed first, as far as
        the scheduler still remembers it (all of it before anything finishes).
        """
        for inst, event in self._replay():
            callback(inst, event)
        self._listeners.append(callback)

    def _replay(self) -> Iterator[tuple[Instance, str]]:
        failed, skipped, removed = set(self.failed), set(self.skipped), set(self.removed)
        latest = {
            "waiting": "spawned",
            "submitted": "submitted",
            "running": "started",
            "expired": "expired",
        }
        for inst, rec in self._records.items():
            if inst in self._earlier:
                continue
            if rec.state == "failed" or (rec.state == "expired" and inst in failed):
                yield inst, "failed" if inst in failed else "failed_ok"
            elif rec.state == "dropped":
                never = inst in self._never
                if inst in removed:
                    yield inst, "removed"
                    continue
                yield inst, "skipped" if inst in skipped else "never_run" if never else "dropped"
            else:
                yield inst, latest.get(rec.state, rec.state)
        for inst in skipped:
            if inst not in self._records:
                yield inst, "skipped"
        for inst, _ in self.never_run:
            if inst not in self._records:
                yield inst, "never_run"

    # -- internals ---------------------------------------------------------------

    def _tell(self, inst: Instance, event: str) -> None:
        for callback in self._listeners:
            callback(inst, event)

    def _met(self, need: Need) -> bool:
        rec = self._records.get(need.parent)
        return rec is not None and need.output in rec.outputs

    def _check_runahead(self, text: str) -> None:
        """Refuse a limit that lets more than MAX_ACTIVE_POINTS points be active (bounded check)."""
        limit = self.runahead
        points = self.unroller.points()
        if isinstance(limit, int):
            if limit < MAX_ACTIVE_POINTS:
                return
        else:
            try:
                end = self.workflow.cycling.add(self.unroller.start, limit)
            except (ArithmeticError, ValueError):
                end = None  # past any date isodatetime can hold: every point is within it
            if end is not None:
                points = itertools.takewhile(lambda p: p <= end, points)
        # More points than the cap, all within the limit: the limit would let them all spawn.
        count = sum(1 for _ in itertools.islice(points, MAX_ACTIVE_POINTS + 1))
        if count > MAX_ACTIVE_POINTS:
            wf = self.workflow
            stop = wf.fmt(self.unroller.stop) if self.unroller.stop is not None else "no stop point"
            raise ValidationError(
                f"runahead limit {text!r} lets more than {MAX_ACTIVE_POINTS} cycle points be "
                f"active at once over the window {wf.fmt(self.unroller.start)} to {stop}, so "
                "the run would spawn instances without end before running any",
                fix="use a smaller runahead limit such as P4, or give a final or stop point",
            )

    def _within_runahead(self, point: Point) -> bool:
        if self.cut is not None and point > self.cut:
            return False
        if not self._active:
            return True
        limit = self.runahead
        if isinstance(limit, int):
            return len(self._active) <= limit
        return point <= self.workflow.cycling.add(self._active[0], limit)

    def _spawn(self) -> None:
        while self._next is not None and self._within_runahead(self._next[0]):
            point, spawned = self._next
            self._next = next(self._cycles, None)
            self._active.append(point)
            self._unfinished[point] = len(spawned)
            for inst, expr in spawned:
                self._records[inst] = _Record(expr)
                expires = self.workflow.expire_time(inst.task, inst.point)
                if expires is not None:
                    self._clock_seq += 1
                    heapq.heappush(self._expiry_heap, (expires, self._clock_seq, inst))
                self._tell(inst, "spawned")
                self._candidates.append(inst)
                for n in needs(expr):
                    if n.parent.point < self.unroller.start and n.parent not in self._records:
                        self._from_earlier(n.parent)
                    self._waiters.setdefault(n.parent, []).append((inst, n))
                    if n.output == "started":
                        self._start_watched.add(n.parent)
            for inst, _expr in spawned:
                kill = self.unroller.suicide(inst) if self.workflow.suicides else None
                if kill is not None:
                    self._suicide[inst] = kill
                    for n in needs(kill):
                        self._suicide_waiters.setdefault(n.parent, []).append(inst)
            for inst, expr in spawned:
                if inst in self._suicide and evaluate(self._suicide[inst], self._met):
                    self._remove(inst)
                    continue
                beyond = self.unroller.past_stop(expr)
                if beyond is not None:
                    self._never_runs(inst, self._missing(beyond))
                elif expr is not None and not evaluate(expr, self._possible):
                    if self._ended_without(expr):  # an optional output that did not come
                        self._never_runs(inst, "", skipped=True)
                    else:
                        self._never_runs(inst, self._why_never(expr))
            if not spawned:
                self._retire()

    def _from_earlier(self, parent: Instance) -> None:
        """Record how a parent of an earlier window ended, as far as results tell."""
        self._earlier.add(parent)
        self._records[parent] = self._earlier_record(parent, self._earlier_outcome(parent))

    def _earlier_record(self, parent: Instance, got: object) -> _Record:
        """How a parent of an earlier window ended: ``got`` is True (succeeded), the
        outputs it reached, or None (not known)."""
        outputs = SUCCEEDED if got is True else frozenset(got) if got else None  # type: ignore[call-overload]
        if outputs is not None and self.completion[parent.task].complete(outputs):
            return _Record(None, "succeeded" if "succeeded" in outputs else "failed", outputs)
        return _Record(None, "earlier")  # unknown, or a required output missing: it blocks

    def _possible(self, need: Need) -> bool:
        """Whether a parent may still reach an output: it exists and is not known never to run."""
        parent = need.parent
        if parent in self._never:
            return False
        rec = self._records.get(parent)
        if rec is not None and rec.state == "earlier":
            return True  # failed or unfinished in an earlier window: it blocks, as a failure does
        if rec is None:
            return self.unroller.exists(parent)
        if rec.state in ("waiting", "submitted", "running"):
            return True
        return need.output in rec.outputs

    def _ended_without(self, expr: Expr | None) -> bool:
        """Whether the parent that ``expr`` can no longer get ended complete without the
        output it needed: the child is skipped, as when the parent ends after it spawned."""
        gone = next(n.parent for n in needs(expr) if not self._possible(n))
        rec = self._records.get(gone)
        return (
            rec is not None
            and gone not in self._never
            and rec.state in ("succeeded", "failed", "expired")
            and self.completion[gone.task].complete(rec.outputs)
        )

    def _why_never(self, expr: Expr | None) -> str:
        fmt = self.workflow.fmt
        gone = next(n.parent for n in needs(expr) if not self._possible(n))
        name = f"{gone.task}[{fmt(gone.point)}]"
        if gone in self._never:
            return f"it needs {name}, which never runs"
        return self._missing(gone)

    def _missing(self, gone: Instance) -> str:
        name = f"{gone.task}[{self.workflow.fmt(gone.point)}]"
        return f"it needs {name}, which does not exist: {self.unroller.why_missing(gone)}"

    def _never_runs(self, inst: Instance, reason: str, skipped: bool = False) -> None:
        """``inst`` can never start: account for it, then for whatever only it could free.

        ``skipped`` marks an outcome of the graph's routing (an optional output
        that did not come), not a defect worth a warning.
        """
        stack = [(inst, reason)]
        while stack:
            inst, reason = stack.pop()
            rec = self._records.get(inst)
            if rec is None or rec.state != "waiting":
                continue
            rec.state = "dropped"
            self._never[inst] = inst.point
            if skipped:
                self.skipped.append(inst)
            else:
                self.never_run.append((inst, reason))
            self._tell(inst, "skipped" if skipped else "never_run")
            self._finish(inst)
            for child in self._doomed_children(inst):
                reason = "" if skipped else self._why_never(self._records[child].expr)
                stack.append((child, reason))

    def _suicides_after(self, parent: Instance) -> None:
        """Remove the instances whose suicide trigger ``parent``'s new output completes."""
        for inst in self._suicide_waiters.get(parent, ()):
            kill = self._suicide.get(inst)
            if kill is not None and evaluate(kill, self._met):
                self._remove(inst)

    def _remove(self, inst: Instance) -> None:
        """A suicide trigger fired: ``inst`` does not run, or stops blocking if it failed.

        Its children that needed it can never run and are skipped, as Cylc never
        spawns them. A running instance is left to finish (Cylc removes it from
        its pool but does not kill the job either).
        """
        self._suicide.pop(inst, None)
        rec = self._records.get(inst)
        if rec is None or rec.state not in ("waiting", "failed"):
            return
        if rec.state == "failed":
            if inst not in self.failed:
                return  # its failure was optional: it is complete already
            self.failed.remove(inst)
        self._clock_wait.pop(inst, None)
        rec.state = "dropped"
        self._never[inst] = inst.point
        self.removed.append(inst)
        self._tell(inst, "removed")
        self._finish(inst)
        for child in self._doomed_children(inst):
            self._never_runs(child, "", skipped=True)

    def _doomed_children(self, parent: Instance) -> list[Instance]:
        """Waiting children of ``parent`` whose prerequisites can no longer be met.

        Only a child with a need on ``parent`` that ``parent`` can no longer meet
        is checked in full: the others lost nothing (a wide fan-in would otherwise
        be checked in full once per parent, its width squared in all).
        """
        out: list[Instance] = []
        checked: set[Instance] = set()
        for child, need in self._waiters.get(parent, ()):
            if child in checked or self._possible(need):
                continue
            checked.add(child)
            rec = self._records.get(child)
            if rec is None or rec.state != "waiting":
                continue
            if not evaluate(rec.expr, self._possible):
                out.append(child)
        return out

    def _satisfied(self, rec: _Record) -> bool:
        """Whether ``rec``'s prerequisites hold, resuming a top-level AND where it last stopped.

        A term that holds holds for good (outputs only accrue, and a parent is
        forgotten only once nothing can need it), so a fan-in of N parents costs
        N checks in all, not N per parent that finishes.
        """
        expr = rec.expr
        if not isinstance(expr, AllOf):
            return evaluate(expr, self._met)
        terms, i = expr.terms, rec.cursor
        while i < len(terms) and evaluate(terms[i], self._met):
            i += 1
        rec.cursor = i
        return i == len(terms)

    def _wake(self, parent: Instance) -> None:
        self._candidates.extend(child for child, _ in self._waiters.get(parent, ()))

    def _finish(self, inst: Instance) -> None:
        left = self._unfinished[inst.point] - 1
        self._unfinished[inst.point] = left
        if left <= 0:
            self._retire()

    def _retire(self) -> None:
        """Retire fully finished points from the front of the runahead window."""
        while self._active and self._unfinished[self._active[0]] <= 0:
            done = self._active.popleft()
            del self._unfinished[done]
            self._done_points.append(done)
        self._prune()

    def _prune(self) -> None:
        """Forget finished instances that no future instance can need (bounded memory)."""
        base = self._active[0] if self._active else self._next[0] if self._next else None
        if base is None:
            return
        horizon = self.unroller.horizon(base)
        while self._done_points and self._done_points[0] < horizon:
            point = self._done_points.popleft()
            if point in self._pinned:
                continue
            for name in self.workflow.tasks:
                inst = Instance(name, point)
                self._records.pop(inst, None)
                self._waiters.pop(inst, None)
                self._start_watched.discard(inst)
                self._never.pop(inst, None)

    def finished_everything(self) -> bool:
        """True when no point is left to spawn and no spawned instance is unfinished."""
        return not self.stalled_by_runahead() and not self._active
