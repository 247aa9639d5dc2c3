"""The model of a cyclic workflow: tasks, their sequences, and dependencies.

Both front ends (Cylc graph strings and decorators on Prefect tasks) build a
:class:`Workflow`; the unroller turns it into instances. Nothing here knows of
Prefect. The model follows Cylc 8: a dependency belongs to the recurrence of the
graph section it was written in, and a task runs on the union of the
recurrences it appears in without an offset. Which outputs are required and
which optional is :mod:`prefect_cycles.graph.outputs`' business; the workflow holds
one :class:`~prefect_cycles.graph.outputs.Outputs` and keeps each task's table in step.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import overload

from ..cycling.clock import WALL_CLOCK, clock_time, parse_offset
from ..cycling.points import Cycling, Interval, Point, cycling_for
from ..cycling.recurrence import Sequence, parse_recurrence
from ..errors import GraphSyntaxError, PointError, ValidationError
from .conditions import AllOf, AnyOf, ClockTrigger, Condition, Dependency, Trigger, triggers
from .outputs import OUTPUT_ALIASES as OUTPUT_ALIASES
from .outputs import OUTPUTS as OUTPUTS
from .outputs import Outputs
from .outputs import output_name as output_name
from .xtrigger import XTrigger, parse_xtrigger

TASK_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_+%@-]*$")


def check_task_name(name: str) -> str:
    """Return ``name`` if Cylc (and Prefect's task-run naming) can use it."""
    if not isinstance(name, str) or not TASK_NAME.match(name):
        raise GraphSyntaxError(
            f"{name!r} is not a valid task name",
            fix="use letters, digits and _ (also + % @ - after the first character)",
        )
    return name


def runahead_limit(text: str, cycling: Cycling) -> int | Interval:
    """Read a runahead limit: ``P4`` is four points past the oldest active one;
    in date-time cycling a duration such as ``PT12H`` is a span of time.

    As in Cylc 8, nothing else is a limit: no sign (``-PT6H`` is refused, as
    Cylc refuses it), and no interval other than ``Pn`` in integer cycling.
    """
    raw = str(text).strip()
    m = re.match(r"^P(\d+)$", raw)
    if m:
        return int(m.group(1))
    fix = (
        "use P4 (five active cycles)"
        if cycling.mode == "integer"
        else "use P4 (five active cycles) or a duration such as PT12H"
    )
    if raw.startswith(("-", "+")):
        raise ValidationError(
            f"runahead limit {raw!r} has a sign, and a limit is a count or a length of time",
            fix=fix,
        )
    if cycling.mode == "integer":
        raise ValidationError(
            f"runahead limit {raw!r} is not a count of cycles (integer cycling takes only Pn)",
            fix=fix,
        )
    try:
        return cycling.interval(raw)
    except PointError:
        raise ValidationError(
            f"runahead limit {raw!r} is neither a count of cycles nor an interval", fix=fix
        ) from None


@dataclass(frozen=True)
class Queue:
    """A limited queue (flow.cylc ``[scheduling][[queues]]``): at most ``limit`` of its
    ``members`` are active (submitted or running) at once; 0 means no limit."""

    name: str
    limit: int
    members: tuple[str, ...]


@dataclass
class TaskDef:
    """A task: the recurrences it runs on and which of its outputs are optional."""

    name: str
    recurrences: list[str] = field(default_factory=list)
    #: output -> True when optional (``?``), False when required; the workflow
    #: keeps it in step with its :class:`~prefect_cycles.graph.outputs.Outputs`.
    optional: dict[str, bool] = field(default_factory=dict)


@dataclass
class Workflow:
    """A cyclic workflow: tasks on sequences, linked by dependencies with offsets."""

    cycling: Cycling
    initial: Point
    final: Point | None = None
    runahead: str = "P4"
    tasks: dict[str, TaskDef] = field(default_factory=dict)
    dependencies: list[Dependency] = field(default_factory=list)
    name: str = "cyclic-workflow"
    #: Suicide triggers ``a:fail? => !b``: when the condition is met, ``b``'s instance
    #: at that point is removed (not run, blocking nothing), as in Cylc 8.
    suicides: list[Dependency] = field(default_factory=list)
    #: Wall-clock triggers, each on one task at the points of one recurrence.
    clock_triggers: list[ClockTrigger] = field(default_factory=list)
    #: What reading the source had to say: a flow.cylc's settings that have no effect here.
    notices: list[str] = field(default_factory=list, compare=False)
    #: Every use of every task output, and what it makes required or optional.
    outputs: Outputs = field(default_factory=Outputs, repr=False, compare=False)
    #: Task -> its own completion expression (flow.cylc ``[runtime][foo]completion``).
    completion: dict[str, str] = field(default_factory=dict)
    #: Task -> clock-expire offset: an instance not started by point + offset expires.
    clock_expire: dict[str, str] = field(default_factory=dict)
    #: Limited queues, each task in at most one (Cylc's "last assignment wins").
    queues: list[Queue] = field(default_factory=list)
    #: Function xtriggers (``@x => foo`` with ``x = mymod.check(...)``), one per task and
    #: recurrence.
    xtriggers: list[XTrigger] = field(default_factory=list)
    #: Cylc task parameters: an expanded task name (``model_m1``) -> the name it
    #: was written as without parameters (``model``) and its values (``{"m": 1}``).
    parameterised: dict[str, tuple[str, dict[str, int | str]]] = field(
        default_factory=dict, repr=False
    )
    #: ``initial cycle point`` as written when it depends on the wall clock
    #: (``previous(T00)``), and ``final cycle point`` as written: both are
    #: resolved again when a run starts (:meth:`at_wall_clock`).
    wall_clock_initial: str | None = None
    final_text: str | None = None
    #: ``[scheduling]stop after cycle point`` (or ``hold after``): a run stops there
    #: unless told otherwise; as written, relative to the initial point.
    stop_after_text: str | None = None
    _sequences: dict[str, Sequence] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        initial: object,
        final: object = None,
        *,
        cycling: Cycling | None = None,
        time_zone: str | None = None,
        runahead: str = "P4",
        name: str = "cyclic-workflow",
    ) -> Workflow:
        """An empty workflow whose cycling mode follows its initial point."""
        cyc = cycling or cycling_for(initial, time_zone)
        init = cyc.point(initial)
        fin = None if final in (None, "") else cyc.final_point(final, init)
        if fin is not None and fin < init:
            raise ValidationError(
                f"the final cycle point {cyc.format(fin)} is before the initial cycle point "
                f"{cyc.format(init)}",
                fix="make the final point later than the initial point, or drop it",
            )
        wf = cls(cycling=cyc, initial=init, final=fin, runahead=runahead, name=name)
        wf.runahead_points()  # validate early
        return wf

    # -- building -----------------------------------------------------------------

    def sequence(self, recurrence: str) -> Sequence:
        """The sequence of points ``recurrence`` gives in this workflow (cached)."""
        seq = self._sequences.get(recurrence)
        if seq is None:
            seq = parse_recurrence(recurrence, self.cycling, self.initial, self.final)
            self._sequences[recurrence] = seq
        return seq

    def add_task(self, name: str, recurrence: str | None = None) -> TaskDef:
        """Declare ``name`` (on ``recurrence``, when given); returns its definition."""
        tdef = self.tasks.get(name)
        if tdef is None:
            tdef = self.tasks[check_task_name(name)] = TaskDef(
                name, optional=self.outputs.table(name)
            )
        if recurrence is not None:
            self.sequence(recurrence)
            if recurrence not in tdef.recurrences:
                tdef.recurrences.append(recurrence)
        return tdef

    def use_output(
        self, task: str, output: str, optional: bool, where: str, *, family: bool = False
    ) -> None:
        """Record one use of ``task:output`` (``optional`` when written ``?``) at ``where``.

        ``where`` names the place for messages (a graph line, an ``@cycle`` rule);
        ``family`` marks a use through a family trigger, which only sets a
        default. Cylc's rules are checked as each use arrives: see
        :class:`~prefect_cycles.graph.outputs.Outputs`.
        """
        self.outputs.use(task, output, optional, where, family=family)
        if task in self.tasks:
            self.tasks[task].optional = self.outputs.table(task)

    def adopt_outputs(self, outputs: Outputs) -> None:
        """Make ``outputs`` (a checked :meth:`Outputs.copy` with more uses) the workflow's."""
        self.outputs = outputs
        for name, tdef in self.tasks.items():
            tdef.optional = outputs.table(name)

    def mark_output(
        self, task: str, output: str, optional: bool, *, where: str = "a call to mark_output()"
    ) -> None:
        """Declare ``task`` and record a use of ``task:output`` (``finished`` reads as optional)."""
        self.add_task(task)
        self.use_output(task, output, optional and output != "finished", where)

    @overload
    def settle(self, condition: Condition) -> Condition: ...
    @overload
    def settle(self, condition: None) -> None: ...
    @overload
    def settle(self, condition: Condition | None) -> Condition | None: ...
    def settle(self, condition: Condition | None) -> Condition | None:
        """``condition`` with each trigger optional exactly when the workflow's uses make it so."""
        if condition is None:
            return None
        if isinstance(condition, Trigger):
            return replace(
                condition, optional=self.outputs.optional(condition.task, condition.output)
            )
        terms = tuple(self.settle(t) for t in condition.terms)
        return AllOf(terms) if isinstance(condition, AllOf) else AnyOf(terms)

    def add_suicide(
        self, recurrence: str, target: str, condition: Condition, source: str = ""
    ) -> Dependency:
        """Add the suicide trigger ``condition => !target`` at the points of ``recurrence``.

        The target gets no sequence from it (Cylc draws no edge and spawns
        nothing for a suicide), and the condition's tasks are checked to exist
        when the workflow is built, like any dependency's.
        """
        self.sequence(recurrence)
        dep = Dependency(recurrence, target, condition, source)
        self.suicides.append(dep)
        return dep

    def add_dependency(
        self,
        recurrence: str,
        target: str,
        condition: Condition,
        *,
        source: str = "",
        target_optional: bool = False,
        target_output: str = "succeeded",
        record_outputs: bool = True,
    ) -> Dependency:
        """Add ``condition => target`` at the points of ``recurrence``.

        Every task named in ``condition`` without an offset runs on
        ``recurrence`` too, as in Cylc. Unless ``record_outputs`` is False (for
        front ends that report each use through :meth:`use_output`
        themselves), the dependency is a use of each trigger's output and of
        the target's ``target_output`` (optional when ``target_optional``:
        ``a => b?``; ``x => b:fail`` uses ``failed`` and leaves success unset).
        """
        where = f"dependency {source or f'{condition} => {target}'!r}"
        self.add_task(target, recurrence)
        if record_outputs:
            self.use_output(target, target_output, target_optional, where)
        for trig in triggers(condition):
            if trig.task == target and trig.offset is None:
                raise ValidationError(
                    f"task {target!r} depends on itself at the same point",
                    task=target,
                    text=source or None,
                    fix=f"add an offset, e.g. {target}[-P1] => {target}",
                )
            self._check_offset_in_years(trig, target)
            self.add_task(trig.task, None if trig.offset is not None else recurrence)
            if record_outputs:
                # A ':finish' trigger reads as optional; it is a plain use of finished.
                optional = trig.optional and trig.output != "finished"
                self.use_output(trig.task, trig.output, optional, where)
        dep = Dependency(recurrence, target, condition, source)
        self.dependencies.append(dep)
        return dep

    def _check_offset_in_years(self, trig: Trigger, target: str) -> None:
        """Refuse an offset that takes the parent of every instance past year 9999 (or 0)."""
        off = trig.offset
        if off is None or self.cycling.mode == "integer":
            return
        for point in (self.initial, self.final):
            if point is None:
                continue
            try:
                self.cycling.format(off.resolve(point, self.initial, self.cycling))
            except (PointError, ArithmeticError, ValueError):
                raise GraphSyntaxError(
                    f"the offset [{off}] of {trig.task} puts the parent of "
                    f"{target}[{self.fmt(point)}] outside the years 0 to 9999 that cycle points "
                    "can be written in",
                    task=target,
                    fix=f"use a smaller offset than {off}",
                ) from None

    def add_clock_trigger(
        self,
        task: str,
        recurrence: str,
        offset: object = "PT0S",
        *,
        label: str = WALL_CLOCK,
        drawn: bool = True,
    ) -> ClockTrigger:
        """Hold ``task`` at the points of ``recurrence`` until the clock reaches point + offset.

        Only date-time cycling has points on the clock; ``task`` runs on
        ``recurrence`` from now on, as if it were on the right of ``=>``.
        """
        self._needs_clock(task, f"a clock trigger ({label})", "the clock trigger")
        text, _ = parse_offset(offset, task=task)
        self.add_task(task, recurrence)
        trig = ClockTrigger(task, recurrence, text, label, drawn)
        if trig not in self.clock_triggers:
            self.clock_triggers.append(trig)
        return trig

    def clock_time(self, task: str, point: Point) -> dt.datetime | None:
        """When the wall clock lets ``task`` start at ``point`` (UTC), or None if it need not wait.

        With several clock triggers at one point the latest time holds.
        """
        due = None
        for trig in self.clock_triggers:
            if trig.task == task and self.sequence(trig.recurrence).contains(point):
                t = clock_time(point, parse_offset(trig.offset)[1])  # type: ignore[arg-type]
                due = t if due is None or t > due else due
        return due

    def declare_outputs(self, task: str, outputs: object, *, where: str = "") -> None:
        """Declare ``task``'s custom outputs: a list of names or a mapping name -> message."""
        if isinstance(outputs, str):
            outputs = [outputs]
        if isinstance(outputs, dict):
            table = {str(k): str(v) for k, v in outputs.items()}
        elif isinstance(outputs, (list, tuple, set, frozenset)):
            table = {str(name): str(name) for name in outputs}
        else:
            raise ValidationError(
                f"the custom outputs of {task!r} must be a list of names or a mapping "
                f"name -> message, not {outputs!r}",
                task=task,
                fix="write outputs=['out1'] or outputs={'out1': 'a message'}",
            )
        self.outputs.declare(task, table, where)

    def set_completion(self, task: str, expression: str) -> None:
        """Give ``task`` its own completion expression (checked when the run starts)."""
        self.completion[task] = str(expression)

    def add_clock_expire(self, task: str, offset: object = "PT0S") -> None:
        """Expire ``task``'s instances not started by point + ``offset`` (real time)."""
        self._needs_clock(task, "a clock-expire time", "the clock-expire")
        text, _ = parse_offset(offset, task=task)
        self.clock_expire[task] = text

    def _needs_clock(self, task: str, has: str, drop: str) -> None:
        """Refuse a wall-clock setting in integer cycling, whose points are not times."""
        if self.cycling.mode != "datetime":
            raise ValidationError(
                f"task {task!r} has {has}, but this workflow cycles in "
                "integers, whose points are not times",
                task=task,
                fix="use date-time cycling (an initial point such as 20200101T00Z), "
                f"or drop {drop}",
            )

    def expire_time(self, task: str, point: Point) -> dt.datetime | None:
        """When ``task`` at ``point`` expires if not yet started (UTC), or None."""
        offset = self.clock_expire.get(task)
        if offset is None:
            return None
        return clock_time(point, parse_offset(offset)[1])  # type: ignore[arg-type]

    def add_queue(self, name: str, limit: int, members: list[str]) -> Queue:
        """A limited queue; a task already in another queue moves to this one."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValidationError(
                f"queue {name!r} has limit {limit!r}, not a whole number of tasks",
                fix="give a limit such as 2 (0 means no limit)",
            )
        moved = set(members)
        self.queues = [
            Queue(q.name, q.limit, tuple(m for m in q.members if m not in moved))
            for q in self.queues
            if q.name != name
        ]
        queue = Queue(name, limit, tuple(dict.fromkeys(members)))
        self.queues.append(queue)
        return queue

    def add_xtrigger(self, task: str, recurrence: str, label: str, declaration: str) -> XTrigger:
        """Hold ``task`` at the points of ``recurrence`` until the function xtrigger holds."""
        func, args, kwargs, interval, seconds = parse_xtrigger(declaration, label=label)
        self.add_task(task, recurrence)
        trig = XTrigger(task, recurrence, label, func, args, kwargs, interval, seconds)
        if trig not in self.xtriggers:
            self.xtriggers.append(trig)
        return trig

    def add_xtrigger_call(
        self,
        task: str,
        recurrence: str,
        label: str,
        func: str,
        args: tuple[object, ...] = (),
        kwargs: tuple[tuple[str, object], ...] = (),
        interval: str = "PT10S",
    ) -> XTrigger:
        """Like :meth:`add_xtrigger`, from a call already taken apart (the decorators)."""
        _, duration = parse_offset(interval, task=task)
        self.add_task(task, recurrence)
        trig = XTrigger(
            task, recurrence, label, func, args, kwargs, interval, float(duration.get_seconds())
        )
        if trig not in self.xtriggers:
            self.xtriggers.append(trig)
        return trig

    def xtriggers_for(self, task: str, point: Point) -> list[XTrigger]:
        """The function xtriggers that hold ``task`` at ``point``."""
        return [
            x
            for x in self.xtriggers
            if x.task == task and self.sequence(x.recurrence).contains(point)
        ]

    # -- reading ----------------------------------------------------------------

    def runahead_points(self) -> int | Interval:
        """The runahead limit: a count of extra active points (``P4``) or a time span."""
        return runahead_limit(self.runahead, self.cycling)

    def with_window(self, initial: object = None, final: object = None) -> Workflow:
        """The same workflow with another initial and/or final point (``$`` and ``^`` move)."""
        init = self.initial if initial is None else self.cycling.point(initial)
        fin = self.final if final is None else self.cycling.final_point(final, init)
        if fin is not None and fin < init:
            raise ValidationError(
                f"the final cycle point {self.cycling.format(fin)} is before the initial "
                f"cycle point {self.cycling.format(init)}",
                fix="choose a final point after the initial point",
            )
        return Workflow(
            cycling=self.cycling,
            initial=init,
            final=fin,
            runahead=self.runahead,
            tasks=self.tasks,
            dependencies=self.dependencies,
            name=self.name,
            outputs=self.outputs,
            clock_triggers=self.clock_triggers,
            completion=self.completion,
            clock_expire=self.clock_expire,
            queues=self.queues,
            xtriggers=self.xtriggers,
            suicides=self.suicides,
            parameterised=self.parameterised,
            wall_clock_initial=self.wall_clock_initial if initial is None else None,
            final_text=self.final_text if final is None else None,
            stop_after_text=self.stop_after_text,
            notices=self.notices,
        )

    @property
    def stop_after(self) -> Point | None:
        """Where a run stops by default: ``stop after cycle point``, else the final point."""
        if self.stop_after_text is None:
            return self.final
        point = self.cycling.final_point(self.stop_after_text, self.initial)
        return point if self.final is None or point is None or point < self.final else self.final

    def at_wall_clock(self, now: object = None) -> Workflow:
        """This workflow with a wall-clock initial point resolved for ``now`` (default: now).

        A final point written relative to the initial one moves with it. A
        workflow whose initial point is fixed is returned as it is.
        """
        if self.wall_clock_initial is None:
            return self
        from ..cycling.datetimes import DateTimeCycling
        from ..cycling.wallclock import resolve_wall_clock

        assert isinstance(self.cycling, DateTimeCycling)
        text = resolve_wall_clock(self.wall_clock_initial, self.cycling, now)  # type: ignore[arg-type]
        return self.at_initial(text)

    def at_initial(self, point: object) -> Workflow:
        """This workflow with its wall-clock initial point fixed at ``point``, as resolved once
        (a chain keeps the point its first run resolved: see run.chain).

        A final point written relative to the initial one moves with it.
        """
        init = self.cycling.point(point)
        fin = self.cycling.final_point(self.final_text, init) if self.final_text else None
        wf = self.with_window(init, fin if fin is not None else self.final)
        wf.wall_clock_initial = self.wall_clock_initial
        wf.final_text = self.final_text
        return wf

    def fmt(self, point: Point) -> str:
        """A point as Cylc writes it."""
        return self.cycling.format(point)
