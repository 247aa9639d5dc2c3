"""Clock triggers without Prefect: offsets, the model, the scheduler's clock, both front ends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prefect import task

from prefect_cycles import wall_clock
from prefect_cycles.cycling.clock import clock_time, parse_call, parse_offset
from prefect_cycles.errors import CycleError, GraphSyntaxError, PointError, ValidationError
from prefect_cycles.frontends.decorators import all_of, any_of, build_workflow, cycle, previous
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.frontends.refs import WallClock
from prefect_cycles.graph.unroll import Instance, unroll
from prefect_cycles.run.scheduler import Scheduler
from prefect_cycles.show.reference import reference_text, window_reference_text

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand (the scheduler is pure: it only asks the time)."""

    def __init__(self, now: str) -> None:
        self.now = at(now)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: str) -> None:
        self.now = at(now)


def names(ready) -> list[str]:
    return [f"{r.instance.task}[{r.instance.point}]" for r in ready]


def finish(sched: Scheduler, ready) -> None:
    for r in ready:
        sched.started(r.instance)
        sched.finished(r.instance, True)


# -- offsets and times ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "text", "seconds"),
    [
        ("PT1H", "PT1H", 3600),
        ("-PT30M", "-PT30M", -1800),
        (" +PT10S ", "+PT10S", 10),
        ("'PT2M'", "PT2M", 120),
        (dt.timedelta(seconds=7), "PT7S", 7),
        (dt.timedelta(minutes=-90), "-PT5400S", -5400),
        (dt.timedelta(seconds=1.5), "PT1.5S", 1.5),
    ],
)
def test_clock_offsets_read_iso_durations_and_timedeltas(given, text, seconds):
    raw, dur = parse_offset(given)
    assert raw == text
    assert dur.get_seconds() == seconds


@pytest.mark.parametrize("bad", ["PT1X", "", "1H", "PTS", 5, None])
def test_a_bad_clock_offset_is_a_point_error_with_a_fix(bad):
    with pytest.raises(PointError, match="clock offset") as err:
        parse_offset(bad, task="foo")
    assert err.value.task == "foo"
    assert "PT1H" in err.value.fix


def test_clock_time_adds_calendar_offsets_and_respects_the_time_zone():
    wf = from_graph({"P1M": "foo"}, "20200131T00Z")
    assert clock_time(wf.initial, parse_offset("P1M")[1]) == at("2020-02-29T00:00:00")
    west = from_graph({"PT1H": "foo"}, "20200101T0000-05", time_zone="-05")
    assert clock_time(west.initial, parse_offset("PT90S")[1]) == at("2020-01-01T05:01:30")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wall_clock()", ("wall_clock", "PT0S")),
        ("wall_clock(PT1H)", ("wall_clock", "PT1H")),
        ("wall_clock(offset=PT1H)", ("wall_clock", "PT1H")),
        ("wall_clock(offset=-PT5M, sequential=False)", ("wall_clock", "-PT5M")),
        ('wall_clock(offset="PT1H"):PT10S', ("wall_clock", "PT1H")),
        ("xrandom(50)", ("xrandom", None)),
        ("my_check(%(point)s, x=1)", ("my_check", None)),
    ],
)
def test_xtrigger_declarations_are_read_as_cylc_writes_them(text, expected):
    assert parse_call(text, label="x") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wall_clock", "not a function call"),
        ("wall_clock(PT1X)", "not a clock offset"),
        ("wall_clock(PT1H, PT2H)", "does not take"),
        ("wall_clock(offset=PT1H, PT2H)", "does not take"),
        ("wall_clock(interval=PT1H)", "does not take"),
    ],
)
def test_bad_wall_clock_declarations_are_errors_with_a_fix(text, message):
    with pytest.raises(ValidationError, match=message) as err:
        parse_call(text, label="x")
    assert err.value.fix


def test_wall_clock_in_python_joins_with_and_but_never_with_or():
    clock = wall_clock("PT1H")
    assert clock == WallClock("PT1H") and str(clock) == "wall_clock(PT1H)"
    assert wall_clock(dt.timedelta(minutes=5)).offset == "PT300S"
    assert (clock & "foo") == all_of(clock, "foo")
    assert ("foo" & clock) == all_of("foo", clock)
    for combine in (lambda: clock | "foo", lambda: "foo" | clock, lambda: any_of("a", clock)):
        with pytest.raises(ValidationError, match="cannot be one side of '\\|'") as err:
            combine()
        assert "all_of" in err.value.fix or "&" in err.value.fix
    with pytest.raises(ValidationError, match="'\\|'"):
        any_of(all_of(clock, "a"), "b")
    with pytest.raises(PointError):
        wall_clock("soon")


# -- the model ------------------------------------------------------------------------


def test_the_model_holds_clock_triggers_plainly_and_times_them_per_point():
    wf = from_graph(
        {"PT6H": "@c1 & a => b", "T00": "@c2 => b"},
        "20200101T00Z",
        xtriggers={"c1": "wall_clock(PT1H)", "c2": wall_clock("PT2H")},
    )
    assert [(t.task, t.recurrence, t.offset, t.label, t.drawn) for t in wf.clock_triggers] == [
        ("b", "PT6H", "PT1H", "c1", True),
        ("b", "T00", "PT2H", "c2", True),
    ]
    # At 00Z both hold and the later time wins; at 06Z only the PT6H one applies.
    assert wf.clock_time("b", wf.cycling.point("20200101T00Z")) == at("2020-01-01T02:00:00")
    assert wf.clock_time("b", wf.cycling.point("20200101T06Z")) == at("2020-01-01T07:00:00")
    assert wf.clock_time("a", wf.cycling.point("20200101T06Z")) is None
    # A new window keeps them.
    assert wf.with_window(final="20200102T00Z").clock_triggers == wf.clock_triggers


def test_a_clock_trigger_in_integer_cycling_names_the_task_and_the_fix():
    wf = from_graph({"P1": "foo"}, 1, 3)
    with pytest.raises(ValidationError, match="cycles in integers") as err:
        wf.add_clock_trigger("foo", "P1", "PT1H")
    assert err.value.task == "foo"
    assert "date-time cycling" in err.value.fix


def test_the_unrolled_graph_marks_the_instances_a_clock_holds():
    wf = from_graph({"PT12H": "@wall_clock => foo => bar"}, "20200101T00Z", "20200101T12Z")
    g = unroll(wf)
    foo0 = Instance("foo", wf.cycling.point("20200101T00Z"))
    bar0 = Instance("bar", foo0.point)
    assert [t.label for t in g.nodes[foo0]["clock_triggers"]] == ["wall_clock"]
    assert g.nodes[bar0]["clock_triggers"] == ()
    assert reference_text(g, wf) == window_reference_text(wf)
    assert '"20200101T0000Z/@wall_clock" "20200101T0000Z/foo"' in reference_text(g, wf)


# -- the scheduler with a fake clock ---------------------------------------------------


def test_an_instance_waits_for_its_clock_time_then_starts():
    wf = from_graph(
        {"PT1H": "@late => foo"},
        "20200101T00Z",
        "20200101T02Z",
        xtriggers={"late": "wall_clock(PT30M)"},
    )
    clock = FakeClock("2020-01-01T01:10:00")
    sched = Scheduler(wf, now=clock)
    # 00Z is due at 00:30 (past: catch-up); 01Z at 01:30; 02Z at 02:30.
    assert names(sched.ready()) == ["foo[20200101T0000Z]"]
    assert sched.next_clock() == at("2020-01-01T01:30:00")
    assert [(i.task, due) for i, due in sched.waiting_for_clock()] == [
        ("foo", at("2020-01-01T01:30:00")),
        ("foo", at("2020-01-01T02:30:00")),
    ]
    clock.set("2020-01-01T01:29:59")
    assert sched.ready() == []
    clock.set("2020-01-01T01:30:00")
    assert names(sched.ready()) == ["foo[20200101T0100Z]"]
    assert sched.next_clock() == at("2020-01-01T02:30:00")
    clock.set("2020-01-01T03:00:00")
    assert names(sched.ready()) == ["foo[20200101T0200Z]"]
    assert sched.next_clock() is None and sched.waiting_for_clock() == []


def test_points_already_past_all_start_at_once_in_order():
    wf = from_graph({"PT1H": "@wall_clock => foo"}, "20200101T00Z", "20200101T04Z")
    sched = Scheduler(wf, runahead="P10", now=FakeClock("2021-01-01T00:00:00"))
    assert [r.instance.point for r in sched.ready()] == sorted(
        wf.cycling.point(f"20200101T0{h}Z") for h in range(5)
    )
    assert sched.next_clock() is None


def test_a_clock_trigger_and_prerequisites_must_both_hold():
    wf = from_graph({"PT1H": "@wall_clock & a => b"}, "20200101T00Z", "20200101T00Z")
    clock = FakeClock("2019-12-31T23:00:00")
    sched = Scheduler(wf, now=clock)
    ready = sched.ready()
    assert names(ready) == ["a[20200101T0000Z]"]
    assert sched.next_clock() is None  # b is still waiting for a, not for the clock
    finish(sched, ready)
    assert sched.ready() == []
    assert sched.next_clock() == at("2020-01-01T00:00:00")
    assert [why for _, why in sched.blocked()] == [
        "waiting for the clock until 2020-01-01T00:00:00+00:00"
    ]
    clock.set("2020-01-01T00:00:00")
    finish(sched, sched.ready())
    assert sched.finished_everything() and sched.succeeded == 2


def test_a_clock_waiting_instance_holds_its_cycle_in_the_runahead_window():
    # bar has no clock; foo waits for it. With runahead P1 only two points are
    # active, so bar cannot run ahead past a point whose foo still waits.
    wf = from_graph({"PT1H": "@wall_clock => foo\nbar"}, "20200101T00Z", "20200101T05Z")
    clock = FakeClock("2020-01-01T00:30:00")
    sched = Scheduler(wf, runahead="P1", now=clock)
    first = sched.ready()
    assert sorted(names(first)) == [
        "bar[20200101T0000Z]",
        "bar[20200101T0100Z]",
        "foo[20200101T0000Z]",
    ]
    finish(sched, first)
    second = sched.ready()  # 00Z is done: the window is 01Z and 02Z
    assert names(second) == ["bar[20200101T0200Z]"]
    finish(sched, second)
    assert sched.ready() == []  # 01Z still holds foo (due at 01:00): 03Z is not spawned
    assert sched.stalled_by_runahead()
    clock.set("2020-01-01T01:00:00")
    released = sched.ready()
    assert names(released) == ["foo[20200101T0100Z]"]
    finish(sched, released)
    assert names(sched.ready()) == ["bar[20200101T0300Z]"]
    assert [i.point for i, _ in sched.waiting_for_clock()] == [
        wf.cycling.point("20200101T02Z"),
        wf.cycling.point("20200101T03Z"),
    ]


def test_stopping_drops_instances_waiting_for_the_clock():
    wf = from_graph({"PT1H": "@wall_clock => foo"}, "20200101T00Z", "20200101T03Z")
    sched = Scheduler(wf, now=FakeClock("2020-01-01T00:00:00"))
    ready = sched.ready()
    assert names(ready) == ["foo[20200101T0000Z]"]
    sched.stop_after(ready[0].instance.point)
    finish(sched, ready)
    assert sched.next_clock() is None and sched.waiting_for_clock() == []
    assert sched.finished_everything()


# -- graph strings and flow.cylc --------------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "initial", "xtriggers", "message"),
    [
        ({"P1": "@wall_clock => a"}, 1, None, "needs date-time cycling"),
        ({"PT1H": "@x => a"}, "2020-01-01", None, "xtrigger @x is not defined"),
        ({"PT1H": "@x => a"}, "2020-01-01", {"x": "xrandom(50"}, "is not a function call"),
        ({"PT1H": "@x => a"}, "2020-01-01", {"x": "wall_clock(PT1X)"}, "not a clock offset"),
        ({"PT1H": "@x | b => a"}, "2020-01-01", {"x": "wall_clock()"}, "conditional"),
        ({"PT1H": "(@x & b) | c => a"}, "2020-01-01", None, "conditional"),
        ({"PT1H": "a => @wall_clock"}, "2020-01-01", None, "on the right"),
        ({"PT1H": "@x => x"}, "2020-01-01", {"x": "wall_clock()"}, "names clash"),
        ({"PT1H": "a"}, "2020-01-01", {"_cylc_x": "wall_clock()"}, "invalid xtrigger name"),
        ({"PT1H": "a"}, "2020-01-01", {"x": 5}, "must be declared as text"),
    ],
)
def test_graph_string_clock_errors_name_the_task_and_the_fix(graph, initial, xtriggers, message):
    with pytest.raises(GraphSyntaxError, match=message) as err:
        from_graph(graph, initial, xtriggers=xtriggers)
    assert err.value.fix
    if "=> a" in next(iter(graph.values())):
        assert err.value.task == "a"


def write_flow(tmp_path: Path, scheduling: str, runtime: str = "") -> Path:
    body = "[scheduler]\n    allow implicit tasks = True\n[scheduling]\n" + scheduling
    (tmp_path / "flow.cylc").write_text(body + (f"\n[runtime]\n{runtime}" if runtime else ""))
    return tmp_path


def test_flow_cylc_xtriggers_become_clock_triggers(tmp_path):
    path = write_flow(
        tmp_path,
        """    initial cycle point = 20200101T00Z
    final cycle point = 20200102T00Z
    [[xtriggers]]
        clock_1 = wall_clock(offset=PT1H)
        clock_2 = wall_clock(PT2H)
        clock_0 = wall_clock()
        unused = xrandom(50)
    [[graph]]
        PT12H = \"\"\"
            @clock_1 => foo => bar
            @clock_2 & foo[-PT12H] => baz
            @wall_clock => qux
            @clock_0 => foo
        \"\"\"
""",
    )
    wf = load_flow_cylc(path)
    notices = wf.notices
    assert [(t.task, t.offset, t.label) for t in wf.clock_triggers] == [
        ("foo", "PT1H", "clock_1"),
        ("baz", "PT2H", "clock_2"),
        ("qux", "PT0S", "wall_clock"),
        ("foo", "PT0S", "clock_0"),
    ]
    assert any(n.startswith("[scheduling][xtriggers]unused ignored") for n in notices)
    assert not any("clock_1" in n for n in notices)


def test_the_old_clock_trigger_form_is_upgraded_as_cylc_8_does(tmp_path):
    path = write_flow(
        tmp_path,
        """    initial cycle point = 20200101T00Z
    final cycle point = 20200102T00Z
    [[special tasks]]
        clock-trigger = foo(PT1H), bar, FAM(-PT2H), nosuch(PT1H)
    [[graph]]
        PT12H = foo => bar => m1 & m2
        T06 = foo
""",
        "    [[FAM]]\n    [[m1, m2]]\n        inherit = FAM\n",
    )
    wf = load_flow_cylc(path)
    notices = wf.notices
    got = [(t.task, t.recurrence, t.offset, t.label, t.drawn) for t in wf.clock_triggers]
    assert got == [
        ("foo", "PT12H", "PT1H", "_cylc_wall_clock_foo", False),
        ("foo", "T06", "PT1H", "_cylc_wall_clock_foo", False),
        ("bar", "PT12H", "PT0S", "_cylc_wall_clock_bar", False),
        ("m1", "PT12H", "-PT2H", "_cylc_wall_clock_m1", False),
        ("m2", "PT12H", "-PT2H", "_cylc_wall_clock_m2", False),
    ]
    assert any("nosuch is not in the graph" in n for n in notices)
    # cylc graph draws no node for the old form.
    assert "@" not in window_reference_text(wf)


@pytest.mark.parametrize(
    ("scheduling", "message"),
    [
        (
            "    cycling mode = integer\n    [[graph]]\n        P1 = @wall_clock => foo\n",
            "needs date-time cycling",
        ),
        (
            "    cycling mode = integer\n    [[special tasks]]\n        clock-trigger = foo\n"
            "    [[graph]]\n        P1 = foo\n",
            "needs date-time cycling",
        ),
        (
            "    initial cycle point = 2020\n    [[special tasks]]\n        clock-trigger = "
            "foo(PTX)\n    [[graph]]\n        P1D = foo\n",
            "illegal clock-trigger offset",
        ),
        (
            "    initial cycle point = 2020\n    [[special tasks]]\n        clock-trigger = "
            "foo(PT1H\n    [[graph]]\n        P1D = foo\n",
            "illegal clock-trigger spec",
        ),
        (
            "    initial cycle point = 2020\n    [[xtriggers]]\n        x = echo(hi):PT0S\n"
            "    [[graph]]\n        P1D = @x => foo\n",
            "its interval PT0S is not positive",
        ),
    ],
)
def test_flow_cylc_clock_errors_are_clear(tmp_path, scheduling, message):
    with pytest.raises(CycleError, match=message) as err:
        load_flow_cylc(write_flow(tmp_path, scheduling))
    assert err.value.fix
    assert str(tmp_path) in str(err.value)


# -- decorators ------------------------------------------------------------------------


@task
def obs(point):
    return point


@cycle("PT6H", after=[wall_clock("PT1H"), previous()])
@task
def fcst(point):
    return point


@cycle("PT6H", after=wall_clock() & obs)
@task
def post(point):
    return point


def test_decorators_give_the_same_model_as_the_graph_string():
    wf = build_workflow(fcst, post, initial="20200101T00Z", final="20200101T12Z")
    text = from_graph(
        {"PT6H": "@c1 & fcst[-PT6H] => fcst\n@wall_clock & obs => post"},
        "20200101T00Z",
        "20200101T12Z",
        xtriggers={"c1": "wall_clock(PT1H)"},
    )
    assert [(d.recurrence, str(d.condition), d.target) for d in wf.dependencies] == [
        (d.recurrence, str(d.condition), d.target) for d in text.dependencies
    ]
    assert [(t.task, t.recurrence, t.offset) for t in wf.clock_triggers] == [
        (t.task, t.recurrence, t.offset) for t in text.clock_triggers
    ]
    assert [t.label for t in wf.clock_triggers] == ["wall_clock(PT1H)", "wall_clock"]
    point = wf.cycling.point("20200101T06Z")
    assert wf.clock_time("fcst", point) == at("2020-01-01T07:00:00")


def test_a_clock_trigger_alone_puts_the_task_on_the_recurrence():
    @cycle("PT1H", after=wall_clock("-PT5M"))
    @task
    def poll(point):
        return point

    wf = build_workflow(poll, initial="20200101T00Z")
    assert wf.tasks["poll"].recurrences == ["PT1H"] and wf.dependencies == []
    assert wf.clock_time("poll", wf.initial) == at("2019-12-31T23:55:00")


def test_a_decorator_clock_trigger_in_integer_cycling_names_the_task_and_the_fix():
    @cycle("P1", after=wall_clock())
    @task
    def tick(point):
        return point

    with pytest.raises(ValidationError, match="cycles in integers") as err:
        build_workflow(tick, initial=1, final=3)
    assert err.value.task == "tick"
    assert "date-time cycling" in err.value.fix


def test_cyclic_flow_passes_graph_xtriggers_to_the_model():
    from prefect_cycles import cyclic_flow

    flow = cyclic_flow(
        obs,
        graph={"PT6H": "@c & obs[-PT6H] => obs"},
        xtriggers={"c": "wall_clock(offset=PT10M)"},
        initial="20200101T00Z",
        name="clock-graph",
    )
    assert [(t.task, t.offset, t.label) for t in flow.workflow.clock_triggers] == [
        ("obs", "PT10M", "c")
    ]


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_declaration_or_offset_text_reads_or_fails_in_the_family(text):
    for read in (lambda: parse_call(text, label="x"), lambda: parse_offset(text)):
        try:
            read()
        except CycleError as exc:
            assert exc.fix


@given(
    st.sampled_from(["@x => a", "@x & b => a", "@wall_clock => a", "@x | b => a", "a => @x"]),
    st.one_of(st.text(max_size=30), st.sampled_from(["wall_clock(PT1H)", "wall_clock()"])),
)
@settings(max_examples=200, deadline=None)
def test_graphs_with_any_xtrigger_declaration_read_or_fail_in_the_family(graph, declaration):
    try:
        wf = from_graph({"PT1H": graph}, "20200101T00Z", xtriggers={"x": declaration})
    except CycleError as exc:
        assert exc.fix
    else:  # a clock trigger (wall_clock) or a function xtrigger (any other call, e.g. A())
        assert [t.task for t in (*wf.clock_triggers, *wf.xtriggers)] == ["a"]
