"""The harness itself: parsing, Cylc's ordering, the scheduler restriction."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import harness
from .harness import (
    EXPECT_SCHEDULER,
    Actual,
    Case,
    Expectation,
    HarnessError,
    SchedulerRun,
    Window,
    describe_mismatch,
    format_reference,
    parse_header,
    parse_reference,
    restrict_to_scheduler,
)

INTEGER_TEXT = """\
edge "1/foo" "1/bar"
edge "1/foo" "2/foo"
edge "2/foo" "2/bar"
edge "10/foo" "10/bar"
edge "1/prep" "1/foo"
graph
node "1/bar" "bar\\n1"
node "2/bar" "bar\\n2"
node "10/bar" "bar\\n10"
node "1/foo" "foo\\n1"
node "2/foo" "foo\\n2"
node "10/foo" "foo\\n10"
node "1/prep" "prep\\n1"
stop
"""

DATETIME_TEXT = """\
edge "20200101T0000Z/foo" "20200101T0000Z/bar"
edge "20200101T0000Z/foo" "20200101T0600Z/foo"
edge "20200101T0000Z/prep" "20200101T0000Z/foo"
graph
node "20200101T0000Z/bar" "bar\\n20200101T0000Z"
node "20200101T0000Z/foo" "foo\\n20200101T0000Z"
node "20200101T0000Z/prep" "prep\\n20200101T0000Z"
node "20200101T0600Z/foo" "foo\\n20200101T0600Z"
stop
"""


def test_parse_header() -> None:
    windows, expect = parse_header(
        "# A comment\n# windows: 1 6 ; 3 6\n# expect: scheduler\n[scheduling]\n"
    )
    assert windows == (Window("1", "6"), Window("3", "6"))
    assert expect == EXPECT_SCHEDULER
    assert parse_header("[scheduling]\n") == ((), None)
    with pytest.raises(HarnessError):
        parse_header("# windows: 1 6 9\n")
    with pytest.raises(HarnessError):
        parse_header("# expect: sometimes\n")


@pytest.mark.parametrize(("text", "integer"), [(INTEGER_TEXT, True), (DATETIME_TEXT, False)])
def test_format_reproduces_cylc_order(text: str, integer: bool) -> None:
    reference = parse_reference(text)
    shuffled_nodes = list(reversed(reference.nodes))
    shuffled_edges = list(reversed(reference.edges))
    assert format_reference(shuffled_nodes, shuffled_edges, integer) == text


def test_parse_reference_rejects_what_cylc_never_prints() -> None:
    for bad in (
        "graph\n",  # no stop
        'edge "1/a" "1/b"\nnode "1/a" "a\\n1"\ngraph\nstop\n',
        'graph\nnode "1/a" "1/a"\nstop\n',  # wrong label
        "graph\nstop\nextra\n",
    ):
        with pytest.raises(HarnessError):
            parse_reference(bad)
    assert parse_reference("graph\nstop\n").nodes == []


def test_restrict_to_scheduler() -> None:
    run = SchedulerRun(
        # 10/foo and 10/bar never ran; 0/bar ran before the window
        ran={"1/foo", "1/bar", "2/foo", "2/bar", "1/prep", "0/bar"},
        prerequisites={
            "1/foo": {"1/prep"},
            "1/bar": {"1/foo"},
            # 2/foo's drawn parent 1/foo is no prerequisite (as cylc graph's
            # [^] edges on a warm start); 1/prep is one it does not draw
            "2/foo": {"1/prep"},
            "2/bar": {"2/foo"},
        },
        integer=True,
        shutdown=harness.GOOD_SHUTDOWNS[0],
        run_dir=Path("."),
    )
    expectation = restrict_to_scheduler(INTEGER_TEXT, run)
    assert expectation.text == (
        'edge "1/foo" "1/bar"\n'
        'edge "2/foo" "2/bar"\n'
        'edge "1/prep" "1/foo"\n'
        'edge "1/prep" "2/foo"\n'
        "graph\n"
        'node "1/bar" "bar\\n1"\n'
        'node "2/bar" "bar\\n2"\n'
        'node "1/foo" "foo\\n1"\n'
        'node "2/foo" "foo\\n2"\n'
        'node "1/prep" "prep\\n1"\n'
        "stop\n"
    )
    assert expectation.never_ran == ["10/bar", "10/foo"]
    assert expectation.graph_only_edges == [("1/foo", "2/foo")]
    assert expectation.scheduler_only_edges == [("1/prep", "2/foo")]
    assert expectation.scheduler_only_nodes == ["0/bar"]


def test_mismatch_is_reported_as_a_diff() -> None:
    case = Case("demo", Path("demo"), (Window("1", "2"),), "graph")
    expected = Expectation(INTEGER_TEXT, INTEGER_TEXT, "cylc graph --reference as is")
    actual = Actual(["prefect-cycles"], 0, INTEGER_TEXT.replace('"10/foo" "10/bar"', '"x" "y"'), "")
    message = describe_mismatch(case, Window("1", "2"), expected, actual)
    assert '-edge "10/foo" "10/bar"' in message
    assert '+edge "x" "y"' in message
    no_newline = Actual(["prefect-cycles"], 0, INTEGER_TEXT.rstrip("\n"), "")
    assert "expected" in describe_mismatch(case, Window("1", "2"), expected, no_newline)


def test_scheduler_expectation_end_to_end(differential: harness.Differential) -> None:
    """A never-runs case through a real simulation run, checked by hand.

    prep runs at 1 only, so prep[-P1] => foo holds at 2 and never again:
    foo and bar from 3 on never run; x runs on 1, 3, 5, so y runs where
    x[-P1] lies on x's sequence (2, 4) or before the initial point (1).
    """
    case = harness.load_case(
        harness.GRAPHS_DIR / "i21_never_offseq", "i21_never_offseq", EXPECT_SCHEDULER
    )
    expectation = differential.expectation(case, Window("1", "5"), EXPECT_SCHEDULER).result()
    assert expectation.text == (
        'edge "1/foo" "1/bar"\n'
        'edge "2/foo" "2/bar"\n'
        'edge "1/prep" "2/foo"\n'
        'edge "1/x" "2/y"\n'
        'edge "3/x" "4/y"\n'
        "graph\n"
        'node "1/bar" "bar\\n1"\n'
        'node "2/bar" "bar\\n2"\n'
        'node "1/foo" "foo\\n1"\n'
        'node "2/foo" "foo\\n2"\n'
        'node "1/prep" "prep\\n1"\n'
        'node "1/x" "x\\n1"\n'
        'node "3/x" "x\\n3"\n'
        'node "5/x" "x\\n5"\n'
        'node "1/y" "y\\n1"\n'
        'node "2/y" "y\\n2"\n'
        'node "4/y" "y\\n4"\n'
        "stop\n"
    )
