"""The seed workflow read from a Cylc flow.cylc, run by plain Prefect tasks.

``seed-cylc/flow.cylc`` holds the graph (Cylc's notation, as Cylc reads it);
the tasks of the same names hold the code. Run it with
``python examples/seed_cylc.py`` or ``prefect-cycles run examples/seed_cylc.py:seed``.
"""

from pathlib import Path

from prefect import get_run_logger, task

from prefect_cycles import cyclic_flow

FLOW_CYLC = Path(__file__).parent / "seed-cylc" / "flow.cylc"


@task
def prep(point: int) -> None:
    get_run_logger().info(f"prep.{point} says hi!")


@task
def foo(point: int) -> None:
    get_run_logger().info(f"foo.{point} says hi!")


@task
def bar(point: int) -> None:
    get_run_logger().info(f"bar.{point} says hi!")


seed = cyclic_flow(prep, foo, bar, cylc=FLOW_CYLC, name="seed-cylc")

if __name__ == "__main__":
    seed()
