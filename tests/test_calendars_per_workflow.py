"""Two workflows of two calendars in one process, at the same time, in two threads.

metomi-isodatetime has one calendar per process; prefect_cycles.cycling.calendars
makes it the calendar of each thread's own workflow, so a 360day and a gregorian
workflow can be loaded together and run side by side without disturbing each
other's arithmetic.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flowruns import task_runs
from metomi.isodatetime.data import Duration, TimePoint
from prefect import task

from prefect_cycles.cycling.calendars import calendar_mode, use_calendar
from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.run.flow import cyclic_flow
from prefect_cycles.show.reference import window_reference_text

FLOW = """\
[scheduler]
    allow implicit tasks = True
[scheduling]
    cycling mode = {mode}
    initial cycle point = 20200227T00
    final cycle point = +P3D
    [[graph]]
        P1D = "a[-P1D] => a => b"
        R1/$ = "b => last"
"""


def _workflow_dir(tmp_path: Path, mode: str) -> Path:
    folder = tmp_path / mode
    folder.mkdir()
    (folder / "flow.cylc").write_text(FLOW.format(mode=mode))
    return folder


def test_one_threads_calendar_leaves_the_others_alone() -> None:
    """Raw isodatetime arithmetic in a thread keeps its own calendar while another switches."""
    switched, checked = threading.Barrier(2), threading.Barrier(2)

    def days_to_march(mode: str) -> tuple[str, str]:
        DateTimeCycling(calendar=mode)  # selects the calendar, as a workflow does
        switched.wait()  # both threads have set theirs
        march = TimePoint(year=2020, month_of_year=2, day_of_month=28) + Duration(days=2)
        checked.wait()
        return calendar_mode(), f"{march.month_of_year:02d}-{march.day_of_month:02d}"

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(days_to_march, "360day")
        b = pool.submit(days_to_march, "gregorian")
        assert a.result() == ("360day", "02-30")
        assert b.result() == ("gregorian", "03-01")


def test_a_thread_that_chose_no_calendar_is_gregorian() -> None:
    use_calendar("360day")
    try:
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(calendar_mode).result() == "gregorian"
        assert calendar_mode() == "360day"
    finally:
        use_calendar("gregorian")


def test_two_calendars_unrolled_together(tmp_path: Path) -> None:
    """Both loaded first, then unrolled in two threads at once, many times over."""
    wf360 = load_flow_cylc(_workflow_dir(tmp_path, "360day"))
    greg = load_flow_cylc(_workflow_dir(tmp_path, "gregorian"))
    alone = {
        "360": window_reference_text(wf360, "20200227T00", "20200301T00"),
        "greg": window_reference_text(greg, "20200227T00", "20200301T00"),
    }
    assert '"20200230T0000Z/a"' in alone["360"]
    assert '"20200301T0000Z/a"' in alone["greg"] and "20200230" not in alone["greg"]
    start = threading.Barrier(2)

    def again(key: str, wf: object) -> set[str]:
        start.wait()
        return {window_reference_text(wf, "20200227T00", "20200301T00") for _ in range(20)}

    with ThreadPoolExecutor(2) as pool:
        f360 = pool.submit(again, "360", wf360)
        fgreg = pool.submit(again, "greg", greg)
        assert f360.result() == {alone["360"]}
        assert fgreg.result() == {alone["greg"]}


@pytest.mark.usefixtures("prefect_server")
def test_two_calendars_run_as_flows_in_two_threads(tmp_path: Path) -> None:
    seen: dict[str, list[str]] = {"360day": [], "gregorian": []}

    def tasks(mode: str) -> list:
        @task(name="a")
        def a(point: dt.datetime | str) -> None:
            seen[mode].append(str(point))

        @task(name="b")
        def b(point: dt.datetime | str) -> None: ...

        @task(name="last")
        def last(point: dt.datetime | str) -> None: ...

        return [a, b, last]

    # both loaded in this thread before either runs
    flows = {
        mode: cyclic_flow(
            *tasks(mode), cylc=_workflow_dir(tmp_path, mode), name=f"two-calendars-{mode}"
        )
        for mode in ("360day", "gregorian")
    }
    start = threading.Barrier(2)

    def run(mode: str):
        start.wait()
        return flows[mode](return_state=True)

    with ThreadPoolExecutor(2) as pool:
        states = {mode: pool.submit(run, mode) for mode in flows}
        states = {mode: fut.result() for mode, fut in states.items()}
    assert all(s.is_completed() for s in states.values())
    runs360 = sorted(n for n in task_runs(states["360day"]) if n.startswith("a["))
    runs_greg = sorted(n for n in task_runs(states["gregorian"]) if n.startswith("a["))
    assert runs360 == [f"a[202002{d}T0000Z]" for d in (27, 28, 29, 30)]
    assert runs_greg == [
        "a[20200227T0000Z]",
        "a[20200228T0000Z]",
        "a[20200229T0000Z]",
        "a[20200301T0000Z]",
    ]
    assert len(seen["360day"]) == len(seen["gregorian"]) == 4
