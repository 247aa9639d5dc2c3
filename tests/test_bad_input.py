"""Bad input of every kind ends in one clear CycleError, never a deep traceback or a hang.

Issue 10, the input half: flow.cylc typos, rerun selectors that select
nothing, offsets past year 9999, reserved and positional-only parameters,
unwritable pictures, flow parameters of the wrong type, negative and endless
runahead limits, empty workflows and windows, loops at one point at run time,
scripts that exit on import, and Jinja2 markup inside comments. Each test runs
the real thing: real files, real subprocesses, real Prefect flow runs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from casevars import case_template_vars
from hypothesis import given, settings
from hypothesis import strategies as st
from prefect import task

from prefect_cycles import CycleError, cyclic_flow, from_graph, load_flow_cylc

HERE = Path(__file__).parent


def write_flow(tmp_path: Path, text: str, name: str = "wf") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "flow.cylc"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``prefect-cycles ARGS`` in a real subprocess (this checkout's package)."""
    return subprocess.run(
        [sys.executable, "-m", "prefect_cycles", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


INTEGER_HEAD = """\
    [scheduling]
        cycling mode = integer
        initial cycle point = 1
        final cycle point = 4
    """

# -- 1. flow.cylc typos ----------------------------------------------------------------

TYPOS = [
    (
        """\
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            final cycle piont = 4
            [[graph]]
                P1 = "a[-P1] => a"
        """,
        "[scheduling]final cycle piont",
        "final cycle point",
    ),
    (
        """\
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            final cycle point = 2
            [[graph]]
                P1 = "MODELS:succeed-all => post"
        [runtime]
            [[MODELS]]
            [[m1]]
                inherit = MODELS
            [[m2]]
                inhreit = MODELS
            [[post]]
        """,
        "[runtime][m2]inhreit",
        "inherit",
    ),
    (
        """\
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            final cycle point = 4
            runahead limt = P0
            [[graph]]
                P1 = "a"
        """,
        "[scheduling]runahead limt",
        "runahead limit",
    ),
    (
        """\
        [scheduling]
            cycling mod = integer
            initial cycle point = 1
            final cycle point = 4
            [[graph]]
                P1 = "a"
        """,
        "[scheduling]cycling mod",
        "cycling mode",
    ),
    (
        """\
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            [[grpah]]
                P1 = "a"
            [[graph]]
                P1 = "b"
        """,
        "[scheduling][grpah]",
        "graph",
    ),
    (
        INTEGER_HEAD
        + """\
            [[graph]]
                P1 = "a"
        [runtim]
            [[a]]
        """,
        "[runtim]",
        "runtime",
    ),
    (
        """\
        [scheduler]
            cycle point time zon = +01
        [scheduling]
            initial cycle point = 20200101T00
            [[graph]]
                PT6H = "a"
        """,
        "[scheduler]cycle point time zon",
        "cycle point time zone",
    ),
    (
        """\
        [scheduling]
            initial cycle point = 20200101T00Z
            [[special tasks]]
                clock-triger = a(PT1H)
            [[graph]]
                PT6H = "a"
        """,
        "[scheduling][special tasks]clock-triger",
        "clock-trigger",
    ),
]


@pytest.mark.parametrize(("text", "item", "nearest"), TYPOS, ids=[t[1] for t in TYPOS])
def test_a_typo_in_a_section_read_is_an_error_that_suggests_the_nearest_item(
    tmp_path: Path, text: str, item: str, nearest: str
):
    path = write_flow(tmp_path, text)
    with pytest.raises(CycleError) as info:
        load_flow_cylc(path)
    message = str(info.value)
    assert item in message, message
    assert f"did you mean {nearest!r}" in message, message
    assert "line" in message and str(path) in message


def test_a_typo_fails_validate_on_the_command_line(tmp_path: Path):
    path = write_flow(tmp_path, TYPOS[0][0])
    out = cli("validate", str(path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "final cycle piont" in out.stderr and "did you mean 'final cycle point'" in out.stderr
    assert "Traceback" not in out.stderr


def _sample_flows() -> list[Path]:
    found = sorted((HERE / "differential" / "graphs").glob("*/flow.cylc"))
    found += sorted((HERE / "data" / "flowcylc").glob("*/flow.cylc"))
    return found


def test_no_valid_item_of_the_sample_flows_is_refused():
    """Every flow.cylc of the suite (Cylc validates them all) still loads."""
    flows = _sample_flows()
    assert len(flows) > 40
    for path in flows:
        wf = load_flow_cylc(path, case_template_vars(path))
        assert wf.tasks, path


# Items of the sections prefect-cycles reads, as Cylc 8.5's cfgspec/workflow.py
# spells them, with settings it only notices: all accepted, none refused.
EVERY_KNOWN_ITEM = """\
[meta]
    title = every item
    anything = goes
[scheduler]
    UTC mode = True
    allow implicit tasks = True
    install = data/
    cycle point format = CCYYMMDDThhmmZ
    cycle point num expanded year digits = 0
    cycle point time zone = Z
    [[main loop]]
        [[[health check]]]
            interval = PT10M
    [[events]]
        stall timeout = PT1H
    [[mail]]
        to = me
[task parameters]
    m = 1..2
[scheduling]
    initial cycle point = 20200101T00Z
    final cycle point = 20200102T00Z
    initial cycle point constraints = T00
    final cycle point constraints = T00
    hold after cycle point = 20200102T00Z
    stop after cycle point = 20200102T00Z
    cycling mode = gregorian
    runahead limit = P2
    sequential xtriggers = False
    [[queues]]
        [[[default]]]
            limit = 2
    [[special tasks]]
        clock-trigger = a(PT0M)
        clock-expire = a(PT1H)
    [[xtriggers]]
        clock_1 = wall_clock(offset=PT1H)
    [[graph]]
        PT12H = "a => b"
[runtime]
    [[root]]
        completion = succeeded
        platform = localhost
        script = true
        init-script = true
        env-script = true
        err-script = true
        exit-script = true
        pre-script = true
        post-script = true
        work sub-directory = x
        execution polling intervals = PT1M
        execution retry delays = PT1M
        execution time limit = PT1H
        submission polling intervals = PT1M
        submission retry delays = PT1M
        run mode = live
        [[[meta]]]
            title = root
        [[[skip]]]
            outputs = succeeded
        [[[simulation]]]
            default run length = PT1M
        [[[environment filter]]]
            include = A
        [[[job]]]
            batch system = background
        [[[remote]]]
            host = localhost
        [[[events]]]
            failed handlers = echo
        [[[mail]]]
            to = me
        [[[workflow state polling]]]
            interval = PT1M
        [[[environment]]]
            A = 1
        [[[directives]]]
            -l = 1
        [[[outputs]]]
            x = x
        [[[parameter environment templates]]]
            M = %(m)s
    [[a, b]]
        inherit = root
"""


def test_every_item_cylc_knows_is_accepted_in_the_sections_read(tmp_path: Path):
    wf = load_flow_cylc(write_flow(tmp_path, EVERY_KNOWN_ITEM))
    notices = wf.notices
    assert set(wf.tasks) == {"a", "b"}
    assert any("[runtime][root]script ignored" in n for n in notices)
    assert any("[scheduling]hold after cycle point = " in n and "stops" in n for n in notices)


def test_old_cylc_7_items_cylc_8_upgrades_stay_accepted(tmp_path: Path):
    wf = load_flow_cylc(
        write_flow(
            tmp_path,
            """\
            [scheduling]
                cycling mode = integer
                initial cycle point = 1
                final cycle point = 3
                max active cycle points = 2
                hold after point = 3
                [[dependencies]]
                    [[[P1]]]
                        graph = "a"
            [runtime]
                [[a]]
                    [[[suite state polling]]]
                        interval = PT1M
                    [[[job]]]
                        execution time limit = PT1H
            """,
        )
    )
    assert wf.runahead == "P1" and set(wf.tasks) == {"a"}


def test_cyclic_flow_from_a_flow_cylc_logs_what_it_ignores(tmp_path: Path, caplog):
    path = write_flow(
        tmp_path,
        INTEGER_HEAD
        + """\
            [[graph]]
                P1 = "a"
        [runtime]
            [[a]]
                script = echo hi
                platform = somewhere
        """,
    )

    @task
    def a(point: int) -> int:
        return point

    with caplog.at_level("INFO", logger="prefect_cycles"):
        fl = cyclic_flow(a, cylc=path)
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("prefect_cycles")
    )
    assert "[runtime][a]script ignored" in logged
    assert "[runtime][a]platform ignored" in logged
    assert any("[runtime][a]script ignored" in n for n in fl.notices)


# -- 4 (last item). Jinja2 markup inside comments --------------------------------------


def test_template_markup_in_comments_is_not_template_markup(tmp_path: Path):
    """Cylc 8 validates a file without ``#!Jinja2`` whose comments hold ``{{``/``{%``."""
    path = write_flow(
        tmp_path,
        """\
        # see {{docs}} for the full story
        [scheduling]
            cycling mode = integer  # {% not a template %}
            initial cycle point = 1
            final cycle point = 2
            [[graph]]
                P1 = "a"  # {{ here }} too
        [runtime]
            [[a]]
        """,
    )
    wf = load_flow_cylc(path)
    assert set(wf.tasks) == {"a"}


def test_template_markup_outside_comments_is_still_refused(tmp_path: Path):
    path = write_flow(
        tmp_path,
        """\
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            final cycle point = {{ FCP }}
            [[graph]]
                P1 = "a"
        """,
    )
    with pytest.raises(CycleError, match="template markup"):
        load_flow_cylc(path)


def test_template_markup_in_runtime_is_text_with_a_notice(tmp_path: Path):
    """As Cylc reads a file with no #!Jinja2 line (a generated MPAS workflow's job
    scripts hold {{thisCycleDate}} for a later stage)."""
    path = write_flow(
        tmp_path,
        """\
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            final cycle point = 2
            [[graph]]
                P1 = "a"
        [runtime]
            [[a]]
                script = run.csh "CyclingFC/{{thisCycleDate}}"
        """,
    )
    wf = load_flow_cylc(path)
    assert wf.final == 2
    assert any("template markup" in n and "line 9" in n for n in wf.notices)


# -- 3. deep tracebacks ------------------------------------------------------------------

HUGE_OFFSET = {"PT12H": "a\na[+P99999Y] => b"}


def test_an_offset_past_year_9999_is_an_error_naming_the_task_and_offset():
    with pytest.raises(CycleError) as info:
        from_graph(HUGE_OFFSET, "20200101T00Z", "20200102T00Z", name="huge")
    message = str(info.value)
    assert "+P99999Y" in message and "'b'" in message and "9999" in message
    assert "Fix:" in message


def test_an_offset_past_year_9999_fails_validate_cleanly(tmp_path: Path):
    path = write_flow(
        tmp_path,
        '''\
        [scheduling]
            initial cycle point = 20200101T00Z
            final cycle point = 20200102T00Z
            [[graph]]
                PT12H = """
                    a
                    a[+P99999Y] => b
                """
        [runtime]
            [[a, b]]
        ''',
    )
    out = cli("validate", str(path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "+P99999Y" in out.stderr


def test_an_offset_past_year_9999_is_refused_when_building_the_flow():
    """Before, the flow built and every run died in isodatetime's dumper."""

    @task
    def a() -> None: ...

    @task
    def b() -> None: ...

    with pytest.raises(CycleError, match=r"\+P99999Y"):
        cyclic_flow(a, b, graph=HUGE_OFFSET, initial="20200101T00Z", final="20200102T00Z")


@task
def point(x: int = 0) -> int:
    return x


@task
def previous(x: int = 0) -> int:
    return x


@task
def plain(point: int) -> int:
    return point


@pytest.mark.parametrize("reserved", [point, previous], ids=["point", "previous"])
def test_a_task_named_like_a_reserved_parameter_is_refused_at_build_time(reserved):
    with pytest.raises(CycleError) as info:
        cyclic_flow(reserved, plain, graph={"P1": f"{reserved.name} => plain"}, initial=1, final=2)
    message = str(info.value)
    assert f"task {reserved.name!r}" in message and "reserved" in message
    assert "@task(name=" in message  # the right fix: rename the task


def test_a_reserved_task_name_in_a_flow_cylc_is_refused_when_building(tmp_path: Path):
    path = write_flow(tmp_path, INTEGER_HEAD + '    [[graph]]\n        P1 = "point => plain"\n')
    with pytest.raises(CycleError, match="reserved"):
        cyclic_flow(point, plain, cylc=path)


@task
def positional_only(point, /):
    return point


def test_a_positional_only_point_is_refused_at_build_time():
    with pytest.raises(CycleError) as info:
        cyclic_flow(positional_only, graph={"P1": "positional_only"}, initial=1, final=2)
    message = str(info.value)
    assert "positional-only" in message and "'positional_only'" in message and "'/'" in message


def test_a_picture_to_a_missing_directory_is_a_clear_error(tmp_path: Path):
    path = write_flow(tmp_path, INTEGER_HEAD + '    [[graph]]\n        P1 = "a"\n')
    target = tmp_path / "no" / "such" / "dir" / "x.mmd"
    out = cli("graph", str(path), "1", "2", "-o", str(target))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert str(target) in out.stderr and "Fix:" in out.stderr


# -- 4. silent acceptance and hangs (no Prefect needed) -------------------------------


@pytest.mark.parametrize(
    ("initial", "runahead"),
    [("20200101T00Z", "-PT6H"), (1, "-P1"), (1, "PT6H"), ("20200101T00Z", "P1D2")],
)
def test_a_negative_or_malformed_runahead_limit_is_refused(initial, runahead):
    recurrence = "PT6H" if isinstance(initial, str) else "P1"
    with pytest.raises(CycleError) as info:
        from_graph({recurrence: "a"}, initial, None, runahead=runahead, name="neg")
    assert repr(runahead) in str(info.value) and "Fix:" in str(info.value)


def test_a_negative_runahead_in_a_flow_cylc_is_refused(tmp_path: Path):
    path = write_flow(
        tmp_path,
        """\
        [scheduling]
            initial cycle point = 20200101T00Z
            runahead limit = -PT6H
            [[graph]]
                PT6H = "a"
        """,
    )
    with pytest.raises(CycleError, match="-PT6H"):
        load_flow_cylc(path)


def test_an_empty_graph_is_an_error():
    for graph in ({"P1": ""}, {"P1": "   # only a comment"}, {}):
        with pytest.raises(CycleError, match="no tasks"):
            from_graph(graph, 1, 4, name="empty")


def test_a_cyclic_flow_with_no_tasks_is_an_error():
    with pytest.raises(CycleError, match="no tasks"):
        cyclic_flow(initial=1, final=3)


def test_a_huge_final_point_does_not_hang_validate(tmp_path: Path):
    path = write_flow(
        tmp_path,
        """\
        [scheduling]
            cycling mode = integer
            initial cycle point = 1
            final cycle point = +P99999999999
            [[graph]]
                P1 = "a[-P1] => a"
        """,
    )
    out = cli("validate", str(path), timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    # Checked completely by its repeat period: no note that only a part was checked.
    assert "Valid" in out.stdout and "NOTE" not in out.stdout


def test_a_script_that_exits_on_import_gives_a_message(tmp_path: Path):
    script = tmp_path / "exits.py"
    script.write_text("import sys\nsys.exit(3)\n")
    out = cli("graph", f"{script}:flow", "1", "2")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "sys.exit(3)" in out.stderr and "__main__" in out.stderr


# -- real flow runs: bad flow parameters, selectors, runahead, loops, empty windows --------

LEDGER: list[str] = []


@task
def a(point: int) -> int:
    LEDGER.append(f"a[{point}]")
    return point


@task
def b(point: int) -> int:
    LEDGER.append(f"b[{point}]")
    return point


def ab_flow(**kw) -> object:
    kw.setdefault("graph", {"R1": "a", "P1": "b"})
    kw.setdefault("initial", 1)
    kw.setdefault("final", 4)
    text = " ".join(kw["graph"].values())
    return cyclic_flow(*(t for t in (a, b) if t.name in text), **kw)


def refused(fl, **params) -> str:
    """The run fails before any task starts, plainly and with return_state=True."""
    LEDGER.clear()
    with pytest.raises(CycleError) as info:
        fl(**params)
    state = fl(**params, return_state=True)
    assert state.is_failed()
    assert LEDGER == []
    return str(info.value)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"runahead": 5}, ["runahead", "5", "'P4'"]),
        ({"start": "abc"}, ["start", "'abc'", "whole number"]),
        ({"start": True}, ["start", "True", "whole number"]),
        ({"stop": 2.5}, ["stop", "2.5", "whole number"]),
        ({"rerun": 5}, ["rerun", "5", "foo[3..]"]),
        ({"rerun": ["a", 7]}, ["rerun", "7", "foo[3..]"]),
        ({"runahead": "-P1"}, ["runahead", "'-P1'"]),
    ],
)
def test_flow_parameters_of_the_wrong_type_name_parameter_value_and_what_it_takes(
    prefect_server, params, words
):
    message = refused(ab_flow(name="bad-params"), **params)
    for word in words:
        assert word in message, message


def test_date_time_flow_parameters_take_points_as_text(prefect_server):
    fl = cyclic_flow(
        a, graph={"PT12H": "a"}, initial="20200101T00Z", final="20200102T00Z", name="dt-params"
    )
    message = refused(fl, start=20200101)
    assert "start" in message and "20200101" in message and "20200101T00Z" in message


@pytest.mark.parametrize("selector", ["a[2..2]", "a[2..]", "a[..0]", "b[2..1]", "*[9..]"])
def test_a_rerun_selector_that_selects_nothing_fails_the_run(prefect_server, selector):
    message = refused(ab_flow(name="rerun-nothing"), rerun=selector)
    assert selector in message and "Fix:" in message


def test_a_huge_runahead_with_no_final_point_is_refused(prefect_server):
    """Before the fix this run spawned points for ever and never ran a task."""
    fl = ab_flow(graph={"P1": "a"}, final=None, name="huge-runahead")
    message = refused(fl, runahead="P99999999999999999999")
    assert "P99999999999999999999" in message and "Fix:" in message


def test_a_loop_at_one_point_is_refused_at_run_time_as_validate_does(prefect_server):
    fl = ab_flow(graph={"P1": "a => b => a"}, name="loop")
    message = refused(fl)
    assert "loop" in message and "a[1] => b[1] => a[1]" in message


def test_a_window_with_no_instances_warns(prefect_server, caplog):
    fl = ab_flow(graph={"R1/10": "a"}, final=20, name="empty-window")
    LEDGER.clear()
    with caplog.at_level("WARNING"):
        summary = fl(start=2, stop=5)
    assert LEDGER == [] and summary["succeeded"] == 0
    assert any("no instance" in r.getMessage().lower() for r in caplog.records)


def test_a_workflow_with_no_instances_validates_with_a_warning(tmp_path: Path):
    """Cylc 8 validates it; prefect-cycles says that nothing would run."""
    path = write_flow(tmp_path, INTEGER_HEAD + '    [[graph]]\n        R1/10 = "a"\n')
    out = cli("validate", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "WARNING: no instance" in out.stdout and "1 to 4" in out.stdout


# -- 5. fuzzing: whatever the input, a result or a CycleError, in bounded time --------------

_TRICKY = (
    ["P4", "-PT6H", "-P1", "P99999999999999999999", "PT6H", "P1D2", "abc", "20200101T00Z",
     "a[2..2]", "*[9..]", "a[..0]", "", " ", "+P99999Y", "1", "4", "b[3]", "a, b[2..]"]
)  # fmt: skip
_ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**25), 10**25),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(_TRICKY),
    st.lists(st.one_of(st.text(max_size=8), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
_WORKFLOWS = {
    "integer": lambda: from_graph({"R1": "a", "P1": "b[-P1] => b"}, 1, None, name="fz-int"),
    "datetime": lambda: from_graph(
        {"PT12H": "a => b"}, "20200101T00Z", "20200103T00Z", name="fz-dt"
    ),
}


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(_WORKFLOWS)),
    st.dictionaries(st.sampled_from(["start", "stop", "runahead", "rerun"]), _ANY_VALUE),
)
def test_fuzzed_flow_parameters_give_a_window_or_a_cycle_error(mode, params):
    """What the flow does with its parameters before any task, without Prefect."""
    from prefect_cycles.run.params import check_parameters
    from prefect_cycles.run.rerun import parse_rerun
    from prefect_cycles.run.scheduler import Scheduler

    wf = _WORKFLOWS[mode]()
    try:
        checked = check_parameters(wf, params)
        sched = Scheduler(wf, checked.get("start"), checked.get("stop"), checked.get("runahead"))
        parse_rerun(checked.get("rerun"), sched.unroller)
        sched.ready()
    except CycleError as exc:
        assert str(exc)
    else:
        assert not isinstance(params.get("start"), (bool, float))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=12),
        st.builds(
            "{}[{}]".format,
            st.sampled_from(["a", "b", "*", "c"]),
            st.sampled_from(["1", "2", "2..2", "3..", "..0", "0..9", "5..2", "x", "", "9..", ":"]),
        ),
    )
)
def test_fuzzed_rerun_selectors_select_something_or_fail(selector):
    """A selector either chooses at least one instance of the window or is a CycleError."""
    from prefect_cycles.graph.unroll import Unroller
    from prefect_cycles.run.rerun import parse_rerun

    u = Unroller(from_graph({"R1": "a", "P2": "b"}, 1, 6, name="fz-rerun"))
    try:
        rerun = parse_rerun(selector, u)
    except CycleError as exc:
        assert str(exc)
        return
    if rerun:
        assert any(rerun.chosen(inst) for inst, _ in u.walk())


_DT_ATOMS = st.sampled_from(
    ["a", "b", "c", "a[-PT12H]", "b[+PT12H]", "a[+P99999Y]", "b[-P9999Y]", "c[+P7000Y]",
     "a[^]", "b[^+P99999Y]", "c[99991231T00Z]", "a[20200101T12Z]", "a:fail?", "b:start"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_DT_ATOMS, st.sampled_from([" => ", " & ", " | "])), min_size=1),
    _DT_ATOMS,
    st.sampled_from([None, "20200102T00Z", "+P9000Y", "99991231T00Z"]),
)
def test_fuzzed_date_time_offsets_build_validate_and_spawn_or_fail_cleanly(parts, last, final):
    """Offsets near and past year 9999: a workflow that validates and spawns, or a CycleError."""
    from prefect_cycles.graph.validate import validate, window_notes
    from prefect_cycles.run.scheduler import Scheduler

    text = "".join(a + glue for a, glue in parts) + last
    try:
        wf = from_graph({"PT12H": text}, "20200101T00Z", final, name="fz-years")
        validate(wf)
        window_notes(wf)
        Scheduler(wf).ready()
    except CycleError as exc:
        assert str(exc)
