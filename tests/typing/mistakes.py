"""Mistakes a type checker must catch (tests/test_types.py expects one error per marked line)."""

from prefect import task

from prefect_cycles import cyclic_flow, load_flow_cylc


@task
def foo(point: int) -> int:
    return point


cyclic_flow(foo, initial=1, final=3, bogus_kw=True)  # error: unexpected keyword
nodes = load_flow_cylc("flow.cylc").nodes  # error: no such attribute

# A tree of unrolled needs is not a workflow's condition, nor the other way round.
from prefect_cycles.graph.conditions import AllOf, Trigger  # noqa: E402
from prefect_cycles.graph.model import Dependency  # noqa: E402
from prefect_cycles.graph.unroll import Instance, Need, evaluate  # noqa: E402

needs: AllOf[Need] = AllOf((Need(Instance("a", 1), "succeeded"),))
Dependency("P1", "b", needs)  # error: a Need tree as a condition
evaluate(AllOf((Trigger("a"),)), lambda need: True)  # error: a Trigger tree as needs
