"""The flow builder against a real Prefect server: task runs, edges, states, runners."""

from __future__ import annotations

import inspect
import threading
from collections import defaultdict
from pathlib import Path

import pytest
from flowruns import log_messages, task_runs
from prefect import get_run_logger, task
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner

from prefect_cycles.errors import CycleError, ValidationError
from prefect_cycles.frontends.decorators import cycle, previous
from prefect_cycles.run.flow import CyclicFlow, cyclic_flow, stop_cycling

pytestmark = pytest.mark.usefixtures("prefect_server")


# -- the seed workflow, in both front ends ------------------------------------------


@task
def prep():
    get_run_logger().info("prep.1 says hi!")


# foo[N] announces it has started; bar[N] waits for foo[N+1] to start, which only
# happens if the two run at the same time (else bar times out and fails).
_foo_started: defaultdict[int, threading.Event] = defaultdict(threading.Event)
_seen_by_bar: dict[int, int | None] = {}


@pytest.fixture(autouse=True)
def _fresh_rendezvous():
    _foo_started.clear()
    _seen_by_bar.clear()


@cycle("R1", after=prep)
@cycle("P1", after=previous())
@task
def foo(point: int, previous: int = 0) -> int:
    _foo_started[point].set()
    get_run_logger().info(f"foo.{point} says hi!")
    return previous + point


@cycle("P1", after=foo)
@task
def bar(point: int, foo: int | None = None) -> int | None:
    if point < flow_run.parameters["stop"] and not _foo_started[point + 1].wait(timeout=60):
        raise RuntimeError(f"foo[{point + 1}] did not start while bar[{point}] ran")
    get_run_logger().info(f"bar.{point} says hi!")
    _seen_by_bar[point] = foo
    return foo


# These tests watch the task bodies run every time, so no resume (tests/test_resume.py).
seed = cyclic_flow(prep, foo, bar, initial=1, final=4, name="seed", resume=False)


def parents(runs: dict, name: str) -> set[str]:
    by_id = {r.id: n for n, r in runs.items()}
    return {by_id[i.id] for i in runs[name].task_inputs.get("wait_for", [])}


def test_seed_is_one_task_run_per_instance_with_real_edges():
    state = seed(return_state=True)
    assert state.is_completed(), state.message
    expected = {"prep[1]"} | {f"{t}[{p}]" for t in ("foo", "bar") for p in range(1, 5)}
    runs = task_runs(state, expected)
    assert set(runs) == expected
    assert all(r.state.is_completed() for r in runs.values())
    assert runs["foo[3]"].tags == []  # no per-point tags unless asked: see tag_points
    assert parents(runs, "foo[1]") == {"prep[1]"}
    assert parents(runs, "foo[3]") == {"foo[2]"}
    assert parents(runs, "bar[2]") == {"foo[2]"}
    assert parents(runs, "prep[1]") == set()
    # Results flow from cycle to cycle (Prefect 1's task_loop_result) and to children.
    assert state.result(raise_on_failure=False)["succeeded"] == 9
    # bar.N and foo.N+1 ran at the same time: bar.N waited for foo.N+1 to start.
    b2, f3 = runs["bar[2]"], runs["foo[3]"]
    assert f3.start_time < b2.end_time
    messages = log_messages(state)
    for text in ("prep.1 says hi!", "foo.2 says hi!", "bar.4 says hi!"):
        assert text in messages


def test_results_pass_between_cycles_and_to_children():
    _seen_by_bar.clear()
    state = seed(start=1, stop=3, return_state=True)
    assert state.is_completed(), state.message
    # foo.N = foo.N-1 + N with foo's default (0) at the first point; bar gets foo.N.
    assert _seen_by_bar == {1: 1, 2: 3, 3: 6}
    # A warm start has no foo before point 2: previous takes its default again.
    _seen_by_bar.clear()
    assert seed(start=2, stop=3, return_state=True).is_completed()
    assert _seen_by_bar == {2: 2, 3: 5}


def test_points_can_be_tags_on_request():
    flow = cyclic_flow(
        where, graph={"P1": "where[-P1] => where"}, initial=1, final=2, tag_points=True
    )
    runs = task_runs(flow(return_state=True))
    assert runs["where[1]"].tags == ["point:1"]
    assert runs["where[2]"].tags == ["point:2"]


def test_flow_parameters_choose_the_window():
    assert isinstance(seed, CyclicFlow)
    params = seed.parameters.model_dump()["properties"]
    assert params["start"]["default"] == 1
    assert params["stop"]["default"] == 4
    assert params["runahead"]["default"] == "P4"
    state = seed(start=3, stop=4, return_state=True)
    assert state.is_completed()
    assert set(task_runs(state)) == {"foo[3]", "foo[4]", "bar[3]", "bar[4]"}  # warm start


# -- failures and optional outputs ----------------------------------------------------


@task
def fragile(point: int) -> int:
    if point == 2:
        raise RuntimeError("fragile fails at 2")
    return point


@task
def after_fragile(point: int) -> int:
    return point


@task
def independent(point: int) -> int:
    return point


def test_failure_blocks_only_what_depends_on_it_and_the_flow_fails_honestly():
    flow = cyclic_flow(
        fragile,
        after_fragile,
        independent,
        graph={"P1": "fragile[-P1] => fragile => after_fragile\nindependent"},
        initial=1,
        final=5,
        runahead="P1",
        name="fragile",
    )
    state = flow(return_state=True)
    assert state.is_failed()
    assert "fragile[2]" in state.message and "after_fragile[2]" in state.message
    runs = task_runs(state)
    assert runs["fragile[2]"].state.is_failed()
    assert "fragile[3]" not in runs  # blocked, never submitted
    assert runs["independent[3]"].state.is_completed()  # independent work went on
    assert "independent[4]" not in runs  # until the runahead limit (P1) stalled it


@task
def risky(point: int) -> int:
    if point == 1:
        raise RuntimeError("risky fails at 1")
    return point


@task
def recover(point: int) -> str:
    return f"recovered {point}"


@task
def onward(point: int) -> int:
    return point


def test_optional_failure_routes_to_recovery_and_the_flow_completes():
    flow = cyclic_flow(
        risky,
        recover,
        onward,
        graph={"P1": "risky? => onward\nrisky:fail? => recover"},
        initial=1,
        final=2,
        name="recovering",
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    runs = task_runs(state)
    assert runs["recover[1]"].state.is_completed()
    assert "onward[1]" not in runs and "recover[2]" not in runs
    assert runs["onward[2]"].state.is_completed()
    assert parents(runs, "recover[1]") == {"risky[1]"}


_attempts: dict[int, int] = {}


@task(retries=2, retry_delay_seconds=0)
def flaky(point: int) -> int:
    _attempts[point] = _attempts.get(point, 0) + 1
    if _attempts[point] == 1:
        raise RuntimeError("first try fails")
    return point


def test_task_retries_still_work():
    _attempts.clear()
    flow = cyclic_flow(flaky, graph={"P1": "flaky[-P1] => flaky"}, initial=1, final=3)
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    assert _attempts == {1: 2, 2: 2, 3: 2}


# -- loop until ----------------------------------------------------------------------


@cycle("P1", after=previous())
@task
def converge(point: int, previous: float = 100.0):
    value = previous / 2
    if value < 1:
        return stop_cycling(value, message=f"converged at point {point}")
    return value


def test_a_task_can_end_the_cycling_from_inside():
    flow = cyclic_flow(converge, initial=1, name="converge")  # no final point
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["stopped_at"] == 7  # an int in integer cycling; 100 / 2**7 < 1
    runs = task_runs(state)
    assert set(runs) == {f"converge[{p}]" for p in range(1, 8)}
    assert runs["converge[7]"].state.name == "StopCycling"


# -- errors at build time ------------------------------------------------------------


def test_missing_implementation_is_named():
    with pytest.raises(ValidationError, match="no Prefect task to run them: ghost"):
        cyclic_flow(plain_prep, graph={"R1": "plain_prep => ghost"}, initial=1, final=1)


@task
def needs_stuff(point: int, mystery):
    return mystery


def test_unfillable_parameter_is_named_with_the_fix():
    with pytest.raises(ValidationError, match="mystery"):
        cyclic_flow(needs_stuff, graph={"P1": "needs_stuff"}, initial=1, final=1)


def test_decorated_tasks_with_a_graph_is_refused():
    with pytest.raises(CycleError, match="one front end"):
        cyclic_flow(prep, foo, bar, graph={"P1": "foo"}, initial=1, final=1)


@task
def plain_prep(point: int) -> None:
    get_run_logger().info(f"prep.{point} says hi!")


@task(name="foo")
def plain_foo(point: int) -> None:
    get_run_logger().info(f"foo.{point} says hi!")


@task(name="bar")
def plain_bar(point: int) -> None:
    get_run_logger().info(f"bar.{point} says hi!")


def test_cylc_source_builds_the_same_flow(tmp_path: Path):
    (tmp_path / "flow.cylc").write_text(
        inspect.cleandoc(
            """
            [scheduling]
                cycling mode = integer
                initial cycle point = 1
                final cycle point = 2
                [[graph]]
                    R1 = "plain_prep => foo"
                    P1 = "foo[-P1] => foo => bar"
            [runtime]
                [[plain_prep, foo, bar]]
            """
        )
    )
    flow = cyclic_flow(
        plain_prep, plain_foo, plain_bar, cylc=tmp_path / "flow.cylc", name="from-cylc"
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    assert set(task_runs(state)) == {"plain_prep[1]", "foo[1]", "foo[2]", "bar[1]", "bar[2]"}


# -- other task runners --------------------------------------------------------------


@task
def where(point: int, previous: int = 0) -> int:
    return previous * 10 + point


def test_process_pool_task_runner():
    flow = cyclic_flow(
        where,
        graph={"P1": "where[-P1] => where"},
        initial=1,
        final=3,
        task_runner=ProcessPoolTaskRunner(max_workers=2),
        name="processes",
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    runs = task_runs(state)
    assert set(runs) == {"where[1]", "where[2]", "where[3]"}
    assert parents(runs, "where[3]") == {"where[2]"}


def test_dask_task_runner_on_a_local_cluster():
    from prefect_dask import DaskTaskRunner

    flow = cyclic_flow(
        where,
        graph={"P1": "where[-P1] => where"},
        initial=1,
        final=3,
        task_runner=DaskTaskRunner(
            cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True}
        ),
        name="dask",
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    runs = task_runs(state)
    assert set(runs) == {"where[1]", "where[2]", "where[3]"}
    assert parents(runs, "where[2]") == {"where[1]"}


def test_deployments_find_the_flow_under_its_module_variable():
    deployment = seed.to_deployment(name="seed-deployment")
    assert deployment.entrypoint.endswith("test_flow.py:seed")
