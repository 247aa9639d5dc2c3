"""Wall-clock and relative points resolved by prefect-cycles and by Cylc 8.5's own code.

``cylc graph`` resolves ``previous(T00)`` from the time it runs, so the
graphs cannot pin these; this runs Cylc's ``ingest_time`` and
``get_point_relative`` (in the suite's Cylc interpreter) and ours on the
same inputs and the same "now".
"""

from __future__ import annotations

import json
import subprocess

import pytest
from metomi.isodatetime.parsers import TimePointParser

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.cycling.wallclock import resolve_wall_clock

from .harness import Cylc

NOWS = ["20261201T1017Z", "20240229T2359Z", "20251231T0000Z", "20260104T0600Z"]
# Cylc 8.5.4 pins metomi-isodatetime below 3.2, which adds a truncated point to a
# full one differently (W-1 keeps the full point's time, --01 in January stays in
# the month): prefect_cycles.cycling.truncation does it Cylc's way, checked here
# on both kinds of truncation, whichever isodatetime is installed.

INITIAL = [
    "previous(T00)",
    "next(T00)",
    "previous(T-00) - PT2H",
    "previous(T-00)-PT7H",
    "next(T00;T12)",
    "previous(T06;T18)",
    "next(T-30)",
    "previous(-W-1) + PT6H",
    "next(--01)",
    "previous(--01)",
    "next(-W-1)",
    "previous(-W-7)",
    "previous(-00)",
    "PT1M",
    "-P1D",
    "T06",
    "20200101T00Z",
]
RELATIVE = [
    "T06",
    "T12",
    "01T00",
    "+P1D",
    "-PT6H",
    "W-1",
    "W-7T18",
    "--01",
    "--12",
    "--0301",
    "31T00",
    "-W01",
    "-W53-1",
    "-060",
    "T-30",
    "+P1M-P1D",
    "T00",
]

_SCRIPT = """
import json, sys
from cylc.flow.cycling.iso8601 import init, ingest_time, get_point_relative, ISO8601Point
init(time_zone="Z", assume_utc=True)
req = json.load(sys.stdin)
out = {"ingest": {}, "relative": {}}
for now in req["nows"]:
    for text in req["initial"]:
        out["ingest"][now + " " + text] = str(ISO8601Point(ingest_time(text, now)).standardise())
    base = ISO8601Point(now).standardise()
    for text in req["relative"]:
        out["relative"][now + " " + text] = str(get_point_relative(text, base).standardise())
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def cylc_answers(cylc: Cylc) -> dict:
    request = json.dumps({"nows": NOWS, "initial": INITIAL, "relative": RELATIVE})
    proc = subprocess.run(
        [str(cylc.python), "-c", _SCRIPT],
        input=request.encode(),
        env=cylc.env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return json.loads(proc.stdout)


@pytest.mark.parametrize("now", NOWS)
@pytest.mark.parametrize("text", INITIAL)
def test_initial_point_as_cylc_ingests_it(cylc_answers: dict, now: str, text: str) -> None:
    cyc = DateTimeCycling()
    ours = cyc.format(cyc.point(resolve_wall_clock(text, cyc, TimePointParser().parse(now))))
    assert ours == cylc_answers["ingest"][f"{now} {text}"]


@pytest.mark.parametrize("now", NOWS)
@pytest.mark.parametrize("text", RELATIVE)
def test_relative_point_as_cylc_reads_it(cylc_answers: dict, now: str, text: str) -> None:
    cyc = DateTimeCycling()
    point = cyc.final_point(text, cyc.point(now))
    assert point is not None and cyc.format(point) == cylc_answers["relative"][f"{now} {text}"]
