"""The hand-over between windows of a plain call, made cheap: what it keeps, pinned.

Each boundary of a chain used to wait for Prefect's heartbeat thread (up to 1 s), for
a background labelling of the run that the SQLite server often refused with a 503
(retried after 2 s), and for a full garbage collection; each window opened a client
of its own. These tests pin the behaviour that replaced them (not their speed: see
benchmarks/chain_windows.py): each window's flow run is created named, tagged and
labelled; the heartbeat event still comes, from the window itself; the chain shares
one client; the heap is frozen while the chain runs and thawed after.
"""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prefect import task
from prefect.client.orchestration import get_client
from prefect.context import SyncClientContext
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.events.worker import EventsWorker
from prefect.runtime import flow_run as this_run
from prefect.settings import get_current_settings

from prefect_cycles import cyclic_flow
from prefect_cycles.run import chain
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
