"""The progress record of a chain: where to continue after a crash, kept beside the results.

A chain (see :mod:`prefect_cycles.run.chain`) writes one small record per
chain each time a window completes: the window's first point, the next
window's first point (the frontier) and the flow run that wrote it. Running
the workflow again reads it and starts at the frontier, so windows that
completed create no task runs and restart time does not grow with history.
The record is written through the same result store as the instances' results
(a directory, a block), under a key made of the flow's name and the chain's
first point; it carries a fingerprint of the tasks' code, so a changed task is
noticed and the instances are looked up instead (a per-instance cache key
includes the task's source, as in :mod:`prefect_cycles.run.resume`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

from prefect import task
from prefect.cache_policies import TASK_SOURCE
from prefect.results import ResultStore

from .resume import Resume

#: Bumped when the record's shape changes; an older record is then ignored (with a warning).
VERSION = 1


@task(name="prefect-cycles-progress")
def _record_holder() -> None:
    """Never run: the task whose result store the progress record is written with."""


@dataclass(frozen=True)
class Progress:
    """One chain's progress: the last completed window and where the next one starts.

    ``next`` is None when the chain has ended (stop point reached, or
    ``stopped_at``, a point where ``stop_cycling`` ended it).
    """

    flow: str
    origin: str
    fingerprint: str
    last_start: str
    last_stop: str
    next: str | None
    windows: int
    flow_run: str | None = None
    stopped_at: str | None = None
    version: int = VERSION


def fingerprint(resume: Resume, impls: dict[str, Any]) -> str:
    """A hash of every task's code, as Prefect's ``TASK_SOURCE`` sees it."""
    parts = []
    for name in sorted(impls):
        ctx = SimpleNamespace(task=resume.prepare(impls[name]))
        parts.append(f"{name}={TASK_SOURCE.compute_key(ctx, {}, {})}")  # type: ignore[arg-type]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class ProgressRecord:
    """Reads and writes the progress record of one chain (flow name and first point)."""

    def __init__(self, resume: Resume, origin: str) -> None:
        self.resume = resume
        self.origin = origin
        digest = hashlib.sha256(f"{resume.flow}\0{origin}".encode()).hexdigest()[:24]
        self.key = f"prefect-cycles-progress-{digest}"

    def store(self) -> ResultStore:
        return self.resume.store_for(self.resume.prepare(_record_holder))

    def read(self) -> tuple[Progress | None, str | None]:
        """The record, or None with why it could not be used (None when there is none)."""
        store = self.store()
        try:
            raw = store.read(self.key).result
        except Exception as exc:
            if _missing(exc):
                return None, None
            return None, f"it could not be read ({type(exc).__name__}: {exc})"
        try:
            data = json.loads(raw)
            progress = Progress(**data)
        except Exception as exc:
            return None, f"it is not a progress record ({type(exc).__name__}: {exc})"
        if progress.version != VERSION:
            return None, f"it has version {progress.version}, not {VERSION}"
        if progress.flow != self.resume.flow or progress.origin != self.origin:
            return None, "it belongs to another chain"
        return progress, None

    def write(self, progress: Progress) -> None:
        self.store().write(json.dumps(asdict(progress)), key=self.key)


class InitialPoint:
    """The initial point a wall-clock workflow's current chain resolved, kept beside the results.

    ``initial cycle point = now`` (or ``next(T00)``...) is worked out once, when
    a chain starts, as Cylc does when a workflow starts; a restart (the same
    call, or the deployment run again) reads it back here, as Cylc's restart
    keeps the original initial point from its database, and only a chain that
    has ended lets the next run resolve the wall clock afresh.
    """

    def __init__(self, resume: Resume, wall_clock: str) -> None:
        self.resume = resume
        digest = hashlib.sha256(f"{resume.flow}\0{wall_clock}".encode()).hexdigest()[:24]
        self.key = f"prefect-cycles-initial-{digest}"

    def read(self) -> str | None:
        """The point, or None when there is none; one that cannot be read is warned about,
        and a new chain starts from the wall clock."""
        store = self.resume.store_for(self.resume.prepare(_record_holder))
        try:
            data = json.loads(store.read(self.key).result)
            return str(data["initial"]) if data.get("flow") == self.resume.flow else None
        except Exception as exc:
            if not _missing(exc):
                logging.getLogger("prefect_cycles.chain").warning(
                    "%s: the initial point kept for its chain could not be read (%s: %s); "
                    "a new chain starts from the wall clock",
                    self.resume.flow,
                    type(exc).__name__,
                    exc,
                )
            return None

    def write(self, point: str) -> None:
        store = self.resume.store_for(self.resume.prepare(_record_holder))
        store.write(json.dumps({"flow": self.resume.flow, "initial": point}), key=self.key)


def _missing(exc: Exception) -> bool:
    """True for the errors of reading a record that was never written (file or block)."""
    text = str(exc).lower()
    return isinstance(exc, FileNotFoundError) or (
        isinstance(exc, (ValueError, OSError)) and ("does not exist" in text or "not found" in text)
    )
