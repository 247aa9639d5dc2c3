"""Unrolling: instances, edges, pre-start drops, never-runs, loops, lazy walks."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest

from prefect_cycles.errors import CyclicDependencyError, ValidationError
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.conditions import AnyOf
from prefect_cycles.graph.unroll import Instance, Need, Unroller, never_runs, unroll

SEED = {"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}


def edges(g: nx.DiGraph) -> set[tuple[str, str]]:
    return {(f"{a.task}.{a.point}", f"{b.task}.{b.point}") for a, b in g.edges}


def test_seed_unrolls_to_the_blog_post_graph():
    wf = from_graph(SEED, 1, 4)
    g = unroll(wf)
    assert set(g.nodes) == {Instance("prep", 1)} | {
        Instance(t, p) for t in ("foo", "bar") for p in range(1, 5)
    }
    assert edges(g) == {
        ("prep.1", "foo.1"),
        ("foo.1", "foo.2"),
        ("foo.2", "foo.3"),
        ("foo.3", "foo.4"),
        *{(f"foo.{p}", f"bar.{p}") for p in range(1, 5)},
    }
    assert all(d["runs"] for _, d in g.nodes(data=True))
    # The critical path is N + 2 task-times, the whole point of unrolling.
    assert nx.dag_longest_path_length(g) + 1 == 4 + 2


def test_warm_start_drops_earlier_parents_and_initial_only_tasks():
    g = unroll(from_graph(SEED, 1, 4), start=3)
    assert set(g.nodes) == {Instance(t, p) for t in ("foo", "bar") for p in (3, 4)}
    assert g.nodes[Instance("foo", 3)]["prerequisite"] is None


def test_pre_initial_term_of_an_or_is_dropped_and_the_rest_waits():
    wf = from_graph({"P1": "a\na[-P1] | b => c"}, 1, 3)
    u = Unroller(wf)
    assert u.prerequisite(Instance("c", 1)) == Need(
        Instance("b", 1), "succeeded", False, u.prerequisite(Instance("c", 1)).trigger
    )
    later = u.prerequisite(Instance("c", 2))
    assert isinstance(later, AnyOf)
    assert {n.parent for n in later.terms} == {Instance("a", 1), Instance("b", 2)}
    g = unroll(wf)
    assert g.edges[Instance("a", 1), Instance("c", 2)]["conditional"] is True


def test_dependency_applies_only_on_its_own_sequence():
    wf = from_graph({"P1": "foo", "P2": "bar => foo"}, 1, 5)
    g = unroll(wf)
    assert edges(g) == {("bar.1", "foo.1"), ("bar.3", "foo.3"), ("bar.5", "foo.5")}


def test_parent_past_the_final_point_never_runs_and_neither_do_its_children():
    wf = from_graph({"P1": "foo\nfoo[+P1] => bar => baz"}, 1, 3)
    g = unroll(wf)
    bad = dict(never_runs(g))
    assert set(bad) == {Instance("bar", 3), Instance("baz", 3)}
    assert "foo[4], which does not exist: it is past the final point 3" in bad[Instance("bar", 3)]
    assert "bar[3], which never runs" in bad[Instance("baz", 3)]
    assert g.nodes[Instance("foo", 4)]["exists"] is False


def test_parent_on_an_excluded_point_blocks_the_chain():
    wf = from_graph({"P1!3": "foo[-P1] => foo"}, 1, 6)
    g = unroll(wf)
    assert Instance("foo", 3) not in g or not g.nodes[Instance("foo", 3)]["exists"]
    runs = sorted(n.point for n, d in g.nodes(data=True) if d["runs"])
    assert runs == [1, 2]
    assert "not on its sequence" in dict(never_runs(g))[Instance("foo", 4)]


def test_or_with_one_side_that_never_runs_still_runs():
    wf = from_graph({"R1": "prep", "P1": "prep[-P1] | foo[-P1] => foo"}, 1, 3)
    g = unroll(wf)
    assert all(d["runs"] for _, d in g.nodes(data=True) if d["exists"])


def test_loop_at_one_point_is_an_error_naming_the_loop():
    wf = from_graph({"P1": "a => b => c\nc => a"}, 1, 2)
    with pytest.raises(CyclicDependencyError) as err:
        unroll(wf)
    message = str(err.value)
    for name in ("a[1]", "b[1]", "c[1]"):
        assert name in message
    assert err.value.loop[0] == err.value.loop[-1]


def test_loop_across_points_is_found_too():
    wf = from_graph({"P1": "a[-P1] => b\nb[+P1] => a"}, 1, 3)
    with pytest.raises(CyclicDependencyError):
        unroll(wf)


@pytest.mark.parametrize(
    ("start", "stop", "fix"),
    [(3, 2, "stop point"), (0, 2, "initial"), (9, None, "final")],
)
def test_bad_windows_are_clear_errors(start, stop, fix):
    with pytest.raises(ValidationError, match=fix):
        unroll(from_graph(SEED, 1, 4), start, stop)


def test_endless_workflow_cannot_unroll_eagerly_but_walks_lazily():
    wf = from_graph(SEED, 1)
    with pytest.raises(ValidationError, match="endless"):
        unroll(wf)
    walked = list(itertools.islice(Unroller(wf).walk(), 7))
    assert [i for i, _ in walked] == [
        Instance("prep", 1),
        Instance("foo", 1),
        Instance("bar", 1),
        Instance("foo", 2),
        Instance("bar", 2),
        Instance("foo", 3),
        Instance("bar", 3),
    ]


def test_horizon_and_pins_bound_what_a_run_must_remember():
    wf = from_graph({"R1": "prep", "P1": "prep[^] => foo\nfoo[-P3] => foo"}, 1)
    u = Unroller(wf)
    assert u.horizon(10) == 7
    assert u.pinned() == {1}


def test_datetime_unroll_uses_calendar_arithmetic():
    wf = from_graph({"P1M": "foo[-P1M] => foo"}, "20200131T00Z", "20200601T00Z")
    g = unroll(wf)
    pts = sorted(wf.fmt(n.point) for n in g.nodes)
    assert pts == [
        "20200131T0000Z",
        "20200229T0000Z",
        "20200329T0000Z",
        "20200429T0000Z",
        "20200529T0000Z",
    ]
    # Feb 29 - P1M is Jan 29, before the initial point: that edge is dropped.
    assert g.in_degree(Instance("foo", wf.cycling.point("20200229T00Z"))) == 0
    assert g.in_degree(Instance("foo", wf.cycling.point("20200329T00Z"))) == 1


def test_a_parent_past_the_stop_point_blocks_even_an_or():
    # Cylc 8 never spawns an instance with any prerequisite past the stop point.
    wf = from_graph({"P1": "a\nb\na[+P1] | b => c => d"}, 1, 3)
    g = unroll(wf)
    bad = dict(never_runs(g))
    assert set(bad) == {Instance("c", 3), Instance("d", 3)}
    assert "a[4], which does not exist" in bad[Instance("c", 3)]
    assert g.nodes[Instance("c", 2)]["runs"]
