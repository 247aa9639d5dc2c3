"""Function xtriggers in real flow runs: user functions, xrandom, workflow_state.

They are called off the flow's thread at their interval until they hold, with
Cylc's template arguments, and their results reach the task as parameters.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flowruns import log_messages
from prefect import task

from prefect_cycles import cyclic_flow
from prefect_cycles.errors import CycleError
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.unroll import Instance
from prefect_cycles.run.scheduler import Scheduler
from prefect_cycles.run.xtriggers import workflow_state

pytestmark = pytest.mark.usefixtures("prefect_server")

HANDSHAKE = "PREFECT_CYCLES_TEST_HANDSHAKE"


@task
def gated(point: int, x: dict | None = None, r_COLOR: str = "") -> None:
    out = Path(os.environ[HANDSHAKE]) / f"gated.{point}"
    out.write_text(f"{x['calls']} {x['point']} {bool(r_COLOR)}")


def test_a_user_function_is_called_until_it_holds_and_its_results_reach_the_task(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        gated,
        graph={"P1": "@x & @r => gated"},
        xtriggers={
            "x": "xtrig_funcs.count_to(3, point=%(point)s, name=%(name)s):PT0.2S",
            "r": "xrandom(100)",
        },
        initial=1,
        final=2,
        name="xtriggers",
        resume=False,
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    # three calls per point, each point its own call (the templates differ)
    assert (tmp_path / "gated.1").read_text() == "3 1 True"
    assert (tmp_path / "gated.2").read_text() == "3 2 True"
    assert any("xtrigger satisfied: xtrig_funcs.count_to" in m for m in log_messages(state))


def test_instances_with_the_same_call_share_one_check(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    wf = from_graph(
        {"P1": "@x => a & b"}, 1, 1, xtriggers={"x": "xtrig_funcs.count_to(1, point=%(point)s)"}
    )
    sched = Scheduler(wf)
    assert sched.ready() == []
    calls = sched.xtrigger_calls(sched.now())
    assert len(calls) == 1  # a and b make the same call
    sig = calls[0][0]
    sched.xtrigger_result(sig, True, {"k": "v"}, sched.now())
    ready = {r.instance: r.inputs for r in sched.ready()}
    assert ready == {
        Instance("a", 1): {"x": {"k": "v"}, "x_k": "v"},
        Instance("b", 1): {"x": {"k": "v"}, "x_k": "v"},
    }


@task
def upstream(point: int) -> None: ...


@task
def downstream(point: int, up: dict | None = None) -> None:
    (Path(os.environ[HANDSHAKE]) / f"downstream.{point}").write_text(up["output"])


def test_workflow_state_waits_for_another_cyclic_flow(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    first = cyclic_flow(
        upstream, graph={"P1": "upstream"}, initial=1, final=2, name="xt-upstream", resume=False
    )
    assert not workflow_state("xt-upstream//1/upstream:succeeded")[0]
    first()
    assert workflow_state("xt-upstream//1/upstream")[0]
    second = cyclic_flow(
        downstream,
        graph={"P1": "@up => downstream"},
        xtriggers={"up": "workflow_state(xt-upstream//%(point)s/upstream:succeeded):PT1S"},
        initial=1,
        final=2,
        name="xt-downstream",
        resume=False,
    )
    second()
    assert (tmp_path / "downstream.2").read_text() == "succeeded"


def test_bad_declarations_say_what_to_write():
    with pytest.raises(CycleError, match=r"not a function call"):
        from_graph({"P1": "@x => a"}, 1, 1, xtriggers={"x": "nonsense"})


# -- the decorators -------------------------------------------------------------------

import xtrig_funcs  # noqa: E402 - the decorator below needs the function itself

from prefect_cycles import cycle, xtrigger  # noqa: E402


@cycle(
    "P1",
    after=xtrigger(xtrig_funcs.count_to, 2, point="%(point)s", name="%(name)s", interval="PT0.2S"),
)
@task
def dgated(point: int, count_to: dict | None = None) -> None:
    (Path(os.environ[HANDSHAKE]) / f"dgated.{point}").write_text(count_to["calls"])


def test_a_python_callable_is_an_xtrigger_in_the_decorators(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(dgated, initial=1, final=1, name="xtriggers-dec", resume=False)
    flow()
    assert (tmp_path / "dgated.1").read_text() == "2"
    with pytest.raises(CycleError, match="module-level function"):
        xtrigger(lambda: True)
