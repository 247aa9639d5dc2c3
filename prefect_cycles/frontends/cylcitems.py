"""The item names Cylc 8 allows in the flow.cylc sections prefect-cycles reads.

A typo in a section that is read (``final cycle piont``, ``inhreit``) would
otherwise be skipped as "not used" and change the workflow without a word, so
an unknown name there is an error that quotes it and suggests the nearest
known one, as Cylc's ``IllegalItemError`` refuses it. The names are those of
Cylc 8.5's ``cylc/flow/cfgspec/workflow.py`` (``SPEC``), plus the Cylc 7 names
its upgrader still accepts in a flow.cylc. Sections prefect-cycles never reads
(``[meta]``, ``[[[environment]]]``, ``[[events]]``...) are not checked below
their top: what they hold is only noticed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import GraphSyntaxError
from .cylcfile import Section, file_error

__all__ = ["check_items"]


@dataclass(frozen=True)
class _Spec:
    """The items and sub-sections a section may hold; ``any_items``: user-named keys."""

    items: frozenset[str] = frozenset()
    sections: dict[str, _Spec | None] = field(default_factory=dict)  # None: not checked below
    any_items: bool = False
    any_sections: _Spec | None = None  # [runtime][<namespace>] and the like


def _spec(
    items: str = "",
    sections: dict[str, _Spec | None] | None = None,
    *,
    any_items: bool = False,
    any_sections: _Spec | None = None,
) -> _Spec:
    names = frozenset(n.strip() for n in items.split(",") if n.strip())
    return _Spec(names, sections or {}, any_items, any_sections)


_NAMESPACE = _spec(
    "completion, platform, inherit, script, init-script, env-script, err-script, "
    "exit-script, pre-script, post-script, work sub-directory, execution polling intervals, "
    "execution retry delays, execution time limit, submission polling intervals, "
    "submission retry delays, run mode, "
    "extra log files",  # obsolete in Cylc 8: dropped with a warning, not refused
    {
        name: None
        for name in (
            "meta",
            "skip",
            "simulation",
            "environment filter",
            "job",
            "remote",
            "events",
            "mail",
            "workflow state polling",
            "environment",
            "directives",
            "outputs",
            "parameter environment templates",
            "suite state polling",  # Cylc 7 name, upgraded
        )
    },
)

_SCHEDULING = _spec(
    "initial cycle point, final cycle point, initial cycle point constraints, "
    "final cycle point constraints, hold after cycle point, stop after cycle point, "
    "cycling mode, runahead limit, sequential xtriggers, "
    # Cylc 7 names that Cylc 8 upgrades or drops with a warning:
    "max active cycle points, hold after point, spawn to max active cycle points",
    {
        "queues": None,
        "special tasks": _spec("clock-trigger, external-trigger, clock-expire, sequential"),
        "xtriggers": _spec(any_items=True),
        "graph": _spec(any_items=True),
        "dependencies": None,  # Cylc 7's [[graph]], upgraded
    },
)

_SCHEDULER = _spec(
    "UTC mode, allow implicit tasks, install, cycle point format, "
    "cycle point num expanded year digits, cycle point time zone",
    {"main loop": None, "events": None, "mail": None},
)

_ROOT = _spec(
    "",
    {
        "meta": None,
        "scheduler": _SCHEDULER,
        "task parameters": None,
        "scheduling": _SCHEDULING,
        "runtime": _spec(any_sections=_NAMESPACE),
        "cylc": None,  # Cylc 7's [scheduler], upgraded
        "visualization": None,  # obsolete in Cylc 8, dropped with a warning
    },
)


def check_items(root: Section, source: str) -> None:
    """Raise for the first item or section Cylc 8 does not know, in a section that is read."""
    _check(root, _ROOT, "", source)


def _check(section: Section, spec: _Spec, path: str, source: str) -> None:
    if not spec.any_items:
        for key, item in section.items.items():
            if key not in spec.items:
                where = f"{path}{key}" if path else key
                raise _illegal(source, item.line, where, key, spec.items, "setting")
    for name, sub in section.sections.items():
        if name in spec.sections:
            child = spec.sections[name]
        elif spec.any_sections is not None:
            child = spec.any_sections
        else:
            raise _illegal(source, sub.line, f"{path}[{name}]", name, spec.sections, "section")
        if child is not None:
            _check(sub, child, f"{path}[{name}]", source)


def _illegal(
    source: str, line: int, where: str, name: str, known: Iterable[str], kind: str
) -> GraphSyntaxError:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        problem = f"unknown {kind} {where} (did you mean {close[0]!r}?)"
        fix = f"write {close[0]!r}, or remove it"
    elif names:
        problem = f"unknown {kind} {where}, which Cylc 8 refuses too"
        fix = f"use one of {', '.join(repr(n) for n in names)}, or remove it"
    else:
        problem = f"{where} cannot be a {kind} here, which Cylc 8 refuses too"
        fix = "move it into a section, or remove it"
    return file_error(source, line, problem, fix)
