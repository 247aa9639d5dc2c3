"""A workflow over a million points that stops itself at its first point."""

from prefect import task

from prefect_cycles import cyclic_flow, stop_cycling


@task(name="once")
def once(point: int) -> object:
    return stop_cycling(message=f"stopped at {point}")


long_window = cyclic_flow(
    once,
    graph={"P1": "once[-P1] => once"},
    initial=1,
    final=1_000_000,
    name="long-window",
    resume=False,
)
