"""result_serializer="json": a record planted in the result storage is never unpickled.

Prefect decodes a saved record with the serializer the record names, so by
default whoever can write the result storage can run code in the next run
(the first test shows the planted record does run). With the option, results
are plain JSON and a record naming any other serializer is refused, with a
warning naming the file, and its instance runs again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flowruns import log_messages, task_runs
from ledger import note, runs
from prefect import task
from prefect.results import ResultStore
from prefect.serializers import PickleSerializer

from prefect_cycles import cyclic_flow
from prefect_cycles.errors import CycleError

pytestmark = pytest.mark.usefixtures("prefect_server")


class Planted:
    """Unpickling this touches the file named by CYCLES_PLANTED: proof that code ran."""

    def __reduce__(self):
        return (os.system, (f"touch {os.environ['CYCLES_PLANTED']}",))


@task
def value(point: int) -> dict:
    note(f"ran value[{point}]")
    return {"point": point, "squares": [point * point]}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.txt"
    monkeypatch.setenv("CYCLES_LEDGER", str(path))
    monkeypatch.setenv("CYCLES_PLANTED", str(tmp_path / "planted"))
    return path


def plant(store: Path) -> list[Path]:
    """Replace every result record in ``store`` by a pickle record that runs code."""
    evil = ResultStore(serializer=PickleSerializer()).create_result_record(Planted())
    files = [p for p in store.iterdir() if not p.name.startswith(".") and "." not in p.name]
    for path in files:
        path.write_bytes(evil.serialize())
    return files


def values(tmp_path: Path, **options):
    return cyclic_flow(
        value,
        graph={"P1": "value"},
        initial=1,
        final=3,
        name=f"values-{len(options)}",
        result_storage=tmp_path / "results",
        **options,
    )


def test_by_default_a_planted_pickle_record_runs_code(tmp_path: Path, ledger: Path):
    flow = values(tmp_path)
    assert flow(return_state=True).is_completed()
    plant(tmp_path / "results")
    flow(return_state=True)
    assert (tmp_path / "planted").exists()  # why the storage must be trusted: docs/deploying.md


def test_with_json_results_a_planted_record_is_refused_and_run_again(tmp_path: Path, ledger: Path):
    flow = values(tmp_path, result_serializer="json")
    first = flow(return_state=True)
    assert first.is_completed()
    stored = [p for p in (tmp_path / "results").iterdir() if not p.name.startswith(".")]
    assert all(b'"type":"json"' in p.read_bytes().replace(b" ", b"") for p in stored)
    assert set(t.state.name for t in task_runs(flow(return_state=True)).values()) == {"Cached"}

    planted = plant(tmp_path / "results")
    state = flow(return_state=True)
    assert state.is_completed()
    assert not (tmp_path / "planted").exists()  # never unpickled
    got = {n: r.state.name for n, r in task_runs(state).items()}
    assert set(got.values()) == {"Completed"}  # each ran again...
    assert all(runs(ledger)[f"value[{p}]"] == 2 for p in (1, 2, 3))
    messages = log_messages(state)
    for path in planted:
        assert any(f"Refused the result record {path}" in m and "'pickle'" in m for m in messages)
    again = flow(return_state=True)  # ...and its fresh JSON result replaced the planted one
    assert set(t.state.name for t in task_runs(again).values()) == {"Cached"}
    assert again.result()["succeeded"] == 3


def test_only_json_is_offered_as_safe():
    with pytest.raises(CycleError, match="result_serializer 'pickle'"):
        cyclic_flow(value, graph={"P1": "value"}, initial=1, result_serializer="pickle")
