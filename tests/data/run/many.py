"""Many quick task runs that end together: 40 points of a => b, no sleeps."""

from prefect import task

from prefect_cycles import cycle, cyclic_flow, previous


@cycle("P1", after=previous())
@task
def a(point: int) -> int:
    return point


@cycle("P1", after=a)
@task
def b(point: int) -> int:
    return point


many = cyclic_flow(a, b, initial=1, final=40, name="many")

if __name__ == "__main__":
    many()
