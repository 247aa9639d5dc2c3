"""A chained campaign for the real-server tests and benchmarks: run in a process of its own.

``python tests/chain_campaign.py --stop 12 --budget 6 --storage DIR --ledger FILE
[--slow 7:30] [--name NAME]`` runs ``setup[^] => total[-P1] => total => check``
(``total`` is a running sum, ``check`` asserts it, so results crossing windows
are checked by the tasks themselves) as a chain of flow runs against the server
in ``PREFECT_API_URL``, and prints one JSON line: the chain's outcome. Task
bodies append ``start X`` and ``done X`` lines to the ledger; ``--slow P:S``
makes ``total[P]`` sleep S seconds mid-body, so a test can kill the process there.
:func:`build` makes the same flow for a deployment's flows file (tests/test_chain_realserver.py).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from prefect import task

from prefect_cycles import cyclic_flow

SLOW: dict[int, float] = {}


def note(line: str) -> None:
    with open(os.environ["CYCLES_LEDGER"], "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


@task
def setup(point: int) -> int:
    note(f"start setup[{point}]")
    note(f"done setup[{point}]")
    return 1000


@task
def total(point: int, previous: int | None = None, setup: int | None = None) -> int:
    note(f"start total[{point}]")
    if point in SLOW:
        time.sleep(SLOW[point])
    value = (previous if previous is not None else setup or 0) + point
    note(f"done total[{point}]")
    return value


@task
def check(point: int, total: int | None = None, setup: int | None = None) -> int:
    note(f"start check[{point}]")
    assert setup == 1000, f"setup came as {setup!r}"
    assert total == 1000 + point * (point + 1) // 2, f"total[{point}] came as {total!r}"
    note(f"done check[{point}]")
    return total


GRAPH = {
    "R1": "setup",
    "P1": """
        total[-P1] => total => check
        setup[^] => total & check
    """,
}


def build(name: str, storage: str, budget: int, ledger: str, slow: str = "") -> Any:
    """The campaign as a cyclic flow; ``slow`` is ``P:S,...`` (``total[P]`` sleeps S s)."""
    os.environ["CYCLES_LEDGER"] = ledger
    for item in filter(None, slow.split(",")):
        point, seconds = item.split(":")
        SLOW[int(point)] = float(seconds)
    return cyclic_flow(
        setup,
        total,
        check,
        graph=GRAPH,
        initial=1,
        name=name,
        result_storage=storage,
        max_instances_per_run=budget,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="campaign")
    ap.add_argument("--stop", type=int, default=12)
    ap.add_argument("--budget", type=int, default=6)
    ap.add_argument("--storage", required=True)
    ap.add_argument("--ledger", required=True)
    ap.add_argument("--slow", default="")
    args = ap.parse_args()
    fl = build(args.name, args.storage, args.budget, args.ledger, args.slow)
    t0 = time.monotonic()
    state = fl(stop=args.stop, return_state=True)
    out = state.result(raise_on_failure=False) if state.is_completed() else {}
    print(
        json.dumps(
            {
                "state": state.type.value,
                "message": state.message,
                "seconds": round(time.monotonic() - t0, 2),
                **(out if isinstance(out, dict) else {}),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
