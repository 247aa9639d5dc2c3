"""A ledger file that task bodies append to, so a test knows which bodies really ran.

Works from any task runner and any process: the path comes from the environment
variable ``CYCLES_LEDGER``, and each line is flushed and fsynced.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path


def note(line: str) -> None:
    """Append ``line`` to the ledger named by ``CYCLES_LEDGER``."""
    with open(os.environ["CYCLES_LEDGER"], "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def runs(path: Path) -> Counter:
    """How many times each instance's body ran, from ledger lines ``ran task[point] ...``."""
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(line.split()[1] for line in lines if line.startswith("ran "))


def new_ledger(tmp_path: Path, monkeypatch) -> Path:
    """An empty ledger under ``tmp_path``, named in the environment for the task bodies."""
    path = tmp_path / "ledger.txt"
    path.touch()
    monkeypatch.setenv("CYCLES_LEDGER", str(path))
    return path


def ran(path: Path) -> list[str]:
    """The instances named by each ledger line, in order (``ran task[point] ...``)."""
    return [line.split()[1] for line in path.read_text().splitlines()]
