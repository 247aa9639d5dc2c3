"""What ``after=`` holds: references to task outputs at cycle offsets, and their ``&``/``|``.

``on(foo, "-P1")``, ``previous()``, ``all_of()``, ``any_of()``, a plain Task, a
node string (``"foo[-P1]:fail?"``) and ``wall_clock("PT1H")`` are the terms of
a ``@cycle(..., after=...)`` condition; ``&`` and ``|`` between them build the
graph's ``&`` and ``|``. The model's own clock trigger is
:class:`~prefect_cycles.graph.conditions.ClockTrigger`; :class:`WallClock` is only
how a decorator spells one.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, overload

from ..cycling.clock import parse_offset
from ..errors import GraphSyntaxError, ValidationError
from ..graph.model import TASK_NAME
from ..graph.outputs import check_finish, output_name
from .syntax import read_node

_PARAM_NODE = re.compile(r"\A\s*([\w][\w\-+%@]*)<([^<>]*)>(.*)\Z", re.S)

if TYPE_CHECKING:
    from prefect.flows import Flow
    from prefect.tasks import Task
    from typing_extensions import TypeIs


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

    task: Task[..., Any] | str | None = None
    offset: str | int | None = None
    output: str = "succeeded"
    optional: bool = False
    #: Task parameters named (``foo<m-1>``): (name, "" | "-1" | "=2") items, or None
    #: for the task's own parameters at the dependent's values.
    params: tuple[tuple[str, str], ...] | None = None

    def __repr__(self) -> str:
        task = repr(self.task) if self.task is None or isinstance(self.task, str) else None
        extra = "" if self.params is None else f", params={self.params!r}"
        return (
            f"Ref(task={task or f'<Task {task_name(self.task)!r}>'}, offset={self.offset!r}, "
            f"output={self.output!r}, optional={self.optional!r}{extra})"
        )

    def __str__(self) -> str:
        name = "<self>" if self.task is None else task_name(self.task) or repr(self.task)
        if self.params is not None:
            name = f"{name}<{','.join(p + how for p, how in self.params)}>"
        off = self.offset if self.offset is not None else ("-step" if self.task is None else None)
        s = name if off is None else f"{name}[{off}]"
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


After: TypeAlias = "Ref | AllRefs | AnyRefs | WallClock | XTriggerRef"


def _paren(term: After) -> str:
    return f"({term})" if isinstance(term, (AllRefs, AnyRefs)) else str(term)


def on(
    task: object,
    offset: str | int | _dt.datetime | None = None,
    *,
    output: str = "succeeded",
    optional: bool = False,
    params: object = None,
) -> Ref:
    """``task``'s ``output`` at ``offset``: the graph node ``task[offset]:output?``.

    ``task`` is a Prefect Task or a task name. ``offset`` is relative to the
    waiting task's point (``"-P1"``, ``"-PT6H"``, ``"+P1"``), to the initial
    point (``"^"``, ``"^+P1"``), or absolute (``3``, ``"20200101T00"``).
    ``params`` names task parameters as Cylc writes them between ``<>``:
    ``"m-1"`` (the previous value), ``"m=2"`` (one value), ``"m,n"``; without
    it a parameterised task is waited for at the dependent's own values, or at
    every value of a parameter the dependent lacks (see docs/decorators.md).
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
    elif not is_task(task):
        raise ValidationError(
            f"on() takes a Prefect task or a task name, not {describe(task)}",
            fix="decorate the function with @task, or pass the task's name",
        )
    out, opt = _output(output, task), _bool(optional, "on()")
    check_finish(task_name(task) or "", out, opt)
    items = None
    if params is not None:
        from .taskparams import parse_params

        items = parse_params(params, f"on({task_name(task)!r}, params=...)", offsets=True)
    return Ref(task, _offset_arg(offset, "on()"), out, opt, items)


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

    A :func:`~prefect_cycles.frontends.refs.wall_clock` cannot be one of them: as in
    Cylc, a clock trigger always holds; join it with ``&`` instead.
    """
    found = _terms(terms, "any_of()")
    clock: WallClock | XTriggerRef | None = next(iter(clocks_in(AnyRefs(found))), None)
    clock = clock or next(iter(xtriggers_in(AnyRefs(found))), None)
    if clock is not None:
        raise ValidationError(
            f"{clock} cannot be one side of '|' (any_of): a clock trigger always holds, as in Cylc",
            fix="join it with all_of() or &, e.g. after=all_of(wall_clock('PT1H'), any_of(a, b))",
        )
    return AnyRefs(found)


def point_text(point: object) -> str:
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
        return offset
    if isinstance(offset, (_dt.datetime, _dt.date)):
        return point_text(offset)
    if isinstance(offset, str) and offset.strip():
        return offset.strip()
    raise GraphSyntaxError(
        f"{where} takes an offset such as '-P1', '^', 3 or '20200101T00', not {offset!r}",
        fix="pass a cycle offset as text, an int point or a datetime",
    )


def _output(output: object, task: object) -> str:
    if not isinstance(output, str):
        raise GraphSyntaxError(
            f"output must be text such as 'failed', not {output!r}", task=task_name(task)
        )
    return output_name(output.strip().lstrip(":"), task=task_name(task), custom=True)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{where} takes optional=True or False, not {value!r}")
    return value


def as_after(value: object, where: str) -> After:
    """Normalise anything ``after=`` accepts to a Ref / AllRefs / AnyRefs."""
    if isinstance(value, (Ref, AllRefs, AnyRefs, WallClock, XTriggerRef)):
        return value
    if isinstance(value, (list, tuple)):
        terms = _terms(tuple(value), where)
        return terms[0] if len(terms) == 1 else AllRefs(terms)
    if isinstance(value, str):
        return _node_ref(value, where)
    if is_task(value):
        return Ref(value)
    raise ValidationError(
        f"{where} takes a Prefect task, a node string such as 'foo[-P1]', on(), "
        f"previous(), any_of(), all_of(), wall_clock() or a list of them, not {describe(value)}",
        fix="decorate the function with @task, or name the task as a string",
    )


def _terms(values: tuple[object, ...], where: str) -> tuple[After, ...]:
    if not values:
        raise ValidationError(
            f"{where} needs at least one task",
            fix="write any_of(a, b) or all_of(a, on(b, '-P1'))",
        )
    return tuple(as_after(v, where) for v in values)


def _node_ref(text: str, where: str) -> Ref:
    """A Ref from one graph node string, ``name<params>[offset]:output?``, as graphs read it."""
    m = _PARAM_NODE.match(text)
    if m is not None:
        from .taskparams import parse_params

        ref = _node_ref(m.group(1) + m.group(3), where)
        items = parse_params(m.group(2), f"{where} node {text.strip()!r}", offsets=True)
        return Ref(ref.task, ref.offset, ref.output, ref.optional, items)
    if any(c in text for c in "&|()="):
        raise GraphSyntaxError(
            f"{text!r} is not a task node",
            text=text,
            fix=f"{where} takes one node per string: write conditions with any_of()/all_of() "
            "or & and | between on() terms",
        )
    name, offset, output, optional = read_node(text)
    return Ref(name, offset, output, optional)


def refs_in(after: After | None) -> Iterator[Ref]:
    if after is None or isinstance(after, (WallClock, XTriggerRef)):
        return
    if isinstance(after, Ref):
        yield after
    else:
        for term in after.terms:
            yield from refs_in(term)


def clocks_in(after: After | None) -> Iterator[WallClock]:
    if isinstance(after, WallClock):
        yield after
    elif isinstance(after, (AllRefs, AnyRefs)):
        for term in after.terms:
            yield from clocks_in(term)


def is_task(obj: object) -> TypeIs[Task[..., Any]]:
    from prefect.tasks import Task

    return isinstance(obj, Task)


def is_flow(obj: object) -> TypeIs[Flow[..., Any]]:
    from prefect.flows import Flow

    return isinstance(obj, Flow)


@overload
def task_name(task: Task[..., Any] | str) -> str: ...
@overload
def task_name(task: object) -> str | None: ...
def task_name(task: object) -> str | None:
    if task is None or isinstance(task, str):
        return task
    return getattr(task, "name", None) or getattr(task, "__name__", None)


def describe(obj: object) -> str:
    if is_flow(obj):
        return f"the flow {getattr(obj, 'name', obj)!r}"
    if callable(obj) and hasattr(obj, "__name__"):
        return f"the plain function {obj.__name__!r}"
    return f"{type(obj).__name__} {obj!r}"


@dataclass(frozen=True)
class WallClock:
    """A clock trigger in ``@cycle(..., after=...)``: wait until point + ``offset``.

    Made by :func:`wall_clock`; joins other prerequisites with ``&``,
    :func:`~prefect_cycles.frontends.refs.all_of` or a list, never with ``|``
    (Cylc refuses clock triggers in conditional expressions).
    """

    offset: str = "PT0S"

    def __str__(self) -> str:
        return f"wall_clock({self.offset})"

    def __and__(self, other: object) -> AllRefs:
        return all_of(self, other)

    def __rand__(self, other: object) -> AllRefs:
        return all_of(other, self)

    def __or__(self, other: object) -> Any:
        raise _no_or(self)

    __ror__ = __or__


def _no_or(clock: WallClock) -> ValidationError:
    return ValidationError(
        f"{clock} cannot be one side of '|': a clock trigger must always hold, as in Cylc",
        fix="join it with & or all_of(), e.g. after=wall_clock('PT1H') & any_of(a, b)",
    )


def wall_clock(offset: str | _dt.timedelta = "PT0S") -> WallClock:
    """Wait for the wall clock to reach the cycle point plus ``offset`` (Cylc's ``wall_clock``).

    For ``@cycle(..., after=...)`` in date-time cycling: ``after=wall_clock("PT1H")``,
    ``after=[wall_clock(), previous()]``. ``offset`` is an ISO 8601 duration
    (``"PT1H"``, ``"-PT30M"``, ``"PT10S"``) or a ``timedelta``; points whose
    time has passed start at once.
    """
    raw, _ = parse_offset(offset)
    return WallClock(raw)


@dataclass(frozen=True)
class XTriggerRef:
    """A function xtrigger in ``@cycle(..., after=...)``: made by :func:`xtrigger`."""

    label: str
    func: str
    args: tuple[object, ...] = ()
    kwargs: tuple[tuple[str, object], ...] = ()
    interval: str = "PT10S"

    def __str__(self) -> str:
        return f"@{self.label}"

    def __and__(self, other: object) -> AllRefs:
        return all_of(self, other)

    def __rand__(self, other: object) -> AllRefs:
        return all_of(other, self)

    def __or__(self, other: object) -> Any:
        raise ValidationError(
            f"xtrigger {self} cannot be one side of '|': xtriggers always hold, as in Cylc",
            fix="join it with & or all_of(), e.g. after=xtrigger(check) & any_of(a, b)",
        )

    __ror__ = __or__


def xtrigger(
    func: Any, *args: object, interval: str = "PT10S", label: str | None = None, **kwargs: object
) -> XTriggerRef:
    """Hold the task until ``func(*args, **kwargs)`` returns true, called every ``interval``.

    ``func`` is a module-level function (or its ``"module.function"`` name, or a
    built-in: ``"xrandom"``, ``"workflow_state"``); string arguments may hold
    Cylc's templates (``"%(point)s"``, ``"%(name)s"``). Its results reach the
    task as a parameter named ``label`` (default: the function's name).
    """
    if callable(func):
        module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", "")
        if not module or "<" in qualname:
            raise ValidationError(
                f"xtrigger({qualname or func!r}) needs a module-level function, which the flow "
                "can import by name",
                fix="define the check at the top level of an importable module",
            )
        name = f"{module}.{qualname}"
    elif isinstance(func, str) and func.strip():
        name = func.strip()
    else:
        raise ValidationError(
            f"xtrigger() takes a function or its name, not {func!r}",
            fix="write xtrigger(mymod.check, point='%(point)s')",
        )
    parse_offset(interval)
    lab = label or name.rsplit(".", 1)[-1]
    return XTriggerRef(lab, name, tuple(args), tuple(kwargs.items()), str(interval))


def xtriggers_in(after: After | None) -> Iterator[XTriggerRef]:
    if isinstance(after, XTriggerRef):
        yield after
    elif isinstance(after, (AllRefs, AnyRefs)):
        for term in after.terms:
            yield from xtriggers_in(term)
