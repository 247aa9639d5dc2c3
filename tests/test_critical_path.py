"""The run loop on the critical path, in real Prefect flow runs.

Behaviour only (speed is in benchmarks/flow_vs_hand_unrolled.py): of the
instances a settle releases together, those that gate others are handed to
the runner first; and the worker that settled an instance wakes the flow's
thread only when it has work, which it still does on time: a clock wait or a
``:started`` output to poll, released by a worker while other task runs are in
flight.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time

import pytest
from prefect import task
from prefect.task_runners import ThreadPoolTaskRunner

from prefect_cycles import cycle, cyclic_flow, wall_clock
from prefect_cycles.run.loop import critical_first, gating_tasks
from prefect_cycles.run.scheduler import Scheduler

pytestmark = pytest.mark.usefixtures("prefect_server")

ORDER: list[str] = []
#: Seconds a rendezvous waits before the task fails the run.
PATIENCE = 40


def _ran(name: str, point: int) -> None:
    ORDER.append(f"{name}[{point}]")


@task
def foo(point: int) -> None:
    _ran("foo", point)


@task
def bar(point: int) -> None:
    _ran("bar", point)


SEED = {"P1": "foo[-P1] => foo => bar"}


@pytest.fixture(autouse=True)
def _fresh():
    ORDER.clear()


def test_a_batch_hands_out_the_instances_that_gate_others_first():
    sched = Scheduler(cyclic_flow(foo, bar, graph=SEED, initial=1, final=3).workflow)
    (first,) = sched.ready()
    sched.submitted(first.instance)
    sched.started(first.instance)
    sched.finished(first.instance, True)
    batch = sched.ready()
    assert sorted((r.instance.task, r.instance.point) for r in batch) == [("bar", 1), ("foo", 2)]
    gating = gating_tasks(sched.workflow)
    assert gating == {"foo"}
    assert [r.instance.task for r in critical_first(batch, gating)] == ["foo", "bar"]
    assert [r.instance.task for r in critical_first(batch[::-1], gating)] == ["foo", "bar"]


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "return_state"])
def test_with_one_worker_the_chain_runs_before_the_leaf_it_released(plain):
    # One worker thread takes the runner's queue in submission order: foo[2]
    # (which gates foo[3] and bar[2]) before bar[1] (which gates nothing).
    fl = cyclic_flow(
        foo,
        bar,
        graph=SEED,
        initial=1,
        final=4,
        name=f"critical-first-{plain}",
        resume=False,
        task_runner=ThreadPoolTaskRunner(max_workers=1),
    )
    if plain:
        fl()
    else:
        assert fl(return_state=True).is_completed()
    assert ORDER == [
        "foo[1]",
        "foo[2]",
        "bar[1]",
        "foo[3]",
        "bar[2]",
        "foo[4]",
        "bar[3]",
        "bar[4]",
    ]


# -- the flow's thread still does its work when a worker released the instance -----------

_a_ended = threading.Event()
_b_started = threading.Event()


@task
def warm(point: int) -> None:
    time.sleep(0.5)  # so that the flow's thread is asleep when a worker settles this


@task
def a(point: int) -> None:
    if not _b_started.wait(timeout=PATIENCE):
        raise RuntimeError("b[1] did not start while a[1] ran: a:started was not seen")
    _a_ended.set()


@task
def b(point: int) -> None:
    _b_started.set()


@task
def slow(point: int) -> None:
    # In flight all along, so only the flow's thread (polling) can see a start.
    if not _a_ended.wait(timeout=PATIENCE):
        raise RuntimeError("a[1] did not end while slow[1] ran")


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "return_state"])
def test_a_started_output_is_polled_for_an_instance_a_worker_submitted(plain):
    _a_ended.clear()
    _b_started.clear()
    graph = {"R1": "warm => a\na:start => b\nslow"}
    fl = cyclic_flow(
        warm, a, b, slow, graph=graph, initial=1, final=1, name=f"started-{plain}", resume=False
    )
    if plain:
        fl()
    else:
        state = fl(return_state=True)
        assert state.is_completed(), state.message
    assert _b_started.is_set() and _a_ended.is_set()


#: Seconds from building the flow to the clock time of the waiting instance (see
#: tests/test_clock_flow.py): the flow run has started by then.
LEAD = 8
_ticked = threading.Event()


def test_a_clock_wait_released_by_a_worker_starts_on_time_while_others_run():
    _ticked.clear()
    now = dt.datetime.now(dt.timezone.utc)
    minute = now.replace(second=0, microsecond=0)
    offset = math.ceil((now - minute).total_seconds()) + LEAD

    @cycle("R1")
    @task
    def opener(point: dt.datetime) -> None:
        time.sleep(0.5)  # the flow's thread is asleep when a worker settles this

    @cycle("R1", after=[opener, wall_clock(f"PT{offset}S")])
    @task
    def tick(point: dt.datetime) -> None:
        _ticked.set()

    @cycle("R1")
    @task
    def busy(point: dt.datetime) -> None:
        if not _ticked.wait(timeout=LEAD + PATIENCE):
            raise RuntimeError("tick did not start at its clock time while busy ran")

    fl = cyclic_flow(
        opener, tick, busy, initial=minute, final=minute, name="clock-by-worker", resume=False
    )
    state = fl(return_state=True)
    assert state.is_completed(), state.message
    assert _ticked.is_set()
