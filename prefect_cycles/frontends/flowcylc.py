"""Read a Cylc 8 ``flow.cylc`` into the workflow model.

Only what defines the cycling graph is read: ``[scheduling]`` (cycling mode,
initial and final cycle points, runahead limit, ``[[graph]]``, the
``wall_clock`` entries of ``[[xtriggers]]`` and the old ``[[special tasks]]
clock-trigger``, which become clock triggers), ``[scheduler]cycle point time
zone`` and the ``inherit`` lines of ``[runtime]`` (which make families for
family triggers); and what :mod:`prefect_cycles.frontends.runtime` reads
(custom outputs, completion, clock-expire, queues). Everything else, scripts,
platforms, environments..., has no meaning for Prefect tasks and is skipped with one notice per
item, so nothing is dropped silently. A ``#!Jinja2`` file and ``%include``
are rendered first, as Cylc does (:mod:`.templates`), and task parameters
(``model<member>``) expanded (:mod:`.parameters`); EmPy is refused.
The file format itself is :mod:`prefect_cycles.frontends.cylcfile`'s.
"""

from __future__ import annotations

import graphlib
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..cycling.clock import parse_offset
from ..errors import CycleError, GraphSyntaxError
from ..graph.model import Workflow
from ..graph.unroll import without_gc
from .cylcfile import (
    Item,
    Section,
    file_error,
    parse_sections,
    special_entries,
    unquote,
    unquote_list,
)
from .cylcitems import check_items
from .cylcpoints import read_window
from .graphstring import add_graph
from .parameters import expand_runtime, read_parameters
from .runtime import read_run_limits, read_runtime, runtime_paths
from .templates import render_file

__all__ = ["find_flow_file", "load_flow_cylc"]

_TEMPLATE_MARKS = ("{{", "{%")
_TOP_SECTION = re.compile(r"^\s*\[([^\[\]]+)\]\s*(?:#.*)?$")

_IGNORED_WHY = {
    "meta": "workflow metadata",
    "scheduler": "a scheduler setting with no effect on the cycling graph",
    "scheduling": "a scheduling setting prefect-cycles does not use",
    "runtime": "prefect-cycles runs your Prefect tasks, not Cylc job settings",
    "cylc": "Cylc 7's name for [scheduler], not read: rename it [scheduler]",
    "visualization": "obsolete in Cylc 8",
}


# -- meaning: points, graph, families ----------------------------------------------


@contextmanager
def _located(source: str) -> Iterator[None]:
    """Prefix any CycleError raised inside with the file it came from."""
    try:
        yield
    except CycleError as exc:
        if exc.args and isinstance(exc.args[0], str) and not exc.args[0].startswith(source):
            exc.args = (f"{source}: {exc.args[0]}", *exc.args[1:])
        raise


def _kind(p: Path) -> str:
    """``dir``, ``file`` or ``missing`` (also for paths the OS can't look up)."""
    try:
        if p.is_dir():
            return "dir"
        return "file" if p.is_file() else "missing"
    except (OSError, ValueError):
        return "missing"


def find_flow_file(path: str | os.PathLike[str]) -> Path:
    """The flow.cylc that ``path`` names (a file, or a directory holding one)."""
    fix = "pass the path of a flow.cylc file or of the directory that holds one"
    try:
        p = Path(path)
    except TypeError:
        raise GraphSyntaxError(f"{path!r} is not a path", fix=fix) from None
    kind = _kind(p)
    if kind == "dir":
        if _kind(p / "flow.cylc") == "file":
            return p / "flow.cylc"
        if _kind(p / "suite.rc") == "file":
            p = p / "suite.rc"
        else:
            raise GraphSyntaxError(f"no flow.cylc in directory {p}", fix=fix)
    elif kind == "missing":
        raise GraphSyntaxError(f"{p} does not exist", fix=fix)
    if p.name == "suite.rc":
        raise GraphSyntaxError(
            f"{p} is a Cylc 7 suite.rc, not a flow.cylc",
            fix="upgrade it to Cylc 8 (rename it flow.cylc and check it with 'cylc validate')",
        )
    return p


def _stray_markup(text: str, source: str) -> str | None:
    """Jinja2 markup left in a file not rendered (no ``#!Jinja2`` line).

    Without a #!Jinja2 line Cylc reads the file as it is: markup in comments
    is text, and so is markup in ``[runtime]`` (a generated workflow's
    ``script = run.sh {{date}}`` passes ``cylc validate``), so there it is a
    notice. Anywhere else it would reach the graph or the cycle points, where
    it is a mistake, refused with the fix.
    """
    section = ""
    in_runtime: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        head = _TOP_SECTION.match(line)
        if head:
            section = head.group(1).strip()
        uncommented = line.split("#", 1)[0]
        if not any(mark in uncommented for mark in _TEMPLATE_MARKS):
            continue
        if section != "runtime":
            raise GraphSyntaxError(
                f"{source}, line {number}: the file holds template markup ('{{{{' or '{{%') "
                "but its first line is not #!Jinja2, so it is not rendered (Cylc would not "
                "render it either)",
                fix="make #!Jinja2 the first line of the file",
            )
        in_runtime.append(number)
    if not in_runtime:
        return None
    lines = ", ".join(map(str, in_runtime[:5])) + (" ..." if len(in_runtime) > 5 else "")
    return (
        f"{source}: template markup ('{{{{' or '{{%') in [runtime] (line {lines}) is kept as "
        "text, as Cylc keeps it: the file has no #!Jinja2 first line"
    )


def _families(runtime: Section | None, source: str) -> dict[str, list[str]]:
    """Family -> leaf member tasks, through every ``inherit`` (multiple inheritance too)."""
    if runtime is None:
        return {}
    parents: dict[str, list[str]] = {"root": []}
    lines: dict[str, int] = {}
    for heading, section in runtime.sections.items():
        inherit = section.items.get("inherit")
        for name in (n.strip() for n in heading.split(",")):
            if not name:
                continue
            lines.setdefault(name, section.line)
            if inherit is not None:
                parents[name] = [p for p in unquote_list(inherit.value) if p != "None"]
            elif name not in parents:
                parents[name] = []
    for name, ps in parents.items():
        if name != "root" and not ps:
            parents[name] = ["root"]
        for p in parents[name]:
            if p not in parents:
                raise file_error(
                    source,
                    lines.get(name),
                    f"[runtime][{name}] inherits from {p!r}, which is not defined",
                    f"add [[{p}]] under [runtime], or fix the name",
                )
    try:
        order = list(graphlib.TopologicalSorter(parents).static_order())
    except graphlib.CycleError as exc:
        loop = " -> ".join(reversed(exc.args[1]))
        raise file_error(
            source,
            None,
            f"[runtime] inheritance loops: {loop} (each inherits the next)",
            "remove one of the inherit lines in the loop",
        ) from None
    ancestors: dict[str, set[str]] = {}
    for name in order:  # parents come before their children
        ancestors[name] = set().union(*({p, *ancestors[p]} for p in parents[name]))
    is_parent = {p for ps in parents.values() for p in ps}
    fams: dict[str, list[str]] = {}
    for leaf in parents:
        if leaf in is_parent or leaf == "root":
            continue
        for anc in ancestors[leaf] - {"root"}:
            fams.setdefault(anc, []).append(leaf)
    return {fam: sorted(members) for fam, members in fams.items()}


def _graph_sections(scheduling: Section, source: str, notices: list[str]) -> dict[str, str]:
    """Recurrence -> graph string, from [[graph]] (or Cylc 7's [[dependencies]])."""
    graph: dict[str, str] = {}

    def add(key: str, item: Item) -> None:
        text = "\n".join(unquote(v, source, item.line) for v in item.values)
        graph[key] = f"{graph[key]}\n{text}" if key in graph else text

    section = scheduling.sections.get("graph")
    if section is not None:
        for key, item in section.items.items():
            add("R1" if key == "graph" else key, item)
    deps = scheduling.sections.get("dependencies")
    if deps is not None:
        notices.append(
            "[scheduling][dependencies] is Cylc 7 syntax, read as [scheduling][graph]; "
            "Cylc 8 upgrades it the same way"
        )
        for key, item in deps.items.items():
            # [[dependencies]]graph is R1; Cylc 8 also reads R1 = ... straight under it
            add("R1" if key == "graph" else key, item)
        for rec, sub in deps.sections.items():
            for key, item in sub.items.items():
                if key == "graph":
                    add(rec, item)
                else:
                    notices.append(f"[scheduling][dependencies][{rec}]{key} ignored (not a graph)")
    return {k: v for k, v in graph.items() if v.strip()}


def _runahead(scheduling: Section, source: str, notices: list[str]) -> str:
    item = scheduling.items.get("runahead limit")
    if item is not None:
        return unquote(item.value, source, item.line) or "P4"
    old = scheduling.items.get("max active cycle points")
    if old is not None:
        text = unquote(old.value, source, old.line)
        if not text.isdigit() or not 0 < int(text) < 10**6:
            raise file_error(
                source,
                old.line,
                f"max active cycle points {text!r} is not a positive whole number",
                "use runahead limit = P4 (five active cycles) instead",
            )
        limit = f"P{int(text) - 1}"
        notices.append(
            f"[scheduling]max active cycle points = {text} read as runahead limit = {limit}, "
            "as Cylc 8 upgrades it"
        )
        return limit
    return "P4"


_READ = {
    "[scheduling]cycling mode",
    "[scheduling]initial cycle point",
    "[scheduling]final cycle point",
    "[scheduling]runahead limit",
    "[scheduling]max active cycle points",
    "[scheduler]cycle point time zone",
    "[scheduler]cycle point format",
    "[scheduling]initial cycle point constraints",
    "[scheduling]final cycle point constraints",
    "[scheduling]stop after cycle point",
    "[scheduling]hold after cycle point",
    "[scheduler]cycle point num expanded year digits",
    "[scheduler]UTC mode",
}


def _unused(root: Section, wf: Workflow, source: str, runtime: Section | None = None) -> list[str]:
    """Notices for everything in the file that was not read (``runtime``: names expanded)."""
    notices: list[str] = []
    used = set(_READ)
    params = root.sections.get("task parameters")
    if params is not None:
        used.update(path for path, _ in params.walk("[task parameters]"))
    scheduling = root.sections["scheduling"]
    for name in ("graph", "dependencies"):
        sub = scheduling.sections.get(name)
        if sub is not None:
            used.update(path for path, _ in sub.walk(f"[scheduling][{name}]"))
    used.add("[scheduling][special tasks]clock-trigger")
    used |= runtime_paths(root)
    used.update(f"[scheduling][xtriggers]{t.label}" for t in wf.clock_triggers)
    used.update(f"[scheduling][xtriggers]{t.label}" for t in wf.xtriggers)
    scheduler = root.sections.get("scheduler")
    utc = scheduler.items.get("UTC mode") if scheduler is not None else None
    if utc is not None and scheduler is not None:
        off = unquote(utc.value, source, utc.line).lower() in ("false", "no")
        if off and "cycle point time zone" not in scheduler.items:
            notices.append(
                "[scheduler]UTC mode = False only affects log time stamps in Cylc 8: cycle "
                "points stay in UTC (Z) unless [scheduler]cycle point time zone is set"
            )
    written = root.sections.get("runtime")
    if written is not None:
        used.update(f"[runtime][{heading}]inherit" for heading in written.sections)
    runtime = runtime if runtime is not None else written
    if runtime is not None:
        defined = {n.strip() for heading in runtime.sections for n in heading.split(",")}
        implicit = sorted(t for t in wf.tasks if t not in defined)
        if implicit:
            notices.append(
                "tasks with no [runtime] entry (Cylc needs [scheduler]allow implicit tasks "
                f"= True for these): {', '.join(implicit)}"
            )
    for name, section in root.sections.items():
        why = _IGNORED_WHY.get(name, "not a Cylc 8 flow.cylc section")
        notices.extend(
            f"{path} ignored ({why})" for path, _ in section.walk(f"[{name}]") if path not in used
        )
    return notices


@without_gc
def load_flow_cylc(
    path: str | os.PathLike[str], template_vars: Mapping[str, Any] | None = None
) -> Workflow:
    """Read a Cylc 8 ``flow.cylc`` (or the directory holding one) into a Workflow.

    ``template_vars`` are Jinja2 template variables (Cylc's ``--set``); they
    win over a ``rose-suite.conf`` beside the file. Like the other front ends
    (``from_graph``, ``build_workflow``) it returns the Workflow, so
    ``picture(load_flow_cylc(path))`` works. Its ``notices`` list one line for
    each setting that was read but has no effect in prefect-cycles, so nothing
    is dropped silently (``prefect-cycles validate`` prints them).
    """
    file = find_flow_file(path)
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphSyntaxError(
            f"cannot read {source}: {exc}", fix="check the file is readable UTF-8 text"
        ) from None
    text = render_file(file, text, template_vars)
    stray = _stray_markup(text, source)
    root = parse_sections(text, source)
    check_items(root, source)
    scheduling = root.sections.get("scheduling")
    if scheduling is None:
        raise GraphSyntaxError(
            f"{source} has no [scheduling] section",
            fix="add [scheduling] with an initial cycle point and a [[graph]]",
        )
    notices: list[str] = [stray] if stray else []
    params = read_parameters(root.sections.get("task parameters"), source)
    graph = {
        rec: params.expand_graph(text, f"{source} [scheduling][graph]{rec}")
        for rec, text in _graph_sections(scheduling, source, notices).items()
    }
    if not graph:
        raise GraphSyntaxError(
            f"{source} has no graph: [scheduling][[graph]] is missing or empty",
            fix='add e.g. [[graph]] with R1 = "prep => foo"',
        )
    with _located(source):
        cycling, initial, final, wall_clock = read_window(
            scheduling, root.sections.get("scheduler"), graph, source
        )
        wf = Workflow.create(
            initial,
            final,
            cycling=cycling,
            runahead=_runahead(scheduling, source, notices),
            name=file.parent.name or "cyclic-workflow",
        )
        runtime = expand_runtime(root.sections.get("runtime"), params, source)
        families = _families(runtime, source)
        expanded = root  # the file with its [runtime] names expanded (model<m> -> model_m1...)
        if runtime is not None and runtime is not root.sections.get("runtime"):
            sections = {**root.sections, "runtime": runtime}
            expanded = Section(root.name, root.line, root.items, sections)
        xtriggers = scheduling.sections.get("xtriggers")
        declared = {
            label: unquote(item.value, source, item.line)
            for label, item in (xtriggers.items.items() if xtriggers is not None else ())
        }
        read_runtime(expanded, wf, families, source)
        add_graph(wf, graph, families, notices=notices, xtriggers=declared)
        wf.parameterised = {n: v for n, v in params.names.items() if n in wf.tasks}
        _wall_clock_and_stop(wf, scheduling, wall_clock, source, notices)
        _clock_trigger_tasks(scheduling, wf, families, source, notices)
        read_run_limits(expanded, wf, families, source, notices)
    wf.notices = notices + _unused(root, wf, source, runtime)
    return wf


def _clock_trigger_tasks(
    scheduling: Section,
    wf: Workflow,
    families: dict[str, list[str]],
    source: str,
    notices: list[str],
) -> None:
    """Read ``[[special tasks]]clock-trigger = foo(PT1H), bar`` as Cylc 8 upgrades it.

    Each entry becomes a ``wall_clock`` trigger labelled ``_cylc_wall_clock_foo``
    on every recurrence the task runs on (a family stands for its members);
    ``cylc graph`` draws no node for it.
    """
    special = scheduling.sections.get("special tasks")
    item = special.items.get("clock-trigger") if special is not None else None
    if item is None:
        return
    notices.append(
        "[scheduling][special tasks]clock-trigger is Cylc's old spelling, read as wall_clock "
        "xtriggers, as Cylc 8 upgrades it"
    )
    for entry, name, offset in special_entries(item, source, "clock-trigger", "foo(PT1H)"):
        if wf.cycling.mode != "datetime":
            raise file_error(
                source,
                item.line,
                f"clock-trigger {entry!r} needs date-time cycling (integer points are not times)",
                "use cycling mode = gregorian with a date-time initial cycle point, or drop it",
            )
        try:
            parse_offset(offset, task=name)
        except CycleError as exc:
            raise file_error(
                source, item.line, f"illegal clock-trigger offset in {entry!r}", exc.fix or ""
            ) from None
        for task in families.get(name, [name]):
            tdef = wf.tasks.get(task)
            if tdef is None or not tdef.recurrences:
                notices.append(
                    f"[scheduling][special tasks]clock-trigger {entry}: {task} is not in the "
                    "graph, so the clock trigger has no effect"
                )
                continue
            for rec in tdef.recurrences:
                wf.add_clock_trigger(
                    task, rec, offset, label=f"_cylc_wall_clock_{task}", drawn=False
                )


def _wall_clock_and_stop(
    wf: Workflow, scheduling: Section, wall_clock: str | None, source: str, notices: list[str]
) -> None:
    """Keep what a run re-resolves: a wall-clock initial point, and where a run stops."""
    fcp = scheduling.items.get("final cycle point")
    if wall_clock is not None:
        wf.wall_clock_initial = wall_clock
        wf.final_text = unquote(fcp.value, source, fcp.line) if fcp is not None else None
        notices.append(
            f"[scheduling]initial cycle point = {wall_clock} depends on the wall clock: it is "
            f"{wf.fmt(wf.initial)} now, and is worked out again when a chain of flow runs "
            "starts (a restart keeps it)"
        )
    for key in ("stop after cycle point", "hold after cycle point"):
        item = scheduling.items.get(key)
        if item is None:
            continue
        text = unquote(item.value, source, item.line)
        with _located(f"{source}, line {item.line}"):
            point = wf.cycling.final_point(text, wf.initial)
        if wf.stop_after_text is None or point < wf.stop_after:  # type: ignore[operator]
            wf.stop_after_text = text
        if key.startswith("hold"):
            notices.append(
                f"[scheduling]hold after cycle point = {text}: a flow run stops after it, "
                "as held instances never run in a flow run (give stop= to run further)"
            )
