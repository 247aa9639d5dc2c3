"""``@cycle``: the rules that put an existing Prefect task on cycles, as Cylc graph sections do.

::

    @cycle("R1", after=prep)          # R1 = "prep => foo"
    @cycle("P1", after=previous())    # P1 = "foo[-P1] => foo"
    @task
    def foo(point): ...

Each ``@cycle`` is one graph section the task appears in: it records a
:class:`Rule` on the task and returns the very same Task, which still runs as a
plain Prefect task. What ``after=`` holds is :mod:`~prefect_cycles.frontends.refs`';
:func:`~prefect_cycles.frontends.decorators.build_workflow` reads the rules.

Rules live in the task's ``__dict__`` and, mirrored, in its function's: Prefect
builds a ``with_options()`` copy from the function (``functools.update_wrapper``
copies its ``__dict__``), so a copy keeps the rules its function carried when it
was made. A copy then has rules of its own; the function always holds the rules
of the task decorated last, which is what later copies (or a new ``@task``
around the same function) start from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..cycling.clock import parse_offset
from ..errors import ValidationError
from .refs import After, as_after, describe, is_flow, is_task, point_text, task_name
from .syntax import split_recurrences
from .taskparams import parse_params

if TYPE_CHECKING:
    from prefect import Task

__all__ = ["Rule", "cycle", "get_rules", "rules"]

RULES_ATTR = "__prefect_cycles_rules__"
TaskT = TypeVar("TaskT")


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


# -- the decorator ------------------------------------------------------------------


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
        _set_rules(task, (rule, *get_rules(task)))
        return task

    return decorate


def rules(task: object) -> list[Rule]:
    """The rules on ``task``, top to bottom as the ``@cycle`` lines are written."""
    if not is_task(task):
        raise ValidationError(
            f"rules() takes a Prefect task, not {describe(task)}",
            fix="pass the @task object",
        )
    return list(get_rules(task))


# -- checking what @cycle was given --------------------------------------------------


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
        if not isinstance(item, str) or not all(split_recurrences(item)):
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


# -- where rules live ---------------------------------------------------------------


def get_rules(task: object) -> tuple[Rule, ...]:
    """The rules on ``task`` (none for anything that is not a decorated task)."""
    return getattr(task, "__dict__", {}).get(RULES_ATTR, ())


def _set_rules(task: Task, value: tuple[Rule, ...]) -> None:
    """Store ``value`` on the task and on its function (see the module's docstring)."""
    task.__dict__[RULES_ATTR] = value
    fn = getattr(task, "fn", None)
    if hasattr(fn, "__dict__"):
        fn.__dict__[RULES_ATTR] = value
