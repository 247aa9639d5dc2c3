"""Leases: each running flow run of a workflow says so beside the results, with a heartbeat.

A flow run killed with SIGKILL (or whose machine died) never tells the
server, so it stays ``Running`` for ever. While it runs, a flow run keeps a
lease file in ``<locks>/runs/<flow-run-id>.json`` naming its workflow, host and
process, and touches it every :data:`~.runonce.HEARTBEAT` seconds; it removes
the lease when it ends. The next run of the same workflow that finds a lease
whose holder is dead (:func:`~.runonce.why_dead`: the process is gone, or no
heartbeat for :data:`~.runonce.STALE` seconds) marks that flow run
``Crashed``, naming itself as the run that took over, removes the lease, and
deletes the flow run a plain call had created ahead for its next window
(never run: see :class:`~.handover.WindowRuns`).
The same test breaks the dead run's instance locks (:class:`~.runonce.RunOnceLocks`).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .handover import drop_successors
from .runonce import HEARTBEAT, RUNS, RunOnceLocks, me, why_dead

if TYPE_CHECKING:
    from .resume import Resume


def current_run() -> str | None:
    """The id of the flow run this code runs in, or None outside one."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    return str(run.id) if run is not None else None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def take_over(runs_dir: Path, identity: str, logger: Any) -> list[str]:
    """Mark ``Crashed`` every dead flow run of this workflow that left a lease; their ids."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext
    from prefect.states import Crashed

    ctx = FlowRunContext.get()
    mine = ctx.flow_run if ctx else None
    taken: list[str] = []
    for path in sorted(runs_dir.glob("*.json")) if runs_dir.is_dir() else []:
        lease = _read(path)
        if lease is None or lease.get("identity") != identity:
            continue
        if mine is not None and lease.get("run") == str(mine.id):
            continue
        reason = why_dead(lease, runs_dir)
        if reason is None:
            continue
        old = lease.get("run")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        if not old:
            continue
        who = f"flow run {mine.name!r} ({mine.id})" if mine is not None else "a later run"
        message = (
            f"Flow run {lease.get('name')!r} ({old}) died without ending: {reason}. "
            f"{who} of the same workflow took over."
        )
        try:
            with get_client(sync_client=True) as client:
                run = client.read_flow_run(old)
                if run.state is not None and not run.state.is_final():
                    client.set_flow_run_state(old, Crashed(message=message), force=True)
                    logger.warning("Marked %s", message)
                    taken.append(old)
                drop_successors(client, run, logger)  # a window's flow run created ahead
        except Exception as exc:  # the run may be gone, or on another server
            logger.warning("Could not mark dead flow run %s Crashed: %s", old, exc)
    return taken


@contextlib.contextmanager
def lease(runs_dir: Path, identity: str) -> Iterator[Path | None]:
    """Hold a lease for the current flow run while the body runs, with a heartbeat."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    name = f"{run.id}.json" if run is not None else f"pid-{os.getpid()}.json"
    path = runs_dir / name
    record = {
        **me(str(run.id) if run is not None else None),
        "identity": identity,
        "name": run.name if run is not None else None,
    }
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record))
    except OSError:
        yield None  # no lease on a read-only or full store: storage faults are reported apart
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT):
            with contextlib.suppress(OSError):
                os.utime(path)

    beater = threading.Thread(target=beat, name="prefect-cycles-lease", daemon=True)
    beater.start()
    try:
        yield path
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def guarded(resume: Resume | None, logger: Any) -> Iterator[Resume | None]:
    """Run one flow run's body under run-once locks and a lease, after taking over dead runs.

    Yields the resume to submit with (its lock manager resolved), or None.
    """
    if resume is None:
        yield None
        return
    resume = resume.for_run()
    locks = resume.lock_manager
    if not isinstance(locks, RunOnceLocks):  # the user's own lock manager: no leases
        yield resume
        return
    take_over(locks.runs_dir, resume.flow, logger)
    with lease(locks.runs_dir, resume.flow):
        yield resume


__all__ = ["RUNS", "current_run", "guarded", "lease", "take_over"]
