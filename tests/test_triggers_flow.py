"""Job outputs, clock-expire and queues in real Prefect flow runs.

``:submitted`` (handed to the task runner), ``:submit-failed`` (refused or
crashed before the body started), ``:expired`` (clock-expire time passed),
and queue limits, which hold in every task runner because the scheduler, not
a worker, holds the queued instances.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from flowruns import log_messages, task_runs
from handshake import HANDSHAKE, marker, task_runner, wait_for
from prefect import task

from prefect_cycles import cycle, cyclic_flow

pytestmark = pytest.mark.usefixtures("prefect_server")


# -- :submitted ---------------------------------------------------------------------------


@task
def long_job(point: int) -> None:
    if wait_for(marker(f"watcher.{point}")):
        marker(f"long_job.{point}.saw-watcher").touch()


@task
def watcher(point: int) -> None:
    marker(f"watcher.{point}").touch()


def test_submitted_starts_children_once_the_runner_has_the_task(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        long_job,
        watcher,
        graph={"P1": "long_job:submit => watcher"},
        initial=1,
        final=1,
        name="submitted",
        resume=False,
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    assert (tmp_path / "long_job.1.saw-watcher").exists()


# -- :submit-failed -----------------------------------------------------------------------


CLOSED = "prefect-cycles-test-closed"


@pytest.fixture
def closed_tag():
    """A tag whose Prefect concurrency limit is 0: Prefect rejects its task runs before
    their bodies start (ConcurrencySlotAcquisitionError), a real submit-failure."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.create_concurrency_limit(tag=CLOSED, concurrency_limit=0)
        yield CLOSED
        client.delete_concurrency_limit_by_tag(tag=CLOSED)


@task(tags=[CLOSED])
def gated(point: int) -> None:
    raise AssertionError("the body of a rejected task run never starts")


@task
def recover(point: int) -> str:
    return "recovered"


@task
def carry_on(point: int) -> None: ...


def test_submit_failed_routes_to_recovery(closed_tag):
    flow = cyclic_flow(
        gated,
        recover,
        carry_on,
        graph={"P1": "gated:submit-fail? => recover\ngated? => carry_on"},
        initial=1,
        final=2,
        name="submit-failed",
        resume=False,
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    runs = task_runs(state, expect=["recover[1]", "recover[2]"], rejected=["gated"])
    assert {n for n in runs if not n.startswith("gated")} == {"recover[1]", "recover[2]"}
    assert any("gated[1] submit-failed (it never started)" in m for m in log_messages(state))
    summary = flow()  # a plain call returns the summary
    assert summary["failed"] == [] and summary["succeeded"] == 2


def test_a_required_submission_that_fails_fails_the_run(closed_tag):
    flow = cyclic_flow(
        gated,
        carry_on,
        graph={"P1": "gated => carry_on"},
        initial=1,
        final=1,
        name="submit-failed-required",
        resume=False,
    )
    state = flow(return_state=True)
    assert state.is_failed() and "failed: gated[1]" in state.message


# -- clock-expire -------------------------------------------------------------------------


@task
def stale(point) -> None:
    marker("stale-ran").touch()


@task
def mourn(point) -> None:
    marker(f"mourn.{point:%H}").touch()


@task
def fresh(point) -> None:
    marker(f"fresh.{point:%H}").touch()


def test_clock_expire_skips_stale_work_and_catches_up(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        stale,
        mourn,
        fresh,
        graph={"PT6H": "stale:expired? => mourn\nstale? => fresh"},
        clock_expire={"stale": "PT1H"},  # every point of 2020 is long past
        initial="20200101T00Z",
        final="20200101T12Z",
        name="clock-expire",
        resume=False,
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    assert not (tmp_path / "stale-ran").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mourn.00", "mourn.06", "mourn.12"]
    messages = log_messages(state)
    assert any(
        "stale[20200101T0000Z] expired: not started by 2020-01-01T01:00:00Z" in m for m in messages
    )


@cycle("PT6H", clock_expire="P1000Y")  # a far future: never expires
@task
def current(point) -> None:
    marker(f"current.{point:%H}").touch()


def test_clock_expire_in_the_decorators_lets_current_work_run(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        current, initial="20200101T00Z", final="20200101T06Z", name="clock-expire-dec", resume=False
    )
    flow()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.00", "current.06"]


# -- queues -------------------------------------------------------------------------------


@task
def member(point: int) -> None:
    """Count the members running now, through files (across processes)."""
    here = Path(os.environ[HANDSHAKE])
    mine = here / f"running.{os.getpid()}.{threading.get_ident()}.{point}.{time.monotonic_ns()}"
    mine.touch()
    seen = len(list(here.glob("running.*")))
    (here / f"seen.{mine.name}").write_text(str(seen))
    time.sleep(0.5)
    mine.unlink()


@pytest.mark.parametrize("kind", ["thread", "process", "dask"])
def test_a_queue_limit_holds_in_every_task_runner(kind, tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        member,
        graph={"P1": "member"},
        queues={"few": (2, [member])},
        initial=1,
        final=6,
        runahead="P5",  # all six points ready at once: only the queue holds them
        task_runner=task_runner(kind, 4 if kind != "thread" else 8),
        name=f"queue-{kind}",
        resume=False,
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    seen = [int(p.read_text()) for p in tmp_path.glob("seen.*")]
    assert len(seen) == 6
    assert max(seen) <= 2, f"{max(seen)} members ran at once under a limit of 2"
