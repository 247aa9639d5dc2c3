"""Task parameters in the decorator front end, against the same workflows in flow.cylc.

Each Python workflow here is one of the differential suite's parameter cases
(tests/differential/graphs/i3*, checked byte for byte against Cylc 8.5.4),
written with ``@cycle(params=...)`` and ``on(..., params=...)``; both are
unrolled and must give the same reference text, expanded names included.
Then real Prefect flow runs check what the bodies receive and how their task
runs are named.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flowruns import task_runs
from prefect import task

from prefect_cycles import any_of, cycle, on, previous
from prefect_cycles.errors import CycleError
from prefect_cycles.frontends.decorators import build_workflow
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.graph.model import Workflow
from prefect_cycles.run.flow import cyclic_flow
from prefect_cycles.show.reference import window_reference_text

GRAPHS = Path(__file__).parent / "differential" / "graphs"


def _windows(case: str) -> list[tuple[str, str]]:
    text = (GRAPHS / case / "flow.cylc").read_text()
    line = next(li for li in text.splitlines() if li.startswith("# windows:"))
    return [tuple(w.split()) for w in line.split(":", 1)[1].split(";")]  # type: ignore[misc]


def i30() -> Workflow:
    @task
    def prep(point: int): ...

    @cycle("P1", after=prep, params="m")
    @task
    def model(point: int, m: int): ...

    @cycle("P1", after=model)
    @task
    def post(point: int): ...

    return build_workflow(prep, model, post, initial=1, final=2, parameters={"m": "1..3"})


def i31() -> Workflow:
    @task
    def a(point: int): ...

    @cycle("R1", after=a, params="m")
    @task
    def b(point: int, m: int): ...

    @cycle("R1", after=b)
    @task
    def c(point: int): ...

    return build_workflow(a, b, c, initial=1, final=1, parameters={"m": range(0, 11, 5)})


def i32() -> Workflow:
    @task
    def get(point: int, region: str): ...

    @cycle("P1", after=on(get, params="region"), params="region")
    @task
    def proc(point: int, region: str): ...

    @cycle("P1", after=proc, params="n")
    @task
    def stats(point: int, n: int): ...

    values = {"region": ["north", "south", "east"], "n": [1, 3, 12]}
    return build_workflow(proc, stats, initial=1, final=2, parameters=values)


def i33() -> Workflow:
    @task
    def init(point: int, m: int): ...

    @cycle("R1", after="init<m>", params="m,n")
    @task
    def sim(point: int, m: int, n: str): ...

    @cycle("R1", after=sim, params=["n"])
    @task
    def post(point: int, n: str): ...

    values = {"m": range(1, 3), "n": ["a", "b", "c"]}
    return build_workflow(init, sim, post, initial=1, final=1, parameters=values)


def i34() -> Workflow:
    @cycle("P1", after=on("sim", params="m-1"), params="m")
    @task
    def sim(point: int, m: int): ...

    @cycle("P1", after=sim, params="m")
    @task
    def plot(point: int, m: int): ...

    @task
    def x(point: int): ...

    @cycle("P1", after=[on(sim, params="m+1"), x], params="m")
    @task
    def y(point: int, m: int): ...

    return build_workflow(sim, plot, y, initial=1, final=2, parameters={"m": range(1, 5)})


def i35() -> Workflow:
    @task
    def a(point: int, m: int): ...

    @cycle("R1", after=on(a, params="m=2"), params="m")
    @task
    def b(point: int, m: int): ...

    @task
    def c(point: int, m: int, n: int): ...

    @cycle("R1", after=on(c, params="m=1,n"), params="m,n")
    @task
    def d(point: int, m: int, n: int): ...

    values = {"m": "1..3", "n": "1..2"}
    return build_workflow(a, b, c, d, initial=1, final=1, parameters=values)


def i36() -> Workflow:
    @task
    def get(point: int, obs: str): ...

    @cycle("R1", after=on(get, params="obs"), params="member")
    @task
    def model(point: int, member: int): ...

    @cycle("R1", after=model)
    @task
    def post(point: int): ...

    return build_workflow(
        model,
        post,
        initial=1,
        final=1,
        parameters={"member": "1..3", "obs": ["ship", "buoy"]},
        parameter_templates={"member": "_mem%(member)03d", "obs": "-%(obs)s-data"},
    )


def i38() -> Workflow:
    @task
    def a(point: int): ...

    @cycle("R1", after=a, params="t")
    @task
    def b(point: int, t: int): ...

    @cycle("R1", after=b)
    @task
    def c(point: int): ...

    return build_workflow(c, initial=1, final=1, parameters={"t": range(-1, 2)})


def i39() -> Workflow:
    @cycle("R1", after=["a<m>", "b<n>"], params="m,n")
    @task
    def c(point: int, m: int, n: int): ...

    @cycle("R1", after=c)
    @task
    def d(point: int): ...

    @task
    def a(point: int, m: int): ...

    @task
    def b(point: int, n: int): ...

    return build_workflow(a, b, c, d, initial=1, final=1, parameters={"m": "1..2", "n": "1..2"})


def i40() -> Workflow:
    @task
    def x(point: int, m: int): ...

    @task
    def y(point: int, m: int): ...

    @cycle("R1", after=any_of(on(x, params="m"), on(y, params="m-1")), params="m")
    @task
    def z(point: int, m: int): ...

    return build_workflow(z, initial=1, final=1, parameters={"m": "1..3"})


def i43() -> Workflow:
    @task
    def a(point: int, m: int): ...

    @cycle("P1", after=on(a, output="started", params="m"), params="m")
    @task
    def b(point: int, m: int): ...

    @cycle("P1", after="a<m>?", params="m")
    @task
    def c(point: int, m: int): ...

    @cycle("P1", after="a<m>:fail?", params="m")
    @task
    def recover(point: int, m: int): ...

    return build_workflow(b, c, recover, initial=1, final=2, parameters={"m": "1..2"})


CASES: dict[str, Callable[[], Workflow]] = {
    "i30_params_range": i30,
    "i31_params_step_padding": i31,
    "i32_params_list_names": i32,
    "i33_params_product": i33,
    "i34_params_offset": i34,
    "i35_params_specific_value": i35,
    "i36_params_templates": i36,
    "i38_params_negative_ints": i38,
    "i39_params_multiline_and": i39,
    "i40_params_or_offset": i40,
    "i43_params_optional": i43,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_decorators_unroll_as_the_flow_cylc(case: str) -> None:
    ours = CASES[case]()
    cylc = load_flow_cylc(GRAPHS / case)
    assert ours.parameterised == cylc.parameterised
    for start, stop in _windows(case):
        assert window_reference_text(ours, start, stop) == window_reference_text(cylc, start, stop)


def test_cycle_offsets_and_parameter_offsets_together() -> None:
    """``foo<m>[-P1] => foo<m>`` with ``previous()``, ``foo<m-1>[-P1]`` with on(..., "-P1")."""

    @cycle("P1", after=[previous(), on("foo", "-P1", params="m-1")], params="m")
    @task
    def foo(point: int, m: int): ...

    ours = build_workflow(foo, initial=1, final=3, parameters={"m": "1..2"})
    graph = {"P1": "foo<m>[-P1] & foo<m-1>[-P1] => foo<m>"}
    from prefect_cycles.frontends.graphstring import add_graph
    from prefect_cycles.frontends.parameters import expand_graphs

    text, _ = expand_graphs(graph, {"m": "1..2"})
    theirs = add_graph(Workflow.create(1, 3), text)
    assert window_reference_text(ours, 1, 3) == window_reference_text(theirs, 1, 3)
    assert '"2/foo_m1" "3/foo_m2"' in window_reference_text(ours, 1, 3)


# -- bad input ------------------------------------------------------------------------


def _one(params: object = "member", after: object = None, body_param: bool = True):
    if body_param:

        @cycle("P1", params=params, after=after)
        @task
        def model(point: int, member: int = 0): ...

    else:

        @cycle("P1", params=params, after=after)
        @task
        def model(point: int): ...

    return model


def test_unknown_parameter_names_task_parameter_and_fix() -> None:
    with pytest.raises(CycleError, match=r"parameter 'membr' of task 'model'.*Fix: pass param"):
        build_workflow(_one("membr"), initial=1, parameters={"member": "1..3"})


def test_parameters_missing_altogether() -> None:
    with pytest.raises(CycleError, match=r"names task parameters, but no parameters.*Fix: pass"):
        build_workflow(_one(), initial=1)


def test_value_out_of_range() -> None:
    with pytest.raises(CycleError, match=r"member=7 of task 'model' is not one of the values.*2"):
        build_workflow(_one("member=7"), initial=1, parameters={"member": "1..2"})

    @task
    def post(point: int): ...

    @cycle("P1", after=on(post, params="member=9"))
    @task
    def late(point: int): ...

    with pytest.raises(CycleError, match=r"member=9 of task 'post'.*Fix: use one of the values"):
        build_workflow(late, initial=1, parameters={"member": "1..2"})


def test_body_without_the_parameter_argument() -> None:
    with pytest.raises(
        CycleError,
        match=r"task 'model' runs once for each value of parameter 'member'.*"
        r"Fix: add member to the arguments of model",
    ):
        build_workflow(_one(body_param=False), initial=1, parameters={"member": "1..2"})


def test_offset_in_a_tasks_own_params_is_refused() -> None:
    with pytest.raises(CycleError, match=r"'m-1' is not a parameter item.*on\(task, params="):
        cycle("P1", params="m-1")


def test_one_task_with_two_sets_of_parameters() -> None:
    @cycle("R1", params="m")
    @cycle("P1", params="m,n")
    @task
    def foo(point: int, m: int, n: int): ...

    with pytest.raises(CycleError, match=r"task .foo. is parameterised by <m> in .* by <m, n>"):
        build_workflow(foo, initial=1, parameters={"m": "1..2", "n": "1..2"})


# -- real flow runs -------------------------------------------------------------------


@pytest.mark.usefixtures("prefect_server")
def test_flow_runs_each_value_with_cylc_names() -> None:
    seen: list[tuple[int, int, str | None]] = []

    @task
    def prep(point: int) -> str:
        return f"prep{point}"

    @cycle("P1", after=prep, params="member")
    @task
    def model(point: int, member: int, prep: str | None = None) -> int:
        seen.append((point, member, prep))
        return point * 10 + member

    @cycle("P1", after=model)
    @task
    def post(point: int) -> int:
        return point

    fl = cyclic_flow(
        prep,
        model,
        post,
        initial=1,
        final=2,
        parameters={"member": range(1, 11, 9)},
        name="params-decorators",
    )
    state = fl(return_state=True)
    assert state.is_completed()
    names = sorted(task_runs(state))
    assert names == sorted(
        f"{n}[{p}]" for p in (1, 2) for n in ("prep", "model_member01", "model_member10", "post")
    )
    assert sorted(seen) == [(1, 1, "prep1"), (1, 10, "prep1"), (2, 1, "prep2"), (2, 10, "prep2")]
    seen.clear()
    fl()  # plainly: resumed, nothing runs again
    assert seen == []
