"""Carry a result from cycle to cycle (Prefect 1's ``task_loop_result``).

``accumulate`` receives its own result from the previous point through its
``previous`` parameter, whose default is the value at the first point; the
``report`` task receives ``accumulate``'s result at the same point through a
parameter named after it. Run with ``python examples/carry_result.py``.
"""

from prefect import get_run_logger, task

from prefect_cycles import cycle, cyclic_flow, previous


@cycle("P1", after=previous())
@task
def accumulate(point: int, previous: int = 0) -> int:
    return previous + point


@cycle("P1", after=accumulate)
@task
def report(point: int, accumulate: int = 0) -> None:
    get_run_logger().info(f"running total at point {point}: {accumulate}")


running_total = cyclic_flow(accumulate, report, initial=1, final=10, name="running-total")

if __name__ == "__main__":
    running_total()
