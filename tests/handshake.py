"""Files that task bodies touch and wait for, to prove what ran while what was running.

Not a test module. The directory comes from an environment variable, so task
bodies in process-pool and Dask workers find it too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

HANDSHAKE = "PREFECT_CYCLES_TEST_HANDSHAKE"


def marker(name: str) -> Path:
    return Path(os.environ[HANDSHAKE]) / name


def wait_for(path: Path, timeout: float = 90) -> bool:
    """True once ``path`` exists; False if it did not appear in ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


def task_runner(kind: str, workers: int) -> Any:
    """A task runner of ``kind`` (thread, process or dask) with ``workers`` workers.

    Each is a real runner: bodies in process and Dask workers reach the
    handshake directory through the environment.
    """
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
    )
