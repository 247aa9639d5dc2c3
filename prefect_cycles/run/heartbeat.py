"""Flow-run heartbeats that stop the moment a window's body ends.

Prefect's flow engine emits a ``prefect.flow-run.heartbeat`` event when a flow
run starts and every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds after (180
by default), so that an automation can mark a run that went silent
``Crashed``. Its thread sleeps in steps of one second, and the engine waits
for it when the run ends: up to a second, half a second on average, at the
end of every flow run. Once per flow run that is nothing; between two
windows of a chain it sat on the critical path of every boundary (measured:
benchmarks/chain_windows.py, docs/running-for-ever.md).

So the windows of a plain call's chain carry their heartbeat themselves: the
chain's driver turns the engine's off for its windows
(:func:`handed_over`), and each window's body emits the same event, with the
same resource and related resources as the engine's, at the same frequency,
from a thread that stops at once (:func:`beating`). Turning the engine's off
costs a ``temporary_settings`` (about 80 ms of validation), so it is done once
per chain, not per window. Tasks and flows that the
window runs see the user's own setting again. With heartbeats turned off by
the user, no window beats.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.context import FlowRunContext, SettingsContext, get_settings_context
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

#: Prefect's own floor for the heartbeat frequency (``flow_engine.MINIMUM_HEARTBEAT_INTERVAL``).
MINIMUM_SECONDS = 30

#: Set by :func:`handed_over` for the windows it runs: the user's settings context and
#: heartbeat frequency, which :func:`beating` applies again inside each window.
_HANDED: contextvars.ContextVar[tuple[SettingsContext, int] | None] = contextvars.ContextVar(
    "prefect_cycles_heartbeat", default=None
)


@contextmanager
def handed_over() -> Iterator[None]:
    """Around a chain's windows: the engine emits no heartbeat, each window's body does."""
    outer = get_settings_context()
    frequency = outer.settings.flows.heartbeat_frequency
    if frequency is None:  # the user turned heartbeats off: nothing to hand over
        yield
        return
    token = _HANDED.set((outer, max(int(frequency), MINIMUM_SECONDS)))
    try:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield
    finally:
        _HANDED.reset(token)


@contextmanager
def beating() -> Iterator[None]:
    """Inside a window's flow run, under :func:`handed_over`: emit the run's heartbeat now
    and every N seconds until the body ends, with the user's settings back in force."""
    handed = _HANDED.get()
    ctx = FlowRunContext.get()
    if handed is None or ctx is None or ctx.flow_run is None:
        yield
        return
    outer, frequency = handed
    stop = threading.Event()
    token = _HANDED.set(None)  # a chain the window's tasks call hands over on its own
    try:
        with SettingsContext(profile=outer.profile, settings=outer.settings):
            thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(_beat, _event(ctx), frequency, stop),
                name="prefect-cycles-heartbeat",
                daemon=True,
            )
            thread.start()
            try:
                yield
            finally:
                stop.set()
                thread.join()  # at once: the thread waits on the event, not in a sleep
    finally:
        _HANDED.reset(token)


def _beat(event: dict[str, Any], frequency: int, stop: threading.Event) -> None:
    from prefect.events.utilities import emit_event

    while True:
        with contextlib.suppress(Exception):  # as the engine's: a lost beat fails nothing
            emit_event(**event)
        if stop.wait(frequency):
            return


def _event(ctx: FlowRunContext) -> dict[str, Any]:
    """The heartbeat event as Prefect's engine builds it (``_build_heartbeat_event_template``)."""
    from prefect import __version__
    from prefect.events.related import RelatedResource, tags_as_related_resources

    run = ctx.flow_run
    assert run is not None
    related: list[RelatedResource] = []
    if run.flow_id:
        related.append(
            RelatedResource.model_validate(
                {
                    "prefect.resource.id": f"prefect.flow.{run.flow_id}",
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": ctx.flow.name if ctx.flow else "",
                }
            )
        )
    if run.deployment_id:
        related.append(
            RelatedResource.model_validate(
                {
                    "prefect.resource.id": f"prefect.deployment.{run.deployment_id}",
                    "prefect.resource.role": "deployment",
                }
            )
        )
    related += tags_as_related_resources(set(run.tags or []))
    return {
        "event": "prefect.flow-run.heartbeat",
        "resource": {
            "prefect.resource.id": f"prefect.flow-run.{run.id}",
            "prefect.resource.name": run.name or "",
            "prefect.version": __version__,
        },
        "related": related,
    }


__all__ = ["MINIMUM_SECONDS", "beating", "handed_over"]
