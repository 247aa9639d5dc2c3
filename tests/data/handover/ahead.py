"""A chain of one point a window that tests/test_chain_handover.py kills in window 2.

``a[2]`` writes ``run <flow-run-id>`` to the ledger and holds in its body while
the file named by ``CYCLES_HOLD`` exists: by then the flow run of window 3 has
been created ahead, and waits Pending.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prefect import runtime, task

from prefect_cycles import cyclic_flow
from prefect_cycles.run import overlap

# Windows one after another create the next one's run ahead (overlapping ones start it).
overlap.OVERLAP_WINDOWS = False

LEDGER = Path(os.environ["CYCLES_LEDGER"])
HOLD = Path(os.environ.get("CYCLES_HOLD", "/nonexistent"))


@task
def a(point: int) -> int:
    if point == 2 and HOLD.exists():
        with LEDGER.open("a") as f:
            f.write(f"run {runtime.flow_run.id}\n")
        while HOLD.exists():
            time.sleep(0.05)
    return point


ahead = cyclic_flow(
    a,
    graph={"P1": "a[-P1] => a"},
    initial=1,
    final=4,
    name="handover-ahead",
    result_storage=Path(os.environ["CYCLES_RESULTS"]),
    max_instances_per_run=1,
)

if __name__ == "__main__":
    out = ahead()
    print(json.dumps({"flow_runs": out["flow_runs"]}))
