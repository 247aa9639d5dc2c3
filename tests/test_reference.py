"""The command line's fast reference path says what unroll() says, on every differential graph."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from casevars import case_template_vars

from prefect_cycles.errors import CycleError
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.graph.model import Workflow
from prefect_cycles.graph.unroll import unroll
from prefect_cycles.show.reference import reference_text, window_reference_text

GRAPHS = Path(__file__).parent / "differential" / "graphs"


def _windows(flow: Path) -> list[tuple[str, str]]:
    """The ``# windows: START STOP ; ...`` header of a differential case."""
    for line in flow.read_text().splitlines():
        if line.startswith("# windows:"):
            return [tuple(part.split()) for part in line.split(":", 1)[1].split(";")]
    raise AssertionError(f"{flow} has no '# windows:' line")


CASES = [
    pytest.param(flow, start, stop, id=f"{flow.parent.name}-{start}-{stop}")
    for flow in sorted(GRAPHS.glob("*/flow.cylc"))
    for start, stop in _windows(flow)
]


def test_every_differential_case_is_here() -> None:
    assert len({p.values[0] for p in CASES}) == len(list(GRAPHS.iterdir())) >= 30


def _point(wf: Workflow, token: str) -> str:
    """A window token: a point, or ``^`` (the initial point, wall clock resolved) + offsets."""
    if not token.startswith("^"):
        return token
    point = wf.initial
    for m in re.finditer(r"([+-])(P[^+-]+)", token[1:]):
        step = wf.cycling.interval(m[2])
        point = wf.cycling.add(point, step) if m[1] == "+" else wf.cycling.sub(point, step)
    return wf.fmt(point)


@pytest.mark.parametrize(("flow", "start", "stop"), CASES)
def test_window_reference_text_is_unroll_reference_text(flow: Path, start: str, stop: str) -> None:
    wf = load_flow_cylc(flow, case_template_vars(flow))
    start, stop = _point(wf, start), _point(wf, stop)
    fast = window_reference_text(wf, start, stop)
    assert fast == reference_text(unroll(wf, start, stop), wf)
    assert fast.startswith(("edge ", "graph\n"))


def _loop() -> Workflow:
    from prefect_cycles.frontends.graphstring import from_graph

    return from_graph({"P1": "a => b => c => a"}, 1, 3)


def test_a_loop_raises_the_same_error_on_both_paths() -> None:
    wf = _loop()
    with pytest.raises(CycleError) as fast:
        window_reference_text(wf, 1, 3)
    with pytest.raises(CycleError) as slow:
        unroll(wf, 1, 3)
    assert str(fast.value) == str(slow.value)
    assert "a" in str(fast.value) and "b" in str(fast.value)
