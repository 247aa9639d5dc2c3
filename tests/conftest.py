"""Shared fixtures: a temporary Prefect server (prefect_test_harness) for the session, and one
real ``prefect server start`` shared by the slow real-server tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from realserver import PrefectServer

# Keep Prefect's home (settings, local database) out of the user's ~/.prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-cycles-tests-"))


@pytest.fixture(scope="session")
def prefect_server():
    """A temporary Prefect server and database (prefect_test_harness) for the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """One real ``prefect server start`` (own PREFECT_HOME, SQLite, free port) for every test
    that asks for it: starting one takes 10-40 s on a loaded machine, so it is started once.

    Tests sharing it keep apart by names: each uses flow, deployment and work pool names of
    its own, and a PREFECT_HOME (results) of its own where results must not be shared.
    Tests using it are marked ``slow`` and run last (see pytest_collection_modifyitems).
    """
    with PrefectServer(tmp_path_factory.mktemp("real-server")) as srv:
        yield srv


DIFFERENTIAL = Path(__file__).parent / "differential"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of the real server ``slow`` (``-m "not slow"`` leaves them out) and
    run them last, together, so the server is up only while they run.

    The differential suite's tests run just before them: Cylc's side of every comparison
    is computed in the background from the start of the session (tests/differential/
    conftest.py), so by then most answers are ready instead of waited for.
    """
    for item in items:
        if "server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    items.sort(
        key=lambda item: (
            "server" in getattr(item, "fixturenames", ()),
            DIFFERENTIAL in Path(item.path).parents,
        )
    )


@pytest.fixture
def assert_seed_model():
    """Check a model is the seed workflow, whichever front end built it."""

    def check(wf) -> None:
        assert {n: t.recurrences for n, t in wf.tasks.items()} == {
            "prep": ["R1"],
            "foo": ["R1", "P1"],
            "bar": ["P1"],
        }
        assert [(d.recurrence, str(d.condition), d.target) for d in wf.dependencies] == [
            ("R1", "prep", "foo"),
            ("P1", "foo[-P1]", "foo"),
            ("P1", "foo", "bar"),
        ]

    return check
