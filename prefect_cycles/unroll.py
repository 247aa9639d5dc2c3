"""Unrolling: a workflow over a window of points becomes task instances and edges.

Semantics are Cylc 8's scheduler (DESIGN.md section 2):

- an instance ``(task, point)`` exists where the point is on one of the task's
  sequences and inside the window ``[start, stop]``;
- a dependency applies only at the points of its own section's sequence, and
  the dependencies of one instance are ANDed;
- a parent before the start point is dropped (the child runs without it; in
  an ``|`` the other terms remain), which also gives warm starts their meaning;
- a required parent that does not exist (past the stop or final point, or off
  its sequence) never completes, so the child never runs, and neither does
  anything that can only run after it.

:func:`unroll` builds the whole window as a networkx ``DiGraph``;
:meth:`Unroller.walk` spawns instances point by point for endless windows.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias

import networkx as nx

from .errors import CyclicDependencyError, ValidationError
from .model import AllOf, AnyOf, Condition, Trigger, Workflow
from .points import Point
from .recurrence import Sequence


class Instance(NamedTuple):
    """One task at one cycle point."""

    task: str
    point: Point


@dataclass(frozen=True)
class Need:
    """A concrete prerequisite: ``parent`` must reach ``output``."""

    parent: Instance
    output: str
    optional: bool = False
    trigger: Trigger | None = None


#: A concrete prerequisite expression: a Need, or AllOf/AnyOf of expressions.
Expr: TypeAlias = "Need | AllOf | AnyOf"


def needs(expr: Expr | None) -> Iterator[Need]:
    """Every Need in an expression, left to right."""
    if expr is None:
        return
    if isinstance(expr, Need):
        yield expr
    else:
        for term in expr.terms:
            yield from needs(term)


def evaluate(expr: Expr | None, value) -> bool:  # noqa: ANN001 - value: Need -> bool
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
    cycling forever (only :meth:`walk` can go there).
    """

    def __init__(self, workflow: Workflow, start: object = None, stop: object = None) -> None:
        wf = self.workflow = workflow
        cyc = wf.cycling
        self.start: Point = wf.initial if start in (None, "") else cyc.point(start)
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
                f"the stop point {wf.fmt(stop_pt)} is before the start point "
                f"{wf.fmt(self.start)}",
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
                f"(e.g. R1 = \"{name}\") or give it its own @cycle rule",
            )
        # Per task: its sequences, and per dependency the sequence it applies on.
        self._seqs: dict[str, list[Sequence]] = {
            name: wf.sequences_of(name) for name in wf.tasks
        }
        self._deps: dict[str, list[tuple[Sequence, Condition | None]]] = {n: [] for n in wf.tasks}
        for dep in wf.dependencies:
            self._deps[dep.target].append((wf.sequence(dep.recurrence), dep.condition))
        self._all_seqs = list({id(s): s for ss in self._seqs.values() for s in ss}.values())

    # -- the window -------------------------------------------------------------------

    def in_window(self, point: Point) -> bool:
        """True when ``point`` lies in ``[start, stop]``."""
        return point >= self.start and (self.stop is None or point <= self.stop)

    def exists(self, inst: Instance) -> bool:
        """True when the instance is part of this window's run."""
        return self.in_window(inst.point) and any(
            s.contains(inst.point) for s in self._seqs.get(inst.task, ())
        )

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

    def points(self) -> Iterator[Point]:
        """Every point in the window where some task runs, in order (endless if no stop)."""
        heap: list[tuple[Point, int]] = []
        for i, seq in enumerate(self._all_seqs):
            p = seq.first_point(self.start)
            if p is not None and (self.stop is None or p <= self.stop):
                heap.append((p, i))
        heapq.heapify(heap)
        last: Point | None = None
        while heap:
            p, i = heap[0]
            nxt = self._all_seqs[i].next_point(p)
            if nxt is not None and (self.stop is None or nxt <= self.stop):
                heapq.heapreplace(heap, (nxt, i))
            else:
                heapq.heappop(heap)
            if p != last:
                last = p
                yield p

    def instances_at(self, point: Point) -> list[Instance]:
        """The instances at ``point``, in task definition order."""
        return [
            Instance(name, point)
            for name, seqs in self._seqs.items()
            if any(s.contains(point) for s in seqs)
        ]

    # -- prerequisites ----------------------------------------------------------------

    def prerequisite(self, inst: Instance) -> Expr | None:
        """What ``inst`` waits for, with pre-start parents dropped; None if nothing."""
        terms: list[Expr] = []
        for seq, cond in self._deps.get(inst.task, ()):
            if cond is None or not seq.contains(inst.point):
                continue
            expr = self._concrete(cond, inst.point)
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
            wf = self.workflow
            ppoint = (
                point
                if cond.offset is None
                else cond.offset.resolve(point, wf.initial, wf.cycling)
            )
            if ppoint < self.start:
                return None  # pre-start: dropped
            return Need(Instance(cond.task, ppoint), cond.output, cond.optional, cond)
        kept = [e for e in (self._concrete(t, point) for t in cond.terms) if e is not None]
        if not kept:
            return None
        if len(kept) == 1:
            return kept[0]
        return type(cond)(tuple(kept))

    # -- walking ----------------------------------------------------------------------

    def walk(self) -> Iterator[tuple[Instance, Expr | None]]:
        """Spawn instances point by point with their prerequisites, in bounded memory."""
        for point in self.points():
            for inst in self.instances_at(point):
                yield inst, self.prerequisite(inst)


def unroll(workflow: Workflow, start: object = None, stop: object = None) -> nx.DiGraph:
    """The window's instances and edges as a DiGraph.

    Nodes are :class:`Instance` tuples with attributes ``runs`` (bool),
    ``reason`` (why not, or None), ``root`` (the missing instance that blocks
    it and why, or None), ``exists`` (False for parents outside the
    run, drawn only to explain why a child never runs) and ``prerequisite``.
    Edges run parent -> child with ``needs`` (the list of :class:`Need`),
    ``conditional`` (inside an ``|``) and ``optional``.
    """
    u = Unroller(workflow, start, stop)
    if u.stop is None:
        raise ValidationError(
            "the workflow has no final cycle point, so the whole graph is endless",
            fix="give a stop point, or walk it lazily with Unroller.walk()",
        )
    g = nx.DiGraph()
    for inst, expr in u.walk():
        g.add_node(inst, exists=True, runs=True, reason=None, root=None, prerequisite=expr)
    for inst, data in list(g.nodes(data=True)):
        expr = data["prerequisite"]
        if expr is None:
            continue
        _add_edges(g, u, expr, inst, conditional=False)
    _check_acyclic(g, workflow)
    _mark_runs(g, u)
    return g


def _add_edges(g: nx.DiGraph, u: Unroller, expr: Expr, child: Instance, conditional: bool) -> None:
    if isinstance(expr, Need):
        parent = expr.parent
        if parent not in g:
            g.add_node(
                parent,
                exists=False,
                runs=False,
                reason=u.why_missing(parent),
                root=None,
                prerequisite=None,
            )
        if g.has_edge(parent, child):
            g.edges[parent, child]["needs"].append(expr)
            g.edges[parent, child]["conditional"] &= conditional
        else:
            g.add_edge(parent, child, needs=[expr], conditional=conditional,
                       optional=expr.optional)
        return
    inner = conditional or isinstance(expr, AnyOf)
    for term in expr.terms:
        _add_edges(g, u, term, child, inner)


def _check_acyclic(g: nx.DiGraph, workflow: Workflow) -> None:
    if nx.is_directed_acyclic_graph(g):
        return
    cycle = nx.find_cycle(g)
    loop = [f"{n[0]}[{workflow.fmt(n[1])}]" for n, _ in cycle] + [
        f"{cycle[0][0][0]}[{workflow.fmt(cycle[0][0][1])}]"
    ]
    raise CyclicDependencyError(
        "tasks depend on each other in a loop: " + " => ".join(loop),
        loop=loop,
        fix="break the loop, e.g. make one dependency inter-cycle with an offset like [-P1]",
    )


def _mark_runs(g: nx.DiGraph, u: Unroller) -> None:
    fmt = u.workflow.fmt
    nodes = g.nodes
    for inst in nx.topological_sort(g):
        data = nodes[inst]
        if not data["exists"] or data["prerequisite"] is None:
            continue
        expr = data["prerequisite"]
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
