"""Outputs and reruns across the windows of a chain: real flow runs on a temporary server.

A parent in an earlier window is read back from result storage: its optional
outcome (``a[-P1]:fail? => recover``) and its custom outputs (``a[-P1]:out1 =>
b``) count as within one window; a parent whose required output failed still
blocks its children; a rerun refreshes what is downstream of the chosen
instances in every later window too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flowruns import flow_runs_named as flow_runs
from flowruns import task_runs
from ledger import new_ledger, ran
from prefect import task

from prefect_cycles import cyclic_flow, emit_output, from_graph
from prefect_cycles.graph.unroll import Instance
from prefect_cycles.run.scheduler import Scheduler


def _note(line: str) -> None:
    with open(os.environ["CYCLES_LEDGER"], "a") as f:
        f.write(line + "\n")


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return new_ledger(tmp_path, monkeypatch)


@task
def flaky(point: int) -> int:
    """Fails at the points named by flag files beside the ledger."""
    _note(f"ran flaky[{point}]")
    if os.path.exists(os.environ["CYCLES_LEDGER"] + f".fail{point}"):
        raise RuntimeError(f"flaky[{point}] fails on purpose")
    return point


@task
def recover(point: int) -> None:
    _note(f"ran recover[{point}]")


@task
def after(point: int) -> None:
    _note(f"ran after[{point}]")


@pytest.mark.usefixtures("prefect_server")
def test_an_optional_failure_in_an_earlier_window_triggers_its_recovery(
    tmp_path: Path, ledger: Path
) -> None:
    # Three instances a point, budget 3: one point a window. flaky[3] fails (optionally) in
    # window [3..3]; recover[4], in the next window, waits for that failure.
    Path(f"{ledger}.fail3").touch()
    fl = cyclic_flow(
        flaky,
        recover,
        after,
        graph={"P1": "flaky?\nflaky[-P1]:fail? => recover\nflaky[-P1]? => after"},
        initial=1,
        name="chain-optional",
        result_storage=tmp_path / "results",
        max_instances_per_run=3,
    )
    assert fl.max_instances_per_run == 3
    out = fl(stop=6)
    assert out["failed"] == [] and out["blocked"] == []
    runs = flow_runs("chain-optional")
    assert [r.name for r in runs][2:4] == ["chain-optional[3..3]", "chain-optional[4..4]"]
    assert "recover[4]" in ran(ledger), "flaky[3]'s failure, a window earlier, released it"
    # recover[1] runs too: its parent lies before the initial point, so the edge is dropped
    recovered = sorted(n for n in ran(ledger) if n.startswith("recover["))
    assert recovered == ["recover[1]", "recover[4]"]
    assert "after[4]" not in ran(ledger), "the success branch of flaky[3] is skipped"
    assert task_runs(runs[3].state)["recover[4]"].state.is_completed()


def test_outputs_of_an_earlier_window_count_and_a_required_failure_still_blocks() -> None:
    wf = from_graph({"P1": "a?\na[-P1]:fail? => r\nb[-P1] => b"}, 1, 10)
    failed = frozenset({"submitted", "started", "failed", "finished"})
    sched = Scheduler(wf, 4, 4, origin=1, earlier=lambda inst: failed)
    ready = {r.instance for r in sched.ready()}
    assert Instance("r", 4) in ready, "an optional failure in an earlier window releases r"
    assert Instance("b", 4) not in ready, "b[3] failed, and b's success is required"
    blocked = dict(sched.blocked())
    assert "did not succeed in an earlier flow run" in blocked[Instance("b", 4)]


@task
def half(point: int) -> None:
    _note(f"ran half[{point}]")
    emit_output("out1")


@task
def reader(point: int) -> None:
    _note(f"ran reader[{point}]")


@pytest.mark.usefixtures("prefect_server")
def test_a_custom_output_in_an_earlier_window_triggers_its_children(
    tmp_path: Path, ledger: Path
) -> None:
    fl = cyclic_flow(
        half,
        reader,
        graph={"P1": "half\nhalf[-P1]:out1 => reader"},
        outputs={"half": ["out1"]},
        initial=1,
        name="chain-custom",
        result_storage=tmp_path / "results",
        max_instances_per_run=4,
    )
    out = fl(stop=6)
    assert out["blocked"] == [] and out["never_run"] == [] and out["failed"] == []
    runs = flow_runs("chain-custom")
    assert len(runs) >= 2
    assert sorted(n for n in ran(ledger) if n.startswith("reader")) == [
        f"reader[{p}]" for p in range(1, 7)
    ], "each reader ran, those whose parent was in the previous window too"


@task
def total(point: int, previous: int | None = None) -> int:
    _note(f"ran total[{point}]")
    return (previous or 0) + point


@pytest.mark.usefixtures("prefect_server")
def test_a_rerun_refreshes_downstream_across_window_boundaries(
    tmp_path: Path, ledger: Path
) -> None:
    fl = cyclic_flow(
        total,
        graph={"P1": "total[-P1] => total"},
        initial=1,
        name="chain-rerun",
        result_storage=tmp_path / "results",
        max_instances_per_run=2,
    )
    assert fl(stop=8)["succeeded"] == 8
    ledger.write_text("")
    out = fl(stop=8, rerun="total[3]")
    assert out["failed"] == [] and out["blocked"] == []
    assert sorted(ran(ledger)) == sorted(f"total[{p}]" for p in range(3, 9)), (
        "total[3] and everything downstream of it, in its window and the later ones"
    )
    ledger.write_text("")
    fl(stop=8)
    assert ran(ledger) == [], "the refreshed results stand"
