"""Load: thousands of instances in one flow run through a real ``prefect server start``.

``P1 = "a[-P1] => a => b"`` over points 1..N runs as one flow run, in a
process of its own (tests/load_chain.py), against a fresh server (own
PREFECT_HOME, SQLite, free port). Two instances fail on purpose at the end
(``b[N-1]``, a leaf, and ``a[N]``, whose child ``b[N]`` is then blocked), so
the final states under load are checked for every kind of outcome.

N is 250 (500 instances) by default, to keep the suite quick: on the shared
2-core machine the server took minutes to record 2,000 task runs (see
docs/benchmarks.md). ``PREFECT_CYCLES_LOAD_POINTS=1000`` runs the issue's
2,000 instances; that passed too, in 4 min 39 s at a load average of 6. The
server answers 503 when SQLite is busy and Prefect's client retries; whatever
it answered, the API must end up holding every task run with its right name,
state and ``wait_for`` edges. The figures (time per instance against plain
Prefect, the server's catch-up time, 503s) are benchmarks/load_real_server.py's.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from realserver import PrefectServer, run

from prefect_cycles import from_graph
from prefect_cycles.unroll import unroll

POINTS = int(os.environ.get("PREFECT_CYCLES_LOAD_POINTS", "250"))
FAIL = {f"b[{POINTS - 1}]", f"a[{POINTS}]"}
BLOCKED = {f"b[{POINTS}]"}
SCRIPT = Path(__file__).with_name("load_chain.py")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with PrefectServer(tmp_path_factory.mktemp("load-server")) as srv:
        yield srv


def test_every_instance_of_a_big_flow_run_is_recorded_right(server: PrefectServer) -> None:
    env = server.client_env(PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING")
    fail = ",".join(name.replace("[", ":").rstrip("]") for name in sorted(FAIL))
    out = run(
        [sys.executable, str(SCRIPT), "--points", str(POINTS), "--fail", fail], env, timeout=600
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["state"] == "FAILED"
    message = result["message"]
    failed = message.split("failed: ", 1)[1].split(". ", 1)[0]
    assert set(failed.split(", ")) == FAIL, message  # listed in the order they ended
    assert message.endswith(f"blocked: b[{POINTS}] (waiting for a[{POINTS}]:succeeded)"), message

    graph = unroll(from_graph({"P1": "a[-P1] => a => b"}, 1, POINTS), 1, POINTS)
    assert graph.number_of_nodes() == 2 * POINTS
    want = {f"{i.task}[{i.point}]": i for i in graph.nodes}
    ran = set(want) - BLOCKED

    fr = server.wait_flow_run(result["flow_run_id"])
    assert fr["state_type"] == "FAILED"
    runs = server.wait_task_runs(result["flow_run_id"], len(ran), timeout=600)
    names = {r["id"]: r["name"] for r in runs}
    assert len(runs) == len(ran) and set(names.values()) == ran, "every task run, none twice"

    states = {r["name"]: r["state_name"] for r in runs}
    assert {n for n, s in states.items() if s != "Completed"} == FAIL
    assert Counter(states.values()) == {"Completed": len(ran) - len(FAIL), "Failed": len(FAIL)}
    for r in runs:
        waits = sorted(names[x["id"]] for x in r["task_inputs"].get("wait_for", []))
        parents = sorted(f"{p.task}[{p.point}]" for p in graph.predecessors(want[r["name"]]))
        assert waits == parents, f"wait_for edges of {r['name']}"
