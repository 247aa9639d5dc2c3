"""User xtrigger functions for tests/test_xtriggers_flow.py (importable, as Cylc needs)."""

from __future__ import annotations

import os
from pathlib import Path


def count_to(n: int, point: str = "", name: str = "") -> tuple[bool, dict[str, str]]:
    """True on the n-th call for this point (calls are counted in files)."""
    calls = Path(os.environ["PREFECT_CYCLES_TEST_HANDSHAKE"]) / f"calls.{name}.{point}"
    with calls.open("a") as f:
        f.write("x")
    made = len(calls.read_text())
    return made >= n, {"calls": str(made), "point": point}
