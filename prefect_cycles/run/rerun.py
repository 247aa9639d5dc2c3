"""Re-run selectors: which instances of a window to run again on purpose.

A rerun names instances the way the UI names their task runs: ``foo`` (every
``foo`` in the window), ``foo[3]`` (one instance), ``foo[3..]``, ``foo[..5]``,
``foo[3..5]`` (points in a range, both ends included; ``:`` also works with
integer points), ``*`` (every task), ``*[3..]`` (every task from point 3). The
flow refreshes the cache of what is selected *and of everything downstream of
it*, as Cylc's ``cylc trigger --flow=new`` does: a child computed from the old
result of a re-run parent would otherwise stay stale. Nothing here knows of
Prefect, and every mistake is caught before any task runs.

In a chain of flow runs (:mod:`prefect_cycles.run.chain`) each window reads
the selectors against the whole chain from its first point, and
:func:`refreshed_before` tells a window which instances of the earlier windows
were refreshed, so the refresh carries on downstream across the boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..cycling.points import Point
from ..errors import CycleError, PointError
from ..graph.model import Workflow
from ..graph.unroll import Instance, Unroller, needs

_SELECTOR = re.compile(r"^\s*(?P<task>\*|[^\s\[\]]+)\s*(?:\[(?P<points>[^\[\]]*)\])?\s*$")

FIX = "write foo, foo[3], foo[3..], foo[..5], foo[3..5], * or *[3..] (several: comma-separated)"


@dataclass(frozen=True)
class Selector:
    """One selector: a task (None for every task) and an inclusive point range."""

    task: str | None
    low: Point | None = None
    high: Point | None = None

    def matches(self, inst: Instance) -> bool:
        if self.task is not None and inst.task != self.task:
            return False
        if self.low is not None and inst.point < self.low:
            return False
        return self.high is None or inst.point <= self.high


@dataclass(frozen=True)
class Rerun:
    """The selectors of one flow run; ``chosen(inst)`` says whether to run it again."""

    selectors: tuple[Selector, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.selectors)

    def chosen(self, inst: Instance) -> bool:
        return any(s.matches(inst) for s in self.selectors)


def parse_rerun(text: str | Iterable[str] | None, unroller: Unroller) -> Rerun:
    """Read rerun selectors against one run's window; raise CycleError on any mistake."""
    if text is None:
        return Rerun()
    items = [text] if isinstance(text, str) else list(text)
    parts = [p.strip() for item in items for p in str(item).split(",")]
    return Rerun(tuple(_selector(p, unroller) for p in parts if p))  # blanks: nothing chosen


def _selector(text: str, unroller: Unroller) -> Selector:
    wf = unroller.workflow
    m = _SELECTOR.match(text)
    if m is None:
        raise CycleError(f"cannot read the rerun selector {text!r}", text=text, fix=FIX)
    name = m["task"]
    task = None if name == "*" else name
    if task is not None and task not in wf.tasks:
        known = ", ".join(sorted(wf.tasks))
        raise CycleError(
            f"rerun {text!r} names no task of workflow {wf.name!r}",
            task=task,
            fix=f"choose one of {known}, or * for every task",
        )
    inside = m["points"]
    if inside is None:
        sel = Selector(task)
    else:
        low, high, single = _range(inside, wf, task, text)
        sel = Selector(task, low, high)
        if single:
            inst = Instance(task, low) if task is not None else None  # type: ignore[arg-type]
            if inst is not None and not unroller.exists(inst):
                raise CycleError(
                    f"rerun {text!r}: {task}[{wf.fmt(low)}] is not in this run "  # type: ignore[arg-type]
                    f"because {unroller.why_missing(inst)}",
                    task=task,
                    point=wf.fmt(low),  # type: ignore[arg-type]
                    fix="choose an instance inside the window, or widen it with start=/stop=",
                )
    _check_in_window(sel, unroller, text)
    if unroller.first_point(sel.task, sel.low, sel.high) is None:
        wf = unroller.workflow
        what = f"no instance of {sel.task}" if sel.task is not None else "no instance"
        span = _span(wf, sel.low, sel.high)
        raise CycleError(
            f"rerun {text!r} selects nothing: {what} runs {span} in this run's window "
            f"({_window(unroller)})",
            task=sel.task,
            fix="choose points where the task runs (prefect-cycles graph shows them), "
            "or widen the window with start=/stop=",
        )
    return sel


def _span(wf: Workflow, low: Point | None, high: Point | None) -> str:
    if low is not None and high is not None:
        return f"at {wf.fmt(low)}" if low == high else f"from {wf.fmt(low)} to {wf.fmt(high)}"
    if low is not None:
        return f"from {wf.fmt(low)} on"
    return f"up to {wf.fmt(high)}" if high is not None else "at any point"


def _window(unroller: Unroller) -> str:
    wf, stop = unroller.workflow, unroller.stop
    return f"{wf.fmt(unroller.start)} to " + (wf.fmt(stop) if stop is not None else "no stop point")


def _range(
    inside: str, wf: Workflow, task: str | None, text: str
) -> tuple[Point | None, Point | None, bool]:
    """The inclusive bounds inside ``[...]``, and whether it names a single point."""
    raw = inside.strip()
    if ".." in raw:
        lo_text, _, hi_text = raw.partition("..")
    elif wf.cycling.mode == "integer" and raw.count(":") == 1:
        lo_text, _, hi_text = raw.partition(":")
    else:
        point = _point(raw, wf, task, text)
        return point, point, True
    low = _point(lo_text, wf, task, text) if lo_text.strip() else None
    high = _point(hi_text, wf, task, text) if hi_text.strip() else None
    if low is not None and high is not None and high < low:
        raise CycleError(
            f"rerun {text!r}: the range ends before it starts",
            task=task,
            point=wf.fmt(low),
            fix="write the earlier point first, e.g. foo[3..5]",
        )
    return low, high, False


def _point(raw: str, wf: Workflow, task: str | None, text: str) -> Point:
    try:
        return wf.cycling.point(raw.strip())
    except (PointError, ValueError, TypeError) as exc:
        example = "3" if wf.cycling.mode == "integer" else "20200101T00"
        raise CycleError(
            f"rerun {text!r}: {raw.strip()!r} is not a cycle point of this workflow",
            task=task,
            point=raw.strip(),
            fix=f"write a point like {example}"
            + (f" ({exc.fix})" if isinstance(exc, CycleError) and exc.fix else ""),
        ) from None


def _check_in_window(sel: Selector, unroller: Unroller, text: str) -> None:
    """A selector that cannot match anything in this window is a mistake, not a no-op."""
    wf = unroller.workflow
    start, stop = unroller.start, unroller.stop
    if (sel.high is not None and sel.high < start) or (
        sel.low is not None and stop is not None and sel.low > stop
    ):
        raise CycleError(
            f"rerun {text!r} selects nothing in this run's window ({_window(unroller)})",
            task=sel.task,
            point=wf.fmt(sel.low if sel.low is not None else sel.high),  # type: ignore[arg-type]
            fix="choose points inside the window, or widen it with start=/stop=",
        )


def refreshed_before(
    chosen: Rerun, workflow: Workflow, origin: Point, start: Point
) -> set[Instance]:
    """The instances of ``[origin, start)`` (a chain's earlier windows) that a rerun refreshed:
    those chosen and everything downstream of them, as their own windows refreshed them.

    Walks the points from the earliest one a selector names; nothing when none is chosen.
    """
    if not chosen or start <= origin:
        return set()
    lows = [s.low for s in chosen.selectors if s.low is not None]
    low: Point = origin
    if len(lows) == len(chosen.selectors):  # every selector names its earliest point
        low = max(origin, min(lows))
    out: set[Instance] = set()
    if low >= start:
        return out
    for point, spawned in Unroller(workflow, low, None, origin).cycles():
        if point >= start:
            break
        for inst, expr in spawned:
            if chosen.chosen(inst) or any(n.parent in out for n in needs(expr)):
                out.add(inst)
    return out
