"""An unnamed cyclic flow; tests/test_identity.py copies this file into two directories."""

from __future__ import annotations

import os
from pathlib import Path

from prefect import task

from prefect_cycles import cyclic_flow


@task
def measure(point: int) -> int:
    with open(os.environ["CYCLES_LEDGER"], "a") as f:
        f.write(f"ran measure[{point}] {Path(__file__).parent.name}\n")
    return point


experiment = cyclic_flow(
    measure,
    graph={"P1": "measure"},
    initial=1,
    final=3,
    result_storage=Path(os.environ["CYCLES_RESULTS"]),
)
