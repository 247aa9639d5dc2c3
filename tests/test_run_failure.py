"""A cyclic flow that does not complete fails with one clear error, however it is called.

Called plainly (a script, a subflow), the flow raises :class:`CyclicFlowFailed`,
naming the failed and blocked instances and carrying the run's summary; with
``return_state=True`` it returns the Failed state, whose result is that error.
"""

from __future__ import annotations

import pickle

import pytest
from prefect import flow, task

from prefect_cycles import cyclic_flow
from prefect_cycles.errors import CycleError, CyclicFlowFailed

pytestmark = pytest.mark.usefixtures("prefect_server")


@task
def step(point: int, previous: int = 0) -> int:
    if point == 2:
        raise RuntimeError("step cannot do point 2")
    return previous + point


@task
def side(point: int) -> int:
    return point


def fragile(**options):
    return cyclic_flow(
        step,
        side,
        graph={"P1": "step[-P1] => step\nside"},
        initial=1,
        final=3,
        resume=False,
        **options,
    )


SUMMARY = {
    "succeeded": 4,
    "failed": ["step[2]"],
    "blocked": ["step[3]"],
    "never_run": [],
    "stopped_at": None,
    "unsaved": [],
    "removed": [],
}


def test_a_plain_call_raises_one_clear_error_with_the_summary():
    with pytest.raises(CyclicFlowFailed) as caught:
        fragile()()
    err = caught.value
    assert isinstance(err, CycleError)
    assert err.failed == ["step[2]"] and err.blocked == ["step[3]"]
    assert err.summary == SUMMARY
    text = str(err)
    assert "failed: step[2]" in text and "blocked: step[3]" in text
    assert "Fix:" in text
    again = pickle.loads(pickle.dumps(err))  # crosses process and result-storage boundaries
    assert (str(again), again.summary) == (text, SUMMARY)


def test_return_state_still_gives_the_failed_state_with_the_summary():
    state = fragile()(return_state=True)
    assert state.is_failed()
    assert "failed: step[2]" in state.message
    err = state.result(raise_on_failure=False)
    assert isinstance(err, CyclicFlowFailed) and err.summary == SUMMARY
    with pytest.raises(CyclicFlowFailed):
        state.result()


def test_a_parent_flow_sees_the_cyclic_subflow_fail_clearly():
    inner = fragile(name="inner-cycles")

    @flow
    def parent() -> str:
        try:
            inner()
        except CyclicFlowFailed as err:
            return f"caught {err.failed} {err.blocked}"
        return "no error"

    assert parent() == "caught ['step[2]'] ['step[3]']"

    @flow
    def careless() -> None:
        inner()

    state = careless(return_state=True)
    assert state.is_failed()
    assert isinstance(state.result(raise_on_failure=False), CyclicFlowFailed)
