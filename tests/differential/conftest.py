"""Fixtures and options of the differential suite (see README.md here)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
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
        # '^' in a window is resolved when its test runs (see concrete_window): a wall-clock
        # initial point moves with the hour, and a long session outlasts one.
        windows = tuple(case.windows or _default_windows(case))
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


class _Background:
    """Cylc and the comparisons' commands, started when collection ends.

    Computing them takes minutes of mostly Cylc start-up, so they run (niced, in the
    harness's pools) while the rest of the session's tests run; this directory's tests
    are ordered after the others (tests/conftest.py) and find most answers ready.
    """

    def __init__(self, session: pytest.Session) -> None:
        self.config = session.config
        here = Path(__file__).parent
        # Only this directory's tests: others in the session may have a "case" of their own.
        self.selected = [
            item.callspec.params
            for item in session.items
            if hasattr(item, "callspec") and here in Path(item.path).parents
        ]
        self.cylc: harness.Cylc | None = None
        self.runner: harness.Differential | None = None
        self.error: Exception | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._start, name="differential", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            factory = self.config._tmp_path_factory  # type: ignore[attr-defined]
            self.cylc = harness.provide_cylc(factory.mktemp("cylc-home"))
            cache = None
            if not self.config.getoption("--cylc-no-cache"):
                cache = harness.VENV_DIR / "differential-cache"
            runner = self.runner = harness.Differential(self.cylc, cache)
            # Start everything the selected tests will need: slow simulations first.
            # A wall-clock initial point (``previous(T-00)``) moves with the hour: those
            # cases run both tools back to back in their own test, not minutes apart here.
            pairs = [
                (case, _wall_clock_window(case, window))
                for case, window in (p["case_window"] for p in self.selected if "case_window" in p)
                if not _moves_with_the_clock(case)
            ]
            for case, window in sorted(pairs, key=lambda p: p[0].expect != EXPECT_SCHEDULER):
                runner.expectation(case, window, case.expect)
            for case, window in pairs:
                runner.actual(case, window)
            for params in self.selected:
                if "case" in params:
                    runner.validation(params["case"])
        except Exception as exc:  # reported by the fixtures, to every test that needs them
            self.error = exc
        finally:
            self._ready.set()

    def wait(self) -> None:
        self._ready.wait()
        if self.error is not None:
            pytest.fail(f"differential suite: {self.error}", pytrace=False)

    def close(self) -> None:
        self._ready.wait()
        if self.runner is not None:
            self.runner.close()


_BACKGROUND = pytest.StashKey[_Background]()

#: An initial point read from the wall clock: ``now``, ``next(...)``, ``previous(...)``.
_WALL_CLOCK_ICP = re.compile(r"^(now|next|previous)\b")


def _moves_with_the_clock(case: harness.Case) -> bool:
    icp = _ICP.search(case.flow_file.read_text())
    return icp is not None and bool(_WALL_CLOCK_ICP.match(icp[1]))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start Cylc's side at once if any of this directory's tests is selected."""
    here = Path(__file__).parent
    if not session.config.option.collectonly and any(
        here in Path(item.path).parents for item in session.items
    ):
        session.config.stash[_BACKGROUND] = _Background(session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the pools (queued work cancelled, running commands finished)."""
    background = session.config.stash.get(_BACKGROUND, None)
    if background is not None:
        background.close()


def _background(request: pytest.FixtureRequest) -> _Background:
    background = request.config.stash.get(_BACKGROUND, None)
    if background is None:  # a test not collected from this directory's files
        background = request.config.stash[_BACKGROUND] = _Background(request.session)
    background.wait()
    return background


@pytest.fixture(scope="session")
def concrete_window() -> Callable[[Case, Window], Window]:
    """A case's window with ``^`` resolved against its initial point as of now."""
    return _wall_clock_window


@pytest.fixture(scope="session")
def cylc(request: pytest.FixtureRequest) -> harness.Cylc:
    """Cylc 8.5 in its own virtual environment, with a private HOME."""
    background = _background(request)
    assert background.cylc is not None
    return background.cylc


@pytest.fixture(scope="session")
def differential(request: pytest.FixtureRequest, cylc: harness.Cylc) -> harness.Differential:
    """Runs every selected comparison's commands in parallel, once (started in the
    background when collection ended)."""
    runner = _background(request).runner
    assert runner is not None
    return runner
