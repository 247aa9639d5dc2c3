"""Instances of earlier windows: their outcome and result, read back from result storage.

A window of a chain (see :mod:`prefect_cycles.run.chain`) is a flow run of
its own, so a parent that ran in an earlier window has no future here. What it
left is its result record, written by the resume machinery under the
instance's own cache key (:meth:`Resume.policy`): the record says the parent
succeeded and holds the value its children take as a parameter. No record
means it failed, was blocked or never finished, and its children stay blocked,
as they would beside a failed parent in the same flow run.

Outputs cross too: the custom outputs a parent emitted are listed beside its
result (:func:`~prefect_cycles.run.emit.record_outputs`), and an instance that
ended without a result but complete (an optional ``:fail?``, an expiry, an
optional submit-failure) leaves an *outcome record* of its outputs beside
where its result would be (:meth:`Earlier.save_outcome`), so ``a[-P1]:fail? =>
recover`` and ``a[-P1]:out1 => b`` behave across a boundary as within a window.
A required failure leaves no outcome record: its children stay blocked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from prefect import Task
from prefect.results import ResultRecord, ResultStore

from ..graph.model import Workflow
from ..graph.unroll import Instance
from .emit import OUTPUTS_SUFFIX
from .resume import Resume

#: What :meth:`Earlier.result` gives for an instance with no readable result.
MISSING = object()

logger = logging.getLogger("prefect_cycles.chain")

#: Suffix of the outcome record, beside an instance's result key, of one that ended without one.
OUTCOME_SUFFIX = ".outcome"

#: The outputs of an instance known only to have succeeded.
SUCCEEDED = frozenset({"submitted", "started", "succeeded", "finished"})

#: Scheduler events after which an instance ended complete with no result (see save_outcome).
NO_RESULT_EVENTS = frozenset({"failed_ok", "expired"})


class Earlier:
    """Looks up instances of earlier windows of one chain in result storage."""

    def __init__(self, workflow: Workflow, impls: dict[str, Task], resume: Resume) -> None:
        self.workflow = workflow
        self.resume = resume
        self.variants = {n: resume.prepare(t) for n, t in impls.items()}
        self._stores: dict[str, ResultStore] = {}
        self._records: dict[Instance, ResultRecord | None] = {}

    def key(self, inst: Instance) -> str | None:
        """The storage key of an instance's result: its cache key, as the task run computes it."""
        variant = self.variants[inst.task]
        policy = self.resume.policy(inst.task, self.workflow.fmt(inst.point))
        # the key reads only the task from its context (InstanceKey and the source digest)
        task_ctx: Any = SimpleNamespace(task=variant)
        return policy.compute_key(task_ctx=task_ctx, inputs={}, flow_parameters={})

    def store(self, task: str) -> ResultStore:
        store = self._stores.get(task)
        if store is None:
            store = self._stores[task] = self.resume.store_for(self.variants[task])
        return store

    def record(self, inst: Instance) -> ResultRecord | None:
        """The instance's result record, or None; each is read at most once."""
        if inst in self._records:
            return self._records[inst]
        key = self.key(inst)
        rec: ResultRecord | None = None
        if key is not None:
            try:
                rec = self.store(inst.task).read(key)
            except Exception:  # missing, expired or unreadable: not known to have succeeded
                rec = None
        self._records[inst] = rec
        return rec

    def outcome(self, inst: Instance) -> bool | None:
        """True when the instance completed in an earlier window; None when not known to."""
        return True if self.record(inst) is not None else None

    def outputs(self, inst: Instance) -> frozenset[str] | None:
        """The outputs the instance reached in an earlier window; None when not known.

        Succeeded (a result record), with the custom outputs listed beside the
        result; else those of its outcome record; else None (it blocks).
        """
        if self.record(inst) is not None:
            if not self.workflow.outputs.custom(inst.task):
                return SUCCEEDED
            return SUCCEEDED | frozenset(self._read(inst, OUTPUTS_SUFFIX) or ())
        listed = self._read(inst, OUTCOME_SUFFIX)
        return None if listed is None else frozenset(listed)

    def save_outcome(self, inst: Instance, outputs: frozenset[str]) -> None:
        """Keep the outputs of an instance that ended complete without a result, for later
        windows and restarts (best effort: without it, its children block, and say so)."""
        key = self.key(inst)
        if key is None:
            return
        try:
            self.store(inst.task).write(sorted(outputs), key=key + OUTCOME_SUFFIX)
        except Exception as exc:
            logger.warning(
                "could not keep the outcome of %s[%s] (%s): its children in a later flow run "
                "will wait for it. Fix: check the result storage",
                inst.task,
                self.workflow.fmt(inst.point),
                exc,
            )

    def keeper(self, outputs_of: Callable[[Instance], frozenset[str]]) -> Callable:
        """A scheduler listener that saves the outcome of each instance ending without a result."""

        def listen(inst: Instance, event: str) -> None:
            if event in NO_RESULT_EVENTS:
                self.save_outcome(inst, outputs_of(inst))

        return listen

    def _read(self, inst: Instance, suffix: str) -> list[str] | None:
        key = self.key(inst)
        if key is None:
            return None
        try:
            value = self.store(inst.task).read(key + suffix).result
        except Exception:  # missing or unreadable: not known
            return None
        return [str(v) for v in value] if isinstance(value, (list, tuple, set)) else None

    def result(self, inst: Instance) -> Any:
        """The instance's result, for a child's parameter (``MISSING`` if there is none)."""
        rec = self.record(inst)
        return MISSING if rec is None else rec.result

    def forget(self) -> None:
        """Drop the records read so far (a window only needs its boundary's parents)."""
        self._records.clear()
