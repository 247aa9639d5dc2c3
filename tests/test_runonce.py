"""Two runs of one workflow at once run each instance once; a dead run is marked Crashed.

Real processes, a real server, a real result directory: each run is a
subprocess of ``tests/data/runonce/together.py``, whose task bodies write a
ledger line every time they run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from flowruns import settled_runs
from ledger import runs
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL

pytestmark = pytest.mark.usefixtures("prefect_server")

SCRIPT = str(Path(__file__).parent / "data" / "runonce" / "together.py")
EVERY = Counter({f"{t}[{p}]": 1 for t in ("fetch", "work") for p in range(1, 9)})


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PREFECT_HOME": str(tmp_path / "home"),
        "CYCLES_LEDGER": str(tmp_path / "ledger.txt"),
        "CYCLES_RESULTS": str(tmp_path / "results"),
        **extra,
    }


def start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, SCRIPT],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-4000:]
    return json.loads(out.strip().splitlines()[-1])


def test_two_runs_at_once_run_every_instance_exactly_once(tmp_path: Path):
    env = environment(tmp_path)
    first, second = start(env), start(env)
    outcomes = [finish(first), finish(second)]
    assert [o["type"] for o in outcomes] == ["COMPLETED", "COMPLETED"]
    assert runs(tmp_path / "ledger.txt") == EVERY
    # Between them the two flow runs account for every instance: one ran it, the
    # other waited for its lock and found the result (Cached).
    states = [
        {n: r.state.name for n, r in settled_runs(o["flow_run_id"], EVERY).items()}
        for o in outcomes
    ]
    for name in EVERY:
        assert sorted(s[name] for s in states) == ["Cached", "Completed"], name


def test_a_killed_run_is_marked_crashed_by_the_run_that_takes_over(tmp_path: Path):
    hold = tmp_path / "hold"
    hold.touch()
    env = environment(tmp_path, CYCLES_HOLD=str(hold))
    ledger = tmp_path / "ledger.txt"
    first = start(env)
    try:
        deadline = time.monotonic() + 120
        while not (ledger.exists() and "run " in ledger.read_text()):
            assert first.poll() is None, first.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "the first run never reached work[3]"
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.communicate(timeout=30)
    dead = next(line.split()[1] for line in ledger.read_text().splitlines() if line[:4] == "run ")
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(dead).state.is_running()  # the server cannot know

    hold.unlink()
    second = finish(start(env))  # waits for no dead lock: work[3]'s is broken
    assert second["type"] == "COMPLETED"
    assert runs(ledger)["work[3]"] == 1 and runs(ledger)["work[4]"] == 1
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(dead).state
    assert state.is_crashed()
    assert second["flow_run_id"] in state.message and "took over" in state.message
