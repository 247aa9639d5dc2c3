"""The seed workflow from "Cyclic Workflows with Prefect", without LOOP.

In Cylc's notation::

    R1 = "prep => foo"
    P1 = "foo[-P1] => foo => bar"

prep runs once, at the first cycle; foo runs every cycle after its previous
self; bar follows foo in each cycle, so bar.N and foo.N+1 run at the same
time. Every instance is a Prefect task run of its own: prep[1], foo[1],
bar[1], foo[2], ... Run it with ``python examples/seed.py``.
"""

import time

from prefect import get_run_logger, task

from prefect_cycles import cycle, cyclic_flow, previous

INTERVAL = 1  # seconds each task takes, as in the blog post


@task
def prep(point: int) -> None:
    time.sleep(INTERVAL)
    get_run_logger().info(f"prep.{point} says hi!")


@cycle("R1", after=prep)  # R1 = "prep => foo"
@cycle("P1", after=previous())  # P1 = "foo[-P1] => foo"
@task
def foo(point: int) -> None:
    time.sleep(INTERVAL)
    get_run_logger().info(f"foo.{point} says hi!")


@cycle("P1", after=foo)  # P1 = "foo => bar"
@task
def bar(point: int) -> None:
    time.sleep(INTERVAL)
    get_run_logger().info(f"bar.{point} says hi!")


seed = cyclic_flow(prep, foo, bar, initial=1, final=4, name="seed")

if __name__ == "__main__":
    seed()
