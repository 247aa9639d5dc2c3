"""The scheduler on its own: release order, runahead, failures, stop, memory."""

from __future__ import annotations

import pytest

from prefect_cycles.errors import ValidationError
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.unroll import Instance
from prefect_cycles.run.scheduler import Scheduler

SEED = {"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}


def drive(sched: Scheduler, fails=(), stop_at=None, running=(), max_steps=100_000):
    """Run instances one at a time, oldest first; return the order they started in."""
    started: list[Instance] = []
    running = list(running)
    for _ in range(max_steps):
        running += [r.instance for r in sched.ready()]
        if not running:
            return started
        inst = running.pop(0)
        started.append(inst)
        sched.started(inst)
        sched.finished(inst, inst not in fails)
        if stop_at is not None and inst == stop_at:
            sched.stop_after(inst.point)
    raise AssertionError("did not settle")


def label(i: Instance) -> str:
    return f"{i.task}.{i.point}"


def test_seed_releases_cycles_as_soon_as_parents_finish():
    sched = Scheduler(from_graph(SEED, 1, 4))
    first = [label(r.instance) for r in sched.ready()]
    assert first == ["prep.1"]
    sched.started(Instance("prep", 1))
    sched.finished(Instance("prep", 1), True)
    assert [label(r.instance) for r in sched.ready()] == ["foo.1"]
    sched.finished(Instance("foo", 1), True)
    # bar.1 and foo.2 may run at the same time.
    both = sched.ready()
    assert sorted(label(r.instance) for r in both) == ["bar.1", "foo.2"]
    order = drive(sched, running=[r.instance for r in both])
    assert len(order) == 7
    assert sched.finished_everything()
    assert sched.succeeded == 9


def test_runahead_limits_active_points_counted_from_the_oldest_unfinished():
    wf = from_graph({"P1": "foo"}, 1, 20)
    sched = Scheduler(wf, runahead="P2")
    released = sched.ready()
    assert [r.instance.point for r in released] == [1, 2, 3]
    sched.finished(Instance("foo", 2), True)
    sched.finished(Instance("foo", 3), True)
    assert sched.ready() == []  # point 1 still holds the window
    sched.finished(Instance("foo", 1), True)
    assert [r.instance.point for r in sched.ready()] == [4, 5, 6]


def test_interval_runahead_in_datetime_cycling():
    wf = from_graph({"PT6H": "foo"}, "20200101T00Z", "20200105T00Z")
    sched = Scheduler(wf, runahead="PT12H")
    assert [wf.fmt(r.instance.point) for r in sched.ready()] == [
        "20200101T0000Z",
        "20200101T0600Z",
        "20200101T1200Z",
    ]


def test_failure_blocks_only_its_dependants_then_the_runahead_stalls():
    wf = from_graph({"P1": "foo[-P1] => foo => bar\nbaz"}, 1, 10)
    sched = Scheduler(wf, runahead="P2")
    order = drive(sched, fails={Instance("foo", 2)})
    ran = {label(i) for i in order}
    assert "bar.2" not in ran and "foo.3" not in ran
    assert {"baz.2", "baz.3", "baz.4"} <= ran  # independent work goes on...
    assert "baz.5" not in ran  # ...until the runahead limit from point 2 stalls it
    assert sched.failed == [Instance("foo", 2)]
    blocked = {label(i) for i, _ in sched.blocked()}
    assert {"bar.2", "foo.3"} <= blocked
    assert sched.stalled_by_runahead()
    assert not sched.finished_everything()


def test_optional_failure_routes_to_recovery_and_completes():
    wf = from_graph({"P1": "a? => b\na:fail? => recover"}, 1, 2)
    sched = Scheduler(wf)
    order = drive(sched, fails={Instance("a", 1)})
    ran = [label(i) for i in order]
    assert "recover.1" in ran and "b.1" not in ran
    assert "b.2" in ran and "recover.2" not in ran
    assert sched.failed == []
    # b.1 and recover.2 need outputs that did not come: skipped, as Cylc never spawns them.
    assert {label(i) for i in sched.skipped} == {"b.1", "recover.2"}
    assert sched.blocked() == []
    assert sched.finished_everything()


def test_started_output_releases_before_the_parent_finishes():
    wf = from_graph({"P1": "a:start => b"}, 1, 1)
    sched = Scheduler(wf)
    assert [label(r.instance) for r in sched.ready()] == ["a.1"]
    assert sched.waiting_for_started == [Instance("a", 1)]
    sched.started(Instance("a", 1))
    assert [label(r.instance) for r in sched.ready()] == ["b.1"]


def test_finish_trigger_fires_on_failure_too():
    wf = from_graph({"P1": "a:finish => b"}, 1, 1)
    sched = Scheduler(wf)
    order = drive(sched, fails={Instance("a", 1)})
    assert [label(i) for i in order] == ["a.1", "b.1"]
    assert sched.failed == []


def test_stop_after_ends_the_cycling_at_that_point():
    sched = Scheduler(from_graph(SEED, 1))  # endless
    order = drive(sched, stop_at=Instance("foo", 3))
    assert max(i.point for i in order) == 3
    assert "bar.3" in {label(i) for i in order}
    assert sched.finished_everything()


def test_structurally_impossible_instances_are_reported_not_waited_for():
    wf = from_graph({"P1": "foo\nfoo[+P1] => bar => baz"}, 1, 3)
    sched = Scheduler(wf)
    drive(sched)
    never = {label(i): why for i, why in sched.never_run}
    assert set(never) == {"bar.3", "baz.3"}
    assert "past the final point 3" in never["bar.3"]
    assert sched.finished_everything()


def test_endless_run_holds_bounded_memory():
    wf = from_graph({"R1": "prep", "P1": "prep[^] => foo\nfoo[-P2] => foo => bar"}, 1)
    sched = Scheduler(wf)
    sizes = []
    running: list[Instance] = []
    for _ in range(3000):
        running += [r.instance for r in sched.ready()]
        inst = running.pop(0)
        sched.finished(inst, True)
        sizes.append(len(sched.remembered))
    assert max(sizes[1000:]) <= 30
    assert Instance("prep", 1) in sched.remembered  # pinned by [^]


def test_bad_runahead_is_a_clear_error():
    with pytest.raises(ValidationError, match="runahead"):
        Scheduler(from_graph(SEED, 1, 4), runahead="lots")


def events_of(sched: Scheduler) -> list[tuple[str, str]]:
    """Subscribe to ``sched`` and return the live list of (instance, event) it fills."""
    seen: list[tuple[str, str]] = []
    sched.subscribe(lambda inst, event: seen.append((label(inst), event)))
    return seen


def test_subscribers_hear_every_instance_from_spawn_to_its_end():
    sched = Scheduler(from_graph(SEED, 1, 3))
    seen = events_of(sched)
    drive(sched)
    by_instance: dict[str, list[str]] = {}
    for name, event in seen:
        by_instance.setdefault(name, []).append(event)
    assert set(by_instance) == {"prep.1", "foo.1", "foo.2", "foo.3", "bar.1", "bar.2", "bar.3"}
    for events in by_instance.values():
        assert events == ["spawned", "submitted", "started", "succeeded"]


def test_subscribers_hear_failures_blocks_never_runs_and_drops():
    wf = from_graph({"P1": "foo[-P1] => foo => bar\nfoo[+P1] => baz"}, 1, 3)
    sched = Scheduler(wf)
    seen = events_of(sched)
    drive(sched, fails={Instance("foo", 2)})
    ends = {name: event for name, event in seen}
    assert ends["foo.2"] == "failed"
    assert ends["baz.3"] == "never_run"  # foo.4 is past the final point
    assert ends["bar.2"] == ends["foo.3"] == "spawned"  # blocked: still waiting

    sched = Scheduler(from_graph(SEED, 1))  # endless, stopped by foo.2
    seen = events_of(sched)
    drive(sched, stop_at=Instance("foo", 2))
    dropped = {name for name, event in seen if event == "dropped"}
    assert dropped and all(int(name.split(".")[1]) > 2 for name in dropped)


def test_optional_outcomes_are_failed_ok_and_skipped():
    sched = Scheduler(from_graph({"P1": "a? => b\na:fail? => recover"}, 1, 1))
    seen = events_of(sched)
    drive(sched, fails={Instance("a", 1)})
    assert ("a.1", "failed_ok") in seen and ("b.1", "skipped") in seen


def test_late_subscribers_get_the_latest_state_replayed():
    sched = Scheduler(from_graph(SEED, 1, 3))
    for item in sched.ready():
        sched.started(item.instance)
        sched.finished(item.instance, True)  # prep.1
    sched.ready()  # foo.1 submitted
    seen = events_of(sched)
    assert ("prep.1", "succeeded") in seen and ("foo.1", "submitted") in seen
    assert ("bar.1", "spawned") in seen and len(seen) == 7
