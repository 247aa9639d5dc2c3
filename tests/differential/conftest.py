"""Fixtures and options of the differential suite (see README.md here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from . import harness
from .harness import EXPECT_GRAPH, EXPECT_MODES, EXPECT_SCHEDULER, Case, Window


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("differential", "differential suite against Cylc 8")
    group.addoption(
        "--cylc-graphs",
        action="append",
        default=[],
        metavar="DIR",
        help="check the flow.cylc files at or under DIR (repeatable) instead of the "
        "suite's own cases; a graph without '# expect:' is checked against what "
        "Cylc's scheduler runs",
    )
    group.addoption(
        "--cylc-expect",
        choices=EXPECT_MODES,
        default=None,
        help="derive every expected text this way, whatever the cases say "
        "('scheduler' checks every case against a simulation-mode run)",
    )
    group.addoption(
        "--cylc-no-cache",
        action="store_true",
        default=False,
        help="do not reuse Cylc outputs cached in .cylc-venv/differential-cache",
    )


_ICP = re.compile(r"^\s*initial cycle point\s*=\s*(\S.*?)\s*$", re.MULTILINE)
_FORMAT = re.compile(r"^\s*cycle point format\s*=\s*(\S+)\s*$", re.MULTILINE)
_FCP = re.compile(r"^\s*final cycle point\s*=\s*(\S+)\s*$", re.MULTILINE)


def _default_windows(case: Case) -> tuple[Window, ...]:
    """initial..final point, for a graph that lists no windows."""
    text = case.flow_file.read_text()
    icp, fcp = _ICP.search(text), _FCP.search(text)
    if not (icp and fcp) or any(c in fcp[1] + icp[1] for c in "+{%"):
        raise harness.HarnessError(
            f"{case.flow_file}: no '# windows: START STOP ; ...' line and no literal "
            "initial and final cycle points to default to"
        )
    return (Window(icp[1], fcp[1]),)


def _wall_clock_window(case: Case, window: Window) -> Window:
    """``^`` and ``^+PT6H`` in a window: the case's initial point as it resolves today.

    For real workflows whose initial point depends on the wall clock
    (``previous(T00)``): the window moves with the day, and so does Cylc's
    initial point, so both tools are given the same concrete window.
    """
    if "^" not in window.start + window.stop:
        return window
    from prefect_cycles.cycling.datetimes import DateTimeCycling
    from prefect_cycles.cycling.wallclock import resolve_wall_clock

    icp = _ICP.search(case.flow_file.read_text())
    if icp is None:
        raise harness.HarnessError(f"{case.flow_file}: '^' in a window needs an initial point")
    # Written in the case's own point format, as Cylc writes its initial point
    # (so `now` with %Y%m%d is the day's 00:00, as for Cylc).
    fmt = _FORMAT.search(case.flow_file.read_text())
    cyc = DateTimeCycling(point_format=fmt[1]) if fmt else DateTimeCycling()
    text = re.sub(r"\s*#.*$", "", icp.group(0).split("=", 1)[1]).strip()
    base = cyc.point(resolve_wall_clock(text, cyc))

    def one(token: str) -> str:
        if not token.startswith("^"):
            return token
        point = base
        for m in re.finditer(r"([+-])(P[^+-]+)", token[1:]):
            step = cyc.interval(m.group(2))
            point = cyc.add(point, step) if m.group(1) == "+" else cyc.sub(point, step)
        return cyc.format(point)

    return Window(one(window.start), one(window.stop))


def _cases(config: pytest.Config) -> list[Case]:
    external = config.getoption("--cylc-graphs")
    forced = config.getoption("--cylc-expect")
    if external:
        base = Path(config.invocation_params.dir)
        cases = [
            case
            for directory in external
            for case in harness.discover_cases(base / directory, EXPECT_SCHEDULER)
        ]
    else:
        cases = harness.discover_cases(harness.GRAPHS_DIR, EXPECT_GRAPH)
        for case in cases:
            if not case.windows:
                raise harness.HarnessError(f"{case.flow_file}: no '# windows:' line")
    resolved = []
    for case in cases:
        windows = tuple(_wall_clock_window(case, w) for w in case.windows or _default_windows(case))
        expect = forced or case.expect
        resolved.append(Case(case.name, case.directory, windows, expect, case.template_args))
    return resolved


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case_window" in metafunc.fixturenames:
        cases = _cases(metafunc.config)
        metafunc.parametrize(
            "case_window",
            [
                pytest.param((case, window), id=f"{case.name}:{window.slug}")
                for case in cases
                for window in case.windows
            ],
        )
    elif "case" in metafunc.fixturenames:
        cases = _cases(metafunc.config)
        metafunc.parametrize("case", [pytest.param(c, id=c.name) for c in cases])


@pytest.fixture(scope="session")
def cylc(tmp_path_factory: pytest.TempPathFactory) -> harness.Cylc:
    """Cylc 8.5 in its own virtual environment, with a private HOME."""
    try:
        return harness.provide_cylc(tmp_path_factory.mktemp("cylc-home"))
    except harness.HarnessError as exc:
        pytest.fail(f"differential suite: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def differential(request: pytest.FixtureRequest, cylc: harness.Cylc):
    """Runs every selected comparison's commands in parallel, once."""
    cache = None
    if not request.config.getoption("--cylc-no-cache"):
        cache = harness.VENV_DIR / "differential-cache"
    runner = harness.Differential(cylc, cache)
    # Start everything the selected tests will need: slow simulations first.
    # Only this directory's tests: others in the session may have a "case" of their own.
    here = Path(__file__).parent
    selected = [
        item.callspec.params
        for item in request.session.items
        if hasattr(item, "callspec") and here in Path(item.path).parents
    ]
    pairs = [p["case_window"] for p in selected if "case_window" in p]
    for case, window in sorted(pairs, key=lambda p: p[0].expect != EXPECT_SCHEDULER):
        runner.expectation(case, window, case.expect)
    for case, window in pairs:
        runner.actual(case, window)
    for params in selected:
        if "case" in params:
            runner.validation(params["case"])
    yield runner
    runner.close()
