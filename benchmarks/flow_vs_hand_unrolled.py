"""Running cyclic flows: prefect-cycles against hand-written Prefect 3 flows.

All flows run against one temporary Prefect server
(``prefect_test_harness``, with ``PREFECT_HOME`` in a temporary directory).
Each flow is run once to warm up, then the variants run in alternating
(rotated) order; a figure is the **median** of the timed runs, each from just
before calling the flow to its return.

(a) The seed workflow, 10 cycles of 0.2 s tasks::

        R1 = "prep => foo"
        P1 = "foo[-P1] => foo => bar"

    run as a ``cyclic_flow`` (decorators, as in examples/seed.py), as a
    hand-unrolled flow (every task submitted up front with ``wait_for``, a
    ``ThreadPoolTaskRunner`` with a worker per task), and as a serial loop
    (prep, then foo and bar called in a for loop); against the critical path
    of 12 task-times (2.4 s).

(b) 1,000 trivial instances: ``P1 = "a[-P1] => a => b"`` over 500 points,
    as a ``cyclic_flow`` (graph string) and hand-unrolled with the same task
    runner (16 threads) and with Prefect's default unbounded one; and the
    scheduler's own cost per instance, driving ``Scheduler`` in-process with
    no Prefect (best of 5).

Run: ``python benchmarks/flow_vs_hand_unrolled.py [--rounds 5] [--no-wait]``
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Before Prefect is imported: a private PREFECT_HOME, and a quiet console
# (task runs still log to the API, as in any real run).
_HOME = tempfile.TemporaryDirectory(prefix="prefect-cycles-bench-home-")
os.environ["PREFECT_HOME"] = _HOME.name
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL", "WARNING")


import _common as c  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.futures import wait  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

from prefect_cycles import cycle, cyclic_flow, from_graph, previous  # noqa: E402
from prefect_cycles.run.flow import DEFAULT_MAX_WORKERS  # noqa: E402
from prefect_cycles.run.scheduler import Scheduler  # noqa: E402

SLEEP = 0.2  # seconds per task in (a)
CYCLES = 10  # points in (a)
CRITICAL_PATH = (CYCLES + 2) * SLEEP  # prep, foo.1..foo.10, bar.10
POINTS_B = 500  # points in (b): two instances each
CHAIN_B = {"P1": "a[-P1] => a => b"}

#: (start, end) of every task body in the current run, for the task span.
SPANS: list[tuple[float, float]] = []


def work(seconds: float) -> None:
    """A task body: sleep, and record when it ran."""
    t0 = time.perf_counter()
    if seconds:
        time.sleep(seconds)
    SPANS.append((t0, time.perf_counter()))


# -- (a) the seed workflow ---------------------------------------------------------


@task(name="prep", task_run_name="prep[{point}]")
def prep(point: int) -> None:
    work(SLEEP)


@task(name="foo", task_run_name="foo[{point}]")
def foo(point: int) -> None:
    work(SLEEP)


@task(name="bar", task_run_name="bar[{point}]")
def bar(point: int) -> None:
    work(SLEEP)


# The cyclic flow's own tasks, as examples/seed.py writes them.
@task(name="prep")
def c_prep(point: int) -> None:
    work(SLEEP)


@cycle("R1", after=c_prep)
@cycle("P1", after=previous())
@task(name="foo")
def c_foo(point: int) -> None:
    work(SLEEP)


@cycle("P1", after=c_foo)
@task(name="bar")
def c_bar(point: int) -> None:
    work(SLEEP)


# resume=False: every timed run must run its tasks (not come back Cached), and
# the hand-written baselines persist no results either.
seed_cyclic = cyclic_flow(
    c_prep, c_foo, c_bar, initial=1, final=CYCLES, name="seed-cyclic", resume=False
)


@flow(name="seed-hand-unrolled", task_runner=ThreadPoolTaskRunner(max_workers=2 * CYCLES + 1))
def seed_hand(n: int = CYCLES) -> None:
    parent = prep.submit(1)
    futures = [parent]
    for point in range(1, n + 1):
        f = foo.submit(point, wait_for=[parent])
        futures += [f, bar.submit(point, wait_for=[f])]
        parent = f
    wait(futures)


@flow(name="seed-serial")
def seed_serial(n: int = CYCLES) -> None:
    prep(1)
    for point in range(1, n + 1):
        foo(point)
        bar(point)


# -- (b) 1,000 trivial instances ---------------------------------------------------


@task(name="a", task_run_name="a[{point}]")
def a(point: int) -> None:
    work(0)


@task(name="b", task_run_name="b[{point}]")
def b(point: int) -> None:
    work(0)


chain_cyclic = cyclic_flow(
    a, b, graph=CHAIN_B, initial=1, final=POINTS_B, name="chain-cyclic", resume=False
)


def hand_chain(n: int = POINTS_B) -> None:
    """a[-P1] => a => b, every instance submitted up front in topological order."""
    parent = None
    futures = []
    for point in range(1, n + 1):
        fa = a.submit(point, wait_for=[parent] if parent else [])
        futures += [fa, b.submit(point, wait_for=[fa])]
        parent = fa
    wait(futures)


chain_hand = flow(
    name="chain-hand-unrolled", task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_MAX_WORKERS)
)(hand_chain)
chain_hand_unbounded = flow(
    name="chain-hand-unrolled-unbounded", task_runner=ThreadPoolTaskRunner()
)(hand_chain)


def drive_scheduler(workflow) -> int:
    """Run the scheduler's protocol as the flow does, with every instance succeeding."""
    sched = Scheduler(workflow)
    count = 0
    while True:
        batch = sched.ready()
        if not batch:
            break
        for item in batch:
            sched.started(item.instance)
            sched.finished(item.instance, True)
        count += len(batch)
    assert sched.finished_everything()
    return count


# -- running -----------------------------------------------------------------------


def _server_cpu() -> float | None:
    """CPU seconds used so far by the temporary server's process (Linux), or None."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer._instances.get(None)
    proc = getattr(server, "server_process", None)
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (AttributeError, OSError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(max_wait: float = 180.0) -> None:
    """Let the previous run's logs and events reach the server, and the server go idle.

    A thousand task runs leave the SQLite server seconds of work; without this
    the next run pays for the previous one (and the server may answer 503).
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=max_wait, at_exit=False)
    EventsWorker.drain_all(timeout=max_wait, at_exit=False)
    deadline = time.monotonic() + max_wait
    before = _server_cpu()
    while before is not None and time.monotonic() < deadline:
        time.sleep(0.5)
        now = _server_cpu()
        if now is None or now - before < 0.02:
            break
        before = now


#: Responses the Prefect client retries after a back-off (2 s for the first retry,
#: then 4 s, 8 s...): the stall that split earlier rounds into two groups 2 s apart.
RETRIED = {408, 429, 502, 503}
RETRIES = [0]


def _count_retries() -> None:
    """Count the API responses the client will retry (the server was busy: SQLite)."""
    import httpx

    send = httpx.Client.send

    def counted(self: httpx.Client, request: httpx.Request, *args: object, **kw: object):
        response = send(self, request, *args, **kw)
        if response.status_code in RETRIED:
            RETRIES[0] += 1
        return response

    httpx.Client.send = counted  # type: ignore[method-assign]


def timed_run(fn: Callable[..., object], kwargs: dict) -> tuple[float, float, float, int]:
    """The flow's duration as its caller sees it, the span of its task bodies, the flow
    process's CPU seconds, and how many API responses the client had to retry."""
    settle()
    SPANS.clear()
    RETRIES[0] = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    state = fn(return_state=True, **kwargs)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if not state.is_completed():
        sys.exit(f"{fn.name} ended {state.name}: {state.message}")
    span = max(e for _, e in SPANS) - min(s for s, _ in SPANS)
    return elapsed, span, cpu, RETRIES[0]


def rounds(
    variants: dict[str, tuple[Callable, dict]], n: int, load: c.Load, slow: float
) -> dict[str, list[tuple[float, float, float, int]]]:
    """Warm each variant up once, then ``n`` rounds in rotated order.

    A variant whose warm-up took over ``slow`` seconds is not repeated: its
    warm-up run is its only figure (the table says "1 run").
    """
    warm = {}
    for name, (fn, kwargs) in variants.items():
        warm[name] = timed_run(fn, kwargs)
        print(f"  warm-up: {name} {warm[name][0]:.2f} s", flush=True)
    times: dict[str, list[tuple[float, float, float, int]]] = {k: [] for k in variants}
    names = [k for k in variants if warm[k][0] <= slow]
    for k in variants:
        if k not in names:
            times[k] = [warm[k]]
            print(f"  {k} took over {slow:.0f} s: its warm-up run is its only figure")
    for i in range(n if names else 0):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            fn, kwargs = variants[name]
            times[name].append(timed_run(fn, kwargs))
        load.sample()
        line = ", ".join(f"{k} {times[k][-1][0]:.2f} s" for k in names)
        print(f"  round {i + 1}/{n}: {line}", flush=True)
    return times


def spread(runs: list[tuple[float, float, float, int]]) -> str:
    ts = [r[0] for r in runs]
    return "1 run" if len(ts) == 1 else f"{c.secs(min(ts))}-{c.secs(max(ts))}"


def medians(
    times: dict[str, list[tuple[float, float, float, int]]],
) -> dict[str, tuple[float, float, float, int]]:
    """Median flow duration, task span and CPU time of each variant, and its retries in all."""
    return {
        k: (
            c.median([r[0] for r in v]),
            c.median([r[1] for r in v]),
            c.median([r[2] for r in v]),
            sum(r[3] for r in v),
        )
        for k, v in times.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="timed runs per variant; median kept")
    ap.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    ap.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    ap.add_argument(
        "--slow",
        type=float,
        default=60.0,
        help="a variant whose warm-up takes longer (seconds) is reported from that one run",
    )
    args = ap.parse_args()
    # A plain kill still stops the temporary server (the harness exits cleanly).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    load = c.Load()
    start_load = None if args.no_wait else c.wait_for_quiet()
    print(f"machine: {c.machine()}", flush=True)

    # The scheduler alone, before Prefect runs anything.
    wf_b = from_graph(CHAIN_B, 1, POINTS_B, name="chain")
    instances = drive_scheduler(wf_b)
    assert instances == 2 * POINTS_B
    sched_time = c.best(c.measure(lambda: drive_scheduler(wf_b), 5))

    _count_retries()
    # A loaded machine may start the temporary server slowly (the default waits 30 s).
    with prefect_test_harness(server_startup_timeout=600):
        load.sample()
        print("(a) seed workflow, 10 cycles of 0.2 s tasks", flush=True)
        ta = rounds(
            {
                "cyclic_flow": (seed_cyclic, {}),
                "hand-unrolled": (seed_hand, {}),
                "serial loop": (seed_serial, {}),
            },
            args.rounds,
            load,
            args.slow,
        )
        print(f"(b) {instances:,} trivial instances", flush=True)
        tb = rounds(
            {
                "cyclic_flow": (chain_cyclic, {}),
                "hand-unrolled": (chain_hand, {}),
                "hand-unrolled, unbounded": (chain_hand_unbounded, {}),
            },
            args.rounds,
            load,
            args.slow,
        )
        settle()  # so the server is not stopped mid-write

    med_a, med_b = medians(ta), medians(tb)
    cyc_a, hand_a = med_a["cyclic_flow"][0], med_a["hand-unrolled"][0]
    rows_a = [
        [
            k,
            c.secs(med_a[k][0]),
            spread(ta[k]),
            c.ratio(med_a[k][0], hand_a),
            c.ratio(med_a[k][0], CRITICAL_PATH),
            c.secs(med_a[k][1]),
            c.ratio(med_a[k][1], CRITICAL_PATH),
            str(med_a[k][3]),
        ]
        for k in ta
    ]
    rows_a.append(
        ["critical path (12 x 0.2 s)", c.secs(CRITICAL_PATH), "-", "-", "1.00x", "-", "-", "-"]
    )
    table_a = c.table(
        [
            "variant",
            "flow (median)",
            "range",
            "/ hand-unrolled",
            "/ critical path",
            "task span (median)",
            "span / critical path",
            "retried API calls (all runs)",
        ],
        rows_a,
    )

    hand_b, hand_cpu = med_b["hand-unrolled"][0], med_b["hand-unrolled"][2]
    rows_b = [
        [
            k,
            c.secs(med_b[k][0]),
            spread(tb[k]),
            c.ratio(med_b[k][0], hand_b),
            f"{med_b[k][0] / instances * 1000:.2f} ms",
            c.secs(med_b[k][1]),
            c.secs(med_b[k][2]),
            c.ratio(med_b[k][2], hand_cpu),
            str(med_b[k][3]),
        ]
        for k in tb
    ]
    rows_b.append(
        [
            "Scheduler alone, no Prefect (best of 5)",
            c.secs(sched_time),
            "-",
            c.ratio(sched_time, hand_b),
            f"{sched_time / instances * 1e6:.1f} µs",
            "-",
            c.secs(sched_time),
            c.ratio(sched_time, hand_cpu),
            "-",
        ]
    )
    table_b = c.table(
        [
            "variant",
            "flow (median)",
            "range",
            "/ hand-unrolled (16 threads)",
            "per instance",
            "task span (median)",
            "flow process CPU (median)",
            "CPU / hand-unrolled",
            "retried API calls (all runs)",
        ],
        rows_b,
    )

    cyc_b = med_b["cyclic_flow"][0]
    targets = [
        f"- (a) at most 1.03x hand-unrolled: **{cyc_a / hand_a:.3f}x**, "
        f"{'met' if cyc_a <= 1.03 * hand_a else 'NOT met'}.",
        f"- (a) at most 1.10x the critical path: **{cyc_a / CRITICAL_PATH:.3f}x**, "
        f"{'met' if cyc_a <= 1.10 * CRITICAL_PATH else 'NOT met'} (hand-unrolled: "
        f"{hand_a / CRITICAL_PATH:.3f}x, so the gap is Prefect's fixed cost per flow run); "
        f"task span at most 1.05x the critical path: "
        f"**{med_a['cyclic_flow'][1] / CRITICAL_PATH:.3f}x**, "
        f"{'met' if med_a['cyclic_flow'][1] <= 1.05 * CRITICAL_PATH else 'NOT met'}.",
        f"- (b) at most 0.95x hand-unrolled: **{cyc_b / hand_b:.3f}x**, "
        f"{'met' if cyc_b <= 0.95 * hand_b else 'NOT met'}; in flow-process CPU time "
        f"(less disturbed by other load) **{med_b['cyclic_flow'][2] / hand_cpu:.3f}x**.",
        "- API calls the client retried (it backs off 2 s, then 4 s, when a busy server "
        "answers 503), over all rounds: (a) "
        + ", ".join(f"{k} {v[3]}" for k, v in med_a.items())
        + "; (b) "
        + ", ".join(f"{k} {v[3]}" for k, v in med_b.items())
        + ".",
        f"- Scheduler cost: {sched_time / instances * 1e6:.1f} µs per instance, "
        f"{sched_time / cyc_b * 100:.1f}% of the cyclic flow's time.",
    ]
    load_text = str(load) if start_load is None else f"{start_load:.2f} at start, {load}"
    body = "\n\n".join(
        [
            "## Running: `cyclic_flow` against hand-written Prefect flows",
            "`python benchmarks/flow_vs_hand_unrolled.py`: one temporary Prefect server "
            "(`prefect_test_harness`); every flow is run once to warm up, then "
            f"{args.rounds} rounds with the variants in rotated order. Times are the "
            f"**median of {args.rounds}** runs, from just before calling the flow to its "
            "return (flow-run creation and teardown included); the range is min-max. The "
            "task span runs from the first task body's start to the last one's end, "
            "without the flow's fixed overhead. A variant whose warm-up took over "
            f"{args.slow:.0f} s is not repeated: "
            'its warm-up is its only figure ("1 run").',
            "(a) The seed workflow, 10 cycles of 0.2 s tasks. Hand-unrolled: every task "
            "submitted up front with `wait_for`, a `ThreadPoolTaskRunner` with a worker "
            "per task (21). Serial loop: prep, then foo and bar called in a for loop.",
            table_a,
            f'(b) {instances:,} trivial instances: `P1 = "a[-P1] => a => b"` over '
            f"{POINTS_B} points (critical path: 501 instances). Hand-unrolled: every "
            "instance submitted up front in topological order with `wait_for`, with the "
            f"cyclic flow's own runner (`ThreadPoolTaskRunner({DEFAULT_MAX_WORKERS})`) and "
            "with Prefect's default (unbounded) one. The scheduler row drives "
            "`Scheduler.ready()/started()/finished()` in-process for the same graph. "
            "CPU is the flow process's own CPU time (`time.process_time()`, the server's "
            "process not included): on a shared machine it moves less than wall time. "
            "Retried API calls count the responses (408/429/502/503) the Prefect client "
            "retried after a back-off of 2 s or more: a round with one is a round 2 s slower.",
            table_b,
            "\n".join(targets),
            f"Machine: {c.machine()}. 1-minute load average: {load_text}.",
        ]
    )
    print()
    print(table_a)
    print()
    print(table_b)
    print()
    print("\n".join(targets))
    print(f"load average: {load_text}")
    if not args.no_docs:
        c.update_docs("flow_vs_hand_unrolled", body, c.SECTIONS)
        print(f"updated {c.DOCS.relative_to(c.REPO_ROOT)}")


if __name__ == "__main__":
    main()
