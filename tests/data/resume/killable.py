"""A cyclic flow that tests/test_resume.py kills with SIGKILL mid-run, then runs again.

Task bodies write "started" and "done" lines to a ledger (flushed and fsynced);
``work[4]`` holds in its body while the file named by ``CYCLES_HOLD`` exists,
which is where the test kills the process.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from prefect import task

from prefect_cycles import cyclic_flow

LEDGER = Path(os.environ["CYCLES_LEDGER"])
HOLD = Path(os.environ["CYCLES_HOLD"])


def note(line: str) -> None:
    with LEDGER.open("a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


@task
def work(point: int, previous: int = 0) -> int:
    note(f"started work[{point}]")
    while point == 4 and HOLD.exists():
        time.sleep(0.05)
    value = previous + point
    note(f"done work[{point}] {value}")
    return value


@task
def post(point: int, work: int | None = None) -> int | None:
    note(f"started post[{point}]")
    note(f"done post[{point}] {work}")
    return work


killable = cyclic_flow(
    work,
    post,
    graph={"P1": "work[-P1] => work => post"},
    initial=1,
    final=6,
    name="killable",
    result_storage=Path(os.environ["CYCLES_RESULTS"]),
)

if __name__ == "__main__":
    state = killable(return_state=True)
    print(json.dumps({"flow_run_id": str(state.state_details.flow_run_id), "type": state.type}))
