"""Task parameter expansion (prefect_cycles.frontends.parameters), as Cylc 8.5 does it.

Expected names and lines are those of cylc-flow 8.5.4's ``param_expand.py``;
the whole-workflow comparisons are the differential suite's p* cases.
"""

from __future__ import annotations

import pytest

from prefect_cycles.errors import GraphSyntaxError
from prefect_cycles.frontends.parameters import Parameters, parse_parameter_values


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1..3", [1, 2, 3]),
        ("0..10..5", [0, 5, 10]),
        ("-1..1", [-1, 0, 1]),
        ("1..2, 7  # comment", [1, 2, 7]),
        ("01, 02", [1, 2]),
        ("north, south,", ["north", "south"]),
        ('"a", "b"', ["a", "b"]),
        ("072, a", ["072", "a"]),
    ],
)
def test_values_as_cylc_reads_them(text: str, values: list) -> None:
    assert parse_parameter_values("p", text) == values


@pytest.mark.parametrize("text", ["1..3, a", "a, 1..3", 'north, "east"', "a b"])
def test_bad_values(text: str) -> None:
    with pytest.raises(GraphSyntaxError, match=r"\[task parameters\]p"):
        parse_parameter_values("p", text)


def test_default_templates() -> None:
    p = Parameters.from_config({"m": "1..10", "t": "-1..1", "s": "a, b"})
    assert p.templates == {"m": "_m%(m)02d", "t": "_t%(t)+02d", "s": "_%(s)s"}


def test_template_for_undefined_parameter() -> None:
    with pytest.raises(GraphSyntaxError, match="template for undefined parameter 'x'"):
        Parameters.from_config({"m": "1..2"}, {"x": "_%(x)s"})


def lines(text: str, **params: str) -> set[str]:
    return set(Parameters.from_config(params).expand_graph(text).split("\n"))


def test_graph_products_offsets_and_values() -> None:
    assert lines("a<m> => b<m,n>", m="1..2", n="x, y") == {
        "a_m1=>b_m1_x",
        "a_m1=>b_m1_y",
        "a_m2=>b_m2_x",
        "a_m2=>b_m2_y",
    }
    # an offset node before the first value is dropped with its & neighbour
    assert lines("s<m-1> & x => s<m>", m="1..2") == {"x=>s_m1", "s_m1&x=>s_m2"}
    # ... and a chain that starts with it is dropped
    assert lines("s<m-1> => s<m> => p<m>", m="1..2") == {"s_m1=>s_m2=>p_m2"}
    assert lines("a<m=2> => b<m>", m="1..3") == {"a_m2=>b_m1", "a_m2=>b_m2", "a_m2=>b_m3"}


def test_graph_without_parameters_is_untouched() -> None:
    p = Parameters.from_config({"m": "1..2"})
    text = "a => b  # comment\n  c"
    assert p.expand_graph(text) == text


def test_graph_joins_continued_lines_and_strips_comments() -> None:
    assert lines("a<m> &  # one\n  b\n   => c<m>", m="1..2") == {"a_m1&b=>c_m1", "a_m2&b=>c_m2"}


@pytest.mark.parametrize(
    ("graph", "says"),
    [
        ("a<x> => b", "parameter x is not defined"),
        ("a<m=9> => b", "parameter m out of range"),
    ],
)
def test_graph_errors(graph: str, says: str) -> None:
    with pytest.raises(GraphSyntaxError, match=says):
        Parameters.from_config({"m": "1..2"}).expand_graph(graph)


def test_runtime_headings_and_inherit() -> None:
    p = Parameters.from_config({"m": "1..2", "n": "a, b"})
    assert p.expand_heading("FAM<m>, x, run<m=2,n>") == [
        ("FAM_m1", {"m": 1}),
        ("FAM_m2", {"m": 2}),
        ("x", {}),
        ("run_m2_a", {"m": 2, "n": "a"}),
        ("run_m2_b", {"m": 2, "n": "b"}),
    ]
    assert p.expand_parent("FAM<m>", {"m": 2, "n": "a"}, "inherit") == "FAM_m2"
    assert p.expand_parent("FAM<m=1>", {}, "inherit") == "FAM_m1"
    assert p.expand_parent("PLAIN", {"m": 1}, "inherit") == "PLAIN"
    with pytest.raises(GraphSyntaxError, match="offsets are not allowed"):
        p.expand_heading("a<m-1>")
    with pytest.raises(GraphSyntaxError, match="'n' is not a parameter of this namespace"):
        p.expand_parent("FAM<n>", {"m": 1}, "inherit")
