"""Suicide triggers ``foo:fail? => !bar``: bar's instance is removed, as in Cylc 8.

Removed means not run, blocking nothing (the flow run completes), and
reported as removed; what needed it is skipped. Real Prefect flow runs.
"""

from __future__ import annotations

import pytest
from flowruns import task_runs
from prefect import task

from prefect_cycles.errors import GraphSyntaxError
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.unroll import Instance
from prefect_cycles.run.flow import cyclic_flow
from prefect_cycles.run.scheduler import Scheduler

GRAPH = {
    "P1": """
        foo:finish => x => bar => baz
        foo? => y
        foo:fail? => !bar
    """
}


@task
def foo(point: int) -> None:
    if point == 2:
        raise RuntimeError("foo fails at 2")


@task
def x() -> None:
    pass


@task
def bar() -> None:
    pass


@task
def baz() -> None:
    pass


@task
def y() -> None:
    pass


def test_model_keeps_suicides_apart() -> None:
    wf = from_graph(GRAPH, 1, 3)
    assert [(d.recurrence, str(d.condition), d.target) for d in wf.suicides] == [
        ("P1", "foo:failed?", "bar")
    ]
    assert all(d.target != "bar" or "foo" not in str(d.condition) for d in wf.dependencies)


def test_scheduler_removes_the_instance_and_skips_what_needed_it() -> None:
    sched = Scheduler(from_graph(GRAPH, 1, 1))
    events: list[tuple[str, str]] = []
    sched.subscribe(lambda inst, event: events.append((inst.task, event)))
    sched.ready()
    sched.finished(Instance("foo", 1), succeeded=False)
    assert sched.removed == [Instance("bar", 1)]
    assert ("bar", "removed") in events and ("baz", "skipped") in events
    assert sched.failed == []


@pytest.mark.usefixtures("prefect_server")
def test_flow_run_completes_with_the_instance_removed() -> None:
    fl = cyclic_flow(foo, x, bar, baz, y, graph=GRAPH, initial=1, final=3, name="suicide")
    state = fl(return_state=True)
    assert state.is_completed(), state.message
    runs = task_runs(state)
    assert "bar[2]" not in runs and "baz[2]" not in runs
    assert {"bar[1]", "bar[3]", "baz[1]", "baz[3]", "x[2]"} <= set(runs)
    assert runs["foo[2]"].state.name == "Failed"
    assert state.result()["removed"] == ["bar[2]"]
    assert fl()["removed"] == ["bar[2]"]  # plainly too (resumed: foo[2] runs and fails again)


def test_bang_on_the_left_is_refused() -> None:
    with pytest.raises(GraphSyntaxError, match="suicide mark '!' not on the right"):
        from_graph({"P1": "!a => b"}, 1, 2)
