"""Chains of bounded flow runs ("continue-as-new"): real flow runs on a temporary server.

A cyclic flow with ``max_instances_per_run`` runs as windows, one flow run
each; these tests read the flow runs back from the server, follow results
across windows, and restart chains from their progress record.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path

import pytest
from flowruns import flow_runs_named as flow_runs
from flowruns import task_runs
from ledger import new_ledger, ran
from prefect import task

from prefect_cycles import cyclic_flow, from_graph, stop_cycling
from prefect_cycles.errors import CycleError
from prefect_cycles.graph.unroll import Instance, unroll
from prefect_cycles.run.handover import PREDECESSOR_LABEL, TAG_PREFIX
from prefect_cycles.run.progress_record import ProgressRecord
from prefect_cycles.run.scheduler import Scheduler
from prefect_cycles.run.windows import chained_instances

# -- windows, without Prefect ---------------------------------------------------------------


def test_windows_end_on_point_boundaries_within_the_budget() -> None:
    wf = from_graph({"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}, 1, 20)
    windows = chained_instances(wf, 1, 20, budget=7)
    everything = set(unroll(wf, 1, 20).nodes)
    seen = [i for w in windows for i in w]
    assert len(seen) == len(set(seen)) and set(seen) == everything, "each instance once"
    assert all(len(w) <= 7 for w in windows)
    for before, after in itertools.pairwise(windows):
        assert max(i.point for i in before) < min(i.point for i in after), "whole points"
    assert [len(w) for w in windows][:2] == [7, 6]  # prep, foo, bar at 1; then 3 points of 2


def test_a_point_bigger_than_the_budget_is_a_window_of_its_own() -> None:
    wf = from_graph({"P1": "a & b & c => d"}, 1, 3)
    assert [len(w) for w in chained_instances(wf, 1, 3, budget=2)] == [4, 4, 4]


def test_a_parent_that_did_not_succeed_in_an_earlier_window_blocks_its_child() -> None:
    wf = from_graph({"P1": "a[-P1] => a => b"}, 1, 10)
    sched = Scheduler(wf, 4, 6, origin=1, earlier=lambda inst: None)
    assert sched.ready() == []
    blocked = dict(sched.blocked())
    assert "did not succeed in an earlier flow run" in blocked[Instance("a", 4)]
    ok = Scheduler(wf, 4, 6, origin=1, earlier=lambda inst: True)
    assert [r.instance for r in ok.ready()] == [Instance("a", 4)]


def test_forward_dependencies_and_no_resume_refuse_an_explicit_budget() -> None:
    @task
    def a(point: int) -> None: ...

    @task
    def b(point: int) -> None: ...

    with pytest.raises(CycleError, match="later point"):
        cyclic_flow(a, b, graph={"P1": "a\nb\na[+P1] => b"}, initial=1, max_instances_per_run=10)
    with pytest.raises(CycleError, match="resume=True"):
        cyclic_flow(a, b, graph={"P1": "a => b"}, initial=1, resume=False, max_instances_per_run=9)
    # With the default budget, such a flow simply runs each call as one flow run.
    assert (
        cyclic_flow(a, b, graph={"P1": "a\nb\na[+P1] => b"}, initial=1).max_instances_per_run
        is None
    )


# -- chains on a server -----------------------------------------------------------------------


def _note(line: str) -> None:
    with open(os.environ["CYCLES_LEDGER"], "a") as f:
        f.write(line + "\n")


@task
def setup(point: int) -> int:
    _note(f"ran setup[{point}]")
    return 1000


@task
def total(point: int, previous: int | None = None, setup: int | None = None) -> int:
    """A running sum: each instance adds its point to its parent's value (and setup's)."""
    _note(f"ran total[{point}]")
    if os.path.exists(os.environ["CYCLES_LEDGER"] + f".fail{point}"):
        raise RuntimeError(f"total[{point}] fails on purpose")
    return (previous if previous is not None else setup or 0) + point


@task
def check(point: int, total: int | None = None, setup: int | None = None) -> int:
    """Checks values crossing windows: total[p] = 1000 + 1 + ... + p, setup from window 1."""
    assert setup == 1000, f"setup came as {setup!r}"
    assert total == 1000 + point * (point + 1) // 2, f"total[{point}] came as {total!r}"
    return total


GRAPH = {
    "R1": "setup",
    "P1": """
        total[-P1] => total => check
        setup[^] => total & check
    """,
}


def summing_flow(name: str, storage: Path, budget: int = 6):
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


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return new_ledger(tmp_path, monkeypatch)


@pytest.mark.usefixtures("prefect_server")
def test_a_plain_call_runs_a_chain_and_results_cross_windows(tmp_path: Path, ledger: Path) -> None:
    fl = summing_flow("chain-sum", tmp_path / "results")
    out = fl(stop=12)  # 37 instances, 6 a window: 3 at point 1, then 3 points of 2 each...
    assert out["succeeded"] == 1 + 2 * 12 and out["failed"] == [] and out["blocked"] == []
    runs = flow_runs("chain-sum")
    assert [r.id for r in runs] == [__import__("uuid").UUID(i) for i in out["flow_runs"]]
    assert len(runs) >= 5
    assert [r.name for r in runs][:3] == ["chain-sum[1..2]", "chain-sum[3..5]", "chain-sum[6..8]"]
    assert all(r.state.is_completed() and TAG_PREFIX + "chain-sum" in r.tags for r in runs)
    assert runs[0].labels.get(PREDECESSOR_LABEL) is None
    for before, after in itertools.pairwise(runs):
        assert after.labels[PREDECESSOR_LABEL] == str(before.id)
        assert after.parameters["chain"]["predecessor"] == str(before.id)
    names = [n for r in runs for n in task_runs(r.state)]
    assert sorted(names) == sorted(f"{i.task}[{i.point}]" for i in unroll(fl.workflow, 1, 12))
    assert max(len(task_runs(r.state)) for r in runs) <= 6
    assert sorted(ran(ledger)) == sorted(["setup[1]"] + [f"total[{p}]" for p in range(1, 13)]), (
        "each instance ran once"
    )


@pytest.mark.usefixtures("prefect_server")
def test_a_failure_ends_the_chain_and_a_rerun_continues_at_its_window(
    tmp_path: Path, ledger: Path
) -> None:
    fl = summing_flow("chain-fail", tmp_path / "results")
    flag = Path(f"{ledger}.fail7")
    flag.touch()
    state = fl(stop=12, return_state=True)
    assert state.is_failed()
    assert "total[7]" in state.message and "check[7]" in state.message  # failed, then blocked
    # [1..2], [3..5], [6..8]: the chain stopped there (windows started early, overlapping,
    # waited for it in vain: Cancelled, having run nothing)
    ran_windows = [r for r in flow_runs("chain-fail") if not r.state.is_cancelled()]
    assert len(ran_windows) == 3
    with pytest.raises(Exception, match="total\\[7\\]"):
        fl(stop=12)  # a plain call raises, naming the failure (and tries window 3 again)
    flag.unlink()
    ledger.write_text("")
    out = fl(stop=12)
    assert out["succeeded"] == 6 + 6 + 2  # windows [6..8], [9..11], [12..12]
    runs = flow_runs("chain-fail")
    rerun = [r for r in runs if str(r.id) in out["flow_runs"]]
    assert rerun[0].name == "chain-fail[6..8]", "continued at the window that failed"
    assert not any(p in ran(ledger) for p in ("total[1]", "total[5]", "setup[1]"))
    assert task_runs(rerun[0].state)["total[6]"].state.name == "Cached"


@pytest.mark.usefixtures("prefect_server")
def test_stop_cycling_ends_the_chain_and_a_rerun_replays_only_the_last_window(
    tmp_path: Path, ledger: Path
) -> None:
    @task
    def converge(point: int, previous: float | None = None):
        _note(f"ran converge[{point}]")
        value = (previous or 100.0) / 2
        return stop_cycling(value) if point == 9 else value

    fl = cyclic_flow(
        converge,
        graph={"P1": "converge[-P1] => converge"},
        initial=1,
        name="chain-stop",
        result_storage=tmp_path / "results",
        max_instances_per_run=4,
    )
    out = fl()  # no final point: only stop_cycling ends it
    assert out["stopped_at"] == 9 and out["succeeded"] == 9
    ran_windows = [r for r in flow_runs("chain-stop") if not r.state.is_cancelled()]
    assert [r.name for r in ran_windows] == [  # windows started early in vain: Cancelled
        "chain-stop[1..4]",
        "chain-stop[5..8]",
        "chain-stop[9..12]",
    ]
    ledger.write_text("")
    again = fl(return_state=True)
    assert again.is_completed() and again.result()["stopped_at"] == 9
    assert ran(ledger) == []
    last = [r for r in flow_runs("chain-stop") if not r.state.is_cancelled()][-1]
    assert last.name == "chain-stop[9..12]"
    assert {n: r.state.name for n, r in task_runs(last.state).items()} == {
        f"converge[{p}]": "Cached" for p in (9,)
    }


@pytest.mark.usefixtures("prefect_server")
def test_a_spoiled_progress_record_falls_back_to_looking_up_with_a_warning(
    tmp_path: Path, ledger: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fl = summing_flow("chain-spoiled", tmp_path / "results")
    fl(stop=8)
    record = ProgressRecord(fl.resumer, "1")  # type: ignore[arg-type]
    (tmp_path / "results" / record.key).write_text("not a record")
    ledger.write_text("")
    with caplog.at_level(logging.WARNING, logger="prefect_cycles.chain"):
        out = fl(stop=10)
    assert "progress record" in caplog.text and "could not be read" in caplog.text
    assert ran(ledger) == ["total[9]", "total[10]"]
    assert out["failed"] == [] and out["blocked"] == []


@pytest.mark.usefixtures("prefect_server")
def test_a_later_stop_continues_after_the_last_window_without_replaying_it(
    tmp_path: Path, ledger: Path
) -> None:
    fl = summing_flow("chain-extend", tmp_path / "results")
    first = fl(stop=8)["flow_runs"][-1]
    ledger.write_text("")
    out = fl(stop=12)
    assert out["failed"] == [] and out["blocked"] == []
    runs = [r for r in flow_runs("chain-extend") if str(r.id) in out["flow_runs"]]
    assert [r.name for r in runs] == ["chain-extend[9..11]", "chain-extend[12..12]"]
    assert runs[0].labels[PREDECESSOR_LABEL] == first, "linked to the last run of the last call"
    assert ran(ledger) == [f"total[{p}]" for p in range(9, 13)]
