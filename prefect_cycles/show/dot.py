"""Graphviz: the DOT writer, and SVG/PNG through the ``dot`` program (a subprocess)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Literal

from .scene import FADED, GraphvizMissingError, Node, RenderError, Scene, time_order

INSTALL_GRAPHVIZ = (
    "install Graphviz, the package named graphviz (apt install graphviz, brew install "
    "graphviz, or conda install graphviz), or use the dot or mermaid format, which need nothing"
)


def _q(text: str) -> str:
    """A DOT double-quoted string; newlines become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(scene: Scene) -> str:
    """Graphviz DOT: left to right, one dashed cluster per cycle point in time order."""
    lines = [
        f"digraph {_q(scene.title.split(':')[0])} {{",
        f"  graph [rankdir=LR, newrank=true, fontname=sans, labelloc=t, label={_q(scene.title)}]",
        '  node [fontname=sans, shape=box, style="rounded,filled", fillcolor="#eef3fb"]',
        "  edge [fontname=sans, fontsize=10]",
    ]
    by_key = {n.key: n for n in scene.nodes}
    grouped = {k for g in scene.groups for k in g.nodes}
    for group in scene.groups:
        lines.append(f"  subgraph {_q('cluster_' + group.key)} {{")
        lines.append(f"    label={_q(group.label)}; style=dashed; color=grey50")
        lines.extend(f"    {_dot_node(by_key[k])}" for k in group.nodes)
        lines.append("  }")
    lines.extend(f"  {_dot_node(n)}" for n in scene.nodes if n.key not in grouped)
    for e in scene.edges:
        attrs = []
        if e.label:
            attrs.append(f"label={_q(e.label)}")
        if e.conditional:
            attrs.append("style=dotted")
        elif e.optional:
            attrs.append("style=dashed")
        if e.faded:
            attrs.append(f'color="{FADED}", fontcolor="{FADED}"')
        if e.backward:
            attrs.append("constraint=false")
        tail = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_q(e.source)} -> {_q(e.target)}{tail}")
    lines.extend(f"  {_q(a)} -> {_q(b)} [style=invis]" for a, b in time_order(scene))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(n: Node) -> str:
    attrs = [f"label={_q(n.label)}"]
    if n.state == "never":
        attrs.append(f'style="rounded,filled,dashed", fillcolor="#f4f4f4", color="{FADED}"')
    elif n.state == "missing":
        attrs.append(f'style="rounded,dotted", color="{FADED}"')
    elif n.state == "clock":
        attrs.append('shape=ellipse, style=filled, fillcolor="#fff1cc"')
    if n.state in ("never", "missing"):
        attrs.append(f'fontcolor="{FADED}", tooltip={_q(n.reason or "")}')
    return f"{_q(n.key)} [{', '.join(attrs)}]"


def run_dot(source: str, fmt: Literal["svg", "png"]) -> bytes:
    """Draw DOT ``source`` as ``fmt`` with Graphviz's ``dot`` program."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissingError(
            f"drawing {fmt.upper()} needs Graphviz's dot program, which is not installed "
            "(not found on PATH)",
            fix=INSTALL_GRAPHVIZ,
        )
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True, timeout=300
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            "Graphviz's dot took more than 5 minutes to draw the picture",
            fix="draw a shorter window (START and STOP), or use the dot or mermaid format",
        ) from None
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"Graphviz's dot failed ({err[-1] if err else f'exit status {proc.returncode}'})",
            fix="save the dot format and run dot on it to see the whole error",
        )
    return proc.stdout
