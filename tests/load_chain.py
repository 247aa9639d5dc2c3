"""One big flow run for the load test and benchmark: run in a process of its own.

``python tests/load_chain.py --points 1000 [--variant cyclic|hand] [--fail a:1000,b:500]``
runs ``P1 = "a[-P1] => a => b"`` over points 1..N (2N instances, trivial
tasks) as ONE flow run against the server in ``PREFECT_API_URL``, and prints
one JSON line: the flow run's id and final state, the wall time of the call,
and how many answers Prefect's HTTP client retried (by status code; a 503 is
the server's back-off). ``--fail`` makes the given instances raise, to check
Failed and blocked instances under load too. ``hand`` is the baseline: the
same task runs hand-unrolled in plain Prefect (every instance submitted up
front with ``wait_for``, the cyclic flow's task runner); ``cyclic-no-resume``
is the cyclic flow with ``resume=False`` (no results persisted).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from collections import Counter

from prefect import flow, task
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from prefect_cycles import cyclic_flow
from prefect_cycles.run.flow import DEFAULT_MAX_WORKERS

GRAPH = {"P1": "a[-P1] => a => b"}

#: Instances that raise, from --fail (read here: the tasks run in this process).
FAIL: set[tuple[str, int]] = set()


def _body(name: str, point: int) -> None:
    if (name, point) in FAIL:
        raise RuntimeError(f"{name}[{point}] fails on purpose")


@task(name="a", task_run_name="a[{point}]")
def a(point: int) -> None:
    _body("a", point)


@task(name="b", task_run_name="b[{point}]")
def b(point: int) -> None:
    _body("b", point)


chain = cyclic_flow(a, b, graph=GRAPH, initial=1, name="load-chain")
chain_no_resume = cyclic_flow(
    a, b, graph=GRAPH, initial=1, name="load-chain-no-resume", resume=False
)


@flow(name="load-chain-hand", task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_MAX_WORKERS))
def chain_hand(start: int = 1, stop: int = 1) -> None:
    parent = None
    futures = []
    for point in range(start, stop + 1):
        fa = a.submit(point, wait_for=[parent] if parent else [])
        futures += [fa, b.submit(point, wait_for=[fa])]
        parent = fa
    wait(futures)


VARIANTS = {"cyclic": chain, "cyclic-no-resume": chain_no_resume, "hand": chain_hand}


class RetryCounter(logging.Handler):
    """Counts the retries Prefect's HTTP client logs (at DEBUG) before backing off."""

    CODE = re.compile(r"retryable status code (\d+)")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Encountered retryable exception during request" in message:
            self.counts["exception"] += 1
        elif m := self.CODE.search(message):
            self.counts[m.group(1)] += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, required=True)
    parser.add_argument("--variant", choices=tuple(VARIANTS), default="cyclic")
    parser.add_argument("--fail", default="", help="instances that raise: a:10,b:5")
    args = parser.parse_args()
    for item in filter(None, args.fail.split(",")):
        name, point = item.split(":")
        FAIL.add((name, int(point)))

    counter = RetryCounter()
    client_log = logging.getLogger("prefect.client")
    client_log.addHandler(counter)
    client_log.setLevel(logging.DEBUG)
    client_log.propagate = False  # count them; do not print every debug line

    run = VARIANTS[args.variant]
    t0 = time.perf_counter()
    state = run(start=1, stop=args.points, return_state=True)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "flow_run_id": str(state.state_details.flow_run_id),
                "state": state.type.value,
                "message": state.message,
                "seconds": seconds,
                "client_retries": dict(counter.counts),
                "pid": os.getpid(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
