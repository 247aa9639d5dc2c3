"""Thousands of tasks per cycle: 2,000 tasks x 3 cycles through a real server.

The workflow of ``tests/wide_cycles.py`` (``end[-P1] => start => m1 & ... &
m1998 => end``, and ``mI[-P1] => mI`` for every member: intra- and
inter-cycle edges), 6,000 trivial instances as ONE flow run in a process of
its own, against a fresh ``prefect server start`` (SQLite) on 127.0.0.1: as a
``cyclic_flow`` (``resume=False``) and as the baseline, the same task runs
hand-unrolled in plain Prefect (all submitted up front with ``wait_for``, the
same 16-thread runner). Figures: the flow call's wall time and per instance,
against the baseline; the server's catch-up until every task run is recorded;
every task run read back (name, Completed, ``wait_for`` edges); and the
scheduler's own cost per instance, driving ``Scheduler`` in-process for the
same graph (best of 3), with the graph's building time.

Run: ``python benchmarks/wide_cycles.py [--width 2000] [--cycles 3] [--rounds 1] [--no-wait]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common as c

sys.path.insert(0, str(c.REPO_ROOT / "tests"))

from realserver import PrefectServer, run
from wide_cycles import check, graph

from prefect_cycles import from_graph
from prefect_cycles.run.scheduler import Scheduler

SCRIPT = c.REPO_ROOT / "tests" / "wide_cycles.py"
VARIANTS = ("cyclic", "hand")
LABELS = {"cyclic": "cyclic_flow (resume=False)", "hand": "hand-unrolled Prefect"}


def drive(workflow) -> int:
    """The scheduler's protocol as the flow runs it, every instance succeeding."""
    sched = Scheduler(workflow)
    count = 0
    while batch := sched.ready():
        for item in batch:
            sched.started(item.instance)
            sched.finished(item.instance, True)
        count += len(batch)
    return count


def one_run(
    server: PrefectServer, variant: str, width: int, cycles: int, root: Path, catch_up: bool = True
) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"{variant}-home-", dir=root))
    env = server.client_env(
        PREFECT_HOME=str(home), PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING"
    )
    cmd = [sys.executable, str(SCRIPT), "--width", str(width), "--cycles", str(cycles)]
    before = server.retryable_errors()
    out = run([*cmd, "--variant", variant], env, timeout=7200)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(catch_up=float("nan"), right=0, states={}, server_503=0)
    if not catch_up:  # a loaded SQLite server can take many minutes to record 6,000 runs
        return result
    t1 = time.perf_counter()
    server.wait_task_runs(result["flow_run_id"], width * cycles, timeout=7200)
    result["catch_up"] = time.perf_counter() - t1
    result["right"], result["states"] = check(
        server.task_runs(result["flow_run_id"]), width, cycles
    )
    result["server_503"] = server.retryable_errors() - before
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--width", type=int, default=2000)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    ap.add_argument("--no-docs", action="store_true", help="print only")
    ap.add_argument(
        "--no-catch-up",
        action="store_true",
        help="time the flows only: do not wait for the server to record every task run",
    )
    args = ap.parse_args()
    width, cycles = args.width, args.cycles
    instances = width * cycles
    start_load = c.load1() if args.no_wait else c.wait_for_quiet()
    load = c.Load()

    t0 = time.process_time()
    wf = from_graph(graph(width), 1, cycles)
    build = time.process_time() - t0
    assert drive(wf) == instances
    sched = c.best(c.measure(lambda: drive(wf), 3))

    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="prefect-cycles-wide-") as tmp:
        root = Path(tmp)
        with PrefectServer(root / "server") as server:
            for variant in VARIANTS:  # warm the server up: one narrow run each
                one_run(server, variant, 20, 2, root)
            for i in range(args.rounds):
                order = VARIANTS[i % 2 :] + VARIANTS[: i % 2]
                for variant in order:
                    load.sample()
                    r = one_run(server, variant, width, cycles, root, not args.no_catch_up)
                    runs[variant].append(r)
                    print(
                        f"round {i + 1} {variant}: flow {c.secs(r['seconds'])}, catch-up "
                        f"{r['catch_up']:.1f} s, right {r['right']}/{instances}, "
                        f"states {r['states']}, 503s {r['server_503']}",
                        file=sys.stderr,
                        flush=True,
                    )
                    load.sample()

    def med(v: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[v])

    base = med("hand", "seconds")
    rows = [
        [
            LABELS[v],
            c.secs(med(v, "seconds")),
            c.ratio(med(v, "seconds"), base),
            f"{med(v, 'seconds') / instances * 1000:.2f} ms",
            "not waited for" if args.no_catch_up else c.secs(med(v, "catch_up")),
            "not read back"
            if args.no_catch_up
            else "; ".join(f"{r['right']}/{instances}" for r in runs[v]),
            str(sum(r["server_503"] for r in runs[v])),
        ]
        for v in VARIANTS
    ]
    rows.append(
        [
            "Scheduler alone, no Prefect (best of 3)",
            c.secs(sched),
            c.ratio(sched, base),
            f"{sched / instances * 1e6:.1f} µs",
            "-",
            "-",
            "-",
        ]
    )
    tab = c.table(
        [
            "variant",
            "flow (median)",
            "/ hand-unrolled",
            "per instance",
            "server catch-up",
            "task runs right (name, Completed, wait_for)",
            "503s",
        ],
        rows,
    )
    cyc = med("cyclic", "seconds")
    summary = [
        f"- Scheduler cost: **{sched / instances * 1e6:.1f} µs per instance** "
        f"({sched / cyc * 100:.1f}% of the cyclic flow's time); building the graph of "
        f"{width:,} tasks: {c.secs(build)}.",
        f"- Flow overhead per instance: **{cyc / instances * 1000:.2f} ms** "
        f"(hand-unrolled Prefect: {base / instances * 1000:.2f} ms), **{cyc / base:.2f}x**.",
    ]
    load_text = f"{start_load:.2f} at start, {load}"
    body = "\n\n".join(
        [
            f"## Thousands of tasks per cycle: {width:,} x {cycles} cycles through a real server",
            "`python benchmarks/wide_cycles.py`: `end[-P1] => start => m1 & ... => end` and "
            f"`mI[-P1] => mI` for every member, {width:,} tasks per cycle, {instances:,} "
            "trivial instances in ONE flow run, in a process of its own, against a fresh "
            "`prefect server start` (SQLite); baseline: the same task runs hand-unrolled "
            f"with `wait_for` and the same 16-thread runner. {args.rounds} round(s) after a "
            "narrow warm-up; every task run read back from the API.",
            tab,
            "\n".join(summary),
            f"Machine: {c.machine()}. 1-minute load average: {load_text}.",
        ]
    )
    print(tab)
    print("\n".join(summary))
    if not args.no_docs:
        c.update_docs("wide_cycles", body, c.SECTIONS)
        print(f"updated {c.DOCS.relative_to(c.REPO_ROOT)}")


if __name__ == "__main__":
    main()
