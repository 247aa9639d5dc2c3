"""Decorators that put existing Prefect tasks on cycles, the way Cylc graph sections do.

::

    @cycle("R1", after=prep)          # R1 = "prep => foo"
    @cycle("P1", after=previous())    # P1 = "foo[-P1] => foo"
    @task
    def foo(point): ...

Each ``@cycle`` is one graph section the task appears in: it records a
:class:`Rule` on the task and returns the very same Task, which still runs as a
plain Prefect task. :func:`build_workflow` turns the rules into the same
:class:`~prefect_cycles.model.Workflow` a graph string gives, and
:func:`task_map` gives the flow builder the Task object behind each name.

Rules live in the task's ``__dict__`` and, mirrored, in its function's: Prefect
builds a ``with_options()`` copy from the function (``functools.update_wrapper``
copies its ``__dict__``), so a copy keeps the rules its function carried when it
was made. A copy then has rules of its own; the function always holds the rules
of the task decorated last, which is what later copies (or a new ``@task``
around the same function) start from.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from .clock import WALL_CLOCK, WallClock
from .errors import CycleError, GraphSyntaxError, ValidationError
from .graphstring import read_node
from .model import (
    TASK_NAME,
    AllOf,
    AnyOf,
    Condition,
    Offset,
    Trigger,
    Workflow,
    check_task_name,
    triggers,
)
from .outputs import check_finish, output_name
from .points import Cycling

if TYPE_CHECKING:
    from prefect import Task

__all__ = [
    "AllRefs",
    "AnyRefs",
    "Ref",
    "Rule",
    "all_of",
    "any_of",
    "build_workflow",
    "cycle",
    "on",
    "previous",
    "rules",
    "task_map",
]

RULES_ATTR = "__prefect_cycles_rules__"
TaskT = TypeVar("TaskT")

_CLOCK = re.compile(r"^T\d\d(:?\d\d)?Z?$")  # T00, T0630: daily
_MINUTE = re.compile(r"^T-\d\d$")  # T-30: hourly


# -- what after= holds -------------------------------------------------------------


class _Combines:
    """``&`` and ``|`` between references, tasks and node strings build conditions."""

    def __and__(self, other: object) -> AllRefs:
        return all_of(self, other)

    def __or__(self, other: object) -> AnyRefs:
        return any_of(self, other)

    def __rand__(self, other: object) -> AllRefs:
        return all_of(other, self)

    def __ror__(self, other: object) -> AnyRefs:
        return any_of(other, self)


@dataclass(frozen=True, repr=False)
class Ref(_Combines):
    """One output of one task at a cycle offset: ``on(foo, "-P1", output="failed")``.

    ``task`` is a Prefect Task, a task name, or None for the decorated task
    itself (what :func:`previous` gives). ``offset`` is None (same point), an
    offset text (``"-P1"``, ``"^"``, ``"20200101T00"``) or an int point; for the
    task itself, None means one step back along the rule's recurrence.
    """

    task: Any = None
    offset: str | int | None = None
    output: str = "succeeded"
    optional: bool = False

    def __repr__(self) -> str:
        task = repr(self.task) if self.task is None or isinstance(self.task, str) else None
        return (
            f"Ref(task={task or f'<Task {_name(self.task)!r}>'}, offset={self.offset!r}, "
            f"output={self.output!r}, optional={self.optional!r})"
        )

    def __str__(self) -> str:
        name = "<self>" if self.task is None else _name(self.task)
        off = self.offset if self.offset is not None else ("-step" if self.task is None else None)
        s = name + (f"[{off}]" if off is not None else "")
        s += "" if self.output == "succeeded" else f":{self.output}"
        return s + ("?" if self.optional else "")


@dataclass(frozen=True)
class AllRefs(_Combines):
    """Every term must hold: the graph's ``&``."""

    terms: tuple[After, ...]

    def __str__(self) -> str:
        return " & ".join(_paren(t) for t in self.terms)


@dataclass(frozen=True)
class AnyRefs(_Combines):
    """At least one term must hold: the graph's ``|``."""

    terms: tuple[After, ...]

    def __str__(self) -> str:
        return " | ".join(_paren(t) for t in self.terms)


After: TypeAlias = "Ref | AllRefs | AnyRefs | WallClock"


def _paren(term: After) -> str:
    return f"({term})" if isinstance(term, (AllRefs, AnyRefs)) else str(term)


@dataclass(frozen=True)
class Rule:
    """One ``@cycle``: at the points of ``recurrence``, run after ``after``."""

    recurrence: str
    after: After | None = None
    optional: bool = False

    def __str__(self) -> str:
        args = [repr(self.recurrence)]
        if self.after is not None:
            args.append(f"after={str(self.after)!r}")
        if self.optional:
            args.append("optional=True")
        return f"@cycle({', '.join(args)})"


# -- the decorators -------------------------------------------------------------------


def cycle(
    recurrence: str | list[str] | tuple[str, ...] | None = None,
    *,
    at: object = None,
    after: object = None,
    optional: bool = False,
) -> Callable[[TaskT], TaskT]:
    """Put a Prefect task on ``recurrence`` (one graph section), after ``after``.

    ``recurrence`` is a recurrence (``"P1"``, ``"R1"``, ``"T00"``, ``"P1!3"``) or
    a list of them (a union, like a graph key ``"T00, T12"``); ``at=[2, 5]`` runs
    at listed points instead. ``after`` is what the task waits for there: a Task,
    a node string (``"foo[-P1]:fail?"``), :func:`on`, :func:`previous`,
    :func:`any_of`, :func:`all_of`, :func:`~prefect_cycles.clock.wall_clock`
    (date-time cycling: not before point + offset), or a list (all of). ``optional=True`` makes
    the task's success optional (the graph's ``b?``). Stack one ``@cycle`` per
    section, above ``@task``; the same Task object is returned.
    """
    if _is_task(recurrence) or callable(recurrence):
        raise ValidationError(
            "@cycle needs a recurrence before it can decorate a task",
            task=_name(recurrence),
            fix="write @cycle('P1') (with a recurrence) above @task",
        )
    rec = _recurrence_text(recurrence, at)
    after_ = None if after is None else _after(after, f"@cycle({rec!r}, after=...)")
    if not isinstance(optional, bool):
        raise ValidationError(
            f"@cycle(optional=...) takes True or False, not {optional!r}",
            text=rec,
            fix="pass optional=True to make the task's success optional",
        )
    rule = Rule(rec, after_, optional)

    def decorate(task: TaskT) -> TaskT:
        if not _is_task(task):
            what = "a flow" if _is_flow(task) else f"a {type(task).__name__}"
            raise ValidationError(
                f"@cycle({rec!r}) decorates Prefect tasks, but got {what}",
                task=getattr(task, "__name__", None),
                fix="put @cycle above @task (decorators apply bottom-up), on a @task function",
            )
        _set_rules(task, (rule, *_get_rules(task)))
        return task

    return decorate


def on(
    task: object,
    offset: str | int | _dt.datetime | None = None,
    *,
    output: str = "succeeded",
    optional: bool = False,
) -> Ref:
    """``task``'s ``output`` at ``offset``: the graph node ``task[offset]:output?``.

    ``task`` is a Prefect Task or a task name. ``offset`` is relative to the
    waiting task's point (``"-P1"``, ``"-PT6H"``, ``"+P1"``), to the initial
    point (``"^"``, ``"^+P1"``), or absolute (``3``, ``"20200101T00"``).
    """
    if isinstance(task, str):
        if not TASK_NAME.match(task.strip()):
            raise GraphSyntaxError(
                f"on() takes a task name, not {task!r}",
                text=task,
                fix="write on('foo', '-P1', output='failed', optional=True) "
                "or after='foo[-P1]:fail?'",
            )
        task = task.strip()
    elif not _is_task(task):
        raise ValidationError(
            f"on() takes a Prefect task or a task name, not {_describe(task)}",
            fix="decorate the function with @task, or pass the task's name",
        )
    out, opt = _output(output, task), _bool(optional, "on()")
    check_finish(_name(task) or "", out, opt)
    return Ref(task, _offset_arg(offset, "on()"), out, opt)


def previous(
    interval: str | int | None = None,
    *,
    output: str = "succeeded",
    optional: bool = False,
) -> Ref:
    """The decorated task itself, ``interval`` earlier: ``foo[-P1] => foo``.

    Without ``interval``, one step of the rule's recurrence (``P2`` -> ``-P2``,
    ``PT6H`` -> ``-PT6H``, ``T00`` -> ``-P1D``), so it names the previous
    instance on the same sequence; give it where the recurrence has no step.
    """
    off: str | None = None
    if interval is not None:
        text = interval
        if isinstance(interval, int) and not isinstance(interval, bool) and interval > 0:
            text = f"P{interval}"
        if not isinstance(text, str) or not text.strip() or text.strip().startswith("+"):
            raise GraphSyntaxError(
                f"previous() takes an interval back in time, not {interval!r}",
                fix="write previous('P1'), previous('PT6H'), or on(task, '+P1') for a later point",
            )
        text = text.strip()
        off = text if text.startswith("-") else f"-{text}"
    out, opt = _output(output, None), _bool(optional, "previous()")
    check_finish("<self>", out, opt)
    return Ref(None, off, out, opt)


def all_of(*terms: object) -> AllRefs:
    """Every term must hold (the graph's ``&``); terms are anything ``after=`` takes."""
    return AllRefs(_terms(terms, "all_of()"))


def any_of(*terms: object) -> AnyRefs:
    """At least one term must hold (the graph's ``|``); terms are anything ``after=`` takes.

    A :func:`~prefect_cycles.clock.wall_clock` cannot be one of them: as in
    Cylc, a clock trigger always holds; join it with ``&`` instead.
    """
    found = _terms(terms, "any_of()")
    clock = next(iter(_clocks(AnyRefs(found))), None)
    if clock is not None:
        raise ValidationError(
            f"{clock} cannot be one side of '|' (any_of): a clock trigger always holds, as in Cylc",
            fix="join it with all_of() or &, e.g. after=all_of(wall_clock('PT1H'), any_of(a, b))",
        )
    return AnyRefs(found)


def rules(task: object) -> list[Rule]:
    """The rules on ``task``, top to bottom as the ``@cycle`` lines are written."""
    if not _is_task(task):
        raise ValidationError(
            f"rules() takes a Prefect task, not {_describe(task)}",
            fix="pass the @task object",
        )
    return list(_get_rules(task))


# -- building the model ---------------------------------------------------------------


def task_map(*tasks: Task) -> dict[str, Task]:
    """Name -> Prefect Task for ``tasks`` and every task their rules reference."""
    return dict(_collect(tasks)[0])


def build_workflow(
    *tasks: Task,
    initial: object,
    final: object = None,
    runahead: str = "P4",
    time_zone: str | None = None,
    name: str | None = None,
) -> Workflow:
    """The workflow the rules on ``tasks`` (and the tasks they reference) describe.

    As in Cylc, a task named without an offset in a rule runs on that rule's
    recurrence too, so it needs no ``@cycle`` of its own.
    """
    found, origin = _collect(tasks)
    wf = Workflow.create(
        initial,
        final,
        time_zone=time_zone,
        runahead=runahead,
        **({"name": name} if name is not None else {}),
    )
    edges: list[tuple[str, str, Condition | None, bool]] = []
    for tname, task in found.items():
        for rule in _get_rules(task):
            where = f"{rule} on task {tname!r}"
            with _located(where):
                for rec in _split_recurrences(rule.recurrence):
                    wf.sequence(rec)
                    cond = _condition(rule.after, tname, rec, wf.cycling, where)
                    if any(t.task == tname and t.offset is None for t in triggers(cond)):
                        raise ValidationError(
                            f"{where} makes {tname!r} wait for itself at the same point",
                            task=tname,
                            fix="wait for an earlier instance with previous() or on(task, '-P1')",
                        )
                    for clock in _clocks(rule.after):
                        label = WALL_CLOCK if clock.offset == "PT0S" else str(clock)
                        wf.add_clock_trigger(tname, rec, clock.offset, label=label)
                    wf.use_output(tname, "succeeded", rule.optional, where)
                    for trig in triggers(cond):
                        wf.use_output(trig.task, trig.output, trig.optional, where)
                    edges.append((rec, tname, cond, rule.optional))
    declared = {t for _, t, _, _ in edges}
    declared |= {g.task for _, _, c, _ in edges for g in triggers(c) if g.offset is None}
    for tname in found:
        if tname not in declared:
            raise ValidationError(
                f"task {tname!r} never runs: {origin[tname]}, and it is never named "
                "without an offset, so no recurrence applies to it",
                task=tname,
                fix=f"put @cycle('P1') (or the recurrence it should run on) above @task "
                f"on {tname}, or name it without an offset in some rule",
            )
    seen: set[tuple[str, str, Condition]] = set()
    for rec, tname, cond, optional in edges:
        if cond is None:
            wf.add_task(tname, rec)
            continue
        cond = wf.settle(cond)
        if (rec, tname, cond) in seen:
            continue
        seen.add((rec, tname, cond))
        wf.add_dependency(
            rec,
            tname,
            cond,
            source=f"{cond} => {tname}" + ("?" if optional else ""),
            record_outputs=False,
        )
    return wf


@contextmanager
def _located(where: str) -> Iterator[None]:
    """Prefix a CycleError raised inside with the rule it came from."""
    try:
        yield
    except CycleError as exc:
        if where not in exc.args[0]:
            exc.args = (f"{where}: {exc.args[0]}", *exc.args[1:])
        raise exc.with_traceback(None) from None


# -- helpers --------------------------------------------------------------------------


def _collect(tasks: tuple[object, ...]) -> tuple[dict[str, Task], dict[str, str]]:
    """Every task reachable from ``tasks``, by name; and where each came from."""
    explicit: dict[str, Task] = {}
    for task in tasks:
        if not _is_task(task):
            raise ValidationError(
                f"build_workflow() takes Prefect tasks, not {_describe(task)}",
                fix="pass the @task objects (decorated with @cycle) as positional arguments",
            )
        _clash(explicit, task, "both passed to build_workflow()")
    found = dict(explicit)
    origin = {n: "it was passed to build_workflow() but has no @cycle" for n in explicit}
    queue = list(explicit.values())
    while queue:
        task = queue.pop(0)
        for rule in _get_rules(task):
            for ref in _refs(rule.after):
                if not _is_task(ref.task):
                    continue
                other, oname = ref.task, ref.task.name
                have = found.get(oname)
                if have is None:
                    _check_name(other)
                    found[oname] = other
                    origin[oname] = f"it is named only in {rule} on task {task.name!r}"
                    queue.append(other)
                elif have is not other and not (oname in explicit and have.fn is other.fn):
                    _clash(found, other, f"one named in {rule} on task {task.name!r}")
    for task in list(found.values()):
        for rule in _get_rules(task):
            for ref in _refs(rule.after):
                if isinstance(ref.task, str) and ref.task not in found:
                    raise ValidationError(
                        f"{rule} on task {task.name!r} names unknown task {ref.task!r}; "
                        f"known tasks: {', '.join(sorted(found))}",
                        task=ref.task,
                        fix=f"pass {ref.task} to build_workflow(), or put the Task object "
                        "itself in after= instead of its name",
                    )
    return found, origin


def _clash(found: dict[str, Task], task: Task, how: str) -> None:
    """Add ``task`` to ``found`` unless another Task already holds its name."""
    name = _check_name(task)
    have = found.setdefault(name, task)
    if have is not task:
        raise ValidationError(
            f"two different Prefect tasks are named {name!r} ({_where(have)} and "
            f"{_where(task)}, {how})",
            task=name,
            fix="use one Task object everywhere (reference a with_options() copy in after= "
            "too, or pass it to build_workflow()), or rename one with @task(name=...) "
            "or .with_options(name=...)",
        )


def _check_name(task: Task) -> str:
    try:
        return check_task_name(task.name)
    except CycleError:
        raise ValidationError(
            f"Prefect task name {task.name!r} is not a valid cycling task name",
            task=task.name,
            fix="name it with letters, digits and _ (also + % @ - after the first "
            "character): @task(name='my_task') or .with_options(name='my_task')",
        ) from None


def _condition(
    after: After | None, target: str, recurrence: str, cycling: Cycling, where: str
) -> Condition | None:
    """The model condition ``after`` means for ``target`` in a rule on ``recurrence``."""
    if after is None:
        return None
    if isinstance(after, WallClock):
        return None  # a clock trigger: see build_workflow()
    if isinstance(after, Ref):
        name = target if after.task is None else _name(after.task)
        offset = after.offset
        if after.task is None and offset is None:
            offset = _step_back(recurrence, cycling, where)
        return Trigger(name, _offset(offset, cycling, name), after.output, after.optional)
    terms = []
    for term in after.terms:
        cond = _condition(term, target, recurrence, cycling, where)
        if cond is None:
            continue
        same = AllOf if isinstance(after, AllRefs) else AnyOf
        terms.extend(cond.terms if isinstance(cond, same) else (cond,))  # type: ignore[union-attr]
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0]
    return AllOf(tuple(terms)) if isinstance(after, AllRefs) else AnyOf(tuple(terms))


def _offset(offset: str | int | None, cycling: Cycling, task: str) -> Offset | None:
    return None if offset is None else Offset.parse(offset, cycling, task=task)


def _step_back(recurrence: str, cycling: Cycling, where: str) -> str:
    """One step back along ``recurrence``, for a bare ``previous()``."""
    last = recurrence.split("!")[0].strip().split("/")[-1].strip()
    if "," not in recurrence:
        if _CLOCK.match(last) and cycling.mode == "datetime":
            return "-P1D"
        if _MINUTE.match(last) and cycling.mode == "datetime":
            return "-PT1H"
        if re.match(r"^\+?P", last) and cycling.is_interval(last):
            step = cycling.interval(last)
            if step > cycling.zero():  # type: ignore[operator]
                return "-" + last.lstrip("+")
    example = "P1" if cycling.mode == "integer" else "PT6H"
    raise GraphSyntaxError(
        f"{where}: previous() cannot tell how far back the previous instance is on {recurrence!r}",
        text=recurrence,
        fix=f"give the interval, e.g. previous({example!r})",
    )


def _split_recurrences(text: str) -> list[str]:
    """Split at commas outside parentheses, as graph section keys are (``P1!(3,5)`` stays)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth <= 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [*parts, current.strip()]


def _recurrence_text(recurrence: object, at: object) -> str:
    if (recurrence is None) == (at is None):
        raise ValidationError(
            "@cycle needs a recurrence or at=, and not both"
            if recurrence is None
            else f"@cycle({recurrence!r}, at=...) gives both a recurrence and at=",
            fix="write @cycle('P1') for a recurrence or @cycle(at=[2, 5]) for listed points",
        )
    if at is not None:
        points = list(at) if isinstance(at, (list, tuple, range)) else [at]
        if not points:
            raise ValidationError("@cycle(at=[]) lists no points", fix="list at least one point")
        return ", ".join(f"R1/{_point_text(p)}" for p in points)
    items = [recurrence] if isinstance(recurrence, str) else recurrence
    if not isinstance(items, (list, tuple)) or not items:
        raise ValidationError(
            f"@cycle takes a recurrence string or a list of them, not {recurrence!r}",
            fix="write @cycle('P1') or @cycle(['T00', 'T12'])",
        )
    for item in items:
        if not isinstance(item, str) or not all(_split_recurrences(item)):
            raise ValidationError(
                f"{item!r} is not a recurrence",
                text=str(item),
                fix="write a recurrence such as 'P1', 'R1', 'R1/$', 'PT6H' or 'T00'",
            )
    return ", ".join(item.strip() for item in items)


def _point_text(point: object) -> str:
    if isinstance(point, bool):
        raise ValidationError(f"{point!r} is not a cycle point", fix="list ints or date-times")
    if isinstance(point, _dt.datetime):
        if point.utcoffset() is not None:
            return point.astimezone(_dt.timezone.utc).strftime("%Y%m%dT%H%MZ")
        return point.strftime("%Y%m%dT%H%M")
    if isinstance(point, _dt.date):
        return point.strftime("%Y%m%dT0000")
    text = str(point).strip()
    if not text or any(c in text for c in ",/!$^ "):
        raise ValidationError(
            f"{point!r} is not a cycle point",
            text=text,
            fix="list points like at=[2, 5] or at=['20200101T00']",
        )
    return text


def _offset_arg(offset: object, where: str) -> str | int | None:
    if offset is None or (isinstance(offset, int) and not isinstance(offset, bool)):
        return offset  # type: ignore[return-value]
    if isinstance(offset, (_dt.datetime, _dt.date)):
        return _point_text(offset)
    if isinstance(offset, str) and offset.strip():
        return offset.strip()
    raise GraphSyntaxError(
        f"{where} takes an offset such as '-P1', '^', 3 or '20200101T00', not {offset!r}",
        fix="pass a cycle offset as text, an int point or a datetime",
    )


def _output(output: object, task: object) -> str:
    if not isinstance(output, str):
        raise GraphSyntaxError(
            f"output must be text such as 'failed', not {output!r}", task=_name(task)
        )
    return output_name(output.strip().lstrip(":"), task=_name(task))


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{where} takes optional=True or False, not {value!r}")
    return value


def _after(value: object, where: str) -> After:
    """Normalise anything ``after=`` accepts to a Ref / AllRefs / AnyRefs."""
    if isinstance(value, (Ref, AllRefs, AnyRefs, WallClock)):
        return value
    if isinstance(value, (list, tuple)):
        terms = _terms(tuple(value), where)
        return terms[0] if len(terms) == 1 else AllRefs(terms)
    if isinstance(value, str):
        return _node_ref(value, where)
    if _is_task(value):
        return Ref(value)
    raise ValidationError(
        f"{where} takes a Prefect task, a node string such as 'foo[-P1]', on(), "
        f"previous(), any_of(), all_of(), wall_clock() or a list of them, not {_describe(value)}",
        fix="decorate the function with @task, or name the task as a string",
    )


def _terms(values: tuple[object, ...], where: str) -> tuple[After, ...]:
    if not values:
        raise ValidationError(
            f"{where} needs at least one task",
            fix="write any_of(a, b) or all_of(a, on(b, '-P1'))",
        )
    return tuple(_after(v, where) for v in values)


def _node_ref(text: str, where: str) -> Ref:
    """A Ref from one graph node string, ``name[offset]:output?``, read as graph strings are."""
    if any(c in text for c in "&|()="):
        raise GraphSyntaxError(
            f"{text!r} is not a task node",
            text=text,
            fix=f"{where} takes one node per string: write conditions with any_of()/all_of() "
            "or & and | between on() terms",
        )
    name, offset, output, optional = read_node(text)
    return Ref(name, offset, output, optional)


def _refs(after: After | None) -> Iterator[Ref]:
    if after is None or isinstance(after, WallClock):
        return
    if isinstance(after, Ref):
        yield after
    else:
        for term in after.terms:
            yield from _refs(term)


def _clocks(after: After | None) -> Iterator[WallClock]:
    if isinstance(after, WallClock):
        yield after
    elif isinstance(after, (AllRefs, AnyRefs)):
        for term in after.terms:
            yield from _clocks(term)


def _get_rules(task: object) -> tuple[Rule, ...]:
    return getattr(task, "__dict__", {}).get(RULES_ATTR, ())


def _set_rules(task: Task, value: tuple[Rule, ...]) -> None:
    task.__dict__[RULES_ATTR] = value
    fn = getattr(task, "fn", None)
    if hasattr(fn, "__dict__"):
        fn.__dict__[RULES_ATTR] = value


def _is_task(obj: object) -> bool:
    from prefect.tasks import Task

    return isinstance(obj, Task)


def _is_flow(obj: object) -> bool:
    from prefect.flows import Flow

    return isinstance(obj, Flow)


def _name(task: object) -> str | None:
    if task is None or isinstance(task, str):
        return task
    return getattr(task, "name", None) or getattr(task, "__name__", None)


def _where(task: Task) -> str:
    fn = getattr(task, "fn", None)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def _describe(obj: object) -> str:
    if _is_flow(obj):
        return f"the flow {getattr(obj, 'name', obj)!r}"
    if callable(obj) and hasattr(obj, "__name__"):
        return f"the plain function {obj.__name__!r}"
    return f"{type(obj).__name__} {obj!r}"
