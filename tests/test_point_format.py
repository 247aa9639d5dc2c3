"""[scheduler]cycle point format and expanded year digits: how points are written everywhere.

Reference texts are compared with Cylc in the differential suite (d34-d38);
here: the cycling object, the refusals, and task run names in a real flow run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flowruns import task_runs
from prefect import task

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.errors import GraphSyntaxError, PointError
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.run.flow import cyclic_flow

FLOW = """\
[scheduler]
    cycle point format = {fmt}
[scheduling]
    initial cycle point = 20100808T00
    final cycle point = 20100808T12
    [[graph]]
        PT12H = "foo[-PT12H] => foo"
"""


def test_points_are_written_in_the_format_and_read_in_any() -> None:
    cyc = DateTimeCycling("Z", "%Y%m%dT%H")
    p = cyc.point("2010-08-08T06:30Z")
    assert cyc.format(p) == "20100808T06"
    assert cyc.point("20100808T0630") == p
    assert DateTimeCycling("Z", "CCYY").format(p) == "2010"
    assert cyc != DateTimeCycling("Z")


def test_expanded_years() -> None:
    cyc = DateTimeCycling("+0530", expanded_year_digits=2)
    assert cyc.format(cyc.point("+002010-01-01")) == "+0020100101T0000+0530"
    with pytest.raises(PointError, match="no room for expanded years"):
        DateTimeCycling("Z", "CCYY", expanded_year_digits=2)


@pytest.mark.parametrize(
    ("fmt", "says"), [("CCYY-MM-DDThh:mm", "holds ':'"), ("CCYY/MM", "holds '/'")]
)
def test_formats_cylc_refuses(tmp_path: Path, fmt: str, says: str) -> None:
    (tmp_path / "flow.cylc").write_text(FLOW.format(fmt=fmt))
    with pytest.raises(GraphSyntaxError, match=rf"flow\.cylc, line 2: .*{says}"):
        load_flow_cylc(tmp_path)


@pytest.mark.usefixtures("prefect_server")
def test_task_run_names_use_the_format_and_bodies_get_datetimes(tmp_path: Path) -> None:
    (tmp_path / "flow.cylc").write_text(FLOW.format(fmt="%Y%m%dT%H"))
    seen: list[dt.datetime] = []

    @task(name="foo")
    def foo(point: dt.datetime) -> None:
        seen.append(point)

    fl = cyclic_flow(foo, cylc=tmp_path, name="point-format")
    state = fl(return_state=True)
    assert state.is_completed()
    assert sorted(task_runs(state)) == ["foo[20100808T00]", "foo[20100808T12]"]
    assert sorted(seen) == [
        dt.datetime(2010, 8, 8, 0, tzinfo=dt.timezone.utc),
        dt.datetime(2010, 8, 8, 12, tzinfo=dt.timezone.utc),
    ]
