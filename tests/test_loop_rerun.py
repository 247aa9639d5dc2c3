"""Re-running a loop-until workflow that already stopped restores the same instances and runs
nothing, every time (examples/loop_until.py, with work beside the loop).

In the first run ``slow`` is slow, so when ``count[3]`` stops the cycling the
later ``slow`` instances are still running and their ``after`` children have
not started. A rerun finds every ``slow`` result at once; without knowing where
the cycling stopped it would start those children, which never ran before.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from flowruns import task_runs
from ledger import note, runs
from prefect import task

from prefect_cycles import cyclic_flow, stop_cycling

pytestmark = pytest.mark.usefixtures("prefect_server")


@task
def count(point: int, previous: int = 0):
    note(f"ran count[{point}]")
    value = previous + 1
    return stop_cycling(value) if value == 3 else value


@task
def slow(point: int) -> int:
    if Path(os.environ["CYCLES_LEDGER"] + ".slow").exists():
        time.sleep(1.5)
    note(f"ran slow[{point}]")
    return point


@task
def after(point: int, slow: int = 0) -> int:
    note(f"ran after[{point}]")
    return slow


def test_a_rerun_of_a_stopped_loop_restores_the_same_instances_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ledger = tmp_path / "ledger.txt"
    monkeypatch.setenv("CYCLES_LEDGER", str(ledger))
    loop = cyclic_flow(
        count,
        slow,
        after,
        graph={"P1": "count[-P1] => count\nslow => after"},
        initial=1,  # no final point: the loop ends when count says so
        name="stopped-loop",
        result_storage=tmp_path / "results",
    )
    slow_flag = Path(f"{ledger}.slow")
    slow_flag.touch()
    first = loop(return_state=True)
    assert first.is_completed(), first.message
    assert first.result()["stopped_at"] == 3
    first_runs = runs(ledger)
    assert {f"{t}[{p}]" for t in ("count", "slow", "after") for p in (1, 2, 3)} <= set(first_runs)
    slow_flag.unlink()

    restored = []
    for _ in range(2):
        state = loop(return_state=True)
        assert state.is_completed(), state.message
        assert state.result()["stopped_at"] == 3
        assert runs(ledger) == first_runs  # nothing ran again
        got = {n: r.state.name for n, r in task_runs(state).items()}
        assert set(got.values()) == {"Cached"}
        restored.append(set(got))
    expected = {f"{t}[{p}]" for t in ("count", "slow", "after") for p in (1, 2, 3)}
    assert restored == [expected, expected]
