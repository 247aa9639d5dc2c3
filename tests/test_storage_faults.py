"""A result store that is full, read-only or holds bad records: told, cleaned up, run again.

The full and read-only stores are real file systems (a tiny tmpfs, remounted
read-only), so these tests need root; they are skipped without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowruns import log_messages, task_runs
from ledger import note, runs
from prefect import task
from prefect.results import ResultRecord
from prefect.settings import PREFECT_API_URL

from prefect_cycles import cyclic_flow

pytestmark = pytest.mark.usefixtures("prefect_server")

#: Bytes in each result: three fit in the tiny store, the rest do not.
SIZE = 15_000


@task
def big(point: int) -> bytes:
    note(f"ran big[{point}]")
    return bytes([point]) * SIZE


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.txt"
    monkeypatch.setenv("CYCLES_LEDGER", str(path))
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a result store that fills up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "tiny"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def records(store: Path) -> dict[Path, object]:
    """Every file in the store but the lock directory, with the result it holds (or None)."""
    out: dict[Path, object] = {}
    for path in store.iterdir():
        if path.name.startswith("."):
            continue
        try:
            out[path] = ResultRecord.deserialize(path.read_bytes()).result
        except Exception:
            out[path] = None
    return out


def bigs(store: Path, **options):
    return cyclic_flow(
        big,
        graph={"P1": "big"},
        initial=1,
        final=6,
        runahead="P0",
        name="big-results",
        result_storage=store,
        **options,
    )


def test_a_full_store_names_the_cause_leaves_no_partial_files_and_lists_the_unsaved(
    tiny: Path, ledger: Path
):
    store = tiny / "results"
    state = bigs(store)(return_state=True)
    assert state.is_completed()  # the work is done; what a rerun repeats is told
    summary = state.result()
    unsaved = summary["unsaved"]
    assert unsaved and len(unsaved) < 6
    assert "ENOSPC" in state.message and ", ".join(unsaved) in state.message
    kept = records(store)
    assert None not in kept.values()  # no empty or truncated record left behind
    assert len(kept) == 6 - len(unsaved)
    warnings = [m for m in log_messages(state) if "could not be saved" in m]
    assert any("No space left on device" in m and "free space" in m for m in warnings)
    assert not any("serializer" in m for m in warnings)

    subprocess.run(["mount", "-o", "remount,size=1m", str(tiny)], check=True)  # the fix
    again = bigs(store)(return_state=True)
    assert again.is_completed() and again.result()["unsaved"] == []
    got = {n: r.state.name for n, r in task_runs(again).items()}
    assert {n for n, s in got.items() if s == "Completed"} == set(unsaved)
    assert all(runs(ledger)[n] == 2 for n in unsaved)


def test_a_read_only_store_names_the_cause(tiny: Path, ledger: Path):
    store = tiny / "results"
    store.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny)], check=True)
    state = bigs(store)(return_state=True)
    assert state.is_completed()
    assert state.result()["unsaved"] == [f"big[{p}]" for p in range(1, 7)]
    assert "EROFS" in state.message
    messages = log_messages(state)
    assert any("mount the result storage read-write" in m for m in messages)
    assert any("Run-once locks cannot be written" in m for m in messages)


def test_a_corrupt_record_is_a_warning_naming_it_and_its_instance_runs_again(
    tmp_path: Path, ledger: Path
):
    store = tmp_path / "results"
    flow = bigs(store)
    assert flow(return_state=True).is_completed()
    by_point = {value[0]: path for path, value in records(store).items()}
    truncated, garbage = by_point[2], by_point[5]
    truncated.write_bytes(truncated.read_bytes()[:100])
    garbage.write_bytes(b"\x00not a result record\xff")

    state = flow(return_state=True)
    assert state.is_completed()
    got = {n: r.state.name for n, r in task_runs(state).items()}
    assert {n for n, s in got.items() if s == "Completed"} == {"big[2]", "big[5]"}
    assert runs(ledger)["big[2]"] == 2 and runs(ledger)["big[5]"] == 2
    messages = log_messages(state)
    for name, path in (("big[2]", truncated), ("big[5]", garbage)):
        assert any(m.startswith(f"{name} had a saved result in {path}") for m in messages)
    assert records(store)[truncated] == bytes([2]) * SIZE  # replaced by the fresh result
    assert set(t.state.name for t in task_runs(flow(return_state=True)).values()) == {"Cached"}


def test_the_run_command_says_which_results_were_not_saved_and_why(tiny: Path):
    """``prefect-cycles run`` ends 0 (the work is done) and its final view names the cause."""
    env = dict(
        os.environ,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        CYCLES_RESULTS=str(tiny / "results"),
    )
    source = f"{Path(__file__).parent / 'data' / 'faults' / 'bigs.py'}:bigs"
    out = subprocess.run(
        [sys.executable, "-m", "prefect_cycles", "run", source, "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    view = " ".join(out.stdout.split())
    assert "Flow run Completed" in view
    assert "results could not be saved (OSError [ENOSPC]" in view and "big[6]" in view
