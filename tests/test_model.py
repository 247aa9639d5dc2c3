"""The model's one home for Cylc 8's rules on required and optional outputs.

Both front ends report each use of a task output to the workflow
(:meth:`Workflow.use_output`, or :meth:`Workflow.add_dependency`); these tests
drive the rules through that API alone. Each verdict matches ``cylc validate``
(cylc-flow 8.5.4) on the graph named in the test.
"""

from __future__ import annotations

import pytest

from prefect_cycles.cycling.points import IntegerCycling
from prefect_cycles.errors import CycleError, GraphSyntaxError, ValidationError
from prefect_cycles.graph.conditions import AnyOf, Offset, Trigger
from prefect_cycles.graph.model import Workflow
from prefect_cycles.graph.outputs import OutputConflictError, Outputs, check_finish, output_name

INT = IntegerCycling()
HERE, THERE = "graph section 'P1', line 1", "@cycle('P2') on task 't'"


def wf() -> Workflow:
    return Workflow.create(1, 4)


def refused(*uses: tuple) -> CycleError:
    """The error the last of ``uses`` (task, output, optional, where[, family]) raises."""
    w = wf()
    with pytest.raises(CycleError) as exc:
        for task, output, optional, where, *family in uses:
            w.use_output(task, output, optional, where, family=bool(family and family[0]))
    return exc.value


def table(*uses: tuple, task: str = "a") -> dict[str, bool]:
    w = wf()
    for t, output, optional, where, *family in uses:
        w.add_task(t)
        w.use_output(t, output, optional, where, family=bool(family and family[0]))
    return w.tasks[task].optional


# -- one output, required or optional -------------------------------------------------


def test_an_output_is_required_or_optional_everywhere():
    # P1 = "a => b \n a? => c": refused by cylc validate
    err = refused(("a", "succeeded", False, HERE), ("a", "succeeded", True, THERE))
    assert isinstance(err, OutputConflictError)
    msg = str(err)
    assert msg.startswith(f"output a:succeeded is optional in {THERE} but required in {HERE}")
    assert "a:succeeded can't be both required and optional" in msg
    assert err.task == "a"
    assert "'?'" in err.fix and "optional=True" in err.fix
    assert table(("a", "succeeded", True, HERE), ("a", "succeeded", True, THERE)) == {
        "succeeded": True
    }


def test_a_conflict_is_both_a_graph_and_a_validation_error():
    # graph strings have always raised GraphSyntaxError, decorators ValidationError
    err = refused(("a", "started", False, HERE), ("a", "started", True, THERE))
    assert isinstance(err, GraphSyntaxError) and isinstance(err, ValidationError)
    assert "a:started can't be both required and optional" in str(err)


def test_aliases_are_the_same_output():
    err = refused(("a", "succeed", False, HERE), ("a", "succeeded", True, THERE))
    assert "a:succeeded can't be both" in str(err)


def test_start_without_a_question_mark_is_required():
    # P1 = "a:start => b": started required, success still required
    assert table(("a", "started", False, HERE)) == {"succeeded": False, "started": False}
    assert table(("a", "started", True, HERE)) == {"succeeded": False, "started": True}


def test_every_use_counts_left_right_and_with_offsets():
    # P1 = "a[-P1]:fail? => b \n a => c": refused (the offset use counts)
    w = wf()
    w.add_dependency("P1", "b", Trigger("a", Offset.parse("-P1", INT), "failed", True))
    with pytest.raises(OutputConflictError) as exc:
        w.add_dependency("P1", "c", Trigger("a"))
    msg = str(exc.value)
    assert "outputs a:succeeded and a:failed are both used, so both must be optional" in msg
    assert "dependency 'a => c'" in msg and "dependency 'a[-P1]:failed? => b'" in msg


# -- succeeded and failed ---------------------------------------------------------------


def test_succeeded_and_failed_both_used_must_both_be_optional():
    # P1 = "a => b \n a:fail? => c": refused
    err = refused(("a", "succeeded", False, HERE), ("a", "failed", True, THERE))
    msg = str(err)
    assert "outputs a:succeeded and a:failed are both used, so both must be optional" in msg
    assert f"a:failed is optional in {THERE}" in msg
    assert f"a:succeeded is required in {HERE}" in msg
    assert "a? and a:fail?" in err.fix and "a:finish" in err.fix
    # P1 = "a? => b \n a:fail? => c": accepted
    both = (("a", "succeeded", True, HERE), ("a", "failed", True, THERE))
    assert table(*both) == {"succeeded": True, "failed": True}


def test_success_is_required_by_default_unless_succeeded_or_failed_is_used():
    # P1 = "a:fail => b": a may succeed or fail
    assert table(("a", "failed", False, HERE)) == {"succeeded": True, "failed": False}
    # P1 = "a:start => b", "R1 = a": success required
    assert table(("a", "started", True, HERE)) == {"succeeded": False, "started": True}
    w = wf()
    w.add_task("a", "R1")
    assert w.tasks["a"].optional == {"succeeded": False}


# -- :finish ----------------------------------------------------------------------------


def test_finish_makes_succeeded_and_failed_optional():
    # P1 = "a:finish => b \n a? => c": accepted
    assert table(("a", "finished", False, HERE), ("a", "succeeded", True, THERE)) == {
        "succeeded": True,
        "failed": True,
        "finished": True,
    }
    # P1 = "a:finish => b \n a => c": refused
    err = refused(("a", "finished", False, HERE), ("a", "succeeded", False, THERE))
    assert f"a:succeeded is required in {THERE} but optional in {HERE}" in str(err)
    assert "':finish' makes succeeded and failed optional" in err.fix


def test_finish_can_not_be_optional():
    # P1 = "a:finish? => b": refused
    err = refused(("a", "finished", True, HERE))
    assert type(err) is GraphSyntaxError
    assert str(err).startswith(f"pseudo-output a:finish can't be optional in {HERE}")
    assert err.task == "a" and "drop the '?'" in err.fix
    with pytest.raises(GraphSyntaxError, match=r"family pseudo-output FAM:finish-all can't"):
        check_finish("FAM", "finish-all", True, HERE, family=True)
    check_finish("a", "finished", False)  # no '?': fine


# -- family triggers ---------------------------------------------------------------------


def test_a_family_trigger_only_sets_a_default_that_a_plain_use_overrides():
    # P1 = "FAM:succeed-all => x \n m1? => y": accepted, m1 optional
    fam = ("m1", "succeeded", False, HERE, True)
    plain = ("m1", "succeeded", True, THERE)
    assert table(fam, plain, task="m1") == {"succeeded": True}
    assert table(plain, fam, task="m1") == {"succeeded": True}
    assert table(fam, task="m1") == {"succeeded": False}


def test_family_triggers_that_disagree_are_an_error():
    # P1 = "FAM:succeed-all => x \n FAM:succeed-all? => y": refused
    err = refused(("m1", "succeeded", False, HERE, True), ("m1", "succeeded", True, THERE, True))
    msg = str(err)
    assert "output m1:succeeded defaults to both required and optional through family" in msg
    assert f"optional in {THERE} but required in {HERE}" in msg
    assert err.task == "m1" and "mention" not in err.fix and "m1" in err.fix


def test_family_defaults_count_for_succeeded_and_failed():
    # P1 = "FAM:finish-all => x \n m1 => y": refused (via family trigger defaults)
    err = refused(("m1", "finished", False, HERE, True), ("m1", "succeeded", False, THERE))
    assert "(via family trigger defaults)" in str(err)
    assert f"m1:failed defaults to optional in {HERE}" in str(err)
    # P1 = "FAM:succeed-all? => x \n m1 => y \n FAM:fail-any? => z": refused (via family trigger)
    err = refused(
        ("m1", "succeeded", True, "line 1", True),
        ("m1", "succeeded", False, "line 2"),
        ("m1", "failed", True, "line 3", True),
    )
    assert "(via family trigger):" in str(err)
    assert "m1:succeeded is required in line 2" in str(err)


# -- through the workflow -------------------------------------------------------------------


def test_add_dependency_uses_the_target_output_it_is_given():
    # P1 = "x => b:fail": Cylc leaves b's success unset, so b may succeed or fail
    w = wf()
    w.add_dependency("P1", "b", Trigger("x"), target_output="failed")
    assert w.tasks["b"].optional == {"succeeded": True, "failed": False}
    # P1 = "x => b?": the default target output is succeeded
    w.add_dependency("P1", "c", Trigger("x"), target_optional=True)
    assert w.tasks["c"].optional == {"succeeded": True}
    assert w.tasks["x"].optional == {"succeeded": False}


def test_add_dependency_checks_the_rules_and_names_both_dependencies():
    w = wf()
    w.add_dependency("P1", "b", Trigger("a"), source="a => b")
    with pytest.raises(ValidationError) as exc:
        w.add_dependency("P1", "c", Trigger("a", optional=True), source="a? => c")
    assert str(exc.value).startswith(
        "output a:succeeded is optional in dependency 'a? => c' but required in dependency 'a => b'"
    )


def test_a_finish_trigger_reads_as_optional():
    w = wf()
    w.add_dependency("P1", "b", Trigger("a", output="finished", optional=True))
    assert w.tasks["a"].optional == {"succeeded": True, "failed": True, "finished": True}


def test_settle_gives_each_trigger_the_workflows_verdict():
    w = wf()
    w.use_output("m1", "succeeded", False, HERE, family=True)
    w.use_output("m1", "succeeded", True, THERE)
    w.use_output("a", "finished", False, HERE)
    cond = w.settle(AnyOf((Trigger("m1"), Trigger("a", output="finished"))))
    assert cond == AnyOf(
        (Trigger("m1", optional=True), Trigger("a", output="finished", optional=True))
    )


def test_uses_can_be_checked_on_a_copy_before_the_workflow_takes_them():
    w = wf()
    w.add_dependency("P1", "b", Trigger("a"))
    draft = w.outputs.copy()
    with pytest.raises(OutputConflictError):
        draft.use("a", "succeeded", True, THERE)
    assert w.tasks["a"].optional == {"succeeded": False}  # untouched
    ok = w.outputs.copy()
    ok.use("b", "started", True, THERE)
    assert w.tasks["b"].optional == {"succeeded": False}
    w.adopt_outputs(ok)
    assert w.tasks["b"].optional == {"succeeded": False, "started": True}
    assert w.with_window(2).outputs is ok


def test_mark_output_still_records_a_use():
    w = wf()
    w.mark_output("a", "finished", True)
    assert w.tasks["a"].optional == {"succeeded": True, "failed": True, "finished": True}
    with pytest.raises(ValidationError, match=r"a:succeeded is required in a call to mark"):
        w.mark_output("a", "succeeded", False)


def test_outputs_can_be_used_on_their_own():
    out = Outputs()
    out.use("a", "fail", True, HERE)
    assert out.optional("a", "failed") and out.optional("a", "succeeded")
    assert not out.optional("b", "succeeded") and out.optional("b", "finished")
    assert out.table("a") == {"succeeded": True, "failed": True}


# -- names and offsets ----------------------------------------------------------------------


def test_unknown_outputs_are_named_with_the_fix():
    with pytest.raises(GraphSyntaxError) as exc:
        output_name("done", task="a", where=HERE)
    assert str(exc.value).startswith("unknown output :done on a (unknown output 'done'")
    assert HERE in str(exc.value) and ":succeeded" in exc.value.fix
    with pytest.raises(GraphSyntaxError, match=r"unknown output :done"):
        wf().use_output("a", "done", False, HERE)


def test_offset_errors_say_fix_once():
    with pytest.raises(GraphSyntaxError) as exc:
        Offset.parse("-PT6H", INT, task="a")
    msg = str(exc.value)
    assert msg.count("Fix:") == 1
    assert msg.startswith("bad cycle offset [-PT6H]: '-PT6H' is not an integer interval")
    assert exc.value.fix and exc.value.task == "a"


def test_an_int_offset_is_an_absolute_point():
    assert Offset.parse(-2, INT) == Offset("absolute", "-2", point=-2)
    assert Offset.parse("3", INT) == Offset("absolute", "3", point=3)
