"""A cyclic flow that tests/test_runonce.py runs in two processes at once, or kills.

Every body writes ``ran task[point] pid`` to the ledger (flushed, fsynced) and
takes a moment, so two runs started together overlap. ``work[3]`` holds in its
body while the file named by ``CYCLES_HOLD`` exists (there the test kills it),
and writes ``run <flow-run-id>`` first, so the test knows the killed run's id.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prefect import runtime, task

from prefect_cycles import cyclic_flow

LEDGER = Path(os.environ["CYCLES_LEDGER"])
HOLD = Path(os.environ.get("CYCLES_HOLD", "/nonexistent"))


def note(line: str) -> None:
    with LEDGER.open("a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


@task
def fetch(point: int) -> int:
    note(f"ran fetch[{point}] {os.getpid()}")
    time.sleep(0.2)
    return point


@task
def work(point: int, previous: int = 0, fetch: int = 0) -> int:
    if point == 3 and HOLD.exists():
        note(f"run {runtime.flow_run.id}")
        while HOLD.exists():
            time.sleep(0.05)
    note(f"ran work[{point}] {os.getpid()}")
    time.sleep(0.1)
    return previous + fetch


together = cyclic_flow(
    fetch,
    work,
    graph={"P1": "fetch => work\nwork[-P1] => work"},
    initial=1,
    final=int(os.environ.get("CYCLES_FINAL", "8")),
    runahead="P8",
    name="together",
    result_storage=Path(os.environ["CYCLES_RESULTS"]),
)

if __name__ == "__main__":
    state = together(return_state=True)
    print(json.dumps({"flow_run_id": str(state.state_details.flow_run_id), "type": state.type}))
