"""Reading a flow run back from the Prefect server, for the flow tests."""

from __future__ import annotations

import time
from collections.abc import Collection

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker


def task_runs(state, expect: Collection[str] | None = None, rejected: Collection[str] = ()) -> dict:
    """The task runs of the flow run that ended in ``state``: see :func:`settled_runs`."""
    return settled_runs(str(state.state_details.flow_run_id), expect, rejected)


def _settled(run, rejected: Collection[str]) -> bool:
    """Named and final; or, for a task in ``rejected``, never started: Pending under its
    provisional name (``gated-357``) for good."""
    if "[" in run.name:
        return bool(run.state and run.state.is_final())
    return run.name.rsplit("-", 1)[0] in rejected and bool(run.state and run.state.is_pending())


def settled_runs(
    flow_run_id: str, expect: Collection[str] | None = None, rejected: Collection[str] = ()
) -> dict:
    """A flow run's task runs by name, once the server has recorded them.

    Prefect 3 records task runs from events, after the flow run returns; under
    load a read can briefly miss a run, show it under its provisional name
    (``bar-e05``) or in an earlier state. So this waits, for the names in
    ``expect`` when given, else for the same view twice, all named and final.
    The runs of the tasks named in ``rejected`` (the server refused them before they
    started) stay Pending and unnamed: they are taken as settled so, else every read
    would wait out the minute.
    """
    EventsWorker.drain_all(timeout=30)
    last: list = []
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            view = sorted((r.name, r.state.name if r.state else "") for r in runs)
            settled = all(_settled(r, rejected) for r in runs)
            if expect is not None:
                settled = settled and {r.name for r in runs} >= set(expect)
            else:
                settled = settled and view == last
            if settled or time.monotonic() > deadline:
                return {r.name: r for r in runs}
            last = view
            time.sleep(0.2)


def log_messages(state) -> list[str]:
    """The messages the flow run logged, once the log worker has sent them all."""
    APILogWorker.drain_all(timeout=10)
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    return [log.message for log in logs]


def flow_runs_named(name: str) -> list:
    """Every flow run of the flow ``name``, oldest first (a chain's windows in order)."""
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[name])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )
