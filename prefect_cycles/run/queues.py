"""Limited queues: never more active instances of a queue's members than its limit.

Cylc's ``[scheduling][[queues]]`` (``cylc/flow/task_queues/independent.py``):
each task belongs to one queue; a ready instance whose queue is full waits in
the queue, first in first out, and is released when an active member (one
submitted or running) finishes. A limit of 0 means no limit.

The scheduler holds the limit, not Prefect: a queued instance is simply not
submitted yet, so it holds no worker thread, no process and no Dask slot, and
the limit holds the same in every task runner without a server round trip per
task run. (Prefect's tag concurrency limits would make the task run wait
inside its worker, holding it, and need limit objects made on the server
first.) Nothing here knows of Prefect.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..graph.model import Queue
from ..graph.unroll import Instance

__all__ = ["Queues"]


@dataclass
class _Held:
    queue: Queue
    active: set[Instance] = field(default_factory=set)
    waiting: deque[Instance] = field(default_factory=deque)

    def has_room(self) -> bool:
        return not self.queue.limit or len(self.active) < self.queue.limit


class Queues:
    """Admission to the task runner, queue by queue."""

    def __init__(self, queues: Iterable[Queue]) -> None:
        self._of: dict[str, _Held] = {}
        for q in queues:
            held = _Held(q)
            for member in q.members:
                self._of[member] = held  # the last assignment wins, as in Cylc

    def admit(self, inst: Instance) -> bool:
        """True if ``inst`` may be submitted now (it then counts as active); else it waits."""
        held = self._of.get(inst.task)
        if held is None or not held.queue.limit:
            return True
        if inst in held.active:
            return True
        if held.has_room() and (not held.waiting or held.waiting[0] == inst):
            if held.waiting and held.waiting[0] == inst:
                held.waiting.popleft()
            held.active.add(inst)
            return True
        if inst not in held.waiting:
            held.waiting.append(inst)
        return False

    def release(self) -> Iterator[Instance]:
        """Queued instances that now have room, oldest first (each counts as active)."""
        for held in {id(h): h for h in self._of.values()}.values():
            while held.waiting and held.has_room():
                inst = held.waiting.popleft()
                held.active.add(inst)
                yield inst

    def done(self, inst: Instance) -> None:
        """``inst`` is no longer active, or no longer waits (finished, expired, dropped)."""
        held = self._of.get(inst.task)
        if held is None:
            return
        held.active.discard(inst)
        if inst in held.waiting:
            held.waiting.remove(inst)

    def queued(self, inst: Instance) -> Queue | None:
        """The queue ``inst`` waits in, if it waits in one."""
        held = self._of.get(inst.task)
        return held.queue if held is not None and inst in held.waiting else None
