"""The flow builder: a cyclic workflow becomes a real Prefect flow.

Every task at every cycle point is a Prefect task run of its own, named
``task[point]`` and tagged with its point, submitted by the scheduler as soon
as its prerequisites are met, with its parents passed as ``wait_for`` so the
UI draws the real edges. Cycles overlap wherever the graph allows, up to the
runahead limit. The flow is a :class:`CyclicFlow` (a ``prefect.Flow``) whose
parameters ``start``, ``stop`` and ``runahead`` choose each run's window.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from prefect import Flow, Task, get_run_logger
from prefect.states import Completed, State
from prefect.task_runners import ThreadPoolTaskRunner
from typing_extensions import Unpack

from ..cycling.points import Point
from ..errors import CycleError, ValidationError
from ..frontends.runtime import apply_run_settings, declare_outputs
from ..graph.model import Workflow
from .chain import call_chain, run_window
from .identity import identity
from .loop import run_cycles
from .params import check_parameters
from .resume import Resume, mark_stop, source_digest
from .resume import result_storage as result_storage_option
from .safety import check_option as check_serializer
from .submit import DEFAULT_MAX_WORKERS, POINT_PARAM, PREVIOUS_PARAM, STOP_STATE
from .windows import CHAIN_PARAM, DEFAULT_MAX_INSTANCES_PER_RUN, check_budget

if TYPE_CHECKING:
    from ..show.render import Picture

logger = logging.getLogger(__name__)


class FlowOptions(TypedDict, total=False):
    """The ``prefect.Flow`` options ``cyclic_flow`` passes on, so type checkers catch typos.

    (``name``, ``task_runner``, ``result_storage`` and ``validate_parameters``
    are ``cyclic_flow``'s own.)
    """

    version: str | None
    flow_run_name: str | Callable[[], str] | None
    retries: int | None
    retry_delay_seconds: int | float | None
    description: str | None
    timeout_seconds: int | float | None
    persist_result: bool | None
    cache_result_in_memory: bool
    log_prints: bool | None
    on_completion: list[Any] | None
    on_failure: list[Any] | None
    on_cancellation: list[Any] | None
    on_crashed: list[Any] | None
    on_running: list[Any] | None


class CyclicFlow(Flow):
    """A Prefect flow that runs a cyclic workflow; ``workflow`` holds its model."""

    workflow: Workflow
    implementations: dict[str, Task]
    #: What a flow.cylc held that has no effect here (scripts, platforms...), one line each.
    notices: list[str]
    resumer: Resume | None = None

    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Check start, stop, runahead and rerun first, so a bad value fails the run with a
        CycleError naming the parameter, before pydantic coerces it (``start=True`` to 1)."""
        return super().validate_parameters(check_parameters(self.workflow, parameters))

    #: Instances per flow run of a chain (see :mod:`prefect_cycles.run.chain`); None: one run.
    max_instances_per_run: int | None = None
    tag_points: bool = False

    def __call__(self, *args: Any, return_state: bool = False, **kwargs: Any) -> Any:
        """A plain call: with a budget, the whole chain of windows, one flow run each.

        On a temporary local server, it waits for the server patiently (see run.server).
        """
        from .server import temporary_server_care

        with temporary_server_care():
            if self.max_instances_per_run is None or kwargs.get(CHAIN_PARAM):
                return super().__call__(*args, return_state=return_state, **kwargs)
            return call_chain(self, args, kwargs, return_state)

    def _set_entrypoint_name(self) -> None:
        """Name the function after the module variable holding this flow, for deployments."""
        module = sys.modules.get(self.fn.__module__)
        for var, value in vars(module).items() if module else ():
            if value is self:
                self.fn.__name__ = self.fn.__qualname__ = var
                return

    def result_of(self, task: str, point: object = None) -> Any:
        """The saved result of one instance, read from result storage after a run.

        ``flow.result_of("foo", 3)`` or ``flow.result_of("foo[3]")``, in this process or
        a later one: a resumable flow keeps every instance's result under its
        instance's key. A :class:`~prefect_cycles.errors.CycleError` says when there is none.
        """
        from .results import result_of

        return result_of(self, task, point)

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
        from ..show.render import picture

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
    outputs: Mapping[str, Any] | None = None,
    completion: Mapping[str, str] | None = None,
    clock_expire: Mapping[str, Any] | None = None,
    queues: Mapping[str, Any] | None = None,
    resume: bool = True,
    result_storage: str | Path | Any = None,
    lock_manager: Any = None,
    result_serializer: str | None = None,
    template_vars: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str | Iterable[int | str]] | None = None,
    parameter_templates: Mapping[str, str] | None = None,
    max_instances_per_run: int | None = DEFAULT_MAX_INSTANCES_PER_RUN,
    **flow_options: Unpack[FlowOptions],
) -> CyclicFlow:
    """Build a Prefect flow that runs a cyclic workflow.

    The workflow comes from one of three places: the ``@cycle`` rules on
    ``tasks`` (decorator front end); a ``graph`` mapping recurrences to Cylc
    graph strings, run by the ``tasks`` of the same names; or a ``cylc``
    flow.cylc file, likewise. ``initial``/``final``/``runahead`` override a
    flow.cylc's own. ``xtriggers`` declares the clock triggers a ``graph`` names
    (``{"clock_1": "wall_clock(offset=PT1H)"}``; ``@wall_clock`` needs none).
    Run-time settings, by task name, for either front end (flow.cylc's
    ``[runtime]``, ``[[special tasks]]`` and ``[[queues]]``): ``outputs``
    (``{"foo": ["out1"]}``: custom outputs the body emits with ``emit_output``),
    ``completion`` (``{"foo": "succeeded and (x or y)"}``), ``clock_expire``
    (``{"foo": "PT1H"}``) and ``queues`` (``{"big": (2, [foo, "bar"])}``: at
    most 2 of these active at once). See docs/triggers.md.
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
    completed: each instance's result is persisted under a cache key of the
    workflow's identity, task name and point plus Prefect's ``TASK_SOURCE``, and
    comes back ``Cached``. The identity is ``name`` when given (every workflow
    of that name shares results, on purpose), else the default name, where the
    workflow is defined and its graph (:mod:`prefect_cycles.run.identity`). Two
    runs at once run each instance once: its transaction is SERIALIZABLE under
    ``lock_manager`` (default: file locks beside the results).
    ``result_serializer="json"`` saves results as plain JSON and reads back
    nothing else, so a record planted in the storage is never unpickled
    (:mod:`prefect_cycles.run.safety`). ``result_storage``
    is where results go: a directory, a block slug ``type/name`` or a saved
    storage block (default: Prefect's default result storage). A task with its
    own ``cache_policy``/``cache_key_fn``/``persist_result`` keeps its rules. The
    flow parameter ``rerun`` (``"foo[3..]"``, ``"*"``...) runs chosen instances
    and everything downstream of them again. See :mod:`prefect_cycles.run.resume`.

    ``template_vars`` are the Jinja2 template variables of a templated
    ``cylc`` file (Cylc's ``--set``; they win over its rose-suite.conf).
    ``parameters`` are Cylc task parameters for a ``graph`` or for ``@cycle``
    rules (``{"member": "1..3"}`` or ``{"member": range(1, 4)}``; a flow.cylc
    has its own ``[task parameters]``), ``parameter_templates`` how values are
    written into names (``{"member": "_mem%(member)02d"}``). A task written
    ``model<member>``, or decorated ``@cycle("P1", params="member")``, is run
    by the one Prefect task ``model`` for every value, as Cylc's expanded
    names (``model_member1``...); its body gets the value as the argument of
    the same name (``member``): in a graph when it declares one, and a
    decorated task must.
    ``max_instances_per_run`` bounds one flow run: a call runs the cycling as a
    chain of flow runs of at most that many instances each (whole points), each
    handing over to the next, with results and a progress record kept beside
    the results, so a long campaign neither grows one flow run without bound nor
    replays its history on restart. None runs each call as one flow run. See
    :mod:`prefect_cycles.run.chain` and docs/running-for-ever.md.
    """
    if graph is not None and cylc is not None:
        raise CycleError(
            "give either graph= or cylc=, not both", fix="choose one source for the graph"
        )
    if graph is not None or cylc is not None:
        from ..frontends.decorators import rules

        ruled = [t.name for t in tasks if isinstance(t, Task) and rules(t)]
        if ruled:
            raise CycleError(
                f"tasks with @cycle rules were given along with a graph: {', '.join(ruled)}",
                task=ruled[0],
                fix="use one front end: drop graph=/cylc= to use the @cycle rules, "
                "or pass undecorated tasks",
            )
        if template_vars is not None and cylc is None:
            raise CycleError(
                "template_vars= are for a templated flow.cylc, given with cylc=",
                fix="pass cylc='path/to/flow.cylc', or drop template_vars=",
            )
        if (parameters is not None or parameter_templates is not None) and graph is None:
            raise CycleError(
                "parameters= are for graph= strings; a flow.cylc has [task parameters]",
                fix="put them under [task parameters] in the flow.cylc, or drop parameters=",
            )
        names: dict[str, Any] = {}
        if graph is not None and parameters:
            from ..frontends.parameters import expand_graphs

            graph, names = expand_graphs(graph, parameters, parameter_templates)
        workflow, notices = _from_text(
            graph,
            cylc,
            initial,
            final,
            runahead,
            time_zone,
            name,
            xtriggers,
            outputs,
            template_vars,
        )
        if names:
            workflow.parameterised = {n: v for n, v in names.items() if n in workflow.tasks}
        impls = _parameterised_impls(workflow, _by_name(tasks))
    else:
        from ..frontends.decorators import build_workflow, task_map

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
            outputs=outputs,
            parameters=parameters,
            parameter_templates=parameter_templates,
        )
        impls = _parameterised_impls(workflow, task_map(*tasks))
        notices = []
    apply_run_settings(workflow, completion, clock_expire, queues)
    _check_implementations(workflow, impls)
    flow_name = name or workflow.name
    caller = sys._getframe(1).f_globals
    resumer = (
        Resume(
            identity(workflow, name, cylc, caller).key,
            result_storage_option(result_storage),
            lock_manager,
            check_serializer(result_serializer),
            {n: source_digest(t) for n, t in impls.items()},
        )
        if resume
        else None
    )
    budget = check_budget(workflow, max_instances_per_run, resume)
    holder: list[CyclicFlow] = []
    fn = _flow_function(
        workflow, impls, flow_name, caller, tag_points, resumer, notices, budget, holder
    )
    runner: Any = task_runner or ThreadPoolTaskRunner(max_workers=DEFAULT_MAX_WORKERS)
    cflow = CyclicFlow(
        fn,
        name=flow_name,
        task_runner=runner,
        validate_parameters=True,
        **flow_options,
    )
    cflow.workflow = workflow
    cflow.implementations = impls
    cflow.notices = notices
    cflow.max_instances_per_run = budget
    cflow.resumer = resumer
    cflow.tag_points = tag_points
    holder.append(cflow)
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
    outputs: Mapping[str, Any] | None = None,
    template_vars: Mapping[str, Any] | None = None,
) -> tuple[Workflow, list[str]]:
    """The workflow of a graph or flow.cylc, and the flow.cylc's notices (logged here)."""
    if cylc is not None:
        from ..frontends.flowcylc import load_flow_cylc

        workflow = load_flow_cylc(Path(cylc), template_vars)
        notices = workflow.notices
        for note in notices:
            logger.info("%s: %s", cylc, note)
        declare_outputs(workflow, outputs)
        if initial is not None or final is not None:
            workflow = workflow.with_window(initial, final)
        if runahead is not None:
            workflow.runahead = runahead
            workflow.runahead_points()
        if name:
            workflow.name = name
        return workflow, notices
    from ..frontends.graphstring import add_graph

    if initial is None:
        raise CycleError(
            "a cyclic flow needs an initial cycle point",
            fix="pass initial=, e.g. cyclic_flow(graph={...}, initial=1, final=4)",
        )
    workflow = Workflow.create(
        initial,
        final,
        time_zone=time_zone,
        runahead=runahead or "P4",
        name=name or "cyclic-workflow",
    )
    declare_outputs(workflow, outputs)  # before the graph, which checks its uses of them
    return add_graph(workflow, graph, xtriggers=xtriggers), []  # type: ignore[arg-type]


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


def _parameterised_impls(workflow: Workflow, impls: Mapping[str, Task]) -> dict[str, Task]:
    """Each expanded name (``model_m1``) run by the task of its base name (``model``).

    A task given under the expanded name itself wins.
    """
    out = dict(impls)
    for expanded, (base, _values) in workflow.parameterised.items():
        if expanded not in out and base in impls:
            out[expanded] = impls[base]
    return out


def _check_implementations(workflow: Workflow, impls: Mapping[str, Task]) -> None:
    if not workflow.tasks:
        raise ValidationError(
            f"the cyclic flow {workflow.name!r} has no tasks, so a run would do nothing",
            fix="pass @task functions with @cycle rules, or a graph= or cylc= that names tasks",
        )
    missing = sorted(set(workflow.tasks) - set(impls))
    if missing:
        raise ValidationError(
            f"the graph names tasks with no Prefect task to run them: {', '.join(missing)}",
            task=missing[0],
            fix="pass a @task for each (its name is the function name or @task(name=...))",
        )
    bases = {base for base, _ in workflow.parameterised.values()}
    extra = sorted(set(impls) - set(workflow.tasks) - bases)
    if extra:
        raise ValidationError(
            f"tasks given that the graph never names: {', '.join(extra)}",
            task=extra[0],
            fix="add them to the graph, or leave them out",
        )
    reserved = sorted(set(workflow.tasks) & {POINT_PARAM, PREVIOUS_PARAM})
    if reserved:
        raise ValidationError(
            f"task {reserved[0]!r} has a reserved name: a task body's parameter "
            f"{reserved[0]!r} is the cycle point or its previous result, not a parent's result",
            task=reserved[0],
            fix=f"rename the task, e.g. @task(name='{reserved[0]}_task'), and use that name "
            "in the graph",
        )
    parents = set(workflow.tasks) | bases
    for name, t in impls.items():
        if name not in workflow.tasks:
            continue  # a parameterised task's own name: checked as each expanded name
        values = workflow.parameterised.get(name, ("", {}))[1]
        for param in inspect.signature(t.fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in values:
                continue
            labels = {x.label for x in workflow.xtriggers}
            fillable = (
                param.name in (POINT_PARAM, PREVIOUS_PARAM)
                or param.name in parents
                or param.name.split("_")[0] in labels
                or param.name in labels
            )
            if fillable and param.kind is param.POSITIONAL_ONLY:
                raise ValidationError(
                    f"task {name!r} parameter {param.name!r} is positional-only, but the cyclic "
                    "flow passes it by name",
                    task=name,
                    fix=f"remove the '/' after {param.name} in the definition of {t.fn.__name__}",
                )
            if not fillable and param.default is param.empty:
                raise ValidationError(
                    f"task {name!r} has a parameter {param.name!r} the cyclic flow cannot fill",
                    task=name,
                    fix=f"give {param.name} a default, or name it 'point' (the cycle point), "
                    "'previous' (its own result at the previous point) or after a parent task",
                )
            if (param.name == PREVIOUS_PARAM or param.name in parents) and (
                param.default is param.empty
            ):
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
    notices: list[str] | None = None,
    budget: int | None = None,
    holder: list[CyclicFlow] | None = None,
) -> Callable[..., Any]:
    integer = workflow.cycling.mode == "integer"

    def default(point: Point | None) -> Any:
        # A wall-clock initial point (previous(T00)) is worked out at each run, so a
        # deployment must not keep the one of the day it was made.
        if point is None or workflow.wall_clock_initial is not None:
            return None
        return point if integer else workflow.fmt(point)

    def cycle_flow(
        start: Any = None,
        stop: Any = None,
        runahead: Any = None,
        rerun: Any = None,
        chain: dict[str, Any] | None = None,
    ) -> Any:
        if notices:
            get_run_logger().info(
                "%d flow.cylc setting(s) have no effect here: %s", len(notices), "; ".join(notices)
            )
        if budget is not None and holder:  # a chain (its wall-clock point fixed): see run.chain
            return run_window(holder[0], start, stop, runahead, rerun, chain)
        wf = workflow.at_wall_clock()
        if stop is None and wf.stop_after != wf.final:
            stop = wf.stop_after  # [scheduling]stop after / hold after cycle point
        return run_cycles(wf, impls, start, stop, runahead, tag_points, resume=resume, rerun=rerun)

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
                default=default(workflow.stop_after),
                annotation=point_type,
            ),
            inspect.Parameter(
                "runahead",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=workflow.runahead,
                annotation=str,
            ),
        ]
        + (  # resumable flows can re-run chosen instances on purpose: see prefect_cycles.run.rerun
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
        + (  # a window of a chain: where the chain began, its stop, number and predecessor
            [
                inspect.Parameter(
                    CHAIN_PARAM,
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    default=None,
                    annotation=dict[str, Any] | None,
                )
            ]
            if budget is not None
            else []
        )
    )
    cycle_flow.__annotations__ = {"start": point_type, "stop": point_type, "runahead": str}
    if resume is not None:
        cycle_flow.__annotations__["rerun"] = list[str] | str | None
    if budget is not None:
        cycle_flow.__annotations__[CHAIN_PARAM] = dict[str, Any] | None
    ident = "".join(c if c.isalnum() else "_" for c in name)
    cycle_flow.__name__ = cycle_flow.__qualname__ = ident if ident.isidentifier() else "cycle_flow"
    cycle_flow.__module__ = caller_globals.get("__name__", __name__)
    cycle_flow.__doc__ = f"Run the cyclic workflow {name!r} from start to stop."
    return cycle_flow


def stop_cycling(result: Any = None, message: str | None = None) -> State:
    """Return this from a task to end the cycling after its point ("loop until").

    The task run completes with ``result`` as its result; instances already
    started finish, and no instance at a later point starts.
    """
    mark_stop()  # so a resumed run that finds this result Cached stops there too
    return Completed(
        data=result, name=STOP_STATE, message=message or "cycling stopped by this task"
    )
