"""Custom outputs emitted while a task runs, in real flow runs on every task runner.

The proof that ``bar`` starts before ``foo`` ends is a handshake through files,
which works across processes: ``foo`` emits ``out1`` and then waits for
``bar``'s marker before it returns (a generous timeout guards a broken
build; nothing is timed).
"""

from __future__ import annotations

import pytest
from flowruns import log_messages, task_runs
from handshake import HANDSHAKE, marker, task_runner, wait_for
from prefect import task

from prefect_cycles import cycle, cyclic_flow, emit_output, on, previous
from prefect_cycles.errors import CycleError

pytestmark = pytest.mark.usefixtures("prefect_server")


@task
def foo(point: int) -> str:
    emit_output("out1")
    if wait_for(marker(f"bar.{point}")):  # bar ran while foo is still running
        marker(f"foo.{point}.saw-bar").touch()
    return "done"


@task
def bar(point: int) -> None:
    marker(f"bar.{point}").touch()


@task
def baz(point: int) -> None:
    marker(f"baz.{point}").touch()


GRAPH = {"P1": "foo[-P1] => foo\nfoo:out1 => bar\nfoo:out2? => baz"}


@pytest.mark.parametrize("kind", ["thread", "process", "dask"])
def test_an_emitted_output_starts_children_before_the_task_ends(kind, tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        foo,
        bar,
        baz,
        graph=GRAPH,
        outputs={"foo": {"out1": "first half written", "out2": "never sent"}},
        initial=1,
        final=2,
        task_runner=task_runner(kind, 2 if kind != "thread" else 4),
        name=f"outputs-{kind}",
        resume=False,
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    for point in (1, 2):
        assert (tmp_path / f"foo.{point}.saw-bar").exists(), f"bar[{point}] waited for foo"
        assert not (tmp_path / f"baz.{point}").exists()  # out2 never came: baz is skipped
    runs = task_runs(state, expect=["foo[1]", "foo[2]", "bar[1]", "bar[2]"])
    assert not any(name.startswith("baz") for name in runs)
    assert any(
        "foo[1] completed output out1 (first half written)" in m for m in log_messages(state)
    )


@task
def half(point: int) -> None:
    emit_output("out1")
    raise RuntimeError("the second half broke")


@task
def after_half(point: int) -> None:
    marker(f"after_half.{point}").touch()


def test_an_output_completed_by_a_task_that_then_fails_still_counts(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        half,
        after_half,
        graph={"P1": "half:out1 => after_half"},
        outputs={"half": ["out1"]},
        initial=1,
        final=1,
        name="outputs-then-fail",
        resume=False,
    )
    state = flow(return_state=True)
    assert (tmp_path / "after_half.1").exists()
    # half's success is required, so the workflow is incomplete all the same
    assert state.is_failed() and "failed: half[1]" in state.message
    with pytest.raises(Exception):  # noqa: B017 - the exception's type is issue 10's
        flow()


@task
def choose(point: int) -> None:
    emit_output("y" if point == 1 else "none_of_them")


@task
def on_x(point: int) -> None: ...


@task
def on_y(point: int) -> None:
    marker(f"on_y.{point}").touch()


def test_completion_expressions_hold_as_cylcs(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    common = dict(
        graph={"P1": "choose:x? => on_x\nchoose:y? => on_y"},
        outputs={"choose": ["x", "y", "none_of_them"]},
        completion={"choose": "succeeded and (x or y)"},
        initial=1,
        resume=False,
    )
    ok = cyclic_flow(choose, on_x, on_y, final=1, name="completion-ok", **common)
    state = ok(return_state=True)
    assert state.is_completed(), state.message
    assert (tmp_path / "on_y.1").exists()
    assert set(task_runs(state, expect=["choose[1]", "on_y[1]"])) == {"choose[1]", "on_y[1]"}
    # at point 2 neither x nor y comes: choose[2] succeeded but is incomplete
    bad = cyclic_flow(choose, on_x, on_y, final=2, name="completion-bad", **common)
    state = bad(start=2, return_state=True)
    assert state.is_failed() and "failed: choose[2]" in state.message


# -- the decorators -------------------------------------------------------------------


@cycle("P1", after=previous(), outputs=["out1"])
@task
def dfoo(point: int) -> None:
    emit_output("out1")
    if wait_for(marker(f"dbar.{point}")):
        marker(f"dfoo.{point}.saw-dbar").touch()


@cycle("P1", after=on(dfoo, output="out1"))
@task
def dbar(point: int) -> None:
    marker(f"dbar.{point}").touch()


def test_decorators_declare_and_trigger_on_custom_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(dfoo, dbar, initial=1, final=2, name="outputs-decorators", resume=False)
    flow()
    assert (tmp_path / "dfoo.1.saw-dbar").exists() and (tmp_path / "dfoo.2.saw-dbar").exists()


def test_an_undeclared_output_is_refused_with_the_fix():
    with pytest.raises(CycleError, match=r"undefined custom output foo:out1.*Fix: declare it"):
        cyclic_flow(foo, bar, graph={"P1": "foo:out1 => bar"}, initial=1, final=1)


# -- resume -----------------------------------------------------------------------------


@task
def writer(point: int) -> str:
    emit_output("half")
    return "written"


@task
def reader(point: int) -> None:
    if not marker("reader-may-pass").exists():
        raise RuntimeError("not yet")


def test_a_rerun_restores_the_outputs_of_a_cached_instance(tmp_path, monkeypatch):
    monkeypatch.setenv(HANDSHAKE, str(tmp_path))
    flow = cyclic_flow(
        writer,
        reader,
        graph={"P1": "writer:half => reader"},
        outputs={"writer": ["half"]},
        initial=1,
        final=1,
        name="outputs-resume",
        result_storage=tmp_path / "results",
    )
    assert flow(return_state=True).is_failed()  # reader failed; writer completed
    marker("reader-may-pass").touch()
    state = flow(return_state=True)
    assert state.is_completed(), state.message  # writer came back Cached, with its output
    runs = task_runs(state, expect=["writer[1]", "reader[1]"])
    assert runs["writer[1]"].state.name == "Cached"
    assert any("writer[1] completed output half (restored" in m for m in log_messages(state))
