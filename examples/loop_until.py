"""Loop until a condition holds, with no final cycle point.

Newton's method for the square root of 2: each cycle improves the previous
cycle's estimate, and the task that sees it converge returns
``stop_cycling(...)``. Points already started finish, no later point starts,
and the flow completes. How many cycles it takes is not known in advance.
Run with ``python examples/loop_until.py``.
"""

from prefect import get_run_logger, task

from prefect_cycles import cycle, cyclic_flow, previous, stop_cycling

TARGET = 2.0
TOLERANCE = 1e-12


@cycle("P1", after=previous())
@task
def newton(point: int, previous: float = 1.0):
    estimate = (previous + TARGET / previous) / 2
    get_run_logger().info(f"cycle {point}: estimate {estimate!r}")
    if abs(estimate - previous) < TOLERANCE:
        return stop_cycling(estimate, message=f"converged after {point} cycles")
    return estimate


square_root = cyclic_flow(newton, initial=1, name="square-root")  # no final point

if __name__ == "__main__":
    summary = square_root()
    print(f"stopped at cycle {summary['stopped_at']}")
