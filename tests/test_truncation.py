"""Truncated points filled from a full one, with the answers Cylc 8.5.4 gives.

The expected points were printed by Cylc's own ``get_point_relative`` (its
pinned metomi-isodatetime 3.1); tests/differential/test_wall_clock_cylc.py
asks Cylc itself. These hold whichever isodatetime is installed.
"""

from __future__ import annotations

import pytest

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.cycling.truncation import add_truncated

NOW = "20261201T1017Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T06", "20261202T0600Z"),
        ("T-30", "20261201T1030Z"),
        ("W-7T18", "20261206T1800Z"),
        ("--01", "20270101T1017Z"),  # a date alone keeps the time of day
        ("--12", "20261201T1017Z"),  # already December: stays
        ("--0301", "20270301T1017Z"),
        ("31T00", "20261231T0000Z"),
        ("-W01", "20270105T1017Z"),
        ("-W53-1", "20261228T1017Z"),
        ("-060", "20270301T1017Z"),
    ],
)
def test_as_cylc_fills_them(text: str, expected: str) -> None:
    cyc = DateTimeCycling()
    got = add_truncated(cyc.point(NOW), cyc.parse_time(text))
    assert cyc.format(cyc.point(got)) == expected


def test_a_monday_from_a_sunday_morning_keeps_the_hour() -> None:
    cyc = DateTimeCycling()
    got = add_truncated(cyc.point("20260104T0600Z"), cyc.parse_time("W-1"))
    assert cyc.format(cyc.point(got)) == "20260105T0600Z"


def test_in_the_360day_calendar() -> None:
    cyc = DateTimeCycling(calendar="360day")
    got = add_truncated(cyc.point("20200229T1200Z"), cyc.parse_time("30T00"))
    assert cyc.format(cyc.point(got)) == "20200230T0000Z"
    DateTimeCycling()  # back to gregorian for this thread


def test_a_full_point_is_refused() -> None:
    cyc = DateTimeCycling()
    with pytest.raises(ValueError, match="not a truncated point"):
        add_truncated(cyc.point(NOW), cyc.point(NOW))
