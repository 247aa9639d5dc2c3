"""Calling function xtriggers: Cylc's built-ins, user functions, and other cyclic workflows.

The scheduler decides which calls are due (:meth:`Scheduler.xtrigger_calls`);
:class:`XTriggerCalls` runs them on two threads of its own in the flow
process, never in the task runner, so an instance waiting for an xtrigger
holds no worker, process or Dask slot, and between calls nothing at all. A
call returns ``True``/``False`` or Cylc's ``(satisfied, results)``; results
reach the task as parameters named after the label (the whole dict) or
``<label>_<key>`` (one value), as Cylc passes them in environment variables.

Built-ins, as in Cylc: ``xrandom(percent, secs=0, _=None)``, ``echo(*args,
succeed=..., **kwargs)`` and ``workflow_state(workflow_task_id, offset=None)``
(``"other//20200101T0000Z/foo:succeeded"``: a task of another cyclic flow of
this project at a point reached an output, read from the Prefect server's
task runs of the flow named ``other``). Any other name is a function in an
importable module: ``mymod.check`` is ``check`` in ``mymod``; a bare ``check``
is ``check`` in module ``check``, Cylc's convention.
"""

from __future__ import annotations

import importlib
import queue
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import ValidationError

__all__ = ["XTriggerCalls", "echo", "resolve", "workflow_state", "xrandom"]

_COLORS = ["red", "orange", "yellow", "green", "blue", "indigo", "violet"]
_SIZES = ["tiny", "small", "medium", "large", "huge", "humongous"]


def xrandom(percent: float, secs: int = 0, _: Any = None) -> tuple[bool, dict[str, str]]:
    """Cylc's test xtrigger: sleep ``secs``, then succeed with ``percent`` likelihood."""
    if not 0 <= float(percent) <= 100:
        raise ValidationError(
            f"xrandom percent {percent!r} is not between 0 and 100", fix="give e.g. xrandom(50)"
        )
    time.sleep(float(secs))
    if random.random() * 100 < float(percent):
        return True, {"COLOR": random.choice(_COLORS), "SIZE": random.choice(_SIZES)}
    return False, {}


def echo(*args: Any, **kwargs: Any) -> tuple[bool, dict[str, Any]]:
    """Cylc's ``echo``: print the arguments, succeed as ``succeed=`` says, return the rest."""
    print("echo: ARGS:", args)
    print("echo: KWARGS:", kwargs)
    if "succeed" not in kwargs:
        raise ValidationError("echo() needs succeed=True or succeed=False", fix="add succeed=")
    return bool(kwargs["succeed"]), kwargs


def workflow_state(
    workflow_task_id: str, offset: str | None = None, **_: Any
) -> tuple[bool, dict[str, str]]:
    """Whether ``workflow//point/task:output`` has happened in another cyclic flow.

    Reads the Prefect server: a task run named ``task[point]`` of a flow run of
    the flow ``workflow`` that is Completed (``succeeded``, the default),
    Failed/Crashed (``failed``), Running or final (``started``), or any final
    state (``finished``). ``offset`` is not supported yet (give the point itself).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        TaskRunFilter,
        TaskRunFilterName,
    )

    wf, sep, rest = workflow_task_id.partition("//")
    point, slash, task_out = rest.partition("/")
    if not sep or not slash or not point or not task_out:
        raise ValidationError(
            f"workflow_state({workflow_task_id!r}): not a workflow//point/task:output ID",
            fix="write e.g. workflow_state('other//%(point)s/foo:succeeded')",
        )
    if offset:
        raise ValidationError(
            f"workflow_state({workflow_task_id!r}, offset={offset!r}): offsets are not supported",
            fix="write the point itself in the ID, or add a task with that offset",
        )
    task, _colon, output = task_out.partition(":")
    output = output or "succeeded"
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[wf])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=[f"{task}[{point}]"])),
        )
    for run in runs:
        state = run.state
        if state is None:
            continue
        ok = {
            "succeeded": state.is_completed(),
            "failed": state.is_failed() or state.is_crashed(),
            "started": state.is_running() or state.is_final(),
            "finished": state.is_final(),
        }.get(output)
        if ok is None:
            raise ValidationError(
                f"workflow_state({workflow_task_id!r}): output {output!r} can't be read here",
                fix="use succeeded, failed, started or finished",
            )
        if ok:
            return True, {"workflow": wf, "task": task, "point": point, "output": output}
    return False, {}


_BUILTINS: dict[str, Callable[..., Any]] = {
    "xrandom": xrandom,
    "echo": echo,
    "workflow_state": workflow_state,
}


def resolve(func: str) -> Callable[..., Any]:
    """The function an xtrigger names (a built-in, ``module.function`` or ``function``)."""
    if func in _BUILTINS:
        return _BUILTINS[func]
    module, _, name = func.rpartition(".")
    module = module or name
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValidationError(
            f"xtrigger function {func} cannot be found ({exc})",
            fix="make it importable: a function in a module on sys.path, named module.function "
            "(or a function in a module of the same name, as Cylc looks it up)",
        ) from None


def outcome(value: Any) -> tuple[bool, dict[str, Any]]:
    """A function's return value as (satisfied, results)."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
        return bool(value[0]), dict(value[1])
    return bool(value), {}


class XTriggerCalls:
    """Runs due xtrigger calls off the flow's thread and hands back their outcomes."""

    def __init__(self, workers: int = 2) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._workers = workers
        self._done: queue.SimpleQueue[tuple[Any, bool, dict[str, Any], str | None]] = (
            queue.SimpleQueue()
        )
        self.in_flight = 0

    def start(self, sig: Any, func: str, args: tuple, kwargs: dict) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="xtrigger")
        self.in_flight += 1
        self._pool.submit(self._call, sig, func, args, kwargs)

    def _call(self, sig: Any, func: str, args: tuple, kwargs: dict) -> None:
        try:
            ok, results = outcome(resolve(func)(*args, **kwargs))
            self._done.put((sig, ok, results, None))
        except Exception as exc:  # a broken check is retried at its interval, and logged
            self._done.put((sig, False, {}, f"{type(exc).__name__}: {exc}"))

    def drain(self) -> list[tuple[Any, bool, dict[str, Any], str | None]]:
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                self.in_flight -= len(out)
                return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
