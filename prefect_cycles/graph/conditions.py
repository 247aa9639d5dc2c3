"""What a dependency is made of: offsets, triggers, ``&``/``|`` conditions.

A :class:`Dependency` is ``condition => target`` at the points of one
recurrence; the condition is a tree of :class:`Trigger` atoms under
:class:`AllOf` and :class:`AnyOf`. Values only: the :class:`~.model.Workflow`
checks them against its tasks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from ..cycling.clock import WALL_CLOCK
from ..cycling.points import Cycling, Interval, Point
from ..errors import CycleError, GraphSyntaxError, PointError


@dataclass(frozen=True)
class Offset:
    """Where a parent sits relative to its child's point.

    ``relative``: ``[-P1]`` (interval from the child's point); ``initial``:
    ``[^]``, ``[^+P1]`` (interval from the initial point); ``absolute``: ``[3]``,
    ``[20200101T00]``. ``text`` keeps what was written, for messages.
    """

    kind: Literal["relative", "initial", "absolute"]
    text: str
    interval: Interval | None = None
    point: Point | None = None
    #: the signed parts of a compound offset (``-P1D+P1M``), added in turn as Cylc's
    #: ``get_point_relative`` does (month arithmetic depends on the order);
    #: ``interval`` is then their sum, for comparisons
    steps: tuple[Interval, ...] | None = None

    def resolve(self, point: Point, initial: Point, cycling: Cycling) -> Point:
        """The parent's point for a child at ``point``."""
        if self.kind == "absolute":
            return self.point  # type: ignore[return-value]
        base = initial if self.kind == "initial" else point
        if self.steps is not None:
            for step in self.steps:
                base = cycling.add(base, step)
            return base
        return cycling.add(base, self.interval) if self.interval is not None else base

    @classmethod
    def parse(cls, text: str | int, cycling: Cycling, *, task: str | None = None) -> Offset:
        """Read the inside of ``[...]`` in a graph node; an int is an absolute point."""
        raw = str(text).strip()
        try:
            if isinstance(text, int) and not isinstance(text, bool):
                return cls("absolute", raw, point=cycling.point(text))
            if raw.startswith("^"):
                rest = raw[1:].strip()
                return cls("initial", raw, cycling.interval(rest) if rest else None)
            if raw[:1] in "+-" or raw.startswith("P"):
                steps = _relative_steps(raw, cycling)
                total: Any = steps[0]  # one cycling's intervals (all int, or all Duration)
                for step in steps[1:]:
                    total = total + step
                return cls("relative", raw, total, steps=steps if len(steps) > 1 else None)
            return cls("absolute", raw, point=cycling.point(raw))
        except PointError as exc:
            raise GraphSyntaxError(
                f"bad cycle offset [{raw}]: {_problem(exc)}",
                task=task,
                fix=exc.fix or "write offsets as [-P1], [+PT6H], [^], [^+P1] or an absolute point",
            ) from None

    def __str__(self) -> str:
        return self.text


def _relative_steps(raw: str, cycling: Cycling) -> tuple[Interval, ...]:
    """``-P1`` or ``+PT6H`` (one step); or a sum such as ``-P1D+PT18H``, as Cylc's
    ``get_point_relative`` reads one: each signed part, to add in turn."""
    try:
        return (cycling.interval(raw),)
    except PointError:
        parts = re.findall(r"([+-]?)(P[^+-]+)", raw)
        if len(parts) < 2 or "".join(sign + body for sign, body in parts) != raw:
            raise
    return tuple(cycling.interval("-" + body if sign == "-" else body) for sign, body in parts)


@dataclass(frozen=True)
class Trigger:
    """One prerequisite atom: ``task[offset]:output?``."""

    task: str
    offset: Offset | None = None
    output: str = "succeeded"
    optional: bool = False

    def __str__(self) -> str:
        s = self.task
        if self.offset is not None:
            s += f"[{self.offset}]"
        if self.output != "succeeded":
            s += f":{self.output}"
        if self.optional:
            s += "?"
        return s


#: What a tree of conditions holds at its leaves: a :class:`Trigger` in a workflow's
#: dependencies, a concrete need (:class:`~.unroll.Need`) once unrolled at a point.
Leaf = TypeVar("Leaf", covariant=True)


@dataclass(frozen=True)
class AllOf(Generic[Leaf]):
    """Every term must hold (``&``)."""

    terms: tuple[Tree[Leaf], ...]

    def __str__(self) -> str:
        return " & ".join(_paren(t) for t in self.terms)


@dataclass(frozen=True)
class AnyOf(Generic[Leaf]):
    """At least one term must hold (``|``)."""

    terms: tuple[Tree[Leaf], ...]

    def __str__(self) -> str:
        return " | ".join(_paren(t) for t in self.terms)


#: A leaf, or every / any of a tuple of trees.
Tree: TypeAlias = "Leaf | AllOf[Leaf] | AnyOf[Leaf]"
#: A dependency's condition as written: a tree of triggers.
Condition: TypeAlias = "Tree[Trigger]"


def combine(like: AllOf[object] | AnyOf[object], terms: tuple[Tree[Leaf], ...]) -> Tree[Leaf]:
    """``terms`` joined by the same operator as ``like`` (one term stands alone)."""
    if len(terms) == 1:
        return terms[0]
    return AllOf(terms) if isinstance(like, AllOf) else AnyOf(terms)


def _paren(c: Tree[Leaf]) -> str:
    return f"({c})" if isinstance(c, (AllOf, AnyOf)) else str(c)


def triggers(condition: Condition | None) -> Iterator[Trigger]:
    """Every trigger in a condition, left to right."""
    if condition is None:
        return
    if isinstance(condition, Trigger):
        yield condition
    else:
        for term in condition.terms:
            yield from triggers(term)


@dataclass(frozen=True)
class Dependency:
    """``condition => target`` at the points of ``recurrence``.

    A lone node (``R1 = "prep"``) is no dependency: it only puts the task on
    the recurrence (:meth:`Workflow.add_task`).
    """

    recurrence: str
    target: str
    condition: Condition
    source: str = ""


@dataclass(frozen=True)
class ClockTrigger:
    """``@label => task`` for a wall-clock xtrigger: at the points of ``recurrence``,
    ``task`` starts no earlier than the real time ``point + offset``.

    ``label`` is the xtrigger's name (``wall_clock``, ``clock_1``, or Cylc's
    ``_cylc_wall_clock_foo`` for an old ``clock-trigger``); ``drawn`` is False
    where ``cylc graph`` draws no node for it (the old ``clock-trigger`` form).
    """

    task: str
    recurrence: str
    offset: str = "PT0S"
    label: str = WALL_CLOCK
    drawn: bool = True

    def __str__(self) -> str:
        return f"@{self.label} => {self.task}"


def _problem(exc: CycleError) -> str:
    """An error's message without its ``. Fix: ...`` (to embed in another message)."""
    message = str(exc.args[0])
    return message.removesuffix(f". Fix: {exc.fix}") if exc.fix else message
