"""A chain whose initial cycle point is the wall clock's (``now``, ``next(T00)``...).

The point is worked out once, when a chain starts, and carried to every
window as a literal (the ``chain`` parameter's ``initial``); a restart
continues the chain at its original point, as Cylc's restart keeps the
initial point in its database; only a chain that has ended lets the next
call read the clock again. The clock is prefect-cycles' own
(``cycling.wallclock.utc_now_point``), set by the test so that a point
worked out again would show; the flow runs are real, on a temporary server.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from flowruns import flow_runs_named as flow_runs
from flowruns import task_runs
from ledger import new_ledger, ran
from metomi.isodatetime.parsers import TimePointParser
from prefect import task

from prefect_cycles import cyclic_flow
from prefect_cycles.cycling import wallclock

FLOW_CYLC = """\
[scheduling]
    initial cycle point = now
    final cycle point = +PT5H
    [[graph]]
        R1 = "setup"
        PT1H = '''
            total[-PT1H] => total => check
            setup[^] => total & check
        '''
[runtime]
    [[setup, total, check]]
"""


class Clock:
    """The wall clock prefect-cycles reads, set by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = "20300101T0000Z"
        monkeypatch.setattr(wallclock, "utc_now_point", lambda: TimePointParser().parse(self.now))


def _note(line: str) -> None:
    with open(os.environ["CYCLES_LEDGER"], "a") as f:
        f.write(line + "\n")


def _hhmm(point: dt.datetime) -> str:
    return point.strftime("%Y%m%dT%H%MZ")


@task
def setup(point: dt.datetime) -> int:
    _note(f"ran setup[{_hhmm(point)}]")
    return 1000


@task
def total(point: dt.datetime, previous: int | None = None, setup: int | None = None) -> int:
    """Counts the points since the initial one, from setup's 1000 (across windows)."""
    _note(f"ran total[{_hhmm(point)}]")
    if os.path.exists(f"{os.environ['CYCLES_LEDGER']}.fail{_hhmm(point)}"):
        raise RuntimeError(f"total[{_hhmm(point)}] fails on purpose")
    return (previous if previous is not None else setup or 0) + 1


@task
def check(point: dt.datetime, total: int | None = None, setup: int | None = None) -> int:
    assert setup == 1000, f"setup[^] came as {setup!r}"
    assert total is not None and total > 1000, f"total came as {total!r}"
    return total


def wall_clock_flow(tmp_path: Path, name: str, budget: int = 4):
    (tmp_path / "flow.cylc").write_text(FLOW_CYLC)
    return cyclic_flow(
        setup,
        total,
        check,
        cylc=tmp_path,
        name=name,
        result_storage=tmp_path / "results",
        max_instances_per_run=budget,  # 4: [T] (setup, total, check), then 2 points a window
    )


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return new_ledger(tmp_path, monkeypatch)


@pytest.mark.usefixtures("prefect_server")
def test_a_wall_clock_initial_point_is_worked_out_once_and_carried_to_every_window(
    tmp_path: Path, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    fl = wall_clock_flow(tmp_path, "wall-chain")
    clock.now = "20300101T0000Z"
    out = fl()
    assert out["succeeded"] == 1 + 2 * 6 and out["failed"] == [] and out["blocked"] == []
    runs = flow_runs("wall-chain")
    assert [str(r.id) for r in runs] == out["flow_runs"]
    assert [r.name for r in runs] == [
        "wall-chain[20300101T0000Z..20300101T0000Z]",
        "wall-chain[20300101T0100Z..20300101T0200Z]",
        "wall-chain[20300101T0300Z..20300101T0400Z]",
        "wall-chain[20300101T0500Z..20300101T0500Z]",
    ]
    assert {r.parameters["chain"]["initial"] for r in runs} == {"20300101T0000Z"}
    assert all(r.state.is_completed() for r in runs)
    assert fl.result_of("check", "20300101T0500Z") == 1006  # setup[^] and the count crossed
    assert ran(ledger).count("setup[20300101T0000Z]") == 1


@pytest.mark.usefixtures("prefect_server")
def test_a_restart_keeps_the_chains_initial_point_and_a_new_chain_reads_the_clock(
    tmp_path: Path, ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    fl = wall_clock_flow(tmp_path, "wall-restart")
    flag = Path(f"{ledger}.fail20300101T0300Z")
    flag.touch()
    clock.now = "20300101T0000Z"
    state = fl(return_state=True)
    assert state.is_failed() and "total[20300101T0300Z]" in state.message
    runs = flow_runs("wall-restart")
    # the chain stopped in its third window; a fourth started early (windows overlap) in
    # vain ends Cancelled, having run nothing
    assert len([r for r in runs if r.state_name != "Cancelled"]) == 3
    assert len(runs) <= 4

    # Hours later, the chain is restarted: it goes on from its own initial point.
    flag.unlink()
    ledger.write_text("")
    clock.now = "20300101T0730Z"
    out = fl()
    assert out["failed"] == [] and out["succeeded"] == 4 + 2  # windows [T3..T4], [T5]
    again = [r for r in flow_runs("wall-restart") if str(r.id) in out["flow_runs"]]
    assert [r.name for r in again] == [
        "wall-restart[20300101T0300Z..20300101T0400Z]",
        "wall-restart[20300101T0500Z..20300101T0500Z]",
    ]
    assert {r.parameters["chain"]["initial"] for r in again} == {"20300101T0000Z"}
    assert "setup[20300101T0000Z]" not in ran(ledger) and "total[20300101T0000Z]" not in ran(ledger)
    assert task_runs(again[0].state)["check[20300101T0300Z]"].state.is_completed()
    assert fl.result_of("check", "20300101T0500Z") == 1006

    # The chain has ended: the next call starts a new one at the clock's point now.
    ledger.write_text("")
    out = fl()
    new = [r for r in flow_runs("wall-restart") if str(r.id) in out["flow_runs"]]
    assert new[0].name == "wall-restart[20300101T0730Z..20300101T0730Z]"
    assert {r.parameters["chain"]["initial"] for r in new} == {"20300101T0730Z"}
    assert "setup[20300101T0730Z]" in ran(ledger)
    assert out["succeeded"] == 1 + 2 * 6
