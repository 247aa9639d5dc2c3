"""The bounded passes give the full unroll's answers on every differential graph.

``validate`` walks a window point by point and jumps over the stretches that
repeat (graph/validate.py); the reference text is settled point by point and
sorted on disk (show/reference.py). Both must say exactly what unrolling the
whole window says: the same warnings with the same reasons, the same error,
the same text. Each case is checked over its own windows, its default window
and a longer one, where the validation's jumps come into play. No Cylc needed.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from casevars import case_template_vars

from prefect_cycles.errors import CycleError
from prefect_cycles.frontends.flowcylc import load_flow_cylc
from prefect_cycles.graph.model import Workflow
from prefect_cycles.graph.unroll import Unroller, never_runs, unroll
from prefect_cycles.graph.validate import ENDLESS_WINDOW, check, validate
from prefect_cycles.show.reference import reference_text, window_reference_text

GRAPHS = Path(__file__).parent / "differential" / "graphs"
CASES = sorted(p.parent.name for p in GRAPHS.glob("*/flow.cylc"))
JUMPED: set[str] = set()


def _windows(flow: Path, wf: Workflow) -> list[tuple[str | None, str | None]]:
    """The case's ``# windows:`` header (``^`` resolved), and the default window."""
    out: list[tuple[str | None, str | None]] = [(None, None)]
    cyc = wf.cycling
    for line in flow.read_text().splitlines():
        if line.startswith("# windows:"):
            for part in line.split(":", 1)[1].split(";"):
                ends = []
                for end in part.split():
                    if end.startswith("^"):
                        rest = end[1:]
                        p = wf.initial if not rest else cyc.add(wf.initial, cyc.interval(rest))
                        end = cyc.format(p)
                    ends.append(end)
                out.append((ends[0], ends[1]))
    return out


def _longer(wf: Workflow) -> Workflow:
    """The workflow with a final point far enough on for stretches to repeat."""
    cyc = wf.cycling
    far = cyc.add(wf.initial, cyc.interval("P150" if cyc.mode == "integer" else "P12D"))
    return wf.with_window(final=cyc.format(far))


def _full(wf: Workflow, start, stop) -> tuple[object, object]:
    """(warnings, reference text) from unrolling the whole window, or the error."""
    u = Unroller(wf, start, stop)
    try:
        if u.stop is None:
            pts = list(itertools.islice(u.points(), ENDLESS_WINDOW))
            cut = pts[-1] if pts else u.start
            g = unroll(wf, u.start, cut)
            warnings = [
                (i, r)
                for i, r in never_runs(g)
                if g.nodes[i]["root"] is None or g.nodes[i]["root"][0].point <= cut
            ]
            return warnings, None
        g = unroll(wf, start, stop)
        return never_runs(g), reference_text(g, wf)
    except CycleError as exc:
        return str(exc), str(exc)


def _bounded(wf: Workflow, start, stop) -> tuple[object, object]:
    try:
        verdict = check(wf, start, stop)
        if verdict.repeats:
            JUMPED.add(wf.name)
        warnings = [(w.instance, w.reason) for w in validate(wf, start, stop)]
        assert len(verdict) == len(warnings)
    except CycleError as exc:
        warnings = str(exc)
    if Unroller(wf, start, stop).stop is None:
        return warnings, None
    try:
        return warnings, window_reference_text(wf, start, stop)
    except CycleError as exc:
        return warnings, str(exc)


@pytest.mark.parametrize("name", CASES)
def test_bounded_validate_and_reference_match_the_full_unroll(name: str) -> None:
    flow = GRAPHS / name / "flow.cylc"
    try:
        wf = load_flow_cylc(flow, template_vars=case_template_vars(flow))
    except CycleError:
        pytest.skip("refused when loaded: nothing to unroll")
    for start, stop in _windows(flow, wf):
        try:
            Unroller(wf, start, stop)
        except CycleError:
            continue
        assert _bounded(wf, start, stop) == _full(wf, start, stop), (start, stop)
    longer = _longer(wf)
    assert _bounded(longer, None, None) == _full(longer, None, None), "longer window"


def test_some_cases_were_checked_by_jumping_over_repeats() -> None:
    """Runs after the cases (file order): the jumps were exercised, not only the walk."""
    if len(JUMPED) < 10:
        pytest.skip("run with the whole file to count the cases that jumped")
    assert len(JUMPED) >= 10


def test_a_problem_far_into_an_endless_looking_window_is_found_at_once() -> None:
    """An exclusion at point 5,001 of a P4 pattern, final point +P99999999999: found,
    counted and its neighbours' repeats summed, without walking the window."""
    from prefect_cycles import from_graph

    wf = from_graph({"P4!5001": "d", "P1": "d[-P1] => e"}, 1, "+P99999999999", name="far")
    verdict = check(wf)
    assert verdict.cut is None and verdict.points < 100
    found = [w for w in verdict.walked if w[0].point == 5002]
    assert found and "5001 is not on its sequence" in verdict.warning(*found[0]).reason
    assert len(verdict) == 75_000_000_000  # 3 in 4 points, and e[5002]


def test_a_picture_of_a_long_window_draws_a_bounded_part_and_says_how_to_draw_more(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from prefect_cycles import from_graph
    from prefect_cycles.show.render import picture

    pic = picture(from_graph({"P1": "a[-P1] => a"}, 1, 1_000_000, name="long"), max_points=3)
    assert "points 1 to 3" in pic.text and "point 4" not in pic.text
    assert pic.notice and "--max-points" in pic.notice
    flow = tmp_path / "flow.cylc"
    flow.write_text(
        "[scheduling]\n    cycling mode = integer\n    initial cycle point = 1\n"
        '    final cycle point = +P99999999999\n    [[graph]]\n        P1 = "a[-P1] => a"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "prefect_cycles", "graph", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    warning = [line for line in out.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warning) == 1 and "more than 100 cycle points" in warning[0]
    assert "--max-points" in warning[0]
    assert "point 100\n" in out.stdout and "point 101\n" not in out.stdout
