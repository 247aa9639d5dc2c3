"""A finished window's Prefect bookkeeping is emptied at the boundary (run.release).

Prefect's background services and cancelled timers keep a finished flow run's
context reachable, and with it an Event and a state per task run; a plain
call's chain empties them when each window's flow run is over. The targets are
Prefect attributes: the first test fails when an upgrade renames one, so the
growth cannot come back unnoticed. Overlapping windows must not pile up
behind a slow API call either (the last test). The figures:
benchmarks/chain_windows.py.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flowruns import flow_runs_named
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.context import FlowRunContext

from prefect_cycles import cyclic_flow
from prefect_cycles.run import chain, overlap
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


# -- overlapping windows: a slow API call beside a window holds nothing up -----------------

#: How long the first window's naming waits at most (the test then fails, having piled up).
PATIENCE = 120

OVERLAP_NAME = "chain-overlap-bounded"

#: The states of a flow run that is over.
FINAL = sorted({StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED})

#: The thread of the chain's first window (run/overlap.py names each after its first point).
FIRST = "prefect-cycles-window-1"

#: Opened once the first window's flow run is over in this process, or once windows pile up.
gate = threading.Event()
seen: dict[str, Any] = {}


@task
def c(point: int) -> None:
    """How many of the chain's flow runs are not over, by the server."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[OVERLAP_NAME])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(not_any_=FINAL))
            ),
        )
    seen.setdefault("not over", []).append((point, len(runs)))


@task
def d(point: int) -> None: ...


def watch(stop: threading.Event) -> None:
    """Open the gate once the first window's thread is gone (its flow run is over), or
    once the windows' threads pile up (every window of the chain waiting behind it)."""
    first_seen = False
    while not stop.wait(0.02):
        windows = [t.name for t in threading.enumerate() if t.name.startswith("prefect-cycles-w")]
        if FIRST in windows:
            first_seen = True
        elif first_seen:
            seen["opened by"] = "the first window's flow run was over"
        if len(windows) >= 7:
            seen["opened by"] = f"{len(windows)} windows' flow runs at once"
        if "opened by" in seen:
            gate.set()
            return


@pytest.mark.usefixtures("prefect_server")
def test_overlapping_windows_do_not_pile_up_behind_a_slow_api_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first window's naming (API calls a loaded server answers in minutes) waits
    until its flow run is over: it must not keep that flow run running, and the windows
    after it must not pile up behind it, each holding its flow run's bookkeeping.

    Before the fix every window after it waited for its record, and the chain went on
    starting new ones: RSS grew about 2 MB a window (docs/benchmarks.md)."""
    label_run = chain.label_run

    def slow_label_run(cflow: Any, wf: Any, start: Any, stop: Any, chain_param: Any) -> None:
        if int(chain_param.get("window") or 1) == 1:
            gate.wait(PATIENCE)
        label_run(cflow, wf, start, stop, chain_param)

    monkeypatch.setattr(chain, "label_run", slow_label_run)
    # labelled beside the run, as subflow and deployment windows are (a plain call's are
    # created labelled, unless creating them so failed)
    monkeypatch.setattr(chain, "labelled", lambda *args: False)
    monkeypatch.setattr(overlap, "OVERLAP_WINDOWS", True)
    gate.clear()
    seen.clear()
    fl = cyclic_flow(
        c,
        d,
        graph={"P1": "c[-P1] => c => d"},
        initial=1,
        name=OVERLAP_NAME,
        result_storage=tmp_path / "results",
        max_instances_per_run=4,
    )
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(stop,), daemon=True)
    watcher.start()
    try:
        out = fl(stop=16)
    finally:
        stop.set()
        watcher.join()
    assert out["succeeded"] == 32 and len(out["flow_runs"]) == 8, out
    assert seen.get("opened by") == "the first window's flow run was over", seen
    most = max(n for _, n in seen["not over"])
    assert most <= 4, f"{most} flow runs of the chain not over at once: {seen['not over']}"
    # named all the same before the call returns; the first after its flow run was over,
    # so with an API client of its own (the flow run's closed when it ended)
    names = [r.name for r in flow_runs_named(OVERLAP_NAME)]
    assert names == [f"{OVERLAP_NAME}[{p}..{p + 1}]" for p in range(1, 16, 2)], names
