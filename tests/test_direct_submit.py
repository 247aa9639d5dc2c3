"""Submitting from the finishing worker thread, edges as task-run inputs, lean caching.

Behaviour only (speed is in benchmarks/flow_vs_hand_unrolled.py): on Prefect's
thread pool a parent's worker thread settles it and submits its children, the
server still stores every ``wait_for`` edge, no false nested-submission warning
is logged when more task runs are in flight than threads, and a task keeps any
caching that does something: only Prefect's default policy on an unpersisted
result becomes ``NO_CACHE``.
"""

from __future__ import annotations

import logging

import pytest
from flowruns import task_runs
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from prefect_cycles.run.flow import cyclic_flow

pytestmark = pytest.mark.usefixtures("prefect_server")

WIDTH = 40  # members per point: more task runs in flight than the runner's 16 threads
SEEN: dict[str, object] = {}


def _note(point: int) -> None:
    ctx = TaskRunContext.get()
    assert ctx is not None
    name = f"{ctx.task.name}[{point}]"
    SEEN[name] = ctx.task.cache_policy


@task
def start(point: int) -> None:
    _note(point)


@task
def member(point: int) -> None:
    _note(point)


@task(persist_result=True)
def kept(point: int) -> None:
    _note(point)


MEMBERS = [member.with_options(name=f"m{i}") for i in range(WIDTH)]
GRAPH = {"P1": "start[-P1] => start => " + " & ".join(t.name for t in MEMBERS) + " => kept"}


@pytest.fixture(autouse=True)
def _clear():
    SEEN.clear()


def parents(runs: dict, name: str) -> set[str]:
    by_id = {r.id: n for n, r in runs.items()}
    return {by_id[i.id] for i in runs[name].task_inputs.get("wait_for", [])}


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "return_state"])
def test_wide_fan_out_keeps_edges_and_logs_no_nested_warning(plain, caplog, tmp_path):
    fl = cyclic_flow(
        start, kept, *MEMBERS, graph=GRAPH, initial=1, final=3, name=f"wide-{plain}", resume=False
    )
    with caplog.at_level(logging.WARNING):
        state = fl(return_state=True) if not plain else None
        if plain:
            fl()
    nested = [r for r in caplog.records if "from within another task" in r.getMessage()]
    assert nested == []
    # every child but the first start ran after its parents, each a task run with its edges
    assert len(SEEN) == 3 * (WIDTH + 2)
    if state is not None:
        assert state.is_completed(), state.message
        runs = task_runs(state, [f"kept[{p}]" for p in range(1, 4)])
        assert parents(runs, "start[2]") == {"start[1]"}
        assert parents(runs, "m7[3]") == {"start[3]"}
        assert parents(runs, "kept[2]") == {f"m{i}[2]" for i in range(WIDTH)}
        assert all(r.state.is_completed() for r in runs.values())


def test_only_a_cache_policy_that_does_nothing_is_dropped():
    fl = cyclic_flow(
        start, kept, *MEMBERS, graph=GRAPH, initial=1, final=1, name="lean", resume=False
    )
    fl()
    assert SEEN["start[1]"] is NO_CACHE  # Prefect's default, result not persisted
    assert SEEN["kept[1]"] is not NO_CACHE  # persist_result=True: its key stays
    assert SEEN["kept[1]"] == kept.cache_policy
