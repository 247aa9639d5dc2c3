"""Rerun selectors, read against a window with no Prefect involved."""

from __future__ import annotations

import pytest

from prefect_cycles.errors import CycleError
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.unroll import Instance, Unroller
from prefect_cycles.run.rerun import parse_rerun

SEED = {"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}


def window(start: int = 1, stop: int = 6) -> Unroller:
    return Unroller(from_graph(SEED, 1, 10, name="seed"), start, stop)


def chosen(text, start: int = 1, stop: int = 6) -> set[str]:
    rerun = parse_rerun(text, window(start, stop))
    names = {"prep": [1], "foo": range(start, stop + 1), "bar": range(start, stop + 1)}
    return {f"{t}[{p}]" for t, ps in names.items() for p in ps if rerun.chosen(Instance(t, p))}


def test_selectors_choose_tasks_points_and_ranges():
    assert chosen("prep") == {"prep[1]"}
    assert chosen("foo[3]") == {"foo[3]"}
    assert chosen("foo[4..]") == {"foo[4]", "foo[5]", "foo[6]"}
    assert chosen("foo[4:]") == chosen("foo[4..]")
    assert chosen("bar[..2]") == {"bar[1]", "bar[2]"}
    assert chosen("bar[2..3]") == chosen("bar[2:3]") == {"bar[2]", "bar[3]"}
    assert chosen("*[5..5]") == {"foo[5]", "bar[5]"}
    assert chosen("foo[2], bar[3]") == chosen(["foo[2]", "bar[3]"]) == {"foo[2]", "bar[3]"}
    assert len(chosen("*")) == 13
    assert not parse_rerun(None, window()) and not parse_rerun("", window())


def test_date_time_selectors_use_dots_for_ranges():
    wf = from_graph({"PT6H": "obs[-PT6H] => obs"}, "20200101T00Z", "20200102T00Z", name="dt")
    rerun = parse_rerun("obs[20200101T12Z..]", Unroller(wf))
    points = [wf.cycling.point(p) for p in ("20200101T06Z", "20200101T12Z", "20200102T00Z")]
    assert [rerun.chosen(Instance("obs", p)) for p in points] == [False, True, True]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ghost", ["'ghost'", "choose one of bar, foo, prep"]),
        ("foo[x]", ["'x' is not a cycle point", "task 'foo'", "Fix: write a point like 3"]),
        ("foo[7]", ["foo[7] is not in this run", "past the stop point 6", "widen it"]),
        ("prep[2]", ["prep[2] is not in this run", "not on its sequence"]),
        ("foo[5..2]", ["ends before it starts", "foo[3..5]"]),
        ("*[7..]", ["'*[7..]' selects nothing in this run's window (1 to 6)", "widen"]),
        ("foo[[3]", ["cannot read the rerun selector", "Fix: write foo, foo[3]"]),
    ],
)
def test_bad_selectors_name_the_task_point_and_fix(text: str, words: list[str]):
    with pytest.raises(CycleError) as info:
        parse_rerun(text, window())
    for word in words:
        assert word in str(info.value)
