"""The picture's shape, shared by every writer: nodes, edges and groups.

Both views (definition and window) are built once as a :class:`Scene` that the
DOT and Mermaid writers read, so the formats cannot drift apart.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

from ..errors import CycleError

#: Colour of instances that never run, and of their edges.
FADED = "#9a9a9a"


@dataclass(frozen=True)
class Node:
    """One box: a task (definition) or an instance (window)."""

    key: str  # unique; DOT uses it as the node id
    task: str  # the task, or ``@label`` for a clock trigger
    point: str | None  # the formatted point, or None in the definition
    label: str
    state: NodeState = "runs"
    reason: str | None = None


@dataclass(frozen=True)
class Edge:
    """One arrow, parent to child."""

    source: str
    target: str
    label: str = ""
    optional: bool = False
    conditional: bool = False
    faded: bool = False  # from or to something that never runs
    backward: bool = False  # the parent is at a later point than the child


@dataclass(frozen=True)
class Group:
    """A cycle point's box of instances, in time order."""

    key: str  # the formatted point
    label: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Scene:
    """What a picture shows, independent of the format it is written in."""

    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...] = ()


def time_order(scene: Scene) -> list[tuple[str, str]]:
    """Invisible edges that keep each point's box right of the one before.

    From every instance of one point with no successor at that point, to every
    instance of the next point with no predecessor there: the ranks then force
    the whole next box to the right.
    """
    inner_out: set[str] = set()
    inner_in: set[str] = set()
    group_of = {k: g.key for g in scene.groups for k in g.nodes}
    for e in scene.edges:
        if group_of.get(e.source) == group_of.get(e.target):
            inner_out.add(e.source)
            inner_in.add(e.target)
    pairs: list[tuple[str, str]] = []
    for a, b in itertools.pairwise(scene.groups):
        sinks = [k for k in a.nodes if k not in inner_out]
        sources = [k for k in b.nodes if k not in inner_in]
        pairs.extend((s, t) for s in sinks for t in sources)
    return pairs


NodeState = Literal["runs", "never", "missing", "clock"]


class RenderError(CycleError):
    """A picture that cannot be drawn or written (unknown format, ``dot`` failing)."""


class GraphvizMissingError(RenderError):
    """Graphviz's ``dot`` program, needed for SVG and PNG, is not installed."""
