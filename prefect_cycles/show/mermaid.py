"""The Mermaid writer: a ``flowchart LR`` that Markdown renderers draw."""

from __future__ import annotations

from .scene import FADED, Node, Scene, time_order


def mermaid_id(text: str) -> str:
    """``text`` as a Mermaid identifier: letters and digits kept, ``_`` doubled,
    anything else as ``_hex_`` (so distinct names never collide)."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch == "_":
            out.append("__")
        else:
            out.append(f"_{ord(ch):x}_")
    return "".join(out)


def _mermaid_node_id(n: Node) -> str:
    base = "t_" + mermaid_id(n.task)
    return base if n.point is None else f"{base}_AT_{mermaid_id(n.point)}"


def _mq(text: str) -> str:
    """A Mermaid quoted label; line breaks as ``<br/>``, specials as entities."""
    esc = (
        text.replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", "<br/>")
    )
    return f'"{esc}"'


def _mermaid_node(ident: str, n: Node) -> str:
    # A clock trigger is a stadium, like Cylc's xtrigger nodes stand apart from tasks.
    return f"{ident}([{_mq(n.label)}])" if n.state == "clock" else f"{ident}[{_mq(n.label)}]"


def to_mermaid(scene: Scene) -> str:
    """A Mermaid ``flowchart LR``: a subgraph per point, ``-.->`` for optional edges,
    dotted ``or`` edges for conditions, a faded class for instances that never run."""
    title = scene.title.replace("\\", "\\\\").replace('"', '\\"')
    lines = ["---", f'title: "{title}"', "---", "flowchart LR"]
    ids = {n.key: _mermaid_node_id(n) for n in scene.nodes}
    by_key = {n.key: n for n in scene.nodes}
    grouped = {k for g in scene.groups for k in g.nodes}
    for group in scene.groups:
        lines.append(f"  subgraph p_{mermaid_id(group.key)} [{_mq(group.label)}]")
        lines.extend(f"    {_mermaid_node(ids[k], by_key[k])}" for k in group.nodes)
        lines.append("  end")
    lines.extend(f"  {_mermaid_node(ids[n.key], n)}" for n in scene.nodes if n.key not in grouped)
    dotted, faded = [], []
    for i, e in enumerate(scene.edges):
        arrow = "-.->" if e.optional or e.conditional else "-->"
        label = f"|{_mq(e.label)}|" if e.label else ""
        lines.append(f"  {ids[e.source]} {arrow}{label} {ids[e.target]}")
        if e.conditional:
            dotted.append(i)
        if e.faded:
            faded.append(i)
    # Invisible links come after the real ones so linkStyle indices stay right.
    lines.extend(f"  {ids[a]} ~~~ {ids[b]}" for a, b in time_order(scene))
    if dotted:
        lines.append(f"  linkStyle {','.join(map(str, dotted))} stroke-dasharray:2 3")
    if faded:
        lines.append(f"  linkStyle {','.join(map(str, faded))} stroke:{FADED},color:{FADED}")
    never = [ids[n.key] for n in scene.nodes if n.state == "never"]
    missing = [ids[n.key] for n in scene.nodes if n.state == "missing"]
    if never:
        lines.append(
            f"  classDef neverRuns fill:#f4f4f4,stroke:{FADED},color:{FADED},stroke-dasharray:4 3"
        )
        lines.append(f"  class {','.join(never)} neverRuns")
    clocks = [ids[n.key] for n in scene.nodes if n.state == "clock"]
    if clocks:
        lines.append("  classDef clock fill:#fff1cc,stroke:#b58900")
        lines.append(f"  class {','.join(clocks)} clock")
    if missing:
        lines.append(
            f"  classDef missing fill:#ffffff,stroke:{FADED},color:{FADED},stroke-dasharray:1 3"
        )
        lines.append(f"  class {','.join(missing)} missing")
    return "\n".join(lines) + "\n"
