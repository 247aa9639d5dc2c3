"""The decorator front end: ``@cycle`` rules on Prefect tasks, read into the model.

::

    @cycle("R1", after=prep)          # R1 = "prep => foo"
    @cycle("P1", after=previous())    # P1 = "foo[-P1] => foo"
    @task
    def foo(point): ...

:func:`build_workflow` turns the rules into the same
:class:`~prefect_cycles.graph.model.Workflow` a graph string gives. The front
end is in small modules, whose public names this one gathers (the import path
the docs give): :mod:`~prefect_cycles.frontends.rules` (``@cycle`` and the
:class:`Rule` it records), :mod:`~prefect_cycles.frontends.refs` (what
``after=`` holds: :func:`on`, :func:`previous`, :func:`all_of`,
:func:`any_of`...), :mod:`~prefect_cycles.frontends.taskmap` (the tasks the
rules reach, :func:`task_map`) and :mod:`~prefect_cycles.frontends.ruleparams`
(rules over task parameters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..cycling.clock import WALL_CLOCK
from ..cycling.points import Cycling
from ..errors import CycleError, GraphSyntaxError, ValidationError
from ..graph.conditions import AllOf, AnyOf, Condition, Offset, Trigger, triggers
from ..graph.model import Workflow
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
    clocks_in,
    on,
    previous,
    task_name,
    wall_clock,
    xtrigger,
    xtriggers_in,
)
from .ruleparams import expansions, names_of, task_parameters
from .rules import Rule, cycle, get_rules, rules
from .syntax import split_recurrences
from .taskmap import collect, task_map

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

_CLOCK = re.compile(r"^T\d\d(:?\d\d)?Z?$")  # T00, T0630: daily
_MINUTE = re.compile(r"^T-\d\d$")  # T-30: hourly


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
    found, origin = collect(tasks)
    tp = task_parameters(found, parameters, parameter_templates)
    wf = Workflow.create(initial, final, time_zone=time_zone, runahead=runahead)
    if name is not None:
        wf.name = name
    for tname, declared in (outputs or {}).items():
        wf.declare_outputs(tname, declared, where="build_workflow(outputs=...)")
    expanded: dict[str, str] = {}  # expanded name -> the task's own name
    for tname, task in found.items():
        for rule in get_rules(task):
            with _located(f"{rule} on task {tname!r}"):
                for name in names_of(tp, tname, rule):
                    if rule.outputs:
                        wf.declare_outputs(name, dict(rule.outputs), where=str(rule))
                    if rule.completion:
                        wf.set_completion(name, rule.completion)
    edges: list[tuple[str, str, Condition | None, bool]] = []
    for base, task in found.items():
        for rule in get_rules(task):
            where = f"{rule} on task {base!r}"
            if tp:
                tp.check_body(base, task, where)
            with _located(where):
                for tname, rule_after in expansions(tp, base, rule, where, wf, expanded):
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
    for rec in split_recurrences(rule.recurrence):
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


@contextmanager
def _located(where: str) -> Iterator[None]:
    """Prefix a CycleError raised inside with the rule it came from."""
    try:
        yield
    except CycleError as exc:
        if where not in exc.args[0]:
            exc.args = (f"{where}: {exc.args[0]}", *exc.args[1:])
        raise exc.with_traceback(None) from None


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
