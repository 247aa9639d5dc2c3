"""What a finished window's flow run leaves behind in this process, released at the boundary.

A window of a chain run by a plain call ends, and Prefect's objects of its
flow run should go with it; some do not, at once. Prefect's background
services (the log and events workers) run on one event loop for the life of
the process and keep the ``contextvars`` context they were started in: that
of the first window's flow run. Timers cancelled on that loop (httpx and
anyio timeouts) stay in its heap, each with the context of the flow run that
set it, until their deadline. Through those contexts a finished flow run's
``FlowRunContext`` stays reachable, and with it Prefect's per-task-run
bookkeeping: the task runner's ``_cancel_events`` (an Event per task run),
``run_results`` (every state), the result store's in-memory cache of result
records. Measured (``benchmarks/chain_windows.py``): one to several windows'
worth held at a time, and RSS creeping up window after window.

:func:`released` collects the ``FlowRunContext`` of each flow run that runs a
window inside it (:func:`keep`, called from the window's body) and, when the
flow run is over, empties those containers in place, so whatever still points
at the context holds nothing big. Each target is named in :data:`TARGETS`; a
target that this Prefect does not have (renamed in an upgrade) is logged and
reported by :func:`release`, and tests/test_chain_memory.py fails on it, so an
upgrade cannot silently bring the growth back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.context import FlowRunContext

logger = logging.getLogger("prefect_cycles.chain")

#: What a finished flow run's context holds that grows with its task runs, as dotted paths
#: from the ``FlowRunContext``; each must be a mapping that is emptied in place.
TARGETS: tuple[str, ...] = (
    "run_results",
    "task_run_assets",
    "task_run_dynamic_keys",
    "observed_flow_pauses",
    "task_runner._cancel_events",
    "result_store.cache",
)


class _Held(threading.local):
    """Per thread: overlapping windows run their flow runs in threads of their own, and one
    window's context must never be emptied by another's boundary."""

    def __init__(self) -> None:
        self.stack: list[list[FlowRunContext]] = []


_held = _Held()
_warned: list[bool] = []


def keep() -> None:
    """Note the running flow run's context, to release when its window ends (inside released)."""
    ctx = FlowRunContext.get()
    if ctx is not None and _held.stack:
        _held.stack[-1].append(ctx)


@contextmanager
def released() -> Iterator[list[FlowRunContext]]:
    """Release the bookkeeping of every flow run that called :func:`keep` inside this block."""
    held: list[FlowRunContext] = []
    _held.stack.append(held)
    try:
        yield held
    finally:
        _held.stack.remove(held)
        for ctx in held:
            release(ctx)


def release(ctx: Any) -> list[str]:
    """Empty the :data:`TARGETS` of a finished flow run's context; the targets not found."""
    missing = []
    for path in TARGETS:
        target = _resolve(ctx, path)
        clear = getattr(target, "clear", None)
        if target is None or not callable(clear):
            missing.append(path)
            continue
        clear()
    if missing and not _warned:
        _warned.append(True)
        logger.warning(
            "could not release %s of a finished flow run: this Prefect has no such attribute, "
            "so memory may grow window after window (prefect_cycles.run.release.TARGETS "
            "needs updating)",
            ", ".join(missing),
        )
    return missing


def _resolve(obj: Any, path: str) -> Any:
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


__all__ = ["TARGETS", "keep", "release", "released"]
