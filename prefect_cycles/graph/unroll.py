"""Unrolling: a workflow over a window of points becomes task instances and edges.

Semantics are Cylc 8's scheduler (DESIGN.md section 2):

- an instance ``(task, point)`` exists where the point is on one of the task's
  sequences and inside the window ``[start, stop]``;
- a dependency applies only at the points of its own section's sequence, and
  the dependencies of one instance are ANDed;
- a parent before the start point is dropped (the child runs without it; in
  an ``|`` the other terms remain), which also gives warm starts their meaning;
- a required parent that does not exist (off its sequence, or excluded from
  it) never completes, so the child never runs, and neither does anything
  that can only run after it;
- an instance with any parent past the stop point (or final point) never
  runs, even when that parent is one side of an ``|``: Cylc does not spawn it.

:func:`unroll` builds the whole window as a networkx ``DiGraph``;
:meth:`Unroller.walk` spawns instances point by point for endless windows.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import graphlib
import heapq
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, TypeVar

from ..cycling.clock import clock_time, parse_offset
from ..cycling.points import Point
from ..cycling.recurrence import Sequence
from ..errors import CyclicDependencyError, ValidationError
from .conditions import AllOf, AnyOf, ClockTrigger, Condition, Tree, Trigger, combine, triggers
from .model import Workflow

if TYPE_CHECKING:
    import networkx as nx
    from metomi.isodatetime.data import (
        Duration,
    )  # imported where used: the walk and the scheduler need no graph


F = TypeVar("F", bound=Callable[..., Any])


class Instance(NamedTuple):
    """One task at one cycle point."""

    task: str
    point: Point


class Need(NamedTuple):
    """A concrete prerequisite: ``parent`` must reach ``output``."""

    parent: Instance
    output: str
    optional: bool = False
    trigger: Trigger | None = None


#: A concrete prerequisite expression: a tree of Needs under AllOf/AnyOf.
Expr: TypeAlias = "Tree[Need]"


def needs(expr: Expr | None) -> Iterator[Need]:
    """Every Need in an expression, left to right."""
    if expr is None:
        return
    if isinstance(expr, Need):
        yield expr
    else:
        for term in expr.terms:
            yield from needs(term)


def evaluate(expr: Expr | None, value: Callable[[Need], object]) -> bool:
    """Whether ``expr`` holds when each Need's truth is ``value(need)``."""
    if expr is None:
        return True
    if isinstance(expr, Need):
        return bool(value(expr))
    if isinstance(expr, AllOf):
        return all(evaluate(t, value) for t in expr.terms)
    return any(evaluate(t, value) for t in expr.terms)


class Unroller:
    """Concrete instances and prerequisites of a workflow over ``[start, stop]``.

    ``start`` defaults to the initial point (a later one is a warm start);
    ``stop`` defaults to the final point, and None with no final point means
    cycling forever (only :meth:`walk` can go there). ``origin`` (default:
    ``start``) is where dependencies begin: a parent before the origin is
    dropped, one in ``[origin, start)`` is kept, an instance of an earlier
    window of a chain (see :mod:`prefect_cycles.run.chain`).
    """

    def __init__(
        self, workflow: Workflow, start: object = None, stop: object = None, origin: object = None
    ) -> None:
        wf = self.workflow = workflow
        cyc = wf.cycling
        self.start: Point = wf.initial if start in (None, "") else cyc.point(start)
        self.origin: Point = (
            self.start if origin in (None, "") else min(cyc.point(origin), self.start)
        )
        stop_pt: Point | None = None if stop in (None, "") else cyc.point(stop)
        if self.start < wf.initial:
            raise ValidationError(
                f"the start point {wf.fmt(self.start)} is before the initial cycle point "
                f"{wf.fmt(wf.initial)}",
                point=wf.fmt(self.start),
                fix="start at or after the initial point, or move the initial point",
            )
        if wf.final is not None and self.start > wf.final:
            raise ValidationError(
                f"the start point {wf.fmt(self.start)} is after the final cycle point "
                f"{wf.fmt(wf.final)}",
                point=wf.fmt(self.start),
                fix="start at or before the final point",
            )
        if stop_pt is not None and stop_pt < self.start:
            raise ValidationError(
                f"the stop point {wf.fmt(stop_pt)} is before the start point {wf.fmt(self.start)}",
                point=wf.fmt(stop_pt),
                fix="give a stop point at or after the start point",
            )
        if stop_pt is None or (wf.final is not None and stop_pt > wf.final):
            stop_pt = wf.final
        self.stop: Point | None = stop_pt
        self._missing = [name for name, t in wf.tasks.items() if not t.recurrences]
        if self._missing:
            name = self._missing[0]
            raise ValidationError(
                f"task {name!r} appears only with a cycle offset, so it has no sequence to run on",
                task=name,
                fix=f"add {name} to a graph section without an offset "
                f'(e.g. R1 = "{name}") or give it its own @cycle rule',
            )
        # Sequences are numbered once (a dependency's recurrence is always one
        # of its target's); a point's plan (which tasks run there and
        # which dependencies apply) depends only on the set of sequences that
        # hold it, so it is computed once per distinct set.
        index: dict[str, int] = {}
        for tdef in wf.tasks.values():
            for rec in tdef.recurrences:
                index.setdefault(rec, len(index))
        self._seq_list: list[Sequence] = [wf.sequence(rec) for rec in index]
        self._task_seqs: dict[str, frozenset[int]] = {
            name: frozenset(index[r] for r in tdef.recurrences) for name, tdef in wf.tasks.items()
        }
        self._deps: dict[str, list[tuple[int, Condition]]] = {n: [] for n in wf.tasks}
        for dep in wf.dependencies:
            self._deps[dep.target].append((index[dep.recurrence], dep.condition))
        self._task_seq_ids = frozenset(i for ids in self._task_seqs.values() for i in ids)
        self._plans: dict[frozenset[int], list[tuple[str, list[Condition]]]] = {}
        self._clocks: dict[str, list[tuple[int, Duration, ClockTrigger]]] = {}
        for trig in wf.clock_triggers:
            offset = parse_offset(trig.offset, task=trig.task)[1]
            self._clocks.setdefault(trig.task, []).append((index[trig.recurrence], offset, trig))

    # -- the window -------------------------------------------------------------------

    def in_window(self, point: Point) -> bool:
        """True when ``point`` lies in ``[start, stop]``."""
        return point >= self.start and (self.stop is None or point <= self.stop)

    def exists(self, inst: Instance) -> bool:
        """True when the instance is part of this window's run."""
        seqs = self._task_seqs.get(inst.task, ())
        return self.in_window(inst.point) and any(
            self._seq_list[i].contains(inst.point) for i in seqs
        )

    def first_point(
        self, task: str | None, low: Point | None = None, high: Point | None = None
    ) -> Point | None:
        """The first point in the window and in ``[low, high]`` where ``task`` (None: any
        task) runs, or None when there is none. Bounded: one look-up per sequence."""
        lo = self.start if low is None or low < self.start else low
        hi = self.stop if high is None or (self.stop is not None and high > self.stop) else high
        seqs = self._task_seq_ids if task is None else self._task_seqs.get(task, frozenset())
        found = [p for i in seqs if (p := self._seq_list[i].first_point(lo)) is not None]
        best = min(found, default=None)
        return None if best is None or (hi is not None and best > hi) else best

    def why_missing(self, inst: Instance) -> str:
        """Why an instance is not part of the run, for messages."""
        wf = self.workflow
        if inst.task not in wf.tasks:
            return f"there is no task {inst.task!r}"
        if wf.final is not None and inst.point > wf.final:
            return f"it is past the final point {wf.fmt(wf.final)}"
        if self.stop is not None and inst.point > self.stop:
            return f"it is past the stop point {wf.fmt(self.stop)}"
        recs = ", ".join(wf.tasks[inst.task].recurrences)
        return f"{wf.fmt(inst.point)} is not on its sequence ({recs})"

    def _active_points(self, begin: Point | None = None) -> Iterator[tuple[Point, frozenset[int]]]:
        """Each point in the window (from ``begin``, default the start) where a task runs,
        with the sequences holding it."""
        stop = self.stop
        first = self.start if begin is None or begin < self.start else begin
        heap: list[tuple[Point, int]] = []
        for i in self._task_seq_ids:
            p = self._seq_list[i].first_point(first)
            if p is not None and (stop is None or p <= stop):
                heap.append((p, i))
        heapq.heapify(heap)
        while heap:
            point = heap[0][0]
            active = []
            while heap and heap[0][0] == point:
                i = heap[0][1]
                active.append(i)
                nxt = self._seq_list[i].next_point(point)
                if nxt is not None and (stop is None or nxt <= stop):
                    heapq.heapreplace(heap, (nxt, i))
                else:
                    heapq.heappop(heap)
            yield point, frozenset(active)

    def sizes(self) -> Iterator[tuple[Point, int]]:
        """Each point in the window where a task runs, with how many instances it holds."""
        for point, held in self._active_points():
            yield point, len(self._plan(held, point))

    def points(self) -> Iterator[Point]:
        """Every point in the window where some task runs, in order (endless if no stop)."""
        for point, _ in self._active_points():
            yield point

    def _plan(self, held: frozenset[int], point: Point) -> list[tuple[str, list[Condition]]]:
        plan = self._plans.get(held)
        if plan is None:
            plan = [
                (name, [cond for i, cond in self._deps[name] if i in held])
                for name, seqs in self._task_seqs.items()
                if seqs & held
            ]
            _refuse_loop(plan, point, self.workflow)
            self._plans[held] = plan
        return plan

    # -- prerequisites ----------------------------------------------------------------

    def prerequisite(self, inst: Instance) -> Expr | None:
        """What ``inst`` waits for, with pre-start parents dropped; None if nothing."""
        held = frozenset(i for i, s in enumerate(self._seq_list) if s.contains(inst.point))
        conds = [cond for i, cond in self._deps.get(inst.task, ()) if i in held]
        return self._prerequisite(conds, inst.point)

    def suicide(self, inst: Instance) -> Expr | None:
        """What removes ``inst`` (its suicide triggers at its point); None if nothing can."""
        wf = self.workflow
        conds = [
            d.condition
            for d in wf.suicides
            if d.target == inst.task and wf.sequence(d.recurrence).contains(inst.point)
        ]
        terms = [e for e in (self._concrete(c, inst.point) for c in conds) if e is not None]
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else AnyOf(tuple(terms))

    def _prerequisite(self, conds: list[Condition], point: Point) -> Expr | None:
        terms: list[Expr] = []
        for cond in conds:
            expr = self._concrete(cond, point)
            if expr is not None:
                terms.append(expr)
        if not terms:
            return None
        if len(terms) == 1:
            return terms[0]
        flat: list[Expr] = []
        for t in terms:
            flat.extend(t.terms if isinstance(t, AllOf) else (t,))
        return AllOf(tuple(flat))

    def _concrete(self, cond: Condition, point: Point) -> Expr | None:
        if isinstance(cond, Trigger):
            offset = cond.offset
            if offset is None:
                ppoint = point
            else:
                wf = self.workflow
                ppoint = offset.resolve(point, wf.initial, wf.cycling)
                if ppoint < self.origin:
                    return None  # pre-start: dropped
            return Need(Instance(cond.task, ppoint), cond.output, cond.optional, cond)
        kept = [e for e in (self._concrete(t, point) for t in cond.terms) if e is not None]
        if not kept:
            return None
        return combine(cond, tuple(kept))

    # -- the clock ----------------------------------------------------------------------

    def clock_triggers(self, inst: Instance) -> tuple[ClockTrigger, ...]:
        """The clock triggers that hold ``inst`` (those whose recurrence holds its point)."""
        if not self._clocks:
            return ()
        return tuple(
            trig
            for i, _, trig in self._clocks.get(inst.task, ())
            if self._seq_list[i].contains(inst.point)
        )

    def clock_time(self, inst: Instance) -> dt.datetime | None:
        """When the wall clock lets ``inst`` start (UTC; the latest of its triggers), or None."""
        due = None
        for i, offset, _ in self._clocks.get(inst.task, ()):
            if self._seq_list[i].contains(inst.point):
                t = clock_time(inst.point, offset)  # type: ignore[arg-type]
                due = t if due is None or t > due else due
        return due

    # -- walking ----------------------------------------------------------------------

    def past_stop(self, expr: Expr | None) -> Instance | None:
        """A parent past the stop point, if ``expr`` names one.

        Cylc 8 never spawns such an instance, even when the parent is one
        side of an ``|`` whose other side runs.
        """
        if self.stop is None:
            return None
        return next((n.parent for n in needs(expr) if n.parent.point > self.stop), None)

    def cycles(
        self, begin: Point | None = None
    ) -> Iterator[tuple[Point, list[tuple[Instance, Expr | None]]]]:
        """Each point of the window in order (from ``begin``), with its instances and their
        prerequisites."""
        for point, held in self._active_points(begin):
            yield (
                point,
                [
                    (Instance(name, point), self._prerequisite(conds, point) if conds else None)
                    for name, conds in self._plan(held, point)
                ],
            )

    def walk(self) -> Iterator[tuple[Instance, Expr | None]]:
        """Spawn instances point by point with their prerequisites, in bounded memory."""
        for _, spawned in self.cycles():
            yield from spawned

    def horizon(self, point: Point) -> Point:
        """The earliest point that instances at ``point`` or later can need through a
        relative offset: older finished instances may be forgotten (bar pinned ones)."""
        earliest = point
        for conds in self._deps.values():
            for _, cond in conds:
                for trig in triggers(cond):
                    off = trig.offset
                    if off is not None and off.kind == "relative":
                        p = off.resolve(point, self.workflow.initial, self.workflow.cycling)
                        earliest = min(earliest, p)
        return earliest

    def pinned(self) -> set[Point]:
        """Points that any instance may need through ``[^]`` or absolute offsets."""
        wf = self.workflow
        return {
            trig.offset.resolve(wf.initial, wf.initial, wf.cycling)
            for conds in self._deps.values()
            for _, cond in conds
            for trig in triggers(cond)
            if trig.offset is not None and trig.offset.kind != "relative"
        }


def unroll(workflow: Workflow, start: object = None, stop: object = None) -> nx.DiGraph:
    """The window's instances and edges as a DiGraph.

    Nodes are :class:`Instance` tuples with attributes ``runs`` (bool),
    ``reason`` (why not, or None), ``root`` (the missing instance that blocks
    it and why, or None), ``exists`` (False for parents outside the run, drawn
    only to explain why a child never runs), ``prerequisite`` and
    ``clock_triggers`` (the :class:`ClockTrigger` tuple that holds it). Edges run
    parent -> child with ``needs`` (the list of :class:`Need`), ``conditional``
    (inside an ``|``) and ``optional``.
    """
    import networkx as nx

    u = Unroller(workflow, start, stop)
    if u.stop is None:
        raise ValidationError(
            "the workflow has no final cycle point, so the whole graph is endless",
            fix="give a stop point, or walk it lazily with Unroller.walk()",
        )
    with no_gc():
        g = nx.DiGraph()
        nodes = []
        edges: dict[tuple[Instance, Instance], dict] = {}
        for inst, expr in u.walk():
            nodes.append(
                (
                    inst,
                    {
                        "exists": True,
                        "runs": True,
                        "reason": None,
                        "root": None,
                        "prerequisite": expr,
                        "clock_triggers": u.clock_triggers(inst),
                    },
                )
            )
            if expr is not None:
                _collect_edges(edges, expr, inst, conditional=False)
        g.add_nodes_from(nodes)
        missing = [p for p, _ in edges if p not in g]
        g.add_nodes_from(
            (
                p,
                {
                    "exists": False,
                    "runs": False,
                    "reason": u.why_missing(p),
                    "root": None,
                    "prerequisite": None,
                    "clock_triggers": (),
                },
            )
            for p in missing
        )
        g.add_edges_from((a, b, d) for (a, b), d in edges.items())
        order = _topological_order(g, workflow)
        _mark_runs(g, u, order)
    return g


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    Large unrolls allocate hundreds of thousands of tuples; collections
    triggered by that make the build superlinear and reclaim nothing.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def without_gc(fn: F) -> F:
    """``fn`` run under :func:`no_gc`: building a workflow of thousands of tasks allocates
    many small objects, and the collections that triggers grow with the graph."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with no_gc():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _collect_edges(edges: dict, expr: Expr, child: Instance, conditional: bool) -> None:
    if isinstance(expr, Need):
        key = (expr.parent, child)
        data = edges.get(key)
        if data is None:
            edges[key] = {"needs": [expr], "conditional": conditional, "optional": expr.optional}
        else:
            data["needs"].append(expr)
            data["conditional"] = data["conditional"] and conditional
        return
    inner = conditional or isinstance(expr, AnyOf)
    for term in expr.terms:
        _collect_edges(edges, term, child, inner)


def _topological_order(g: nx.DiGraph, workflow: Workflow) -> list[Instance]:
    import networkx as nx

    try:
        return list(nx.topological_sort(g))
    except nx.NetworkXUnfeasible:
        _raise_loop(g, workflow)
        raise  # pragma: no cover - _raise_loop always raises


def _refuse_loop(plan: list[tuple[str, list[Condition]]], point: Point, workflow: Workflow) -> None:
    """Raise CyclicDependencyError if the tasks of one point depend on each other in a loop.

    Checked once per distinct plan, when a run or a walk first meets it, so a
    run refuses a loop as ``validate`` does instead of waiting on it for ever.
    """
    here = {name for name, _ in plan}
    parents = {
        name: {t.task for cond in conds for t in triggers(cond) if t.offset is None} & here
        for name, conds in plan
    }
    try:
        graphlib.TopologicalSorter(parents).prepare()
    except graphlib.CycleError as exc:
        loop = [f"{task}[{workflow.fmt(point)}]" for task in exc.args[1]]
        raise CyclicDependencyError(
            "tasks depend on each other in a loop: " + " => ".join(loop),
            loop=loop,
            fix="break the loop, e.g. make one dependency inter-cycle with an offset like [-P1]",
        ) from None


def _raise_loop(g: nx.DiGraph, workflow: Workflow) -> None:
    import networkx as nx

    cycle = nx.find_cycle(g)
    loop = [f"{n[0]}[{workflow.fmt(n[1])}]" for n, _ in cycle] + [
        f"{cycle[0][0][0]}[{workflow.fmt(cycle[0][0][1])}]"
    ]
    raise CyclicDependencyError(
        "tasks depend on each other in a loop: " + " => ".join(loop),
        loop=loop,
        fix="break the loop, e.g. make one dependency inter-cycle with an offset like [-P1]",
    )


def _mark_runs(g: nx.DiGraph, u: Unroller, order: list[Instance]) -> None:
    fmt = u.workflow.fmt
    nodes = g.nodes
    for inst in order:
        data = nodes[inst]
        if not data["exists"] or data["prerequisite"] is None:
            continue
        expr = data["prerequisite"]
        first = u.past_stop(expr)
        if first is None:
            if evaluate(expr, lambda n: nodes[n.parent]["runs"]):
                continue
            first = next(n.parent for n in needs(expr) if not nodes[n.parent]["runs"])
        parent = nodes[first]
        name = f"{first.task}[{fmt(first.point)}]"
        if not parent["exists"]:
            data["root"] = (first, parent["reason"])
            data["reason"] = f"it needs {name}, which does not exist: {parent['reason']}"
        else:
            root, why = parent["root"]
            data["root"] = (root, why)
            data["reason"] = (
                f"it needs {name}, which never runs "
                f"({root.task}[{fmt(root.point)}] does not exist: {why})"
            )
        data["runs"] = False


def never_runs(g: nx.DiGraph) -> list[tuple[Instance, str]]:
    """Instances of the run that can never run, with the reason, in point order."""
    return sorted(
        ((n, d["reason"]) for n, d in g.nodes(data=True) if d["exists"] and not d["runs"]),
        key=lambda item: (item[0].point, item[0].task),
    )
