"""The per-point tally a progress view keeps, driven by a real scheduler."""

from __future__ import annotations

from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.unroll import Instance
from prefect_cycles.run.scheduler import Scheduler
from prefect_cycles.show.runner import expected_runs
from prefect_cycles.show.tally import Tally

SEED = {"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}


def drive(sched: Scheduler, fails=(), stop_at=None, running=()) -> None:
    """Start and finish instances one at a time, oldest first, until nothing is ready."""
    running = list(running)
    while True:
        running += [r.instance for r in sched.ready()]
        if not running:
            return
        inst = running.pop(0)
        sched.started(inst)
        sched.finished(inst, inst not in fails)
        if inst == stop_at:
            sched.stop_after(inst.point)


def table(tally: Tally) -> dict[int, tuple[int, ...]]:
    """point -> (total, done, running, waiting, failed, blocked, not_run)."""
    return {
        r.point: (r.total, r.done, r.running, r.waiting, r.failed, r.blocked, r.not_run)
        for r in tally.rows()
    }


def test_expected_runs_count_what_the_unrolled_graph_runs():
    wf = from_graph({**SEED, "P1": "foo[-P1] => foo => bar\nfoo[+P1] => baz"}, 1, 3)
    assert expected_runs(wf) == {1: 4, 2: 3, 3: 2}  # baz[3] never runs: foo[4] is past 3


def test_every_point_is_counted_although_the_scheduler_forgets_finished_ones():
    wf = from_graph(SEED, 1, 30)
    tally = Tally(expected_runs(wf))
    sched = Scheduler(wf, runahead="P1")
    tally.attach(sched)
    before = table(tally)
    assert before[1] == (3, 0, 0, 3, 0, 0, 0)  # nothing spawned yet: all waiting
    assert before[30] == (2, 0, 0, 2, 0, 0, 0)
    first = [r.instance for r in sched.ready()]
    assert table(tally)[1] == (3, 0, 1, 2, 0, 0, 0)  # prep[1] handed out
    drive(sched, running=first)
    tally.end()
    assert len(sched.remembered) < 10  # forgotten by the scheduler...
    rows = table(tally)
    assert rows[1] == (3, 3, 0, 0, 0, 0, 0)  # ...but not by the tally
    assert all(rows[p] == (2, 2, 0, 0, 0, 0, 0) for p in range(2, 31))
    overall = tally.overall()
    assert (overall.total, overall.done, overall.resolved) == (61, 61, 61)


def test_a_failure_leaves_failed_and_blocked_counts_at_the_end():
    wf = from_graph({"P1": "step[-P1] => step => check"}, 1, 3)
    tally = Tally(expected_runs(wf))
    sched = Scheduler(wf)
    tally.attach(sched)
    drive(sched, fails={Instance("step", 2)})
    assert table(tally)[3] == (2, 0, 0, 2, 0, 0, 0)  # waiting, while the run is on
    tally.end()
    assert table(tally) == {
        1: (2, 2, 0, 0, 0, 0, 0),
        2: (2, 0, 0, 0, 1, 1, 0),
        3: (2, 0, 0, 0, 0, 2, 0),
    }


def test_without_a_stop_point_totals_grow_as_points_spawn_and_a_stop_drops_the_rest():
    wf = from_graph(SEED, 1)  # endless
    tally = Tally()
    sched = Scheduler(wf, runahead="P2")
    tally.attach(sched)
    assert table(tally) == {}
    ready = [r.instance for r in sched.ready()]
    assert sorted(table(tally)) == [1, 2, 3]  # the runahead limit's points, as they spawn
    drive(sched, stop_at=Instance("foo", 5), running=ready)
    tally.end()
    rows = table(tally)
    assert rows[5] == (2, 2, 0, 0, 0, 0, 0)
    later = [p for p in rows if p > 5]
    assert later and all(rows[p][1] == 0 and rows[p][-1] == 2 for p in later)  # dropped
    assert not tally.known_total


def test_never_run_instances_count_as_not_run_and_outside_the_total():
    wf = from_graph({"P1": "foo\nfoo[+P1] => bar"}, 1, 2)
    tally = Tally(expected_runs(wf))
    tally.attach(sched := Scheduler(wf))
    drive(sched)
    tally.end()
    assert table(tally) == {1: (2, 2, 0, 0, 0, 0, 0), 2: (1, 1, 0, 0, 0, 0, 1)}


def test_points_held_back_by_the_runahead_limit_wait_and_are_not_blocked():
    wf = from_graph({"P1": "a => b"}, 1, 6)
    tally = Tally(expected_runs(wf))
    sched = Scheduler(wf, runahead="P1")
    tally.attach(sched)
    drive(sched, fails={Instance("a", 2)})
    tally.end()
    assert sched.stalled_by_runahead()
    rows = table(tally)
    assert rows[2] == (2, 0, 0, 0, 1, 1, 0)  # b[2] waits on the failed a[2]: blocked
    for p in (4, 5, 6):  # never spawned: the window could not move past point 2
        assert rows[p] == (2, 0, 0, 2, 0, 0, 0)


def test_a_routed_optional_failure_is_counted_as_handled():
    wf = from_graph({"P1": "a:fail? => recover\na? => b"}, 1, 2)
    tally = Tally(expected_runs(wf))
    sched = Scheduler(wf)
    tally.attach(sched)
    drive(sched, fails={Instance("a", 1)})
    tally.end()
    (first, second) = tally.rows()
    assert (first.failed, first.handled, first.blocked, first.waiting) == (0, 1, 0, 0)
    assert first.finished and tally.overall().handled == 1
    assert second.handled == 0 and second.done == 2
