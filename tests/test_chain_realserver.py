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
from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_campaign import GRAPH
from realserver import PrefectServer, run, start

from prefect_cycles import from_graph
from prefect_cycles.graph.unroll import unroll
from prefect_cycles.run.chain import PREDECESSOR_LABEL, TAG_PREFIX, chained_instances

SCRIPT = Path(__file__).with_name("chain_campaign.py")
STOP, BUDGET = 12, 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with PrefectServer(tmp_path_factory.mktemp("chain-server")) as srv:
        yield srv


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
    deadline = time.monotonic() + 600
    while "start total[7]" not in (ledger.read_text() if ledger.exists() else ""):
        assert proc.poll() is None, (tmp_path / "killed.log").read_text()
        assert time.monotonic() < deadline, "window 3 never started"
        time.sleep(0.2)
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


def chain_runs_ids(server: PrefectServer, name: str) -> set[str]:
    body = {"flow_runs": {"tags": {"all_": [TAG_PREFIX + name]}}}
    return {r["id"] for r in server.filter("flow_runs", body)}


def _point(name: str) -> int:
    return int(name.split("[")[1].rstrip("]"))
