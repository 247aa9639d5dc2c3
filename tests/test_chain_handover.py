"""The hand-over between windows of a plain call, made cheap: what it keeps, pinned.

Each boundary of a chain used to wait for Prefect's heartbeat thread (up to 1 s), for
a background labelling of the run that the SQLite server often refused with a 503
(retried after 2 s), and for a full garbage collection; each window opened a client
of its own. These tests pin the behaviour that replaced them (not their speed: see
benchmarks/chain_windows.py): each window's flow run is created named, tagged and
labelled; the heartbeat event still comes, from the window itself; the chain shares
one client; the heap is frozen while the chain runs and thawed after; the next
window's flow run is created ahead, Pending, and deleted if it never runs (the chain
stopped, or its predecessor was found dead).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.context import SyncClientContext
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.events.worker import EventsWorker
from prefect.runtime import flow_run as this_run
from prefect.settings import PREFECT_API_URL, get_current_settings

from prefect_cycles import cyclic_flow, stop_cycling
from prefect_cycles.run import chain, overlap
from prefect_cycles.run.handover import PREDECESSOR_LABEL, TAG_PREFIX, WINDOW_LABEL

#: What the task bodies saw, by window start point.
SEEN: dict[int, dict[str, Any]] = {}


@task
def a(point: int) -> None:
    """Look at the window's flow run and this process while the window runs."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(this_run.id)
    ctx = SyncClientContext.get()
    SEEN[point] = {
        "run": run,
        "threads": {t.name for t in threading.enumerate()},
        "frozen": gc.get_freeze_count(),
        "client": ctx.client if ctx else None,
    }


@task
def b(point: int) -> None: ...


def _flow(name: str, storage: Path):
    return cyclic_flow(
        a,
        b,
        graph={"P1": "a[-P1] => a => b"},
        initial=1,
        name=name,
        result_storage=storage,
        max_instances_per_run=2,  # one point a window
    )


@pytest.mark.usefixtures("prefect_server")
def test_a_plain_calls_windows_are_created_named_tagged_and_labelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    relabelled: list[object] = []
    monkeypatch.setattr(chain, "label_run", lambda *args: relabelled.append(args))
    SEEN.clear()
    out = _flow("handover-labels", tmp_path)(stop=3)
    runs = out["flow_runs"]
    assert len(runs) == 3
    assert relabelled == [], "no window needed naming after it started"
    for point, run_id in zip((1, 2, 3), runs, strict=True):
        run = SEEN[point]["run"]  # as its own task saw it, while the window ran
        assert str(run.id) == run_id
        assert run.name == f"handover-labels[{point}..{point}]"
        assert TAG_PREFIX + "handover-labels" in run.tags
        assert run.labels[WINDOW_LABEL] == str(point)
        if point > 1:
            assert run.labels[PREDECESSOR_LABEL] == runs[point - 2]
        else:
            assert PREDECESSOR_LABEL not in run.labels
        assert "prefect.flow.id" in run.labels  # the server's own labels are kept


def _heartbeats(run_id: str) -> list:
    with get_client(sync_client=True) as client:
        page = client.read_events(
            filter=EventFilter(
                event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{run_id}"]),
            ),
            limit=50,  # the server's most (the client's default asks for 100)
        )
    return page.events


@pytest.mark.usefixtures("prefect_server")
def test_each_window_still_emits_its_heartbeat_and_the_settings_come_back(
    tmp_path: Path,
) -> None:
    SEEN.clear()
    before = get_current_settings().flows.heartbeat_frequency
    out = _flow("handover-heartbeat", tmp_path)(stop=2)
    assert get_current_settings().flows.heartbeat_frequency == before
    assert all("prefect-cycles-heartbeat" in SEEN[p]["threads"] for p in (1, 2))
    EventsWorker.drain_all(timeout=30)
    for run_id in out["flow_runs"]:
        deadline = time.monotonic() + 60
        while not (events := _heartbeats(run_id)) and time.monotonic() < deadline:
            time.sleep(0.5)  # the server stores events in the background
        assert events, f"no heartbeat event for flow run {run_id}"
        event = events[0]
        assert event.resource.name.startswith("handover-heartbeat[")
        assert {r.role for r in event.related} >= {"flow"}


@pytest.mark.usefixtures("prefect_server")
def test_the_windows_share_one_client_and_a_frozen_heap_thawed_at_the_end(
    tmp_path: Path,
) -> None:
    SEEN.clear()
    assert gc.get_freeze_count() == 0
    _flow("handover-session", tmp_path)(stop=3)
    clients = [SEEN[p]["client"] for p in (1, 2, 3)]
    assert clients[0] is not None and all(c is clients[0] for c in clients)
    assert all(SEEN[p]["frozen"] > 0 for p in (1, 2, 3)), "the heap is frozen during the chain"
    assert gc.get_freeze_count() == 0, "and thawed after it"


# -- the next window's flow run, created ahead ---------------------------------------------


def _runs_of(name: str) -> list:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[TAG_PREFIX + name]))
        )


@task
def peek(point: int) -> None:
    """In window 1: the flow run of window 2 already exists, Pending, named and linked."""
    if point != 1:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = [r for r in _runs_of("handover-peek") if r.name == "handover-peek[2..2]"]
        if waiting:
            SEEN[point] = {"next": waiting[0], "me": str(this_run.id)}
            return
        time.sleep(0.2)


@pytest.mark.usefixtures("prefect_server")
def test_the_next_windows_flow_run_waits_pending_and_none_is_left_when_the_chain_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows one after another create the next one's run ahead (overlapping ones start it).
    monkeypatch.setattr(overlap, "OVERLAP_WINDOWS", False)
    SEEN.clear()
    fl = cyclic_flow(
        peek,
        graph={"P1": "peek[-P1] => peek"},
        initial=1,
        name="handover-peek",
        result_storage=tmp_path,
        max_instances_per_run=1,
    )
    out = fl(stop=3)
    nxt = SEEN[1]["next"]
    assert nxt.state.is_pending(), "created ahead, it waited while window 1 ran"
    assert nxt.labels[PREDECESSOR_LABEL] == SEEN[1]["me"] and nxt.labels[WINDOW_LABEL] == "2"
    assert out["flow_runs"][1] == str(nxt.id), "window 2 ran in the flow run made for it"
    runs = _runs_of("handover-peek")
    assert sorted(str(r.id) for r in runs) == sorted(out["flow_runs"])
    assert all(r.state.is_completed() for r in runs)

    SEEN.clear()

    @task
    def halt(point: int):
        return stop_cycling() if point == 2 else None

    stopped = cyclic_flow(
        halt,
        graph={"P1": "halt[-P1] => halt"},
        initial=1,
        name="handover-halt",
        result_storage=tmp_path / "halt",
        max_instances_per_run=1,
    )
    out = stopped(stop=5)
    assert out["stopped_at"] == 2 and len(out["flow_runs"]) == 2
    runs = _runs_of("handover-halt")
    assert sorted(str(r.id) for r in runs) == sorted(out["flow_runs"]), (
        "the flow run made ahead for window 3 went when the chain stopped"
    )


@pytest.mark.usefixtures("prefect_server")
def test_a_killed_windows_waiting_successor_goes_when_a_rerun_takes_over(tmp_path: Path) -> None:
    hold, ledger = tmp_path / "hold", tmp_path / "ledger.txt"
    hold.touch()
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_HOME": str(tmp_path / "home"),
        "CYCLES_LEDGER": str(ledger),
        "CYCLES_RESULTS": str(tmp_path / "results"),
        "CYCLES_HOLD": str(hold),
    }
    cmd = [sys.executable, str(Path(__file__).parent / "data" / "handover" / "ahead.py")]
    first = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        waiting: list = []
        while not waiting:
            assert first.poll() is None and time.monotonic() < deadline, "never reached a[2]"
            if ledger.exists() and "run " in ledger.read_text():
                waiting = [r for r in _runs_of("handover-ahead") if r.name.endswith("[3..3]")]
            time.sleep(0.1)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    dead = ledger.read_text().split()[1]
    assert waiting[0].state.is_pending() and waiting[0].labels[PREDECESSOR_LABEL] == dead

    hold.unlink()
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    reran = json.loads(again.stdout.strip().splitlines()[-1])["flow_runs"]
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(dead).state.is_crashed()
    left = {str(r.id): r for r in _runs_of("handover-ahead")}
    assert str(waiting[0].id) not in left, "the dead window's waiting successor was deleted"
    assert not [r for r in left.values() if r.state.is_pending()]
    assert set(reran) <= set(left) and len(reran) == 3  # windows 2, 3 and 4 again
