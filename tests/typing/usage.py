"""What a user's type checker sees of prefect-cycles (tests/test_types.py runs mypy on it)."""

from pathlib import Path

from prefect import task
from typing_extensions import assert_type

from prefect_cycles import (
    CyclicFlow,
    Picture,
    Workflow,
    cycle,
    cyclic_flow,
    from_graph,
    load_flow_cylc,
    picture,
    previous,
    stop_cycling,
)


@cycle("P1", after=previous())
@task
def foo(point: int) -> int:
    return point


flow = cyclic_flow(foo, initial=1, final=3, name="typed", retries=1, log_prints=True)
assert_type(flow, CyclicFlow)
assert_type(load_flow_cylc(Path("examples/seed-cylc")), Workflow)
assert_type(from_graph({"P1": "foo"}, 1, 3), Workflow)
assert_type(picture(load_flow_cylc("examples/seed-cylc")), Picture)
assert_type(flow.picture(1, 3), Picture)
stop_cycling(1)

# The model says what its trees hold: triggers as written, needs once unrolled at a point.
from prefect_cycles.graph.conditions import AllOf, AnyOf, Condition, Trigger  # noqa: E402
from prefect_cycles.graph.unroll import Instance, Need, Unroller  # noqa: E402

workflow = from_graph({"P1": "foo[-P1] & bar => baz"}, 1, 3)
assert_type(workflow.dependencies[0].condition, Trigger | AllOf[Trigger] | AnyOf[Trigger])
assert_type(workflow.settle(workflow.dependencies[0].condition), Condition)
need = Unroller(workflow).prerequisite(Instance("baz", 2))
assert_type(need, Need | AllOf[Need] | AnyOf[Need] | None)
if isinstance(need, AllOf):
    assert_type(need.terms, tuple[Need | AllOf[Need] | AnyOf[Need], ...])
