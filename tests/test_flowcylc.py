"""Reading Cylc 8 flow.cylc files into the model.

The fixtures in tests/data/flowcylc pass ``cylc validate`` (cylc-flow 8.5.4),
and the dependencies expected here match ``cylc graph --reference`` on them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefect_cycles.cycling.datetimes import DateTimeCycling
from prefect_cycles.cycling.points import IntegerCycling
from prefect_cycles.errors import CycleError, GraphSyntaxError, PointError, ValidationError
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.graph.conditions import AllOf, AnyOf, Trigger
from prefect_cycles.graph.model import Workflow
from prefect_cycles.graph.validate import validate, window_notes
from prefect_cycles.run.scheduler import Scheduler

DATA = Path(__file__).parent / "data" / "flowcylc"


def write(tmp_path: Path, text: str, name: str = "flow.cylc") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> tuple[Workflow, list[str]]:
    wf = load_flow_cylc(write(tmp_path, text))
    return wf, wf.notices


def deps(wf: Workflow) -> list[tuple[str, str, str]]:
    return [(d.recurrence, str(d.condition), d.target) for d in wf.dependencies]


INTEGER = """
    [scheduling]
        cycling mode = integer
        initial cycle point = 1
        final cycle point = 3
        [[graph]]
            P1 = {graph}
"""


# -- the fixtures ------------------------------------------------------------------------


def test_seed_fixture(assert_seed_model):
    wf = load_flow_cylc(DATA / "seed")
    notices = wf.notices
    assert isinstance(wf.cycling, IntegerCycling)
    assert (wf.initial, wf.final, wf.runahead, wf.name) == (1, 4, "P4", "seed")
    assert_seed_model(wf)
    assert notices == [
        "[scheduler]allow implicit tasks ignored (a scheduler setting with no effect on the "
        "cycling graph)"
    ]


def test_seed_fixture_by_file_path_as_text():
    wf = load_flow_cylc(str(DATA / "seed" / "flow.cylc"))
    assert wf.final == 4 and len(wf.dependencies) == 3


def test_fixture_with_runtime_settings_reads_the_graph_and_notices_the_rest():
    wf = load_flow_cylc(DATA / "scripts")
    notices = wf.notices
    assert (wf.initial, wf.final, wf.runahead) == (1, 3, "P1")
    assert {n: t.recurrences for n, t in wf.tasks.items()} == {
        "install": ["R1"],
        "fetch": ["P1"],
        "process": ["P1"],
        "recover": ["P1"],
        "archive": ["P1"],
    }
    assert deps(wf) == [
        ("P1", "install[^]", "fetch"),
        ("P1", "fetch", "process"),
        ("P1", "process[-P1]:finished?", "process"),
        ("P1", "process:failed?", "recover"),
        ("P1", "process?", "archive"),
    ]
    assert wf.tasks["process"].optional == {"succeeded": True, "failed": True, "finished": True}
    assert notices == [
        "[meta]title ignored (workflow metadata)",
        "[meta]description ignored (workflow metadata)",
        "[scheduler][events]stall timeout ignored (a scheduler setting with no effect on "
        "the cycling graph)",
        *(
            f"[runtime]{item} ignored (prefect-cycles runs your Prefect tasks, not Cylc job "
            "settings)"
            for item in (
                "[root]platform",
                "[root][environment]DATA_DIR",
                "[install]script",
                "[fetch, process]script",
                "[fetch, process]execution retry delays",
                "[recover]script",
                "[archive]script",
            )
        ),
    ]


def test_date_time_fixture_with_families():
    wf = load_flow_cylc(DATA / "forecast")
    notices = wf.notices
    cyc = wf.cycling
    assert isinstance(cyc, DateTimeCycling)
    assert (cyc.format(wf.initial), cyc.format(wf.final)) == ("20200101T0000Z", "20200102T0000Z")
    assert wf.runahead == "P2"
    assert {n: t.recurrences for n, t in wf.tasks.items()} == {
        "install": ["R1"],
        "get_obs": ["R1", "PT12H"],
        "model_a": ["PT12H"],
        "model_b": ["PT12H"],
        "model_c": ["PT12H"],
        "post": ["PT12H", "T00"],
        "monitor": ["PT12H"],
        "archive": ["T00"],
    }
    assert deps(wf) == [
        ("R1", "install", "get_obs"),
        ("PT12H", "get_obs[-PT12H]", "get_obs"),
        ("PT12H", "get_obs", "model_a"),
        ("PT12H", "get_obs", "model_b"),
        ("PT12H", "get_obs", "model_c"),
        ("PT12H", "model_a & model_b & model_c", "post"),
        ("PT12H", "model_b:started | model_c:started", "monitor"),
        ("T00", "post & post[-PT12H]", "archive"),
    ]
    members = wf.dependencies[5].condition
    assert members == AllOf(tuple(Trigger(m) for m in ("model_a", "model_b", "model_c")))
    assert isinstance(wf.dependencies[6].condition, AnyOf)
    assert wf.tasks["model_b"].optional == {"succeeded": False, "started": False}
    assert notices == [
        "tasks with no [runtime] entry (Cylc needs [scheduler]allow implicit tasks = True "
        "for these): archive, get_obs, install, monitor, post",
        "[scheduler]allow implicit tasks ignored (a scheduler setting with no effect on the "
        "cycling graph)",
        "[runtime][root]script ignored (prefect-cycles runs your Prefect tasks, not Cylc job "
        "settings)",
    ]


# -- the file format -----------------------------------------------------------------------


def test_values_quoted_every_way_with_comments_and_continuations(tmp_path):
    wf, _ = load(
        tmp_path,
        '''
        # leading comment
        [scheduling]   # trailing comment on a heading
            cycling mode = 'integer'
            initial cycle point = "1"  # quoted, with a comment
            final cycle point = 4 # unquoted, with a comment
            [[ graph ]]
                R1 = """prep"""  # one-line triple quotes
                P1 = """
                    a => \\
                        b
                    # a comment inside the graph
                    b => c  # and after an edge
                """
                P2 = \'\'\'
                    c => d
                \'\'\'
                R1 = prep => a   # a repeated graph key adds to the first
        ''',
    )
    assert wf.final == 4
    assert deps(wf) == [
        ("R1", "prep", "a"),
        ("P1", "a", "b"),
        ("P1", "b", "c"),
        ("P2", "c", "d"),
    ]
    assert wf.tasks["prep"].recurrences == ["R1"]


def test_repeated_sections_merge_and_later_keys_win(tmp_path):
    wf, _ = load(
        tmp_path,
        """
        [scheduling]
            cycling mode = integer
            final cycle point = 9
            [[graph]]
                P1 = a
        [runtime]
            [[a]]
        [scheduling]
            final cycle point = 5
            [[graph]]
                P2 = b
        """,
    )
    assert (wf.initial, wf.final) == (1, 5)
    assert wf.tasks["a"].recurrences == ["P1"] and wf.tasks["b"].recurrences == ["P2"]


def test_cylc7_dependencies_and_max_active_cycle_points_are_upgraded(tmp_path):
    wf, notices = load(
        tmp_path,
        """
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            max active cycle points = 3
            [[dependencies]]
                [[[R1]]]
                    graph = "a => b"
                [[[P1]]]
                    graph = "b[-P1] => b"
        """,
    )
    assert wf.runahead == "P2"
    assert deps(wf) == [("R1", "a", "b"), ("P1", "b[-P1]", "b")]
    assert notices == [
        "[scheduling][dependencies] is Cylc 7 syntax, read as [scheduling][graph]; Cylc 8 "
        "upgrades it the same way",
        "[scheduling]max active cycle points = 3 read as runahead limit = P2, as Cylc 8 "
        "upgrades it",
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[scheduling]\n  [[graph]]\n    R1 = """a => b\n', "multi-line string opened with"),
        ('[scheduling]\n  [[graph]]\n    R1 = """a""" b\n', "text after a closing triple quote"),
        ('[scheduling]\n  [[graph]]\n    R1 = """\na\n""" b\n', "text after a closing triple"),
        ("[scheduling]\n  [[graph]\n", "bracket mismatch"),
        ("[scheduling]\n  [[[graph]]]\n", "nested too deeply"),
        ("[scheduling]\n  just words\n", "invalid line"),
        ("[scheduling]\n  a = 1 \\ \n  b = 2\n", "whitespace after the line continuation"),
        ('[scheduling]\n  [[graph]]\n    R1 = "a => b\n', "badly quoted value"),
    ],
)
def test_format_errors_name_file_line_and_fix(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(GraphSyntaxError) as exc:
        load_flow_cylc(path)
    assert fragment in str(exc.value)
    assert str(path) in str(exc.value) and ", line " in str(exc.value)
    assert exc.value.fix


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("#!EmPy\n[scheduling]\n", "port the template to Jinja2"),
        ("[scheduling]\n  initial cycle point = {{ ICP }}\n", "make #!Jinja2 the first line"),
        ("{% set N = 3 %}\n[scheduling]\n", "make #!Jinja2 the first line"),
        ("[scheduling]\n%include inc/graph.cylc\n", "relative to the workflow directory"),
    ],
)
def test_templates_that_cannot_be_rendered_are_refused(tmp_path, text, fix):
    path = write(tmp_path, text)
    with pytest.raises(GraphSyntaxError) as exc:
        load_flow_cylc(path)
    assert str(path) in str(exc.value)
    assert fix in exc.value.fix


def test_jinja2_and_include_are_rendered_before_reading(tmp_path):
    write(tmp_path, '    [[graph]]\n        R1 = "{{ A }} => b"\n', "graph.cylc")
    path = write(
        tmp_path,
        """
        #!Jinja2
        [scheduling]
            cycling mode = integer
            final cycle point = {{ FINAL }}
        %include graph.cylc
        """,
    )
    wf = load_flow_cylc(path, {"FINAL": 3, "A": "a"})
    assert wf.final == 3
    assert deps(wf) == [("R1", "a", "b")]


def test_task_parameters_are_expanded_in_graph_and_runtime(tmp_path):
    wf, notices = load(
        tmp_path,
        """
        [task parameters]
            m = 1..2
        [scheduling]
            cycling mode = integer
            [[graph]]
                R1 = "FAM<m>:succeed-all => post<m>"
        [runtime]
            [[FAM<m>]]
            [[run<m>]]
                inherit = FAM<m>
            [[post<m>]]
        """,
    )
    assert deps(wf) == [("R1", "run_m1", "post_m1"), ("R1", "run_m2", "post_m2")]
    assert wf.parameterised["post_m2"] == ("post", {"m": 2})
    assert not [n for n in notices if "task parameters" in n or "parameterised" in n]


def test_missing_paths_are_named(tmp_path):
    with pytest.raises(GraphSyntaxError, match="does not exist") as exc:
        load_flow_cylc(tmp_path / "nowhere" / "flow.cylc")
    assert "nowhere" in str(exc.value)
    with pytest.raises(GraphSyntaxError, match=r"no flow\.cylc in directory"):
        load_flow_cylc(tmp_path)
    with pytest.raises(GraphSyntaxError, match="does not exist"):
        load_flow_cylc("bad\x00path")


def test_cylc7_suite_rc_is_refused(tmp_path):
    write(tmp_path, "[scheduling]\n", name="suite.rc")
    with pytest.raises(GraphSyntaxError, match=r"Cylc 7 suite\.rc"):
        load_flow_cylc(tmp_path)
    with pytest.raises(GraphSyntaxError, match=r"Cylc 7 suite\.rc"):
        load_flow_cylc(tmp_path / "suite.rc")


def test_non_utf8_files_are_refused(tmp_path):
    path = tmp_path / "flow.cylc"
    path.write_bytes(b"[scheduling]\n\xff\xfe\n")
    with pytest.raises(GraphSyntaxError, match="readable UTF-8"):
        load_flow_cylc(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[scheduler]\n", "has no [scheduling] section"),
        ("[scheduling]\n  initial cycle point = 1\n", "has no graph"),
        ("[scheduling]\n  [[graph]]\n    P1 = \n", "has no graph"),
        ("[scheduling]\n  [[graph]]\n    PT1H = a\n", "has no [scheduling]initial cycle point"),
    ],
)
def test_missing_essentials_name_the_path(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(GraphSyntaxError) as exc:
        load_flow_cylc(path)
    assert fragment in str(exc.value) and str(path) in str(exc.value)


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [
        ("julian", "unknown cycling mode 'julian'"),
        ("360_day", "unknown cycling mode '360_day'"),
    ],
)
def test_unknown_calendars_are_refused(tmp_path, mode, fragment):
    with pytest.raises(GraphSyntaxError, match=fragment):
        load(tmp_path, f"[scheduling]\n  cycling mode = {mode}\n  [[graph]]\n    R1 = a\n")


@pytest.mark.parametrize(
    ("icp", "fragment"),
    [
        ("yesterday", "not an ISO 8601"),
        ("next(T00,T12)", "semicolon separated"),
        ("2" * 200, "too long to be a cycle point"),
    ],
)
def test_unusable_initial_points(tmp_path, icp, fragment):
    with pytest.raises(PointError, match=fragment) as exc:
        load(tmp_path, f"[scheduling]\n  initial cycle point = {icp}\n  [[graph]]\n    R1 = a\n")
    assert "flow.cylc" in str(exc.value)


def test_graph_errors_carry_the_file_name(tmp_path):
    path = write(tmp_path, INTEGER.format(graph="a => b | c"))
    with pytest.raises(GraphSyntaxError) as exc:
        load_flow_cylc(path)
    assert str(exc.value).startswith(f"{path}: '|' on the right of '=>'")


# -- points, calendars, time zones ---------------------------------------------------------------


def test_integer_cycling_defaults_to_initial_point_1(tmp_path):
    wf, _ = load(tmp_path, "[scheduling]\n  cycling mode = integer\n  [[graph]]\n    P1 = a\n")
    assert (wf.initial, wf.final) == (1, None)


def test_an_r1_only_graph_is_integer_cycling_at_point_1_as_in_cylc(tmp_path):
    wf, _ = load(tmp_path, "[scheduling]\n  [[graph]]\n    R1 = a => b\n")
    assert isinstance(wf.cycling, IntegerCycling)
    assert (wf.initial, wf.final) == (1, 1)


@pytest.mark.parametrize(("fcp", "final"), [("+P3", 5), ("-P0", 2), ("7", 7), ("+P0", 2)])
def test_integer_final_points(tmp_path, fcp, final):
    text = "[scheduling]\n cycling mode = integer\n initial cycle point = 2\n"
    wf, _ = load(tmp_path, text + f" final cycle point = {fcp}\n [[graph]]\n  P1 = a\n")
    assert wf.final == final


@pytest.mark.parametrize(
    ("fcp", "final"),
    [
        # each as Cylc 8.5.4 computes it from initial cycle point = 20200101T00
        ("+P1D", "20200102T0000Z"),
        ("P1D", "20200102T0000Z"),
        ("+P1D+PT6H", "20200102T0600Z"),
        ("+P1D +PT6H", "20200102T0600Z"),
        ("2020 +P1D", "20200102T0000Z"),
        ("20200105", "20200105T0000Z"),
        ("+P1M", "20200201T0000Z"),
        ("2020-02-03 -P1D", "20200202T0000Z"),
        ("2020-02-03T06 +P1D -PT1H", "20200204T0500Z"),
    ],
)
def test_date_time_final_points(tmp_path, fcp, final):
    text = "[scheduling]\n initial cycle point = 20200101T00\n"
    wf, _ = load(tmp_path, text + f" final cycle point = {fcp}\n [[graph]]\n  R1 = a\n")
    assert wf.cycling.format(wf.final) == final


@pytest.mark.parametrize(
    ("fcp", "error"),
    [
        ("-P1D", ValidationError),
        ("+P1X", PointError),
        ("9999-12-31 +P1D", PointError),
        ("+P99999999Y", PointError),
    ],
)
def test_bad_date_time_final_points(tmp_path, fcp, error):
    text = "[scheduling]\n initial cycle point = 20200101T00\n"
    with pytest.raises(error):
        load(tmp_path, text + f" final cycle point = {fcp}\n [[graph]]\n  R1 = a\n")


def test_cycle_point_time_zone(tmp_path):
    wf, notices = load(
        tmp_path,
        """
        [scheduler]
            cycle point time zone = +13
            UTC mode = False
        [scheduling]
            initial cycle point = 20200101T00
            final cycle point = 20200101T06Z
            [[graph]]
                R1 = a
        """,
    )
    assert wf.cycling == DateTimeCycling("+13")
    assert wf.cycling.format(wf.initial) == "20200101T0000+13"
    assert wf.cycling.format(wf.final) == "20200101T1900+13"
    assert notices == []


def test_utc_mode_false_is_noted_as_changing_nothing(tmp_path):
    _, notices = load(
        tmp_path,
        "[scheduler]\n UTC mode = False\n[scheduling]\n initial cycle point = 2020\n"
        " [[graph]]\n  R1 = a\n",
    )
    assert notices == [
        "[scheduler]UTC mode = False only affects log time stamps in Cylc 8: cycle points "
        "stay in UTC (Z) unless [scheduler]cycle point time zone is set"
    ]


def test_bad_time_zone(tmp_path):
    with pytest.raises(PointError, match="time zone"):
        load(
            tmp_path,
            "[scheduler]\n cycle point time zone = Mars\n[scheduling]\n"
            " initial cycle point = 2020\n [[graph]]\n  R1 = a\n",
        )


def test_runahead_limit_is_checked(tmp_path):
    text = INTEGER.format(graph="a").replace("final cycle point = 3", "runahead limit = lots")
    with pytest.raises(ValidationError, match="runahead limit 'lots'"):
        load(tmp_path, text)


# -- families from [runtime] --------------------------------------------------------------------

RUNTIME = """
[scheduling]
    cycling mode = integer
    [[graph]]
        P1 = \"\"\"
            {graph}
        \"\"\"
[runtime]
    [[root]]
        script = true
    [[FAM]]
    [[OTHER]]
    [[SUB]]
        inherit = FAM
    [[m1]]
        inherit = FAM, OTHER
    [[m2]]
        inherit = SUB
    [[m3, m4]]
        inherit = "None", OTHER   # None: first parent only matters to Cylc's GUI
    [[x]]
"""


@pytest.mark.parametrize(
    ("graph", "condition"),
    [
        ("FAM:succeed-all => x", "m1 & m2"),
        ("SUB:succeed-any => x", "m2"),
        ("OTHER:fail-any? => x", "m1:failed? | m3:failed? | m4:failed?"),
        ("FAM:finish-all & OTHER:start-any => x",
         "m1:finished? & m2:finished? & (m1:started | m3:started | m4:started)"),
    ],
)  # fmt: skip
def test_families_follow_every_inherit(tmp_path, graph, condition):
    wf, notices = load(tmp_path, RUNTIME.format(graph=graph))
    assert [str(d.condition) for d in wf.dependencies] == [condition]
    assert "[runtime][root]script ignored" in notices[0]


def test_a_family_on_the_right_triggers_every_member(tmp_path):
    wf, _ = load(tmp_path, RUNTIME.format(graph="x => OTHER"))
    assert deps(wf) == [("P1", "x", "m1"), ("P1", "x", "m3"), ("P1", "x", "m4")]


def test_a_bare_family_on_the_left_is_refused_as_in_cylc(tmp_path):
    with pytest.raises(GraphSyntaxError, match="FAM:succeed-all"):
        load(tmp_path, RUNTIME.format(graph="FAM => x"))


@pytest.mark.parametrize(
    ("runtime", "fragment"),
    [
        ("[[a]]\n  inherit = NOPE\n", "inherits from 'NOPE', which is not defined"),
        ("[[A]]\n  inherit = B\n[[B]]\n  inherit = A\n", "inheritance loops: "),
        ("[[A]]\n  inherit = A\n", "inheritance loops: A -> A"),
    ],
)
def test_bad_inheritance(tmp_path, runtime, fragment):
    text = "[scheduling]\n cycling mode = integer\n [[graph]]\n  P1 = x\n[runtime]\n"
    with pytest.raises(GraphSyntaxError, match=fragment):
        load(tmp_path, text + textwrap.indent(runtime, "  "))


# -- never anything but a CycleError -----------------------------------------------------------

FUZZ_SCHEDULER = st.sampled_from(
    ["cycle point time zone = +05", "cycle point time zone = Z", "UTC mode = False",
     "allow implicit tasks = True", "cycle point time zone = nowhere",
     "cycle point time zon = Z", "[[events]]", "[[evnts]]"]
)  # fmt: skip
FUZZ_SCHEDULING = st.sampled_from(
    ["cycling mode = integer", "cycling mode = integer", "cycling mode = gregorian",
     "cycling mode = 360day", "initial cycle point = 1", "initial cycle point = 20200101T00",
     "initial cycle point = now", "final cycle point = +P3", "final cycle point = +P1D",
     "final cycle point = 0", "runahead limit = P2", "runahead limit = PT6H",
     "max active cycle points = 2", "hold after cycle point = 3",
     # issue 10: typos, signs, sizes past what can run or be written
     "final cycle piont = 4", "runahead limt = P2", "cycling mod = integer",
     "runahead limit = -PT6H", "runahead limit = -P1", "runahead limit = P99999999999999999999",
     "final cycle point = +P99999999999", "final cycle point = +P99999Y",
     "[[special tasks]]", "[[grpah]]"]
)  # fmt: skip
FUZZ_GRAPH = st.sampled_from(
    ['R1 = "prep => foo"', "P1 = foo[-P1] => foo => bar", "P1 = FAM:succeed-all => x",
     "P2 = x => FAM", "PT6H = a[-PT6H] => a", "R1/$ = fin", "T00 = a", "P1 = a => b | c",
     "P1 = foo => foo", "P1 = m1? => x", "+P1/P2 = a:fail? => b", 'R1 = """\n  a =>\n  b\n"""',
     "P1!3 = c", "R1, P1 = d", "P1 = @clock & a => b", "P1 = FAM => x",
     "PT6H = a[+P99999Y] => b", "P1 = a[+P99999999999] => b", "P1 = a => b => a",
     'P1 = ""', "P1 = point => previous", "P1 = a  # see {{docs}}"]
)  # fmt: skip
FUZZ_RUNTIME = st.sampled_from(
    ["[[FAM]]", "[[m1, m2]]\n        inherit = FAM", "[[x]]\n        script = true",
     "[[m1]]\n        inhreit = FAM", "[[x]]\n        [[[enviroment]]]\n            A = 1",
     "[[m1]]\n        inherit = NOPE", "[[FAM]]\n        inherit = m1",
     "[[root]]\n        [[[environment]]]\n            A = 1"]
)  # fmt: skip
FUZZ_JUNK = st.sampled_from(
    ["# comment", "", "[[graph]]]", "= nothing", "key = 'open", 'R1 = """', "script = a \\",
     "# {{ jinja2 }} in a comment", "{% if x %}", "[runtim]",
     "[[[deep]]]", "[meta]", "title = x"]
)  # fmt: skip


@st.composite
def flow_like(draw) -> str:
    """Mostly well-formed flow.cylc files, with some junk lines mixed in."""
    lines = ["[scheduler]", *(f"    {x}" for x in draw(st.lists(FUZZ_SCHEDULER, max_size=2)))]
    start = draw(st.sampled_from(["cycling mode = integer", "initial cycle point = 2020"]))
    lines += ["[scheduling]", f"    {start}"]
    lines += [f"    {x}" for x in draw(st.lists(FUZZ_SCHEDULING, max_size=3))]
    lines += [
        "    [[graph]]",
        *(f"        {x}" for x in draw(st.lists(FUZZ_GRAPH, min_size=1, max_size=4))),
    ]
    lines += ["[runtime]", *(f"    {x}" for x in draw(st.lists(FUZZ_RUNTIME, max_size=4)))]
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(FUZZ_JUNK))
    return "\n".join(lines) + "\n"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(st.text(), flow_like()))
def test_any_text_gives_a_workflow_or_a_cycle_error(tmp_path, text):
    path = tmp_path / "flow.cylc"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        wf = load_flow_cylc(path)
        notices = wf.notices
    except CycleError as exc:
        assert str(exc)
        return
    assert isinstance(wf, Workflow) and all(isinstance(n, str) for n in notices)
    try:  # and checking what loaded ends, in bounded time, with warnings or a CycleError
        validate(wf)
        window_notes(wf)
        Scheduler(wf).ready()
    except CycleError as exc:
        assert str(exc)


def test_load_flow_cylc_returns_a_workflow_as_the_docs_say():
    from prefect_cycles import picture

    wf = load_flow_cylc(DATA / "seed")
    assert isinstance(wf, Workflow)
    assert "foo" in picture(wf, 1, 2).text  # it feeds a picture straight away
    assert isinstance(wf.notices, list)


def test_the_shipped_sample_flow_cylc_is_the_seed_workflow(assert_seed_model):
    sample = Path(__file__).resolve().parents[1] / "examples" / "seed-cylc" / "flow.cylc"
    wf = load_flow_cylc(sample)
    assert_seed_model(wf)
    assert (wf.initial, wf.final, wf.runahead) == (1, 4, "P4")
