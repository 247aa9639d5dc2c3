"""What runs when runtime triggers decide it: Cylc 8.5's scheduler (simulation mode)
against a real prefect-cycles flow run of the same flow.cylc.

Cases live in ``runtime/`` (not ``graphs/``): ``cylc graph`` draws every
instance whatever the clock says, so these are compared by what ran only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flowruns import task_runs
from prefect import task

from prefect_cycles import cyclic_flow

from . import harness

RUNTIME = Path(__file__).parent / "runtime"


def _impl(name: str):
    @task(name=name)
    def body(point=None) -> None: ...

    return body


def _ran_in_prefect(directory: Path) -> set[str]:
    from prefect_cycles.frontends.flowcylc import load_flow_cylc

    wf = load_flow_cylc(directory)
    flow = cyclic_flow(
        *(_impl(n) for n in wf.tasks), cylc=directory, name=f"sim-{directory.name}", resume=False
    )
    state = flow(return_state=True)
    assert state.is_completed(), state.message
    out = set()
    for name in task_runs(state):
        task_name, point = name[:-1].split("[")
        out.add(f"{point}/{task_name}")
    return out


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("name", sorted(p.name for p in RUNTIME.iterdir() if p.is_dir()))
def test_what_runs_matches_cylcs_scheduler(name, cylc):
    directory = RUNTIME / name
    windows, _ = harness.parse_header((directory / "flow.cylc").read_text())
    case = harness.Case(name, directory, windows, harness.EXPECT_SCHEDULER)
    run = harness.simulate(cylc, case, windows[0], runahead=4)
    assert run.ran, "Cylc ran nothing: the case is broken"
    assert _ran_in_prefect(directory) == run.ran
