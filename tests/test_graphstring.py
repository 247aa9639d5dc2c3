"""Cylc graph strings read into the model.

Each verdict below was checked against ``cylc validate`` (cylc-flow 8.5.4) on
the same graph in an integer-cycling flow.cylc; where prefect-cycles
deliberately differs from Cylc, the test says so.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.cycling.points import IntegerCycling
from prefect_cycles.errors import CycleError, GraphSyntaxError
from prefect_cycles.frontends.graphstring import add_graph, from_graph, parse_node
from prefect_cycles.graph.conditions import AllOf, AnyOf, Offset, Trigger
from prefect_cycles.graph.model import Workflow

INT = IntegerCycling()
FAMS = {"FAM": ["m1", "m2"]}


def wf_of(graph: dict[str, str], families=None, notices=None) -> Workflow:
    return from_graph(graph, 1, 4, families=families, notices=notices)


def deps(wf: Workflow) -> list[tuple[str, str, str]]:
    """(recurrence, condition, target) for every dependency, as text."""
    return [(d.recurrence, str(d.condition), d.target) for d in wf.dependencies]


def T(task: str, output: str = "succeeded", optional: bool = False, offset=None) -> Trigger:
    off = None if offset is None else Offset.parse(offset, INT)
    return Trigger(task, off, output, optional)


# -- parse_node ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("foo", Trigger("foo")),
        ("  foo  ", Trigger("foo")),
        ("foo?", Trigger("foo", optional=True)),
        ("foo:succeed", Trigger("foo")),
        ("foo:succeeded?", Trigger("foo", optional=True)),
        ("foo:fail", Trigger("foo", output="failed")),
        ("foo:failed?", Trigger("foo", output="failed", optional=True)),
        ("foo:start", Trigger("foo", output="started")),
        ("foo:started", Trigger("foo", output="started")),
        ("foo:finish", Trigger("foo", output="finished", optional=True)),
        ("foo:finished", Trigger("foo", output="finished", optional=True)),
        ("foo[-P1]", Trigger("foo", Offset("relative", "-P1", -1))),
        ("foo[+P2]:fail?", Trigger("foo", Offset("relative", "+P2", 2), "failed", True)),
        ("foo [ -P1 ] : fail ?", Trigger("foo", Offset("relative", "-P1", -1), "failed", True)),
        ("foo[^]", Trigger("foo", Offset("initial", "^"))),
        ("foo[^+P1]", Trigger("foo", Offset("initial", "^+P1", 1))),
        ("foo[3]", Trigger("foo", Offset("absolute", "3", point=3))),
        ("a-1_b+c%d@e", Trigger("a-1_b+c%d@e")),
    ],
)
def test_parse_node_reads_every_part(text, expected):
    assert parse_node(text, INT) == expected


def test_parse_node_reads_date_time_offsets():
    dt = DateTimeCycling()
    six = parse_node("obs[-PT6H]", dt)
    assert six.offset.kind == "relative" and str(six.offset.interval) == "-PT6H"
    fixed = parse_node("obs[20200101T00]:fail?", dt)
    assert fixed.offset.kind == "absolute"
    assert dt.format(fixed.offset.point) == "20200101T0000Z"
    assert fixed.output == "failed" and fixed.optional
    assert parse_node("obs[^+P1D]", dt).offset.kind == "initial"


@pytest.mark.parametrize(
    ("text", "point", "parent"),
    [
        # cylc-flow's tests/functional/offset/04-cycle-offset-chain: parts added in turn
        ("foo[-P1D+PT18H]", "20100102T0000Z", "20100101T1800Z"),
        ("foo[+PT6H-P1D]", "20100102T0000Z", "20100101T0600Z"),
        ("foo[-P1M+P1D]", "20100131T0000Z", "20100101T0000Z"),
        # in turn, not summed first: 20100228 + P1M, not 20100401 - P1D
        ("foo[-P1D+P1M]", "20100301T0000Z", "20100328T0000Z"),
    ],
)
def test_parse_node_reads_compound_offsets_as_cylc_does(text, point, parent):
    dt = DateTimeCycling()
    offset = parse_node(text, dt).offset
    assert offset.kind == "relative" and offset.text == text[4:-1]
    got = offset.resolve(dt.point(point), dt.point("20000101T00Z"), dt)
    assert dt.format(got) == parent


def test_compound_integer_offsets_add_up():
    assert parse_node("foo[-P3+P1]", INT).offset.resolve(5, 1, INT) == 3


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("foo[-P1D+]", "bad cycle offset"),
        ("", "exactly one graph node"),
        ("a => b", "exactly one graph node"),
        ("a & b", "exactly one graph node"),
        ("foo:bo.gus", "unexpected '.'"),
        ("foo:", "empty output"),
        ("foo:finish?", "can't be optional"),
        ("foo:succeed-all", "needs a family"),
        ("foo[-PT6H]", "bad cycle offset [-PT6H]"),
        ("foo[]", "bad cycle offset []"),
        ("foo?[-P1]", "unexpected '['"),
        ("foo:fail[-P1]", "unexpected '['"),
        ("-foo", "not a valid task name"),
        ("fóo", "not a valid task name"),
        ("!foo", "suicide trigger target"),
        ("@clock", "xtrigger"),
        ("foo<m>", "parameters"),
        ("foo bar", "missing operator"),
    ],
)
def test_parse_node_refuses_bad_nodes_with_a_fix(text, fragment):
    with pytest.raises(GraphSyntaxError) as exc:
        parse_node(text, INT, task="t")
    assert fragment in str(exc.value)
    assert exc.value.fix


def test_parse_node_refuses_non_text():
    with pytest.raises(GraphSyntaxError, match="must be text"):
        parse_node(3, INT)  # type: ignore[arg-type]


# -- chains, operators, lines ------------------------------------------------------------


def test_seed_graph(assert_seed_model):
    wf = wf_of({"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"})
    assert_seed_model(wf)
    assert [d.source for d in wf.dependencies] == ["prep => foo", "foo[-P1] => foo", "foo => bar"]
    assert all(t.optional == {"succeeded": False} for t in wf.tasks.values())


@pytest.mark.parametrize(
    "text",
    [
        "a => b => c",
        "a =>\n b =>\n c",
        "a\n => b\n => c",
        "a => # comment\n\n   b => c  # more\n# whole-line comment",
        "\ta\t=>\tb\t=>\tc\t",
    ],
)
def test_chains_and_continuation_lines(text):
    assert deps(wf_of({"P1": text})) == [("P1", "a", "b"), ("P1", "b", "c")]


def test_and_or_continue_lines_too():
    wf = wf_of({"P1": "a &\n b => c\nd\n| e => f"})
    assert [d.condition for d in wf.dependencies] == [
        AllOf((T("a"), T("b"))),
        AnyOf((T("d"), T("e"))),
    ]


def test_and_binds_tighter_than_or_as_in_cylc():
    # Cylc evaluates prerequisites as Python expressions: '&' before '|'.
    wf = wf_of({"P1": "a | b & c => d\n(a | b) & c => e\n((a | b) & (c | a)) | b => f"})
    assert [d.condition for d in wf.dependencies] == [
        AnyOf((T("a"), AllOf((T("b"), T("c"))))),
        AllOf((AnyOf((T("a"), T("b"))), T("c"))),
        AnyOf((AllOf((AnyOf((T("a"), T("b"))), AnyOf((T("c"), T("a"))))), T("b"))),
    ]


def test_and_on_the_right_makes_one_dependency_per_task():
    wf = wf_of({"P1": "a => b & c => d\nx => (y & z)"})
    assert deps(wf) == [
        ("P1", "a", "b"),
        ("P1", "a", "c"),
        ("P1", "b & c", "d"),
        ("P1", "x", "y"),
        ("P1", "x", "z"),
    ]


def test_lone_nodes_declare_tasks_on_their_recurrence():
    wf = wf_of({"R1": "prep\n", "P1": "a | b\nc & d", "P2": "prep"})
    assert {n: t.recurrences for n, t in wf.tasks.items()} == {
        "prep": ["R1", "P2"],
        "a": ["P1"],
        "b": ["P1"],
        "c": ["P1"],
        "d": ["P1"],
    }
    assert wf.dependencies == []


def test_tasks_with_offsets_get_no_sequence_from_them():
    wf = wf_of({"R1": "prep", "P1": "prep[^] => foo\nfoo[-P1] => bar"})
    assert wf.tasks["prep"].recurrences == ["R1"]
    assert wf.tasks["foo"].recurrences == ["P1"]
    cond = wf.dependencies[0].condition
    assert cond.offset.kind == "initial" and cond.task == "prep"


def test_duplicate_edges_are_added_once():
    wf = wf_of({"P1": "a => b\na => b\n a=>b"})
    assert deps(wf) == [("P1", "a", "b")]


def test_comma_separated_recurrences_are_separate_sections():
    wf = wf_of({"R1, P2": "a => b"})
    assert wf.tasks["a"].recurrences == ["R1", "P2"]
    assert deps(wf) == [("R1", "a", "b"), ("P2", "a", "b")]


def test_spaces_around_a_sign_before_digits_are_allowed_as_in_cylc():
    assert deps(wf_of({"P1": "a => b - 1"})) == [("P1", "a", "b-1")]


def test_add_graph_adds_to_an_existing_workflow_and_returns_it():
    wf = Workflow.create(1, 4)
    assert add_graph(wf, {"R1": "prep => foo"}) is wf
    add_graph(wf, {"P1": "foo[-P1] => foo"})
    assert wf.tasks["foo"].recurrences == ["R1", "P1"]
    assert len(wf.dependencies) == 2


def test_add_graph_checks_everything_before_changing_the_workflow():
    wf = Workflow.create(1, 4)
    with pytest.raises(GraphSyntaxError):
        add_graph(wf, {"R1": "prep => foo", "P1": "foo => bar | baz"})
    assert wf.tasks == {} and wf.dependencies == []


# -- errors, each with the section, the text and a fix ------------------------------------


@pytest.mark.parametrize(
    ("graph", "fragment"),
    [
        # all refused by cylc validate as well
        ({"P1": "=> a"}, "starts with an operator"),
        ({"P1": "a =>"}, "dangling operator"),
        ({"P1": "a &"}, "dangling operator"),
        ({"P1": "a =>\n=> b"}, "consecutive lines"),
        ({"P1": "a => => b"}, "no task on one side"),
        ({"P1": "a && b => c"}, "'&&' is not a graph operator"),
        ({"P1": "a || b => c"}, "'||' is not a graph operator"),
        ({"P1": "foo bar => baz"}, "missing operator"),
        ({"P1": "(a | b => c"}, "mismatched parentheses"),
        ({"P1": "a | b) => c"}, "mismatched parentheses"),
        ({"P1": "a & | b => c"}, "task name is missing"),
        ({"P1": "() => c"}, "task name is missing"),
        ({"P1": "a => b | c"}, "'|' on the right of '=>'"),
        ({"P1": "a => (b | c)"}, "'|' on the right of '=>'"),
        ({"P1": "x => a => b | c => d"}, "'|' on the right of '=>'"),
        ({"P1": "a => b[-P1]"}, "cycle offset only on the right"),
        ({"P1": "a => b[-P1]\nb"}, "cycle offset only on the right"),
        ({"P1": "a => a"}, "depends on itself"),
        ({"P1": "a | a[-P1] => a"}, "depends on itself"),
        ({"P1": "a[-P1] => b"}, "task 'a' only appears with a cycle offset"),
        ({"P1": "a:custom => b"}, "unknown output :custom"),
        ({"P1": "!a => b"}, "suicide mark '!' not on the right"),
        ({"P1": "!a"}, "suicide mark '!' not on the right"),
        ({"P1": "a => b<m>"}, "parameters"),
        ({"P1": "a<wf::b> => c"}, "inter-workflow"),
        ({"P1": "a => b $ c"}, "unexpected '$'"),
        ({"P1": "a->b"}, "unexpected '>'"),
        ({"P1": "@x | a => b"}, "xtrigger @x in a conditional"),
        ({"P1": "a => @x"}, "xtrigger @x on the right"),
        ({"P1": "@x[-P1] => a"}, "an xtrigger takes no offset"),
        ({"P1": "(" * 150 + "a" + ")" * 150 + " => b"}, "nested too deeply"),
        # where prefect-cycles is stricter than Cylc (which accepts these)
        ({"P1": "a => b[-P1] & c\nb"}, "cycle offset only on the right"),
        ({"P1": "b[-P1]"}, "task 'b' only appears with a cycle offset"),
        ({"P1": "a:submit-fail => b"}, "a:submit-failed must be optional"),
        ({"P1": "a:expired => b"}, "a:expired must be optional"),
        ({"P1": "a:bogus => b"}, "undefined custom output a:bogus"),
    ],
)
def test_graph_errors_name_section_text_and_fix(graph, fragment):
    with pytest.raises(GraphSyntaxError) as exc:
        wf_of(graph)
    msg = str(exc.value)
    assert fragment in msg
    assert "graph section 'P1'" in msg
    assert exc.value.fix and ". Fix: " in msg


def test_errors_name_the_line_of_the_section():
    with pytest.raises(GraphSyntaxError) as exc:
        wf_of({"P1": "a => b\n\n# note\nc => d | e"})
    assert "graph section 'P1', line 4" in str(exc.value)
    assert exc.value.text == "c => d | e"
    assert "put the choice on the left" in exc.value.fix


def test_offset_only_error_suggests_adding_the_task_to_a_section():
    with pytest.raises(GraphSyntaxError) as exc:
        wf_of({"P1": "foo[-P1] => bar"})
    assert exc.value.task == "foo"
    assert "add it to a graph section without an offset" in exc.value.fix


def test_bad_offsets_and_recurrences_are_cycle_errors():
    with pytest.raises(GraphSyntaxError, match=r"bad cycle offset \[-PT6H\] on a"):
        wf_of({"P1": "a[-PT6H] => b"})
    with pytest.raises(CycleError):
        wf_of({"R1, ": "a"})
    with pytest.raises(CycleError):
        wf_of({"NOT A RECURRENCE": "a"})


@pytest.mark.parametrize(
    "graph",
    ["a => b", {1: "a"}, {"P1": 3}, {"P1": None}],
)
def test_graph_must_map_recurrences_to_text(graph):
    with pytest.raises(GraphSyntaxError):
        wf_of(graph)  # type: ignore[arg-type]


def test_an_offset_in_mid_chain_drops_its_edge_as_cylc_does():
    # cylc graph draws b[-P1] => c but nothing into b from a: Cylc ignores a => b[-P1].
    notices: list[str] = []
    wf = wf_of({"P1": "a => b[-P1] => c\nb"}, notices=notices)
    assert deps(wf) == [("P1", "b[-P1]", "c")]
    assert notices == [
        "graph section 'P1' line 1: 'a => b[-P1]' is ignored, as in Cylc: a node with an "
        "offset on the right of '=>' gets no prerequisites"
    ]


def test_clock_xtriggers_joined_by_and_become_clock_triggers():
    notices: list[str] = []
    wf = from_graph(
        {"PT6H": "@clock & a => b\n@wall_clock => c\n@clock"},
        "20200101T00Z",
        xtriggers={"clock": "wall_clock(offset=PT1H)"},
        notices=notices,
    )
    assert deps(wf) == [("PT6H", "a", "b")]
    assert wf.tasks["c"].recurrences == ["PT6H"]
    assert "@clock" not in wf.tasks and "clock" not in wf.tasks
    assert [(t.task, t.recurrence, t.offset, t.label) for t in wf.clock_triggers] == [
        ("b", "PT6H", "PT1H", "clock"),
        ("c", "PT6H", "PT0S", "wall_clock"),
    ]
    assert notices == [
        "graph section 'PT6H' line 3: an xtrigger with no '=>' after it holds no task "
        "back, as in Cylc (@clock)"
    ]


# -- required and optional outputs (Cylc 8 rules) -------------------------------------------


@pytest.mark.parametrize(
    ("graph", "task", "optional"),
    [
        ("a => b", "a", {"succeeded": False}),
        ("a => b?", "b", {"succeeded": True}),
        ("a:fail? => b\na? => c", "a", {"succeeded": True, "failed": True}),
        # only ':fail' used: success is not required (Cylc leaves it unset)
        ("a:fail => b", "a", {"succeeded": True, "failed": False}),
        ("x => b:fail?", "b", {"succeeded": True, "failed": True}),
        # ':start' is a required output unless marked '?'; success stays required
        ("a:start => b", "a", {"succeeded": False, "started": False}),
        ("a:start? => b", "a", {"succeeded": False, "started": True}),
        ("a => b:start => c", "b", {"succeeded": False, "started": False}),
        # ':finish' makes succeeded and failed optional
        ("a:finish => b", "a", {"succeeded": True, "failed": True, "finished": True}),
        ("x => a:finish\na? => y", "a", {"succeeded": True, "failed": True, "finished": True}),
        ("a[-P1]:fail? => b\na? => c", "a", {"succeeded": True, "failed": True}),
        ("a:succeeded? | a:failed? => b", "a", {"succeeded": True, "failed": True}),
    ],
)
def test_output_optionality_follows_cylc(graph, task, optional):
    assert wf_of({"P1": graph}).tasks[task].optional == optional


def test_triggers_carry_the_final_optionality():
    wf = wf_of({"P1": "a? => b\na:fail? => c\nx:start => y"})
    assert [d.condition for d in wf.dependencies] == [
        T("a", optional=True),
        T("a", "failed", True),
        T("x", "started"),
    ]


@pytest.mark.parametrize(
    ("graph", "fragment"),
    [
        ({"P1": "a => b?\nb => c"}, "b:succeeded can't be both required and optional"),
        ({"R1": "a => b", "P1": "a? => c"}, "a:succeeded can't be both required and optional"),
        ({"P1": "a:start => b\na:start? => c"}, "a:started can't be both"),
        ({"P1": "a:succeed => b\na:succeeded? => c"}, "a:succeeded can't be both"),
        ({"P1": "a:fail => b\na => c"}, "a:succeeded and a:failed are both used"),
        ({"P1": "a => b\na:fail? => d"}, "a:succeeded and a:failed are both used"),
        ({"P1": "a:fail => a"}, "a:succeeded and a:failed are both used"),
        ({"P1": "a[-P1]:fail => b\na => c"}, "a:succeeded and a:failed are both used"),
        ({"P1": "a:finish? => b"}, "pseudo-output a:finish can't be optional"),
        ({"P1": "a:finish => b\na => c"}, "a:succeeded can't be both"),
        ({"P1": "x => a:finish\na => y"}, "a:succeeded can't be both"),
    ],
)
def test_inconsistent_outputs_are_refused_as_cylc_refuses_them(graph, fragment):
    with pytest.raises(GraphSyntaxError) as exc:
        wf_of(graph)
    assert fragment in str(exc.value)
    assert "'?'" in exc.value.fix


def test_graph_optionality_must_agree_with_the_workflow_already_built():
    wf = from_graph({"P1": "a => b"}, 1, 4)
    with pytest.raises(GraphSyntaxError, match="a:succeeded can't be both"):
        add_graph(wf, {"P1": "a? => c"})


# -- families ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "condition"),
    [
        ("FAM:succeed-all", AllOf((T("m1"), T("m2")))),
        ("FAM:succeed-any", AnyOf((T("m1"), T("m2")))),
        ("FAM:fail-all?", AllOf((T("m1", "failed", True), T("m2", "failed", True)))),
        ("FAM:fail-any?", AnyOf((T("m1", "failed", True), T("m2", "failed", True)))),
        ("FAM:finish-all", AllOf((T("m1", "finished", True), T("m2", "finished", True)))),
        ("FAM:finish-any", AnyOf((T("m1", "finished", True), T("m2", "finished", True)))),
        ("FAM:start-all", AllOf((T("m1", "started"), T("m2", "started")))),
        ("FAM:start-any", AnyOf((T("m1", "started"), T("m2", "started")))),
    ],
)
def test_family_triggers_expand_over_members(left, condition):
    wf = wf_of({"P1": f"{left} => x"}, FAMS)
    assert [d.condition for d in wf.dependencies] == [condition]
    assert wf.tasks["m1"].recurrences == ["P1"] and wf.tasks["m2"].recurrences == ["P1"]


def test_family_triggers_mix_with_tasks_and_offsets():
    wf = wf_of({"P1": "FAM[-P1]:succeed-any & a | b => x\nFAM"}, FAMS)
    off = Offset.parse("-P1", INT)
    assert wf.dependencies[0].condition == AnyOf(
        (
            AllOf((AnyOf((Trigger("m1", off), Trigger("m2", off))), T("a"))),
            T("b"),
        )
    )


def test_family_on_the_right_means_every_member():
    wf = wf_of({"P1": "x => FAM\ny => FAM:start-any => z"}, FAMS)
    assert deps(wf) == [
        ("P1", "x", "m1"),
        ("P1", "x", "m2"),
        ("P1", "y", "m1"),
        ("P1", "y", "m2"),
        ("P1", "m1:started | m2:started", "z"),
    ]


def test_lone_family_declares_its_members():
    wf = wf_of({"R1": "FAM", "P1": "m1[-P1] => m1"}, FAMS)
    assert wf.tasks["m2"].recurrences == ["R1"]
    assert wf.tasks["m1"].recurrences == ["R1", "P1"]


def test_a_task_in_two_families():
    wf = wf_of(
        {"P1": "A:succeed-all => x\nB:succeed-any => y"}, {"A": ["m1", "m2"], "B": ["m1", "m3"]}
    )
    assert [str(d.condition) for d in wf.dependencies] == ["m1 & m2", "m1 | m3"]


def test_a_family_of_one_is_its_member():
    wf = wf_of({"P1": "F:succeed-all => x"}, {"F": ["m"]})
    assert wf.dependencies[0].condition == T("m")


@pytest.mark.parametrize(
    ("graph", "fragment"),
    [
        # Cylc 8 refuses a bare family on the left: it must say -all or -any
        ("FAM => x", "illegal family trigger 'FAM'"),
        ("x => FAM => y", "illegal family trigger 'FAM'"),
        ("FAM:fail => x", "illegal family trigger 'FAM:fail'"),
        ("x => FAM:fail", "illegal family trigger 'FAM:fail'"),
        ("x:succeed-all => y", "not a family"),
        ("x => FAM:finish-all?", "can't be optional"),
        ("FAM:finish-all? => x", "can't be optional"),
        ("FAM[-P1]:succeed-all => x", "task 'm1' only appears with a cycle offset"),
        ("FAM:succeed-all => m1", "task 'm1' depends on itself"),
        ("FAM:succeed-all => x\nFAM:succeed-all? => y", "defaults to both required and optional"),
        ("x => FAM?\nFAM:succeed-all => y", "defaults to both required and optional"),
        ("FAM:finish-all => x\nm1 => y", "(via family trigger defaults)"),
        ("m1 => y\nFAM:finish-all => x", "(via family trigger defaults)"),
        ("FAM:succeed-all & m1:fail? => x", "m1:succeeded and m1:failed are both used"),
        ("FAM:fail-any? => x\nFAM:succeed-all => y", "m1:succeeded and m1:failed"),
        ("EMPTY:succeed-all => x", "family 'EMPTY' has no member tasks"),
    ],
)
def test_family_errors(graph, fragment):
    with pytest.raises(GraphSyntaxError) as exc:
        wf_of({"P1": graph}, {**FAMS, "EMPTY": []})
    assert fragment in str(exc.value)


@pytest.mark.parametrize(
    ("graph", "m1"),
    [
        # a plain mention settles what a family trigger only defaults
        ("FAM:succeed-all => x\nm1? => y", {"succeeded": True}),
        ("m1? => y\nFAM:succeed-all => x", {"succeeded": True}),
        ("FAM:succeed-all? => x", {"succeeded": True}),
        ("FAM:finish-all => x\nm1? => y", {"succeeded": True, "failed": True, "finished": True}),
        ("FAM:fail-any? => x\nFAM:succeed-all? => y", {"succeeded": True, "failed": True}),
        ("x => FAM:fail-any?", {"succeeded": True, "failed": True}),
        ("x => FAM", {"succeeded": False}),
    ],
)
def test_family_optionality_defaults(graph, m1):
    assert wf_of({"P1": graph}, FAMS).tasks["m1"].optional == m1


@pytest.mark.parametrize(
    "families",
    [{"FAM": "m1"}, {"FAM": ["bad name"]}, {"FAM": [3]}, {3: ["m1"]}, {"FAM": None}],
)
def test_families_must_map_names_to_task_lists(families):
    with pytest.raises(GraphSyntaxError):
        wf_of({"P1": "a"}, families)


# -- never anything but a CycleError --------------------------------------------------------

GRAPH_ATOMS = st.sampled_from(
    [
        "a", "b", "c", "FAM", "a[-P1]", "b[+P1]", "c[^]", "a[2]", "b[-PT6H]", "a:fail",
        "b:fail?", "c?", "a:start", "b:finish", "FAM:succeed-all", "FAM:fail-any?",
        "FAM:finish-all", "@x", "!a", "a[", "a:", ":b", "a b", "x<m>",
        "a[+P99999999999]", "b[-P99999999999999999999]", "point", "previous", "c[+P0]",
    ]
)  # fmt: skip
GRAPH_GLUE = st.sampled_from(
    [" => ", " & ", " | ", "\n", " =>\n", "\n& ", " (", ") ", "(", ")", " # c\n", "", " ?"]
)


@st.composite
def graph_like(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 12))):
        parts.append(draw(GRAPH_ATOMS))
        parts.append(draw(GRAPH_GLUE))
    return "".join(parts[:-1])


def _only_cycle_errors(fn):
    try:
        return fn()
    except CycleError as exc:
        assert str(exc)
        return None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), graph_like()))
def test_parse_node_gives_a_trigger_or_a_cycle_error(text):
    got = _only_cycle_errors(lambda: parse_node(text, INT))
    assert got is None or isinstance(got, Trigger)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(), graph_like()),
    st.sampled_from(["R1", "P1", "P2", "R1, P1", ""]),
)
def test_add_graph_gives_a_workflow_or_a_cycle_error(text, recurrence):
    got = _only_cycle_errors(lambda: wf_of({recurrence: text}, FAMS))
    if got is not None:
        assert set(got.tasks) <= {"a", "b", "c", "m1", "m2"} | set(got.tasks)
        for dep in got.dependencies:
            assert dep.target in got.tasks


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=3))
def test_add_graph_with_arbitrary_sections(graph):
    _only_cycle_errors(lambda: wf_of(graph))
