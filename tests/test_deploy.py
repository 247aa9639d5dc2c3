"""Deployments on a real server: ``flow.serve`` and ``prefect deploy`` to a process pool.

One ``prefect server start`` on 127.0.0.1 (own PREFECT_HOME, SQLite, free
port) serves the module. The example in examples/deploy/ is copied into a
temporary directory and deployed both ways Prefect offers; each deployment
run chooses its window with ``--param start=... --param stop=...``. The API
must then hold, for every instance of that window, one task run named
``task[point]`` with the task's tags, Completed, whose ``wait_for`` inputs
are exactly the instance's parents in the unrolled graph. Also through the
deployments: a later run finds the worker's persisted results (Cached), a
window the workflow cannot have fails with prefect-cycles' message, and a
value of the wrong type is refused by the server.

Every process (server, serving process, worker, CLI) runs in a process group
of its own and is stopped by that group's id; flow runs end before their
serving process or worker is stopped.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from realserver import PrefectServer, flow_run_id, prefect_cli, run, running

from prefect_cycles.graph.unroll import Instance, unroll

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "deploy"
POOL = "cycles-pool"  # as in examples/deploy/prefect.yaml
SERVED = "forecast/forecast-served"  # as in examples/deploy/serve.py
POOLED = "forecast/forecast-pool"  # as in examples/deploy/prefect.yaml
WINDOW_2_3 = ["--param", "start=2", "--param", "stop=3"]
WINDOW_1_3 = ["--param", "start=1", "--param", "stop=3"]
WINDOW_2_4 = ["--param", "start=2", "--param", "stop=4"]
WINDOW_0_3 = ["--param", "start=0", "--param", "stop=3"]


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("deploy_example_flows", EXAMPLE / "flows.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.forecast


FORECAST = _load_example()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example as a user would have it: its own directory, nothing else."""
    where = tmp_path_factory.mktemp("deploy-project") / "forecast"
    shutil.copytree(EXAMPLE, where, ignore=shutil.ignore_patterns("__pycache__"))
    return where


def label(inst: Instance) -> str:
    return f"{inst.task}[{FORECAST.workflow.fmt(inst.point)}]"


def wait_for_deployment(server: PrefectServer, name: str, proc: Any, timeout: float = 90) -> None:
    """Poll until ``flow/deployment`` exists (a serving process registers it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the serving process exited {proc.returncode}")
        with server.api() as http:
            if http.get(f"/deployments/name/{name}").status_code == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"deployment {name} not registered after {timeout} s")


def check_window(
    server: PrefectServer, fr_id: str, start: int, stop: int, cached: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The flow run completed, and its task runs are exactly the window's instances.

    Those named in ``cached`` must have come from an earlier run's results.
    """
    fr = server.wait_flow_run(fr_id)
    assert fr["state_type"] == "COMPLETED", fr["state"]
    assert (fr["parameters"]["start"], fr["parameters"]["stop"]) == (start, stop)

    graph = unroll(FORECAST.workflow, start, stop)
    want = {label(i): i for i in graph.nodes if graph.nodes[i]["runs"]}
    assert len(want) == len(graph.nodes) >= 2 * (stop - start + 1)
    runs = server.wait_task_runs(fr_id, len(want))
    names = {r["id"]: r["name"] for r in runs}
    assert sorted(names.values()) == sorted(want), "one task run per instance, named task[point]"

    for r in runs:
        inst = want[r["name"]]
        want_state = "Cached" if r["name"] in cached else "Completed"
        assert r["state_name"] == want_state, (r["name"], r["state"])
        assert set(r["tags"]) == set(FORECAST.implementations[inst.task].tags), r["name"]
        waits = sorted(names[x["id"]] for x in r["task_inputs"].get("wait_for", []))
        parents = sorted(label(p) for p in graph.predecessors(inst))
        assert waits == parents, f"wait_for edges of {r['name']}"
    return fr


def cycling_log(server: PrefectServer, fr_id: str, timeout: float = 120.0) -> list[str]:
    """The run's "Cycling ..." log lines, once the server has them: the run's process ships
    its logs in batches, and a busy server writes them after the run has ended."""
    deadline = time.monotonic() + timeout
    while True:
        logs = server.filter(
            "logs", {"logs": {"flow_run_id": {"any_": [fr_id]}}}, sort="TIMESTAMP_ASC"
        )
        lines = [log["message"] for log in logs if log["message"].startswith("Cycling ")]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.5)


def test_serve_runs_the_window_given_by_parameters(
    server: PrefectServer, project: Path, tmp_path: Path
) -> None:
    # A home of its own: results persisted here must not make the other test's runs Cached.
    env = server.client_env(PREFECT_HOME=str(tmp_path / "home"))
    serve = [sys.executable, "serve.py"]
    with running(serve, env, tmp_path / "serve.log", cwd=project) as proc:
        wait_for_deployment(server, SERVED, proc)
        out = run([*prefect_cli(), "deployment", "run", SERVED, *WINDOW_2_3], env)
        fr_id = flow_run_id(out.stdout)
        fr = check_window(server, fr_id, 2, 3)
        assert fr["deployment_id"] is not None
        # A warm start at 2: model[2] has no model[1] parent, and prep (R1) does not run.
        assert cycling_log(server, fr_id) == ["Cycling forecast from 2 to 3 (runahead P4)"]

        # A window the workflow cannot have: the run fails with prefect-cycles' own message.
        out = run([*prefect_cli(), "deployment", "run", SERVED, *WINDOW_0_3], env)
        bad = server.wait_flow_run(flow_run_id(out.stdout))
        assert bad["state_type"] == "FAILED"
        assert "the start point 0 is before the initial cycle point 1" in bad["state"]["message"]
        assert server.task_runs(bad["id"]) == []

        # A value of the wrong type: the server refuses to create the run at all.
        out = run(
            [*prefect_cli(), "deployment", "run", SERVED, "--param", "start=soon"], env, check=False
        )
        assert out.returncode != 0
        assert "Validation failed for field 'start'" in out.stdout, out.stdout


def test_prefect_deploy_to_a_process_pool_and_worker(
    server: PrefectServer, project: Path, tmp_path: Path
) -> None:
    env = server.client_env(PREFECT_HOME=str(tmp_path / "home"))
    prefect = prefect_cli()
    run([*prefect, "work-pool", "create", POOL, "--type", "process"], env)
    out = run([*prefect, "deploy", "--all", "--no-prompt"], env, cwd=project)
    assert POOLED in out.stdout
    dep = server.get(f"/deployments/name/{POOLED}")
    assert dep["work_pool_name"] == POOL
    assert dep["entrypoint"] == "flows.py:forecast"
    assert {"start", "stop", "runahead"} <= set(dep["parameter_openapi_schema"]["properties"])

    worker = [*prefect, "worker", "start", "--pool", POOL, "--install-policy", "never"]
    with running(worker, env, tmp_path / "worker.log", cwd=tmp_path):
        out = run([*prefect, "deployment", "run", POOLED, *WINDOW_1_3], env)
        fr_id = flow_run_id(out.stdout)
        fr = check_window(server, fr_id, 1, 3)
        assert fr["work_pool_name"] == POOL
        # runahead comes from prefect.yaml's parameters, start/stop from the run.
        assert fr["parameters"]["runahead"] == "P2"
        assert cycling_log(server, fr_id) == ["Cycling forecast from 1 to 3 (runahead P2)"]

        # A later run over 2..4 finds the results the worker's first run persisted:
        # what completed at 2 and 3 is Cached, point 4 runs.
        out = run([*prefect, "deployment", "run", POOLED, *WINDOW_2_4], env)
        done_before = {f"{t}[{p}]" for t in ("fetch_obs", "model", "publish") for p in (2, 3)}
        check_window(server, flow_run_id(out.stdout), 2, 4, cached=frozenset(done_before))


def test_a_plain_run_resumes_from_a_served_run(
    server: PrefectServer, project: Path, tmp_path: Path
) -> None:
    """A served flow run runs in a child process that cannot read the tasks' source, so
    Prefect's TASK_SOURCE gave it other keys than a plain or worker run of the same flow:
    resume must not depend on where the run happens (see SourceDigest in run/resume.py)."""
    env = server.client_env(PREFECT_HOME=str(tmp_path / "home"))
    with running([sys.executable, "serve.py"], env, tmp_path / "serve.log", cwd=project) as proc:
        wait_for_deployment(server, SERVED, proc)
        out = run([*prefect_cli(), "deployment", "run", SERVED, *WINDOW_2_3], env)
        check_window(server, flow_run_id(out.stdout), 2, 3)
    plain = (
        "from flows import forecast\n"
        "state = forecast(start=2, stop=3, return_state=True)\n"
        "print(state.state_details.flow_run_id)\n"
    )
    out = run([sys.executable, "-c", plain], env, cwd=project)
    every = {f"{t}[{p}]" for t in ("fetch_obs", "model", "publish") for p in (2, 3)}
    check_window(server, out.stdout.strip().splitlines()[-1], 2, 3, cached=frozenset(every))
