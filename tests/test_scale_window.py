"""Start-up does not grow with the window: a run over a million points starts at once.

``prefect-cycles run`` once unrolled the whole window to count what each point
runs before the flow run began: 101 s over 175,321 instances, and more than ten
minutes over a million points. Now windows longer than ``COUNTED_POINTS`` are
counted as they run (speed: benchmarks/startup_window.py).
"""

from __future__ import annotations

from pathlib import Path

from test_cli_run import run

from prefect_cycles import from_graph
from prefect_cycles.show.runner import COUNTED_POINTS, expected_runs

LONG = f"{Path(__file__).parent / 'data' / 'run' / 'long_window.py'}:long_window"


def test_a_long_window_is_not_counted_before_the_run() -> None:
    wf = from_graph({"P1": "a[-P1] => a => b"}, 1, 10**12)
    assert expected_runs(wf, limit=COUNTED_POINTS) is None
    assert expected_runs(wf, 1, COUNTED_POINTS, limit=COUNTED_POINTS) == {
        p: 2 for p in range(1, COUNTED_POINTS + 1)
    }
    assert expected_runs(wf, 1, COUNTED_POINTS + 1, limit=COUNTED_POINTS) is None


def test_run_over_a_million_points_starts_and_stops_at_its_first_point() -> None:
    out = run(LONG)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Flow run Completed" in out.stdout, out.stdout
    assert "points 1 to 1000000" in out.stdout
    assert " 1 done " in out.stdout, out.stdout  # no "1/2000000 done": not counted up front
