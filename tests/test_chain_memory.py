"""A finished window's Prefect bookkeeping is emptied at the boundary (run.release).

Prefect's background services and cancelled timers keep a finished flow run's
context reachable, and with it an Event and a state per task run; a plain
call's chain empties them when each window's flow run is over. The targets are
Prefect attributes: the first test fails when an upgrade renames one, so the
growth cannot come back unnoticed. The figures: benchmarks/chain_windows.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect import flow, task
from prefect.context import FlowRunContext

from prefect_cycles import cyclic_flow
from prefect_cycles.run.release import TARGETS, release

contexts: list[FlowRunContext] = []


@task
def a(point: int) -> int:
    ctx = FlowRunContext.get()
    if ctx is not None and all(c is not ctx for c in contexts):
        contexts.append(ctx)
    return point


@task
def b(point: int) -> None: ...


@pytest.mark.usefixtures("prefect_server")
def test_every_release_target_exists_in_this_prefect() -> None:
    @flow
    def one() -> list[str]:
        a.submit(1).wait()
        ctx = FlowRunContext.get()
        assert ctx is not None and ctx.task_runner._cancel_events, "Prefect keeps one per run"
        return release(ctx)

    assert one() == [], f"Prefect no longer has {TARGETS}: update prefect_cycles.run.release"


@pytest.mark.usefixtures("prefect_server")
def test_a_chain_empties_the_bookkeeping_of_each_finished_window(tmp_path: Path) -> None:
    contexts.clear()
    fl = cyclic_flow(
        a,
        b,
        graph={"P1": "a[-P1] => a => b"},
        initial=1,
        name="chain-release",
        result_storage=tmp_path / "results",
        max_instances_per_run=4,
    )
    out = fl(stop=6)
    assert out["succeeded"] == 12 and len(out["flow_runs"]) == 3
    assert len(contexts) == 3
    for ctx in contexts:
        assert ctx.task_runner._cancel_events == {}
        assert ctx.run_results == {}
        assert len(ctx.result_store.cache) == 0
