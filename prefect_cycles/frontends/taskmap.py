"""The Prefect tasks a decorated workflow is made of: those given, and every one their rules name.

:func:`task_map` gives the flow builder the Task object behind each name;
:func:`collect` walks the rules from the tasks given to every task an
``after=`` reaches, and refuses two different tasks under one name, a name
Cylc would not take, and a task named by a string that nothing defines.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..errors import CycleError, ValidationError
from ..graph.model import check_task_name
from .refs import describe, is_task, refs_in
from .rules import get_rules

if TYPE_CHECKING:
    from prefect import Task

__all__ = ["collect", "task_map"]


def task_map(*tasks: Task) -> dict[str, Task]:
    """Name -> Prefect Task for ``tasks`` and every task their rules reference.

    A parameterised task is listed under its own name; the workflow's
    ``parameterised`` table maps each expanded name (``model_member1``) to it.
    """
    return dict(collect(tasks)[0])


def collect(tasks: tuple[object, ...]) -> tuple[dict[str, Task], dict[str, str]]:
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
    queue = deque(explicit.values())  # list.pop(0) would make this quadratic
    while queue:
        task = queue.popleft()
        for rule in get_rules(task):
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
        for rule in get_rules(task):
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


def _where(task: Task) -> str:
    fn = getattr(task, "fn", None)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
