"""Building a graph of thousands of tasks: time per task from 1,000 to 20,000.

Three front ends build the same shape, N tasks that all feed one task ``z``
at every point (and ``z`` feeding the next point's N tasks through an
inter-cycle edge), and the time per task must stay flat as N grows:

- a graph string of ONE line: ``P1 = "t0 & t1 & ... & tN => z"`` plus
  ``z[-P1] => t0 & ... & tN`` (``from_graph``);
- a flow.cylc with a family of N members: ``P1 = "FAM:succeed-all => z"``
  and ``z[-P1] => FAM`` (``load_flow_cylc``, file reading included);
- the decorators: N ``@task``s, each with ``@cycle("P1", after=on(z, "-P1"))``,
  and ``z`` with ``@cycle("P1", after=all_of(t0, ..., tN))``
  (``build_workflow``; making the Prefect tasks is not timed).

Each size is the best of ``--repeat`` runs in this process (CPU time, which a
loaded machine disturbs less than wall time). The figure that matters is the
ratio of time per task at the largest size to that at the smallest: 1.0 is
linear, 20 would be quadratic.

CPU time per task also grows with the memory a build touches (a graph of
20,000 tasks no longer fits the processor's caches, and its fresh memory is
page-faulted in), more so on a loaded machine. ``--instructions`` counts the
instructions of one build at the smallest and largest size instead, under
valgrind's cachegrind (one process per count, the count of one build being
that of two builds less that of one): exact, the same under any load, and
blind to caches, so a ratio above 1.0 there is work that grows faster than
the graph.

Run: ``python benchmarks/graph_building.py [--repeat 3] [--sizes 1000,2000,5000,10000,20000]
[--instructions]``
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-cycles-bench-home-"))

import _common as c

from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.frontends.graphstring import from_graph

SIZES = (1_000, 2_000, 5_000, 10_000, 20_000)


def graph_string(n: int) -> Callable[[], object]:
    names = [f"t{i}" for i in range(n)]
    graph = {"P1": " & ".join(names) + " => z\nz[-P1] => " + " & ".join(names)}
    return lambda: from_graph(graph, 1, 3)


def flow_cylc(n: int, where: Path) -> Callable[[], object]:
    members = "".join(f"    [[t{i}]]\n        inherit = FAM\n" for i in range(n))
    path = where / f"fam{n}" / "flow.cylc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[scheduling]\n    cycling mode = integer\n    initial cycle point = 1\n"
        '    final cycle point = 3\n    [[graph]]\n        P1 = """\n'
        '            FAM:succeed-all => z\n            z[-P1] => FAM\n        """\n'
        "[runtime]\n    [[FAM]]\n    [[z]]\n" + members
    )
    return lambda: load_flow_cylc(path)


def decorated(n: int) -> Callable[[], object]:
    from prefect import task  # here, so the other front ends' counts leave Prefect out

    from prefect_cycles import all_of, cycle, on
    from prefect_cycles.frontends.decorators import build_workflow

    @task(name="z")
    def z(point: int) -> None: ...

    members = []
    for i in range(n):
        t = task(name=f"t{i}")(lambda point: None)
        members.append(cycle("P1", after=on(z, "-P1"))(t))
    zz = cycle("P1", after=all_of(*members))(z)
    return lambda: build_workflow(zz, *members, initial=1, final=3)


def case(name: str, n: int, where: Path) -> Callable[[], object]:
    """The build of front end ``name`` at ``n`` tasks (its inputs made, not yet run)."""
    if name == "graph string":
        return graph_string(n)
    if name == "flow.cylc family":
        return flow_cylc(n, where)
    return decorated(n)


NAMES = ("graph string", "flow.cylc family", "decorators")


def instructions(name: str, n: int, builds: int) -> int:
    """Instructions of a process that builds ``name`` at ``n`` once to warm up, then ``builds``
    times, counted by cachegrind."""
    out = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--one",
            name,
            str(n),
            str(builds),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from cachegrind:\n{out.stderr[-2000:]}")
    return int(found[1].replace(",", ""))


def per_build(name: str, n: int) -> int:
    """Instructions of one build: two builds' process less one build's."""
    return instructions(name, n, 2) - instructions(name, n, 1)


def best_cpu(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per task at the smallest and largest size (valgrind)",
    )
    ap.add_argument("--one", nargs=3, metavar=("NAME", "N", "BUILDS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # one process counted by instructions()
        name, n, builds = args.one[0], int(args.one[1]), int(args.one[2])
        with tempfile.TemporaryDirectory() as tmp:
            fn = case(name, n, Path(tmp))
            # The collections after a build (Prefect's heap is large) are not the build's,
            # and the CPU times leave them out too.
            gc.disable()
            for _ in range(builds + 1):
                fn()
        return
    if args.instructions and shutil.which("valgrind") is None:
        ap.error("--instructions needs valgrind (apt-get install valgrind)")
    sizes = [int(s) for s in args.sizes.split(",")]
    load = c.Load()
    start_load = None if args.no_wait else c.wait_for_quiet()
    rows, per_task = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for name in NAMES:
                t = best_cpu(case(name, n, Path(tmp)), args.repeat)
                per_task[(name, n)] = t / n
                rows.append([name, f"{n:,}", c.secs(t), f"{t / n * 1e6:.1f} µs"])
                print(f"  {name} {n:,}: {t:.3f} s, {t / n * 1e6:.1f} µs per task", flush=True)
            load.sample()
    lo, hi = sizes[0], sizes[-1]
    summary = [
        f"- {k}: time per task at {hi:,} / at {lo:,} tasks = "
        f"**{per_task[(k, hi)] / per_task[(k, lo)]:.2f}** (1.0 is linear; "
        f"{hi // lo} would be quadratic)"
        for k in NAMES
    ]
    table = c.table(["front end", "tasks", "build (best CPU time)", "per task"], rows)
    counted = ""
    if args.instructions:
        irows, isummary = [], []
        with ThreadPoolExecutor(2) as pool:  # one valgrind process per core
            counts = {(k, n): pool.submit(per_build, k, n) for k in NAMES for n in (lo, hi)}
        for name in NAMES:
            each = {n: counts[(name, n)].result() / n for n in (lo, hi)}
            for n in (lo, hi):
                irows.append([name, f"{n:,}", f"{each[n] / 1e3:,.1f} k"])
                print(f"  {name} {n:,}: {each[n]:,.0f} instructions per task", flush=True)
            isummary.append(
                f"- {name}: instructions per task at {hi:,} / at {lo:,} tasks = "
                f"**{each[hi] / each[lo]:.3f}**"
            )
        counted = "\n\n".join(
            [
                "Instructions of one build (valgrind's cachegrind, `--instructions`): exact and "
                "the same under any load; the CPU times above also pay for caches and fresh "
                "memory, which a graph of 20,000 tasks outgrows.",
                c.table(["front end", "tasks", "instructions per task"], irows),
                "\n".join(isummary),
            ]
        )
        print(counted)
    load_text = str(load) if start_load is None else f"{start_load:.2f} at start, {load}"
    body = "\n\n".join(
        [
            "## Building graphs of thousands of tasks",
            "`python benchmarks/graph_building.py`: N tasks that all feed `z`, and `z[-P1]` "
            "feeding all N, built by each front end: one graph-string line "
            "(`t0 & t1 & ... => z`), a flow.cylc family of N members (`FAM:succeed-all => z`), "
            "and N decorated tasks (`z` with `after=all_of(...)`). Best CPU time of "
            f"{args.repeat} in-process runs (Prefect task creation not timed).",
            table,
            "\n".join(summary),
            *([counted] if counted else []),
            f"Machine: {c.machine()}. 1-minute load average: {load_text}.",
        ]
    )
    print(table)
    print("\n".join(summary))
    if not args.no_docs:
        c.update_docs("graph_building", body, c.SECTIONS)
        print(f"updated {c.DOCS.relative_to(c.REPO_ROOT)}")


if __name__ == "__main__":
    main()
