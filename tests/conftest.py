"""Shared fixtures: one real, temporary Prefect server for the whole session."""

from __future__ import annotations

import os
import tempfile

import pytest

# Keep Prefect's home (settings, local database) out of the user's ~/.prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-cycles-tests-"))


@pytest.fixture(scope="session")
def prefect_server():
    """A temporary Prefect server and database (prefect_test_harness) for the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


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
