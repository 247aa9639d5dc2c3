"""A rerun of a loop-until workflow that already stopped restores what ran, and runs nothing.

``stop_cycling`` ends the cycling at the point of the instance that returned
it, but only once that instance's outcome reaches the run loop. Until then a
run spawns later points as the runahead limit allows, and how far it got
depends on timing: a rerun in which everything comes back ``Cached`` at once
got further than the first run, and ran instances past the stop point that
never ran before (or fewer, or more, from one rerun to the next).

So the run that sees an instance stop the cycling records which one, beside
the results. A later run first checks that record: when that instance will
come back ``Cached`` and stop again (its result and stop marker exist under
its current key, and no ``rerun`` selector is given), the run stops after
that point from the start. It then restores every instance up to the stop
point and starts nothing past it, every time. Instances past the stop point
that the first run had already started when the stop came finished then and
keep their results, but are no part of the outcome of a stopped workflow.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from prefect import Task
from prefect.results import ResultStore

from ..cycling.points import Point
from ..graph.model import Workflow
from .resume import STOP_SUFFIX, Resume


def _record_key(resume: Resume) -> str:
    return "prefect-cycles-stopped-" + hashlib.sha256(resume.flow.encode()).hexdigest()[:24]


def instance_key(resume: Resume, variant: Task, task: str, label: str) -> str | None:
    """The cache key the task run of ``task[label]`` will have, as Prefect computes it.

    For a task whose caching resume owns (not one with the user's own policy).
    """
    return resume.policy(task, label).compute_key(
        task_ctx=SimpleNamespace(task=variant),  # type: ignore[arg-type] # only .task is read
        inputs={},
        flow_parameters={},
    )


def record_store(resume: Resume, variants: dict[str, Task]) -> ResultStore:
    """Where the record goes: the store of the first task by name, the same in every run."""
    return resume.store_for(variants[min(variants)])


def remember(resume: Resume, variants: dict[str, Task], task: str, label: str) -> None:
    """Record that ``task[label]`` stopped the cycling (best effort: without it, a rerun is
    only as deterministic as before)."""
    try:
        record_store(resume, variants).write(
            {"task": task, "point": label}, key=_record_key(resume)
        )
    except Exception:  # without the record a rerun is only less deterministic
        return


def known_stop(
    resume: Resume, workflow: Workflow, variants: dict[str, Task], own: dict[str, bool]
) -> tuple[str, Point] | None:
    """The instance that stopped this workflow before and will stop it again, if any.

    ``variants`` are the tasks as submitted, ``own`` says which keep the user's caching.
    """
    try:
        record = record_store(resume, variants).read(_record_key(resume)).result
        task, label = record["task"], record["point"]
        variant = variants[task]
        point = workflow.cycling.point(label)
        if own[task]:
            return None
        store = resume.store_for(variant)
        stopper = instance_key(resume, variant, task, label)
        if stopper is None or not store.exists(stopper):
            return None
        if not store.read(stopper + STOP_SUFFIX).result:
            return None
    except Exception:  # no record, or an unreadable one: run as if none
        return None
    return task, point


__all__ = ["instance_key", "known_stop", "record_store", "remember"]
