"""``prefect-cycles run``: the real console script runs real flows and shows their progress.

Standard output is not a terminal here, so the command prints its final view
once at the end; the tests read it back, row by row.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from prefect_cycles.graph.unroll import unroll
from prefect_cycles.show.sources import load_workflow

ROOT = Path(__file__).parents[1]
SEED = f"{ROOT / 'examples' / 'seed.py'}:seed"
BREAKS = f"{ROOT / 'tests' / 'data' / 'run' / 'breaks.py'}:breaks"

# A table row: the point, then Done Running Waiting Failed Blocked "Not run".
ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$")
COLUMNS = ("done", "running", "waiting", "failed", "blocked", "not_run")


def script() -> str:
    """The installed ``prefect-cycles`` console script, next to this Python."""
    path = Path(sys.executable).with_name("prefect-cycles")
    return str(path) if path.exists() else shutil.which("prefect-cycles") or "prefect-cycles"


def run(*args: str, api_url: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PREFECT_HOME=tempfile.mkdtemp(prefix="prefect-cycles-run-"))
    env.pop("PREFECT_API_URL", None)
    # A temporary server may start slowly on a busy machine: give it time.
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "300"
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # no heartbeats racing for SQLite
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run(
        [script(), "run", *args], capture_output=True, text=True, env=env, timeout=600
    )


def rows(view: str) -> dict[str, dict[str, int]]:
    """The per-point table of a printed view: point -> column -> count."""
    out = {}
    for line in view.splitlines():
        m = ROW.match(line.strip())
        if m:
            out[m[1]] = dict(zip(COLUMNS, map(int, m.groups()[1:]), strict=True))
    return out


def runs_per_point(source: str, start: int, stop: int) -> dict[str, int]:
    """How many instances the unrolled graph runs at each point."""
    wf, _ = load_workflow(source)
    g = unroll(wf, start, stop)
    return {
        wf.fmt(p): n
        for p, n in Counter(i.point for i, d in g.nodes(data=True) if d["runs"]).items()
    }


def test_run_seed_shows_every_point_done_and_exits_zero():
    expected = runs_per_point(SEED, 1, 3)
    assert expected == {"1": 3, "2": 2, "3": 2}  # prep + foo + bar, then foo + bar
    out = run(SEED, "1", "3")
    assert out.returncode == 0, out.stdout + out.stderr
    table = rows(out.stdout)
    assert set(table) == set(expected)
    for point, n in expected.items():
        assert table[point] == {**dict.fromkeys(COLUMNS, 0), "done": n}
    total = sum(expected.values())
    assert f"{total}/{total} done" in out.stdout
    assert "0 failed" in out.stdout and "0 blocked" in out.stdout
    assert "Flow run Completed" in out.stdout
    assert re.search(r"seed: points 1 to 3, runahead P4\s+flow run 'seed\[1\.\.3\]'", out.stdout)
    # No API URL: Prefect ran a temporary server, gone at exit, so there is no link.
    assert "Starting temporary server" in out.stderr and "/runs/flow-run/" not in out.stdout


def test_a_failing_task_exits_one_naming_the_failed_and_blocked_instances(prefect_server):
    from prefect.settings import PREFECT_API_URL

    out = run(BREAKS, "--quiet", api_url=PREFECT_API_URL.value())
    assert out.returncode == 1, out.stdout + out.stderr
    table = rows(out.stdout)
    zero = dict.fromkeys(COLUMNS, 0)
    assert table == {
        "1": {**zero, "done": 2},
        "2": {**zero, "failed": 1, "blocked": 1},
        "3": {**zero, "blocked": 2},
    }
    assert "2/6 done" in out.stdout and "1 failed" in out.stdout and "3 blocked" in out.stdout
    assert "Flow run Failed" in out.stdout
    failed = out.stdout.split("Failed:\n", 1)[1].split("Blocked:\n", 1)
    assert "step[2]" in failed[0] and "step cannot handle point 2" in " ".join(failed[0].split())
    assert "check[2]: waiting for step[2]:succeeded" in failed[1]
    assert "step[3]: waiting for step[2]:succeeded" in failed[1]
    assert "check[3]: waiting for step[3]:succeeded" in failed[1]
    # With a server, the view links the flow run in its UI.
    assert "/runs/flow-run/" in out.stdout
    # --quiet keeps Prefect's info lines off the console; its error lines stay.
    assert "Finished in state Completed" not in out.stderr
    assert "step[2]" in out.stderr


def test_a_graph_without_task_code_is_a_clear_error(tmp_path: Path):
    (tmp_path / "flow.cylc").write_text(
        "[scheduling]\n    cycling mode = integer\n    initial cycle point = 1\n"
        '    final cycle point = 2\n    [[graph]]\n        P1 = "foo"\n'
    )
    out = run(str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.startswith("prefect-cycles: error:") and out.stderr.count("\n") == 1
    assert "no task implementations" in out.stderr and "cyclic_flow" in out.stderr

    (tmp_path / "wf.py").write_text(
        "from prefect_cycles import from_graph\nwf = from_graph({'P1': 'foo'}, 1, 2)\n"
    )
    out = run(f"{tmp_path / 'wf.py'}:wf")
    assert out.returncode == 1
    assert "is a Workflow, not a cyclic flow" in out.stderr and "Fix:" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0", "3"], "before the initial cycle point"),
        (["1", "9", "--runahead", "lots"], "runahead limit 'lots'"),
        (["1", "x"], "'x'"),
        (["1", "3", "--rerun", "baz[2..]"], "rerun 'baz[2..]' names no task"),
    ],
)
def test_bad_windows_fail_before_anything_runs(args, message):
    out = run(SEED, *args)
    assert out.returncode == 1
    assert out.stderr.startswith("prefect-cycles: error:") and message in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_run_help_is_useful_on_its_own():
    out = subprocess.run([script(), "run", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for word in (
        "SOURCE",
        "START",
        "STOP",
        "--runahead",
        "--rerun",
        "--quiet",
        "file.py:name",
        "Exit status",
    ):
        assert word in out.stdout


def test_piped_output_keeps_a_long_header_on_one_line(prefect_server, tmp_path: Path):
    from prefect.settings import PREFECT_API_URL

    name = "a-cyclic-flow-with-a-rather-long-name-as-real-ones-have"
    (tmp_path / "wf.py").write_text(
        "from prefect import task\nfrom prefect_cycles import cycle, cyclic_flow\n\n"
        "@cycle('P1')\n@task\ndef one(point: int) -> int:\n    return point\n\n"
        f"wf = cyclic_flow(one, initial=1, final=2, name={name!r})\n"
    )
    out = run(f"{tmp_path / 'wf.py'}:wf", api_url=PREFECT_API_URL.value())
    assert out.returncode == 0, out.stdout + out.stderr
    header = out.stdout.splitlines()[0]
    assert header.startswith(f"{name}: points 1 to 2, runahead P4") and "flow run '" in header
    assert len(header) > 80  # printed whole, not wrapped at a pipe's default 80 columns
