"""Decorator rules over task parameters: a rule at each combination of the values it names.

``@cycle("P1", params="member")`` (and ``on(task, params=...)`` in ``after=``)
name task parameters; this reads which tasks take which parameters from the
rules, and expands each rule as Cylc expands a graph line, recording on the
workflow which task and values run each expanded name (``model_member1``).
What a parameter item means is :mod:`~prefect_cycles.frontends.taskparams`'.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..graph.model import Workflow
from .refs import After, Ref, refs_in, task_name
from .rules import Rule, get_rules
from .taskparams import TaskParameters

if TYPE_CHECKING:
    from prefect import Task

__all__ = ["expansions", "names_of", "task_parameters"]


def task_parameters(
    found: Mapping[str, Task],
    parameters: Mapping[str, str | Iterable[int | str]] | None,
    templates: Mapping[str, str] | None,
) -> TaskParameters | None:
    """The parameters of each task, from its rules' ``params=`` (else its references')."""
    uses: dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]] = {}
    for tname, task in found.items():
        for rule in get_rules(task):
            uses.setdefault(tname, []).append((f"{rule} on task {tname!r}", rule.params))
    for tname, task in found.items():
        for rule in get_rules(task):
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


def names_of(tp: TaskParameters | None, tname: str, rule: Rule) -> list[str]:
    """Every expanded name a rule's task stands for (itself without parameters)."""
    if not tp or not rule.params:
        return [tname]
    return [name for name, _, _ in tp.expand(tname, rule.params, None, str(rule))]


def expansions(
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
    for base in tp.of_task:
        if not ref.task.startswith(base):
            continue
        values = tp.expanded_names(base).get(ref.task)
        if values is not None:
            wf.parameterised.setdefault(ref.task, (base, dict(values)))
            expanded[ref.task] = base
            return
