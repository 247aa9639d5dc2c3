"""Big results into the store named by CYCLES_RESULTS (tests/test_storage_faults.py)."""

from __future__ import annotations

import os
from pathlib import Path

from prefect import task

from prefect_cycles import cyclic_flow


@task
def big(point: int) -> bytes:
    return bytes([point]) * 15_000


bigs = cyclic_flow(
    big,
    graph={"P1": "big"},
    initial=1,
    final=6,
    runahead="P0",
    name="big-results-cli",
    result_storage=Path(os.environ["CYCLES_RESULTS"]),
)
