"""``prefect-cycles points``: the points a recurrence gives, run as a real subprocess.

The expected lists were checked against Cylc 8.5.4's ``cylc graph --reference``
on a one-task flow.cylc with the same initial and final points.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def points(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prefect_cycles", "points", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("recurrence", "initial", "final", "expected"),
    [
        ("P2", "1", "10", "1 3 5 7 9"),
        ("R1", "1", "10", "1"),
        ("R1/$", "1", "10", "10"),
        ("R2/P2", "1", "10", "8 10"),
        ("+P1/P2", "1", "10", "2 4 6 8 10"),
        ("R1, +P1/P2", "1", "6", "1 2 4 6"),
        ("P1!(3,5)", "1", "6", "1 2 4 6"),
        ("P2!5", "1", "9", "1 3 7 9"),
        ("P1", "1", "+P3", "1 2 3 4"),
        (
            "PT6H!T18",
            "20200101T00Z",
            "20200102T00Z",
            "20200101T0000Z 20200101T0600Z 20200101T1200Z 20200102T0000Z",
        ),
        ("T00", "20200101T06Z", "20200104T00Z", "20200102T0000Z 20200103T0000Z 20200104T0000Z"),
        (
            "+PT6H/PT12H",
            "20200101T00Z",
            "20200102T12Z",
            "20200101T0600Z 20200101T1800Z 20200102T0600Z",
        ),
        ("R1/$", "20200101T00Z", "20200104T00Z", "20200104T0000Z"),
        (
            "P1M",
            "20200131T00Z",
            "20200430T00Z",
            "20200131T0000Z 20200229T0000Z 20200329T0000Z 20200429T0000Z",
        ),
    ],
)
def test_points_one_per_line_in_cylc_format(recurrence, initial, final, expected):
    out = points(recurrence, "--initial", initial, "--final", final)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "\n".join(expected.split()) + "\n"
    assert out.stderr == ""


def test_a_recurrence_starting_with_a_minus_goes_after_double_dash():
    out = points("-i", "1", "-f", "9", "--", "-P1/P3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "5", "8"]  # Cylc's forward alignment, as documented


def test_endless_sequences_are_cut_off_at_the_limit_with_a_note():
    out = points("P1", "--initial", "1")
    assert out.returncode == 0
    assert out.stdout.split() == [str(n) for n in range(1, 21)]
    assert "cut off after 20 points" in out.stderr and "--final" in out.stderr

    out = points("T00", "--initial", "20200101T06Z", "--limit", "3")
    assert out.stdout.split() == ["20200102T0000Z", "20200103T0000Z", "20200104T0000Z"]
    assert "cut off after 3 points" in out.stderr

    exact = points("P1", "-i", "1", "-f", "3", "--limit", "3")
    assert exact.stdout.split() == ["1", "2", "3"] and exact.stderr == ""  # not cut off


def test_a_time_zone_applies_to_points_written_without_one():
    out = points("PT12H", "-i", "20200101T00", "-f", "20200102T00", "--time-zone", "+0530")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["20200101T0000+0530", "20200101T1200+0530", "20200102T0000+0530"]


def test_no_points_in_the_window_is_said_on_stderr():
    out = points("R1/3", "-i", "5", "-f", "10")
    assert out.returncode == 0
    assert out.stdout == ""
    assert "R1/3 gives no points from 5 to 10" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Q9", "-i", "1"], "'Q9' is not an integer recurrence"),
        (["PT6H", "-i", "1"], "looks like a date-time recurrence"),
        (["P1", "-i", "5", "-f", "2"], "before the initial cycle point"),
        (["R1/$", "-i", "1"], "final cycle point"),
        (["P1", "-i", "2020-13-45T00"], "2020-13-45T00"),
        (["P1", "-i", "1", "--limit", "0"], "--limit 0"),
        (["P1", "-i", "1", "--time-zone", "Z"], "--time-zone applies to date-time cycling"),
    ],
)
def test_bad_input_is_one_clear_error_line(args, message):
    out = points(*args)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith("prefect-cycles: error:") and out.stderr.count("\n") == 1
    assert message in out.stderr and "Fix:" in out.stderr
    assert "Traceback" not in out.stderr


def test_points_does_not_import_prefect():
    code = (
        "import sys\nfrom prefect_cycles.show.cli import main\n"
        "main(['points', 'P1', '--initial', '1', '--final', '2'])\n"
        "print('prefect' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "2", "False"]


def test_points_help_is_useful_on_its_own():
    out = points("--help")
    assert out.returncode == 0
    for word in (
        "RECURRENCE",
        "--initial",
        "--final",
        "--limit",
        "--time-zone",
        "R1/$",
        "PT6H!T18",
    ):
        assert word in out.stdout


@pytest.mark.parametrize(
    ("recurrence", "expected"),
    [
        ("R/2024-01-01T00Z/PT6H", "20240101T0000Z 20240101T0600Z 20240101T1200Z"),
        ("R3/2/P2", "2 4 6"),
    ],
)
def test_a_recurrence_that_names_its_start_needs_no_initial(recurrence, expected):
    out = points(recurrence, "--limit", "3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == expected.split()


def test_a_recurrence_from_the_initial_point_asks_for_one_in_one_line():
    out = points("P2")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("prefect-cycles: error:") and out.stderr.count("\n") == 1
    assert "--initial" in out.stderr


@pytest.mark.parametrize(
    "args",
    [["graph"], ["no-such-command"], ["points", "P1", "--initial"], ["graph", "x", "--bogus"]],
)
def test_command_line_errors_are_one_line_in_the_projects_style_and_exit_2(args):
    out = subprocess.run(
        [sys.executable, "-m", "prefect_cycles", *args], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("prefect-cycles: error:") and out.stderr.count("\n") == 1
    assert "╭" not in out.stderr and "--help" in out.stderr and out.stdout == ""
