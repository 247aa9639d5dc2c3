"""Settling a finished task run in the thread that ran it, on Prefect's thread pool.

A parent's end and its child's start should be one step apart. Handing the
finished instance to the flow's thread first costs a thread switch (up to
``sys.getswitchinterval()``, 5 ms, on a busy machine) and the flow thread's
wake-up, on the critical path of every hop. On a ``ThreadPoolTaskRunner`` the
done callback runs in the worker thread that ran the task, so that thread can
feed the outcome to the scheduler and submit the children it releases itself.

The callback runs outside the task's context and outside the flow's: the
flow run's context is copied once, in the flow's thread, and entered for each
settle. One thread at a time settles (the run loop's lock), so one copy
serves all. Other runners call back from threads of their own making (or
processes): there the callback only queues the instance for the flow's thread.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Any

from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner

#: The start of Prefect's warning about a task submitted from inside another task
#: while every worker is busy (a deadlock if the parent then waits on the child).
NESTED_WARNING = "Submitting task "


class _NotNested(logging.Filter):
    """Drops the runner's nested-submission warning for submissions made here.

    A settle runs after its task has ended, so it waits on nothing: the
    deadlock that warning is about cannot happen. A user's own submission
    from inside a task body still gets the warning.
    """

    def __init__(self, direct: Direct) -> None:
        super().__init__()
        self.direct = direct

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            self.direct.settling()
            and record.levelno == logging.WARNING
            and str(record.msg).startswith(NESTED_WARNING)
        )


class Direct:
    """Runs the loop's settle-and-submit in a worker thread, in the flow run's context."""

    def __init__(self, runner: ThreadPoolTaskRunner) -> None:
        self.context = contextvars.copy_context()
        self.runner = runner
        self._local = threading.local()
        self._filter = _NotNested(self)

    @classmethod
    def for_runner(cls) -> Direct | None:
        """A Direct for the current flow run's task runner, or None when it is not
        Prefect's own thread pool (a subclass may call back elsewhere)."""
        ctx = FlowRunContext.get()
        runner = ctx.task_runner if ctx is not None else None
        return cls(runner) if type(runner) is ThreadPoolTaskRunner else None

    def settling(self) -> bool:
        """Whether this thread is settling an instance now."""
        return getattr(self._local, "on", False)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn(*args)`` in the flow run's context; the caller holds the loop's lock."""
        self._local.on = True
        try:
            return self.context.run(fn, *args)
        finally:
            self._local.on = False

    def __enter__(self) -> Direct:
        self.runner.logger.addFilter(self._filter)
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.logger.removeFilter(self._filter)
