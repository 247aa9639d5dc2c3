"""The rich progress view, rendered to text from a tally driven by a real scheduler."""

from __future__ import annotations

import datetime as dt
import io
import re

from rich.console import Console

from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.run.scheduler import Scheduler
from prefect_cycles.show.progress import Outcome, ProgressView
from prefect_cycles.show.runner import expected_runs
from prefect_cycles.show.tally import Tally


def text(view: ProgressView) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(view)
    return console.export_text()


def test_a_live_view_shows_the_busy_points_and_counts_the_rest():
    wf = from_graph({"P1": "foo[-P1] => foo"}, 1, 40)
    tally = Tally(expected_runs(wf))
    sched = Scheduler(wf, runahead="P1")
    view = ProgressView(tally, wf.fmt, "chain", max_rows=5)
    tally.attach(sched)
    for _ in range(20):  # finish foo[1..20], one at a time
        (item,) = sched.ready()
        sched.finished(item.instance, True)
    shown = text(view)
    assert "... 19 earlier point(s), finished" in shown  # 20 is kept, just before the busy 21
    assert "... 16 later point(s)"  # 20 to 24 shown in shown
    assert "20/40 done" in shown and "left" in shown  # a stop point: time left is estimated
    view.clock_wait = (2, "foo[21]", dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    assert "Waiting for the clock: 2 instance(s); next foo[21] at 2030-01-01T00:00:00Z" in text(
        view
    )


def test_the_final_view_names_what_failed_and_why():
    wf = from_graph({"P1": "foo"}, 1, 2)
    tally = Tally(expected_runs(wf))
    view = ProgressView(tally, wf.fmt, "two")
    view.finish(Outcome("Failed", failed=[("foo[2]", "ValueError: no")], notes=["a note"]))
    shown = text(view)
    assert "Flow run Failed" in shown and "foo[2]: ValueError: no" in shown and "a note" in shown
    assert "left" not in shown  # no estimate once the run is over


def test_a_routed_optional_failure_shows_in_the_failed_column_as_handled():
    from prefect_cycles.graph.unroll import Instance

    wf = from_graph({"P1": "a:fail? => recover\na? => b"}, 1, 1)
    tally = Tally(expected_runs(wf))
    sched = Scheduler(wf)
    tally.attach(sched)
    view = ProgressView(tally, wf.fmt, "routed")
    (item,) = sched.ready()
    sched.finished(item.instance, False)
    for ready in sched.ready():
        sched.finished(ready.instance, True)
    tally.end()
    assert item.instance == Instance("a", 1)
    shown = text(view)
    row = next(line for line in shown.splitlines() if line.startswith("1 "))
    assert row.split() == ["1", "1", "0", "0", "1", "0", "1"]  # recover done, a failed, b not run
    assert "0 failed (1 handled)" in shown


def test_the_time_left_is_never_before_the_last_clock_time_waited_for():
    wf = from_graph({"P1": "foo"}, 1, 10)
    tally = Tally(expected_runs(wf))
    sched = Scheduler(wf)
    view = ProgressView(tally, wf.fmt, "clocked")
    tally.attach(sched)
    for ready in sched.ready()[:5]:
        sched.finished(ready.instance, True)  # five done at once: a fast rate
    now = dt.datetime.now(dt.timezone.utc)
    view.clock_last = now + dt.timedelta(hours=2)
    m = re.search(r"about (\d+):(\d\d):(\d\d) left", text(view))
    assert m is not None
    assert int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) >= 2 * 3600 - 60
