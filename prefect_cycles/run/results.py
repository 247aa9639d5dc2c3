"""Reading an instance's result back after a run, from the flow's result storage.

A resumable cyclic flow saves every instance's result under the instance's
cache key (see :mod:`prefect_cycles.run.resume`), so the result of ``foo`` at
point 3 can be read later, in another process, the way a Prefect user reads a
task run's result: ``seed.result_of("foo", 3)`` or ``seed.result_of("foo[3]")``.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from ..errors import CycleError
from .resume import owns_caching
from .server import patient_start

if TYPE_CHECKING:
    from .flow import CyclicFlow

#: ``task[point]``, as task runs are named.
_RUN_NAME = re.compile(r"^\s*([^\[\]\s]+)\s*\[\s*([^\[\]]+?)\s*\]\s*$")


def result_of(flow: CyclicFlow, task: str, point: object = None) -> Any:
    """The saved result of ``task`` at ``point`` from the last run that completed it."""
    if point is None:
        m = _RUN_NAME.match(task)
        if m is None:
            raise CycleError(
                f"{task!r} names no instance",
                task=task,
                fix='name a task and a point: result_of("foo", 3) or result_of("foo[3]")',
            )
        task, point = m[1], m[2]
    wf = flow.workflow
    if task not in wf.tasks:
        raise CycleError(
            f"the cyclic flow {flow.name!r} has no task {task!r}",
            task=task,
            fix=f"name one of its tasks: {', '.join(sorted(wf.tasks))}",
        )
    resume = flow.resumer
    if resume is None:
        raise CycleError(
            f"the cyclic flow {flow.name!r} was built with resume=False, so it keeps no "
            "result by instance",
            task=task,
            fix="build it with resume on (the default), or return what you need from the flow",
        )
    label = wf.fmt(wf.cycling.point(str(point) if not isinstance(point, int) else point))
    impl = flow.implementations[task]
    if owns_caching(impl):
        raise CycleError(
            f"task {task!r} has its own caching rules, so its results are saved under its "
            "own keys, not by instance",
            task=task,
            fix="read them as your cache_key_fn or result_storage_key names them",
        )
    variant = resume.prepare(impl)
    key = resume.policy(task, label).compute_key(
        task_ctx=SimpleNamespace(task=variant),  # type: ignore[arg-type]
        inputs={},
        flow_parameters={},
    )
    # Prefect asks the API for a server-wide default result storage: with no
    # PREFECT_API_URL that starts the temporary server, as a flow call does, so wait for it
    # as patiently (once per process: it then stays up).
    with patient_start():
        store = resume.store_for(variant)
    if key is None or not store.exists(key):
        raise CycleError(
            f"no saved result for {task}[{label}] of {flow.name!r}: it has not completed in a "
            "run with this result storage, or the task's code changed since",
            task=task,
            point=label,
            fix=f"run the flow over point {label} first (seed() or prefect-cycles run)",
        )
    return store.read(key).result
