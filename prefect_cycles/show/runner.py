"""Run a cyclic flow here and now, with a progress view (``prefect-cycles run``).

The flow runs in this process, as a normal call of the Prefect flow (so it
talks to ``PREFECT_API_URL``, or to a temporary local server when none is
set), inside :func:`~prefect_cycles.run.loop.watching`, which feeds the
scheduler's events to a :class:`~prefect_cycles.show.tally.Tally`. On a terminal
the view is live; Prefect's console log lines are sent through the live
display so they print above it instead of tearing it. Anywhere else (CI
logs, tests, pipes) the final view is printed once, at the end.
"""

from __future__ import annotations

import io
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import islice
from typing import IO, Any

from rich.console import Console
from rich.live import Live

from ..errors import CycleError
from ..graph.model import Workflow, runahead_limit
from ..graph.unroll import Unroller, unroll
from ..run.loop import watching
from ..run.rerun import parse_rerun
from ..run.scheduler import Scheduler
from .progress import Outcome, ProgressView
from .sources import load_flow
from .tally import Tally

#: Exit statuses: every instance completed; the flow run did not; Ctrl-C.
OK, FAILED, INTERRUPTED = 0, 1, 130


#: Windows of up to this many points are counted before the run starts, so the
#: progress view has a total from the start. Longer windows are counted as they
#: run, as an endless one is: the first task run must not wait for a pass over a
#: window of a million points (counting one took longer than the run's first
#: minutes; 2,000 points take about 50 ms).
COUNTED_POINTS = 2_000


def expected_runs(
    workflow: Workflow, start: object = None, stop: object = None, *, limit: int | None = None
) -> Counter | None:
    """How many instances run at each point of a bounded window (as the graph says).

    None when the window has no stop, or has more than ``limit`` points.
    """
    if limit is not None:
        points = Unroller(workflow, start, stop)
        if points.stop is None or next(islice(points.points(), limit, None), None) is not None:
            return None
    g = unroll(workflow, start, stop)
    return Counter(n.point for n, d in g.nodes(data=True) if d["runs"] and d["exists"])


def run_with_progress(
    source: str,
    start: str | None = None,
    stop: str | None = None,
    runahead: str | None = None,
    *,
    rerun: str | None = None,
    quiet: bool = False,
    console: Console | None = None,
) -> int:
    """Run the cyclic flow SOURCE names over ``[start, stop]``; return the exit status."""
    flow: Any = load_flow(source)
    wf: Workflow = flow.workflow
    window = Unroller(wf, start, stop)  # a bad start or stop fails here, before any run
    if runahead is not None:
        runahead_limit(runahead, wf.cycling)
    if rerun is not None:
        if "rerun" not in flow.parameters.properties:
            raise CycleError(
                f"--rerun needs a resumable flow, and {source} was built with resume=False",
                fix="drop --rerun (every instance runs anyway), or build the flow with resume on",
            )
        parse_rerun(rerun, window)  # a bad selector fails here, before any run
    expected = expected_runs(wf, start, stop, limit=COUNTED_POINTS)
    console = console or Console()
    live = console.is_terminal
    span = f"{wf.fmt(window.start)} to " + (
        wf.fmt(window.stop) if window.stop is not None else "no stop point (Ctrl-C stops)"
    )
    tally = Tally(expected)
    view = ProgressView(
        tally,
        wf.fmt,
        f"{wf.name}: points {span}, runahead {runahead or wf.runahead}",
        max_rows=max(console.height - 12, 5) if live else None,
    )

    def watch(sched: Scheduler) -> None:
        tally.attach(sched)
        if view.run_name is None:
            view.run_name, view.run_url = _flow_run_label()
        timed = sched.waiting_for_clock()
        if timed:
            inst, due = timed[0]
            view.clock_wait = (len(timed), f"{inst.task}[{wf.fmt(inst.point)}]", due)
            view.clock_last = max(due for _, due in timed)
        else:
            view.clock_wait = view.clock_last = None

    state = None
    with ExitStack() as stack:
        stack.enter_context(_quiet_logs(quiet))
        if live:
            stack.enter_context(
                Live(
                    view,
                    console=console,
                    refresh_per_second=4,
                    redirect_stdout=True,
                    redirect_stderr=True,
                    vertical_overflow="visible",
                )
            )
            stack.enter_context(_logs_through(console))
        stack.enter_context(watching(watch))
        try:
            params = _parameters(wf, start, stop, runahead)
            if rerun is not None:
                params["rerun"] = rerun
            state = flow(**params, return_state=True)
        except KeyboardInterrupt:  # the counts stay as they were: nothing is blocked
            view.finish(_outcome(tally, wf, None))
        except Exception as exc:
            if tally.scheduler is not None:
                raise
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise CycleError(
                f"the flow run did not start: {type(exc).__name__}: {first_line}",
                fix="check that PREFECT_API_URL points at a running Prefect server, or unset "
                "it for a temporary one (on a slow machine, raise "
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)",
            ) from exc
        else:
            tally.end()
            view.finish(_outcome(tally, wf, state))
    if not live:  # a pipe or a CI log: as wide as it needs, not wrapped at 80 columns
        console.print(view, soft_wrap=True)
    if state is None:
        return INTERRUPTED
    return OK if state.is_completed() else FAILED


def _parameters(wf: Workflow, start: str | None, stop: str | None, runahead: str | None) -> dict:
    """The flow's parameters, as its signature types them (int, or Cylc's date-time text)."""
    params: dict[str, Any] = {}
    for name, value in (("start", start), ("stop", stop)):
        if value not in (None, ""):
            point = wf.cycling.point(value)
            params[name] = point if isinstance(point, int) else wf.fmt(point)
    if runahead is not None:
        params["runahead"] = runahead
    return params


def _flow_run_label() -> tuple[str | None, str | None]:
    """The running flow run's name and, when a UI address is known, its link."""
    from prefect.context import FlowRunContext
    from prefect.utilities.urls import url_for

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return None, None
    return ctx.flow_run.name, url_for(ctx.flow_run)


def _outcome(tally: Tally, wf: Workflow, state: Any) -> Outcome:
    """What to say at the end: the run's state, and which instances failed or were held, why."""
    sched = tally.scheduler
    if state is None:
        outcome = Outcome("interrupted")
        outcome.notes.append(
            "Interrupted: Prefect marked the flow run Crashed, and the task runs still "
            "in flight were abandoned."
        )
        return outcome
    outcome = Outcome(state.name)
    if not state.is_completed() and state.message and (sched is None or not sched.failed):
        outcome.notes.append(state.message)
    if state.is_completed() and _unsaved(state):
        outcome.notes.append(state.message)  # which results a rerun repeats, and why
    if sched is None:
        return outcome

    def label(inst: Any) -> str:
        return f"{inst.task}[{wf.fmt(inst.point)}]"

    reasons = _failure_messages(state, {label(i) for i in sched.failed}) if sched.failed else {}
    outcome.failed = [(label(i), reasons.get(label(i), "")) for i in sched.failed]
    outcome.blocked = [(label(i), why) for i, why in sched.blocked()]
    if sched.stalled_by_runahead():
        outcome.notes.append("Later points were held back by the runahead limit.")
    outcome.never_run = [(label(i), why) for i, why in sched.never_run]
    return outcome


def _unsaved(state: Any) -> list[str]:
    """The instances of a completed run whose results could not be saved."""
    try:
        summary = state.result()
    except Exception:  # a result that cannot be read here has no list to give
        return []
    return list(summary.get("unsaved", [])) if isinstance(summary, dict) else []


#: How long the final view waits for the server to record the failed task runs' states.
FAILURES_RECORDED_WITHIN = 15.0


def _failure_messages(state: Any, expected: set[str]) -> dict[str, str]:
    """The state message of each failed task run of the flow run, by task run name.

    Prefect 3 records task-run states from events, after the fact: a flow run
    that has just ended may not have its failed task runs on the server yet,
    so this waits (a little) until every ``expected`` one is there.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    run_id = state.state_details.flow_run_id
    if run_id is None:
        return {}
    deadline = time.monotonic() + FAILURES_RECORDED_WITHIN
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
                task_run_filter=TaskRunFilter(
                    state=TaskRunFilterState(
                        type=TaskRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
                    )
                ),
            )
            found = {
                r.name: (r.state.message or r.state.name or "") for r in runs if r.state is not None
            }
            if expected <= found.keys() or time.monotonic() > deadline:
                return found
            time.sleep(0.25)


def _console_handlers() -> Iterator[logging.Handler]:
    """Every Prefect console log handler in the logging tree."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    seen: set[int] = set()
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, PrefectConsoleHandler) and id(handler) not in seen:
                seen.add(id(handler))
                yield handler


class _Above(io.TextIOBase):
    """A stream into the live display's stand-in for stderr, which prints above the view.

    rich's ``Console.file`` unwraps the stand-in (a ``FileProxy``, through its
    ``rich_proxied_file``), so a console handed the stand-in itself writes to the
    real stderr, under the view, where the next redraw wipes it and the view's
    copies stack up. This wrapper is not unwrapped.
    """

    def __init__(self, proxy: IO[str], terminal: bool) -> None:
        self._proxy = proxy
        self._terminal = terminal

    def write(self, text: str) -> int:
        self._proxy.write(text)
        return len(text)

    def flush(self) -> None:
        self._proxy.flush()

    def isatty(self) -> bool:
        return self._terminal  # so Prefect's console keeps its colours


@contextmanager
def _logs_through(console: Console) -> Iterator[None]:
    """Send Prefect's console logs through the live display, which prints them above itself.

    Call inside ``Live(console=console, redirect_stderr=True)``: its stand-in for
    stderr is the way through. Prefect's handler holds its own rich Console on the
    real stderr, which the display's redirect cannot see; pointing that console at
    the stand-in (see :class:`_Above`) keeps Prefect's colours and the view whole.
    """
    import sys

    through = _Above(sys.stderr, console.is_terminal)
    moved = [(h, h.console.file) for h in _console_handlers()]  # type: ignore[attr-defined]
    for handler, _ in moved:
        handler.console.file = through  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for handler, file in moved:
            handler.console.file = file  # type: ignore[attr-defined]


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


@contextmanager
def _quiet_logs(quiet: bool) -> Iterator[None]:
    """With ``quiet``, show only warnings and errors from Prefect on the console."""
    if not quiet:
        yield
        return
    only = _WarningsOnly()
    handlers = list(_console_handlers())
    for handler in handlers:
        handler.addFilter(only)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(only)
