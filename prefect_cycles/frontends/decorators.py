"""Decorators that put existing Prefect tasks on cycles, the way Cylc graph sections do.

::

    @cycle("R1", after=prep)          # R1 = "prep => foo"
    @cycle("P1", after=previous())    # P1 = "foo[-P1] => foo"
    @task
    def foo(point): ...

Each ``@cycle`` is one graph section the task appears in: it records a
:class:`Rule` on the task and returns the very same Task, which still runs as a
plain Prefect task. :func:`build_workflow` turns the rules into the same
:class:`~prefect_cycles.graph.model.Workflow` a graph string gives, and
:func:`task_map` gives the flow builder the Task object behind each name.

Rules live in the task's ``__dict__`` and, mirrored, in its function's: Prefect
builds a ``with_options()`` copy from the function (``functools.update_wrapper``
copies its ``__dict__``), so a copy keeps the rules its function carried when it
was made. A copy then has rules of its own; the function always holds the rules
of the task decorated last, which is what later copies (or a new ``@task``
around the same function) start from.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..cycling.clock import WALL_CLOCK, parse_offset
from ..cycling.points import Cycling
from ..errors import CycleError, GraphSyntaxError, ValidationError
from ..graph.conditions import AllOf, AnyOf, Condition, Offset, Trigger, triggers
from ..graph.model import Workflow, check_task_name
from ..graph.unroll import without_gc
from .refs import (
    After,
    AllRefs,
    AnyRefs,
    Ref,
    WallClock,
    XTriggerRef,
    all_of,
    any_of,
    as_after,
    clocks_in,
    describe,
    is_flow,
    is_task,
    on,
    point_text,
    previous,
    refs_in,
    task_name,
    wall_clock,
    xtrigger,
    xtriggers_in,
)
from .taskparams import TaskParameters, parse_params

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
    "wall_clock",
    "xtrigger",
]

RULES_ATTR = "__prefect_cycles_rules__"
TaskT = TypeVar("TaskT")

_CLOCK = re.compile(r"^T\d\d(:?\d\d)?Z?$")  # T00, T0630: daily
_MINUTE = re.compile(r"^T-\d\d$")  # T-30: hourly


# -- what after= holds -------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One ``@cycle``: at the points of ``recurrence``, run after ``after``."""

    recurrence: str
    after: After | None = None
    optional: bool = False
    #: Custom outputs the task declares (name -> message), completion, clock-expire offset.
    outputs: tuple[tuple[str, str], ...] = ()
    completion: str | None = None
    clock_expire: str | None = None
    #: Task parameters the task runs for in this rule (``params="m"``): (name, "" | "=2").
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        args = [repr(self.recurrence)]
        if self.params:
            args.append(f"params={','.join(p + how for p, how in self.params)!r}")
        if self.after is not None:
            args.append(f"after={str(self.after)!r}")
        if self.optional:
            args.append("optional=True")
        if self.outputs:
            args.append(f"outputs={[name for name, _ in self.outputs]!r}")
        if self.completion:
            args.append(f"completion={self.completion!r}")
        if self.clock_expire:
            args.append(f"clock_expire={self.clock_expire!r}")
        return f"@cycle({', '.join(args)})"


# -- the decorators -------------------------------------------------------------------


def cycle(
    recurrence: str | list[str] | tuple[str, ...] | None = None,
    *,
    at: object = None,
    after: object = None,
    optional: bool = False,
    outputs: object = None,
    completion: str | None = None,
    clock_expire: object = None,
    params: object = None,
) -> Callable[[TaskT], TaskT]:
    """Put a Prefect task on ``recurrence`` (one graph section), after ``after``.

    ``recurrence`` is a recurrence (``"P1"``, ``"R1"``, ``"T00"``, ``"P1!3"``) or
    a list of them (a union, like a graph key ``"T00, T12"``); ``at=[2, 5]`` runs
    at listed points instead. ``after`` is what the task waits for there: a Task,
    a node string (``"foo[-P1]:fail?"``), :func:`on`, :func:`previous`,
    :func:`any_of`, :func:`all_of`, :func:`~prefect_cycles.frontends.refs.wall_clock`
    (date-time cycling: not before point + offset), or a list (all of). ``optional=True`` makes
    the task's success optional (the graph's ``b?``). Stack one ``@cycle`` per
    section, above ``@task``; the same Task object is returned.

    Run-time settings of the task (on any one of its ``@cycle`` lines):
    ``outputs=["out1"]`` (or ``{"out1": "a message"}``) declares custom outputs
    its body emits with :func:`~prefect_cycles.run.emit.emit_output`, which
    others wait for with ``on(task, output="out1")``; ``completion="succeeded
    and (x or y)"`` is its completion expression; ``clock_expire="PT1H"`` makes
    an instance not started by point + offset expire instead of running.

    ``params="member"`` runs the task once for each value of the task parameter
    ``member`` (given to ``cyclic_flow(parameters=...)``), as Cylc's
    ``model<member>``: its body receives the value as the argument ``member``,
    and its task runs carry Cylc's expanded name (``model_member1[3]``).
    ``params="m,n"`` (or ``["m", "n"]``) is the product, ``params="m=2"``
    (or ``{"m": 2}``) one value. See docs/decorators.md.
    """
    if is_task(recurrence) or callable(recurrence):
        raise ValidationError(
            "@cycle needs a recurrence before it can decorate a task",
            task=task_name(recurrence),
            fix="write @cycle('P1') (with a recurrence) above @task",
        )
    rec = _recurrence_text(recurrence, at)
    after_ = None if after is None else as_after(after, f"@cycle({rec!r}, after=...)")
    if not isinstance(optional, bool):
        raise ValidationError(
            f"@cycle(optional=...) takes True or False, not {optional!r}",
            text=rec,
            fix="pass optional=True to make the task's success optional",
        )
    where = f"@cycle({rec!r}, params=...)"
    items = () if params is None else parse_params(params, where, offsets=False)
    rule = Rule(
        rec, after_, optional, *_run_settings(rec, outputs, completion, clock_expire), params=items
    )

    def decorate(task: TaskT) -> TaskT:
        if not is_task(task):
            what = "a flow" if is_flow(task) else f"a {type(task).__name__}"
            raise ValidationError(
                f"@cycle({rec!r}) decorates Prefect tasks, but got {what}",
                task=getattr(task, "__name__", None),
                fix="put @cycle above @task (decorators apply bottom-up), on a @task function",
            )
        _set_rules(task, (rule, *_get_rules(task)))
        return task

    return decorate


def rules(task: object) -> list[Rule]:
    """The rules on ``task``, top to bottom as the ``@cycle`` lines are written."""
    if not is_task(task):
        raise ValidationError(
            f"rules() takes a Prefect task, not {describe(task)}",
            fix="pass the @task object",
        )
    return list(_get_rules(task))


# -- building the model ---------------------------------------------------------------


def task_map(*tasks: Task) -> dict[str, Task]:
    """Name -> Prefect Task for ``tasks`` and every task their rules reference.

    A parameterised task is listed under its own name; the workflow's
    ``parameterised`` table maps each expanded name (``model_member1``) to it.
    """
    return dict(_collect(tasks)[0])


@without_gc
def build_workflow(
    *tasks: Task,
    initial: object,
    final: object = None,
    runahead: str = "P4",
    time_zone: str | None = None,
    name: str | None = None,
    outputs: Mapping[str, object] | None = None,
    parameters: Mapping[str, str | Iterable[int | str]] | None = None,
    parameter_templates: Mapping[str, str] | None = None,
) -> Workflow:
    """The workflow the rules on ``tasks`` (and the tasks they reference) describe.

    ``outputs`` declares custom outputs by task name, as ``@cycle(outputs=...)`` does.
    ``parameters`` gives the values of task parameters (``{"member": range(1, 4)}``
    or Cylc's ``{"member": "1..3"}``) and ``parameter_templates`` how a value is
    written into a task name (Cylc's ``[[templates]]``, default ``_member%(member)d``
    zero-padded to the widest value).

    As in Cylc, a task named without an offset in a rule runs on that rule's
    recurrence too, so it needs no ``@cycle`` of its own.
    """
    found, origin = _collect(tasks)
    tp = _task_parameters(found, parameters, parameter_templates)
    wf = Workflow.create(initial, final, time_zone=time_zone, runahead=runahead)
    if name is not None:
        wf.name = name
    for tname, declared in (outputs or {}).items():
        wf.declare_outputs(tname, declared, where="build_workflow(outputs=...)")
    expanded: dict[str, str] = {}  # expanded name -> the task's own name
    for tname, task in found.items():
        for rule in _get_rules(task):
            with _located(f"{rule} on task {tname!r}"):
                for name in _names_of(tp, tname, rule):
                    if rule.outputs:
                        wf.declare_outputs(name, dict(rule.outputs), where=str(rule))
                    if rule.completion:
                        wf.set_completion(name, rule.completion)
    edges: list[tuple[str, str, Condition | None, bool]] = []
    for base, task in found.items():
        for rule in _get_rules(task):
            where = f"{rule} on task {base!r}"
            if tp:
                tp.check_body(base, task, where)
            with _located(where):
                for tname, rule_after in _expansions(tp, base, rule, where, wf, expanded):
                    _add_rule(wf, tname, rule, rule_after, where, edges)
    declared = {expanded.get(t, t) for _, t, _, _ in edges}
    for _, _, cond, _ in edges:
        declared |= {expanded.get(g.task, g.task) for g in triggers(cond) if g.offset is None}
    for tname in found:
        if tname not in declared:
            raise ValidationError(
                f"task {tname!r} never runs: {origin[tname]}, and it is never named "
                "without an offset, so no recurrence applies to it",
                task=tname,
                fix=f"put @cycle('P1') (or the recurrence it should run on) above @task "
                f"on {tname}, or name it without an offset in some rule",
            )
    if tp:
        run_by = {b for b, _ in wf.parameterised.values()}
        for base in tp.of_task:
            if base in run_by:
                tp.check_body(base, found[base], f"named with parameters in {origin[base]}")
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


def _add_rule(
    wf: Workflow,
    tname: str,
    rule: Rule,
    after: After | None,
    where: str,
    edges: list[tuple[str, str, Condition | None, bool]],
) -> None:
    """One rule (at one combination of parameter values) on each of its recurrences."""
    for rec in _split_recurrences(rule.recurrence):
        wf.sequence(rec)
        cond = _condition(after, tname, rec, wf.cycling, where)
        if any(t.task == tname and t.offset is None for t in triggers(cond)):
            raise ValidationError(
                f"{where} makes {tname!r} wait for itself at the same point",
                task=tname,
                fix="wait for an earlier instance with previous() or on(task, '-P1')",
            )
        for x in xtriggers_in(after):
            wf.add_xtrigger_call(tname, rec, x.label, x.func, x.args, x.kwargs, x.interval)
        for clock in clocks_in(after):
            label = WALL_CLOCK if clock.offset == "PT0S" else str(clock)
            wf.add_clock_trigger(tname, rec, clock.offset, label=label)
        if rule.clock_expire is not None:
            wf.add_clock_expire(tname, rule.clock_expire)
        wf.use_output(tname, "succeeded", rule.optional, where)
        for trig in triggers(cond):
            wf.use_output(trig.task, trig.output, trig.optional, where)
        edges.append((rec, tname, cond, rule.optional))


def _task_parameters(
    found: Mapping[str, Task],
    parameters: Mapping[str, str | Iterable[int | str]] | None,
    templates: Mapping[str, str] | None,
) -> TaskParameters | None:
    """The parameters of each task, from its rules' ``params=`` (else its references')."""
    uses: dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]] = {}
    for tname, task in found.items():
        for rule in _get_rules(task):
            uses.setdefault(tname, []).append((f"{rule} on task {tname!r}", rule.params))
    for tname, task in found.items():
        for rule in _get_rules(task):
            for ref in refs_in(rule.after):
                other = tname if ref.task is None else task_name(ref.task) or ""
                if ref.params is None or ref.task is None:
                    continue
                uses.setdefault(other, []).append(
                    (f"{ref} in {rule} on task {tname!r}", ref.params)
                )
    named = any(items for u in uses.values() for _, items in u)
    if not named and parameters is None and not templates:
        return None
    if named and not parameters:
        where, tname = next((w, t) for t, u in uses.items() for w, items in u if items)
        raise ValidationError(
            f"{where} names task parameters, but no parameters were given",
            task=tname,
            fix="pass their values to cyclic_flow() or build_workflow(), e.g. "
            "parameters={'member': range(1, 4)}",
        )
    return TaskParameters.create(parameters, templates, uses)


def _names_of(tp: TaskParameters | None, tname: str, rule: Rule) -> list[str]:
    """Every expanded name a rule's task stands for (itself without parameters)."""
    if not tp or not rule.params:
        return [tname]
    return [name for name, _, _ in tp.expand(tname, rule.params, None, str(rule))]


def _expansions(
    tp: TaskParameters | None,
    base: str,
    rule: Rule,
    where: str,
    wf: Workflow,
    expanded: dict[str, str],
) -> list[tuple[str, After | None]]:
    """A rule at each combination of the parameter values it names, recorded on ``wf``."""
    if not tp:
        return [(base, rule.after)]
    out = []
    for name, values, after in tp.expand(base, rule.params, rule.after, where):
        if values:
            wf.parameterised.setdefault(name, (base, values))
            expanded[name] = base
        for ref in refs_in(after):
            _record_ref(tp, ref, wf, expanded)
        out.append((name, after))
    return out


def _record_ref(tp: TaskParameters, ref: Ref, wf: Workflow, expanded: dict[str, str]) -> None:
    """An expanded name in an after= (``model_member1``): which task and values run it."""
    if not isinstance(ref.task, str) or ref.task in expanded:
        return
    for base, names in tp.of_task.items():
        if not ref.task.startswith(base):
            continue
        for combo in itertools.product(*(tp.params.values[p] for p in names)):
            values = dict(zip(names, combo, strict=True))
            if tp.name(base, values, "") == ref.task:
                wf.parameterised.setdefault(ref.task, (base, values))
                expanded[ref.task] = base
                return


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
        if not is_task(task):
            raise ValidationError(
                f"build_workflow() takes Prefect tasks, not {describe(task)}",
                fix="pass the @task objects (decorated with @cycle) as positional arguments",
            )
        _clash(explicit, task, "both passed to build_workflow()")
    found = dict(explicit)
    origin = {n: "it was passed to build_workflow() but has no @cycle" for n in explicit}
    queue = list(explicit.values())
    while queue:
        task = queue.pop(0)
        for rule in _get_rules(task):
            for ref in refs_in(rule.after):
                if not is_task(ref.task):
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
            for ref in refs_in(rule.after):
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
    if isinstance(after, (WallClock, XTriggerRef)):
        return None  # a clock trigger or an xtrigger: see build_workflow()
    if isinstance(after, Ref):
        name = target if after.task is None else task_name(after.task)
        offset = after.offset
        if after.task is None and offset is None:
            offset = _step_back(recurrence, cycling, where)
        return Trigger(name, _offset(offset, cycling, name), after.output, after.optional)
    terms: list[Condition] = []
    for term in after.terms:
        cond = _condition(term, target, recurrence, cycling, where)
        if cond is None:
            continue
        same = AllOf if isinstance(after, AllRefs) else AnyOf
        terms.extend(cond.terms if isinstance(cond, same) else (cond,))
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
            if step > cycling.zero():
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
        return ", ".join(f"R1/{point_text(p)}" for p in points)
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


def _run_settings(
    rec: str, outputs: object, completion: object, clock_expire: object
) -> tuple[tuple[tuple[str, str], ...], str | None, str | None]:
    """``@cycle``'s run-time settings, checked: outputs, completion, clock-expire offset."""
    table: tuple[tuple[str, str], ...] = ()
    if outputs is not None:
        if isinstance(outputs, str):
            outputs = [outputs]
        if isinstance(outputs, dict):
            table = tuple((str(k), str(v)) for k, v in outputs.items())
        elif isinstance(outputs, (list, tuple)) and all(isinstance(o, str) for o in outputs):
            table = tuple((o, o) for o in outputs)
        else:
            raise ValidationError(
                f"@cycle({rec!r}, outputs=...) takes a list of output names or a mapping "
                f"name -> message, not {outputs!r}",
                text=rec,
                fix="write outputs=['out1'] or outputs={'out1': 'a message'}",
            )
    if completion is not None and not isinstance(completion, str):
        raise ValidationError(
            f"@cycle({rec!r}, completion=...) takes an expression as text, not {completion!r}",
            text=rec,
            fix="write e.g. completion='succeeded and (x or y)'",
        )
    expire = None
    if clock_expire is not None:
        expire, _ = parse_offset(clock_expire)
    return table, completion, expire


def _get_rules(task: object) -> tuple[Rule, ...]:
    return getattr(task, "__dict__", {}).get(RULES_ATTR, ())


def _set_rules(task: Task, value: tuple[Rule, ...]) -> None:
    task.__dict__[RULES_ATTR] = value
    fn = getattr(task, "fn", None)
    if hasattr(fn, "__dict__"):
        fn.__dict__[RULES_ATTR] = value


def _where(task: Task) -> str:
    fn = getattr(task, "fn", None)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
