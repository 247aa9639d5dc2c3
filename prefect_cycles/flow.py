"""The flow builder: a cyclic workflow becomes a real Prefect flow.

Every task at every cycle point is a Prefect task run of its own, named
``task[point]`` and tagged with its point, submitted by the scheduler as soon
as its prerequisites are met, with its parents passed as ``wait_for`` so the
UI draws the real edges. Cycles overlap wherever the graph allows, up to the
runahead limit. The flow is a :class:`CyclicFlow` (a ``prefect.Flow``) whose
parameters ``start``, ``stop`` and ``runahead`` choose each run's window.
"""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import queue
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import Flow, Task, get_run_logger
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed, State
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import allow_failure

from .errors import CycleError, ValidationError
from .model import Workflow
from .points import Point
from .rerun import Rerun, parse_rerun
from .resume import CACHED, Resume, mark_stop, owns_caching, result_saved, stopped_when_cached
from .resume import result_storage as result_storage_option
from .scheduler import Ready, Scheduler
from .unroll import Instance

if TYPE_CHECKING:
    from .render import Picture

#: Worker threads of the default task runner. The scheduler submits only
#: instances whose parents are done, so no thread ever blocks on ``wait_for``.
DEFAULT_MAX_WORKERS = 16

#: The state name a task run ends with when it stops the cycling.
STOP_STATE = "StopCycling"

#: Seconds between checks of whether a task run has started, done only for
#: task runs whose ``:started`` output another instance waits for.
STARTED_POLL = 0.2

#: Seconds added to a clock wait, so the flow wakes just after the clock time, not before.
CLOCK_SLACK = 0.01

#: Parameter names the flow fills in for a task body.
POINT_PARAM = "point"
PREVIOUS_PARAM = "previous"


def stop_cycling(result: Any = None, message: str | None = None) -> State:
    """Return this from a task to end the cycling after its point ("loop until").

    The task run completes with ``result`` as its result; instances already
    started finish, and no instance at a later point starts.
    """
    mark_stop()  # so a resumed run that finds this result Cached stops there too
    return Completed(
        data=result, name=STOP_STATE, message=message or "cycling stopped by this task"
    )


class CyclicFlow(Flow):
    """A Prefect flow that runs a cyclic workflow; ``workflow`` holds its model."""

    workflow: Workflow
    implementations: dict[str, Task]

    def _set_entrypoint_name(self) -> None:
        """Name the function after the module variable holding this flow, for deployments."""
        module = sys.modules.get(self.fn.__module__)
        for var, value in vars(module).items() if module else ():
            if value is self:
                self.fn.__name__ = self.fn.__qualname__ = var
                return

    def to_deployment(self, *args: Any, **kwargs: Any) -> Any:
        self._set_entrypoint_name()
        return super().to_deployment(*args, **kwargs)

    def serve(self, *args: Any, **kwargs: Any) -> Any:
        self._set_entrypoint_name()
        return super().serve(*args, **kwargs)

    def picture(
        self, start: object = None, stop: object = None, *, collapsed: bool = False
    ) -> Picture:
        """A picture of the cycle graph: the window START..STOP, or the definition.

        Prefect's ``visualize()`` cannot see submitted tasks or ``wait_for``
        edges, so this draws the model instead. The result shows itself in a
        notebook, prints as text, and has ``.dot``, ``.mermaid``, ``.svg()``,
        ``.png()`` and ``.save(path)``.
        """
        from .render import picture

        return picture(self.workflow, start, stop, collapsed=collapsed)


def cyclic_flow(
    *tasks: Task,
    graph: Mapping[str, str] | None = None,
    cylc: str | Path | None = None,
    initial: object = None,
    final: object = None,
    runahead: str | None = None,
    time_zone: str | None = None,
    name: str | None = None,
    task_runner: Any = None,
    tag_points: bool = False,
    xtriggers: Mapping[str, Any] | None = None,
    resume: bool = True,
    result_storage: str | Path | Any = None,
    **flow_options: Any,
) -> CyclicFlow:
    """Build a Prefect flow that runs a cyclic workflow.

    The workflow comes from one of three places: the ``@cycle`` rules on
    ``tasks`` (decorator front end); a ``graph`` mapping recurrences to Cylc
    graph strings, run by the ``tasks`` of the same names; or a ``cylc``
    flow.cylc file, likewise. ``initial``/``final``/``runahead`` override a
    flow.cylc's own. ``xtriggers`` declares the clock triggers a ``graph`` names
    (``{"clock_1": "wall_clock(offset=PT1H)"}``; ``@wall_clock`` needs none).
    Other keyword arguments go to ``prefect.Flow`` (``retries``, ``log_prints``,
    ``description``...). The default task runner is a ``ThreadPoolTaskRunner``
    with ``DEFAULT_MAX_WORKERS`` threads.

    Each task run is named ``task[point]``. ``tag_points=True`` also tags it
    ``point:<point>``; that is off by default because Prefect 3 treats every
    tag as a concurrency-limit name, acquired through the API for each run,
    and a new tag per point made a 20-point chain 7 to 35 times slower and
    kept slowing the server afterwards (measured on Prefect 3.9.1); Prefect
    also keeps one client thread alive per distinct tag set, so a long run
    with ``tag_points=True`` grows by a thread per point.

    ``resume=True`` (the default) makes a rerun of the flow skip what already
    completed: each instance's result is persisted under a cache key of flow
    name, task name and point plus Prefect's ``TASK_SOURCE``, and comes back
    ``Cached`` (so give each cyclic flow its own ``name``). ``result_storage``
    is where results go: a directory, a block slug ``type/name`` or a saved
    storage block (default: Prefect's default result storage). A task with its
    own ``cache_policy``/``cache_key_fn``/``persist_result`` keeps its rules. The
    flow parameter ``rerun`` (``"foo[3..]"``, ``"*"``...) runs chosen instances
    and everything downstream of them again. See :mod:`prefect_cycles.resume`.
    """
    if graph is not None and cylc is not None:
        raise CycleError(
            "give either graph= or cylc=, not both", fix="choose one source for the graph"
        )
    if graph is not None or cylc is not None:
        from .decorators import rules

        ruled = [t.name for t in tasks if isinstance(t, Task) and rules(t)]
        if ruled:
            raise CycleError(
                f"tasks with @cycle rules were given along with a graph: {', '.join(ruled)}",
                task=ruled[0],
                fix="use one front end: drop graph=/cylc= to use the @cycle rules, "
                "or pass undecorated tasks",
            )
        workflow = _from_text(graph, cylc, initial, final, runahead, time_zone, name, xtriggers)
        impls = _by_name(tasks)
    else:
        from .decorators import build_workflow, task_map

        if initial is None:
            raise CycleError(
                "a cyclic flow needs an initial cycle point",
                fix="pass initial=, e.g. cyclic_flow(prep, foo, initial=1, final=4)",
            )
        workflow = build_workflow(
            *tasks,
            initial=initial,
            final=final,
            runahead=runahead or "P4",
            time_zone=time_zone,
            name=name,
        )
        impls = task_map(*tasks)
    _check_implementations(workflow, impls)
    flow_name = name or workflow.name
    resumer = Resume(flow_name, result_storage_option(result_storage)) if resume else None
    caller = sys._getframe(1).f_globals
    fn = _flow_function(workflow, impls, flow_name, caller, tag_points, resumer)
    cflow = CyclicFlow(
        fn,
        name=flow_name,
        task_runner=task_runner or ThreadPoolTaskRunner(max_workers=DEFAULT_MAX_WORKERS),
        validate_parameters=True,
        **flow_options,
    )
    cflow.workflow = workflow
    cflow.implementations = impls
    return cflow


def _from_text(
    graph: Mapping[str, str] | None,
    cylc: str | Path | None,
    initial: object,
    final: object,
    runahead: str | None,
    time_zone: str | None,
    name: str | None,
    xtriggers: Mapping[str, Any] | None = None,
) -> Workflow:
    if cylc is not None:
        from .flowcylc import load_flow_cylc

        workflow, _ = load_flow_cylc(Path(cylc))
        if initial is not None or final is not None:
            workflow = workflow.with_window(initial, final)
        if runahead is not None:
            workflow.runahead = runahead
            workflow.runahead_points()
        if name:
            workflow.name = name
        return workflow
    from .graphstring import from_graph

    if initial is None:
        raise CycleError(
            "a cyclic flow needs an initial cycle point",
            fix="pass initial=, e.g. cyclic_flow(graph={...}, initial=1, final=4)",
        )
    return from_graph(
        graph,  # type: ignore[arg-type]
        initial,
        final,
        runahead=runahead or "P4",
        time_zone=time_zone,
        name=name or "cyclic-workflow",
        xtriggers=xtriggers,
    )


def _by_name(tasks: Iterable[Task]) -> dict[str, Task]:
    impls: dict[str, Task] = {}
    for t in tasks:
        if not isinstance(t, Task):
            raise CycleError(
                f"{t!r} is not a Prefect task",
                fix="pass the @task-decorated functions that run the graph's tasks",
            )
        if t.name in impls and impls[t.name] is not t:
            raise ValidationError(
                f"two different tasks are named {t.name!r}",
                task=t.name,
                fix="give one of them another name with @task(name=...)",
            )
        impls[t.name] = t
    return impls


def _check_implementations(workflow: Workflow, impls: Mapping[str, Task]) -> None:
    missing = sorted(set(workflow.tasks) - set(impls))
    if missing:
        raise ValidationError(
            f"the graph names tasks with no Prefect task to run them: {', '.join(missing)}",
            task=missing[0],
            fix="pass a @task for each (its name is the function name or @task(name=...))",
        )
    extra = sorted(set(impls) - set(workflow.tasks))
    if extra:
        raise ValidationError(
            f"tasks given that the graph never names: {', '.join(extra)}",
            task=extra[0],
            fix="add them to the graph, or leave them out",
        )
    for name, t in impls.items():
        for param in inspect.signature(t.fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            fillable = param.name in (POINT_PARAM, PREVIOUS_PARAM) or param.name in workflow.tasks
            if not fillable and param.default is param.empty:
                raise ValidationError(
                    f"task {name!r} has a parameter {param.name!r} the cyclic flow cannot fill",
                    task=name,
                    fix=f"give {param.name} a default, or name it 'point' (the cycle point), "
                    "'previous' (its own result at the previous point) or after a parent task",
                )
            if (
                param.name == PREVIOUS_PARAM or param.name in workflow.tasks
            ) and param.default is param.empty:
                raise ValidationError(
                    f"task {name!r} parameter {param.name!r} has no value where that parent "
                    "does not run (the first point, or a failed or optional parent)",
                    task=name,
                    fix=f"give it a default, e.g. {param.name}=None",
                )


def _flow_function(
    workflow: Workflow,
    impls: dict[str, Task],
    name: str,
    caller_globals: dict,
    tag_points: bool,
    resume: Resume | None = None,
) -> Callable[..., Any]:
    integer = workflow.cycling.mode == "integer"

    def default(point: Point | None) -> Any:
        if point is None:
            return None
        return point if integer else workflow.fmt(point)

    def cycle_flow(
        start: Any = None, stop: Any = None, runahead: Any = None, rerun: Any = None
    ) -> Any:
        return run_cycles(
            workflow, impls, start, stop, runahead, tag_points, resume=resume, rerun=rerun
        )

    point_type = int | None if integer else str | None
    cycle_flow.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "start",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=default(workflow.initial),
                annotation=point_type,
            ),
            inspect.Parameter(
                "stop",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=default(workflow.final),
                annotation=point_type,
            ),
            inspect.Parameter(
                "runahead",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=workflow.runahead,
                annotation=str,
            ),
        ]
        + (  # resumable flows can re-run chosen instances on purpose: see prefect_cycles.rerun
            [
                inspect.Parameter(
                    "rerun",
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    default=None,
                    annotation=list[str] | str | None,
                )
            ]
            if resume is not None
            else []
        )
    )
    cycle_flow.__annotations__ = {"start": point_type, "stop": point_type, "runahead": str}
    if resume is not None:
        cycle_flow.__annotations__["rerun"] = list[str] | str | None
    ident = "".join(c if c.isalnum() else "_" for c in name)
    cycle_flow.__name__ = cycle_flow.__qualname__ = ident if ident.isidentifier() else "cycle_flow"
    cycle_flow.__module__ = caller_globals.get("__name__", __name__)
    cycle_flow.__doc__ = f"Run the cyclic workflow {name!r} from start to stop."
    return cycle_flow


def to_python(point: Point) -> int | dt.datetime:
    """A cycle point as task bodies receive it: an int, or an aware datetime."""
    if isinstance(point, int):
        return point
    return dt.datetime.fromisoformat(str(point).replace("Z", "+00:00"))


_watchers: list[Callable[[Scheduler], None]] = []


@contextmanager
def watching(callback: Callable[[Scheduler], None]) -> Iterator[None]:
    """Call ``callback(scheduler)`` after every change while cyclic flows run in this process.

    Flow bodies run in the calling process whatever the task runner, so a
    progress view (``prefect-cycles run``) can read the scheduler's states.
    """
    _watchers.append(callback)
    try:
        yield
    finally:
        _watchers.remove(callback)


def _notify(sched: Scheduler) -> None:
    for callback in list(_watchers):
        callback(sched)


def run_cycles(
    workflow: Workflow,
    impls: Mapping[str, Task],
    start: object = None,
    stop: object = None,
    runahead: str | None = None,
    tag_points: bool = False,
    *,
    resume: Resume | None = None,
    rerun: object = None,
) -> Any:
    """The body of a cyclic flow: schedule, submit and wait on every instance."""
    logger = get_run_logger()
    sched = Scheduler(workflow, start, stop, runahead)
    chosen = parse_rerun(rerun, sched.unroller)  # type: ignore[arg-type]
    fmt = workflow.fmt
    window = f"{fmt(sched.unroller.start)} to " + (
        fmt(sched.unroller.stop) if sched.unroller.stop is not None else "no stop point"
    )
    logger.info(
        "Cycling %s from %s (runahead %s)", workflow.name, window, runahead or workflow.runahead
    )
    submitter = _Submitter(workflow, impls, tag_points, Resume.active(resume), chosen)
    clock = _ClockLog(workflow)
    done: queue.SimpleQueue[Instance] = queue.SimpleQueue()
    in_flight: dict[Instance, PrefectFuture] = {}
    stopped_at: Point | None = None
    while True:
        for item in sched.ready():
            fut = submitter.submit(item)
            in_flight[item.instance] = fut
            fut.add_done_callback(lambda _f, inst=item.instance: done.put(inst))
        _notify(sched)
        due = sched.next_clock()
        if not in_flight and due is None:
            break
        if due is not None:
            clock.announce(sched, logger)
        watch = [i for i in sched.waiting_for_started if i in in_flight]
        try:
            finished = [done.get(timeout=_wait_time(due, sched, STARTED_POLL if watch else None))]
        except queue.Empty:
            for inst in watch:
                if in_flight[inst].state.is_running():
                    sched.started(inst)
            continue
        while True:
            try:
                finished.append(done.get_nowait())
            except queue.Empty:
                break
        for inst in finished:
            fut = in_flight.pop(inst)
            fut.wait()
            state = fut.state
            sched.started(inst)
            ok = state.is_completed()
            sched.finished(inst, ok)
            if not ok:
                logger.warning(
                    "%s[%s] ended %s: %s",
                    inst.task,
                    fmt(inst.point),
                    state.name,
                    state.message or "",
                )
            elif submitter.stopped_cycling(inst, state, logger):
                stopped_at = inst.point if stopped_at is None else min(stopped_at, inst.point)
                sched.stop_after(inst.point)
                logger.info(
                    "%s[%s] stopped the cycling: no later point starts", inst.task, fmt(inst.point)
                )
        submitter.forget_except(sched)
    submitter.report(logger)
    return _outcome(sched, workflow, stopped_at, logger)


def _wait_time(due: dt.datetime | None, sched: Scheduler, poll: float | None) -> float | None:
    """Seconds to wait for a task run to end: until the next clock time at the latest.

    An instance waiting for the clock is simply not submitted yet, so it holds
    no worker thread; the flow's own thread sleeps on the done-queue instead.
    """
    if due is None:
        return poll
    until = max(0.0, (due - sched.now()).total_seconds()) + CLOCK_SLACK
    return until if poll is None else min(poll, until)


class _ClockLog:
    """Logs "waiting for the clock" once per instance, not at every wake-up."""

    def __init__(self, workflow: Workflow) -> None:
        self.fmt = workflow.fmt
        self.told: set[Instance] = set()

    def announce(self, sched: Scheduler, logger: Any) -> None:
        waiting = sched.waiting_for_clock()
        for inst, due in waiting:
            if inst not in self.told:
                logger.info(
                    "%s[%s] waiting for the clock until %s",
                    inst.task,
                    self.fmt(inst.point),
                    due.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
        self.told = {inst for inst, _ in waiting}


def _outcome(sched: Scheduler, workflow: Workflow, stopped_at: Point | None, logger: Any) -> Any:
    fmt = workflow.fmt

    def label(inst: Instance) -> str:
        return f"{inst.task}[{fmt(inst.point)}]"

    for inst, reason in sched.never_run:
        logger.warning("%s never runs: %s", label(inst), reason)
    blocked = sched.blocked()
    summary = {
        "succeeded": sched.succeeded,
        "failed": [label(i) for i in sched.failed],
        "blocked": [label(i) for i, _ in blocked],
        "never_run": [label(i) for i, _ in sched.never_run],
        "stopped_at": None if stopped_at is None else fmt(stopped_at),
    }
    if not sched.failed and not blocked and not sched.stalled_by_runahead():
        logger.info("All %d instances completed", sched.succeeded + sched.failed_ok)
        return summary
    parts = []
    if sched.failed:
        parts.append("failed: " + ", ".join(summary["failed"]))
    if blocked:
        parts.append("blocked: " + "; ".join(f"{label(i)} ({why})" for i, why in blocked))
    if sched.stalled_by_runahead():
        parts.append("later points were held back by the runahead limit")
    message = "Cyclic workflow did not complete. " + ". ".join(parts)
    logger.error(message)
    return Failed(message=message, data=summary)


class _Submitter:
    """Turns a ready instance into a Prefect task run with its name, tags and inputs.

    With ``resume``, each run carries its instance's cache policy (see
    :mod:`prefect_cycles.resume`); instances chosen by ``rerun``, and every
    instance downstream of one, refresh their cache so they run again.
    """

    def __init__(
        self,
        workflow: Workflow,
        impls: Mapping[str, Task],
        tag_points: bool,
        resume: Resume | None = None,
        rerun: Rerun | None = None,
    ) -> None:
        self.workflow = workflow
        self.tag_points = tag_points
        self.resume = resume
        self.rerun = rerun or Rerun()
        self.impls = {n: resume.prepare(t) for n, t in impls.items()} if resume else dict(impls)
        self._own = {n: owns_caching(t) for n, t in impls.items()}  # the user's caching rules
        self.futures: dict[Instance, PrefectFuture] = {}
        self.refreshed: set[Instance] = set()  # chosen for a rerun, or downstream of one
        self.cached = 0
        self._stores: dict[str, Any] = {}
        self._params = {name: set(inspect.signature(t.fn).parameters) for name, t in impls.items()}
        ctx = FlowRunContext.get()
        self.process_pool = isinstance(ctx.task_runner if ctx else None, ProcessPoolTaskRunner)

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
                task.cache_policy = self.resume.policy(inst.task, label)
            if self.rerun.chosen(inst) or any(n.parent in self.refreshed for n in item.parents):
                task.refresh_cache = True
                self.refreshed.add(inst)
        params = self._params[inst.task]
        kwargs: dict[str, Any] = {}
        if POINT_PARAM in params:
            kwargs[POINT_PARAM] = to_python(inst.point)
        wait_for = []
        for need in item.parents:
            fut = self.futures.get(need.parent)
            if fut is None:
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
            if key in params and (key not in kwargs or need.parent.point > kwargs[key][0].point):
                kwargs[key] = (need.parent, fut)
        args = {k: v[1] if isinstance(v, tuple) else v for k, v in kwargs.items()}
        fut = task.submit(**args, wait_for=wait_for)
        self.futures[inst] = fut
        return fut

    def stopped_cycling(self, inst: Instance, state: State, logger: Any) -> bool:
        """Whether a completed instance ends the cycling, fresh or restored from the cache.

        Also counts restored instances and warns, naming the instance, when a
        fresh result could not be saved: the work is done, but a rerun repeats it.
        """
        if self.resume is None:
            return state.name == STOP_STATE
        if state.name == CACHED:
            self.cached += 1
            store = self._stores.get(inst.task)
            if store is None:
                store = self._stores[inst.task] = self.resume.store_for(self.impls[inst.task])
            return stopped_when_cached(state, store)
        if self.impls[inst.task].persist_result and not result_saved(state):
            logger.warning(
                "%s[%s] completed but its result could not be saved, so a rerun will run it "
                "again. Fix: return a value the result serializer can save (pickle by default), "
                "or give the task result_serializer='json' or another serializer",
                inst.task,
                self.workflow.fmt(inst.point),
            )
        return state.name == STOP_STATE

    def report(self, logger: Any) -> None:
        if self.cached:
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
