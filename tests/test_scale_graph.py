"""Graphs of thousands of tasks build, and build right (speed is in benchmarks/graph_building.py).

The builders once formatted a line's place and scanned every output use of the
graph for each node, so one line of N tasks took time N squared; these pin the
answers the faster builders give on such graphs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from prefect import task

from prefect_cycles import all_of, cycle, from_graph, on
from prefect_cycles.errors import GraphSyntaxError
from prefect_cycles.frontends.decorators import build_workflow
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.graph.unroll import unroll
from prefect_cycles.show.reference import window_reference_text

N = 2_000


def test_one_line_of_thousands_of_tasks() -> None:
    names = [f"t{i}" for i in range(N)]
    wf = from_graph({"P1": " & ".join(names) + " => z?\nz[-P1]? => " + " & ".join(names)}, 1, 2)
    assert len(wf.tasks) == N + 1
    assert wf.tasks["z"].optional == {"succeeded": True}
    assert wf.tasks["t7"].optional == {"succeeded": False}
    g = unroll(wf, 1, 2)
    assert g.number_of_nodes() == 2 * (N + 1)
    assert g.number_of_edges() == 3 * N  # t* => z at both points, z.1 => t*.2


def test_a_conflict_deep_in_a_long_line_names_its_place() -> None:
    names = [f"t{i}" for i in range(N)]
    text = " & ".join(names) + " => z\nt1999? => y"
    with pytest.raises(GraphSyntaxError, match=r"t1999:succeeded .*line 2 \('t1999\? => y'\)"):
        from_graph({"P1": text}, 1, 2)


def test_family_of_thousands_of_members(tmp_path: Path) -> None:
    members = "".join(f"    [[m{i}]]\n        inherit = FAM\n" for i in range(N))
    (tmp_path / "flow.cylc").write_text(
        "[scheduling]\n    cycling mode = integer\n    initial cycle point = 1\n"
        '    final cycle point = 2\n    [[graph]]\n        P1 = """\n'
        '            FAM:succeed-all => z\n            z[-P1] => FAM\n        """\n'
        "[runtime]\n    [[FAM]]\n    [[z]]\n" + members
    )
    wf = load_flow_cylc(tmp_path)
    assert len(wf.tasks) == N + 1
    g = unroll(wf, 1, 2)
    assert g.number_of_edges() == 3 * N


def test_decorators_with_thousands_of_tasks() -> None:
    @task(name="z")
    def z(point: int) -> None: ...

    members = [
        cycle("P1", after=on(z, "-P1"))(task(name=f"t{i}")(lambda point: None)) for i in range(N)
    ]
    wf = build_workflow(cycle("P1", after=all_of(*members))(z), *members, initial=1, final=2)
    assert len(wf.tasks) == N + 1
    assert unroll(wf, 1, 2).number_of_edges() == 3 * N


def test_the_three_front_ends_build_one_graph_of_thousands_of_tasks(tmp_path: Path) -> None:
    """The shape benchmarks/graph_building.py times, read by each front end: one answer."""
    names = [f"t{i}" for i in range(N)]
    text = from_graph({"P1": " & ".join(names) + " => z\nz[-P1] => " + " & ".join(names)}, 1, 3)
    members = "".join(f"    [[{n}]]\n        inherit = FAM\n" for n in names)
    (tmp_path / "flow.cylc").write_text(
        "[scheduling]\n    cycling mode = integer\n    initial cycle point = 1\n"
        '    final cycle point = 3\n    [[graph]]\n        P1 = """\n'
        '            FAM:succeed-all => z\n            z[-P1] => FAM\n        """\n'
        "[runtime]\n    [[FAM]]\n    [[z]]\n" + members
    )
    family = load_flow_cylc(tmp_path)

    @task(name="z")
    def z(point: int) -> None: ...

    ts = [cycle("P1", after=on(z, "-P1"))(task(name=n)(lambda point: None)) for n in names]
    decorated = build_workflow(cycle("P1", after=all_of(*ts))(z), *ts, initial=1, final=3)
    reference = window_reference_text(text, 1, 3)
    lines = reference.splitlines()
    assert sum(line.startswith("edge ") for line in lines) == 5 * N  # t => z thrice, z => t twice
    assert sum(line.startswith("node ") for line in lines) == 3 * (N + 1)
    for wf in (family, decorated):
        assert window_reference_text(wf, 1, 3) == reference
        assert {n: (t.recurrences, t.optional) for n, t in wf.tasks.items()} == {
            n: (t.recurrences, t.optional) for n, t in text.tasks.items()
        }
    plain = [replace(d, source="") for d in decorated.dependencies]
    assert plain == [replace(d, source="") for d in text.dependencies]


def test_a_task_named_only_with_parameters_at_thousands_of_values() -> None:
    """``model<member> => post<member>`` where model has no @cycle: each expanded name is
    looked up once (it was a scan of every value for each name), to the same answer."""

    @task(name="model")
    def model(point: int, member: int) -> None: ...

    @cycle("P1", params="member", after=on(model, params="member"))
    @task(name="post")
    def post(point: int, member: int) -> None: ...

    wf = build_workflow(post, model, initial=1, final=2, parameters={"member": range(N)})
    assert wf.parameterised["model_member0007"] == ("model", {"member": 7})
    assert wf.parameterised[f"post_member{N - 1}"] == ("post", {"member": N - 1})
    assert len(wf.parameterised) == 2 * N
    g = unroll(wf, 1, 2)
    assert g.number_of_edges() == 2 * N
    assert sorted(g.predecessors(("post_member0007", 2))) == [("model_member0007", 2)]
