"""Cylc's 360day, 365day and 366day calendars (cycling mode), on metomi-isodatetime's.

Graphs are compared with Cylc in the differential suite (d46-d48). isodatetime
keeps one calendar per process, so these also check that workflows of two
calendars used one after the other each get their own arithmetic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flowruns import task_runs
from prefect import task

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.errors import CycleError, GraphSyntaxError
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.graph.unroll import unroll
from prefect_cycles.run.flow import cyclic_flow

FLOW = """\
[scheduling]
    cycling mode = {mode}
    initial cycle point = {icp}
    final cycle point = +P2D
    [[graph]]
        P1D = "a[-P1D] => a"
"""


def points(tmp_path: Path, mode: str, icp: str = "20200228T00") -> list[str]:
    (tmp_path / "flow.cylc").write_text(FLOW.format(mode=mode, icp=icp))
    wf = load_flow_cylc(tmp_path)
    return sorted({wf.fmt(inst.point) for inst in unroll(wf).nodes})


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("360day", ["20200228T0000Z", "20200229T0000Z", "20200230T0000Z"]),
        ("365day", ["20200228T0000Z", "20200301T0000Z", "20200302T0000Z"]),
        ("366day", ["20200228T0000Z", "20200229T0000Z", "20200301T0000Z"]),
        ("gregorian", ["20200228T0000Z", "20200229T0000Z", "20200301T0000Z"]),
    ],
)
def test_calendars_one_after_another(tmp_path: Path, mode: str, expected: list[str]) -> None:
    assert points(tmp_path, mode) == expected
    # a Gregorian cycling used afterwards still has its leap day, and 2021 none
    greg = DateTimeCycling()
    assert greg.format(greg.final_point("+P1D", greg.point("20210228T00"))) == "20210301T0000Z"


def test_bad_calendar_and_wall_clock(tmp_path: Path) -> None:
    (tmp_path / "flow.cylc").write_text(FLOW.format(mode="julian", icp="2020"))
    with pytest.raises(GraphSyntaxError, match="unknown cycling mode 'julian'"):
        load_flow_cylc(tmp_path)
    (tmp_path / "flow.cylc").write_text(FLOW.format(mode="360day", icp="previous(T00)"))
    with pytest.raises(CycleError, match="need the gregorian calendar"):
        load_flow_cylc(tmp_path)


@pytest.mark.usefixtures("prefect_server")
def test_flow_run_on_the_360day_calendar(tmp_path: Path) -> None:
    (tmp_path / "flow.cylc").write_text(FLOW.format(mode="360day", icp="20200229T00"))
    seen: list[str] = []

    @task(name="a")
    def a(point: dt.datetime | str) -> None:
        seen.append(str(point))

    state = cyclic_flow(a, cylc=tmp_path, name="calendar-360day")(return_state=True)
    assert state.is_completed()
    assert sorted(task_runs(state)) == [
        "a[20200229T0000Z]",
        "a[20200230T0000Z]",
        "a[20200301T0000Z]",
    ]
    assert len(seen) == 3
