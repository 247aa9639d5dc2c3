"""Validation: errors that stop a workflow, warnings about instances that never run.

Construction already rejects bad syntax and inconsistent outputs; here the
workflow is unrolled over a window to find loops at one point (an error naming
the loop) and instances that Cylc's scheduler would never run (a warning each,
with the reason), so users learn of them before a run stalls.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .model import Workflow
from .unroll import Instance, Unroller, never_runs, unroll

#: Points unrolled to validate a workflow that has no final point.
ENDLESS_WINDOW = 20


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
    checked, and instances blocked only because the check stops there are not
    reported.
    """
    u = Unroller(workflow, start, stop)
    endless = u.stop is None
    if endless:
        pts = list(itertools.islice(u.points(), ENDLESS_WINDOW))
        stop = pts[-1] if pts else u.start
    g = unroll(workflow, u.start, stop if endless else u.stop)
    out = []
    for inst, reason in never_runs(g):
        root = g.nodes[inst]["root"]
        if endless and root is not None and root[0].point > stop:
            continue
        out.append(NeverRuns(inst, reason, f"{inst.task}[{workflow.fmt(inst.point)}]"))
    return out
