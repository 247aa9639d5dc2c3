"""A workflow over a million points that stops itself at its first point.

``LONG_WINDOW_FINAL`` sets the final point; ``LONG_WINDOW_STAMP`` names a file
the first task run writes ``time.time()`` to (for benchmarks/startup_window.py).
"""

import os
import time
from pathlib import Path

from prefect import task

from prefect_cycles import cyclic_flow, stop_cycling


@task(name="once")
def once(point: int) -> object:
    stamp = os.environ.get("LONG_WINDOW_STAMP")
    if stamp:
        Path(stamp).write_text(repr(time.time()))
    return stop_cycling(message=f"stopped at {point}")


long_window = cyclic_flow(
    once,
    graph={"P1": "once[-P1] => once"},
    initial=1,
    final=int(os.environ.get("LONG_WINDOW_FINAL", 1_000_000)),
    name="long-window",
    resume=False,
)
