"""How a window shows on the server, and how a deployment's window starts its successor.

Every window of a chain is named ``flow[first..last]``, tagged
``prefect-cycles:<flow>`` and labelled with its number and its predecessor,
so the runs of one chain are found together in the UI. A window run from a
deployment hands the cycling over through that deployment
(``run_deployment``, not waiting), so a worker of its pool picks up the next
window like any other run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from prefect.context import FlowRunContext

from ..cycling.points import Point
from ..graph.model import Workflow
from .windows import CHAIN_PARAM, initial_entry, param, plan_window, window_name

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
    labels: dict[str, Any] = {WINDOW_LABEL: str(chain.get("window") or 1)}
    if chain.get("predecessor"):
        labels[PREDECESSOR_LABEL] = str(chain["predecessor"])
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
    nxt_chain = {
        "origin": chain["origin"],
        "stop": chain_stop,
        "window": int(chain.get("window") or 1) + 1,
        "predecessor": run_id,
        **initial_entry(wf),
    }
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
