"""A cyclic flow to deploy: a small forecast cycle (walk-through: docs/deploying.md).

``prep`` sets up once at the initial point; at every point ``fetch_obs``
gets that cycle's observations, ``model`` steps on from its own previous
cycle with them, and ``publish`` posts the result. Each task carries a tag
(``ingest``, ``model``, ``products``, ``setup``) that the UI shows and
filters on. The flow's parameters ``start``, ``stop`` and ``runahead``
choose the window of each deployment run::

    prefect deployment run 'forecast/forecast-served' --param start=2 --param stop=3

In Cylc's notation::

    R1 = "prep => model"
    P1 = "fetch_obs => model"
    P1 = "model[-P1] => model => publish"
"""

from prefect import get_run_logger, task

from prefect_cycles import cycle, cyclic_flow, previous


@task(tags=["setup"])
def prep(point: int) -> str:
    get_run_logger().info(f"prep[{point}]: setting up the run")
    return "ready"


@cycle("P1")
@task(tags=["ingest"])
def fetch_obs(point: int) -> float:
    return 10.0 + point


@cycle("R1", after=prep)
@cycle("P1", after=[previous(), fetch_obs])
@task(tags=["model"])
def model(point: int, previous: float = 0.0, fetch_obs: float = 0.0) -> float:
    state = (previous + fetch_obs) / 2
    get_run_logger().info(f"model[{point}]: state {state}")
    return state


@cycle("P1", after=model)
@task(tags=["products"])
def publish(point: int, model: float = 0.0) -> None:
    get_run_logger().info(f"publish[{point}]: forecast {model:.3f}")


forecast = cyclic_flow(prep, fetch_obs, model, publish, initial=1, final=6, name="forecast")

if __name__ == "__main__":
    forecast()
