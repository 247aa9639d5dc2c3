"""Chains of flow runs against a real ``prefect server start``, read back from its API.

Slow (a server of its own, started once for the module, and campaigns in
processes of their own): the chain of windows by a plain call, and a campaign
SIGKILLed in the middle of its third window, then run again.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from chain_campaign import GRAPH, build
from prefect.settings import PREFECT_API_URL, temporary_settings
from realserver import (
    FINAL_STATES,
    PrefectServer,
    flow_run_id,
    kill_tree,
    prefect_cli,
    run,
    running,
    start,
)
from test_chain_wall_clock import wall_clock_flow

from prefect_cycles import from_graph
from prefect_cycles.graph.unroll import unroll
from prefect_cycles.run.handover import PREDECESSOR_LABEL, TAG_PREFIX, WINDOW_LABEL
from prefect_cycles.run.windows import chained_instances

SCRIPT = Path(__file__).with_name("chain_campaign.py")
STOP, BUDGET = 12, 6


def campaign(server: PrefectServer, name: str, tmp: Path, *more: str) -> list[str]:
    env = server.client_env(PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING")
    args = [sys.executable, str(SCRIPT), "--name", name, "--stop", str(STOP)]
    args += ["--budget", str(BUDGET), "--storage", str(tmp / "results")]
    return [*args, "--ledger", str(tmp / "ledger.txt"), *more], env  # type: ignore[return-value]


def windows() -> list[set[str]]:
    wf = from_graph(GRAPH, 1, STOP)
    return [{f"{i.task}[{i.point}]" for i in w} for w in chained_instances(wf, 1, STOP, BUDGET)]


def chain_runs(server: PrefectServer, name: str) -> list[dict]:
    runs = server.filter(
        "flow_runs", {"flow_runs": {"tags": {"all_": [TAG_PREFIX + name]}}}, sort="START_TIME_ASC"
    )
    return [server.wait_flow_run(r["id"]) for r in runs]


def test_a_plain_call_chain_reads_back_window_by_window(server: PrefectServer, tmp_path: Path):
    cmd, env = campaign(server, "campaign", tmp_path)
    out = json.loads(run(cmd, env, timeout=900).stdout.strip().splitlines()[-1])
    assert out["state"] == "COMPLETED", out
    want = windows()
    assert len(want) >= 5
    runs = chain_runs(server, "campaign")
    assert [r["id"] for r in runs] == out["flow_runs"]
    assert [r["state_type"] for r in runs] == ["COMPLETED"] * len(want)
    seen: Counter[str] = Counter()
    for i, (fr, names) in enumerate(zip(runs, want, strict=True)):
        first, last = min(names, key=_point), max(names, key=_point)
        assert fr["name"] == f"campaign[{_point(first)}..{_point(last)}]"
        tasks = server.wait_task_runs(fr["id"], len(names))
        assert len(tasks) <= BUDGET, f"{fr['name']} is over the budget"
        assert {t["name"] for t in tasks} == names
        assert {t["state_name"] for t in tasks} == {"Completed"}  # check[] asserted the sums
        seen.update(t["name"] for t in tasks)
        predecessor = runs[i - 1]["id"] if i else None
        assert fr["labels"].get(PREDECESSOR_LABEL) == predecessor
        assert fr["parameters"]["chain"]["predecessor"] == predecessor
    everything = {f"{i.task}[{i.point}]" for i in unroll(from_graph(GRAPH, 1, STOP), 1, STOP)}
    assert seen == Counter(everything), "every instance exactly once across the flow runs"


def test_a_campaign_killed_in_window_3_continues_there(server: PrefectServer, tmp_path: Path):
    cmd, env = campaign(server, "campaign-kill", tmp_path)
    ledger = tmp_path / "ledger.txt"
    proc = start([*cmd, "--slow", "7:120"], env, tmp_path / "killed.log")
    wait_mid_window_3(server, "campaign-kill", ledger, proc, tmp_path / "killed.log")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = chain_runs_ids(server, "campaign-kill")

    out = json.loads(run(cmd, env, timeout=900).stdout.strip().splitlines()[-1])
    assert out["state"] == "COMPLETED", out
    lines = ledger.read_text().splitlines()
    done = Counter(line.split()[1] for line in lines if line.startswith("done "))
    everything = {f"{i.task}[{i.point}]" for i in unroll(from_graph(GRAPH, 1, STOP), 1, STOP)}
    assert done == Counter(everything), "every instance completed exactly once"
    started = Counter(line.split()[1] for line in lines if line.startswith("start "))
    assert {n for n, c in started.items() if c > 1} <= {"total[7]"}  # killed mid-body

    assert not set(out["flow_runs"]) & before, "the rerun made flow runs of its own"
    want = windows()
    early = want[0] | want[1]
    for fr_id, names in zip(out["flow_runs"], want[2:], strict=True):
        tasks = server.wait_task_runs(fr_id, len(names))
        assert not {t["name"] for t in tasks} & early, "no task run for windows 1 and 2"
        assert {t["name"] for t in tasks} == names
    first = {t["name"]: t["state_name"] for t in server.task_runs(out["flow_runs"][0])}
    assert first["total[6]"] == "Cached" and first["total[7]"] == "Completed"


def wait_mid_window_3(
    server: PrefectServer, name: str, ledger: Path, proc: Any, log: Path, timeout: float = 600
) -> None:
    """Wait until ``total[7]`` sleeps mid-body and ``check[6]``, which runs beside it, is
    Completed on the server (so its result is saved: a kill between its last ledger line
    and its result would make it run twice, rightly, and the ledger check fail)."""
    deadline = time.monotonic() + timeout
    body = {"flow_runs": {"tags": {"all_": [TAG_PREFIX + name]}}}
    while True:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"window 3 never got to total[7]:\n{log.read_text()}"
        if "start total[7]" in (ledger.read_text() if ledger.exists() else ""):
            running = [r for r in server.filter("flow_runs", body) if r["state_type"] == "RUNNING"]
            states = {
                t["name"]: t["state_type"] for r in running for t in server.task_runs(r["id"])
            }
            if states.get("check[6]") == "COMPLETED":
                return
        time.sleep(0.5)


def chain_runs_ids(server: PrefectServer, name: str) -> set[str]:
    body = {"flow_runs": {"tags": {"all_": [TAG_PREFIX + name]}}}
    return {r["id"] for r in server.filter("flow_runs", body)}


def _point(name: str) -> int:
    return int(name.split("[")[1].rstrip("]"))


# -- the chain through a deployment: `prefect deploy` to a process pool, `prefect worker start` --

TESTS = Path(__file__).resolve().parent
POOL = "chain-pool"
FLOWS = """\
import os

from chain_campaign import build

campaign = build(
    {name!r}, {storage!r}, {budget}, {ledger!r}, os.environ.get("CYCLES_SLOW", "")
)
"""
PREFECT_YAML = """\
name: {name}
prefect-version: 3.9.1
build: null
push: null
pull:
  - prefect.deployments.steps.set_working_directory:
      directory: {project}
deployments:
  - name: {name}-pool
    entrypoint: flows.py:campaign
    parameters: {{{parameters}}}
    work_pool:
      name: {pool}
      job_variables: {{}}
"""


def deploy(
    server: PrefectServer,
    name: str,
    tmp: Path,
    flows: str = FLOWS,
    parameters: str = f"stop: {STOP}",
) -> tuple[str, dict[str, str]]:
    """A project directory holding the campaign and its prefect.yaml, deployed with
    ``prefect deploy``; the deployment's name and the environment for workers and CLI."""
    project = tmp / "project"
    project.mkdir()
    storage, ledger = tmp / "results", tmp / "ledger.txt"
    (project / "flows.py").write_text(
        flows.format(
            name=name, storage=str(storage), budget=BUDGET, ledger=str(ledger), tmp=str(tmp)
        )
    )
    (project / "prefect.yaml").write_text(
        PREFECT_YAML.format(name=name, project=project, parameters=parameters, pool=POOL)
    )
    pythonpath = os.pathsep.join([str(TESTS.parent), str(TESTS)])
    env = server.client_env(
        PREFECT_HOME=str(tmp / "home"),
        PYTHONPATH=pythonpath,
        PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING",
    )
    prefect = prefect_cli()
    with server.api() as http:
        if http.get(f"/work_pools/{POOL}").status_code == 404:
            run([*prefect, "work-pool", "create", POOL, "--type", "process"], env)
    out = run([*prefect, "deploy", "--all", "--no-prompt"], env, cwd=project)
    deployment = f"{name}/{name}-pool"
    assert deployment in out.stdout, out.stdout
    return deployment, env


def worker() -> list[str]:
    return [*prefect_cli(), "worker", "start", "--pool", POOL, "--install-policy", "never"]


def wait_chain(server: PrefectServer, name: str, count: int, timeout: float = 600) -> list[dict]:
    """Poll until the chain has ``count`` flow runs, all final; them, oldest first.

    A window starts its successor before it ends, so once ``count`` runs are
    final no further successor can appear.
    """
    deadline = time.monotonic() + timeout
    while True:
        body = {"flow_runs": {"tags": {"all_": [TAG_PREFIX + name]}}}
        runs = server.filter("flow_runs", body, sort="EXPECTED_START_TIME_ASC")
        if len(runs) >= count and all(r["state_type"] in FINAL_STATES for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = [(r["name"], r["state_type"]) for r in runs]
            raise AssertionError(f"after {timeout} s the chain {name} has {states}")
        time.sleep(1.0)


def test_a_deployment_chain_hands_over_through_a_process_worker(
    server: PrefectServer, tmp_path: Path
):
    name = "campaign-deploy"
    deployment, env = deploy(server, name, tmp_path)
    with running(worker(), env, tmp_path / "worker.log", cwd=tmp_path):
        out = run([*prefect_cli(), "deployment", "run", deployment], env)
        first = flow_run_id(out.stdout)
        want = windows()
        runs = wait_chain(server, name, len(want))
    assert len(runs) == len(want), [r["name"] for r in runs]
    assert runs[0]["id"] == first
    assert [r["state_type"] for r in runs] == ["COMPLETED"] * len(want), [r["state"] for r in runs]
    dep = server.get(f"/deployments/name/{deployment}")
    seen: Counter[str] = Counter()
    for i, (fr, names) in enumerate(zip(runs, want, strict=True)):
        first_point, last_point = min(map(_point, names)), max(map(_point, names))
        assert fr["name"] == f"{name}[{first_point}..{last_point}]"
        assert fr["deployment_id"] == dep["id"] and fr["work_pool_name"] == POOL
        if i:  # the first run is the deployment's own, with its default window
            assert (fr["parameters"]["start"], fr["parameters"]["stop"]) == (
                first_point,
                last_point,
            )
        tasks = server.wait_task_runs(fr["id"], len(names))
        assert len(tasks) <= BUDGET, f"{fr['name']} is over the budget"
        assert {t["name"]: t["state_name"] for t in tasks} == dict.fromkeys(names, "Completed")
        seen.update(t["name"] for t in tasks)
        predecessor = runs[i - 1]["id"] if i else None
        assert fr["labels"].get(PREDECESSOR_LABEL) == predecessor
        assert fr["labels"].get(WINDOW_LABEL) == str(i + 1)
        assert (fr["parameters"].get("chain") or {}).get("predecessor") == predecessor
        assert TAG_PREFIX + name in fr["tags"]
    everything = {f"{i.task}[{i.point}]" for i in unroll(from_graph(GRAPH, 1, STOP), 1, STOP)}
    assert seen == Counter(everything), "every instance exactly once across the flow runs"
    # The results crossed the windows: every running sum is right (check[] asserted it too).
    fl = build(name, str(tmp_path / "results"), BUDGET, str(tmp_path / "ledger.txt"))
    with temporary_settings({PREFECT_API_URL: server.url}):
        sums = [fl.result_of("check", p) for p in range(1, STOP + 1)]
    assert sums == [1000 + p * (p + 1) // 2 for p in range(1, STOP + 1)]


def test_a_deployment_chain_whose_worker_is_killed_continues_from_the_frontier(
    server: PrefectServer, tmp_path: Path
):
    name = "campaign-deploy-kill"
    deployment, env = deploy(server, name, tmp_path)
    ledger = tmp_path / "ledger.txt"
    slow = {**env, "CYCLES_SLOW": "7:120"}
    with running(worker(), slow, tmp_path / "worker1.log", cwd=tmp_path) as proc:
        run([*prefect_cli(), "deployment", "run", deployment], env)
        wait_mid_window_3(server, name, ledger, proc, tmp_path / "worker1.log")
        kill_tree(proc)  # the worker and its flow-run process: the machine lost
    before = server.filter("flow_runs", {"flow_runs": {"tags": {"all_": [TAG_PREFIX + name]}}})
    dead = [r for r in before if r["state_type"] == "RUNNING"]
    assert [r["name"] for r in dead] == [f"{name}[6..8]"], [
        (r["name"], r["state_type"]) for r in before
    ]
    assert len(before) == 3

    want = windows()
    with running(worker(), env, tmp_path / "worker2.log", cwd=tmp_path):
        out = run([*prefect_cli(), "deployment", "run", deployment], env)
        restart = flow_run_id(out.stdout)
        runs = wait_chain(server, name, len(want) + 1)
    by_id = {r["id"]: r for r in runs}
    old_ids = [r["id"] for r in sorted(before, key=lambda r: r["expected_start_time"])]
    new = [r for r in runs if r["id"] not in old_ids]
    assert new[0]["id"] == restart
    assert [r["name"] for r in new] == [f"{name}[6..8]", f"{name}[9..11]", f"{name}[12..12]"]
    assert [r["state_type"] for r in new] == ["COMPLETED"] * 3

    # The dead run is Crashed, naming the run that took over.
    crashed = by_id[dead[0]["id"]]
    assert crashed["state_type"] == "CRASHED", crashed["state"]
    assert restart in crashed["state"]["message"], crashed["state"]["message"]
    # The restart continues the chain: window 3 again, linked to window 2.
    assert new[0]["labels"].get(PREDECESSOR_LABEL) == old_ids[1]
    assert new[0]["labels"].get(WINDOW_LABEL) == "3"

    lines = ledger.read_text().splitlines()
    done = Counter(line.split()[1] for line in lines if line.startswith("done "))
    everything = {f"{i.task}[{i.point}]" for i in unroll(from_graph(GRAPH, 1, STOP), 1, STOP)}
    assert done == Counter(everything), "every instance completed exactly once"
    started = Counter(line.split()[1] for line in lines if line.startswith("start "))
    assert {n for n, c in started.items() if c > 1} <= {"total[7]"}  # killed mid-body
    early = want[0] | want[1]
    for fr, names in zip(new, want[2:], strict=True):
        tasks = server.wait_task_runs(fr["id"], len(names))
        assert not {t["name"] for t in tasks} & early, "no task run for windows 1 and 2"
        assert {t["name"] for t in tasks} == names
    first = {t["name"]: t["state_name"] for t in server.task_runs(new[0]["id"])}
    assert first["total[6]"] == "Cached" and first["total[7]"] == "Completed"


WALL_CLOCK_FLOWS = """\
import os
from pathlib import Path

from test_chain_wall_clock import wall_clock_flow

os.environ["CYCLES_LEDGER"] = {ledger!r}
campaign = wall_clock_flow(Path({tmp!r}), {name!r}, budget=10)
"""


def test_a_wall_clock_deployment_chain_carries_its_initial_point(
    server: PrefectServer, tmp_path: Path
):
    """``initial cycle point = now``: the first run works it out, its successor gets it as a
    literal (worked out again by a later window, it would move with the real clock)."""
    name = "wall-deploy"
    (tmp_path / "ledger.txt").touch()
    deployment, env = deploy(server, name, tmp_path, WALL_CLOCK_FLOWS, parameters="")
    with running(worker(), env, tmp_path / "worker.log", cwd=tmp_path):
        run([*prefect_cli(), "deployment", "run", deployment], env)
        runs = wait_chain(server, name, 2)
    assert [r["state_type"] for r in runs] == ["COMPLETED"] * 2, [r["state"] for r in runs]
    assert runs[0]["parameters"].get("chain") is None  # the deployment's own run
    initial = runs[1]["parameters"]["chain"]["initial"]
    wf = wall_clock_flow(tmp_path, name).workflow.at_initial(initial)
    t = [wf.fmt(wf.cycling.add(wf.initial, wf.cycling.interval(f"PT{h}H"))) for h in range(6)]
    # budget 10: setup, total, check at T, then 2 a point: [T..T+3], [T+4..T+5]
    assert [r["name"] for r in runs] == [f"{name}[{t[0]}..{t[3]}]", f"{name}[{t[4]}..{t[5]}]"]
    with temporary_settings({PREFECT_API_URL: server.url}):
        assert wall_clock_flow(tmp_path, name).result_of("check", t[5]) == 1006
