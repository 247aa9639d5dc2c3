"""Wall-clock initial points (now, next(), previous()), truncated final points, point
constraints and stop/hold after cycle point, in flow.cylc files and real flow runs.

The resolution itself is compared with Cylc's own ``ingest_time`` in
tests/differential/test_wall_clock_cylc.py.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from flowruns import task_runs
from metomi.isodatetime.parsers import TimePointParser
from prefect import task

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.cycling.wallclock import resolve_wall_clock
from prefect_cycles.errors import CycleError, GraphSyntaxError
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.run.flow import cyclic_flow

NOW = TimePointParser().parse("20261201T1017Z")


def write(tmp_path: Path, scheduling: str) -> Path:
    text = "[scheduling]\n" + textwrap.indent(textwrap.dedent(scheduling), "    ")
    text += '    [[graph]]\n        PT6H = "a[-PT6H] => a"\n'
    (tmp_path / "flow.cylc").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("now", "20261201T1017Z"),
        ("previous(T00)", "20261201T0000Z"),
        ("next(T00)", "20261202T0000Z"),
        ("previous(T-00) - PT2H", "20261201T0800Z"),
        ("next(T00;T12)", "20261201T1200Z"),
        ("-P1D", "20261130T1017Z"),
        ("T06", "20261202T0600Z"),
        ("previous(--01)", "20260101T0000Z"),
        ("20200101T00Z", "20200101T00Z"),
    ],
)
def test_resolution(text: str, point: str) -> None:
    assert resolve_wall_clock(text, DateTimeCycling(), NOW) == point


NOW_SECONDS = TimePointParser().parse("20261201T101712Z")


@pytest.mark.parametrize(
    ("text", "point_format", "point"),
    [
        # Cylc's now has seconds: the next whole minute is after 10:17:12
        ("next(T--00)", None, "20261201T1018Z"),
        ("next(T--00) - P1Y7M", None, "20250501T1018Z"),
        # and is kept as its point format writes it (ISO8601Point.standardise)
        ("now", None, "20261201T1017Z"),
        ("now", "%Y%m%d", "20261201T0000Z"),
        ("now", "CCYYMMDDThh", "20261201T1000Z"),
        ("next(T-30)", "%Y%m%dT%H", "20261201T1000Z"),
    ],
)
def test_resolution_as_cylc_standardises_it(
    text: str, point_format: str | None, point: str
) -> None:
    """Found by the sweep of real workflows: cylc-flow's clock-trigger-inexact and
    events/40-stall-despite-clock-trig tests."""
    cycling = DateTimeCycling(point_format=point_format)
    assert resolve_wall_clock(text, cycling, NOW_SECONDS) == point


def test_now_keeps_its_seconds() -> None:
    """Cylc's now is to the second; next(T--00) at 10:17:12 is 10:18, not 10:17."""
    from prefect_cycles.cycling.wallclock import utc_now_point

    point = utc_now_point()
    now = dt.datetime.now(dt.timezone.utc)
    seen = dt.datetime(
        point.year,
        point.month_of_year,
        point.day_of_month,
        point.hour_of_day,
        point.minute_of_hour,
        point.second_of_minute,
        tzinfo=dt.timezone.utc,
    )
    assert abs(now - seen) < dt.timedelta(seconds=2)


def test_flow_cylc_now_in_a_day_format_starts_at_the_day(tmp_path: Path) -> None:
    text = (
        "[scheduler]\n    cycle point format = %Y%m%d\n    allow implicit tasks = True\n"
        "[scheduling]\n    initial cycle point = now\n"
        '    [[graph]]\n        P1D = "a[-P1D] => a"\n'
    )
    (tmp_path / "flow.cylc").write_text(text)
    wf = load_flow_cylc(tmp_path)
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")
    assert wf.fmt(wf.initial) == today
    assert wf.cycling.format_full(wf.initial).endswith("T0000Z")


def test_comma_list_is_refused_with_the_fix() -> None:
    with pytest.raises(CycleError, match=r"semicolon separated.*try T00;T12"):
        resolve_wall_clock("next(T00,T12)", DateTimeCycling(), NOW)


def test_flow_cylc_initial_point_previous_t00(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    wf = load_flow_cylc(
        write(tmp_path, "initial cycle point = previous(T00)\nfinal cycle point = +PT12H\n")
    )
    today = before.strftime("%Y%m%d")
    assert wf.fmt(wf.initial) in (
        f"{today}T0000Z",
        dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT0000Z"),
    )
    assert wf.final is not None and wf.fmt(wf.final).endswith("T1200Z")
    assert any("depends on the wall clock" in n for n in wf.notices)
    again = wf.at_wall_clock(TimePointParser().parse("20300606T0600Z"))
    assert (again.fmt(again.initial), again.fmt(again.final)) == (
        "20300606T0000Z",
        "20300606T1200Z",
    )


def test_truncated_final_point_and_constraints(tmp_path: Path) -> None:
    wf = load_flow_cylc(
        write(
            tmp_path,
            "initial cycle point = 20200101T12\nfinal cycle point = T06\n"
            "initial cycle point constraints = T00, T12\n",
        )
    )
    assert wf.fmt(wf.final) == "20200102T0600Z"
    write(
        tmp_path, "initial cycle point = 20200101T06\ninitial cycle point constraints = T00, T12\n"
    )
    with pytest.raises(
        GraphSyntaxError, match=r"line 3: Initial cycle point 20200101T0600Z does not"
    ):
        load_flow_cylc(tmp_path)


def test_wall_clock_needs_date_time_cycling(tmp_path: Path) -> None:
    write(tmp_path, "cycling mode = integer\ninitial cycle point = now\n")
    with pytest.raises(CycleError, match="only in date-time cycling"):
        load_flow_cylc(tmp_path)


@pytest.mark.usefixtures("prefect_server")
def test_run_starts_at_todays_point_and_stops_after(tmp_path: Path) -> None:
    write(
        tmp_path,
        "initial cycle point = previous(T00)\nfinal cycle point = +P1D\n"
        "stop after cycle point = +PT6H\n",
    )

    @task(name="a")
    def a(point: dt.datetime) -> None:
        pass

    fl = cyclic_flow(a, cylc=tmp_path, name="wall-clock-start")
    days = {dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")}
    state = fl(return_state=True)
    days.add(dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d"))
    assert state.is_completed()
    runs = sorted(task_runs(state))
    assert runs in ([f"a[{d}T0000Z]", f"a[{d}T0600Z]"] for d in sorted(days))
