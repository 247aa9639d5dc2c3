"""Cycle points, intervals, final points and time zones, as Cylc 8.5.4 reads and writes them.

The spellings and the written forms below were checked with ``cylc graph
--reference`` on one-task flows (initial/final cycle point, cycle point time
zone) and with Cylc's own config validators.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.cycling.points import IntegerCycling, cycling_for
from prefect_cycles.errors import PointError

INT = IntegerCycling()
UTC = DateTimeCycling()

# -- integer cycling ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "point"), [("1", 1), ("05", 5), (" 7 ", 7), ("-3", -3), (4, 4)])
def test_integer_points(text, point):
    assert INT.point(text) == point
    assert INT.format(INT.point(text)) == str(point)


@pytest.mark.parametrize(
    ("text", "hint"),
    [("2020-01-01", "date-times"), ("T06", "date-times"), ("x", "whole number"), (True, "whole")],
)
def test_bad_integer_points(text, hint):
    with pytest.raises(PointError, match=hint):
        INT.point(text)


@pytest.mark.parametrize(("text", "n"), [("P1", 1), ("+P2", 2), ("-P3", -3), ("P0", 0)])
def test_integer_intervals(text, n):
    assert INT.interval(text) == n
    assert INT.format_interval(n) == text.lstrip("+")


@pytest.mark.parametrize(("text", "hint"), [("PT6H", "date-time"), ("P", "P<n>"), ("3", "P<n>")])
def test_bad_integer_intervals(text, hint):
    with pytest.raises(PointError, match=hint):
        INT.interval(text)


@pytest.mark.parametrize(
    ("text", "final"), [("+P3", 5), ("-P0", 2), ("+P0", 2), ("7", 7), ("08", 8), (9, 9), ("", None)]
)
def test_integer_final_points_from_initial_point_2(text, final):
    assert INT.final_point(text, 2) == final


@pytest.mark.parametrize("text", ["P10", "1 +P5", "+P1D", "x"])
def test_bad_integer_final_points(text):
    # Cylc refuses P10 (an offset needs its sign) and points with offsets here.
    with pytest.raises(PointError):
        INT.final_point(text, 1)


# -- date-time points ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("2020", "20200101T0000Z"),
        ("2020-01", "20200101T0000Z"),
        ("20200101T00", "20200101T0000Z"),
        ("2020-01-01T00:00Z", "20200101T0000Z"),
        ("2020-W01-1", "20191230T0000Z"),
        ("2020-032", "20200201T0000Z"),
        ("20200101T00+01", "20191231T2300Z"),
        ("20200115T000030", "20200115T0000Z"),  # Cylc keeps minutes only
        ("2020-01-15T00:00:30Z", "20200115T0000Z"),
        ("20200115T0030", "20200115T0030Z"),
        (dt.datetime(2020, 1, 2, 3, 4), "20200102T0304Z"),
        (
            dt.datetime(2020, 1, 2, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "20200102T0104Z",
        ),
        (dt.date(2020, 2, 29), "20200229T0000Z"),
    ],
)
def test_date_time_point_spellings(text, written):
    point = UTC.point(text)
    assert UTC.format(point) == written
    assert UTC.point(point) == point
    assert str(point) == written


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("now", "wall clock"),
        ("next(T00)", "wall clock"),
        ("previous(T-00)", "wall clock"),
        ("T06", "truncated"),
        ("1", "date-times"),
        ("20", "2-digit"),
        ("2020-13-01", "ISO 8601"),
        ("", "ISO 8601"),
        (5, "date-times"),
        ("9999-12-31T23:59-01", "9999"),
    ],
)
def test_bad_date_time_points(text, hint):
    with pytest.raises(PointError, match=hint):
        UTC.point(text)


# Cylc writes CCYYMMDDThhmm followed by the time zone exactly as given.
@pytest.mark.parametrize(
    ("zone", "written"),
    [
        ("Z", "20200115T0000Z"),
        ("+13", "20200115T1300+13"),
        ("-0530", "20200114T1830-0530"),
        ("+0530", "20200115T0530+0530"),
        ("+0000", "20200115T0000+0000"),
        ("+00", "20200115T0000+00"),
        ("-00", "20200115T0000-00"),
        (None, "20200115T0000Z"),
    ],
)
def test_time_zones_as_cylc_writes_them(zone, written):
    cyc = DateTimeCycling(zone)
    assert cyc.format(cyc.point("20200115T00Z")) == written


def test_points_without_a_zone_are_in_the_workflow_zone():
    cyc = DateTimeCycling("+13")
    assert cyc.format(cyc.point("20200115T00")) == "20200115T0000+13"
    assert cyc.point("20200115T00") == UTC.point("20200114T11")
    assert hash(cyc.point("20200115T00")) == hash(UTC.point("20200114T11"))


@pytest.mark.parametrize(
    ("zone", "hint"),
    [
        ("z", "Z, +13"),
        ("+1", "Z, +13"),
        ("UTC", "Z, +13"),
        ("+05:30", "+0530"),
        ("Mars", "time zone"),
    ],
)
def test_bad_time_zones(zone, hint):
    # Cylc's validator refuses all of these (extended +05:30 too).
    with pytest.raises(PointError, match=re.escape(hint)):
        DateTimeCycling(zone)


def test_cycling_equality_follows_the_written_zone():
    assert DateTimeCycling("+13") == DateTimeCycling("+13")
    assert hash(DateTimeCycling("+13")) == hash(DateTimeCycling("+13"))
    assert DateTimeCycling("+0000") != DateTimeCycling("Z")
    assert DateTimeCycling() != IntegerCycling()
    assert IntegerCycling() == IntegerCycling()
    assert DateTimeCycling("-0530").zone == (-5, -30)


# -- date-time intervals ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("PT6H", "PT6H"),
        ("-PT6H", "-PT6H"),
        ("+P1M", "P1M"),
        ("P1W", "P1W"),
        ("PT90M", "PT90M"),
        ("PT1.5H", "PT1,5H"),
        ("-P1DT6H", "-P1DT6H"),
        ("P", "P0Y"),
    ],
)
def test_date_time_intervals(text, written):
    assert UTC.format_interval(UTC.interval(text)) == written


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("P1", "integer"),
        ("PT30S", "minutes"),
        ("P1.5M", "ISO 8601"),
        ("P-1D", "ISO 8601"),
        ("", "ISO 8601"),
    ],
)
def test_bad_date_time_intervals(text, hint):
    with pytest.raises(PointError, match=hint):
        UTC.interval(text)


def test_calendar_arithmetic():
    jan31 = UTC.point("20200131T00")
    assert UTC.format(UTC.add(jan31, UTC.interval("P1M"))) == "20200229T0000Z"
    assert UTC.format(UTC.sub(jan31, UTC.interval("P1M"))) == "20191231T0000Z"
    feb29 = UTC.point("20200229T00")
    assert UTC.format(UTC.add(feb29, UTC.interval("P1Y"))) == "20210228T0000Z"
    assert UTC.format(UTC.add(feb29, UTC.interval("-P4Y"))) == "20160229T0000Z"
    assert UTC.format(UTC.add(jan31, UTC.interval("-PT6H"))) == "20200130T1800Z"
    assert UTC.zero() == UTC.interval("PT0M")
    assert INT.add(3, INT.interval("-P2")) == 1


# -- final points ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "final"),
    [
        # each as Cylc 8.5.4 computes it from initial cycle point = 20200101T00
        ("+P1D", "20200102T0000Z"),
        ("P1D", "20200102T0000Z"),
        ("+P1D+PT6H", "20200102T0600Z"),
        ("+P1D-PT6H", "20200101T1800Z"),
        ("+P1D +PT6H", "20200102T0600Z"),
        ("+P1M", "20200201T0000Z"),
        ("T12", "20200101T1200Z"),
        ("2020-01-02", "20200102T0000Z"),
        ("20200105", "20200105T0000Z"),
        ("2020 +P1D", "20200102T0000Z"),
        ("2020-02-03 -P1D", "20200202T0000Z"),
        ("2020-02-03T06 +P1D -PT1H", "20200204T0500Z"),
    ],
)
def test_date_time_final_points(text, final):
    assert UTC.format(UTC.final_point(text, UTC.point("20200101T00"))) == final


def test_date_time_final_point_none_and_values():
    init = UTC.point("20200101T00")
    assert UTC.final_point(None, init) is None
    assert UTC.final_point(" ", init) is None
    assert UTC.final_point(UTC.point("2021"), init) == UTC.point("2021")


@pytest.mark.parametrize("text", ["+P1X", "9999-12-31 +P1D", "+P99999999Y", "xyz"])
def test_bad_date_time_final_points(text):
    with pytest.raises(PointError):
        UTC.final_point(text, UTC.point("20200101T00"))


# -- the cycling mode an initial point implies ---------------------------------------


def test_cycling_for():
    assert cycling_for(1) == IntegerCycling()
    assert cycling_for("3") == IntegerCycling()
    assert cycling_for("2020-01-01") == DateTimeCycling()
    assert cycling_for("2020-01-01", "+13") == DateTimeCycling("+13")


# -- robustness -------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=24))
def test_any_text_is_a_point_or_a_point_error(text):
    for cyc, initial in ((INT, 1), (UTC, UTC.point("2020")), (DateTimeCycling("-0530"), None)):
        try:
            point = cyc.point(text)
        except PointError:
            pass
        else:
            assert cyc.point(cyc.format(point)) == point
        with contextlib.suppress(PointError):
            cyc.interval(text)
        with contextlib.suppress(PointError):
            cyc.final_point(text, initial if initial is not None else cyc.point("2020"))
