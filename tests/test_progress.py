"""The rich progress view, rendered to text from a tally driven by a real scheduler."""

from __future__ import annotations

import datetime as dt
import io

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
