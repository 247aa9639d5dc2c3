"""Validation: errors that stop a workflow, warnings about instances that never run.

Construction already rejects bad syntax and inconsistent outputs; here the
workflow is unrolled over a window to find loops at one point (an error naming
the loop) and instances that Cylc's scheduler would never run (a warning each,
with the reason), so users learn of them before a run stalls.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..cycling.points import Point
from .model import Workflow
from .unroll import Instance, Unroller, never_runs, unroll

#: Points unrolled to validate a workflow that has no final point.
ENDLESS_WINDOW = 20

#: A window longer than this is checked over its first points only, so that a
#: far final point (``+P99999999999``) cannot make validation run for ever.
LONG_WINDOW = 1000


@dataclass(frozen=True)
class NeverRuns:
    """An instance that can never run in the window, and why."""

    instance: Instance
    reason: str
    label: str

    def __str__(self) -> str:
        return f"{self.label} never runs: {self.reason}"


def validate(workflow: Workflow, start: object = None, stop: object = None) -> list[NeverRuns]:
    """Check ``workflow`` over ``[start, stop]``; raise CycleError, or return warnings.

    Without a stop or final point the first ``ENDLESS_WINDOW`` points are
    checked, in a window of more than ``LONG_WINDOW`` points the first
    ``LONG_WINDOW`` (see :func:`window_notes`), and instances blocked only
    because the check stops there are not reported.
    """
    u = Unroller(workflow, start, stop)
    cut = _cut(u)
    endless = cut is not None
    if endless:
        stop = cut
    g = unroll(workflow, u.start, stop if endless else u.stop)
    out = []
    for inst, reason in never_runs(g):
        root = g.nodes[inst]["root"]
        if endless and root is not None and root[0].point > stop:
            continue
        out.append(NeverRuns(inst, reason, f"{inst.task}[{workflow.fmt(inst.point)}]"))
    return out


def _cut(u: Unroller) -> Point | None:
    """The last point checked when the check stops before the window's end, else None."""
    size = ENDLESS_WINDOW if u.stop is None else LONG_WINDOW
    pts = list(itertools.islice(u.points(), size + (u.stop is not None)))
    if u.stop is not None and len(pts) <= size:
        return None
    return pts[size - 1] if len(pts) >= size else (pts[-1] if pts else u.start)


def window_notes(workflow: Workflow, start: object = None, stop: object = None) -> list[str]:
    """What a check of the window leaves out, and a warning when nothing at all runs in it."""
    u = Unroller(workflow, start, stop)
    fmt = workflow.fmt
    window = f"{fmt(u.start)} to " + (fmt(u.stop) if u.stop is not None else "no stop point")
    notes = []
    if u.first_point(None) is None:
        notes.append(
            f"WARNING: no instance of any task falls in the window {window}, so a run does "
            "nothing. Fix: choose start/stop points where tasks run"
        )
    elif u.stop is not None:
        cut = _cut(u)
        if cut is not None:
            notes.append(
                f"NOTE: the window {window} has more than {LONG_WINDOW} cycle points; checked "
                f"the first {LONG_WINDOW} (to {fmt(cut)}). Give --stop to check another span"
            )
    return notes
