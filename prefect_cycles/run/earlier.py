"""Instances of earlier windows: their outcome and result, read back from result storage.

A window of a chain (see :mod:`prefect_cycles.run.chain`) is a flow run of
its own, so a parent that ran in an earlier window has no future here. What it
left is its result record, written by the resume machinery under the
instance's own cache key (:meth:`Resume.policy`): the record says the parent
succeeded and holds the value its children take as a parameter. No record
means it failed, was blocked or never finished, and its children stay blocked,
as they would beside a failed parent in the same flow run.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prefect import Task
from prefect.results import ResultRecord, ResultStore

from ..graph.model import Workflow
from ..graph.unroll import Instance
from .resume import Resume

#: What :meth:`Earlier.result` gives for an instance with no readable result.
MISSING = object()


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

    def result(self, inst: Instance) -> Any:
        """The instance's result, for a child's parameter (``MISSING`` if there is none)."""
        rec = self.record(inst)
        return MISSING if rec is None else rec.result

    def forget(self) -> None:
        """Drop the records read so far (a window only needs its boundary's parents)."""
        self._records.clear()
