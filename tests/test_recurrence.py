"""Recurrences against the points Cylc 8.5.4 gives for them.

Every expected row below was produced by ``cylc graph --reference`` on a
one-task flow.cylc (``[[graph]] RECURRENCE = foo``) with the same initial and
final cycle points and the window START..STOP shown; rows marked "quirk" are
Cylc arithmetic kept on purpose (see prefect_cycles.cycling.recurrence).
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.cycling.points import IntegerCycling
from prefect_cycles.cycling.recurrence import parse_recurrence
from prefect_cycles.cycling.sequence import Sequence
from prefect_cycles.errors import CycleError, RecurrenceError

INT = IntegerCycling()


def int_points(rec: str, icp: int, fcp: int | None, start: int, stop: int) -> list[int]:
    return list(parse_recurrence(rec, INT, icp, fcp).points(start, stop))


def dt_points(
    rec: str, icp: str, fcp: str | None, start: str, stop: str, tz: str = "Z"
) -> list[str]:
    cyc = DateTimeCycling(tz)
    init = cyc.point(icp)
    fin = cyc.final_point(fcp, init)
    seq = parse_recurrence(rec, cyc, init, fin)
    return [cyc.format(p) for p in seq.points(cyc.point(start), cyc.point(stop))]


# (recurrence, initial, final, START, STOP, points cylc graph draws)
INTEGER_CASES = [
    ("R1", 1, 10, 1, 10, [1]),
    ("R1", 1, 10, 4, 10, []),  # R1 is at the initial point only: not in a later window
    ("R1/3", 1, 10, 1, 10, [3]),
    ("R1/+P2", 1, 10, 1, 10, [3]),
    ("R1/$", 1, 10, 1, 10, [10]),
    ("R1/P0", 1, 10, 1, 10, [10]),
    ("R1/P2", 1, 10, 1, 10, [10]),
    ("R1//-P1", 1, 10, 1, 10, [9]),
    ("R1//+P0", 1, 20, 1, 30, [20]),
    ("R1/-P1", 1, 10, 1, 10, []),  # before the initial point
    ("R1/15", 1, 10, 1, 10, []),  # after the final point
    ("R1//+P2", 1, 10, 1, 10, []),
    ("R1/^", 1, 10, 1, 10, [1]),
    ("R/5", 1, 10, 1, 10, [5]),
    ("R1/5/P2", 1, 10, 1, 10, [5]),
    ("R0/5/P2", 1, 10, 1, 10, [5]),
    ("R0/P3", 1, 20, 1, 30, [20]),
    ("R0//P3", 1, 20, 1, 30, [1]),
    ("P1", 1, 10, 1, 10, list(range(1, 11))),
    ("P01", 1, 10, 1, 10, list(range(1, 11))),
    ("P2", 1, 10, 1, 10, [1, 3, 5, 7, 9]),
    ("P2", 1, 10, 4, 10, [5, 7, 9]),
    ("P3", 1, 10, 4, 10, [4, 7, 10]),
    ("P0", 1, None, 1, 10, [1]),
    ("+P1/P2", 1, 10, 1, 10, [2, 4, 6, 8, 10]),
    ("2/P2", 1, 10, 1, 10, [2, 4, 6, 8, 10]),
    ("2/P2/", 1, 10, 1, 10, [2, 4, 6, 8, 10]),
    ("R3/2/P2", 1, 10, 1, 10, [2, 4, 6]),
    ("R3/2/P2", 1, 10, 4, 10, [4, 6]),
    ("R3//P2", 1, 10, 1, 10, [1, 3, 5]),
    ("R//P3", 1, 20, 1, 30, [1, 4, 7, 10, 13, 16, 19]),
    ("R/2/P3", 1, 20, 1, 30, [2, 5, 8, 11, 14, 17, 20]),
    ("R2/P2", 1, 10, 1, 10, [8, 10]),
    ("R3/P2/10", 1, 10, 1, 10, [6, 8, 10]),
    ("R30/P2/15", 1, 20, 1, 20, [1, 3, 5, 7, 9, 11, 13, 15]),
    ("P2/$", 1, 10, 1, 10, [2, 4, 6, 8, 10]),
    ("P4/$", 1, 20, 1, 20, [4, 8, 12, 16, 20]),
    ("P3/$", 1, 20, 1, 20, [2, 5, 8, 11, 14, 17, 20]),
    ("R/P2", 1, 10, 1, 10, [2, 4, 6, 8, 10]),
    ("P2/-P1", 1, 10, 1, 10, [2, 4, 6, 8]),  # quirk: aligned on $, not on $-P1
    ("P2/5", 1, 10, 1, 10, [2, 4]),
    ("R/P3/15", 1, 20, 1, 20, [2, 5, 8, 11, 14]),
    ("-P1/P3", 1, 10, 1, 10, [2, 5, 8]),  # quirk: not 3 6 9
    ("0/P3", 1, 10, 1, 10, [2, 5, 8]),  # quirk
    ("-P3/P4", 1, 20, 1, 30, [4, 8, 12, 16]),  # quirk
    ("-P5/P4", 1, None, 1, 30, [2, 6, 10, 14, 18, 22, 26, 30]),  # quirk
    ("R5/1/P3", 1, 10, 1, 10, [1, 4, 7]),  # quirk: 10 is cut
    ("R5/1/P3", 1, None, 1, 10, [1, 4, 7, 10]),
    ("R3/2/P2", 1, 4, 1, 10, [2]),  # quirk: 4 is cut
    ("R9/1/P3", 1, 7, 1, 10, [1, 4]),  # quirk: 7 is cut
    ("R5/1/P3", 1, 2, 1, 10, []),  # quirk: 1 is cut
    ("P2!5", 1, 10, 1, 10, [1, 3, 7, 9]),
    ("P2!5", 1, 10, 4, 10, [7, 9]),
    ("P1!(3,5)", 1, 10, 1, 10, [1, 2, 4, 6, 7, 8, 9, 10]),
    ("P1!(3, 5)", 1, 10, 1, 10, [1, 2, 4, 6, 7, 8, 9, 10]),
    ("P1 ! 3", 1, 10, 1, 10, [1, 2, 4, 5, 6, 7, 8, 9, 10]),
    ("P1!P3", 1, 10, 1, 10, [2, 3, 5, 6, 8, 9]),
    ("P1!P3", 1, 10, 4, 10, [5, 6, 8, 9]),
    ("P1!^", 1, 10, 1, 10, [2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ("P1!$", 1, 10, 1, 10, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ("P3!(P2,7)", 1, 10, 1, 10, [4, 10]),
    ("P1!(P3,P4)", 1, 20, 1, 20, [2, 3, 6, 8, 11, 12, 14, 15, 18, 20]),
    ("P2!(R1/5)", 1, 20, 1, 20, [1, 3, 7, 9, 11, 13, 15, 17, 19]),
    ("P1!R1//-P1", 1, 20, 1, 30, [*range(1, 19), 20]),
    ("P1!P3/$", 1, 20, 1, 30, [1, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16, 18, 19]),
    ("P5!P2", 1, 20, 1, 20, [6, 16]),
    ("P2!P1", 1, 10, 1, 10, []),  # everything excluded (Cylc recurses forever without $)
    ("P2!P1", 1, None, 1, 10, []),
    ("R1/2, R1/5", 1, 10, 1, 10, [2, 5]),
    ("R1/2, R1/5", 1, 10, 4, 10, [5]),
    ("P1!4, R1/4", 1, 10, 1, 10, list(range(1, 11))),
    ("P1", 5, 8, 1, 20, [5, 6, 7, 8]),
]


@pytest.mark.parametrize(("rec", "icp", "fcp", "start", "stop", "expected"), INTEGER_CASES)
def test_integer_recurrences_match_cylc(rec, icp, fcp, start, stop, expected):
    assert int_points(rec, icp, fcp, start, stop) == expected


def zs(text: str) -> list[str]:
    return text.split()


# (recurrence, initial, final, START, STOP, points cylc graph draws[, time zone])
DATETIME_CASES = [
    (
        "PT6H",
        "20200101T00",
        "20200101T18",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0600Z 20200101T1200Z 20200101T1800Z"),
    ),
    (
        "PT12H",
        "20200101T00",
        "20200103T00",
        "20200101T06",
        "20200103T00",
        zs("20200101T1200Z 20200102T0000Z 20200102T1200Z 20200103T0000Z"),
    ),
    (
        "P1D",
        "20200101T00",
        "20200103T00",
        "20200101T06",
        "20200103T00",
        zs("20200102T0000Z 20200103T0000Z"),
    ),
    (
        "T00",
        "20200101T00",
        "20200103T00",
        "20200101T06",
        "20200103T00",
        zs("20200102T0000Z 20200103T0000Z"),
    ),
    (
        "T06",
        "20200101T00",
        "20200103T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200102T0600Z"),
    ),
    (
        "T",
        "20200101T00",
        "20200103T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200102T0000Z 20200103T0000Z"),
    ),
    (
        "T00",
        "20200101T0030",
        None,
        "20200101T0030",
        "20200103T00",
        zs("20200102T0000Z 20200103T0000Z"),
    ),
    (
        "T00+01",
        "20200101T00",
        "20200103T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T2300Z 20200102T2300Z"),
    ),
    (
        "T-30/PT6H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0030Z 20200101T0630Z 20200101T1230Z 20200101T1830Z"),
    ),
    (
        "+PT6H/PT12H",
        "20200101T00",
        "20200103T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z 20200102T0600Z 20200102T1800Z"),
    ),
    (
        "^+PT6H/PT12H",
        "20200101T00",
        "20200103T00",
        "20200101T06",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z 20200102T0600Z 20200102T1800Z"),
    ),
    (
        "T06/PT12H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z"),
    ),
    (
        "min(T06,T03)/PT12H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0300Z 20200101T1500Z"),
    ),
    (
        "T06-PT1H/P1D",
        "20200101T00",
        "+P3D",
        "20200101T00",
        "20200105T00",
        zs("20200101T0500Z 20200102T0500Z 20200103T0500Z"),
    ),
    (
        "2020-01-01T06:00Z/PT12H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z"),
    ),
    (
        "P1DT6H",
        "20200101T00",
        "20200103T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200102T0600Z"),
    ),
    (
        "PT90M",
        "20200101T00",
        "20200101T04",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0130Z 20200101T0300Z"),
    ),
    ("R1", "20200101T00", "20200103T00", "20200101T00", "20200103T00", zs("20200101T0000Z")),
    ("R1", "20200101T00", "20200103T00", "20200101T06", "20200103T00", []),
    ("R1/$", "20200101T00", "20200103T00", "20200101T06", "20200103T00", zs("20200103T0000Z")),
    ("R1/P0D", "20200101T00", "20200103T00", "20200101T00", "20200103T00", zs("20200103T0000Z")),
    ("R1/T12", "20200101T00", None, "20200101T00", "20200103T00", zs("20200101T1200Z")),
    ("R1/^+PT6H", "20200101T00", None, "20200101T00", "20200103T00", zs("20200101T0600Z")),
    ("R1/$-PT6H", "20200101T00", "20200103T00", "20200101T00", "20200103T00", zs("20200102T1800Z")),
    ("R1//-PT6H", "20200101T00", "20200103T00", "20200101T00", "20200103T00", zs("20200102T1800Z")),
    ("R1/-PT6H", "20200101T00", "20200103T00", "20200101T00", "20200103T00", []),
    ("R1/2020", "20200101T00", "20200103T00", "20200101T00", "20200103T00", zs("20200101T0000Z")),
    ("R1/+P1M+P1D", "20200131T00", None, "20200131T00", "20200602T00", zs("20200301T0000Z")),
    (
        "R3/^/PT12H",
        "20200101T00",
        "20200103T00",
        "20200101T06",
        "20200103T00",
        zs("20200101T1200Z 20200102T0000Z"),
    ),
    (
        "R/^/PT12H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T1200Z 20200102T0000Z"),
    ),
    (
        "R3/T06/PT12H",
        "20200101T00",
        None,
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z 20200102T0600Z"),
    ),
    (
        "R2/^/20200101T06",
        "20200101T00",
        "20200103T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0600Z"),
    ),
    (
        "R/^/20200101T06",
        "20200101T00",
        "20200101T18",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0600Z 20200101T1200Z 20200101T1800Z"),
    ),
    (
        "R3/^+PT6H/$-PT6H",
        "20200101T00",
        "+P3D",
        "20200101T00",
        "20200110T00",
        zs("20200101T0600Z 20200103T1800Z"),
    ),
    (
        "R2/PT6H",
        "20200101T00",
        "20200103T00",
        "20200101T00",
        "20200103T00",
        zs("20200102T1800Z 20200103T0000Z"),
    ),
    (
        "PT12H/$",
        "20200101T00",
        "20200103T00",
        "20200101T06",
        "20200103T00",
        zs("20200101T1200Z 20200102T0000Z 20200102T1200Z 20200103T0000Z"),
    ),
    (
        "PT6H/-PT6H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0600Z 20200101T1200Z 20200101T1800Z"),
    ),
    (
        "P1D/T12",
        "20200101T00",
        "+P3D",
        "20200101T00",
        "20200105T00",
        zs("20200101T1200Z 20200102T1200Z 20200103T1200Z"),
    ),
    (
        "R5/-P1D/PT12H",
        "20200101T00",
        "+P3D",
        "20200101T00",
        "20200105T00",
        zs("20200101T0000Z 20200101T1200Z 20200102T0000Z"),
    ),
    ("R2/-P1D/PT12H", "20200101T00", "+P3D", "20200101T00", "20200105T00", []),
    (
        "PT6H!T18",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0600Z 20200101T1200Z 20200102T0000Z"),
    ),
    (
        "PT6H!(T00,T12)",
        "20200101T00",
        "20200103T00",
        "20200101T06",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z 20200102T0600Z 20200102T1800Z"),
    ),
    (
        "PT6H!20200101T06",
        "20200101T00",
        "20200101T18",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T1200Z 20200101T1800Z"),
    ),
    (
        "PT6H!PT12H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z"),
    ),
    (
        "PT6H!T06+PT6H",
        "20200101T00",
        "20200102T00",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0600Z 20200101T1800Z 20200102T0000Z"),
    ),
    (
        "PT6H!^",
        "20200101T00",
        "20200101T18",
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200101T1200Z 20200101T1800Z"),
    ),
    ("PT6H!(T00,T06,T12,T18)", "20200101T00", None, "20200101T00", "20200103T00", []),
    (
        "PT6H, T03",
        "20200101T00",
        "20200101T12",
        "20200101T00",
        "20200103T00",
        zs("20200101T0000Z 20200101T0300Z 20200101T0600Z 20200101T1200Z"),
    ),
    (
        "R1/T06, R1/T18",
        "20200101T00",
        None,
        "20200101T00",
        "20200103T00",
        zs("20200101T0600Z 20200101T1800Z"),
    ),
    # months and years add up one step at a time
    (
        "P1M",
        "20200131T00",
        None,
        "20200131T00",
        "20200801T00",
        zs(
            "20200131T0000Z 20200229T0000Z 20200329T0000Z 20200429T0000Z 20200529T0000Z "
            "20200629T0000Z 20200729T0000Z"
        ),
    ),
    (
        "P1M",
        "2020-01-31",
        None,
        "20200301",
        "20200601",
        zs("20200329T0000Z 20200429T0000Z 20200529T0000Z"),
    ),
    (
        "+P1M/P1M",
        "20200131T00",
        None,
        "20200131T00",
        "20200602T00",
        zs("20200229T0000Z 20200329T0000Z 20200429T0000Z 20200529T0000Z"),
    ),
    (
        "R3/^/P1M",
        "20200131T00",
        "20200731T00",
        "20200131T00",
        "20200801T00",
        zs("20200131T0000Z 20200229T0000Z 20200329T0000Z"),
    ),
    (
        "R3/P1M",
        "20200131T00",
        "20200731T00",
        "20200131T00",
        "20200801T00",
        zs("20200530T0000Z 20200630T0000Z 20200730T0000Z"),
    ),
    (
        "P1M/$",
        "20200131T00",
        "20200630T00",
        "20200131T00",
        "20200701T00",
        zs("20200229T0000Z 20200329T0000Z 20200429T0000Z 20200529T0000Z 20200629T0000Z"),
    ),
    (
        "P1M!P2M",
        "20200115T00",
        None,
        "20200101",
        "20200901",
        zs("20200215T0000Z 20200415T0000Z 20200615T0000Z 20200815T0000Z"),
    ),
    (
        "P1M!20200315T00",
        "20200115T00",
        None,
        "20200115T00",
        "20200601T00",
        zs("20200115T0000Z 20200215T0000Z 20200415T0000Z 20200515T0000Z"),
    ),
    (
        "P1Y",
        "20200229T00",
        None,
        "20200229T00",
        "20250301T00",
        zs(
            "20200229T0000Z 20210228T0000Z 20220228T0000Z 20230228T0000Z 20240228T0000Z "
            "20250228T0000Z"
        ),
    ),
    (
        "P1Y",
        "2020-01-31",
        None,
        "20200101",
        "20240601",
        zs("20200131T0000Z 20210131T0000Z 20220131T0000Z 20230131T0000Z 20240131T0000Z"),
    ),
    (
        "01T00",
        "20200115T00",
        None,
        "20200115T00",
        "20200601T00",
        zs("20200201T0000Z 20200301T0000Z 20200401T0000Z 20200501T0000Z 20200601T0000Z"),
    ),
    (
        "31T00",
        "20200115T00",
        None,
        "20200115T00",
        "20200601T00",
        zs("20200131T0000Z 20200229T0000Z 20200329T0000Z 20200429T0000Z 20200529T0000Z"),
    ),
    (
        "W-1T00",
        "20200115T00",
        None,
        "20200115T00",
        "20200301T00",
        zs(
            "20200120T0000Z 20200127T0000Z 20200203T0000Z 20200210T0000Z 20200217T0000Z "
            "20200224T0000Z"
        ),
    ),
    (
        "0101T00",
        "20200115T00",
        None,
        "20200115T00",
        "20240101T00",
        zs("20210101T0000Z 20220101T0000Z 20230101T0000Z 20240101T0000Z"),
    ),
    (
        "01T00/P1D",
        "20200115T00",
        None,
        "20200115T00",
        "20200203T00",
        zs("20200201T0000Z 20200202T0000Z 20200203T0000Z"),
    ),
    (
        "P1D!(2020-02-02, 2020-02-04)",
        "2020-01-31T00",
        None,
        "2020-01-31",
        "2020-02-06",
        zs("20200131T0000Z 20200201T0000Z 20200203T0000Z 20200205T0000Z 20200206T0000Z"),
    ),
    (
        "P1D!R2/2020-02-03/P1D",
        "2020-01-31T00",
        None,
        "2020-01-31",
        "2020-02-06",
        zs("20200131T0000Z 20200201T0000Z 20200202T0000Z 20200205T0000Z 20200206T0000Z"),
    ),
    # time zones: points are converted to, and written in, the workflow's zone
    (
        "PT6H",
        "20200115T00",
        "20200116T00",
        "20200115T00",
        "20200116T00",
        zs("20200115T0000+13 20200115T0600+13 20200115T1200+13 20200115T1800+13 20200116T0000+13"),
        "+13",
    ),
    (
        "PT6H",
        "20200115T00Z",
        "20200116T00Z",
        "20200115T00Z",
        "20200116T00Z",
        zs("20200115T1300+13 20200115T1900+13 20200116T0100+13 20200116T0700+13 20200116T1300+13"),
        "+13",
    ),
    (
        "T00",
        "20200101T00",
        "+P1D",
        "20200101T00",
        "20200102T00",
        zs("20200101T0000-0530 20200102T0000-0530"),
        "-0530",
    ),
    (
        "PT12H",
        "20200101T00",
        "+P1D",
        "20200101T00",
        "20200102T00",
        zs("20200101T0000+0000 20200101T1200+0000 20200102T0000+0000"),
        "+0000",
    ),
]


@pytest.mark.parametrize(
    ("rec", "icp", "fcp", "start", "stop", "expected", "tz"),
    [(*row, "Z") if len(row) == 6 else row for row in DATETIME_CASES],
)
def test_date_time_recurrences_match_cylc(rec, icp, fcp, start, stop, expected, tz):
    assert dt_points(rec, icp, fcp, start, stop, tz) == expected


# Recurrences Cylc refuses (each confirmed with cylc graph), and a word of our message.
INTEGER_ERRORS = [
    ("R1/$-P1", 10, "R1//-P1"),  # Cylc cannot offset $ here
    ("R1/^+P1", 10, "+P1"),
    ("P1!+P1", 10, "exclude"),
    ("P1!-P1", 10, "exclude"),
    ("P0", 10, "P0"),
    ("R3/1/5", 10, "R3/1/5"),
    ("R2//5", 10, "not an integer recurrence"),
    ("R/1/5", 10, "not an integer recurrence"),
    ("P1!3,5", 10, "'5'"),
    ("-P1", 10, "not an integer recurrence"),
    ("5", 10, "not an integer recurrence"),
    ("P2/P1", 10, "not an integer recurrence"),
    ("R3/1/5/", 10, "not an integer recurrence"),
    ("R1//", 10, "not an integer recurrence"),
    ("R", 10, "not an integer recurrence"),
    ("P 1", 10, "integer interval"),
    ("R1 /2", 10, "not an integer recurrence"),
    ("P1!3!5", 10, "one '!'"),
    ("P1!()", 10, "empty exclusion"),
    ("PT6H", 10, "date-time"),
    ("T00", 10, "date-time"),
    ("R1/2020-01-01", 10, "date-time"),
    ("", 10, "empty"),
    ("P1,", 10, "empty item"),
]


@pytest.mark.parametrize(("rec", "fcp", "word"), INTEGER_ERRORS)
def test_integer_recurrences_cylc_refuses(rec, fcp, word):
    with pytest.raises(RecurrenceError) as err:
        parse_recurrence(rec, INT, 1, fcp)
    assert word in str(err.value)
    assert err.value.fix


DATETIME_ERRORS = [
    ("-PT6H", "single date-time"),
    ("20200101T12", "R1/20200101T12"),
    ("^", "single date-time"),
    ("PT6H!+PT6H", "exclusion"),
    ("PT6H!-PT6H", "exclusion"),
    ("PT6H!", "empty exclusion"),
    ("PT6H!()", "empty exclusion"),
    ("PT6H!20", "2-digit"),
    ("PT6H!T06!T12", "one '!'"),
    ("P1D!(T00+P1D)", "exclusion"),
    ("R1/ T06", "spaces"),
    ("PT 6H", "spaces"),
    ("R0/^/PT6H", "R0"),
    ("R2/$/^", "before"),
    ("R2//$", "single date-time"),
    ("P1D/P2D", "not a date-time recurrence"),
    ("P-1D", "date-time interval"),
    ("PT30S", "minutes"),  # Cylc: degenerate sequence
    ("P1", "integer"),
    ("R1/3", "integer"),
    ("2/P2", "integer"),
    ("P2!5", "integer"),
    ("R999999999/P1M", "9999"),  # Cylc hangs on this one
]


@pytest.mark.parametrize(("rec", "word"), DATETIME_ERRORS)
def test_date_time_recurrences_cylc_refuses(rec, word):
    cyc = DateTimeCycling()
    with pytest.raises(RecurrenceError) as err:
        parse_recurrence(rec, cyc, cyc.point("20200101T00"), cyc.point("20200103T00"))
    assert word in str(err.value)
    assert err.value.fix
    assert repr(rec.strip()) in str(err.value)


@pytest.mark.parametrize(
    "rec", ["R1/$", "R1/P0", "R1//-P1", "R2/P2", "P2/$", "P2/-P1", "P2/5", "R/P2", "R1/P2"]
)
def test_integer_forms_that_need_a_final_point(rec):
    with pytest.raises(RecurrenceError, match="final cycle point") as err:
        parse_recurrence(rec, INT, 1, None)
    assert "final cycle point" in err.value.fix


@pytest.mark.parametrize(
    "rec",
    ["R1/$", "R1/P0D", "R1//-PT6H", "R2/PT6H", "PT12H/$", "PT6H/T12", "PT6H/-PT6H", "R/PT6H"],
)
def test_date_time_forms_that_need_a_final_point(rec):
    cyc = DateTimeCycling()
    with pytest.raises(RecurrenceError, match="final cycle point"):
        parse_recurrence(rec, cyc, cyc.point("20200101T00"), None)


def test_a_recurrence_must_be_text():
    with pytest.raises(RecurrenceError, match="must be text"):
        parse_recurrence(5, INT, 1, None)  # type: ignore[arg-type]


# -- the Sequence interface -------------------------------------------------------


def test_next_prev_contains_and_last_agree_with_the_points():
    seq = parse_recurrence("P3!(P2,7), R1/8", INT, 1, 20)
    pts = list(seq.points(1))
    assert pts == [4, 8, 10, 16]
    assert [seq.contains(p) for p in range(1, 21)] == [p in pts for p in range(1, 21)]
    assert [seq.next_point(p) for p in pts] == [*pts[1:], None]
    assert [seq.prev_point(p) for p in pts] == [None, *pts[:-1]]
    assert seq.last_point() == 16
    assert seq.first_point(11) == 16
    assert seq.prev_point(100) == 16
    assert isinstance(seq, Sequence)
    assert str(seq) == "P3!(P2,7), R1/8"


def test_points_outside_the_workflow_are_never_on_a_sequence():
    seq = parse_recurrence("P1", INT, 5, 8)
    assert not seq.contains(4)
    assert not seq.contains(9)
    assert seq.first_point(1) == 5
    assert seq.next_point(8) is None
    assert seq.prev_point(5) is None
    assert not seq.contains("5")  # type: ignore[arg-type]


def test_endless_sequences_have_no_last_point():
    assert parse_recurrence("P2", INT, 1, None).last_point() is None
    assert parse_recurrence("P2, R1/7", INT, 1, None).last_point() is None
    assert parse_recurrence("R3/2/P2, R1/9", INT, 1, None).last_point() == 9
    cyc = DateTimeCycling()
    init = cyc.point("20200131T00")
    assert parse_recurrence("P1M", cyc, init, None).last_point() is None
    last = parse_recurrence("P1M", cyc, init, cyc.point("20200601T00")).last_point()
    assert cyc.format(last) == "20200529T0000Z"


def test_first_point_is_arithmetic_far_from_the_start():
    seq = parse_recurrence("3/P7", INT, 1, None)
    assert seq.first_point(10**12) == 10**12 + (3 - 10**12) % 7
    assert seq.contains(3 + 7 * 10**11)
    excluded = parse_recurrence("P1!(P2, 2/P4)", INT, 1, 10**12)
    assert list(itertools.islice(excluded.points(1), 4)) == [4, 8, 12, 16]
    assert excluded.last_point() == 10**12
    cyc = DateTimeCycling()
    hourly = parse_recurrence("PT1H", cyc, cyc.point("20200101T0030"), None)
    assert cyc.format(hourly.first_point(cyc.point("20900101T0031"))) == "20900101T0130Z"


def test_a_hundred_thousand_integer_points():
    seq = parse_recurrence("P1", INT, 1, 100_000)
    assert sum(1 for _ in seq.points(1)) == 100_000


def test_everything_excluded_is_empty_not_endless():
    cyc = DateTimeCycling()
    init = cyc.point("20200101T00")
    for rec in ["P1M!P1M", "P1M!P1D", "PT1M!PT1M", "T00!T00", "P1W!T00"]:
        assert parse_recurrence(rec, cyc, init, None).first_point(init) is None
    for rec in ["P1!P1", "P3!(P2, 2/P2)", "P1!(P2,2/P4,4/P4)"]:
        assert parse_recurrence(rec, INT, 1, None).first_point(1) is None


def test_date_time_points_are_normalised_to_the_workflow_zone():
    cyc = DateTimeCycling("+13")
    seq = parse_recurrence("R1/20200101T00Z", cyc, cyc.point("20200101T00"), None)
    (point,) = list(seq.points(cyc.point("20200101T00"), cyc.point("20200102T00")))
    assert cyc.format(point) == "20200101T1300+13"
    assert point == cyc.point("20200101T13")
    assert seq.contains(cyc.point("20200101T00Z"))


# -- robustness -------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        *"RPT/!^$,()+-0123456789 DHMSWYZ:.",
        *("P1", "PT6H", "R1", "T00", "P1M", "R2", "min(", "W-1", "2020", "01T", "P9999Y"),
        *("R999999999", "99999999", "PT1M", "R/", "/P1D", "!(", "^+", "$-", "-P1D", "P0"),
    ]
)
_WORKFLOWS = [
    (INT, 1, 20),
    (INT, 3, None),
    (DateTimeCycling(), "20200131T00", "20200601T00"),
    (DateTimeCycling("-0530"), "20200229T06", None),
]


def _check_any_text(text: str) -> None:
    for cyc, icp, fcp in _WORKFLOWS:
        init = cyc.point(icp)
        fin = None if fcp is None else cyc.point(fcp)
        try:
            seq = parse_recurrence(text, cyc, init, fin)
        except CycleError:
            continue
        pts = list(itertools.islice(seq.points(init), 4))
        assert pts == sorted(set(pts))
        assert all(seq.contains(p) for p in pts)
        for p in pts:
            cyc.format(p)
        if pts:
            assert seq.first_point(init) == pts[0]
            assert seq.prev_point(pts[0]) is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=14))
def test_any_text_is_a_recurrence_or_a_recurrence_error(text):
    _check_any_text(text)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=8).map("".join))
def test_recurrence_like_text_is_a_recurrence_or_a_recurrence_error(text):
    _check_any_text(text)
