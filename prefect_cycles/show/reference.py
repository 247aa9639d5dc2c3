"""Cylc's reference text for an unrolled graph (``cylc graph --reference``).

The format is a fixed contract so that graphs can be compared byte for byte
with Cylc 8.5: sorted ``edge "POINT/task" "POINT/task"`` lines, ``graph``,
sorted ``node "POINT/task" "task\\nPOINT"`` lines, ``stop``. Only instances
that run are listed, with a ``POINT/@label`` node for each graph-string
clock xtrigger holding one, as Cylc draws them. Integer ids sort by (task,
point); date-time ids sort as text, as Cylc does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..graph.conditions import ClockTrigger
from ..graph.model import Workflow
from ..graph.unroll import Instance, Unroller, evaluate, needs, no_gc, unroll
from ..graph.xtrigger import XTrigger

if TYPE_CHECKING:
    import networkx as nx


def reference_lines(g: nx.DiGraph, workflow: Workflow) -> list[str]:
    """The reference text of an unrolled graph, one line per item."""
    with no_gc():
        return _lines(g, workflow)


def _lines(g: nx.DiGraph, workflow: Workflow) -> list[str]:
    runs = [n for n, d in g.nodes(data=True) if d["runs"]]
    clocks = {n: d.get("clock_triggers", ()) for n, d in g.nodes(data=True) if d["runs"]}
    return _format(runs, list(g.edges), workflow, clocks.__getitem__)


def _format(
    runs: list[Instance],
    all_edges: list[tuple[Instance, Instance]],
    workflow: Workflow,
    clocks: Callable[[Instance], tuple[ClockTrigger, ...]] = lambda _: (),
) -> list[str]:
    fmt = workflow.fmt
    ids = {n: f"{fmt(n.point)}/{n.task}" for n in runs}
    edges = [(a, b) for a, b in all_edges if a in ids and b in ids]
    if workflow.clock_triggers or workflow.xtriggers:
        _add_xtriggers(runs, edges, ids, workflow, clocks)
    if workflow.cycling.mode == "integer":
        # An Instance is the tuple (task, point): Cylc's integer order already.
        runs.sort()
        edges.sort()
    else:
        runs.sort(key=ids.__getitem__)
        edges.sort(key=lambda e: (ids[e[0]], ids[e[1]]))
    lines = [f'edge "{ids[a]}" "{ids[b]}"' for a, b in edges]
    lines.append("graph")
    lines.extend(f'node "{ids[n]}" "{n.task}\\n{fmt(n.point)}"' for n in runs)
    lines.append("stop")
    return lines


def _add_xtriggers(
    runs: list[Instance],
    edges: list[tuple[Instance, Instance]],
    ids: dict[Instance, str],
    workflow: Workflow,
    clocks: Callable[[Instance], tuple[ClockTrigger, ...]],
) -> None:
    """Add Cylc's ``POINT/@label`` nodes and their edges for the clock and function
    xtriggers drawn.

    Cylc draws a graph-string ``@xtrigger`` as a node of its own at the
    child's point (the old ``clock-trigger`` form is not drawn). An xtrigger
    node is an Instance named ``@label`` here, only for the text.
    """
    fmt = workflow.fmt
    seen: set[tuple[Instance, Instance]] = set()
    for inst in list(runs):
        drawn: list[ClockTrigger | XTrigger] = [t for t in clocks(inst) if t.drawn]
        drawn += workflow.xtriggers_for(inst.task, inst.point)  # always drawn
        for trig in drawn:
            node = Instance(f"@{trig.label}", inst.point)
            if node not in ids:
                ids[node] = f"{fmt(inst.point)}/@{trig.label}"
                runs.append(node)
            if (node, inst) not in seen:
                seen.add((node, inst))
                edges.append((node, inst))


def reference_text(g: nx.DiGraph, workflow: Workflow) -> str:
    """The reference text, newline-terminated, as ``cylc graph --reference`` prints it."""
    return "\n".join(reference_lines(g, workflow)) + "\n"


def window_reference_text(workflow: Workflow, start: object = None, stop: object = None) -> str:
    """``reference_text(unroll(workflow, start, stop), workflow)``, without the DiGraph.

    The command line's path: instances and prerequisites come straight from
    :meth:`Unroller.walk`, and which of them run is decided in topological
    order over plain dicts, as :func:`unroll` does, in a fraction of the time
    and without importing networkx. A dependency loop falls back to
    :func:`unroll`, which raises the error that names it.
    """
    u = Unroller(workflow, start, stop)
    if u.stop is None:
        unroll(workflow, start, stop)  # raises: no final point
    with no_gc():
        prereq = dict(u.walk())
        parents: dict[Instance, set[Instance]] = {}
        children: dict[Instance, list[Instance]] = {}
        waiting: dict[Instance, int] = {}
        for inst, expr in prereq.items():
            ps = {n.parent for n in needs(expr) if n.parent in prereq}
            parents[inst] = ps
            waiting[inst] = len(ps)
            for p in ps:
                children.setdefault(p, []).append(inst)
        ready = [inst for inst, left in waiting.items() if not left]
        runs: dict[Instance, bool] = {}
        while ready:
            inst = ready.pop()
            expr = prereq[inst]
            runs[inst] = expr is None or (
                u.past_stop(expr) is None and evaluate(expr, lambda n: runs.get(n.parent, False))
            )
            for child in children.get(inst, ()):
                waiting[child] -= 1
                if not waiting[child]:
                    ready.append(child)
        if len(runs) < len(prereq):
            unroll(workflow, start, stop)  # raises CyclicDependencyError, naming the loop
        ran = [inst for inst, ok in runs.items() if ok]
        edges = [(p, c) for c in ran for p in parents[c]]
        return "\n".join(_format(ran, edges, workflow, u.clock_triggers)) + "\n"
