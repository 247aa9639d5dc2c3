"""Windows: how a chain cuts a cyclic workflow into bounded flow runs (no Prefect here).

A window is a run of consecutive whole cycle points holding at most
``max_instances_per_run`` instances; :func:`plan_window` plans one from a
point, lazily, so a window of a campaign of years costs what its points cost.
These are the rules every chain follows, whether a plain call drives it
(:mod:`prefect_cycles.run.chain`) or a deployment hands it over
(:mod:`prefect_cycles.run.handover`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..cycling.points import Point
from ..errors import CycleError
from ..graph.model import Workflow
from ..graph.unroll import Instance, Unroller, triggers

#: The default budget of one flow run, in instances (task runs). Well under the
#: server's 10,000-node run-graph limit, so every window's graph draws; a few
#: MB of Prefect's per-task-run bookkeeping (2.5-4.5 KB each) per window; and
#: with about 1 s of flow-run overhead against 4-6 ms per task run, the
#: hand-overs cost under a tenth. The UI draws edges only up to 500 nodes: a
#: budget of 500 buys that with about 40 % overhead on trivial tasks.
DEFAULT_MAX_INSTANCES_PER_RUN = 2000

#: The flow parameter that makes a flow run one window of a chain.
CHAIN_PARAM = "chain"


@dataclass(frozen=True)
class Window:
    """Consecutive points ``start..stop`` run as one flow run; ``next`` starts the next one."""

    start: Point
    stop: Point
    next: Point | None
    instances: int


def plan_window(
    workflow: Workflow, start: object, chain_stop: object, budget: int | None
) -> Window | None:
    """The window from ``start``: whole points while they fit in ``budget`` instances.

    At least one point, even one holding more instances than the budget.
    None when no task runs at ``start`` or after it (up to ``chain_stop``).
    """
    total, first, last = 0, None, None
    for point, size in Unroller(workflow, start, chain_stop).sizes():
        if last is not None and budget is not None and total + size > budget:
            return Window(first, last, point, total)  # type: ignore[arg-type]
        first = point if first is None else first
        total, last = total + size, point
    return None if last is None else Window(first, last, None, total)  # type: ignore[arg-type]


def forward_dependency(workflow: Workflow) -> str | None:
    """A dependency on a later point, which a window boundary could cut; None if none.

    ``foo[+P1] => bar`` makes ``bar`` at the last point of a window wait for an
    instance of the next window: chaining does not split such workflows.
    """
    cyc, initial = workflow.cycling, workflow.initial
    for dep in workflow.dependencies:
        seq = workflow.sequence(dep.recurrence)
        first = seq.first_point(initial)
        for trig in triggers(dep.condition):
            off = trig.offset
            if off is None or first is None:
                continue
            if off.resolve(first, initial, cyc) > first:
                return f"{trig.task}[{off}] => {dep.target} ({dep.recurrence})"
    return None


def check_budget(workflow: Workflow, budget: object, resume: bool) -> int | None:
    """Check ``cyclic_flow(max_instances_per_run=...)``; the budget in force, or None."""
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise CycleError(
            f"max_instances_per_run must be a whole number of at least 1, not {budget!r}",
            fix="pass e.g. max_instances_per_run=2000, or None for one flow run per call",
        )
    explicit = budget != DEFAULT_MAX_INSTANCES_PER_RUN
    if not resume:
        if explicit:
            raise CycleError(
                "a chain of flow runs needs resume=True: results cross from one flow run "
                "to the next through result storage",
                fix="drop resume=False, or pass max_instances_per_run=None",
            )
        return None
    forward = forward_dependency(workflow)
    if forward is not None:
        if explicit:
            raise CycleError(
                f"the workflow depends on a later point ({forward}), which a boundary "
                "between flow runs could cut",
                task=forward.split("[")[0],
                fix="pass max_instances_per_run=None to run each call as one flow run",
            )
        return None
    return budget


def param(workflow: Workflow, point: Point | None) -> Any:
    """A point as a flow parameter: an int, or the workflow's date-time text."""
    if point is None:
        return None
    return point if workflow.cycling.mode == "integer" else workflow.fmt(point)


def window_name(flow: str, workflow: Workflow, start: Point, stop: Point) -> str:
    return f"{flow}[{workflow.fmt(start)}..{workflow.fmt(stop)}]"


def point_of(wf: Workflow, value: object) -> Point | None:
    return None if value in (None, "") else wf.cycling.point(value)


def next_point(wf: Workflow, after: Point, chain_stop: object) -> Point | None:
    """The first point after ``after`` where a task runs (up to the chain's stop)."""
    stop = point_of(wf, chain_stop)
    if stop is not None and stop <= after:
        return None
    for point in Unroller(wf, after, stop).points():
        if point > after:
            return point
    return None


def initial_entry(wf: Workflow) -> dict[str, str]:
    """The ``chain`` parameter's entry carrying a wall-clock initial point as a literal."""
    return {} if wf.wall_clock_initial is None else {"initial": wf.fmt(wf.initial)}


def chain_param(
    workflow: Workflow, origin: str, stop: Any, window: int, predecessor: str | None
) -> dict[str, Any]:
    """A window's ``chain`` parameter: the chain's origin and stop, the window's number, the
    flow run it continues from, and a wall-clock initial point as a literal."""
    return {
        "origin": origin,
        "stop": stop,
        "window": window,
        "predecessor": predecessor,
        **initial_entry(workflow),
    }


def default_stop(wf: Workflow, stop: Any) -> Any:
    """``stop``, or ``[scheduling]stop after cycle point`` when none is given."""
    if stop is None and wf.stop_after != wf.final:
        return param(wf, wf.stop_after)
    return stop


def chained_instances(workflow: Workflow, start: object, stop: object, budget: int) -> list:
    """The windows a chain over ``start..stop`` runs, as lists of instances (for tests, docs)."""
    out: list[list[Instance]] = []
    first: Point | None = Unroller(workflow, start, stop).start
    while first is not None:
        win = plan_window(workflow, first, stop, budget)
        if win is None:
            break
        out.append([i for i, _ in Unroller(workflow, win.start, win.stop).walk()])
        first = win.next
    return out
