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

Run: ``python benchmarks/graph_building.py [--repeat 3] [--sizes 1000,2000,5000,10000,20000]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-cycles-bench-home-"))

import _common as c
from prefect import task

from prefect_cycles import all_of, cycle, from_graph, on
from prefect_cycles.frontends.decorators import build_workflow
from prefect_cycles.frontends.flowcylc import load_flow_cylc

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
    @task(name="z")
    def z(point: int) -> None: ...

    members = []
    for i in range(n):
        t = task(name=f"t{i}")(lambda point: None)
        members.append(cycle("P1", after=on(z, "-P1"))(t))
    zz = cycle("P1", after=all_of(*members))(z)
    return lambda: build_workflow(zz, *members, initial=1, final=3)


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
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    load = c.Load()
    start_load = None if args.no_wait else c.wait_for_quiet()
    rows, per_task = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cases = {
                "graph string": graph_string(n),
                "flow.cylc family": flow_cylc(n, Path(tmp)),
                "decorators": decorated(n),
            }
            for name, fn in cases.items():
                t = best_cpu(fn, args.repeat)
                per_task[(name, n)] = t / n
                rows.append([name, f"{n:,}", c.secs(t), f"{t / n * 1e6:.1f} µs"])
                print(f"  {name} {n:,}: {t:.3f} s, {t / n * 1e6:.1f} µs per task", flush=True)
            load.sample()
    lo, hi = sizes[0], sizes[-1]
    names = ["graph string", "flow.cylc family", "decorators"]
    summary = [
        f"- {k}: time per task at {hi:,} / at {lo:,} tasks = "
        f"**{per_task[(k, hi)] / per_task[(k, lo)]:.2f}** (1.0 is linear; "
        f"{hi // lo} would be quadratic)"
        for k in names
    ]
    table = c.table(["front end", "tasks", "build (best CPU time)", "per task"], rows)
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
