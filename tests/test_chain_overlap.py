"""Overlapping windows of a chain (run/overlap.py): real flow runs on a temporary server.

The task bodies write a ledger (one line as each starts and ends, in the order
they happen) and wait on handshake files, so the tests prove what ran while
what was running without timing anything: the last instance of a window waits
for an instance of the next window to start, which it only can if the windows
overlap (otherwise the wait gives up after a while and the ledger shows it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flowruns import flow_runs_named as flow_runs
from flowruns import task_runs
from handshake import HANDSHAKE, marker, wait_for
from ledger import note, runs
from prefect import task

from prefect_cycles import cyclic_flow, stop_cycling
from prefect_cycles.graph.unroll import unroll
from prefect_cycles.run import overlap

#: How long a body waits for the next window before giving up (the test then fails).
PATIENCE = 60


@pytest.fixture(autouse=True)
def overlapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Overlap is on by default; these tests keep it on whatever the default."""
    monkeypatch.setattr(overlap, "OVERLAP_WINDOWS", True)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.txt"
    path.touch()
    (tmp_path / "hands").mkdir()
    monkeypatch.setenv("CYCLES_LEDGER", str(path))
    monkeypatch.setenv(HANDSHAKE, str(tmp_path / "hands"))
    return path


def events(ledger: Path) -> list[str]:
    return ledger.read_text().splitlines()


def begin(name: str) -> None:
    note(f"start {name}")
    marker(f"started-{name}").touch()


@task
def foo(point: int, previous: int | None = None) -> int:
    """A running sum across points: foo[p] = 1 + 2 + ... + p."""
    begin(f"foo[{point}]")
    note(f"ran foo[{point}]")
    note(f"end foo[{point}]")
    return (previous or 0) + point


@task
def bar(point: int, foo: int | None = None) -> int:
    """Checks foo's value; at a window's last point, waits for the next window to start."""
    begin(f"bar[{point}]")
    note(f"ran bar[{point}]")
    assert foo == point * (point + 1) // 2, f"foo[{point}] came as {foo!r}"
    if point % 4 == 0 and point < 12:
        wait_for(marker(f"started-baz[{point + 1}]"), PATIENCE)
    note(f"end bar[{point}]")
    return foo


@task
def baz(point: int) -> None:
    begin(f"baz[{point}]")
    note(f"ran baz[{point}]")
    note(f"end baz[{point}]")


@pytest.mark.usefixtures("prefect_server")
def test_the_next_window_starts_while_the_last_one_finishes(tmp_path: Path, ledger: Path) -> None:
    fl = cyclic_flow(
        foo,
        bar,
        baz,
        graph={"P1": "foo[-P1] => foo => bar\nbaz"},
        initial=1,
        name="overlap-seed",
        result_storage=tmp_path / "results",
        max_instances_per_run=12,  # 3 instances a point: windows [1..4], [5..8], [9..12]
    )
    out = fl(stop=12)
    assert out["succeeded"] == 36 and out["failed"] == [] and out["blocked"] == []
    lines = events(ledger)
    for last, nxt in ((4, 5), (8, 9)):
        assert lines.index(f"start baz[{nxt}]") < lines.index(f"end bar[{last}]"), (
            f"window of {nxt} started before bar[{last}] of the window before ended"
        )
    everything = {f"{i.task}[{i.point}]" for i in unroll(fl.workflow, 1, 12)}
    assert runs(ledger) == {name: 1 for name in everything}, "each instance once"
    found = flow_runs("overlap-seed")
    assert [r.name for r in found] == [
        "overlap-seed[1..4]",
        "overlap-seed[5..8]",
        "overlap-seed[9..12]",
    ]
    assert all(r.state.is_completed() for r in found)
    assert max(len(task_runs(r.state)) for r in found) <= 12, "no flow run over its budget"


def assert_started_in_vain(later: list) -> None:
    """Windows started early after the one that ended the chain: Cancelled, no task run."""
    for run in later:
        assert run.state.is_cancelled() and "ran nothing" in run.state.message, run.name
        assert task_runs(run.state) == {}, f"{run.name} ran tasks"


def guarded_flow(name: str, storage: Path, last: object):
    """``foo[-P1] => foo`` and a free ``baz``: foo at a window's last point waits for the
    next window's baz to start, then does ``last`` (fails, or stops the cycling)."""

    @task(name="foo")
    def edge(point: int, previous: int | None = None) -> object:
        begin(f"foo[{point}]")
        note(f"ran foo[{point}]")
        value = (previous or 0) + point
        if point == 4 and os.path.exists(os.environ["CYCLES_LEDGER"] + ".armed"):
            wait_for(marker("started-baz[5]"), PATIENCE)
            if last == "fail":
                raise RuntimeError("foo[4] fails on purpose")
            return stop_cycling(value)
        return value

    return cyclic_flow(
        edge,
        baz,
        graph={"P1": "foo[-P1] => foo\nbaz"},
        initial=1,
        name=name,
        result_storage=storage,
        max_instances_per_run=8,  # 2 instances a point: windows [1..4], [5..8], [9..12]
    )


@pytest.mark.usefixtures("prefect_server")
def test_a_failure_in_the_predecessor_blocks_its_children_and_ends_the_chain(
    tmp_path: Path, ledger: Path
) -> None:
    fl = guarded_flow("overlap-fail", tmp_path / "results", "fail")
    armed = Path(f"{ledger}.armed")
    armed.touch()
    state = fl(stop=12, return_state=True)
    assert state.is_failed() and "foo[4]" in state.message
    found = flow_runs("overlap-fail")
    assert [r.name for r in found][:2] == ["overlap-fail[1..4]", "overlap-fail[5..8]"]
    assert_started_in_vain(found[2:])
    second = found[1]
    assert second.state.is_failed()
    assert "foo[5]" in second.state.message and "did not succeed in an earlier" in (
        second.state.message
    )
    assert "foo[5]" not in runs(ledger), "a child of the failed parent never ran"
    with pytest.raises(Exception, match=r"foo\[4\]"):
        fl(stop=12)  # a plain call raises, naming the failure
    armed.unlink()
    ledger.write_text("")
    out = fl(stop=12)
    assert out["failed"] == [] and out["blocked"] == [] and out["succeeded"] == 8 * 3
    again = runs(ledger)
    assert again["foo[4]"] == 1 and again["foo[12]"] == 1
    assert "baz[5]" not in again and "foo[3]" not in again, (
        "the rerun continued at the window that failed; what completed came back Cached"
    )


@pytest.mark.usefixtures("prefect_server")
def test_stop_cycling_in_the_predecessor_stops_the_overlapping_successor(
    tmp_path: Path, ledger: Path
) -> None:
    fl = guarded_flow("overlap-stop", tmp_path / "results", "stop")
    Path(f"{ledger}.armed").touch()
    out = fl(stop=12)
    assert out["stopped_at"] == 4 and out["failed"] == [] and out["blocked"] == []
    found = flow_runs("overlap-stop")
    assert [r.name for r in found][:2] == ["overlap-stop[1..4]", "overlap-stop[5..8]"]
    assert_started_in_vain(found[2:])
    ran = runs(ledger)
    assert ran["baz[5]"] == 1, "already started when the stop came: it finishes"
    assert not any(f"foo[{p}]" in ran for p in range(5, 13)), "nothing after the stop started"


def test_windows_run_one_after_another_when_overlap_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(overlap, "OVERLAP_WINDOWS", False)
    assert not overlap.can_overlap()
    monkeypatch.setattr(overlap, "OVERLAP_WINDOWS", True)
    assert overlap.can_overlap()
