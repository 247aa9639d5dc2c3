"""Shared helpers for the benchmarks: machine facts, load, timing, tables, docs.

Not a test module: the benchmarks run on demand (see README.md here). Each
script prints a table and rewrites its own section of docs/benchmarks.md,
between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs" / "benchmarks.md"

#: Take final figures only below this 1-minute load average (2-core machine).
QUIET_LOAD = 1.2
#: How long to wait for the machine to go quiet before measuring anyway.
MAX_WAIT = 20 * 60

DOCS_HEADER = """\
# Benchmarks

Figures from the scripts in `benchmarks/` (see `benchmarks/README.md`). Each
section is rewritten by its own script; speed is given as ratios against a
baseline measured in the same run, so the ratios travel between machines
better than the seconds do.
"""


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def load1() -> float:
    return os.getloadavg()[0]


def machine() -> str:
    """One line: cores, CPU, Python, Prefect, prefect-cycles, date."""
    return (
        f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {cpu_model()}; "
        f"Python {platform.python_version()}; Prefect {version('prefect')}; "
        f"prefect-cycles {version('prefect-cycles')}; "
        f"{dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}"
    )


def wait_for_quiet(limit: float = QUIET_LOAD, max_wait: float = MAX_WAIT) -> float:
    """Wait until the 1-minute load average is below ``limit``; return it.

    Gives up after ``max_wait`` seconds and measures anyway (the docs then
    show the higher load).
    """
    deadline = time.monotonic() + max_wait
    load = load1()
    announced = False
    while load >= limit and time.monotonic() < deadline:
        if not announced:
            print(
                f"load average {load:.2f} >= {limit}: waiting up to {max_wait / 60:.0f} min "
                "for a quieter machine (--no-wait to skip)",
                file=sys.stderr,
                flush=True,
            )
            announced = True
        time.sleep(15)
        load = load1()
    if load >= limit:
        print(f"still loaded ({load:.2f}); measuring anyway", file=sys.stderr, flush=True)
    return load


class Load:
    """The 1-minute load average seen during a measurement (min/max of samples)."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def sample(self) -> None:
        self.samples.append(load1())

    def __str__(self) -> str:
        if not self.samples:
            return "n/a"
        lo, hi = min(self.samples), max(self.samples)
        return f"{lo:.2f}" if hi - lo < 0.005 else f"{lo:.2f}-{hi:.2f}"


def measure(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def best(times: Sequence[float]) -> float:
    return min(times)


def median(times: Sequence[float]) -> float:
    return statistics.median(times)


def secs(t: float | None) -> str:
    if t is None:
        return "-"
    if t >= 10:
        return f"{t:.1f} s"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 0.01:
        return f"{t * 1000:.0f} ms"
    return f"{t * 1000:.2f} ms"


def per(t: float | None, n: int) -> str:
    """Time per item, in microseconds."""
    return "-" if t is None else f"{t / n * 1e6:.2f} µs"


def ratio(x: float | None, y: float | None) -> str:
    if x is None or y is None or y == 0:
        return "-"
    return f"{x / y:.2f}x" if x / y < 100 else f"{x / y:.0f}x"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (also readable as plain text)."""
    cells = [[str(c) for c in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_suffix(".md.lock")
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        lock.unlink()


def update_docs(name: str, body: str, order: Sequence[str], path: Path = DOCS) -> None:
    """Replace section ``name`` of docs/benchmarks.md with ``body``.

    Sections are kept in ``order``; unknown sections are kept after them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        text = path.read_text() if path.exists() else DOCS_HEADER
        sections: dict[str, str] = {}
        head = text
        begin = "<!-- BEGIN "
        if begin in text:
            head = text[: text.index(begin)]
            rest = text[len(head) :]
            while begin in rest:
                start = rest.index(begin)
                key = rest[start + len(begin) : rest.index(" -->", start)]
                end_marker = f"<!-- END {key} -->"
                end = rest.index(end_marker, start) + len(end_marker)
                sections[key] = rest[start:end]
                rest = rest[end:]
        sections[name] = f"<!-- BEGIN {name} -->\n{body.strip()}\n<!-- END {name} -->"
        keys = [k for k in order if k in sections] + [k for k in sections if k not in order]
        out = head.rstrip() + "\n\n" + "\n\n".join(sections[k] for k in keys) + "\n"
        path.write_text(out)


#: Order of the sections in docs/benchmarks.md.
SECTIONS = (
    "unroll_vs_cylc",
    "graph_building",
    "bounded_passes",
    "startup_window",
    "flow_vs_hand_unrolled",
    "wide_cycles",
)
