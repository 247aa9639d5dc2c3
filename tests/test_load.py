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
from pathlib import Path

from faultproxy import FaultProxy
from realserver import PrefectServer, run

from prefect_cycles import from_graph
from prefect_cycles.graph.unroll import unroll

POINTS = int(os.environ.get("PREFECT_CYCLES_LOAD_POINTS", "250"))
FAIL = {f"b[{POINTS - 1}]", f"a[{POINTS}]"}
SCRIPT = Path(__file__).with_name("load_chain.py")


def fail_option(names: set[str]) -> str:
    """load_chain.py's ``--fail`` value for task runs named ``task[point]``."""
    return ",".join(name.replace("[", ":").rstrip("]") for name in sorted(names))


def assert_recorded(
    server: PrefectServer, flow_run_id: str, points: int, failed: set[str], timeout: float
) -> dict[str, str]:
    """Read from the server itself: the flow run Failed, and every instance that ran
    (all but the blocked ``b[points]``) has one task run, with its right state and
    ``wait_for`` edges. Returns task run ids to names."""
    graph = unroll(from_graph({"P1": "a[-P1] => a => b"}, 1, points), 1, points)
    assert graph.number_of_nodes() == 2 * points
    want = {f"{i.task}[{i.point}]": i for i in graph.nodes}
    ran = set(want) - {f"b[{points}]"}

    assert server.wait_flow_run(flow_run_id)["state_type"] == "FAILED"
    runs = server.wait_task_runs(flow_run_id, len(ran), timeout=timeout)
    names = {r["id"]: r["name"] for r in runs}
    assert len(runs) == len(ran) and set(names.values()) == ran, "every task run, none twice"

    states = {r["name"]: r["state_name"] for r in runs}
    assert {n for n, s in states.items() if s != "Completed"} == failed
    assert Counter(states.values()) == {"Completed": len(ran) - len(failed), "Failed": len(failed)}
    for r in runs:
        waits = sorted(names[x["id"]] for x in r["task_inputs"].get("wait_for", []))
        parents = sorted(f"{p.task}[{p.point}]" for p in graph.predecessors(want[r["name"]]))
        assert waits == parents, f"wait_for edges of {r['name']}"
    return names


def test_every_instance_of_a_big_flow_run_is_recorded_right(server: PrefectServer) -> None:
    env = server.client_env(PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING")
    args = ["--points", str(POINTS), "--fail", fail_option(FAIL)]
    out = run([sys.executable, str(SCRIPT), *args], env, timeout=600)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["state"] == "FAILED"
    message = result["message"]
    failed = message.split("failed: ", 1)[1].split(". ", 1)[0]
    assert set(failed.split(", ")) == FAIL, message  # listed in the order they ended
    blocked = message.split("blocked: ", 1)[1].split(". Fix: ", 1)[0]
    assert blocked == f"b[{POINTS}] (waiting for a[{POINTS}]:succeeded)", message

    assert_recorded(server, result["flow_run_id"], POINTS, FAIL, timeout=600)


# -- 503s from a fault-injecting proxy ---------------------------------------------------
#
# The SQLite server waits up to 60 s for its lock before it answers 503, so the
# test above rarely sees one. Here tests/faultproxy.py stands between the flow's
# client and the same real server and answers the first attempt of EVERY HTTP
# request with 503 and a Retry-After header (without forwarding it, as a real
# 503 means the server's transaction was rolled back); the retry goes through.
# Those are all the endpoints the client uses in a run: flows, flow runs and
# their states, logs, admin/version and storage, csrf-token. Prefect's HTTP
# client (prefect/client/base.py) retries 408, 429, 502 and 503 (plus
# PREFECT_CLIENT_RETRY_EXTRA_CODES) up to PREFECT_CLIENT_MAX_RETRIES times (5:
# six attempts), waiting Retry-After (or 2**n s) with up to 20 % jitter; one
# 503 per request is well within that. Beyond it the client gives up and
# raises HTTPStatusError: a flow-run call then fails the run loudly, a log
# batch is dropped (with an error on stderr). Task-run states do not travel
# over HTTP: the flow sends them as events over the /api/events/in websocket,
# which the proxy relays and counts but never refuses. The real server cannot
# answer 503 there (it accepts the socket without touching the database and
# records events in the background); a proxy that refuses the upgrade with 503
# is NOT survived by Prefect 3.9's events client (websockets' InvalidStatus is
# not among its retryable errors): the events worker fails and task runs are
# lost, so that is reported, not tested here.

PROXY_POINTS = 150
PROXY_FAIL = {f"b[{PROXY_POINTS - 1}]", f"a[{PROXY_POINTS}]"}
PROXY_BLOCKED = {f"b[{PROXY_POINTS}]"}


def test_503_answers_under_load_lose_nothing(server: PrefectServer) -> None:
    # Without resume: the test above ran load-chain on this server, and with resume
    # this run would take its instances' persisted results instead of running them.
    only_this_flow = {"flows": {"name": {"any_": ["load-chain-no-resume"]}}}
    flows_before = len(server.filter("flow_runs", only_this_flow))
    with FaultProxy(server.url.removesuffix("/api"), every=1, retry_after="0.5") as proxy:
        env = server.client_env(
            PREFECT_API_URL=proxy.url, PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING"
        )
        args = ["--variant", "cyclic-no-resume", "--points", str(PROXY_POINTS)]
        args += ["--fail", fail_option(PROXY_FAIL)]
        out = run([sys.executable, str(SCRIPT), *args], env, timeout=600)
    result = json.loads(out.stdout.strip().splitlines()[-1])

    # The proxy answered 503 to the first attempt of every request, on every endpoint.
    refused = sum(proxy.refused.values())
    assert refused > 0 and set(proxy.refused) == set(proxy.requests), (
        proxy.refused,
        proxy.requests,
    )
    for used in ("POST /api/flow_runs/", "POST /api/flow_runs/{id}/set_state", "POST /api/logs/"):
        assert proxy.refused[used] >= 1, used
    # ... the client saw them and retried ...
    assert 0 < result["client_retries"].get("503", 0) <= refused, result["client_retries"]
    # ... and nothing the server was sent failed (the csrf-token 422 is a server with
    # CSRF protection off saying so).
    assert set(proxy.errors) <= {("GET /api/csrf-token", 422)}, proxy.errors
    # Task-run states went by the events websocket, through the proxy:
    # at least Pending, Running and a final state for every instance that ran.
    ran = {f"{t}[{p}]" for t in "ab" for p in range(1, PROXY_POINTS + 1)} - PROXY_BLOCKED
    assert proxy.ws_connections["/api/events/in"] >= 1
    assert proxy.ws_messages["/api/events/in"] >= 3 * len(ran), proxy.ws_messages

    # The run ended as it should, once (its creation was refused once and retried) ...
    assert result["state"] == "FAILED", result
    failed = result["message"].split("failed: ", 1)[1].split(". ", 1)[0]
    assert set(failed.split(", ")) == PROXY_FAIL, result["message"]
    after = server.filter("flow_runs", only_this_flow)
    assert len(after) == flows_before + 1
    # ... and the server itself (not through the proxy) holds every task run once,
    # with its right name, state and wait_for edges.
    names = assert_recorded(server, result["flow_run_id"], PROXY_POINTS, PROXY_FAIL, 300)
    # The logs went by POST /api/logs/, refused once per batch: every task run's
    # "Finished in state" line is on the server.
    logs = server.filter(
        "logs", {"logs": {"flow_run_id": {"any_": [result["flow_run_id"]]}}}, "TIMESTAMP_ASC"
    )
    finished = {
        names[log["task_run_id"]]
        for log in logs
        if log["task_run_id"] in names and "Finished in state" in log["message"]
    }
    assert finished == ran
