"""Chains of flow runs: flat memory, restart time, hand-over cost (real ``prefect server start``).

Each campaign runs in a process of its own against one server started here
(own ``PREFECT_HOME``, SQLite, free port), in this order (``--only`` picks):

- memory: an endless ``a[-P1] => a => b`` of trivial tasks stopped by
  ``stop_cycling`` at point 15,000 (30,000 task runs), budget 1,000 (30
  windows): the process's RSS and peak RSS at the start of every window;
- restart: the same workflow run to point 100 and to point 5,000, then a run
  to 10 points further, timed (the progress record at work), and once more
  with the record deleted (instances looked up instead);
- overlap: the seed's ``foo[-P1] => foo => bar`` over 40 points of 0.1 s
  tasks, as one flow run, as a chain of 10 overlapping windows, and as a
  chain of 10 windows run one after another (``OVERLAP_WINDOWS = False``),
  rotating the order, median of ``--rounds``; a boundary's cost is what a chain
  adds to one flow run over its 9 boundaries, also as a ratio to one flow run;
- no-trim: the memory campaign to ``--no-trim-points`` without ``malloc_trim``
  between windows; single: the workflow as ONE flow run (``--single-points``).

Each finished section is written to docs/benchmarks.md at once.

``python benchmarks/chain_windows.py [--rounds 3] [--points 15000] [--only memory,restart]
[--no-wait] [--no-docs]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import _common as c

sys.path.insert(0, str(c.REPO_ROOT / "tests"))

NAME = "chain_windows"
BUDGET = 1000


def _rss() -> tuple[float, float]:
    """(RSS, peak RSS) of this process in MB, from /proc."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


# -- the campaigns (run with --worker, in a process of their own) ----------------------------


def worker(kind: str, points: int, budget: int | None, storage: str, stop_at: int) -> dict:
    from prefect import task

    from prefect_cycles import cyclic_flow, stop_cycling
    from prefect_cycles.run import chain, overlap

    chain.TRIM_BETWEEN_WINDOWS = kind != "memory-no-trim"
    # The memory campaigns measure the library's default unless named otherwise.
    overlap.OVERLAP_WINDOWS = {
        "overlap": True,
        "memory-overlap": True,
        "overlap-serial": False,
        "memory-serial": False,
    }.get(kind, overlap.OVERLAP_WINDOWS)
    samples: list[tuple[int, float, float]] = []
    every = (budget or 1000) // 2  # instances per point: 2

    if kind in ("overlap", "overlap-serial"):

        @task
        def foo(point: int) -> None:
            time.sleep(0.1)

        @task
        def bar(point: int) -> None:
            time.sleep(0.1)

        fl = cyclic_flow(
            foo,
            bar,
            graph={"P1": "foo[-P1] => foo => bar"},
            initial=1,
            name=f"overlap-{budget}",
            result_storage=storage,
            max_instances_per_run=budget,
        )
        t0 = time.monotonic()
        fl(stop=points)
        return {"seconds": time.monotonic() - t0}

    @task
    def a(point: int) -> None:
        if point % every == 1:
            samples.append((point, *_rss()))

    @task
    def b(point: int):
        return stop_cycling() if point == stop_at else None

    fl = cyclic_flow(
        a,
        b,
        graph={"P1": "a[-P1] => a => b"},
        initial=1,
        name=f"{kind}-{budget}",
        result_storage=storage,
        max_instances_per_run=budget,
    )
    if kind == "restart":
        fl(stop=points)  # the history
        t0 = time.monotonic()
        fl(stop=points + 10)
        restart = time.monotonic() - t0
        for record in Path(storage).glob("prefect-cycles-progress-*"):
            record.unlink()
        t0 = time.monotonic()
        fl(stop=points + 20)
        return {"restart": restart, "lookup": time.monotonic() - t0}
    t0 = time.monotonic()
    out = fl(stop=None if kind.startswith("memory") else points)
    return {
        "seconds": time.monotonic() - t0,
        "samples": samples,
        "flow_runs": len(out.get("flow_runs", [])) if isinstance(out, dict) else 1,
        "final": _rss(),
        "overlap": overlap.OVERLAP_WINDOWS,
    }


# -- the driver -------------------------------------------------------------------------------


def campaign(server, tmp: Path, *args: str, timeout: float = 7200) -> dict:
    from realserver import run

    # The SQLite server falls far behind on tens of thousands of task runs and answers 503
    # while it catches up; the client retries (more than its default 5 times).
    env = server.client_env(
        PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING", PREFECT_CLIENT_MAX_RETRIES="40"
    )
    storage = tempfile.mkdtemp(dir=tmp)
    cmd = [sys.executable, __file__, "--worker", *args, "--storage", storage]
    out = run(cmd, env, timeout=timeout).stdout.strip().splitlines()[-1]
    return json.loads(out)


def memory_rows(result: dict, windows: tuple[int, ...]) -> list[list[object]]:
    per = BUDGET // 2  # points per window: 2 instances a point
    rows: list[list[object]] = []
    for point, rss, peak in result["samples"]:
        window = (point - 1) // per + 1
        if window in windows:
            rows.append([f"window {window} starts (point {point})", rss, peak])
    rows.append(["end of the chain", *result["final"]])
    return rows


def boundary_row(label: str, runs: list[float], base: float) -> list[object]:
    """A chain's hand-over figures: its time, and a boundary's cost (what the chain of 10
    windows adds over one flow run, shared by its 9 boundaries), also against one flow run."""
    chained = c.median(runs)
    per = (chained - base) / 9
    return [label, 10, c.secs(chained), c.ratio(chained, base), c.secs(per), c.ratio(per, base)]


def main() -> None:
    global BUDGET
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=2, metavar=("KIND", "POINTS"))
    ap.add_argument("--budget", default="")
    ap.add_argument("--storage", default="")
    ap.add_argument("--stop-at", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--points", type=int, default=15000)
    ap.add_argument("--no-trim-points", type=int, default=5000)
    ap.add_argument("--single-points", type=int, default=3000)
    ap.add_argument("--only", default="memory,restart,overlap,no-trim,single")
    ap.add_argument("--window-budget", type=int, default=BUDGET)
    ap.add_argument("--history", type=int, default=5000)
    ap.add_argument("--restart-budget", type=int, default=100)
    ap.add_argument("--no-wait", action="store_true")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    BUDGET = args.window_budget
    if args.worker:
        kind, points = args.worker[0], int(args.worker[1])
        budget = int(args.budget) if args.budget else None
        print(json.dumps(worker(kind, points, budget, args.storage, args.stop_at)), flush=True)
        return

    from realserver import PrefectServer

    only = args.only.split(",")
    load = c.wait_for_quiet() if not args.no_wait else c.load1()
    sections: dict[str, str] = {}

    def publish(key: str, text: str) -> None:
        sections[key] = text
        print(text, flush=True)
        body = (
            "## Chains of flow runs: memory, restart, hand-over\n\n"
            f"`benchmarks/chain_windows.py`; {c.machine()}; load average {load:.1f} at the "
            "start; a real `prefect server start` (SQLite); each campaign in a process of its "
            "own.\n\n" + "\n\n".join(sections[k] for k in only if k in sections)
        )
        if not args.no_docs:
            c.update_docs(NAME, body, (*c.SECTIONS, "load_real_server", NAME))

    mem = ["--budget", str(BUDGET), "--stop-at"]
    with tempfile.TemporaryDirectory() as tmpdir, PrefectServer(Path(tmpdir) / "srv") as server:
        tmp = Path(tmpdir)
        for what in only:
            if what == "memory":
                r = campaign(server, tmp, "memory", str(args.points), *mem, str(args.points))
                publish(
                    what,
                    "Memory: an endless `a[-P1] => a => b` of trivial tasks, `stop_cycling` at "
                    f"point {args.points:,} ({2 * args.points:,} task runs), budget {BUDGET:,} "
                    f"instances ({r['flow_runs']} flow runs, {c.secs(r['seconds'])}), windows "
                    f"{'overlapping' if r['overlap'] else 'one after another'}; "
                    "RSS and "
                    "peak RSS (MB) of the flow process at the start of each window:\n\n"
                    + c.table(
                        ["when", "RSS MB", "peak RSS MB"],
                        memory_rows(r, (1, 2, 3, 5, 10, 15, 20, 25, 30)),
                    ),
                )
            elif what == "no-trim":
                n = args.no_trim_points
                r = campaign(server, tmp, "memory-no-trim", str(n), *mem, str(n))
                publish(
                    what,
                    f"The same to point {n:,} with `TRIM_BETWEEN_WINDOWS = False` (no "
                    "`malloc_trim` between windows):\n\n"
                    + c.table(
                        ["when", "RSS MB", "peak RSS MB"], memory_rows(r, tuple(range(1, 31)))
                    ),
                )
            elif what == "single":
                n = args.single_points
                r = campaign(server, tmp, "single", str(n), "--stop-at", str(n))
                base = r["samples"][:: max(1, len(r["samples"]) // 6)]
                rows = [[f"point {p} ({2 * p:,} task runs)", rss, h] for p, rss, h in base]
                rows.append(["end of the run", *r["final"]])
                publish(
                    what,
                    f"The same workflow as ONE flow run of {n:,} points ({c.secs(r['seconds'])}), "
                    "for comparison: Prefect's per-task-run bookkeeping stays for the whole run."
                    "\n\n" + c.table(["when", "RSS MB", "peak RSS MB"], rows),
                )
            elif what == "restart":
                rows, times = [], {}
                restart = ["--budget", str(args.restart_budget), "--stop-at", "0"]
                for history in (100, args.history):
                    r = campaign(server, tmp, "restart", str(history), *restart)
                    times[history] = r
                    rows.append([f"{history:,}", c.secs(r["restart"]), c.secs(r["lookup"])])
                rows.append(
                    [
                        f"ratio {args.history:,} / 100",
                        c.ratio(times[args.history]["restart"], times[100]["restart"]),
                        c.ratio(times[args.history]["lookup"], times[100]["lookup"]),
                    ]
                )
                publish(
                    what,
                    f"Restart: `a[-P1] => a => b` (trivial tasks, budget {args.restart_budget:,}) "
                    "run to "
                    "point N, "
                    "then the same call to 10 points further, timed: from the progress record; "
                    "then to 10 more with the record deleted (each instance looked up in result "
                    "storage, window by window):\n\n"
                    + c.table(
                        ["completed points N", "restart (record)", "restart (no record)"], rows
                    ),
                )
            elif what == "overlap":
                one: list[float] = []
                ten: list[float] = []
                serial: list[float] = []
                order = [("overlap", "none", one), ("overlap", "8", ten)]
                order.append(("overlap-serial", "8", serial))
                for i in range(args.rounds):
                    turn = order[i % 3 :] + order[: i % 3]
                    for kind, budget, into in turn:
                        extra = ["--budget", budget] if budget != "none" else []
                        into.append(campaign(server, tmp, kind, "40", *extra)["seconds"])
                base = c.median(one)
                overlapping = "a chain of 10 windows (budget 8), overlapping (default)"
                publish(
                    what,
                    "Hand-over: the seed's `foo[-P1] => foo => bar`, 40 points of 0.1 s tasks "
                    f"(critical path 4.1 s), each a fresh process, order rotated, median of "
                    f"{args.rounds}; a boundary's cost is what a chain of 10 windows adds to one "
                    "flow run, over its 9 boundaries:\n\n"
                    + c.table(
                        [
                            "run as",
                            "flow runs",
                            "seconds",
                            "vs one flow run",
                            "per boundary",
                            "boundary vs one flow run",
                        ],
                        [
                            ["one flow run", 1, c.secs(base), "1.00x", "", ""],
                            boundary_row(overlapping, ten, base),
                            boundary_row("the same chain, one window after another", serial, base),
                        ],
                    ),
                )


if __name__ == "__main__":
    main()
