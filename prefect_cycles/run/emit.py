"""Custom outputs emitted while a task runs, seen by the flow in every task runner.

A task body calls :func:`emit_output` (``emit_output("out1")``) and the
instances waiting for ``foo:out1`` start while ``foo`` is still running, as in
Cylc, where a job sends ``cylc message``.

How the emission crosses process boundaries: the body writes a small record
into its own *result storage*, under a key made of its task-run id and the
output's name (``prefect-cycles-outputs/<task-run-id>/out1``); the flow
process, which knows each in-flight task run's id, checks for those records
while the run is in flight and once more when it ends. Why the result storage,
not Prefect events or the API:

- it reaches wherever the task's results already go: thread, process pool and
  Dask workers write there, on a local disk or a storage block, or the task
  could not return a result at all;
- it is durable and read back exactly: a resumed run needs the outputs an
  instance completed before, as a Cylc restart keeps them, so the outputs are
  also committed beside the instance's cached result (:func:`record_outputs`),
  like the stop marker of :mod:`prefect_cycles.run.resume`;
- it needs no server round trip and no event pipeline, which records task-run
  states from events in the background and can lag far behind under load.

Each emission is also sent as a Prefect event (``prefect-cycles.output``, best
effort) so automations and the UI's event feed can see it; the scheduler does
not depend on it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from prefect import Task
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture
from prefect.results import ResultStore
from prefect.states import State
from prefect.transactions import Transaction, get_transaction

from ..graph.model import Workflow
from ..graph.unroll import Instance
from .resume import task_result_store
from .scheduler import Scheduler

__all__ = ["OutputWatch", "emit_output", "output_key", "record_outputs"]

#: Where emission records go in a result storage.
PREFIX = "prefect-cycles-outputs"

#: The transaction value listing the outputs a run emitted, for the commit hook.
EMITTED = "prefect-cycles-emitted"

#: Suffix of the record, beside a cached result, of the outputs its run emitted.
OUTPUTS_SUFFIX = ".outputs"

_log = logging.getLogger(__name__)


def output_key(task_run_id: object, output: str) -> str:
    """The storage key of one emission record."""
    return f"{PREFIX}/{task_run_id}/{output}"


def emit_output(name: str) -> bool:
    """Complete the custom output ``name`` of the running task now (Cylc's ``cylc message``).

    Call it from the body of a task that declares ``name`` (``@cycle(...,
    outputs=["out1"])`` or ``[runtime][foo][[outputs]]``); instances waiting
    for ``foo:out1`` may start at once. An output stays completed if the task
    then fails. Returns False, doing nothing, outside a task run (a plain call
    of the function, in a unit test).
    """
    if not isinstance(name, str) or not name.strip():
        from ..errors import ValidationError

        raise ValidationError(
            f"emit_output() takes an output name, not {name!r}",
            fix="write emit_output('out1') with an output the task declares",
        )
    name = name.strip()
    ctx = TaskRunContext.get()
    if ctx is None or ctx.task_run is None:
        return False
    ctx.result_store.write(True, key=output_key(ctx.task_run.id, name))
    txn = get_transaction()
    if txn is not None:
        txn.set(EMITTED, [*txn.get(EMITTED, []), name])
    _event(ctx, name)
    return True


def _event(ctx: TaskRunContext, name: str) -> None:
    """Tell Prefect's event feed (best effort: the scheduler reads the record instead)."""
    try:
        from prefect.events import emit_event

        emit_event(
            event="prefect-cycles.output",
            resource={
                "prefect.resource.id": f"prefect.task-run.{ctx.task_run.id}",
                "prefect.resource.name": ctx.task_run.name,
                "prefect-cycles.output": name,
            },
        )
    except Exception:  # pragma: no cover - the event is a courtesy
        _log.debug("could not send the prefect-cycles.output event", exc_info=True)


def record_outputs(txn: Transaction) -> None:
    """Commit hook: keep the list of emitted outputs beside the result, for resume."""
    store = txn.store
    if not txn.key or not txn.write_on_commit or not isinstance(store, ResultStore):
        return
    emitted = txn.get(EMITTED, [])
    key = txn.key + OUTPUTS_SUFFIX
    if emitted or store.exists(key):
        store.write(list(dict.fromkeys(emitted)), key=key)


record_outputs.log_on_run = False  # type: ignore[attr-defined]


class OutputWatch:
    """The flow's side: which custom outputs each in-flight instance has emitted."""

    def __init__(self, workflow: Workflow, impls: Mapping[str, Task]) -> None:
        self.workflow = workflow
        self.declared = {
            name: list(workflow.outputs.custom(name))
            for name in workflow.tasks
            if workflow.outputs.custom(name)
        }
        self._stores: dict[str, ResultStore] = {}
        self._impls = impls

    def _store(self, task: str) -> ResultStore:
        store = self._stores.get(task)
        if store is None:
            store = self._stores[task] = task_result_store(self._impls[task])
        return store

    def watching(self, in_flight: Mapping[Instance, PrefectFuture]) -> bool:
        """True when some in-flight instance may still emit an output (poll then)."""
        return bool(self.declared) and any(inst.task in self.declared for inst in in_flight)

    def poll(
        self, sched: Scheduler, in_flight: Mapping[Instance, PrefectFuture], logger: Any
    ) -> bool:
        """Hand the scheduler every output emitted since the last poll; True if any."""
        news = False
        if not self.declared:
            return news
        for inst, fut in list(in_flight.items()):
            news |= self._check(sched, inst, fut, logger)
        return news

    def _check(self, sched: Scheduler, inst: Instance, fut: PrefectFuture, logger: Any) -> bool:
        names = self.declared.get(inst.task)
        if not names:
            return False
        store = self._store(inst.task)
        news = False
        for name in names:
            if name in sched.outputs_of(inst):
                continue
            if store.exists(output_key(fut.task_run_id, name)) and sched.emitted(inst, name):
                news = True
                self._log(inst, name, logger)
        return news

    def ended(
        self, sched: Scheduler, inst: Instance, fut: PrefectFuture, state: State, logger: Any
    ) -> None:
        """Collect the outputs of an instance that just ended (restored ones from the cache)."""
        if inst.task not in self.declared:
            return
        self._check(sched, inst, fut, logger)
        if state.name == "Cached":
            meta = getattr(state.data, "metadata", None)
            key = getattr(meta, "storage_key", None)
            store = self._store(inst.task)
            if key and store.exists(key + OUTPUTS_SUFFIX):
                for name in store.read(key + OUTPUTS_SUFFIX).result or []:
                    if sched.emitted(inst, name):
                        self._log(inst, name, logger, restored=True)

    def _log(self, inst: Instance, name: str, logger: Any, restored: bool = False) -> None:
        message = self.workflow.outputs.custom(inst.task).get(name, name)
        logger.info(
            "%s[%s] completed output %s%s%s",
            inst.task,
            self.workflow.fmt(inst.point),
            name,
            f" ({message})" if message != name else "",
            " (restored from its cached result)" if restored else "",
        )
