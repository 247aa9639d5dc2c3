"""The decorator front end: @cycle rules on real Prefect tasks build the model graph strings do."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace

import cloudpickle
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from prefect import flow, task

from prefect_cycles.errors import CycleError, GraphSyntaxError, ValidationError
from prefect_cycles.frontends.decorators import (
    AllRefs,
    AnyRefs,
    Ref,
    Rule,
    all_of,
    any_of,
    build_workflow,
    cycle,
    on,
    previous,
    rules,
    task_map,
)
from prefect_cycles.frontends.graphstring import from_graph
from prefect_cycles.graph.conditions import AllOf, AnyOf, Offset, Trigger
from prefect_cycles.graph.model import Workflow


def deps(wf: Workflow) -> Counter:
    """Dependencies as a multiset, ignoring the order they were added in."""
    return Counter(wf.dependencies)


def same_model(a: Workflow, b: Workflow) -> None:
    assert {n: sorted(t.recurrences) for n, t in a.tasks.items()} == {
        n: sorted(t.recurrences) for n, t in b.tasks.items()
    }
    assert {n: t.optional for n, t in a.tasks.items()} == {
        n: t.optional for n, t in b.tasks.items()
    }
    assert deps(a) == deps(b)
    assert (a.cycling, a.initial, a.final, a.runahead) == (
        b.cycling,
        b.initial,
        b.final,
        b.runahead,
    )


def like_graph(wf: Workflow, graph: dict[str, str]) -> None:
    """``wf`` is the workflow ``graph`` gives through from_graph (source text aside)."""
    ref = from_graph(graph, wf.initial, wf.final, runahead=wf.runahead, name=wf.name)
    assert {n: sorted(t.recurrences) for n, t in wf.tasks.items()} == {
        n: sorted(t.recurrences) for n, t in ref.tasks.items()
    }
    assert {n: t.optional for n, t in wf.tasks.items()} == {
        n: t.optional for n, t in ref.tasks.items()
    }
    plain = [replace(d, source="") for d in wf.dependencies]
    assert Counter(plain) == Counter(replace(d, source="") for d in ref.dependencies)


def seed_tasks():
    @task
    def prep():
        return "prep"

    @cycle("R1", after=prep)
    @cycle("P1", after=previous())
    @task
    def foo(point):
        return f"foo.{point}"

    @cycle("P1", after=foo)
    @task
    def bar(point):
        return f"bar.{point}"

    return prep, foo, bar


def rel(text: str, n: int) -> Offset:
    return Offset("relative", text, n)


# -- the seed workflow ------------------------------------------------------------------


def test_seed_matches_the_model_api():
    prep, foo, bar = seed_tasks()
    wf = build_workflow(prep, foo, bar, initial=1, final=4, name="seed")

    # R1 = "prep => foo";  P1 = "foo[-P1] => foo => bar"
    ref = Workflow.create(1, 4, name="seed")
    ref.add_dependency("R1", "foo", Trigger("prep"), source="prep => foo")
    ref.add_dependency("P1", "foo", Trigger("foo", rel("-P1", -1)), source="foo[-P1] => foo")
    ref.add_dependency("P1", "bar", Trigger("foo"), source="foo => bar")

    same_model(wf, ref)
    assert wf.dependencies == ref.dependencies  # same order, same source text
    assert list(wf.tasks) == list(ref.tasks)
    assert wf.name == "seed"
    assert wf.tasks["prep"].recurrences == ["R1"]
    assert wf.tasks["foo"].recurrences == ["R1", "P1"]


def test_seed_matches_the_graph_string():
    prep, foo, bar = seed_tasks()
    wf = build_workflow(prep, foo, bar, initial=1, final=4, name="seed")
    like_graph(wf, {"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"})
    ref = from_graph({"R1": "prep => foo", "P1": "foo[-P1] => foo => bar"}, 1, 4, name="seed")
    assert deps(wf) == deps(ref)  # source text too


def test_referenced_tasks_are_included():
    prep, foo, bar = seed_tasks()
    same_model(
        build_workflow(bar, initial=1, final=4), build_workflow(prep, foo, bar, initial=1, final=4)
    )
    assert task_map(bar) == {"prep": prep, "foo": foo, "bar": bar}
    assert task_map(bar)["foo"] is foo


def test_build_options_reach_the_workflow():
    prep, foo, bar = seed_tasks()
    wf = build_workflow(prep, foo, bar, initial="3", runahead="P2")
    assert (wf.initial, wf.final, wf.runahead, wf.name) == (3, None, "P2", "cyclic-workflow")


# -- the task stays a Prefect task --------------------------------------------------------


def test_cycle_returns_the_same_task_object():
    @task
    def t(point):
        return point

    assert cycle("P1")(t) is t
    assert cycle("R1", after=t)(t) is t
    assert [r.recurrence for r in rules(t)] == ["R1", "P1"]


def test_decorated_tasks_still_run_in_a_plain_flow(prefect_server):
    prep, foo, bar = seed_tasks()

    @flow
    def plain():
        p = prep.submit()
        f = foo.submit(1, wait_for=[p])
        b = bar.submit(1, wait_for=[f])
        return p.result(), f.result(), b.result(), foo(2)

    assert plain() == ("prep", "foo.1", "bar.1", "foo.2")


def test_rules_survive_with_options_and_pickling():
    _prep, foo, _bar = seed_tasks()
    copy = foo.with_options(retries=2, name="foo")
    assert copy is not foo and copy.retries == 2
    assert rules(copy) == rules(foo)

    again = cloudpickle.loads(cloudpickle.dumps(foo))
    assert [str(r) for r in rules(again)] == [str(r) for r in rules(foo)]

    # Decorating a copy changes only the copy.
    cycle("P2")(copy)
    assert len(rules(copy)) == 3 and len(rules(foo)) == 2


def test_a_with_options_copy_passed_explicitly_replaces_the_referenced_task():
    prep, foo, bar = seed_tasks()
    foo3 = foo.with_options(retries=3)
    assert task_map(prep, foo3, bar)["foo"] is foo3
    same_model(
        build_workflow(prep, foo3, bar, initial=1, final=4),
        build_workflow(prep, foo, bar, initial=1, final=4),
    )


def test_a_renamed_copy_keeps_its_rules_under_the_new_name():
    _prep, foo, _bar = seed_tasks()
    baz = foo.with_options(name="baz")
    wf = build_workflow(baz, initial=1, final=3)
    assert wf.tasks["baz"].recurrences == ["R1", "P1"]
    assert Trigger("baz", rel("-P1", -1)) in [d.condition for d in wf.dependencies]


# -- what after= can say ------------------------------------------------------------------


def one_dep(*rules_and_task, initial=1, final=6, name="t"):
    """The dependencies of a task ``name`` decorated with ``rules_and_task``."""
    *decorators, others = rules_and_task

    @task(name=name)
    def t(point):
        return point

    for d in reversed(decorators):
        t = d(t)
    wf = build_workflow(t, *others, initial=initial, final=final)
    return wf, [d for d in wf.dependencies if d.target == name]


@pytest.fixture
def abc():
    @task
    def a(point): ...

    @task
    def b(point): ...

    @task
    def c(point): ...

    return a, b, c


def test_string_nodes_with_offsets_and_outputs(abc):
    a, _, _ = abc
    cycle("P1", optional=True)(a)
    wf, [dep] = one_dep(cycle("P1", after="a[-P1]:fail?"), [a])
    assert dep.condition == Trigger("a", rel("-P1", -1), "failed", True)
    assert dep.source == "a[-P1]:failed? => t"
    assert wf.tasks["a"].optional == {"succeeded": True, "failed": True}
    like_graph(wf, {"P1": "a?\n a[-P1]:fail? => t"})


@pytest.mark.parametrize(
    ("offset", "expected", "node"),
    [
        ("-P1", rel("-P1", -1), "a[-P1]"),
        ("+P2", rel("+P2", 2), "a[+P2]"),
        ("^", Offset("initial", "^"), "a[^]"),
        ("^+P1", Offset("initial", "^+P1", 1), "a[^+P1]"),
        (3, Offset("absolute", "3", point=3), "a[3]"),
        ("3", Offset("absolute", "3", point=3), "a[3]"),
    ],
)
def test_on_offsets(abc, offset, expected, node):
    a, _, _ = abc
    cycle("P1")(a)
    wf, [dep] = one_dep(cycle("P1", after=on(a, offset)), [a])
    assert dep.condition == Trigger("a", expected)
    like_graph(wf, {"P1": f"a\n {node} => t"})


def test_negative_int_offsets_are_points(abc):
    a, _, _ = abc
    cycle("P1")(a)
    _, [dep] = one_dep(cycle("P1", after=on(a, -2)), [a], initial=-3)
    assert dep.condition == Trigger("a", Offset("absolute", "-2", point=-2))


@pytest.mark.parametrize(
    ("output", "optional", "canonical", "node"),
    [
        ("failed", True, "failed", "u:fail?"),
        ("fail", False, "failed", "u:fail"),
        (":start", False, "started", "u:start"),
        ("finish", False, "finished", "u:finish"),
    ],
)
def test_on_outputs(output, optional, canonical, node):
    @task
    def u(point): ...

    wf, [dep] = one_dep(cycle("P1", after=on(u, output=output, optional=optional)), [])
    assert dep.condition == Trigger("u", None, canonical, optional or canonical == "finished")
    assert wf.tasks["u"].recurrences == ["P1"]
    like_graph(wf, {"P1": f"{node} => t"})


def test_conditions_nest_like_graph_strings(abc):
    a, b, c = abc
    cond = all_of(any_of(on(a, "-P1"), b), "c:fail?")
    wf, deps_ = one_dep(cycle("P1", after=cond), cycle("P2", after=any_of(a, any_of(b, "c?"))), [c])
    want = [
        AllOf(
            (
                AnyOf((Trigger("a", rel("-P1", -1)), Trigger("b"))),
                Trigger("c", None, "failed", True),
            )
        ),
        AnyOf((Trigger("a"), Trigger("b"), Trigger("c", None, "succeeded", True))),
    ]
    assert [d.condition for d in deps_] == want
    assert deps_[0].source == "(a[-P1] | b) & c:failed? => t"
    like_graph(wf, {"P1": "(a[-P1] | b) & c:fail? => t", "P2": "a | (b | c?) => t"})


def test_operators_and_lists_are_conditions_too(abc):
    a, b, c = abc
    cycle("P1")(b)
    assert on(a) | on(b) == any_of(a, b)
    assert on(a) & "b" & on(c) == all_of(all_of(a, "b"), c)
    assert a | on(b) == any_of(a, b) and "a" & previous() == all_of("a", previous())
    _, [d1] = one_dep(cycle("P1", after=[a, on(b, "-P1")]), [b])
    _, [d2] = one_dep(cycle("P1", after=on(a) & on(b, "-P1")), [b])
    wf, [d3] = one_dep(cycle("P1", after=[[a], "b[-P1]"]), [b])
    assert d1.condition == d2.condition == d3.condition
    assert d1.condition == AllOf((Trigger("a"), Trigger("b", rel("-P1", -1))))
    like_graph(wf, {"P1": "b\n a & b[-P1] => t"})
    _, [single] = one_dep(cycle("P1", after=[a]), [])
    assert single.condition == Trigger("a")


def test_a_rule_without_after_declares_the_task():
    wf, deps_ = one_dep(cycle("R1"), [])
    assert deps_ == [] and wf.tasks["t"].recurrences == ["R1"]
    assert wf.tasks["t"].optional == {"succeeded": False}
    like_graph(wf, {"R1": "t"})


def test_optional_marks_the_decorated_tasks_success(abc):
    a, _, _ = abc
    wf, [dep] = one_dep(cycle("P1", after=a, optional=True), [])
    assert wf.tasks["t"].optional["succeeded"] is True
    assert dep.source == "a => t?"
    like_graph(wf, {"P1": "a => t?"})


def test_finish_makes_both_outputs_optional(abc):
    a, _, _ = abc
    cycle("P1")(a)
    wf, _ = one_dep(
        cycle("P1", after="u:finish"),
        cycle("P2", after="u:fail?"),
        [task(name="u")(lambda point: point)],
    )
    assert wf.tasks["u"].optional == {"succeeded": True, "failed": True, "finished": True}
    like_graph(wf, {"P1": "u:finish => t", "P2": "u:fail? => t"})
    # As in Cylc: a task that must succeed elsewhere cannot be waited on with :finish.
    with pytest.raises(ValidationError) as e:
        one_dep(cycle("P1", after="a:finish"), [a])
    msg = str(e.value)
    assert msg.startswith("output a:succeeded is required in @cycle('P1') on task 'a'")
    assert "optional in @cycle('P1', after='a:finished') on task 't'" in msg
    with pytest.raises(GraphSyntaxError, match=r"can't be optional"):
        on(a, output="finish", optional=True)
    with pytest.raises(GraphSyntaxError, match=r"can't be optional"):
        cycle("P1", after="a:finish?")


def test_succeeded_and_failed_both_used_must_both_be_optional(abc):
    a, _, _ = abc
    cycle("P1")(a)
    with pytest.raises(ValidationError) as e:
        one_dep(cycle("P1", after="a:fail?"), [a])
    assert "outputs a:succeeded and a:failed are both used" in str(e.value)
    assert "@cycle('P1') on task 'a'" in str(e.value) and "on task 't'" in str(e.value)
    with pytest.raises(ValidationError, match=r"t:succeeded and t:failed"):
        one_dep(cycle("P1", after=previous(output="fail", optional=True)), [])
    # a task used only by ':fail' may succeed or fail, as from_graph reads it
    wf, _ = one_dep(cycle("P1", after="u:fail"), [task(name="u")(lambda point: point)])
    assert wf.tasks["u"].optional == {"succeeded": True, "failed": False}
    like_graph(wf, {"P1": "u:fail => t"})


def test_previous_steps_back_along_its_recurrence():
    _, [d2] = one_dep(cycle("P2", after=previous()), [])
    _, [d3] = one_dep(cycle("P2", after=previous("P1")), [])
    wf, [d4] = one_dep(
        cycle("P1", optional=True, after=previous(3, output="failed", optional=True)), []
    )
    _, [d5] = one_dep(cycle("P1", after=previous("-P2")), [])
    assert d2.condition == Trigger("t", rel("-P2", -2))
    assert d3.condition == Trigger("t", rel("-P1", -1))
    assert d4.condition == Trigger("t", rel("-P3", -3), "failed", True)
    assert d5.condition == Trigger("t", rel("-P2", -2))
    like_graph(wf, {"P1": "t[-P3]:fail? => t?"})


def test_rules_are_inspectable():
    _, foo, _ = seed_tasks()
    r1, p1 = rules(foo)
    assert isinstance(r1, Rule) and r1.recurrence == "R1" and isinstance(r1.after, Ref)
    assert p1 == Rule("P1", Ref(None))
    assert str(r1) == "@cycle('R1', after='prep')"
    assert str(p1) == "@cycle('P1', after='<self>[-step]')"
    assert "<Task 'prep'>" in repr(r1)
    assert isinstance(any_of("a", "b"), AnyRefs) and isinstance(all_of("a"), AllRefs)


def test_listed_points_and_unions_become_recurrence_text():
    @task
    def t(point): ...

    cycle(at=[2, 5, 7])(t)
    cycle(["T00", "T12"])(t)
    cycle(at=dt.datetime(2020, 1, 1, 6, tzinfo=dt.timezone.utc))(t)
    cycle(at=["20200102T00", dt.datetime(2020, 1, 3)])(t)
    assert [r.recurrence for r in rules(t)] == [
        "R1/20200102T00, R1/20200103T0000",
        "R1/20200101T0600Z",
        "T00, T12",
        "R1/2, R1/5, R1/7",
    ]


# -- recurrence forms: the same workflow as the graph string --------------------------


@pytest.mark.parametrize(
    ("decorator", "key"),
    [
        (cycle("R1/$"), "R1/$"),
        (cycle("R1/P0"), "R1/P0"),
        (cycle("R1//-P1"), "R1//-P1"),
        (cycle("+P1/P2"), "+P1/P2"),
        (cycle("R3/2/P2"), "R3/2/P2"),
        (cycle("P2!5"), "P2!5"),
        (cycle("P1!(3,5)"), "P1!(3,5)"),
        (cycle(at=[2, 5, 7]), "R1/2, R1/5, R1/7"),
        (cycle(["P3", "R1/2"]), "P3, R1/2"),
        (cycle("P3, R1/2"), "P3, R1/2"),
    ],
)
def test_integer_recurrences_match_graph_sections(abc, decorator, key):
    a, _, _ = abc
    wf, _ = one_dep(decorator, cycle("P1", after=on(a, "-P1")), [cycle("P1")(a)], final=10)
    like_graph(wf, {key: "t", "P1": "a\n a[-P1] => t"})
    assert wf.tasks["t"].recurrences[:-1] == key.split(", ")


def test_listed_points_union_with_conditions(abc):
    a, b, _ = abc
    wf, _ = one_dep(cycle(at=[2, 5], after=a | on(b, "^")), [cycle("P1")(b)], final=8)
    like_graph(wf, {"R1/2, R1/5": "a | b[^] => t", "P1": "b"})


def datetime_tasks():
    @task
    def install(): ...

    @cycle("R1", after=install)
    @task
    def get_obs(point): ...

    @cycle("PT6H", after=[get_obs, previous()])
    @task
    def model(point): ...

    @cycle("PT6H", after=model)
    @task
    def post(point): ...

    @cycle("T00", after=[post, on(post, "-PT6H"), on(post, "-PT12H"), on(post, "-PT18H")])
    @cycle("R1/$", after=on(post, "20200101T06Z"))
    @task
    def archive(point): ...

    @cycle("T00", after=any_of(archive, previous(optional=False, output="succeeded")))
    @cycle(at=[dt.datetime(2020, 1, 2, 12, tzinfo=dt.timezone.utc)], after=on(model, "^+PT6H"))
    @task
    def report(point): ...

    return install, get_obs, model, post, archive, report


def test_datetime_workflow_matches_the_graph_string():
    tasks = datetime_tasks()
    wf = build_workflow(*tasks, initial="20200101T00Z", final="20200103T00Z")
    like_graph(
        wf,
        {
            "R1": "install => get_obs",
            "PT6H": "get_obs & model[-PT6H] => model => post",
            "T00": """
                post & post[-PT6H] & post[-PT12H] & post[-PT18H] => archive
                archive | report[-P1D] => report
            """,
            "R1/$": "post[20200101T06Z] => archive",
            "R1/20200102T1200Z": "model[^+PT6H] => report",
        },
    )
    assert wf.tasks["report"].recurrences == ["T00", "R1/20200102T1200Z"]
    model_dep = next(d for d in wf.dependencies if d.target == "model")
    assert str(model_dep.condition) == "get_obs & model[-PT6H]"


def test_previous_in_datetime_cycling_steps_back_one_interval():
    wf, [dep] = one_dep(cycle("T06", after=previous()), [], initial="2020-01-01T00Z", final=None)
    assert str(dep.condition) == "t[-P1D]"
    like_graph(wf, {"T06": "t[-P1D] => t"})
    wf, [dep] = one_dep(
        cycle("+PT6H/PT12H", after=previous()), [], initial="20200101T00Z", final=None
    )
    assert str(dep.condition) == "t[-PT12H]"
    with pytest.raises(GraphSyntaxError, match=r"cannot tell.*previous\('PT6H'\)"):
        one_dep(cycle("R1/$", after=previous()), [], initial="20200101T00Z", final="20210101T00Z")
    with pytest.raises(GraphSyntaxError, match=r"t.*bad cycle offset.*'-P1'"):
        one_dep(
            cycle("PT6H", after=previous("P1")), [], initial="20200101T00Z", final="20210101T00Z"
        )


# -- property: decorators and graph strings agree ----------------------------------------

NAMES = ("a", "b", "c", "d")
_ref = st.builds(
    lambda name, offset, output, optional: (
        name,
        offset,
        output,
        optional and output != "finish",
    ),
    st.sampled_from(NAMES),
    st.sampled_from([None, None, "-P1", "-P2", "^", "2"]),
    st.sampled_from(["succeeded", "succeeded", "fail", "start", "finish"]),
    st.booleans(),
)
_cond = st.recursive(
    _ref,
    lambda inner: st.tuples(st.sampled_from("&|"), st.lists(inner, min_size=1, max_size=3)),
    max_leaves=5,
)
_rule = st.tuples(
    st.sampled_from(["P1", "P2", "R1", "R1/$", "+P1/P3", "P1!3", "R1/2, R1/4"]),
    st.none() | _cond,
    st.booleans(),
)
_workflow = st.dictionaries(
    st.sampled_from(NAMES), st.lists(_rule, min_size=1, max_size=2), min_size=1
)


def _as_after(cond):
    if isinstance(cond[1], list):
        terms = [_as_after(c) for c in cond[1]]
        return all_of(*terms) if cond[0] == "&" else any_of(*terms)
    name, offset, output, optional = cond
    return on(name, offset, output=output, optional=optional)


def _names(cond) -> list[str]:
    if cond is None:
        return []
    if isinstance(cond[1], list):
        return [n for c in cond[1] for n in _names(c)]
    return [cond[0]]


def _as_graph(cond) -> str:
    if isinstance(cond[1], list):
        return "(" + f" {cond[0]} ".join(_as_graph(c) for c in cond[1]) + ")"
    name, offset, output, optional = cond
    node = name + (f"[{offset}]" if offset else "")
    return node + ("" if output == "succeeded" else f":{output}") + ("?" if optional else "")


def _tidy(cond):
    """``cond`` with one optionality per output, so that most workflows are valid."""
    if cond is None or isinstance(cond[1], list):
        return cond and (cond[0], [_tidy(c) for c in cond[1]])
    name, offset, output, _ = cond
    if name != "d" and output in ("fail", "finish"):
        output = "succeeded"
    return (name, offset, output, output == "fail" or (output == "succeeded" and name == "d"))


@settings(max_examples=150, deadline=None)
@given(_workflow, st.booleans())
def test_decorators_agree_with_graph_strings(spec, tidy):
    if tidy:
        spec = {n: [(r, _tidy(c), n == "d") for r, c, _ in rs] for n, rs in spec.items()}
    tasks = {n: task(name=n)(lambda point: point) for n in spec}
    graph: dict[str, list[str]] = {}
    for name, rules_ in spec.items():
        for rec, cond, optional in reversed(rules_):
            kw = {} if cond is None else {"after": _as_after(cond)}
            cycle(rec, optional=optional, **kw)(tasks[name])
        for rec, cond, optional in rules_:
            left = "" if cond is None else _as_graph(cond) + " => "
            graph.setdefault(rec, []).append(left + name + ("?" if optional else ""))
    names = {n for rules_ in spec.values() for _, c, _ in rules_ for n in _names(c)}
    extra = [task(name=n)(lambda point: point) for n in sorted(names - set(tasks))]
    text = {k: "\n".join(v) for k, v in graph.items()}
    try:
        from_graph(text, 1, 6)
    except CycleError as exc:
        event(f"both refuse: {type(exc).__name__} {str(exc)[:30]}")
        note(f"graph error: {exc}")
        with pytest.raises(CycleError):
            build_workflow(*tasks.values(), *extra, initial=1, final=6)
        return
    event("both build")
    like_graph(build_workflow(*tasks.values(), *extra, initial=1, final=6), text)


# -- errors -----------------------------------------------------------------------------


def test_cycle_below_task_or_on_a_plain_function_says_put_it_above():
    def plain(point): ...

    with pytest.raises(ValidationError, match=r"above @task") as e:
        cycle("P1")(plain)
    assert "plain" in str(e.value)

    with pytest.raises(ValidationError, match=r"above @task"):

        @task
        @cycle("P1")
        def below(point): ...

    @flow
    def f(): ...

    with pytest.raises(ValidationError, match=r"got a flow.*above @task"):
        cycle("P1")(f)


def test_cycle_needs_a_recurrence():
    @task
    def t(): ...

    with pytest.raises(ValidationError, match=r"needs a recurrence.*'t'.*@cycle\('P1'\)"):
        cycle(t)
    with pytest.raises(ValidationError, match=r"recurrence or at="):
        cycle()
    with pytest.raises(ValidationError, match=r"both"):
        cycle("P1", at=[1])
    with pytest.raises(ValidationError, match=r"not a recurrence"):
        cycle(["P1", ""])
    with pytest.raises(ValidationError, match=r"lists no points"):
        cycle(at=[])
    with pytest.raises(ValidationError, match=r"takes True or False"):
        cycle("P1", optional="yes")


def test_bad_after_values_are_named():
    def plain(): ...

    with pytest.raises(ValidationError, match=r"plain function 'plain'.*Fix: decorate"):
        cycle("P1", after=plain)
    with pytest.raises(ValidationError, match=r"not int 5"):
        cycle("P1", after=5)
    with pytest.raises(GraphSyntaxError, match=r"not a task node.*any_of"):
        cycle("P1", after="a & b")
    with pytest.raises(GraphSyntaxError, match=r"empty cycle offset"):
        cycle("P1", after="a[]")
    with pytest.raises(GraphSyntaxError, match=r"unknown output 'do ne'.*task 'a'"):
        on("a", output="do ne")
    with pytest.raises(GraphSyntaxError, match=r"on\(\) takes a task name.*on\('foo', '-P1'"):
        on("a[-P1]")
    with pytest.raises(ValidationError, match=r"at least one"):
        any_of()
    with pytest.raises(GraphSyntaxError, match=r"interval back in time"):
        previous("+P1")
    with pytest.raises(GraphSyntaxError, match=r"offset such as"):
        on("a", 1.5)
    with pytest.raises(ValidationError, match=r"rules\(\) takes a Prefect task"):
        rules(plain)


def test_unknown_task_name_names_it_the_rule_and_the_known_tasks():
    prep, foo, bar = seed_tasks()

    @cycle("P1", after="fooo[-P1]")
    @task
    def baz(point): ...

    with pytest.raises(ValidationError) as e:
        build_workflow(prep, foo, bar, baz, initial=1)
    msg = str(e.value)
    assert "unknown task 'fooo'" in msg and "on task 'baz'" in msg
    assert "known tasks: bar, baz, foo, prep" in msg and "Fix: pass fooo" in msg
    with pytest.raises(ValidationError, match="unknown task 'fooo'"):
        task_map(baz)
    with pytest.raises(ValidationError, match="unknown task 'nope'"):
        build_workflow(cycle("P1", after=on("nope"))(task(lambda: 1, name="x")), initial=1)


def test_two_tasks_with_one_name_is_an_error():
    prep, foo, _bar = seed_tasks()

    @cycle("P1", after=on(prep, "^"))
    @task(name="foo")
    def other(point): ...

    with pytest.raises(ValidationError, match=r"two different Prefect tasks are named 'foo'"):
        build_workflow(prep, foo, other, initial=1)
    # a copy that is only referenced, never passed, is ambiguous too
    copy = foo.with_options(retries=1)
    cycle("P1", after=copy)(task(lambda point: 1, name="late"))
    late = task(lambda point: 1, name="late2")
    cycle("P1", after=[foo, copy])(late)
    with pytest.raises(ValidationError, match=r"named 'foo'.*Fix: use one Task object"):
        build_workflow(late, initial=1)


def test_a_task_with_no_recurrence_is_named_with_the_fix():
    @task
    def upstream(point): ...

    @cycle("P1", after=on(upstream, "-P1"))
    @task
    def down(point): ...

    with pytest.raises(ValidationError) as e:
        build_workflow(down, initial=1)
    assert "task 'upstream' never runs" in str(e.value)
    assert "named only in @cycle('P1'" in str(e.value) and "on task 'down'" in str(e.value)
    assert "Fix: put @cycle('P1')" in str(e.value)

    @task
    def lonely(): ...

    with pytest.raises(ValidationError, match=r"'lonely' never runs: it was passed"):
        build_workflow(lonely, initial=1)


def test_same_point_self_dependency_points_to_previous():
    with pytest.raises(ValidationError, match=r"wait for itself.*Fix: .*previous\(\)"):
        one_dep(cycle("P1", after="t"), [])
    with pytest.raises(ValidationError, match=r"wait for itself"):
        one_dep(cycle("P1", after=any_of("t", previous())), [])


def test_required_and_optional_conflict_names_both_rules(abc):
    a, _b, _ = abc
    with pytest.raises(ValidationError) as e:
        one_dep(cycle("P1", after=on(a, optional=True)), cycle("P2", after=a), [])
    msg = str(e.value)
    assert "output a:succeeded is required in @cycle('P2'" in msg
    assert "optional in @cycle('P1', after='a?')" in msg and "optional=True" in msg
    with pytest.raises(
        ValidationError,
        match=r"t:succeeded is required in @cycle\('P2'\).*optional in @cycle\('P1'",
    ):
        one_dep(cycle("P1", optional=True), cycle("P2"), [])


def test_invalid_task_names_and_bad_build_arguments():
    bad = cycle("P1")(task(lambda point: 1, name="my task"))
    with pytest.raises(ValidationError, match=r"'my task' is not a valid.*with_options\(name="):
        build_workflow(bad, initial=1)
    with pytest.raises(ValidationError, match=r"build_workflow\(\) takes Prefect tasks"):
        build_workflow(lambda: 1, initial=1)


def test_errors_in_a_rule_name_the_rule_and_task():
    with pytest.raises(GraphSyntaxError, match=r"@cycle\('P1'.*on task 't'.*bad cycle offset"):
        one_dep(cycle("P1", after=previous("PT6H")), [])
    with pytest.raises(CycleError, match=r"@cycle\('Px'\) on task 't'.*'Px'"):
        one_dep(cycle("Px"), [])
    with pytest.raises(GraphSyntaxError, match=r"cannot tell how far back.*previous\('P1'\)"):
        one_dep(cycle("R1", after=previous()), [])


def test_the_front_ends_names_import_from_their_documented_paths():
    """decorators.py was split in modules named after their ideas; the old paths still hold."""
    import importlib

    import prefect_cycles
    from prefect_cycles.frontends import decorators, refs, rules, taskmap

    for name in decorators.__all__:
        home = {"Rule": rules, "cycle": rules, "rules": rules, "task_map": taskmap}.get(name)
        if name == "build_workflow":
            home = decorators
        assert getattr(decorators, name) is getattr(home or refs, name), name
    for name in ("cycle", "on", "previous", "all_of", "any_of", "build_workflow"):
        assert getattr(prefect_cycles, name) is getattr(decorators, name), name
    old = importlib.import_module("prefect_cycles.decorators")  # the flat 0.1 layout's path
    assert old is decorators
