"""Many tasks per cycle through a real server: every instance runs once, named, with its edges.

The benchmark (benchmarks/wide_cycles.py) runs 2,000 tasks per cycle; this
runs the same shape, narrower, as one flow run in a process of its own against
a real ``prefect server start``, and reads every task run back from the API.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from realserver import PrefectServer, run
from wide_cycles import check

SCRIPT = Path(__file__).with_name("wide_cycles.py")
WIDTH, CYCLES = 60, 3


def test_a_wide_workflow_runs_three_cycles_through_a_real_server(
    server: PrefectServer, tmp_path: Path
) -> None:
    env = server.client_env(PREFECT_HOME=str(tmp_path / "home"))
    cmd = [sys.executable, str(SCRIPT), "--width", str(WIDTH), "--cycles", str(CYCLES)]
    out = run(cmd, env, timeout=900)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["state"] == "COMPLETED", out.stdout
    server.wait_task_runs(result["flow_run_id"], WIDTH * CYCLES, timeout=900)
    right, states = check(server.task_runs(result["flow_run_id"]), WIDTH, CYCLES)
    assert states == {"Completed": WIDTH * CYCLES}
    assert right == WIDTH * CYCLES
