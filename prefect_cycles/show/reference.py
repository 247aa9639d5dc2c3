"""Cylc's reference text for an unrolled graph (``cylc graph --reference``).

The format is a fixed contract so that graphs can be compared byte for byte
with Cylc 8.5: sorted ``edge "POINT/task" "POINT/task"`` lines, ``graph``,
sorted ``node "POINT/task" "task\\nPOINT"`` lines, ``stop``. Only instances
that run are listed, with a ``POINT/@label`` node for each graph-string
clock xtrigger holding one, as Cylc draws them. Integer ids sort by (task,
point); date-time ids sort as text, as Cylc does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..graph.conditions import ClockTrigger
from ..graph.model import Workflow
from ..graph.settle import Settler
from ..graph.unroll import Instance, Unroller, needs, no_gc, unroll
from ..graph.xtrigger import XTrigger
from .spill import SpillSort

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
    """``reference_text(unroll(workflow, start, stop), workflow)``, without the DiGraph."""
    return "".join(line + "\n" for line in window_reference_lines(workflow, start, stop))


def window_reference_lines(
    workflow: Workflow, start: object = None, stop: object = None
) -> Iterator[str]:
    """The reference text's lines for a window, in memory that does not grow with it.

    The command line's path: the window is walked point by point and which
    instances run is settled as it goes (:class:`~prefect_cycles.graph.settle.Settler`);
    edge and node lines are sorted on disk as they come (:class:`SpillSort`), so
    only the text, not the memory, grows with the window. A dependency loop
    falls back to :func:`unroll`, which raises the error that names it.
    """
    u = Unroller(workflow, start, stop)
    if u.stop is None:
        unroll(workflow, start, stop)  # raises: no final point
    fmt = workflow.fmt
    integer = workflow.cycling.mode == "integer"
    drawn = bool(workflow.clock_triggers or workflow.xtriggers)
    edges, nodes = SpillSort(), SpillSort()

    def ident(n: Instance) -> str:
        return f"{fmt(n.point)}/{n.task}"

    def node(n: Instance, i: str) -> None:
        nodes.add(n if integer else i, f'node "{i}" "{n.task}\\n{fmt(n.point)}"')

    def edge(a: Instance, b: Instance, ia: str, ib: str) -> None:
        edges.add((a, b) if integer else (ia, ib), f'edge "{ia}" "{ib}"')

    settler = Settler(u)
    with no_gc():
        for point, spawned in u.cycles():
            for inst, expr, st, known in settler.feed(point, spawned):
                if not st.runs:
                    continue
                i = ident(inst)
                node(inst, i)
                for parent in {n.parent for n in needs(expr)}:
                    got = known.get(parent)
                    if got is not None and got.exists and got.runs:
                        edge(parent, inst, ident(parent), i)
                if drawn:
                    shown: list[ClockTrigger | XTrigger] = [
                        t for t in u.clock_triggers(inst) if t.drawn
                    ]
                    shown += workflow.xtriggers_for(inst.task, inst.point)  # always drawn
                    for trig in shown:
                        x = Instance(f"@{trig.label}", inst.point)
                        ix = f"{fmt(inst.point)}/@{trig.label}"
                        node(x, ix)
                        edge(x, inst, ix, i)
        if settler.waiting:
            unroll(workflow, start, stop)  # raises CyclicDependencyError, naming the loop
        yield from edges
        yield "graph"
        yield from nodes
        yield "stop"
