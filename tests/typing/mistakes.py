"""Mistakes a type checker must catch (tests/test_types.py expects one error per marked line)."""

from prefect import task

from prefect_cycles import cyclic_flow, load_flow_cylc


@task
def foo(point: int) -> int:
    return point


cyclic_flow(foo, initial=1, final=3, bogus_kw=True)  # error: unexpected keyword
nodes = load_flow_cylc("flow.cylc").nodes  # error: no such attribute
