"""Cylc's reference text for an unrolled graph (``cylc graph --reference``).

The format is a fixed contract so that graphs can be compared byte for byte
with Cylc 8.5: sorted ``edge "POINT/task" "POINT/task"`` lines, ``graph``,
sorted ``node "POINT/task" "task\\nPOINT"`` lines, ``stop``. Only instances
that run are listed. Integer ids sort by (task, point); date-time ids sort as
text, as Cylc does.
"""

from __future__ import annotations

import networkx as nx

from .model import Workflow
from .unroll import no_gc


def reference_lines(g: nx.DiGraph, workflow: Workflow) -> list[str]:
    """The reference text of an unrolled graph, one line per item."""
    with no_gc():
        return _lines(g, workflow)


def _lines(g: nx.DiGraph, workflow: Workflow) -> list[str]:
    fmt = workflow.fmt
    runs = [n for n, d in g.nodes(data=True) if d["runs"]]
    ids = {n: f"{fmt(n.point)}/{n.task}" for n in runs}
    edges = [(a, b) for a, b in g.edges if a in ids and b in ids]
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


def reference_text(g: nx.DiGraph, workflow: Workflow) -> str:
    """The reference text, newline-terminated, as ``cylc graph --reference`` prints it."""
    return "\n".join(reference_lines(g, workflow)) + "\n"
