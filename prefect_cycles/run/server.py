"""Prefect's temporary server, made fit for a first run on a slow machine.

With no ``PREFECT_API_URL``, the first Prefect call of a process starts a
temporary local server and waits ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``
(20 s by default) for it. Its first start on a fresh ``PREFECT_HOME`` migrates a
new SQLite database, which took 36 to 49 s on a loaded 2-core machine: the
README's first command failed there with a raw ``RuntimeError``. So a cyclic
flow that is about to start that server raises the wait (only when the user has
not set it) and says, in one line, what it waits for.

The server stops when the process exits, and it records task-run states from
the client's events in the background. A cyclic flow ends many task runs in its
last moments (a plain 80-task flow does the same), so the server was still
writing them when it was stopped, and printed ``task_run_recorder - Error
flushing 1 events`` with ``CancelledError`` tracebacks. So after a cyclic flow
run on the temporary server, the call waits (bounded) until the server has
recorded every task run it submitted in a final state.

One more traceback came from Prefect itself, not from the flow: at the first
start on a fresh database, the server's telemetry heartbeat writes its session
while the server's other start-up jobs write too, and SQLite refuses it
(``sqlite3.OperationalError: database is locked``, about 100 lines; a plain
one-task Prefect flow on a fresh ``PREFECT_HOME`` under load prints it as
well). So the temporary server a cyclic flow starts has its telemetry off by
default; ``PREFECT_SERVER_ANALYTICS_ENABLED=true`` turns it back on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from uuid import UUID

from prefect.logging import get_logger
from prefect.settings import (
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    get_current_settings,
    temporary_settings,
)

from .loop import watching
from .scheduler import Scheduler

#: Seconds to wait for a temporary server to start, unless the user set their own.
STARTUP_TIMEOUT = 600

#: At most this many seconds for the temporary server to record the last task runs.
SETTLE_TIMEOUT = 60.0

#: Seconds between checks while it does, and before saying that the call waits.
SETTLE_POLL, SETTLE_TELL = 0.2, 3.0

#: Task-run state types that the server records last.
FINAL_TYPES = ["COMPLETED", "FAILED", "CRASHED", "CANCELLED"]

logger = get_logger("prefect_cycles")


def on_temporary_server() -> bool:
    """True when Prefect calls go to a temporary server that this process starts (or started)."""
    settings = get_current_settings()
    return not settings.api.url and settings.server.ephemeral.enabled


def temporary_server_running() -> bool:
    """Whether this process's temporary server is already up."""
    from prefect.server.api.server import SubprocessASGIServer

    server = getattr(SubprocessASGIServer, "_instances", {}).get(None)
    return bool(server is not None and server.running)


@contextmanager
def patient_start() -> Iterator[None]:
    """Around a flow call: wait long enough for a temporary server that is about to start."""
    if not on_temporary_server() or temporary_server_running():
        yield
        return
    key = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS
    defaults = {key: STARTUP_TIMEOUT, PREFECT_SERVER_ANALYTICS_ENABLED: False}
    with temporary_settings(set_defaults=defaults):  # a user's own values win
        logger.info(
            "No PREFECT_API_URL is set, so Prefect starts a temporary local server; waiting up "
            "to %d s for it (the first start sets up a fresh database, which takes a minute "
            "on a slow machine; %s sets the limit)",
            key.value(),
            key.name,
        )
        yield


class _Submitted:
    """Counts the task runs each flow run submits, from the schedulers' events."""

    def __init__(self) -> None:
        self.counts: dict[UUID, int] = {}
        self._seen: set[int] = set()

    def watch(self, sched: Scheduler) -> None:
        if id(sched) in self._seen:
            return
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        if ctx is None or ctx.flow_run is None:
            return
        self._seen.add(id(sched))
        run_id = ctx.flow_run.id
        self.counts.setdefault(run_id, 0)

        def count(_inst: Any, event: str) -> None:
            if event == "submitted":
                self.counts[run_id] += 1

        sched.subscribe(count)


def _recorded(client: Any, run_id: UUID) -> int:
    """How many of the flow run's task runs the server holds in a final state."""
    body = {
        "flow_runs": {"id": {"any_": [str(run_id)]}},
        "task_runs": {"state": {"type": {"any_": FINAL_TYPES}}},
    }
    response = client.request("POST", "/task_runs/count", json=body)
    response.raise_for_status()
    return int(response.json())


def settle(counts: dict[UUID, int], timeout: float = SETTLE_TIMEOUT) -> bool:
    """Wait until the server has recorded every submitted task run; False if it timed out."""
    from prefect.client.orchestration import get_client

    pending = {run_id: n for run_id, n in counts.items() if n}
    if not pending:
        return True
    began = time.monotonic()
    told = False
    with get_client(sync_client=True) as client:
        while pending:
            pending = {r: n for r, n in pending.items() if _recorded(client, r) < n}
            waited = time.monotonic() - began
            if not pending:
                return True
            if waited > timeout:
                return False
            if not told and waited > SETTLE_TELL:
                told = True
                logger.info(
                    "Waiting for the temporary server to record the last task runs before "
                    "it stops (up to %d s)",
                    timeout,
                )
            time.sleep(SETTLE_POLL)
    return True


@contextmanager
def temporary_server_care() -> Iterator[None]:
    """Around a cyclic flow call: start the temporary server patiently, and let it settle."""
    if not on_temporary_server():
        yield
        return
    submitted = _Submitted()
    with ExitStack() as stack:
        stack.enter_context(patient_start())
        stack.enter_context(watching(submitted.watch))
        yield
    if temporary_server_running():
        try:
            settle(submitted.counts)
        except Exception as exc:  # never turn a finished run into an error
            logger.debug("could not check the temporary server's records: %s", exc)
