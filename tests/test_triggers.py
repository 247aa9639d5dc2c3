"""Runtime triggers without Prefect: custom and job outputs, completion, queues, clock-expire.

The scheduler is driven by hand here; tests/test_outputs_flow.py and
tests/test_triggers_flow.py run the same rules as real Prefect flow runs.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from prefect_cycles.errors import CycleError, GraphSyntaxError, ValidationError
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.frontends.graphstring import add_graph
from prefect_cycles.graph.completion import completion_for, default_expression
from prefect_cycles.graph.model import Workflow
from prefect_cycles.graph.unroll import Instance
from prefect_cycles.run.queues import Queues
from prefect_cycles.run.scheduler import Scheduler

UTC = dt.timezone.utc


def workflow(graph, initial=1, final=1, outputs=None, completion=None):
    wf = Workflow.create(initial, final)
    for task, names in (outputs or {}).items():
        wf.declare_outputs(task, names)
    add_graph(wf, graph)
    for task, expr in (completion or {}).items():
        wf.set_completion(task, expr)
    return wf


def names(ready) -> list[str]:
    return sorted(f"{r.instance.task}.{r.instance.point}" for r in ready)


# -- custom outputs ---------------------------------------------------------------------


def test_an_emitted_output_releases_its_children_while_the_task_runs():
    sched = Scheduler(
        workflow({"P1": "foo:out1 => bar\nfoo:out2? => baz"}, outputs={"foo": ["out1", "out2"]})
    )
    foo = Instance("foo", 1)
    assert names(sched.ready()) == ["foo.1"]
    sched.submitted(foo)
    sched.started(foo)
    assert sched.ready() == []
    assert sched.emitted(foo, "out1") and not sched.emitted(foo, "out1")  # news only once
    assert names(sched.ready()) == ["bar.1"]
    sched.finished(foo, True)  # out2 never came: baz is skipped, foo is complete
    assert [i.task for i in sched.skipped] == ["baz"]
    sched.finished(Instance("bar", 1), True)
    assert sched.finished_everything() and not sched.failed


def test_outputs_of_a_task_that_then_fails_still_count():
    sched = Scheduler(workflow({"P1": "foo:out1 => bar"}, outputs={"foo": ["out1"]}))
    foo = Instance("foo", 1)
    sched.ready()
    sched.emitted(foo, "out1")
    sched.finished(foo, False)
    assert names(sched.ready()) == ["bar.1"]
    assert sched.failed == [foo]  # its success was required


def test_a_required_output_never_emitted_blocks_only_what_needs_it():
    wf = workflow({"P1": "foo:out1 => bar\nfoo => other"}, outputs={"foo": ["out1"]})
    sched = Scheduler(wf)
    foo = Instance("foo", 1)
    sched.ready()
    sched.finished(foo, True)
    assert names(sched.ready()) == ["other.1"]
    assert sched.failed == [foo]  # incomplete: out1 is required
    assert [(i.task, why) for i, why in sched.blocked()] == [("bar", "waiting for foo[1]:out1")]


def test_and_of_two_outputs_waits_for_both():
    sched = Scheduler(workflow({"P1": "foo:x & foo:y => bar"}, outputs={"foo": ["x", "y"]}))
    foo = Instance("foo", 1)
    sched.ready()
    sched.emitted(foo, "x")
    assert sched.ready() == []
    sched.emitted(foo, "y")
    assert names(sched.ready()) == ["bar.1"]


def test_completion_expressions_judge_the_outputs_reached():
    wf = workflow(
        {"P1": "foo:x? => a\nfoo:y? => b"},
        outputs={"foo": ["x", "y"]},
        completion={"foo": "succeeded and (x or y)"},
    )
    comp = completion_for("foo", wf.outputs, wf.completion["foo"])
    assert comp.complete({"succeeded", "y"}) and not comp.complete({"succeeded"})
    assert not comp.complete({"failed", "x"})


@pytest.mark.parametrize(
    ("graph", "outputs", "expected"),
    [  # each checked against `cylc config -i [runtime][foo]completion` (Cylc 8.5.4)
        ({"P1": "foo => bar"}, {}, "succeeded"),
        ({"P1": "foo:out1 => bar"}, {"foo": ["out1"]}, "(out1 and succeeded)"),
        (
            {"P1": "foo:out1 => bar\nfoo:expire? => e"},
            {"foo": ["out1"]},
            "(out1 and succeeded) or expired",
        ),
        ({"P1": "foo? => bar"}, {}, "succeeded or failed"),
        (
            {"P1": "foo:x => bar\nfoo:fail? => r\nfoo? => s"},
            {"foo": ["x"]},
            "(x and succeeded) or failed",
        ),
        ({"P1": "foo:submit-fail? => bar\nfoo => s"}, {}, "succeeded or submit_failed"),
        ({"P1": "foo:fail => bar"}, {}, "failed"),
        ({"P1": "foo:start => bar"}, {}, "(started and succeeded)"),
        ({"P1": "foo:submit => bar"}, {}, "(submitted and succeeded)"),
    ],
)
def test_default_completion_is_cylcs(graph, outputs, expected):
    wf = workflow(graph, outputs=outputs)
    assert default_expression("foo", wf.outputs) == expected


@pytest.mark.parametrize(
    ("graph", "expr", "fragment"),
    [
        ({"P1": "foo:x => a"}, "succeeded", "foo:x is required in the graph, but not referenced"),
        (
            {"P1": "foo:x? => a"},
            "succeeded and x",
            "foo:x is optional in the graph (?), but required",
        ),
        ({"P1": "foo:x => a"}, "succeeded and x or failed", "required in the graph, but optional"),
        ({"P1": "foo:expire? => a"}, "succeeded", "permitted in the graph but the completion"),
        ({"P1": "foo => a"}, "succeeded or finished", "finished output can't be used"),
        ({"P1": "foo => a"}, "succeeded or submit-failed", "submit_failed, not submit-failed"),
        ({"P1": "foo => a"}, "succeeded and nope", "'nope' is not an output of foo"),
        ({"P1": "foo => a"}, "succeeded + 1", "uses BinOp"),
        ({"P1": "foo => a"}, "succeeded or succeed", "'succeeded', not 'succeed'"),
    ],
)
def test_completion_expressions_must_agree_with_the_graph(graph, expr, fragment):
    wf = workflow(graph, outputs={"foo": ["x"]})
    with pytest.raises(ValidationError) as exc:
        completion_for("foo", wf.outputs, expr)
    assert fragment in str(exc.value) and exc.value.fix


def test_custom_output_names_are_checked():
    with pytest.raises(ValidationError, match="name of a standard output"):
        workflow({"P1": "foo"}, outputs={"foo": ["failed"]})
    with pytest.raises(GraphSyntaxError, match="undefined custom output foo:out9"):
        workflow({"P1": "foo:out9 => bar"}, outputs={"foo": ["out1"]})


# -- job outputs ------------------------------------------------------------------------


def test_submitted_releases_children_when_the_runner_takes_the_task():
    sched = Scheduler(workflow({"P1": "foo:submit => bar"}))
    assert names(sched.ready()) == ["foo.1"]
    sched.submitted(Instance("foo", 1))
    assert names(sched.ready()) == ["bar.1"]


def test_submit_failed_routes_when_optional_and_blocks_when_not():
    sched = Scheduler(workflow({"P1": "foo:submit-fail? => recover\nfoo? => carry_on"}))
    sched.ready()
    sched.submit_failed(Instance("foo", 1))
    assert names(sched.ready()) == ["recover.1"]
    assert [i.task for i in sched.skipped] == ["carry_on"] and not sched.failed
    sched = Scheduler(workflow({"P1": "foo => carry_on"}))
    sched.ready()
    sched.submit_failed(Instance("foo", 1))
    assert sched.failed == [Instance("foo", 1)]  # incomplete: success was required


@pytest.mark.parametrize(
    ("graph", "fragment"),
    [
        ({"P1": "foo:submit & foo:submit-fail? => b"}, "foo:submitted and foo:submit-failed"),
        ({"P1": "foo:expired => b"}, "foo:expired must be optional"),
        ({"P1": "FAM:expire-all => b"}, "m1:expired must be optional"),
    ],
)
def test_job_output_rules_are_cylcs(graph, fragment):
    wf = Workflow.create(1, 1)
    with pytest.raises(CycleError) as exc:
        add_graph(wf, graph, families={"FAM": ["m1", "m2"]})
    assert fragment in str(exc.value)


def test_family_job_qualifiers_expand_to_members():
    wf = Workflow.create(1, 1)
    add_graph(
        wf,
        {"P1": "FAM:submit-fail-any? => r\nFAM:expire-all? => e\nFAM?"},
        families={"FAM": ["m1", "m2"]},
    )
    conds = {d.target: str(d.condition) for d in wf.dependencies}
    assert conds == {"r": "m1:submit-failed? | m2:submit-failed?", "e": "m1:expired? & m2:expired?"}


# -- clock-expire -----------------------------------------------------------------------


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def test_clock_expire_expires_waiting_instances_past_their_time():
    wf = Workflow.create("20300101T00Z", "20300101T12Z")
    add_graph(wf, {"PT6H": "@wall_clock => foo\nfoo:expire? => note"})
    wf.add_clock_expire("foo", "PT1H")
    clock = Clock(dt.datetime(2030, 1, 1, 6, 30, tzinfo=UTC))
    sched = Scheduler(wf, now=clock)
    # foo at 00 is past 01:00 and expires; foo at 06 is current; foo at 12 waits for the clock
    assert names(sched.ready()) == ["foo.20300101T0600Z", "note.20300101T0000Z"]
    clock.now = dt.datetime(2030, 1, 1, 13, 30, tzinfo=UTC)  # a catch-up after an outage
    assert names(sched.ready()) == ["note.20300101T1200Z"]
    assert [wf.fmt(i.point) for i in sched.expired] == ["20300101T0000Z", "20300101T1200Z"]
    assert not sched.failed


def test_an_expired_parent_ends_a_chain_as_in_cylc():
    wf = Workflow.create("20300101T00Z", "20300101T12Z")
    add_graph(wf, {"PT6H": "foo[-PT6H] => foo\nfoo:expire? => note"})
    wf.add_clock_expire("foo", "PT1H")
    clock = Clock(dt.datetime(2030, 1, 1, 0, 30, tzinfo=UTC))
    sched = Scheduler(wf, now=clock)
    assert names(sched.ready()) == ["foo.20300101T0000Z"]
    clock.now = dt.datetime(2030, 1, 1, 13, 30, tzinfo=UTC)
    sched.finished(Instance("foo", wf.initial), True)
    assert names(sched.ready()) == ["note.20300101T0600Z"]
    # foo at 12 needs foo at 06 to succeed; Cylc never spawns it, so it never runs
    assert [wf.fmt(i.point) for i in sched.skipped if i.task == "foo"] == ["20300101T1200Z"]


def test_an_expiry_the_graph_does_not_allow_leaves_the_instance_incomplete():
    wf = Workflow.create("20300101T00Z", "20300101T00Z")
    add_graph(wf, {"PT6H": "foo"})
    wf.add_clock_expire("foo", "PT1H")
    sched = Scheduler(wf, now=Clock(dt.datetime(2031, 1, 1, tzinfo=UTC)))
    assert sched.ready() == []
    assert sched.failed == sched.expired == [Instance("foo", wf.initial)]


def test_clock_expire_needs_date_time_cycling():
    with pytest.raises(ValidationError, match=r"clock-expire time.*integers"):
        workflow({"P1": "foo"}).add_clock_expire("foo", "PT1H")


# -- queues -----------------------------------------------------------------------------


def test_a_queue_holds_ready_instances_first_in_first_out():
    wf = workflow({"P1": "a & b & c & d"}, final=2)
    wf.add_queue("q", 2, ["a", "b", "c"])
    sched = Scheduler(wf)
    first = names(sched.ready())
    assert [n for n in first if n[0] == "d"] == ["d.1", "d.2"]
    assert len([n for n in first if n[0] in "abc"]) == 2
    held = [i for i, why in sched.blocked() if "queued in q (limit 2)" in why]
    assert len(held) == 4
    running = [r for r in first if r[0] in "abc"]
    task, point = running[0].split(".")
    sched.finished(Instance(task, int(point)), True)
    released = [n for n in names(sched.ready()) if n[0] in "abc"]
    assert len(released) == 1  # one slot freed, one released


def test_queues_last_assignment_wins():
    wf = workflow({"P1": "a & b"})
    wf.add_queue("one", 1, ["a", "b"])
    wf.add_queue("two", 0, ["b"])
    assert [(x.name, x.members) for x in wf.queues] == [("one", ("a",)), ("two", ("b",))]
    q = Queues(wf.queues)
    assert q.admit(Instance("b", 1)) and q.admit(Instance("b", 2))  # 0: no limit
    assert q.admit(Instance("a", 1)) and not q.admit(Instance("a", 2))


def test_flow_cylc_queues_outputs_completion_and_clock_expire(tmp_path):
    (tmp_path / "flow.cylc").write_text(
        textwrap.dedent(
            """
            [scheduling]
                initial cycle point = 20300101T00Z
                final cycle point = 20300102T00Z
                [[special tasks]]
                    clock-expire = FAM(PT1H), foo
                [[queues]]
                    [[[default]]]
                        limit = 3
                    [[[big]]]
                        limit = 1
                        members = FAM
                [[graph]]
                    P1D = '''
                        foo:out1 => bar
                        foo:expired? => bar
                        FAM:expire-all? => bar
                    '''
            [runtime]
                [[FAM]]
                    [[[outputs]]]
                        shared = "every member has it"
                [[m1, m2]]
                    inherit = FAM
                [[foo]]
                    completion = (succeeded and out1) or expired
                    [[[outputs]]]
                        out1 = "the first half is written"
                [[bar]]
            """
        )
    )
    wf = load_flow_cylc(tmp_path)
    notices = wf.notices
    assert not [n for n in notices if "queues" in n or "outputs" in n or "clock-expire" in n]
    assert wf.outputs.custom("foo") == {"out1": "the first half is written"}
    assert wf.outputs.custom("m1") == {"shared": "every member has it"}
    assert wf.completion == {"foo": "(succeeded and out1) or expired"}
    assert wf.clock_expire == {"m1": "PT1H", "m2": "PT1H", "foo": "PT0S"}
    assert [(q.name, q.limit, set(q.members)) for q in wf.queues] == [
        ("default", 3, {"foo", "bar"}),
        ("big", 1, {"m1", "m2"}),
    ]
    Scheduler(wf)  # the completion expression agrees with the graph


@pytest.mark.parametrize(
    ("key", "fix"), [("external-trigger", "xtrigger function"), ("sequential", "foo[-P1] => foo")]
)
def test_special_tasks_without_a_prefect_meaning_are_refused_with_what_to_use(tmp_path, key, fix):
    (tmp_path / "flow.cylc").write_text(
        "[scheduling]\n    cycling mode = integer\n    initial cycle point = 1\n"
        f'    [[special tasks]]\n        {key} = foo("x")\n'
        '    [[graph]]\n        P1 = "foo"\n'
    )
    with pytest.raises(CycleError) as exc:
        load_flow_cylc(tmp_path)
    assert f"{key} has no meaning in prefect-cycles" in str(exc.value) and fix in exc.value.fix


def test_inter_workflow_triggers_are_refused_pointing_at_workflow_state():
    with pytest.raises(GraphSyntaxError) as exc:
        workflow({"P1": "foo<other::bar> => baz"})
    assert "inter-workflow triggers" in str(exc.value) and "workflow_state" in exc.value.fix
