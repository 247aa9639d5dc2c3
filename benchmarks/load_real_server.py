"""Load: 2,000 instances in one flow run through a real ``prefect server start``.

``P1 = "a[-P1] => a => b"`` over points 1..1000 (trivial tasks), run as ONE
flow run in a process of its own (``tests/load_chain.py``) against a fresh
``prefect server start`` on 127.0.0.1 (own PREFECT_HOME, SQLite, free port):
as a ``cyclic_flow`` (resume on, the default: every result persisted under
its instance's cache key), as one with ``resume=False``, and as the baseline,
the same 2,000 task runs hand-unrolled in plain Prefect (every instance
submitted up front with ``wait_for``, the same 16-thread task runner, no
results persisted). Each run gets a fresh client PREFECT_HOME, so no run
finds another's results.

For each run: the flow call's wall time (flow-run creation and teardown
included), the process's wall time (imports, and flushing events and logs at
exit), the server's catch-up time (from the process's exit until the API
holds every task run in a final state: Prefect 3 records task-run states from
events in the background), the 503 answers the server logged
(``PREFECT_API_LOG_RETRYABLE_ERRORS``) and the retries the flow's HTTP client
logged, and whether every task run was recorded with its name, state and
``wait_for`` edges. Variants alternate (rotated order); the first run of
each variant is over 20 points, to warm the server up, and is not counted.
Before each run the server is idle: the previous run has been caught up on.

Run: ``python benchmarks/load_real_server.py [--points 1000] [--rounds 2] [--no-wait] [--no-docs]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import _common as c

sys.path.insert(0, str(c.REPO_ROOT / "tests"))

from realserver import PrefectServer, run

from prefect_cycles import from_graph
from prefect_cycles.graph.unroll import unroll

SCRIPT = c.REPO_ROOT / "tests" / "load_chain.py"
GRAPH = {"P1": "a[-P1] => a => b"}
VARIANTS = ("cyclic", "cyclic-no-resume", "hand")
LABELS = {
    "cyclic": "cyclic_flow",
    "cyclic-no-resume": "cyclic_flow(resume=False)",
    "hand": "hand-unrolled Prefect",
}
NAME = "load_real_server"


@dataclass
class Run:
    flow: float  # seconds of the flow call
    process: float  # seconds of the whole process
    catch_up: float  # seconds from the process's exit until every task run is recorded
    server_503: int
    client_retries: dict[str, int]
    recorded: int
    right: int  # task runs with the right name, Completed state and wait_for edges
    states: dict[str, int] = field(default_factory=dict)


def check(server: PrefectServer, fr_id: str, points: int) -> tuple[int, int, dict[str, int]]:
    """(task runs recorded, task runs exactly right, count by state name)."""
    graph = unroll(from_graph(GRAPH, 1, points), 1, points)
    want = {f"{i.task}[{i.point}]": i for i in graph.nodes}
    runs = server.task_runs(fr_id)
    names = {r["id"]: r["name"] for r in runs}
    states: dict[str, int] = {}
    right = 0
    seen: set[str] = set()
    for r in runs:
        states[r["state_name"]] = states.get(r["state_name"], 0) + 1
        inst = want.get(r["name"])
        if inst is None or r["name"] in seen:
            continue
        seen.add(r["name"])
        waits = sorted(names.get(x["id"], "?") for x in r["task_inputs"].get("wait_for", []))
        parents = sorted(f"{p.task}[{p.point}]" for p in graph.predecessors(inst))
        right += r["state_name"] == "Completed" and waits == parents
    return len(runs), right, states


def one_run(server: PrefectServer, variant: str, points: int, root: Path, load: c.Load) -> Run:
    home = Path(tempfile.mkdtemp(prefix=f"{variant}-home-", dir=root))
    env = server.client_env(
        PREFECT_HOME=str(home), PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING"
    )
    before = server.retryable_errors()
    load.sample()
    t0 = time.perf_counter()
    out = run(
        [sys.executable, str(SCRIPT), "--points", str(points), "--variant", variant],
        env,
        timeout=3600,
    )
    process = time.perf_counter() - t0
    result = json.loads(out.stdout.strip().splitlines()[-1])
    expected = 2 * points
    t1 = time.perf_counter()
    server.wait_task_runs(result["flow_run_id"], expected, timeout=3600)
    catch_up = time.perf_counter() - t1
    load.sample()
    recorded, right, states = check(server, result["flow_run_id"], points)
    return Run(
        flow=result["seconds"],
        process=process,
        catch_up=catch_up,
        server_503=server.retryable_errors() - before,
        client_retries=result["client_retries"],
        recorded=recorded,
        right=right,
        states=states,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    parser.add_argument("--no-docs", action="store_true", help="print only")
    args = parser.parse_args()
    points, instances = args.points, 2 * args.points

    start_load = c.load1() if args.no_wait else c.wait_for_quiet()
    load = c.Load()
    runs: dict[str, list[Run]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="prefect-cycles-load-") as tmp:
        root = Path(tmp)
        with PrefectServer(root / "server") as server:
            for variant in VARIANTS:
                print(f"warm-up: {variant}, 20 points", file=sys.stderr, flush=True)
                one_run(server, variant, 20, root, load)
            for i in range(args.rounds):
                order = VARIANTS[i % len(VARIANTS) :] + VARIANTS[: i % len(VARIANTS)]
                for variant in order:
                    r = one_run(server, variant, points, root, load)
                    runs[variant].append(r)
                    print(
                        f"round {i + 1} {variant}: flow {c.secs(r.flow)}, "
                        f"catch-up {c.secs(r.catch_up)}, 503s {r.server_503}, "
                        f"client retries {r.client_retries}, "
                        f"recorded {r.recorded}/{instances}, right {r.right}",
                        file=sys.stderr,
                        flush=True,
                    )
            started_in = server.started_in

    def med(variant: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs[variant])

    base_flow, base_catch = med("hand", "flow"), med("hand", "catch_up")
    base_total = med("hand", "process") + base_catch
    rows = []
    for v in VARIANTS:
        rs = runs[v]
        flow, catch = med(v, "flow"), med(v, "catch_up")
        total = med(v, "process") + catch
        retries: dict[str, int] = {}
        for r in rs:
            for code, n in r.client_retries.items():
                retries[code] = retries.get(code, 0) + n
        rows.append(
            [
                LABELS[v],
                c.secs(flow),
                f"{c.secs(min(r.flow for r in rs))}-{c.secs(max(r.flow for r in rs))}",
                c.ratio(flow, base_flow),
                f"{flow / instances * 1000:.2f} ms",
                c.secs(catch),
                c.ratio(catch, base_catch),
                c.ratio(total, base_total),
                str(sum(r.server_503 for r in rs)),
                ", ".join(f"{k}: {n}" for k, n in sorted(retries.items())) or "0",
                "; ".join(f"{r.right}/{r.recorded}" for r in rs),
            ]
        )
    headers = [
        "variant",
        "flow (median)",
        "range",
        "flow / hand-unrolled",
        "flow per instance",
        "server catch-up (median)",
        "catch-up / hand-unrolled",
        "until all recorded / hand-unrolled",
        "503s (server log)",
        "client retries",
        "right / recorded, per run",
    ]
    tab = c.table(headers, rows)
    print(tab)

    all_right = all(r.right == r.recorded == instances for rs in runs.values() for r in rs)
    n_runs = sum(len(rs) for rs in runs.values())
    n_503 = sum(r.server_503 for rs in runs.values() for r in rs)
    n_retries = sum(sum(r.client_retries.values()) for rs in runs.values() for r in rs)
    resume_cost = (med("cyclic", "flow") - med("cyclic-no-resume", "flow")) / instances
    body = f"""
## Load: 2,000 instances through a real server

`python benchmarks/load_real_server.py --rounds {args.rounds}`: `P1 = "a[-P1] => a => b"` over
{points:,} points ({instances:,} trivial instances) as ONE flow run, in a process of its own,
against a fresh `prefect server start` (SQLite) on 127.0.0.1: as a `cyclic_flow` (resume on, the
default, so every result is persisted under its instance's cache key), as one with
`resume=False`, and as the baseline, the same {instances:,} task runs hand-unrolled in plain
Prefect (all submitted up front with `wait_for`, the same 16-thread runner, no results
persisted). {args.rounds} runs of each, in rotated order, after a 20-point warm-up of each; the
server is idle before each run. "Flow" is the flow call (flow-run creation and teardown
included). "Server catch-up" runs from the flow's process exiting until the API holds every
task run in a final state: Prefect 3 records task-run states from events in the background, and
the server is far behind the flow. "Until all recorded" is the process plus the catch-up. The
server started (healthy) in {c.secs(started_in)}.

{tab}

- Every task run recorded with its name (`a[N]`, `b[N]`), Completed state and exactly its
  `wait_for` edges, in all {n_runs} runs: **{"yes" if all_right else "NO"}**.
- 503 answers: {n_503} in the server's log (`PREFECT_API_LOG_RETRYABLE_ERRORS=true`) and
  {n_retries} retries by the flow process's HTTP client, over all {n_runs} runs. Prefect 3.9.1's
  SQLite server waits up to 60 s for a lock (`PRAGMA busy_timeout`) before it gives up and
  answers 503, so on this machine the load shows up as the catch-up time rather than as 503s.
  (In one earlier trial run the client did retry three 503s; every task run was recorded then
  too.)
- Resume (on by default) costs {resume_cost * 1000:.1f} ms per instance here: persisting each
  result and looking up each instance's cache key.
- Correctness under load with failures (Failed and blocked instances) is `tests/test_load.py`'s:
  the same graph, 500 instances by default, 2,000 with `PREFECT_CYCLES_LOAD_POINTS=1000`.

Machine: {c.machine()}. 1-minute load average: {start_load:.2f} at start, {load} during the runs.
"""
    if not args.no_docs:
        c.update_docs(NAME, body, (*c.SECTIONS, NAME))
    if not all_right:
        sys.exit("some task runs were missing or wrong: see the table")


if __name__ == "__main__":
    main()
