"""No two workflows share resume results by accident; an explicit name shares on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flowruns import task_runs
from ledger import note, runs
from prefect import task

from prefect_cycles import cyclic_flow
from prefect_cycles.run.identity import fingerprint
from prefect_cycles.show.sources import load_flow

DATA = Path(__file__).parent / "data" / "identity"


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger.txt"
    monkeypatch.setenv("CYCLES_LEDGER", str(path))
    monkeypatch.setenv("CYCLES_RESULTS", str(tmp_path / "results"))
    return path


@task
def model(point: int) -> int:
    note(f"ran model[{point}]")
    return point


@task
def report(point: int, model: int = 0) -> int:
    note(f"ran report[{point}]")
    return model


def states(state) -> dict[str, str]:
    return {n: r.state.name for n, r in task_runs(state).items()}


@pytest.mark.usefixtures("prefect_server")
def test_two_unrelated_unnamed_workflows_share_nothing(tmp_path: Path, ledger: Path):
    storage = tmp_path / "results"  # one store for both, as Prefect's default would be
    alone = cyclic_flow(model, graph={"P1": "model"}, initial=1, final=3, result_storage=storage)
    chained = cyclic_flow(
        model, report, graph={"P1": "model => report"}, initial=1, final=3, result_storage=storage
    )
    assert alone.name == chained.name == "cyclic-workflow"
    assert alone(return_state=True).is_completed()
    second = chained(return_state=True)
    assert second.is_completed()
    assert "Cached" not in states(second).values()  # its first run runs everything
    assert runs(ledger)["model[1]"] == 2
    assert set(states(alone(return_state=True)).values()) == {"Cached"}  # each resumes itself


@pytest.mark.usefixtures("prefect_server")
def test_the_same_unnamed_file_in_two_places_shares_nothing(tmp_path: Path, ledger: Path):
    flows = []
    for place in ("one", "two"):
        (tmp_path / place).mkdir()
        shutil.copy(DATA / "experiment.py", tmp_path / place / "experiment.py")
        flows.append(load_flow(f"{tmp_path / place / 'experiment.py'}:experiment"))
    assert fingerprint(flows[0].workflow) == fingerprint(flows[1].workflow)
    for fl in flows:
        assert set(states(fl(return_state=True)).values()) == {"Completed"}
    assert runs(ledger)["measure[2]"] == 2


@pytest.mark.usefixtures("prefect_server")
def test_an_explicit_name_shares_on_purpose(tmp_path: Path, ledger: Path):
    storage = tmp_path / "results"
    first = cyclic_flow(
        model, graph={"P1": "model"}, initial=1, final=3, name="shared", result_storage=storage
    )
    assert first(return_state=True).is_completed()
    again = cyclic_flow(
        model,
        report,
        graph={"P1": "model => report"},
        initial=1,
        final=3,
        name="shared",
        result_storage=storage,
    )
    got = states(again(return_state=True))
    assert {n for n, s in got.items() if s == "Cached"} == {"model[1]", "model[2]", "model[3]"}
    assert runs(ledger)["model[1]"] == 1


def test_the_fingerprint_follows_the_graph_not_the_window():
    a = cyclic_flow(model, graph={"P1": "model"}, initial=1, final=3).workflow
    b = cyclic_flow(model, graph={"P1": "model"}, initial=2, final=9, runahead="P1").workflow
    c = cyclic_flow(model, graph={"P2": "model"}, initial=1, final=3).workflow
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)
