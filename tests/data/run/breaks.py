"""A cyclic flow whose task fails at one point, for ``prefect-cycles run`` tests.

    P1 = "step[-P1] => step => check"   over points 1..3; step raises at point 2.

step[2] fails, so check[2] and step[3] are blocked, and check[3] after them.
"""

from prefect import task

from prefect_cycles import cycle, cyclic_flow, previous

BAD_POINT = 2


@cycle("P1", after=previous())
@task
def step(point: int) -> int:
    if point == BAD_POINT:
        raise ValueError(f"step cannot handle point {point}")
    return point


@cycle("P1", after=step)
@task
def check(point: int) -> None:
    pass


breaks = cyclic_flow(step, check, initial=1, final=3, name="breaks")
