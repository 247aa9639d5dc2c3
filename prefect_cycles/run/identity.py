"""Which workflow a result belongs to: the identity that goes into every resume key.

Resume restores an instance when a record exists under its key, so two
workflows whose keys collide silently hand each other their results. The
flow name alone collides: unnamed flows are all ``cyclic-workflow``, and a
flow.cylc takes its directory's name (``run1``, ``suite``...). So:

- **An explicit name shares on purpose.** ``cyclic_flow(..., name="forecast")``
  keys results by that name alone, so every run of every process that builds
  a workflow with that name (a served flow, a worker, a script, a copy on
  another machine) resumes from the same results, and editing the graph keeps
  what already ran, as a Cylc restart does. Two workflows given the same name
  share results: that is the point of the name.
- **No name, no sharing.** An unnamed workflow is keyed by its default name,
  *where it is defined* (the resolved path of its flow.cylc, or of the Python
  file that called ``cyclic_flow``) and a fingerprint of *its graph*. Either
  alone collides: two copies of one experiment script in two directories have
  the same graph, and two unnamed flows in one file (or notebook) have the same
  place. Both together collide only for the same graph defined in the same
  place, which is the same workflow. (A notebook or a REPL has no file; its
  working directory stands in for one.) The price: moving the file, or
  editing the graph, starts an unnamed workflow afresh; name it to keep its
  results.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..graph.model import Workflow

#: Hex digits of the graph fingerprint and of the identity's short form.
DIGITS = 12


@dataclass(frozen=True)
class Identity:
    """A workflow's identity for resume: ``key`` goes into every instance's cache key."""

    key: str
    #: True when the user named the workflow, so that other definitions may share it.
    named: bool

    @property
    def short(self) -> str:
        """A short, file-name-safe digest of ``key`` (for lock and lease files)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:DIGITS]


def fingerprint(workflow: Workflow) -> str:
    """A digest of what the graph says: cycling mode, tasks, sequences, dependencies.

    The window (initial, final point, runahead) is left out: changing it keeps
    the instances that already ran, whose keys carry their points anyway.
    """
    lines = [f"mode {workflow.cycling.mode}"]
    for name in sorted(workflow.tasks):
        tdef = workflow.tasks[name]
        lines.append(f"task {name} {sorted(tdef.recurrences)} {sorted(tdef.optional.items())}")
    lines += sorted(
        f"dep {d.recurrence}: {d.condition} => {d.target}" for d in workflow.dependencies
    )
    lines += sorted(
        f"clock {c.recurrence}: @{c.label}({c.offset}) => {c.task}" for c in workflow.clock_triggers
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:DIGITS]


def defined_at(cylc: str | Path | None, caller_globals: Mapping[str, Any]) -> str:
    """Where a workflow is defined: its flow.cylc, or the Python file that built it."""
    if cylc is not None:
        return os.path.realpath(Path(cylc).expanduser())
    file = caller_globals.get("__file__")
    if file:
        return os.path.realpath(file)
    # A notebook or a REPL has no file: its working directory stands in for one.
    return f"<{caller_globals.get('__name__', 'interactive')} in {os.getcwd()}>"


def identity(
    workflow: Workflow, name: str | None, cylc: str | Path | None, caller: Mapping[str, Any]
) -> Identity:
    """The identity of a workflow built with ``name`` (None: not named by the user)."""
    if name:
        return Identity(name, named=True)
    where = defined_at(cylc, caller)
    return Identity(f"{workflow.name}@{where}#{fingerprint(workflow)}", named=False)
