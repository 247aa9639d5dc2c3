"""The README's first command, as a new user runs it: a fresh PREFECT_HOME, no settings.

``python examples/seed.py`` runs in a subprocess with a new, empty
``PREFECT_HOME``, no ``PREFECT_API_URL`` and no startup timeout of its own, so
Prefect starts a temporary server that must first migrate a fresh database,
with the machine's other cores kept busy as on a loaded 2-core machine. Then
it runs again, as a user trying it twice does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed.py"
MANY = ROOT / "tests" / "data" / "run" / "many.py"

#: Prefect's settings a new user has not set (the suite's own runs set some).
UNSET = (
    "PREFECT_API_URL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_PROFILES_PATH",
)


def new_user_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["PREFECT_HOME"] = home
    env["PYTHONPATH"] = str(ROOT)  # this checkout, as `pip install -e .` would give
    return env


@contextmanager
def other_cores_busy() -> Iterator[None]:
    """Keep all but one core busy, so the temporary server starts as slowly as under load."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(max(1, (os.cpu_count() or 2) - 1))
    ]
    try:
        yield
    finally:
        for p in burners:
            p.kill()
            p.wait()


def run_example(path: Path, home: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        env=new_user_env(home),
        cwd=ROOT,
        timeout=900,
    )


def test_the_readme_first_command_works_on_a_fresh_loaded_machine_and_twice():
    home = tempfile.mkdtemp(prefix="prefect-cycles-new-user-")
    with other_cores_busy():
        first = run_example(SEED, home)
    assert first.returncode == 0, first.stderr[-3000:]
    err = first.stderr
    # It says what it waits for before the slow start, and the start succeeds.
    assert "starts a temporary local server; waiting up to 600 s" in err
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" in err
    said = set(re.findall(r"(\w+\.\d) says hi!", err))
    assert said == {"prep.1"} | {f"{t}.{p}" for t in ("foo", "bar") for p in range(1, 5)}
    assert "All 9 instances completed" in err
    assert "Finished in state Completed()" in err
    assert "Traceback" not in err, err
    assert first.stdout == ""

    # Again: resume is on, every instance comes back Cached, and one line says why.
    second = run_example(SEED, home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "says hi!" not in second.stderr
    assert second.stderr.count("Finished in state Cached") == 9
    nothing = [line for line in second.stderr.splitlines() if "Nothing ran" in line]
    assert len(nothing) == 1, second.stderr
    assert "all 9 instances completed in an earlier run of 'seed'" in nothing[0]
    assert 'rerun="*"' in nothing[0] and "resume=False" in nothing[0]
    assert "Traceback" not in second.stderr, second.stderr

    # Then the results, in a later process: one patient start of the temporary server
    # (Prefect asks it for a default result storage), telemetry off, for both reads.
    third = subprocess.run(
        [sys.executable, "-c", READ_RESULTS],
        capture_output=True,
        text=True,
        env=new_user_env(home),
        cwd=ROOT / "examples",
        timeout=900,
    )
    assert third.returncode == 0, third.stderr[-3000:]
    assert third.stdout.split() == ["None", "None", "CycleError"], third.stderr
    assert "starts a temporary local server; waiting up to 600 s" in third.stderr
    assert third.stderr.count("Starting temporary server") == 1, third.stderr
    assert "telemetry" not in third.stderr and "Traceback" not in third.stderr, third.stderr


READ_RESULTS = """
from prefect_cycles.errors import CycleError
from seed import seed

print(seed.result_of("foo", 3))
print(seed.result_of("bar[4]"))
try:
    seed.result_of("foo", 9)
except CycleError:
    print("CycleError")
"""


USERS_OWN = """
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_ANALYTICS_ENABLED as ANALYTICS,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as TIMEOUT,
    temporary_settings,
)
from prefect_cycles.run.server import patient_start, temporary_server_running

assert not temporary_server_running()
with patient_start():
    assert TIMEOUT.value() == 600 and ANALYTICS.value() is False
with temporary_settings({TIMEOUT: 45, ANALYTICS: True}), patient_start():
    assert TIMEOUT.value() == 45 and ANALYTICS.value() is True
with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}), patient_start():
    assert TIMEOUT.value() == 20  # a real server: nothing to wait for
print("ok")
"""


def test_a_users_own_settings_win_over_the_raised_defaults():
    # In a fresh process: this one may already run a temporary server for other tests.
    home = tempfile.mkdtemp(prefix="prefect-cycles-new-user-")
    out = subprocess.run(
        [sys.executable, "-c", USERS_OWN],
        capture_output=True,
        text=True,
        env=new_user_env(home),
        timeout=300,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_many_task_runs_ending_together_leave_no_traceback_at_shutdown():
    # 80 quick task runs end within a second or so of the flow; the temporary server
    # was stopped while it still recorded their states (task_run_recorder tracebacks).
    with other_cores_busy():
        out = run_example(MANY, tempfile.mkdtemp(prefix="prefect-cycles-new-user-"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "All 80 instances completed" in out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert "Error flushing" not in out.stderr
