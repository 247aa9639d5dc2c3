"""Time to the first task run does not depend on the window.

``tests/data/run/long_window.py`` (``P1 = "once[-P1] => once"``, stopping
itself at its first point) with a final point 1,000, 100,000 and 1,000,000
points away, started two ways, each in a fresh process with its own temporary
Prefect server: ``prefect-cycles run FILE:long_window`` (progress view
included) and a plain call of the flow (``python -c``). The figure is the time
from starting the process to the first task body running (it writes
``time.time()`` to a file), and its ratio to the same at 1,000 points.

Run: ``python benchmarks/startup_window.py [--no-wait] [--no-docs]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

FLOW = c.REPO_ROOT / "tests" / "data" / "run" / "long_window.py"
SIZES = (1_000, 100_000, 1_000_000)
PLAIN = (
    "import importlib.util, sys; s = importlib.util.spec_from_file_location('lw', sys.argv[1]); "
    "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); m.long_window()"
)


def first_task(how: str, final: int) -> float:
    with tempfile.TemporaryDirectory(prefix="prefect-cycles-startup-") as tmp:
        stamp = Path(tmp) / "stamp"
        env = dict(
            os.environ,
            PREFECT_HOME=str(Path(tmp) / "home"),
            LONG_WINDOW_FINAL=str(final),
            LONG_WINDOW_STAMP=str(stamp),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="600",
        )
        env.pop("PREFECT_API_URL", None)
        if how == "prefect-cycles run":
            cmd = [sys.executable, "-m", "prefect_cycles", "run", f"{FLOW}:long_window"]
        else:
            cmd = [sys.executable, "-c", PLAIN, str(FLOW)]
        t0 = time.time()
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=1800)
        return float(stamp.read_text()) - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    ap.add_argument("--no-docs", action="store_true", help="print only")
    args = ap.parse_args()
    start_load = c.load1() if args.no_wait else c.wait_for_quiet()
    load = c.Load()
    rows, summary = [], []
    for how in ("prefect-cycles run", "plain call"):
        times = {}
        for n in SIZES:
            load.sample()
            times[n] = first_task(how, n)
            print(f"  {how}, {n:,} points: first task after {times[n]:.2f} s", flush=True)
        base = times[SIZES[0]]
        rows += [[how, f"{n:,}", c.secs(t), c.ratio(t, base)] for n, t in times.items()]
        worst = max(times.values()) / base
        summary.append(
            f"- {how}: the first task run at {SIZES[-1]:,} points / at {SIZES[0]:,} points: "
            f"**{times[SIZES[-1]] / base:.2f}x** (worst {worst:.2f}x)"
        )
    tab = c.table(["started by", "points in the window", "first task run after", "/ 1,000"], rows)
    body = "\n\n".join(
        [
            "## Start-up: time to the first task run against the window",
            "`python benchmarks/startup_window.py`: a workflow that stops itself at its first "
            "point, with its final point 1,000 / 100,000 / 1,000,000 points away; each start "
            "is a fresh process with its own temporary Prefect server (its start-up included, "
            "which is most of the time); one run each.",
            tab,
            "\n".join(summary),
            f"Machine: {c.machine()}. 1-minute load average: {start_load:.2f} at start, {load}.",
        ]
    )
    print(tab)
    print("\n".join(summary))
    if not args.no_docs:
        c.update_docs("startup_window", body, c.SECTIONS)
        print(f"updated {c.DOCS.relative_to(c.REPO_ROOT)}")


if __name__ == "__main__":
    main()
