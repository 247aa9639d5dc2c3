"""Pictures: each format parsed back and compared with the unrolled graph.

DOT is read with small regexes (clusters, nodes, edges and their attributes),
Mermaid line by line; SVG and PNG are drawn by the real Graphviz ``dot``.
"""

from __future__ import annotations

import os
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from prefect_cycles import CycleError
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.unroll import unroll
from prefect_cycles.show.mermaid import mermaid_id
from prefect_cycles.show.render import Picture, picture
from prefect_cycles.show.scene import GraphvizMissingError, RenderError

SEED = {"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}

# Optional outputs, a conditional, a :start trigger, and baz[3], which needs foo[4]
# (past the final point) and so never runs.
MIXED = {
    "R1": "prep => foo",
    "P1": "foo[-P1] => foo => bar?\nbar[-P1]:fail? | foo:start => qux",
    "P2": "foo[+P1] => baz",
}

# -- parsers ---------------------------------------------------------------------------

CLUSTER = re.compile(r'^  subgraph "cluster_(?P<key>[^"]+)" \{\n(?P<body>.*?)^  \}$', re.M | re.S)
DOT_NODE = re.compile(r'^ +"(?P<id>[^"]+)" \[(?P<attrs>.*)\]$', re.M)
DOT_EDGE = re.compile(r'^  "(?P<a>[^"]+)" -> "(?P<b>[^"]+)"(?: \[(?P<attrs>.*)\])?$', re.M)


def dot_clusters(dot: str) -> list[tuple[str, str, list[str]]]:
    """(point, cluster label, node ids) for each cluster, in the order written."""
    out = []
    for m in CLUSTER.finditer(dot):
        label = re.search(r'label="([^"]*)"', m["body"])[1]
        out.append((m["key"], label, [n["id"] for n in DOT_NODE.finditer(m["body"])]))
    return out


def dot_edges(dot: str) -> dict[tuple[str, str], str]:
    """Visible edges with their attribute text."""
    edges = {}
    for m in DOT_EDGE.finditer(dot):
        attrs = m["attrs"] or ""
        if "style=invis" not in attrs:
            edges[m["a"], m["b"]] = attrs
    return edges


def dot_nodes(dot: str) -> dict[str, str]:
    return {m["id"]: m["attrs"] for m in DOT_NODE.finditer(dot)}


MM_SUBGRAPH = re.compile(r'^  subgraph (?P<id>\w+) \["(?P<label>[^"]*)"\]$')
MM_NODE = re.compile(r'^ +(?P<id>\w+)(?:\["|\(\[")(?P<label>[^"]*)"')
MM_EDGE = re.compile(
    r'^  (?P<a>\w+) (?P<arrow>-->|-\.->|~~~)(?:\|"(?P<label>[^"]*)"\|)? (?P<b>\w+)$'
)


def mermaid(text: str) -> dict:
    """Subgraphs (label -> node ids), node labels, edges (arrow, label), styles."""
    lines = text.splitlines()
    assert lines[0] == "---" and lines[2] == "---", "a title in front matter"
    assert lines[3] == "flowchart LR"
    groups: list[tuple[str, list[str]]] = []
    labels: dict[str, str] = {}
    edges: list[tuple[str, str, str, str]] = []
    invisible: list[tuple[str, str]] = []
    classes: dict[str, list[str]] = {}
    link_styles: list[tuple[list[int], str]] = []
    current = None
    for line in lines[4:]:
        if m := MM_SUBGRAPH.match(line):
            groups.append((m["label"], []))
            current = groups[-1][1]
        elif line == "  end":
            current = None
        elif m := MM_EDGE.match(line):
            if m["arrow"] == "~~~":
                invisible.append((m["a"], m["b"]))
            else:
                edges.append((m["a"], m["b"], m["arrow"], m["label"] or ""))
        elif m := MM_NODE.match(line):
            labels[m["id"]] = m["label"]
            if current is not None:
                current.append(m["id"])
        elif line.startswith("  class "):
            _, names, cls = line.split()
            classes[cls] = names.split(",")
        elif line.startswith("  linkStyle "):
            _, indices, style = line.split(maxsplit=2)
            link_styles.append(([int(i) for i in indices.split(",")], style))
        else:
            assert line.startswith("  classDef "), f"unexpected Mermaid line {line!r}"
    return {
        "groups": groups,
        "labels": labels,
        "edges": edges,
        "invisible": invisible,
        "classes": classes,
        "link_styles": link_styles,
    }


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def require_dot() -> bool:
    """Whether a missing ``dot`` must fail (CI sets PREFECT_CYCLES_REQUIRE_DOT=1)."""
    return os.environ.get("PREFECT_CYCLES_REQUIRE_DOT") == "1"


def ids(g) -> dict:
    return {n: f"{n.point}/{n.task}" for n in g.nodes}


# -- the window: DOT -----------------------------------------------------------------


def test_seed_window_dot_has_the_unrolled_nodes_edges_and_a_cluster_per_point():
    wf = from_graph(SEED, 1, 4, name="seed")
    dot = picture(wf).dot
    assert dot.startswith('digraph "seed" {') and dot.rstrip().endswith("}")
    assert "rankdir=LR" in dot
    clusters = dot_clusters(dot)
    assert [c[0] for c in clusters] == ["1", "2", "3", "4"]  # time order
    assert [c[1] for c in clusters] == ["1", "2", "3", "4"]
    g = unroll(wf)
    names = ids(g)
    assert {n for c in clusters for n in c[2]} == set(names.values())
    for point, _, members in clusters:
        assert all(m.startswith(f"{point}/") for m in members)
    # Within a point, parents come before children: prep, foo, bar.
    assert clusters[0][2] == ["1/prep", "1/foo", "1/bar"]
    assert set(dot_edges(dot)) == {(names[a], names[b]) for a, b in g.edges}
    assert all(attrs == "" for attrs in dot_edges(dot).values())
    labels = {k: re.search(r'label="([^"]*)"', v)[1] for k, v in dot_nodes(dot).items()}
    assert labels["3/foo"] == "foo"


def test_invisible_edges_keep_each_point_right_of_the_one_before():
    wf = from_graph({"P1": "a => b"}, 1, 3)  # no edge between points at all
    dot = picture(wf).dot
    invisible = [
        (m["a"], m["b"]) for m in DOT_EDGE.finditer(dot) if "style=invis" in (m["attrs"] or "")
    ]
    # Every sink of a point to every source of the next.
    assert invisible == [("1/b", "2/a"), ("2/b", "3/a")]


def test_optional_conditional_and_never_run_edges_and_nodes_are_drawn_differently():
    wf = from_graph(MIXED, 1, 3)
    g = unroll(wf)
    dot = picture(wf).dot
    edges = dot_edges(dot)
    names = ids(g)
    assert set(edges) == {(names[a], names[b]) for a, b in g.edges}
    # bar[1]:fail? | foo[2]:start => qux[2]: both terms of an '|' are dotted and say "or".
    assert edges["1/bar", "2/qux"] == 'label=":failed? or", style=dotted'
    assert edges["2/foo", "2/qux"] == 'label=":started or", style=dotted'
    # At point 1 bar[0] is before the start and dropped: a plain :started edge.
    assert edges["1/foo", "1/qux"] == 'label=":started"'
    # baz[3] needs foo[4], past the final point: faded, with the reason.
    nodes = dot_nodes(dot)
    assert 'style="rounded,filled,dashed"' in nodes["3/baz"]
    assert 'tooltip="never runs: it needs foo[4], which does not exist' in nodes["3/baz"]
    assert "never runs" in nodes["3/baz"].split("tooltip")[0]  # in the label too
    assert 'style="rounded,dotted"' in nodes["4/foo"]
    assert "past the final point 3" in nodes["4/foo"]
    assert 'color="#9a9a9a"' in edges["4/foo", "3/baz"]
    assert "constraint=false" in edges["4/foo", "3/baz"]  # a parent later than its child
    clusters = dot_clusters(dot)
    assert clusters[-1][:2] == ("4", "4 (outside the window)")
    # Instances that run are drawn plainly.
    assert "tooltip" not in nodes["3/foo"]


def test_an_optional_edge_is_dashed():
    wf = from_graph({"P1": "a:fail? => b\na? => c"}, 1, 1)
    edges = dot_edges(picture(wf).dot)
    assert edges["1/a", "1/b"] == 'label=":failed?", style=dashed'
    assert edges["1/a", "1/c"] == 'label="?", style=dashed'


def test_dot_is_accepted_by_graphviz_when_installed():
    import subprocess

    wf = from_graph(MIXED, 1, 3)
    if not _have_dot():
        assert not require_dot(), "PREFECT_CYCLES_REQUIRE_DOT=1 but Graphviz's dot is missing"
        with pytest.raises(GraphvizMissingError):
            picture(wf).svg()
        return
    for pic in (picture(wf), picture(wf, collapsed=True)):
        out = subprocess.run(["dot", "-Tcanon"], input=pic.dot, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""


# -- the window: Mermaid ---------------------------------------------------------------


def test_seed_window_mermaid_has_a_subgraph_per_point_and_every_edge():
    wf = from_graph(SEED, 1, 4, name="seed")
    text = picture(wf).mermaid
    parsed = mermaid(text)
    assert 'title: "seed: points 1 to 4"' in text
    assert [label for label, _ in parsed["groups"]] == ["1", "2", "3", "4"]
    g = unroll(wf)
    mid = {n: f"t_{n.task}_AT_{n.point}" for n in g.nodes}
    assert {i for _, members in parsed["groups"] for i in members} == set(mid.values())
    assert {(a, b) for a, b, _, _ in parsed["edges"]} == {(mid[a], mid[b]) for a, b in g.edges}
    assert all(arrow == "-->" for _, _, arrow, _ in parsed["edges"])
    assert parsed["labels"]["t_foo_AT_2"] == "foo"
    assert not parsed["classes"]


def test_mermaid_marks_optional_conditional_and_never_run():
    wf = from_graph(MIXED, 1, 3)
    parsed = mermaid(picture(wf).mermaid)
    edges = {(a, b): (arrow, label) for a, b, arrow, label in parsed["edges"]}
    assert edges["t_bar_AT_1", "t_qux_AT_2"] == ("-.->", ":failed? or")
    assert edges["t_foo_AT_1", "t_qux_AT_1"] == ("-->", ":started")
    dotted = [i for idx, style in parsed["link_styles"] if "dasharray" in style for i in idx]
    conditional = [i for i, e in enumerate(parsed["edges"]) if e[3].endswith("or")]
    assert dotted == conditional and conditional
    assert parsed["classes"]["neverRuns"] == ["t_baz_AT_3"]
    assert parsed["classes"]["missing"] == ["t_foo_AT_4"]
    assert "never runs: it needs foo[4]" in parsed["labels"]["t_baz_AT_3"]
    faded = [i for idx, style in parsed["link_styles"] if "stroke:#" in style for i in idx]
    assert [parsed["edges"][i][:2] for i in faded] == [("t_foo_AT_4", "t_baz_AT_3")]


def test_mermaid_ids_are_identifiers_and_never_collide():
    names = ["a-b", "a_b", "a_2d_b", "a+b", "a%b", "a@b", "end", "2020-01-01T00:00Z", "a__b"]
    escaped = [mermaid_id(n) for n in names]
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", e) for e in escaped)
    assert len(set(escaped)) == len(names)
    # Task names Cylc allows, unrolled: ids stay valid and distinct.
    wf = from_graph({"P1": "a-b => a_b => a+b"}, 1, 2)
    parsed = mermaid(picture(wf).mermaid)
    assert len(parsed["labels"]) == 6
    assert all(re.fullmatch(r"t_\w+", i) for i in parsed["labels"])


def test_date_time_points_are_grouped_in_time_order():
    wf = from_graph(
        {"R1": "prep => a", "PT12H": "a[-PT12H] => a => b"}, "20200101T00Z", "20200102T00Z"
    )
    pic = picture(wf)
    points = ["20200101T0000Z", "20200101T1200Z", "20200102T0000Z"]
    assert [c[1] for c in dot_clusters(pic.dot)] == points
    parsed = mermaid(pic.mermaid)
    assert [label for label, _ in parsed["groups"]] == points
    assert ("t_a_AT_20200101T0000Z", "t_a_AT_20200101T1200Z", "-->", "") in parsed["edges"]


def test_clock_triggers_are_drawn_as_clock_nodes_with_the_time():
    wf = from_graph(
        {"PT12H": "@wall_clock => a\na[-PT12H] => a => c", "T00": "@clock_1 => b"},
        "20200101T00Z",
        "20200101T12Z",
        xtriggers={"clock_1": "wall_clock(offset=PT1H)"},
    )
    pic = picture(wf)
    nodes = dot_nodes(pic.dot)
    assert "shape=ellipse" in nodes["20200101T0000Z/@clock_1"]
    assert "2020-01-01T01:00Z" in nodes["20200101T0000Z/@clock_1"]
    edges = dot_edges(pic.dot)
    assert ("20200101T0000Z/@clock_1", "20200101T0000Z/b") in edges
    assert ("20200101T1200Z/@wall_clock", "20200101T1200Z/a") in edges
    assert "\n  b  <- @clock_1 (not before 2020-01-01T01:00Z)\n" in pic.text
    collapsed = picture(wf, collapsed=True)
    assert dot_edges(collapsed.dot)["@clock_1", "b"] == 'label="+PT1H in T00"'
    assert dot_edges(collapsed.dot)["@wall_clock", "a"] == ""
    assert 'label="b (T00)"' in dot_nodes(collapsed.dot)["b"]
    parsed = mermaid(collapsed.mermaid)
    assert set(parsed["classes"]["clock"]) == {"t__40_clock__1", "t__40_wall__clock"}


# -- the window: text ------------------------------------------------------------------


def test_seed_window_text():
    wf = from_graph(SEED, 1, 3, name="seed")
    assert str(picture(wf)) == (
        "seed: points 1 to 3\n"
        "\n"
        "point 1\n"
        "  prep\n"
        "  foo   <- prep\n"
        "  bar   <- foo\n"
        "point 2\n"
        "  foo   <- foo[1]\n"
        "  bar   <- foo\n"
        "point 3\n"
        "  foo   <- foo[2]\n"
        "  bar   <- foo\n"
    )


def test_text_shows_conditions_and_why_an_instance_never_runs():
    text = picture(from_graph(MIXED, 1, 3)).text
    assert "  qux   <- bar[1]:failed? | foo:started\n" in text
    assert (
        "  baz   <- foo[4]\n"
        "        ! never runs: it needs foo[4], which does not exist: "
        "it is past the final point 3\n"
    ) in text
    assert text.endswith("1 instance(s) never run.\n")


def test_warm_start_and_endless_workflows_choose_and_say_the_window():
    wf = from_graph({"P1": "a[-P1] => a"}, 1)
    pic = picture(wf, 3)
    assert pic.text.splitlines()[0] == (
        "cyclic-workflow: points 3 to 7 (no final point: the first 5 points)"
    )
    assert [c[0] for c in dot_clusters(pic.dot)] == ["3", "4", "5", "6", "7"]
    assert "(no final point: the first 5 points)" in pic.mermaid
    assert [c[0] for c in dot_clusters(picture(wf, 2, 4).dot)] == ["2", "3", "4"]


def test_a_bad_window_is_a_cycle_error():
    wf = from_graph(SEED, 1, 4)
    with pytest.raises(CycleError, match="before the start point"):
        picture(wf, 3, 2)
    with pytest.raises(RenderError, match="no window") as err:
        picture(wf, 1, 2, collapsed=True)
    assert err.value.fix


# -- the definition ----------------------------------------------------------------------


def test_collapsed_seed_has_one_node_per_task_and_labelled_edges():
    wf = from_graph(SEED, 1, 4, name="seed")
    pic = picture(wf, collapsed=True)
    nodes = dot_nodes(pic.dot)
    assert set(nodes) == {"prep", "foo", "bar"}
    assert 'label="prep (R1)"' in nodes["prep"]  # a one-off task, marked
    assert 'label="foo"' in nodes["foo"]  # on R1 too, but R1's point is on P1
    assert dot_edges(pic.dot) == {
        ("foo", "bar"): "",
        ("foo", "foo"): 'label="[-P1]"',
        ("prep", "foo"): 'label="in R1"',
    }
    assert not dot_clusters(pic.dot)
    assert "tasks run on P1 unless marked" in pic.dot
    parsed = mermaid(pic.mermaid)
    assert parsed["labels"] == {"t_bar": "bar", "t_foo": "foo", "t_prep": "prep (R1)"}
    assert {(a, b, arrow, label) for a, b, arrow, label in parsed["edges"]} == {
        ("t_foo", "t_bar", "-->", ""),
        ("t_foo", "t_foo", "-->", "[-P1]"),
        ("t_prep", "t_foo", "-->", "in R1"),
    }
    assert pic.text == (
        "seed: the cycle definition (integer cycling, 1 to 4)\n"
        "\n"
        "tasks\n"
        "  bar   P1\n"
        "  foo   R1, P1\n"
        "  prep  R1\n"
        "\n"
        "graph\n"
        "  R1  prep => foo\n"
        "  P1  foo[-P1] => foo\n"
        "  P1  foo => bar\n"
    )


def test_collapsed_edges_carry_offsets_outputs_and_conditions():
    pic = picture(from_graph(MIXED, 1, 3), collapsed=True)
    edges = dot_edges(pic.dot)
    assert edges["bar", "qux"] == 'label="[-P1]:failed? or", style=dotted'
    assert edges["foo", "qux"] == 'label=":started or", style=dotted'
    assert edges["foo", "baz"] == 'label="[+P1] in P2"'
    assert 'label="baz (P2)"' in dot_nodes(pic.dot)["baz"]
    parsed = mermaid(pic.mermaid)
    arrows = {(a, b): arrow for a, b, arrow, _ in parsed["edges"]}
    assert arrows["t_bar", "t_qux"] == "-.->" and arrows["t_foo", "t_bar"] == "-->"


# -- saving, notebooks, Graphviz -------------------------------------------------------


def test_save_picks_the_format_from_the_suffix(tmp_path: Path):
    pic = picture(from_graph(SEED, 1, 2))
    assert pic.save(tmp_path / "g.txt").read_text() == pic.text
    assert pic.save(tmp_path / "g.dot").read_text() == pic.dot
    assert pic.save(tmp_path / "g.gv").read_text() == pic.dot
    assert pic.save(tmp_path / "g.mmd").read_text() == pic.mermaid
    assert pic.save(tmp_path / "g.md").read_text() == f"```mermaid\n{pic.mermaid}```\n"
    with pytest.raises(RenderError, match="suffix") as err:
        pic.save(tmp_path / "g.jpeg")
    assert ".png" in err.value.fix
    assert not (tmp_path / "g.jpeg").exists()


def _have_dot() -> bool:
    import shutil

    return shutil.which("dot") is not None


def test_png_and_svg_are_valid_images_or_a_clear_error(tmp_path: Path):
    wf = from_graph(MIXED, 1, 3)
    pic = picture(wf)
    if not _have_dot():
        assert not require_dot(), "PREFECT_CYCLES_REQUIRE_DOT=1 but Graphviz's dot is missing"
        with pytest.raises(GraphvizMissingError, match="apt install graphviz"):
            pic.png()
        return
    width, height = png_size(pic.png())
    assert width > 0 and height > 0
    assert png_size(pic.save(tmp_path / "g.png").read_bytes()) == (width, height)
    root = ET.fromstring(pic.svg())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ns = {"s": "http://www.w3.org/2000/svg"}
    titles = {t.text for t in root.iterfind(".//s:g[@class='cluster']/s:title", ns)}
    assert titles == {"cluster_1", "cluster_2", "cluster_3", "cluster_4"}
    g = unroll(wf)
    node_titles = {t.text for t in root.iterfind(".//s:g[@class='node']/s:title", ns)}
    assert node_titles == set(ids(g).values())
    edge_count = len(root.findall(".//s:g[@class='edge']", ns))
    assert edge_count == g.number_of_edges()  # invisible edges are not drawn
    ET.fromstring(pic.save(tmp_path / "g.svg").read_text())
    # The collapsed picture draws too.
    assert png_size(picture(wf, collapsed=True).png())[0] > 0


def test_without_dot_svg_and_png_name_the_package_and_text_formats_still_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot
    pic = picture(from_graph(SEED, 1, 2))
    for draw in (pic.png, pic.svg, lambda: pic.save(tmp_path / "g.png")):
        with pytest.raises(GraphvizMissingError) as err:
            draw()
        message = str(err.value)
        assert "dot program" in message and "not installed" in message
        assert "apt install graphviz" in message and "brew install graphviz" in message
        assert "conda install graphviz" in message
    assert pic.dot.startswith("digraph") and "flowchart LR" in pic.mermaid
    # A notebook falls back to Mermaid.
    assert pic._repr_svg_() is None
    bundle = pic._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/markdown"}
    assert bundle["text/markdown"].startswith("```mermaid\n---\n")


def test_notebook_shows_svg_when_dot_is_installed():
    pic = picture(from_graph(SEED, 1, 2))
    if not _have_dot():
        assert not require_dot(), "PREFECT_CYCLES_REQUIRE_DOT=1 but Graphviz's dot is missing"
        assert pic._repr_svg_() is None
        return
    bundle = pic._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag.endswith("svg")
    assert bundle["text/plain"] == pic.text
    assert ET.fromstring(pic._repr_svg_()).tag.endswith("svg")


def test_output_is_deterministic():
    wf = from_graph(MIXED, 1, 3)
    a, b = picture(wf), picture(from_graph(MIXED, 1, 3))
    assert (a.text, a.dot, a.mermaid) == (b.text, b.dot, b.mermaid)


def test_a_cyclic_flow_draws_itself():
    from prefect import task

    from prefect_cycles import cyclic_flow

    @task
    def prep(): ...

    @task
    def foo(): ...

    @task
    def bar(): ...

    flow = cyclic_flow(prep, foo, bar, graph=SEED, initial=1, final=4, name="seed")
    pic = flow.picture(1, 2)
    assert isinstance(pic, Picture)
    assert [c[0] for c in dot_clusters(pic.dot)] == ["1", "2"]
    assert flow.picture(collapsed=True).text == picture(flow.workflow, collapsed=True).text
    assert str(flow.picture()) == picture(flow.workflow).text


def test_a_parent_off_its_sequence_inside_the_window_is_drawn_in_its_own_point():
    wf = from_graph({"P2": "a", "P1": "a[-P1] => b"}, 1, 4)
    dot = picture(wf).dot
    assert [c[1] for c in dot_clusters(dot)] == ["1", "2", "3", "4"]  # none "outside"
    assert "2 is not on its sequence (P2)" in dot_nodes(dot)["2/a"]
    assert "never runs: it needs a[2]" in dot_nodes(dot)["3/b"]
    assert 'color="#9a9a9a"' in dot_edges(dot)["2/a", "3/b"]
