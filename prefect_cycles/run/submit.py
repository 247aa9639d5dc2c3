"""Submitting instances as Prefect task runs: names, parents, arguments, outcomes.

Each instance is submitted only once its parents are done, so no worker thread
ever blocks on ``wait_for``; the parents are still passed as ``wait_for`` so
the server stores the edges and the UI draws them.

On Prefect's thread pool the ordering-only parents go in as task-run inputs
(the runner's ``dependencies``) under ``wait_for``, not as futures to resolve:
resolving a done future still reads its result through Prefect's event-loop
thread, a thread hop on the critical path of every instance, to check what the
scheduler already knows (the parent ended as the trigger needs). Without
resume, a task left with Prefect's default cache policy whose result is not
persisted runs with ``NO_CACHE``: that key could only find a record in this
flow run's own persisted results, and there are none, so computing it (inputs,
source, a look in the result store) for every instance bought nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from prefect import Task
from prefect.cache_policies import DEFAULT, NO_CACHE
from prefect.client.schemas.objects import RunInput, TaskRunResult
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.settings import get_current_settings
from prefect.states import State
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import allow_failure, quote
from prefect.utilities.callables import get_call_parameters

from ..cycling.points import Point
from ..graph.model import Workflow
from ..graph.unroll import Instance
from .earlier import MISSING, Earlier
from .rerun import Rerun
from .resume import CACHED, Resume, owns_caching, result_saved, stopped_when_cached
from .saving import Saving
from .scheduler import Ready, Scheduler

if TYPE_CHECKING:
    pass


#: Worker threads of the default task runner. The scheduler submits only
#: instances whose parents are done, so no thread ever blocks on ``wait_for``.
DEFAULT_MAX_WORKERS = 16


class Submitter:
    """Turns a ready instance into a Prefect task run with its name, tags and inputs.

    With ``resume``, each run carries its instance's cache policy (see
    :mod:`prefect_cycles.run.resume`); instances chosen by ``rerun``, and every
    instance downstream of one, refresh their cache so they run again.
    """

    def __init__(
        self,
        workflow: Workflow,
        impls: Mapping[str, Task],
        tag_points: bool,
        resume: Resume | None = None,
        rerun: Rerun | None = None,
        earlier: Earlier | None = None,
    ) -> None:
        self.workflow = workflow
        self.earlier = earlier  # parents in earlier windows of a chain, from result storage
        self.tag_points = tag_points
        self.resume = resume
        self.rerun = rerun or Rerun()
        self._own = {n: owns_caching(t) for n, t in impls.items()}  # the user's caching rules
        ctx = FlowRunContext.get()
        if resume:
            self.impls = {n: resume.prepare(t) for n, t in impls.items()}
        else:
            self.impls = {n: _lean(t, self._own[n], ctx) for n, t in impls.items()}
        self.saving = Saving(workflow, resume, self.impls, self._own) if resume else None
        self.futures: dict[Instance, PrefectFuture] = {}
        self.refreshed: set[Instance] = set()  # chosen for a rerun, or downstream of one
        self.carried: frozenset[Instance] = frozenset()  # refreshed in earlier windows
        self.cached = 0
        self.submitted = 0
        self._stores: dict[str, Any] = {}
        self._params = {name: set(inspect.signature(t.fn).parameters) for name, t in impls.items()}
        self.runner = ctx.task_runner if ctx else None
        self.process_pool = isinstance(self.runner, ProcessPoolTaskRunner)
        # Prefect's own thread pool: edges as task-run inputs (see the module's docstring)
        self.thread_pool = type(self.runner) is ThreadPoolTaskRunner

    def submit(self, item: Ready) -> PrefectFuture:
        inst = item.instance
        label = self.workflow.fmt(inst.point)
        base = self.impls[inst.task]
        task = copy.copy(base)
        task.task_run_name = f"{inst.task}[{label}]"
        if self.tag_points:
            task.tags = set(base.tags) | {f"point:{label}"}
        if self.resume is not None:
            if not self._own[inst.task]:
                task.cache_policy = self.resume.policy(inst.task, label)  # type: ignore[assignment]
            if self.rerun.chosen(inst) or any(
                n.parent in self.refreshed or n.parent in self.carried for n in item.parents
            ):
                task.refresh_cache = True
                self.refreshed.add(inst)
            if self.saving is not None:
                self.saving.submitted(inst, refresh=inst in self.refreshed)
        params = self._params[inst.task]
        kwargs: dict[str, Any] = {}
        if POINT_PARAM in params:
            kwargs[POINT_PARAM] = to_python(inst.point)
        _base, values = self.workflow.parameterised.get(inst.task, ("", {}))
        kwargs.update((k, v) for k, v in values.items() if k in params)
        wait_for: list[Any] = []  # futures, and allow_failure(future) for :fail triggers
        for need in item.parents:
            fut = self.futures.get(need.parent)
            if fut is None:
                if self.earlier is not None:
                    self._earlier_arg(inst, need.parent, params, kwargs)
                continue
            state = fut.state
            if not state.is_final():
                continue  # a :started parent still running: ordering only, no wait
            if not state.is_completed():
                # A :failed or :finish trigger. The process pool cannot take
                # allow_failure in wait_for, so there the edge goes undrawn.
                if not self.process_pool:
                    wait_for.append(allow_failure(fut))
                continue
            wait_for.append(fut)
            parent = need.parent.task
            key = PREVIOUS_PARAM if parent == inst.task else parent
            if key not in params and parent in self.workflow.parameterised:
                key = self.workflow.parameterised[parent][0]  # model_m1's result as `model`
            if key in params and (key not in kwargs or need.parent.point > kwargs[key][0].point):
                kwargs[key] = (need.parent, fut)
        args = {k: v[1] if isinstance(v, tuple) else v for k, v in kwargs.items()}
        args.update({k: v for k, v in item.inputs.items() if k in params})  # xtrigger results
        fut = self._submit(task, args, wait_for)
        self.submitted += 1
        self.futures[inst] = fut
        return fut

    def _submit(self, task: Task, args: dict[str, Any], wait_for: list[Any]) -> PrefectFuture:
        """Hand one task run to the runner; the parents in ``wait_for`` are all final."""
        if not self.thread_pool or not wait_for:
            return task.submit(**args, wait_for=wait_for)
        # Quoted, the futures are not resolved; quoted, they are not collected
        # either, so their edges go in as the wait_for inputs themselves.
        edges: set[RunInput] = {
            TaskRunResult(id=(f.unwrap() if isinstance(f, allow_failure) else f).task_run_id)
            for f in wait_for
        }
        quoted: list[Any] = [quote(f) for f in wait_for]
        return self.runner.submit(  # type: ignore[union-attr]
            task,
            get_call_parameters(task.fn, (), args),
            wait_for=quoted,
            dependencies={"wait_for": edges},
        )

    def _earlier_arg(
        self, inst: Instance, parent: Instance, params: set[str], kwargs: dict[str, Any]
    ) -> None:
        """A parent from an earlier window passes its stored result, as a value."""
        key = PREVIOUS_PARAM if parent.task == inst.task else parent.task
        if key not in params or (key in kwargs and parent.point <= kwargs[key][0].point):
            return
        value = self.earlier.result(parent)  # type: ignore[union-attr]
        if value is not MISSING:
            kwargs[key] = (parent, value)

    def stopped_cycling(self, inst: Instance, state: State, logger: Any) -> bool:
        """Whether a completed instance ends the cycling, fresh or restored from the cache.

        Also counts restored instances and warns, naming the instance, when a
        fresh result could not be saved: the work is done, but a rerun repeats it.
        """
        if self.resume is None:
            return state.name == STOP_STATE
        if self.saving is not None and self.impls[inst.task].persist_result:
            self.saving.finished(inst, state, result_saved(state), logger)
        if state.name == CACHED:
            self.cached += 1
            store = self._stores.get(inst.task)
            if store is None:
                store = self._stores[inst.task] = self.resume.store_for(self.impls[inst.task])
            return stopped_when_cached(state, store)
        return state.name == STOP_STATE

    def report(self, logger: Any) -> None:
        """Say how many instances were restored; when that is all of them, why nothing ran."""
        if self.resume is not None and self.cached and self.cached == self.submitted:
            logger.info(
                "Nothing ran: all %d instances completed in an earlier run of %r and were "
                "restored from their saved results (resume is on). To run them again, call "
                "the flow with rerun=\"*\" (prefect-cycles run --rerun '*'), or build it "
                "with resume=False",
                self.cached,
                self.resume.flow,
            )
        elif self.cached:
            logger.info(
                "%d instances completed in an earlier run and were restored from their "
                "results (Cached)",
                self.cached,
            )

    def forget_except(self, sched: Scheduler) -> None:
        """Drop futures the scheduler no longer remembers (bounded memory)."""
        if len(self.futures) > 2 * len(sched.remembered) + 64:
            self.futures = {i: f for i, f in self.futures.items() if i in sched.remembered}
            self.refreshed = {i for i in self.refreshed if i in sched.remembered}


def _lean(task: Task, owns_caching: bool, ctx: FlowRunContext | None) -> Task:
    """``task`` with ``NO_CACHE`` when it has Prefect's default cache policy and its
    result is not persisted (see the module's docstring); else ``task`` itself."""
    if owns_caching or task.cache_policy is not DEFAULT or task.refresh_cache:
        return task
    persist = task.persist_result
    if persist is None:
        persist = get_current_settings().tasks.default_persist_result
    if persist is None:
        persist = ctx.persist_result if ctx is not None else True
    if persist:
        return task
    lean = copy.copy(task)
    lean.cache_policy = NO_CACHE
    return lean


#: The state name a task run ends with when it stops the cycling.
STOP_STATE = "StopCycling"


#: Parameter names the flow fills in for a task body.
POINT_PARAM = "point"


PREVIOUS_PARAM = "previous"


def to_python(point: Point) -> int | dt.datetime | Point:
    """A cycle point as task bodies receive it: an int, or an aware datetime.

    A date that Python's calendar lacks (30 February on the 360day calendar)
    comes as metomi-isodatetime's TimePoint itself.
    """
    if isinstance(point, int):
        return point
    try:
        return dt.datetime.fromisoformat(str(point).replace("Z", "+00:00"))
    except ValueError:
        return point
