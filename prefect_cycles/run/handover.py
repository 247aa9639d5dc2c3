"""How a window shows on the server, and how a deployment's window starts its successor.

Every window of a chain is named ``flow[first..last]``, tagged
``prefect-cycles:<flow>`` and labelled with its number and its predecessor,
so the runs of one chain are found together in the UI. A window run from a
deployment hands the cycling over through that deployment
(``run_deployment``, not waiting), so a worker of its pool picks up the next
window like any other run.

A plain call's windows are created named, tagged and labelled, in one request
(:class:`WindowRuns`), and Prefect's engine runs the flow run so created, as
a worker runs a deployment's. Naming and labelling a run after the engine
created it took two more requests per window, and the server's labels
endpoint (read, then write, in one SQLite transaction) was refused with a 503
at most boundaries of a chain, while the server recorded the task runs of the
window before: Prefect's client retries after 2 s, and the window's end waited
for it (measured: benchmarks/chain_windows.py, docs/running-for-ever.md).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect.context import FlowRunContext

from ..cycling.points import Point
from ..graph.model import Workflow
from .windows import CHAIN_PARAM, chain_param, param, plan_window, window_name

if TYPE_CHECKING:
    from .flow import CyclicFlow


#: Tag prefix shared by every flow run of a chain (``prefect-cycles:<flow name>``).
TAG_PREFIX = "prefect-cycles:"

#: Label naming a window's predecessor flow run.
PREDECESSOR_LABEL = "prefect-cycles.predecessor"

#: Label giving a window's number in its chain (1 for the first).
WINDOW_LABEL = "prefect-cycles.window"

logger = logging.getLogger("prefect_cycles.chain")


def deployment_id() -> str | None:
    """The deployment this flow run came from, from its own record (no API round trip:
    ``prefect.runtime.deployment.id`` reads the flow run again when not in a deployment)."""
    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    value = run.deployment_id if run is not None else None
    return str(value) if value else None


def window_labels(chain: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
    """A window's labels: its number in the chain and, after the first, its predecessor."""
    labels: dict[str, bool | int | float | str] = {WINDOW_LABEL: str(chain.get("window") or 1)}
    if chain.get("predecessor"):
        labels[PREDECESSOR_LABEL] = str(chain["predecessor"])
    return labels


def labelled(
    cflow: CyclicFlow, wf: Workflow, start: Point, stop: Point, chain: Mapping[str, Any]
) -> bool:
    """Whether the running flow run already has its window's name, tag and labels (a
    plain call's windows are created with them: see :class:`WindowRuns`)."""
    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx else None
    if run is None:
        return True  # nothing to label
    labels = run.labels or {}
    return (
        run.name == window_name(cflow.name, wf, start, stop)
        and TAG_PREFIX + cflow.name in (run.tags or [])
        and all(labels.get(k) == v for k, v in window_labels(chain).items())
    )


def label_run(
    cflow: CyclicFlow, wf: Workflow, start: Point, stop: Point, chain: Mapping[str, Any]
) -> None:
    """Name the running flow run after its points; tag it with the chain; link its predecessor."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    from prefect.client.orchestration import get_client

    run = ctx.flow_run
    name = window_name(cflow.name, wf, start, stop)
    tags = sorted(set(run.tags) | {TAG_PREFIX + cflow.name})
    labels = window_labels(chain)
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, name=name, tags=tags)
            client.update_flow_run_labels(run.id, labels)
    except Exception as exc:
        logger.warning("could not name flow run %s %r: %s", run.id, name, exc)


def hand_over(
    cflow: CyclicFlow,
    deployment: str,
    start: Point,
    chain_stop: Any,
    runahead: Any,
    rerun: Any,
    chain: Mapping[str, Any],
    run_id: str | None,
) -> str | None:
    """Start the next window as a new run of this run's own deployment, not waiting for it.

    The idempotency key (this run and the next point) stops a retried or
    restarted hand-over from starting a second successor.
    """
    from prefect.deployments import run_deployment

    wf = cflow.workflow
    win = plan_window(wf, start, chain_stop, cflow.max_instances_per_run)
    if win is None:
        return None
    index = int(chain.get("window") or 1) + 1
    nxt_chain = chain_param(wf, chain["origin"], chain_stop, index, run_id)
    parameters = {
        "start": param(wf, win.start),
        "stop": param(wf, win.stop),
        "runahead": runahead,
        CHAIN_PARAM: nxt_chain,
    }
    if rerun is not None:
        parameters["rerun"] = rerun
    successor: Any = run_deployment(  # a FlowRun, called from sync code
        deployment,
        parameters=parameters,
        flow_run_name=window_name(cflow.name, wf, win.start, win.stop),
        tags=[TAG_PREFIX + cflow.name],
        timeout=0,
        as_subflow=False,
        idempotency_key=f"prefect-cycles:{run_id}:{wf.fmt(win.start)}",
    )
    return str(successor.id)


#: Builds the next window's (parameters, first point, last point) from this window's flow
#: run id, or None when this window is the chain's last.
Successor = Callable[[str], "tuple[dict[str, Any], Point, Point] | None"]


@dataclass
class _Ahead:
    """The next window's flow run, being created in the background."""

    key: Any
    thread: threading.Thread | None = None
    run: Any = None


class WindowRuns:
    """The flow runs of a plain call's windows, each created with its name, tag and labels.

    One request per window (``POST /flow_runs/`` with the labels in it); the
    flow's id is looked up once per chain, where Prefect's client upserts the
    flow before every flow run it creates. The engine then runs the flow run
    (``run_flow(flow_run=...)``), as a worker runs a deployment's.

    Windows one after another also create the next window's flow run *ahead*,
    in the background, as soon as this one's exists: on a SQLite server the
    creation was refused with a 503 at up to half the boundaries (the server
    records the task runs of the window that just ended at that moment) and
    Prefect's client retries after 2 s. Created ahead, it waits ``Pending``
    (named, labelled with its predecessor) while its predecessor runs; it is
    deleted, never having run, when the chain ends before it (:meth:`close`),
    and a run found dead on restart takes its waiting successor with it
    (:func:`drop_successors`).
    """

    def __init__(self, cflow: CyclicFlow) -> None:
        self.cflow = cflow
        self._flow_id: Any = None
        self._ahead: _Ahead | None = None

    def create(self, parameters: dict[str, Any], start: Point, stop: Point) -> Any:
        """A Pending flow run of the window ``start..stop`` called with ``parameters``."""
        from prefect.client.schemas.actions import FlowRunCreate
        from prefect.client.schemas.objects import FlowRun, FlowRunPolicy
        from prefect.context import TagsContext
        from prefect.states import Pending, to_state_create

        cflow = self.cflow
        chain = parameters.get(CHAIN_PARAM) or {}
        tags = set(TagsContext.get().current_tags) | {TAG_PREFIX + cflow.name}
        with _client() as client:
            if self._flow_id is None:
                self._flow_id = client.create_flow(cflow)
            create = FlowRunCreate(
                flow_id=self._flow_id,
                flow_version=cflow.version,
                name=window_name(cflow.name, cflow.workflow, start, stop),
                parameters=cflow.serialize_parameters(parameters),
                tags=sorted(tags),
                labels=window_labels(chain),
                state=to_state_create(Pending()),
                empirical_policy=FlowRunPolicy(
                    retries=cflow.retries, retry_delay=int(cflow.retry_delay_seconds or 0)
                ),
            )
            response = client.request(
                "POST", "/flow_runs/", json=create.model_dump(mode="json", exclude_unset=True)
            )
        run = FlowRun.model_validate(response.json())
        run.parameters = parameters  # the objects, as Prefect's client does
        return run

    def run(
        self,
        parameters: dict[str, Any],
        start: Point,
        stop: Point,
        successor: Successor | None = None,
    ) -> Any:
        """Create the window's flow run (or take the one created ahead) and run it here;
        with ``successor``, the next window's flow run is created ahead meanwhile."""
        from prefect.flow_engine import run_flow

        call = self._call(parameters)
        key = self._key(call, start, stop)
        run = self._take(key)
        if run is None:
            run = self.create(call, start, stop)
        if successor is not None:
            self._create_ahead(successor, str(run.id))
        return run_flow(flow=self.cflow, flow_run=run, parameters=call, return_type="state")

    def close(self) -> None:
        """The chain has ended: a flow run created ahead for a window that will not run goes."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            self._discard(ahead)

    def _call(self, parameters: dict[str, Any]) -> dict[str, Any]:
        from prefect.utilities.callables import get_call_parameters

        return get_call_parameters(self.cflow.fn, (), parameters)

    def _key(self, call: dict[str, Any], start: Point, stop: Point) -> Any:
        return (start, stop, repr(self.cflow.serialize_parameters(call)))

    def _create_ahead(self, successor: Successor, run_id: str) -> None:
        nxt = successor(run_id)
        if nxt is None:
            return
        params, start, stop = nxt
        call = self._call(params)
        ahead = _Ahead(self._key(call, start, stop))

        def make() -> None:
            try:
                ahead.run = self.create(call, start, stop)
            except Exception as exc:  # the window creates its own when its turn comes
                logger.debug("could not create the next window's flow run ahead: %s", exc)

        ahead.thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(make,),
            name="prefect-cycles-next-window",
            daemon=True,
        )
        ahead.thread.start()
        self._ahead = ahead

    def _take(self, key: Any) -> Any:
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if ahead.thread is not None:
            ahead.thread.join()
        if ahead.run is not None and ahead.key == key:
            return ahead.run
        self._discard(ahead)  # made for another window (cannot happen while plans are fixed)
        return None

    def _discard(self, ahead: _Ahead) -> None:
        if ahead.thread is not None:
            ahead.thread.join()
        if ahead.run is None:
            return
        try:
            with _client() as client:
                client.delete_flow_run(ahead.run.id)
        except Exception as exc:
            logger.warning(
                "could not delete flow run %s, created for a window that did not run: %s",
                ahead.run.id,
                exc,
            )


def _client() -> Any:
    """The chain's shared client as it is (entering it again from another thread would race
    on its reentrancy count), or a client of its own."""
    from prefect.client.orchestration import get_client
    from prefect.context import SyncClientContext

    shared = SyncClientContext.get()
    if shared is not None and shared.client is not None:
        return nullcontext(shared.client)
    return get_client(sync_client=True)


def drop_successors(client: Any, dead: Any, logger: Any) -> list[str]:
    """Delete the flow runs created ahead for the window after ``dead`` (a flow run found
    dead): ``Pending``, outside any deployment, labelled with ``dead`` as predecessor."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    waiting = client.read_flow_runs(
        flow_filter=FlowFilter(id=FlowFilterId(any_=[dead.flow_id])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PENDING]))
        ),
    )
    dropped = []
    for run in waiting:
        labels = run.labels or {}
        if run.deployment_id is None and labels.get(PREDECESSOR_LABEL) == str(dead.id):
            client.delete_flow_run(run.id)
            logger.warning(
                "Deleted flow run %r (%s), created ahead for the window after the dead run %s: "
                "it never ran",
                run.name,
                run.id,
                dead.id,
            )
            dropped.append(str(run.id))
    return dropped
