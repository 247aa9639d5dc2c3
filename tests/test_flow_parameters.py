"""Cylc task parameters and Jinja2 flow.cylc files run as real Prefect flows.

A task written ``model<member>`` is one Prefect task run for every value,
named with Cylc's expanded name (``model_member1[2]``), its body receiving
the value; a templated flow.cylc takes its template variables from Python.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from flowruns import task_runs
from prefect import task

from prefect_cycles.errors import CycleError
from prefect_cycles.run.flow import cyclic_flow

pytestmark = pytest.mark.usefixtures("prefect_server")


@task
def prep(point: int) -> int:
    return point


@task
def model(point: int, member: int, prep: int | None = None) -> str:
    return f"{point}:{member}:{prep}"


@task
def post(point: int) -> int:
    return point


@task
def obs(region: str) -> str:
    return region.upper()


def test_graph_parameters_one_task_runs_for_each_value() -> None:
    seen: list[str] = []

    @task(name="collect")
    def collect(point: int, member: int, model: str | None = None) -> None:
        seen.append(model)

    fl = cyclic_flow(
        prep,
        model,
        collect,
        post,
        graph={"P1": "prep => model<member> => collect<member> => post"},
        parameters={"member": range(1, 3)},
        initial=1,
        final=2,
        name="params-graph",
    )
    assert sorted(fl.workflow.tasks) == [
        "collect_member1",
        "collect_member2",
        "model_member1",
        "model_member2",
        "post",
        "prep",
    ]
    state = fl(return_state=True)
    assert state.is_completed()
    runs = task_runs(state)
    assert sorted(runs) == sorted(
        f"{name}[{p}]"
        for p in (1, 2)
        for name in (
            "prep",
            "model_member1",
            "model_member2",
            "collect_member1",
            "collect_member2",
            "post",
        )
    )
    assert sorted(seen) == ["1:1:1", "1:2:1", "2:1:2", "2:2:2"]
    fl()  # plainly, too (resumed: nothing runs again)


def test_flow_cylc_with_template_vars_and_parameters(tmp_path: Path) -> None:
    flow = tmp_path / "flow.cylc"
    flow.write_text(
        textwrap.dedent(
            """\
            #!Jinja2
            [task parameters]
                region = {{ REGIONS | join(', ') }}
            [scheduling]
                cycling mode = integer
                initial cycle point = 1
                final cycle point = {{ FINAL }}
                [[graph]]
                    P1 = "obs<region> => post"
            [runtime]
                [[obs<region>]]
                [[post]]
            """
        )
    )
    (tmp_path / "rose-suite.conf").write_text("[template variables]\nFINAL=9\nREGIONS=['x']\n")
    fl = cyclic_flow(
        obs,
        post,
        cylc=flow,
        template_vars={"FINAL": 2, "REGIONS": ["north", "south"]},
        name="params-jinja2",
    )
    assert fl.workflow.final == 2
    state = fl(return_state=True)
    assert state.is_completed()
    assert sorted(task_runs(state)) == [
        "obs_north[1]",
        "obs_north[2]",
        "obs_south[1]",
        "obs_south[2]",
        "post[1]",
        "post[2]",
    ]


def test_template_vars_need_a_flow_cylc() -> None:
    with pytest.raises(CycleError, match=r"template_vars= are for a templated flow\.cylc"):
        cyclic_flow(prep, graph={"R1": "prep"}, initial=1, template_vars={"A": 1})


def test_undefined_template_variable_from_python(tmp_path: Path) -> None:
    flow = tmp_path / "flow.cylc"
    flow.write_text("#!Jinja2\n[scheduling]\n    initial cycle point = {{ ICP }}\n")
    with pytest.raises(CycleError, match=r"flow.cylc, line 3: Jinja2 variable 'ICP' is undefined"):
        cyclic_flow(prep, cylc=flow)
