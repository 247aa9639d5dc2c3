"""Pictures of a cyclic workflow: text, Graphviz DOT, Mermaid, and SVG/PNG through ``dot``.

People reason about cycling by looking at it, and Prefect's own
``flow.visualize()`` cannot draw submitted tasks or ``wait_for`` edges, so the
pictures are drawn here from the model, in two views:

- the *definition* (``collapsed=True``): one node per task, edges labelled with
  their offset, output and optionality (``[-P1]``, ``:fail``, ``?``), tasks off
  the main recurrence marked with theirs (``prep (R1)``);
- the *window*: the instances of :func:`~prefect_cycles.graph.unroll.unroll`, grouped
  by cycle point left to right in time; optional edges dashed, conditional
  (``|``) edges dotted and labelled ``or``; instances that never run faded,
  with the reason.

Both views are built once as a small :class:`Scene` (nodes, edges, groups) that
the DOT and Mermaid writers share, so the formats cannot drift apart. Output is
sorted, so pictures diff well. Nothing here knows of Prefect; SVG and PNG need
only Graphviz's ``dot`` program, run as a subprocess.
"""

from __future__ import annotations

import itertools
import shutil
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ..cycling.clock import clock_time, parse_offset
from ..cycling.points import Point
from ..graph.conditions import AllOf, AnyOf, ClockTrigger, Condition, Trigger, triggers
from ..graph.model import Workflow
from ..graph.unroll import Expr, Instance, Need, Unroller, unroll
from .dot import run_dot, to_dot
from .mermaid import to_mermaid
from .scene import Edge, Group, Node, NodeState, RenderError, Scene

if TYPE_CHECKING:
    import networkx as nx

#: Points drawn when no stop point is given and the workflow has no final point
#: (Cylc's default runahead limit, ``P4``, keeps five points active).
DEFAULT_POINTS = 5

#: A window of more points than this is drawn over its first ones, with a notice
#: (``picture(max_points=...)``, ``prefect-cycles graph --max-points``): a picture of
#: thousands of points is unreadable, and drawing it takes time and memory that grow
#: with the window.
MAX_POINTS = 100

#: Formats a :class:`Picture` can be saved in, by file suffix.
SUFFIXES = {
    ".txt": "text",
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".md": "markdown",
    ".svg": "svg",
    ".png": "png",
}


_WRAP = 36  # characters per line of a never-run reason inside a node


# -- the picture --------------------------------------------------------------------


class Picture:
    """A picture of a workflow's definition or window, in every format.

    ``text``, ``dot`` and ``mermaid`` are strings; :meth:`svg` and :meth:`png`
    run Graphviz's ``dot``. In a notebook the picture shows itself as SVG when
    ``dot`` is installed and as a Mermaid block otherwise.
    """

    def __init__(self, scene: Scene, text: str, notice: str | None = None) -> None:
        self.scene = scene
        self.text = text
        #: Set when only a part of the window is drawn: what was drawn and how to draw more.
        self.notice = notice

    @property
    def dot(self) -> str:
        """Graphviz DOT source (needs nothing installed to produce)."""
        return to_dot(self.scene)

    @property
    def mermaid(self) -> str:
        """A Mermaid ``flowchart LR`` (renders in GitHub and most docs tools)."""
        return to_mermaid(self.scene)

    def svg(self) -> str:
        """The picture as SVG text, drawn by Graphviz's ``dot``."""
        return run_dot(self.dot, "svg").decode("utf-8")

    def png(self) -> bytes:
        """The picture as PNG bytes, drawn by Graphviz's ``dot``."""
        return run_dot(self.dot, "png")

    def render(self, format: str) -> str | bytes:
        """The picture in ``format``: text, dot, mermaid, markdown, svg or png."""
        if format == "text":
            return self.text
        if format == "dot":
            return self.dot
        if format == "mermaid":
            return self.mermaid
        if format == "markdown":
            return f"```mermaid\n{self.mermaid}```\n"
        if format == "svg":
            return self.svg()
        if format == "png":
            return self.png()
        raise RenderError(
            f"unknown picture format {format!r}",
            fix="use one of text, dot, mermaid, markdown, svg, png",
        )

    def save(self, path: str | Path) -> Path:
        """Write the picture to ``path`` in the format its suffix names; returns the path."""
        path = Path(path)
        write_picture(path, self.render(format_for(path)))
        return path

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Picture {self.scene.title!r}>"

    # -- notebook hooks (IPython/Jupyter) --

    def _repr_svg_(self) -> str | None:
        return self.svg() if shutil.which("dot") else None

    def _repr_markdown_(self) -> str:
        return str(self.render("markdown"))

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        bundle = {"text/plain": self.text, "text/markdown": self._repr_markdown_()}
        if shutil.which("dot"):
            bundle["image/svg+xml"] = self.svg()
        return bundle


def write_picture(path: Path, data: str | bytes) -> None:
    """Write a rendered picture, or raise RenderError naming the file and the OS's reason."""
    with open_output(path, binary=isinstance(data, bytes)) as out:
        out.write(data)


def open_output(path: Path, binary: bool = False) -> IO:
    """``path`` opened for writing, or RenderError naming the file and the OS's reason."""
    try:
        return open(path, "wb") if binary else open(path, "w", encoding="utf-8")
    except OSError as exc:
        missing = not path.parent.is_dir()
        raise RenderError(
            f"cannot write the picture to {str(path)!r}: {exc.strerror or exc}",
            fix=f"create the directory {str(path.parent)!r} first, or choose another path"
            if missing
            else "choose a path you can write to",
        ) from None


def format_for(path: Path) -> str:
    """The picture format a file suffix names."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise RenderError(
            f"cannot tell the picture format of {str(path)!r} from its suffix",
            text=str(path),
            fix="end the file name in one of " + ", ".join(SUFFIXES),
        )
    return fmt


def picture(
    workflow: Workflow,
    start: object = None,
    stop: object = None,
    *,
    collapsed: bool = False,
    max_points: int = MAX_POINTS,
) -> Picture:
    """A picture of ``workflow``: its definition (``collapsed``) or its window.

    The window runs from ``start`` (default: the initial point) to ``stop``
    (default: the final point, or :data:`DEFAULT_POINTS` points on when there
    is none, which the title says). A window of more than ``max_points``
    points is drawn over its first ``max_points``; the title and
    :attr:`Picture.notice` say so.
    """
    if collapsed:
        if start not in (None, "") or stop not in (None, ""):
            raise RenderError(
                "the collapsed picture is the cycle definition, which has no window",
                fix="drop START and STOP, or drop --collapsed to draw the window",
            )
        return Picture(definition_scene(workflow), definition_text(workflow))
    g, title, first, last, notice = _window(workflow, start, stop, max_points)
    scene = window_scene(g, workflow, title, (first, last))
    return Picture(scene, window_text(g, workflow, title), notice)


# -- the window ---------------------------------------------------------------------


def window(
    workflow: Workflow, start: object = None, stop: object = None
) -> tuple[nx.DiGraph, str, Point, Point]:
    """The unrolled window to draw, its title (which says how the window was chosen),
    and its first and last points."""
    return _window(workflow, start, stop, None)[:4]


def _window(
    workflow: Workflow, start: object, stop: object, max_points: int | None
) -> tuple[nx.DiGraph, str, Point, Point, str | None]:
    """:func:`window`, cut to ``max_points`` points (None: not cut), with the notice."""
    u = Unroller(workflow, start, stop)
    fmt = workflow.fmt
    note = ""
    notice = None
    if u.stop is None:
        points = list(itertools.islice(u.points(), DEFAULT_POINTS))
        if not points:
            raise RenderError(
                f"no task runs at or after {fmt(u.start)}",
                point=fmt(u.start),
                fix="give an earlier START",
            )
        stop = points[-1]
        note = f" (no final point: the first {len(points)} points)"
    else:
        stop = u.stop
        if max_points is not None:
            points = list(itertools.islice(u.points(), max(max_points, 1) + 1))
            if len(points) > max_points:
                stop = points[max(max_points, 1) - 1]
                window = f"{fmt(u.start)} to {fmt(u.stop)}"
                note = f" (the first {max_points} points of {window})"
                notice = (
                    f"the window {window} has more than {max_points} cycle points: drawing "
                    f"the first {max_points} (to {fmt(stop)}). Give STOP, or --max-points N "
                    "to draw more"
                )
    g = unroll(workflow, u.start, stop)
    title = f"{workflow.name}: points {fmt(u.start)} to {fmt(stop)}{note}"
    return g, title, u.start, stop, notice


def window_scene(
    g: nx.DiGraph, workflow: Workflow, title: str, bounds: tuple[Point, Point]
) -> Scene:
    """The window's instances grouped by point, with their edges; ``bounds`` are the
    window's first and last points (a parent outside them is drawn in a marked box)."""
    fmt = workflow.fmt
    points: dict[Point, list[Node]] = {}
    keys: dict[Instance, str] = {}
    for inst in in_time_order(g):
        data = g.nodes[inst]
        point = fmt(inst.point)
        key = keys[inst] = f"{point}/{inst.task}"
        if not data["exists"]:
            state: NodeState = "missing"
            reason = f"does not exist: {data['reason']}"
        elif not data["runs"]:
            state, reason = "never", f"never runs: {data['reason']}"
        else:
            state, reason = "runs", None
        label = inst.task if reason is None else f"{inst.task}\n{_wrap(reason)}"
        points.setdefault(inst.point, []).append(Node(key, inst.task, point, label, state, reason))
    edges = []
    clocks: dict[str, Node] = {}
    for inst in in_time_order(g, exists_only=True):
        for trig, due in clocks_at(workflow, inst):
            point = fmt(inst.point)
            key = f"{point}/@{trig.label}"
            if key not in clocks:
                label = f"@{trig.label}\n{due}"  # the time it waits for
                clocks[key] = Node(key, f"@{trig.label}", point, label, "clock")
                points[inst.point].insert(0, clocks[key])
            edges.append(Edge(key, keys[inst], faded=not g.nodes[inst]["runs"]))
    for a, b, data in sorted(g.edges(data=True), key=lambda e: (_by_point(e[0]), _by_point(e[1]))):
        label = _join(
            sorted({_suffix(n.output, n.optional) for n in data["needs"]} - {""}),
            "or" if data["conditional"] else "",
        )
        faded = not (g.nodes[a]["runs"] and g.nodes[b]["runs"])
        edges.append(
            Edge(
                keys[a],
                keys[b],
                label,
                optional=data["optional"],
                conditional=data["conditional"],
                faded=faded,
                backward=a.point > b.point,
            )
        )
    groups = tuple(
        Group(
            fmt(p),
            fmt(p) if bounds[0] <= p <= bounds[1] else f"{fmt(p)} (outside the window)",
            tuple(n.key for n in nodes),
        )
        for p, nodes in points.items()
    )
    return Scene(title, tuple(n for nodes in points.values() for n in nodes), tuple(edges), groups)


def clocks_at(workflow: Workflow, inst: Instance) -> list[tuple[ClockTrigger, str]]:
    """The clock triggers holding ``inst``, each with the UTC time it waits for."""
    out = []
    for trig in workflow.clock_triggers:
        if trig.task == inst.task and workflow.sequence(trig.recurrence).contains(inst.point):
            due = clock_time(inst.point, parse_offset(trig.offset)[1])  # type: ignore[arg-type]
            out.append((trig, due.strftime("%Y-%m-%dT%H:%M:%SZ").replace(":00Z", "Z")))
    return sorted(out, key=lambda item: item[0].label)


def _by_point(inst: Instance) -> tuple[Point, str]:
    return (inst.point, inst.task)


def in_time_order(g: nx.DiGraph, exists_only: bool = False) -> list[Instance]:
    """Instances by point; within a point, parents before children, then by name."""
    import networkx as nx

    nodes = [n for n, d in g.nodes(data=True) if d["exists"] or not exists_only]
    out: list[Instance] = []
    for _, group in itertools.groupby(sorted(nodes, key=_by_point), key=lambda n: n.point):
        sub = g.subgraph(list(group))
        out.extend(nx.lexicographical_topological_sort(sub, key=lambda n: n.task))
    return out


def window_text(g: nx.DiGraph, workflow: Workflow, title: str) -> str:
    """The window for a terminal: per point, each instance with what it waits for."""
    fmt = workflow.fmt
    lines = [title, ""]
    runs = in_time_order(g, exists_only=True)
    width = max((len(n.task) for n in runs), default=0)
    never = 0
    for point, insts in itertools.groupby(runs, key=lambda n: n.point):
        lines.append(f"point {fmt(point)}")
        for inst in insts:
            data = g.nodes[inst]
            expr = data["prerequisite"]
            waits = [_expr_text(expr, point, fmt, top=True)] if expr is not None else []
            waits += [f"@{t.label} (not before {due})" for t, due in clocks_at(workflow, inst)]
            after = f"  <- {' & '.join(waits)}" if waits else ""
            lines.append(f"  {inst.task:<{width}}{after}".rstrip())
            if not data["runs"]:
                never += 1
                lines.append(f"  {'':<{width}}  ! never runs: {data['reason']}")
    if never:
        lines += ["", f"{never} instance(s) never run."]
    return "\n".join(lines) + "\n"


def _expr_text(expr: Expr, point: Point, fmt: Callable[[Point], str], top: bool = False) -> str:
    if isinstance(expr, Need):
        where = "" if expr.parent.point == point else f"[{fmt(expr.parent.point)}]"
        return f"{expr.parent.task}{where}{_suffix(expr.output, expr.optional)}"
    sep = " & " if isinstance(expr, AllOf) else " | "
    inner = sep.join(_expr_text(t, point, fmt) for t in expr.terms)
    return inner if top else f"({inner})"


# -- the definition -----------------------------------------------------------------


def recurrences(workflow: Workflow) -> dict[str, tuple[str, ...]]:
    """Each task's recurrences, without finite ones another of its recurrences covers.

    ``R1 = "prep => foo"`` puts ``foo`` on ``R1`` as well as ``P1``, but the
    point ``R1`` adds is on ``P1`` already: ``foo`` is drawn as a ``P1`` task.
    """
    out = {}
    for name, tdef in workflow.tasks.items():
        kept = list(tdef.recurrences)
        for rec in tdef.recurrences:
            others = [workflow.sequence(r) for r in kept if r != rec]
            if others and _covered(workflow, rec, others):
                kept.remove(rec)
        out[name] = tuple(kept)
    return out


def _covered(workflow: Workflow, rec: str, others: list) -> bool:
    seq = workflow.sequence(rec)
    last = seq.last_point()
    if last is None:
        return False
    pts = list(itertools.islice(seq.points(workflow.initial, last), 1001))
    return len(pts) <= 1000 and all(any(o.contains(p) for o in others) for p in pts)


def main_recurrences(recs: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The commonest set of recurrences: tasks on it are drawn unmarked."""
    if not recs:
        return ()
    counts = Counter(recs.values())
    return max(counts, key=lambda r: (counts[r], [-len(x) for x in r], r))


def definition_scene(workflow: Workflow) -> Scene:
    """One node per task; one edge per trigger, labelled with offset, output and recurrence."""
    recs = recurrences(workflow)
    main = main_recurrences(recs)
    nodes = tuple(
        Node(name, name, None, name if recs[name] == main else f"{name} ({', '.join(recs[name])})")
        for name in sorted(workflow.tasks)
    )
    seen: set[Edge] = set()
    for dep in workflow.dependencies:
        conditional_triggers = _in_any(dep.condition)
        where = "" if dep.recurrence in main else f"in {dep.recurrence}"
        for trig in triggers(dep.condition):
            conditional = id(trig) in conditional_triggers
            offset = f"[{trig.offset}]" if trig.offset is not None else ""
            label = _join(
                offset + _suffix(trig.output, trig.optional), "or" if conditional else "", where
            )
            seen.add(
                Edge(trig.task, dep.target, label, optional=trig.optional, conditional=conditional)
            )
    clock_nodes = {}
    for ct in workflow.clock_triggers:
        key = f"@{ct.label}"
        clock_nodes[key] = Node(key, key, None, key, "clock")
        where = "" if ct.recurrence in main else f"in {ct.recurrence}"
        offset = "" if ct.offset in ("PT0S", "P0D", "PT0M", "PT0H") else _signed(ct.offset)
        seen.add(Edge(key, ct.task, _join(offset, where)))
    nodes += tuple(clock_nodes[k] for k in sorted(clock_nodes))
    edges = tuple(sorted(seen, key=lambda e: (e.source, e.target, e.label, e.optional)))
    cycling = ", ".join(main) if main else "no recurrence"
    title = f"{workflow.name}: the cycle definition (tasks run on {cycling} unless marked)"
    return Scene(title, nodes, edges)


def _signed(offset: str) -> str:
    return offset if offset[:1] in "+-" else f"+{offset}"


def _in_any(cond: Condition, inside: bool = False) -> set[int]:
    """The ids of triggers that sit inside an ``|``."""
    if isinstance(cond, Trigger):
        return {id(cond)} if inside else set()
    inner = inside or isinstance(cond, AnyOf)
    found: set[int] = set()
    return found.union(*(_in_any(t, inner) for t in cond.terms))


def definition_text(workflow: Workflow) -> str:
    """The definition for a terminal: each task's recurrences, then the graph by section."""
    wf = workflow
    span = f"{wf.fmt(wf.initial)} to {wf.fmt(wf.final) if wf.final is not None else 'forever'}"
    lines = [f"{wf.name}: the cycle definition ({wf.cycling.mode} cycling, {span})", "", "tasks"]
    width = max((len(n) for n in wf.tasks), default=0)
    lines += [f"  {n:<{width}}  {', '.join(wf.tasks[n].recurrences)}" for n in sorted(wf.tasks)]
    lines += ["", "graph"]
    recurrences = [d.recurrence for d in wf.dependencies]
    recurrences += [c.recurrence for c in wf.clock_triggers]
    rwidth = max((len(r) for r in recurrences), default=0)
    for dep in wf.dependencies:
        lines.append(f"  {dep.recurrence:<{rwidth}}  {dep.condition} => {dep.target}")
    for ct in wf.clock_triggers:
        offset = "" if ct.offset in ("PT0S", "P0D", "PT0M", "PT0H") else f" {_signed(ct.offset)}"
        lines.append(f"  {ct.recurrence:<{rwidth}}  {ct}   (wall clock: the point{offset})")
    if not wf.dependencies and not wf.clock_triggers:
        lines.append("  (no dependencies)")
    return "\n".join(lines) + "\n"


# -- shared bits --------------------------------------------------------------------


def _suffix(output: str, optional: bool) -> str:
    out = "" if output == "succeeded" else f":{output}"
    return out + ("?" if optional else "")


def _join(*parts: str | list[str]) -> str:
    flat: list[str] = []
    for p in parts:
        flat.extend(p if isinstance(p, list) else [p])
    return " ".join(p for p in flat if p)


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, _WRAP))
