"""Clock triggers in real Prefect flow runs: in step with the clock, catch-up, no worker held.

Cycle points are precise to the minute (as in Cylc), so the clock times a few
seconds ahead come from clock offsets in seconds on the current minute.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path

import pytest
from flowruns import log_messages
from prefect import task
from prefect.task_runners import ThreadPoolTaskRunner

from prefect_cycles import cycle, cyclic_flow, previous, wall_clock

pytestmark = pytest.mark.usefixtures("prefect_server")

UTC = dt.timezone.utc

#: Seconds between building a flow and the clock time of its first waiting
#: instance: enough for the flow run to start (after the warm-up below), so
#: the instance really waits.
LEAD = 8

#: (task, point) -> wall-clock time (epoch seconds) the task body started / ended.
started: dict[tuple[str, dt.datetime], float] = {}
ended: dict[tuple[str, dt.datetime], float] = {}


@pytest.fixture(scope="module", autouse=True)
def _warm_up(prefect_server):
    """Run one small cyclic flow first: a session's first flow run is slow to begin."""

    @cycle("R1")
    @task
    def hello() -> None:
        pass

    assert cyclic_flow(hello, initial=1, name="clock-warm-up")(return_state=True).is_completed()


@pytest.fixture(autouse=True)
def _fresh_records():
    started.clear()
    ended.clear()


def record(name: str, point: dt.datetime, busy: float = 0.0) -> None:
    started[(name, point)] = time.time()
    if busy:
        time.sleep(busy)
    ended[(name, point)] = time.time()


def this_minute() -> tuple[dt.datetime, int]:
    """The current minute (a cycle point) and a clock offset in seconds on it that
    falls LEAD or so seconds from now."""
    now = dt.datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    return minute, math.ceil((now - minute).total_seconds()) + LEAD


def point_text(p: dt.datetime) -> str:
    return p.strftime("%Y%m%dT%H%MZ")


def test_clock_triggered_tasks_start_in_step_with_the_clock_and_catch_up():
    minute, offset = this_minute()
    first = minute - dt.timedelta(minutes=1)

    @cycle("PT1M", after=[wall_clock(f"PT{offset}S"), previous()])
    @task
    def tick(point: dt.datetime) -> None:
        record("tick", point)

    flow = cyclic_flow(tick, initial=first, final=minute, name="clock-in-step")
    state = flow(return_state=True)
    assert state.is_completed(), state.message

    due = {p: (p + dt.timedelta(seconds=offset)).timestamp() for p in (first, minute)}
    # The earlier point's clock time had passed when the flow began: it ran at
    # once, ahead of the later point's clock time. The later one waited for its own.
    assert started[("tick", first)] < due[minute]
    assert started[("tick", minute)] >= due[minute]
    assert started[("tick", first)] < started[("tick", minute)]
    messages = log_messages(state)
    waits = [m for m in messages if "waiting for the clock until" in m]
    until = (minute + dt.timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert waits == [f"tick[{point_text(minute)}] waiting for the clock until {until}"]


def test_points_already_past_all_run_at_once_in_order_from_flow_cylc(tmp_path: Path):
    minute, _ = this_minute()
    first, last = minute - dt.timedelta(hours=1), minute - dt.timedelta(minutes=10)
    (tmp_path / "flow.cylc").write_text(
        f"""[scheduling]
    initial cycle point = {point_text(first)}
    final cycle point = {point_text(last)}
    [[xtriggers]]
        late = wall_clock(offset=PT1M)
    [[special tasks]]
        clock-trigger = bar(PT2M)
    [[graph]]
        PT10M = "@late & foo[-PT10M] => foo => bar"
"""
    )

    @task
    def foo(point: dt.datetime) -> None:
        record("foo", point)

    @task
    def bar(point: dt.datetime) -> None:
        record("bar", point)

    flow = cyclic_flow(foo, bar, cylc=tmp_path / "flow.cylc", name="clock-catch-up")
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    points = [first + dt.timedelta(minutes=10 * i) for i in range(6)]
    assert sorted(started) == sorted((name, p) for name in ("foo", "bar") for p in points)
    foo_order = sorted(points, key=lambda p: started[("foo", p)])
    assert foo_order == points
    assert all(started[("bar", p)] >= ended[("foo", p)] for p in points)
    assert not [m for m in log_messages(state) if "waiting for the clock" in m]


def test_an_instance_waiting_for_the_clock_holds_no_worker_thread():
    minute, offset = this_minute()

    @cycle("R1", after=wall_clock(f"PT{offset}S"))
    @task
    def waiter(point: dt.datetime) -> None:
        record("waiter", point)

    @cycle("R1")
    @task
    def unrelated(point: dt.datetime) -> None:
        record("unrelated", point, busy=0.5)

    flow = cyclic_flow(
        waiter,
        unrelated,
        initial=minute,
        final=minute,
        task_runner=ThreadPoolTaskRunner(max_workers=1),
        name="clock-no-worker",
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    due = (minute + dt.timedelta(seconds=offset)).timestamp()
    # One worker: had the waiting instance taken it, the unrelated task could
    # only have started after the waiter ended. It ran, and ended, meanwhile.
    assert ended[("unrelated", minute)] <= started[("waiter", minute)]
    assert started[("unrelated", minute)] < due <= started[("waiter", minute)]
    assert any("waiter[" in m and "waiting for the clock" in m for m in log_messages(state))
