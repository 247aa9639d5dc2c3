"""A wide workflow for the scale test and benchmark: run in a process of its own.

``python tests/wide_cycles.py --width 2000 --cycles 3 [--variant cyclic|hand]``
runs W tasks per cycle as ONE flow run against the server in ``PREFECT_API_URL``::

    P1 = '''
        end[-P1] => start          # inter-cycle
        start => m1 & ... & mK     # intra-cycle fan-out (K = W - 2)
        mI[-P1] => mI              # inter-cycle, one per member
        m1 & ... & mK => end       # intra-cycle fan-in
    '''

and prints one JSON line: the flow run's id, final state and the call's wall
time. ``hand`` is the baseline: the same task runs hand-unrolled in plain
Prefect (every instance submitted up front with ``wait_for``, the cyclic
flow's task runner). Every task is trivial, so the figures are overhead.
"""

from __future__ import annotations

import argparse
import json
import time

from prefect import Task, flow, task
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from prefect_cycles import cyclic_flow
from prefect_cycles.run.submit import DEFAULT_MAX_WORKERS


def graph(width: int) -> dict[str, str]:
    """The cycle graph of ``width`` tasks per cycle."""
    members = [f"m{i}" for i in range(1, width - 1)]
    lines = ["end[-P1] => start", "start => " + " & ".join(members)]
    lines += [f"{m}[-P1] => {m}" for m in members]
    lines.append(" & ".join(members) + " => end")
    return {"P1": "\n".join(lines)}


def body(point: int) -> None:
    """A trivial task body: the figures measure overhead."""


def tasks(width: int) -> dict[str, Task]:
    names = ["start", "end", *(f"m{i}" for i in range(1, width - 1))]
    return {n: task(name=n, task_run_name=f"{n}[{{point}}]")(body) for n in names}


def cyclic(width: int, cycles: int):
    return cyclic_flow(
        *tasks(width).values(),
        graph=graph(width),
        initial=1,
        final=cycles,
        name=f"wide-{width}",
        resume=False,
    )


def hand(width: int, cycles: int):
    ts = tasks(width)
    members = [ts[f"m{i}"] for i in range(1, width - 1)]

    @flow(name=f"wide-{width}-hand", task_runner=ThreadPoolTaskRunner(DEFAULT_MAX_WORKERS))
    def wide_hand() -> None:
        futures, end, prev = [], None, {}
        for point in range(1, cycles + 1):
            start = ts["start"].submit(point, wait_for=[end] if end else [])
            now = {
                m.name: m.submit(point, wait_for=[start, *([prev[m.name]] if prev else [])])
                for m in members
            }
            end = ts["end"].submit(point, wait_for=list(now.values()))
            futures += [start, *now.values(), end]
            prev = now
        wait(futures)

    return wide_hand


def check(task_runs: list[dict], width: int, cycles: int) -> tuple[int, dict[str, int]]:
    """(task runs exactly right: name, Completed, ``wait_for`` edges; count by state name)."""
    from prefect_cycles import from_graph
    from prefect_cycles.graph.unroll import unroll

    g = unroll(from_graph(graph(width), 1, cycles), 1, cycles)
    want = {f"{i.task}[{i.point}]": i for i in g.nodes}
    names = {r["id"]: r["name"] for r in task_runs}
    states: dict[str, int] = {}
    right = 0
    for r in task_runs:
        states[r["state_name"]] = states.get(r["state_name"], 0) + 1
        inst = want.pop(r["name"], None)
        if inst is None:
            continue
        waits = sorted(names.get(x["id"], "?") for x in r["task_inputs"].get("wait_for", []))
        parents = sorted(f"{p.task}[{p.point}]" for p in g.predecessors(inst))
        right += r["state_name"] == "Completed" and waits == parents
    return right, states


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--variant", choices=("cyclic", "hand"), default="cyclic")
    args = parser.parse_args()
    fl = (cyclic if args.variant == "cyclic" else hand)(args.width, args.cycles)
    t0 = time.perf_counter()
    state = fl(return_state=True)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "flow_run_id": str(state.state_details.flow_run_id),
                "state": state.type.value,
                "message": state.message,
                "seconds": seconds,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
