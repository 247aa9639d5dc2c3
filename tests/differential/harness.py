"""The differential harness: the same graph through Cylc 8.5 and prefect-cycles.

Cylc runs from its own installation (``$PREFECT_CYCLES_CYLC``, or a virtual
environment in the repository's git-ignored ``.cylc-venv/``), isolated from
the user's home. For every case and window the expected text is what
``cylc graph --reference`` prints; for cases marked ``# expect: scheduler``
it is that text restricted to what Cylc's scheduler really runs (a
simulation-mode run), because ``cylc graph`` also draws instances that can
never run. See README.md in this directory.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import difflib
import hashlib
import itertools
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

CYLC_VERSION = "8.5.4"
#: cylc-rose gives Cylc the template variables of a rose-suite.conf beside a flow.cylc.
CYLC_ROSE_VERSION = "1.6.1"
ENV_VAR = "PREFECT_CYCLES_CYLC"

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
GRAPHS_DIR = HERE / "graphs"
VENV_DIR = REPO_ROOT / ".cylc-venv"
PREREQS_SCRIPT = HERE / "_cylc_prereqs.py"

# seconds, one cylc graph / validate / prefect-cycles call: a hang, not a slow machine (they run
# niced beside the rest of the suite, so a busy foreground can slow each one tenfold)
GRAPH_TIMEOUT = 600
SIMULATION_TIMEOUT = 900  # seconds, one simulation-mode run
INSTALL_TIMEOUT = 1800  # seconds, creating the Cylc virtual environment

#: Every command runs niced: the suite computes them in the background while other tests run
#: (see conftest.py), and those tests keep the machine's time they had without them.
NICE = ("nice", "-n", "10") if shutil.which("nice") else ()

EXPECT_GRAPH = "graph"
EXPECT_SCHEDULER = "scheduler"
EXPECT_MODES = (EXPECT_GRAPH, EXPECT_SCHEDULER)

# Settings appended to a copy of flow.cylc for the simulation run: instant
# no-op jobs; stop as soon as the workflow stalls (instances waiting on
# parents that never come); a backstop against hanging forever; and a
# runahead limit (in cycles) wide enough to spawn every parentless instance
# up to the stop point at once. (Cylc 8.5 spawns parentless instances one
# past the runahead limit at a time; when that next point is one where the
# task has parents, as for a task on both P1 and 2/P4 = "d => e", its later
# parentless instances are never spawned: an artefact of the limit, not of
# the graph. A needlessly huge limit is slow: Cylc walks every sequence out
# to it, past the final point, and stepping a sequence with exclusions is
# costly.)
SIMULATION_SETTINGS = """
[scheduler]
    [[events]]
        stall timeout = PT0S
        abort on stall timeout = True
        workflow timeout = PT10M
        abort on workflow timeout = True
[scheduling]
    runahead limit = P{runahead}
[runtime]
    [[root]]
        [[[simulation]]]
            default run length = PT0S
"""

# How a scheduler run may end for its task history to be complete.
GOOD_SHUTDOWNS = (
    "Workflow shutting down - AUTOMATIC",
    'Workflow shutting down - "abort on stall timeout" is set',
)


class HarnessError(Exception):
    """A problem with the harness, a case or Cylc itself: not a prefect-cycles bug."""


# --------------------------------------------------------------------------
# cases


@dataclass(frozen=True)
class Window:
    """START and STOP as given to both ``graph --reference`` commands."""

    start: str
    stop: str

    def __str__(self) -> str:
        return f"{self.start} {self.stop}"

    @property
    def slug(self) -> str:
        return f"{self.start}-{self.stop}"


@dataclass(frozen=True)
class Case:
    """One flow.cylc with its windows and where its expected text comes from."""

    name: str
    directory: Path
    windows: tuple[Window, ...]
    expect: str
    #: template variable options given to both cylc and prefect-cycles (--set, --set-file)
    template_args: tuple[str, ...] = ()

    @property
    def flow_file(self) -> Path:
        return self.directory / "flow.cylc"


_HEADER = re.compile(r"^#\s*(windows|expect)\s*:\s*(.*?)\s*$")


def parse_header(text: str) -> tuple[tuple[Window, ...], str | None]:
    """Read ``# windows: S E ; S E`` and ``# expect: graph|scheduler`` lines."""
    windows: list[Window] = []
    expect: str | None = None
    for line in text.splitlines():
        match = _HEADER.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key == "windows":
            for part in value.split(";"):
                fields = part.split()
                if len(fields) != 2:
                    raise HarnessError(f"bad window {part.strip()!r}: want 'START STOP'")
                windows.append(Window(*fields))
        else:
            if value not in EXPECT_MODES:
                raise HarnessError(f"bad '# expect: {value}': want one of {EXPECT_MODES}")
            expect = value
    return tuple(windows), expect


_TEMPLATE_HEADER = re.compile(r"^#\s*(set|set-file)\s*:\s*(.*?)\s*$")


def parse_template_args(text: str, directory: Path) -> tuple[str, ...]:
    """``# set: NAME=VALUE`` and ``# set-file: FILE`` lines as command-line options.

    One variable or file a line; FILE is relative to the case directory.
    """
    args: list[str] = []
    for line in text.splitlines():
        match = _TEMPLATE_HEADER.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key == "set":
            args += ["--set", value]
        else:
            args += ["--set-file", str((directory / value).resolve())]
    return tuple(args)


def load_case(directory: Path, name: str, default_expect: str) -> Case:
    flow_file = directory / "flow.cylc"
    text = flow_file.read_text()
    windows, expect = parse_header(text)
    args = parse_template_args(text, directory)
    return Case(name, directory, windows, expect or default_expect, args)


def discover_cases(root: Path, default_expect: str = EXPECT_GRAPH) -> list[Case]:
    """Every directory at or under root holding a flow.cylc, as a case."""
    root = root.resolve()
    if (root / "flow.cylc").is_file():
        return [load_case(root, root.name, default_expect)]
    cases = [
        load_case(flow.parent, flow.parent.relative_to(root).as_posix(), default_expect)
        for flow in sorted(root.rglob("flow.cylc"))
        if not {"log", "work", "share", ".service"} & set(flow.relative_to(root).parts)
    ]
    if not cases:
        raise HarnessError(f"no flow.cylc at or under {root}")
    return cases


# --------------------------------------------------------------------------
# the reference format of `cylc graph --reference`

_EDGE = re.compile(r'^edge "([^"]+)" "([^"]+)"$')
_NODE = re.compile(r'^node "([^"]+)" "([^"]+)"$')


@dataclass
class Reference:
    """The edges and nodes of a reference text, in its order."""

    edges: list[tuple[str, str]]
    nodes: list[str]


def parse_reference(text: str) -> Reference:
    """Parse a reference text strictly (it is Cylc's own output)."""
    lines = text.split("\n")
    if lines[-1:] == [""]:
        lines.pop()
    edges: list[tuple[str, str]] = []
    nodes: list[str] = []
    section = "edges"
    for line in lines:
        if section == "edges":
            if line == "graph":
                section = "nodes"
                continue
            match = _EDGE.match(line)
            if not match:
                raise HarnessError(f"unexpected line in cylc graph edges: {line!r}")
            edges.append((match[1], match[2]))
        elif section == "nodes":
            if line == "stop":
                section = "done"
                continue
            match = _NODE.match(line)
            if not match or match[2] != node_label(match[1]):
                raise HarnessError(f"unexpected line in cylc graph nodes: {line!r}")
            nodes.append(match[1])
        else:
            raise HarnessError(f"unexpected line after 'stop': {line!r}")
    if section != "done":
        raise HarnessError("cylc graph output does not end with 'stop'")
    return Reference(edges, nodes)


def node_label(node: str) -> str:
    cycle, task = node.split("/", 1)
    return f"{task}\\n{cycle}"


def _integer_node_key(node: str) -> tuple[str, int]:
    cycle, task = node.split("/", 1)
    return (task, int(cycle))


def format_reference(nodes: Iterable[str], edges: Iterable[tuple[str, str]], integer: bool) -> str:
    """Write nodes and edges exactly as ``cylc graph --reference`` does.

    Cylc sorts integer-cycling edges and nodes by (task, int(cycle)) and
    date-time ones by their ID strings.
    """
    if integer:
        node_list = sorted(set(nodes), key=_integer_node_key)
        edge_list = sorted(
            set(edges), key=lambda e: (_integer_node_key(e[0]), _integer_node_key(e[1]))
        )
    else:
        node_list = sorted(set(nodes))
        edge_list = sorted(set(edges))
    lines = [f'edge "{left}" "{right}"' for left, right in edge_list]
    lines.append("graph")
    lines.extend(f'node "{node}" "{node_label(node)}"' for node in node_list)
    lines.append("stop")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# the Cylc installation


@dataclass
class Cylc:
    """A Cylc 8.5 executable, the Python it runs on, and an isolated environment."""

    executable: Path
    python: Path
    version: str
    home: Path
    env: dict[str, str] = field(repr=False)
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run(self, args: list[str], timeout: float = GRAPH_TIMEOUT) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                [*NICE, str(self.executable), *args],
                env=self.env,
                cwd=self.home,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"cylc {' '.join(args)} took over {timeout} s") from exc

    def graph_reference(self, directory: Path, window: Window, extra: Iterable[str] = ()) -> str:
        args = [
            "graph",
            *extra,
            "--reference",
            str(directory.resolve()),
            window.start,
            window.stop,
        ]
        proc = self.run(args)
        if proc.returncode != 0:
            raise HarnessError(f"cylc {' '.join(args)} failed:\n{_tail(proc)}")
        return proc.stdout.decode()

    def validate(self, directory: Path, extra: Iterable[str] = ()) -> subprocess.CompletedProcess:
        return self.run(["validate", *extra, str(directory.resolve())])

    def scheduling_points(
        self, directory: Path, extra: Iterable[str] = ()
    ) -> tuple[str, str | None]:
        """The initial and final cycle points as written in flow.cylc."""
        points: list[str | None] = []
        for item in ("initial cycle point", "final cycle point"):
            proc = self.run(
                ["config", *extra, "-i", f"[scheduling]{item}", str(directory.resolve())]
            )
            value = proc.stdout.decode().strip()
            points.append(value if proc.returncode == 0 and value else None)
        if points[0] is None:
            raise HarnessError(f"{directory}: no initial cycle point")
        return points[0], points[1]

    def new_run_dir(self, stem: str) -> tuple[str, Path]:
        with self._lock:
            number = next(self._names)
        name = f"differential-{number:03d}-{re.sub(r'[^A-Za-z0-9_-]', '_', stem)}"
        return name, self.home / "cylc-run" / name


def _tail(proc: subprocess.CompletedProcess, lines: int = 40) -> str:
    text = (proc.stdout or b"").decode(errors="replace") + (proc.stderr or b"").decode(
        errors="replace"
    )
    return "\n".join(text.splitlines()[-lines:])


def _cylc_version(executable: Path, env: dict[str, str] | None = None) -> str | None:
    try:
        proc = subprocess.run(
            [str(executable), "version"],
            capture_output=True,
            timeout=GRAPH_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def _python_of(executable: Path) -> Path:
    """The interpreter that runs a cylc executable (for the prerequisites helper)."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError):
        first = executable.open("rb").readline().decode(errors="replace").strip()
        if first.startswith("#!"):
            interpreter = first[2:].split()[0] if first[2:].split() else ""
            if interpreter.startswith("/") and not interpreter.endswith("/env"):
                candidates.append(Path(interpreter))
    candidates += [executable.parent / "python", executable.parent / "python3"]
    for candidate in candidates:
        if not candidate.exists():
            continue
        proc = subprocess.run(
            [str(candidate), "-c", "import cylc.flow.config"],
            capture_output=True,
            timeout=GRAPH_TIMEOUT,
            check=False,
        )
        if proc.returncode == 0:
            return candidate
    raise HarnessError(
        f"cannot find the Python interpreter that runs {executable} "
        f"(tried {', '.join(map(str, candidates))}); the harness needs it to read "
        "Cylc's prerequisites"
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(venv: Path = VENV_DIR) -> Path:
    """Create (or reuse) a virtual environment with cylc-flow==CYLC_VERSION."""
    executable = venv / "bin" / "cylc"
    lock = Path(tempfile.gettempdir()) / (
        "prefect-cycles-cylc-venv-" + hashlib.sha256(str(venv).encode()).hexdigest()[:12] + ".lock"
    )
    with _file_lock(lock):
        if _cylc_version(executable) == CYLC_VERSION:
            if not _has_cylc_rose(venv):
                _install(venv, [f"cylc-rose=={CYLC_ROSE_VERSION}"])
            return executable
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                f"cylc-flow=={CYLC_VERSION}",
                f"cylc-rose=={CYLC_ROSE_VERSION}",
            ],
        ]
        for step in steps:
            try:
                proc = subprocess.run(
                    step, capture_output=True, timeout=INSTALL_TIMEOUT, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise HarnessError(_install_failure(step, str(exc))) from exc
            if proc.returncode != 0:
                raise HarnessError(_install_failure(step, _tail(proc)))
        version = _cylc_version(executable)
        if version != CYLC_VERSION:
            raise HarnessError(
                _install_failure(steps[-1], f"{executable} version reports {version!r}")
            )
        return executable


def _has_cylc_rose(venv: Path) -> bool:
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import cylc.rose"], capture_output=True, check=False
    )
    return proc.returncode == 0


def _install(venv: Path, requirements: list[str]) -> None:
    """pip install into an existing suite venv (one made before a requirement was added)."""
    step = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        *requirements,
    ]
    try:
        proc = subprocess.run(step, capture_output=True, timeout=INSTALL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(_install_failure(step, str(exc))) from exc
    if proc.returncode != 0:
        raise HarnessError(_install_failure(step, _tail(proc)))


def _install_failure(step: list[str], detail: str) -> str:
    return (
        f"could not install Cylc {CYLC_VERSION} for the differential suite.\n"
        f"command: {' '.join(step)}\n{detail}\n"
        f"Fix the network or pip configuration, or set ${ENV_VAR} to the path of an "
        f"existing cylc {CYLC_VERSION} executable (pip install 'cylc-flow=={CYLC_VERSION}' "
        "in a separate virtual environment)."
    )


def cylc_environment(home: Path, executable: Path) -> dict[str, str]:
    """The environment Cylc runs in: a temporary HOME, so ~/cylc-run and
    ~/.cylc are the harness's own, no user or site global config, nothing of
    the caller's Cylc or Python setup."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CYLC_")
        and key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    }
    conf = home / ".cylc-global-config"
    site = home / ".cylc-site-config"
    (home / "cylc-run").mkdir(parents=True, exist_ok=True)
    conf.mkdir(exist_ok=True)
    site.mkdir(exist_ok=True)
    (conf / "global.cylc").write_text("")
    env.update(
        HOME=str(home),
        CYLC_CONF_PATH=str(conf),
        CYLC_SITE_CONF_PATH=str(site),
        PATH=os.pathsep.join([str(executable.parent), env.get("PATH", "")]),
    )
    return env


def provide_cylc(home: Path) -> Cylc:
    """The suite's Cylc: ``$PREFECT_CYCLES_CYLC`` if set, else ``.cylc-venv/``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        executable = Path(configured).expanduser()
        if not (executable.is_file() and os.access(executable, os.X_OK)):
            raise HarnessError(f"${ENV_VAR}={configured} is not an executable file")
    else:
        executable = ensure_venv()
    home.mkdir(parents=True, exist_ok=True)
    env = cylc_environment(home, executable)
    version = _cylc_version(executable, env)
    if version is None or not version.startswith("8.5."):
        raise HarnessError(
            f"{executable} reports version {version!r}; the differential suite needs "
            f"Cylc 8.5 (it was written against {CYLC_VERSION})"
        )
    return Cylc(executable, _python_of(executable), version, home, env)


# --------------------------------------------------------------------------
# what Cylc's scheduler runs


@dataclass
class SchedulerRun:
    """Which instances ran in a simulation-mode run, and their prerequisites."""

    ran: set[str]
    prerequisites: dict[str, set[str]]
    integer: bool
    shutdown: str
    run_dir: Path


def simulate(cylc: Cylc, case: Case, window: Window, runahead: int) -> SchedulerRun:
    """Run the case in simulation mode from START to STOP and read what ran.

    The run is a copy of the case directory in the harness's cylc-run, with
    SIMULATION_SETTINGS appended to its flow.cylc. START is given as
    --start-cycle-point (the initial point itself gives a cold start) and
    STOP as --stop-cycle-point; runahead is the runahead limit in cycles.
    """
    name, run_dir = cylc.new_run_dir(f"{case.name}-{window.slug}")
    shutil.copytree(
        case.directory,
        run_dir,
        ignore=shutil.ignore_patterns("log", "work", "share", ".service", "runN", "run[0-9]*"),
    )
    flow_file = run_dir / "flow.cylc"
    flow_file.write_text(
        flow_file.read_text().rstrip("\n") + "\n" + SIMULATION_SETTINGS.format(runahead=runahead)
    )
    args = [
        "play",
        *case.template_args,
        "--no-detach",
        "--mode=simulation",
        f"--start-cycle-point={window.start}",
        f"--stop-cycle-point={window.stop}",
        name,
    ]
    proc = cylc.run(args, timeout=SIMULATION_TIMEOUT)
    output = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    (run_dir / "differential-play.txt").write_text(output)
    shutdown = next((s for s in GOOD_SHUTDOWNS if s in output), None)
    database = run_dir / "log" / "db"
    if shutdown is None or not database.is_file():
        raise HarnessError(
            f"cylc {' '.join(args)} (in {run_dir}) did not end cleanly or as a stall "
            f"(exit {proc.returncode}):\n{_tail(proc)}"
        )
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT DISTINCT cycle, name FROM task_jobs").fetchall()
    ran = {f"{cycle}/{name}" for cycle, name in rows}
    request = {
        "flow_file": str(flow_file),
        "start": window.start,
        "stop": window.stop,
        "instances": sorted(ran),
    }
    helper = subprocess.run(
        [*NICE, str(cylc.python), str(PREREQS_SCRIPT)],
        input=json.dumps(request).encode(),
        env=cylc.env,
        cwd=run_dir,
        capture_output=True,
        timeout=GRAPH_TIMEOUT,
        check=False,
    )
    if helper.returncode != 0:
        raise HarnessError(f"reading prerequisites of {case.name} failed:\n{_tail(helper)}")
    answer = json.loads(helper.stdout.decode())
    prerequisites = {k: set(v) for k, v in answer["prerequisites"].items()}
    return SchedulerRun(ran, prerequisites, answer["integer"], shutdown, run_dir)


# --------------------------------------------------------------------------
# expectations


@dataclass
class Expectation:
    """The expected reference text for one case and window, and why."""

    text: str
    graph_text: str
    source: str
    never_ran: list[str] = field(default_factory=list)
    graph_only_edges: list[tuple[str, str]] = field(default_factory=list)
    scheduler_only_edges: list[tuple[str, str]] = field(default_factory=list)
    scheduler_only_nodes: list[str] = field(default_factory=list)

    def explain(self) -> str:
        lines = [f"expected text: {self.source}"]
        if self.never_ran:
            lines.append(
                "drawn by cylc graph but never run by the scheduler: " + ", ".join(self.never_ran)
            )
        if self.graph_only_edges:
            lines.append(
                "cylc graph edges that are no scheduler prerequisite (dropped): "
                + ", ".join(f"{a} -> {b}" for a, b in self.graph_only_edges)
            )
        if self.scheduler_only_edges:
            lines.append(
                "scheduler prerequisites cylc graph does not draw (added): "
                + ", ".join(f"{a} -> {b}" for a, b in self.scheduler_only_edges)
            )
        if self.scheduler_only_nodes:
            lines.append(
                "run by the scheduler, not drawn by cylc graph (left out): "
                + ", ".join(self.scheduler_only_nodes)
            )
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "graph_text": self.graph_text,
            "source": self.source,
            "never_ran": self.never_ran,
            "graph_only_edges": [list(e) for e in self.graph_only_edges],
            "scheduler_only_edges": [list(e) for e in self.scheduler_only_edges],
            "scheduler_only_nodes": self.scheduler_only_nodes,
        }

    @classmethod
    def from_json(cls, data: dict) -> Expectation:
        return cls(
            text=data["text"],
            graph_text=data["graph_text"],
            source=data["source"],
            never_ran=data["never_ran"],
            graph_only_edges=[tuple(e) for e in data["graph_only_edges"]],
            scheduler_only_edges=[tuple(e) for e in data["scheduler_only_edges"]],
            scheduler_only_nodes=data["scheduler_only_nodes"],
        )


def restrict_to_scheduler(graph_text: str, run: SchedulerRun) -> Expectation:
    """Cylc's graph restricted to the instances that ran and their real edges.

    Nodes: those drawn that ran. Edges: those drawn between two instances
    that ran where the parent is one of the child's prerequisites in the
    scheduler (cylc graph resolves ``[^]`` from START, the scheduler from the
    initial point). Prerequisite edges between two such nodes that cylc graph
    does not draw are added. Instances that ran but are not drawn are left
    out (on a warm start, the scheduler runs the children of future triggers
    at points before START, e.g. 1/bar from 2/foo for foo[+P1] => bar); all
    of these are reported.
    """
    reference = parse_reference(graph_text)
    if format_reference(reference.nodes, reference.edges, run.integer) != graph_text:
        raise HarnessError("the harness cannot reproduce cylc graph's own ordering")
    drawn_nodes = set(reference.nodes)
    drawn_edges = set(reference.edges)
    ran = run.ran
    nodes = [n for n in reference.nodes if n in ran]
    kept = set(nodes)
    extra_nodes = sorted(ran - drawn_nodes)
    edges = set()
    graph_only = []
    for parent, child in reference.edges:
        if parent in ran and child in ran:
            if parent in run.prerequisites.get(child, set()):
                edges.add((parent, child))
            else:
                graph_only.append((parent, child))
    scheduler_only = sorted(
        (parent, child)
        for child in kept
        for parent in run.prerequisites.get(child, set())
        if parent in kept and child in kept and (parent, child) not in drawn_edges
    )
    edges.update(scheduler_only)
    text = format_reference(nodes, edges, run.integer)
    return Expectation(
        text=text,
        graph_text=graph_text,
        source="cylc graph restricted to what Cylc's scheduler ran (simulation mode)",
        never_ran=[n for n in reference.nodes if n not in ran],
        graph_only_edges=graph_only,
        scheduler_only_edges=scheduler_only,
        scheduler_only_nodes=extra_nodes,
    )


# --------------------------------------------------------------------------
# prefect-cycles


def prefect_cycles_command() -> list[str]:
    """The prefect-cycles console script of the running interpreter."""
    script = Path(sys.executable).parent / "prefect-cycles"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "prefect_cycles"]


@dataclass
class Actual:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str


def run_prefect_cycles(case: Case, window: Window) -> Actual:
    command = [
        *prefect_cycles_command(),
        "graph",
        "--reference",
        str(case.directory.resolve()),
        window.start,
        window.stop,
        *case.template_args,
    ]
    try:
        proc = subprocess.run(
            [*NICE, *command], capture_output=True, timeout=GRAPH_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return Actual(command, -1, "", f"timed out after {GRAPH_TIMEOUT} s")
    return Actual(
        command,
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )


def describe_mismatch(case: Case, window: Window, expected: Expectation, actual: Actual) -> str:
    """A failure message: the command, the unified diff, and why the expectation."""
    head = f"{case.name} window {window}: prefect-cycles differs from Cylc {CYLC_VERSION}"
    command = "$ " + " ".join(actual.command)
    if actual.returncode != 0:
        return (
            f"{head}\n{command}\nexit status {actual.returncode}\n"
            f"stderr:\n{actual.stderr[-3000:]}\n{expected.explain()}"
        )
    diff = "".join(
        difflib.unified_diff(
            expected.text.splitlines(keepends=True),
            actual.stdout.splitlines(keepends=True),
            fromfile=f"expected (Cylc {CYLC_VERSION})",
            tofile="prefect-cycles",
        )
    )
    if not diff:  # differs only in bytes splitlines hides (e.g. \r, final newline)
        diff = f"expected {expected.text!r}\nactual   {actual.stdout!r}\n"
    return f"{head}\n{command}\n{diff}{expected.explain()}"


# --------------------------------------------------------------------------
# running many comparisons at once


_FAILURE_OUTPUT = re.compile(r":(fail|failed|submit-fail|submit-failed|expire|expired)\b")


def _case_digest(case: Case) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in case.directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(case.directory).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _harness_digest() -> str:
    digest = hashlib.sha256()
    for path in (Path(__file__), PREREQS_SCRIPT):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Differential:
    """Computes expectations and prefect-cycles outputs, in parallel, once.

    Every result is memoized as a future under a key. Work that other work
    needs (a case's cylc graph text) is computed by whichever thread asks
    first, in that thread, so that no pool worker ever waits on a job queued
    behind it. Cylc's side may be cached across sessions in cache_dir (keyed
    by the Cylc version, this harness's source, the case's files, the window
    and the mode); prefect-cycles always runs.
    """

    def __init__(self, cylc: Cylc, cache_dir: Path | None, workers: int | None = None):
        self.cylc = cylc
        self.cache_dir = cache_dir
        cpus = os.cpu_count() or 2
        self._quick = concurrent.futures.ThreadPoolExecutor(workers or 2 * cpus)
        # simulation runs mostly sleep in the scheduler's main loop
        self._slow = concurrent.futures.ThreadPoolExecutor(8)
        self._futures: dict[tuple, concurrent.futures.Future] = {}
        self._lock = threading.Lock()
        self._harness = _harness_digest()

    def close(self) -> None:
        for pool in (self._quick, self._slow):
            pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, key: tuple, pool: concurrent.futures.Executor, fn, *args):
        """fn(*args) in the pool, once per key."""
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                future = pool.submit(fn, *args)
                self._futures[key] = future
            return future

    def _inline(self, key: tuple, fn, *args):
        """fn(*args) in this thread, once per key; others wait for it."""
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if owner:
                future = concurrent.futures.Future()
                self._futures[key] = future
        if owner:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    # Cylc's side -----------------------------------------------------------

    def graph_text(self, case: Case, window: Window) -> str:
        return self._inline(
            ("graph", case.directory, window),
            self.cylc.graph_reference,
            case.directory,
            window,
            case.template_args,
        )

    def validation(self, case: Case) -> concurrent.futures.Future:
        """(exit status, output) of cylc validate."""
        return self._submit(("validate", case.directory), self._quick, self._validation, case)

    def _validation(self, case: Case) -> tuple[int, str]:
        def compute() -> list:
            proc = self.cylc.validate(case.directory, case.template_args)
            return [proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")]

        returncode, output = self._cached(["validate", _case_digest(case)], compute)
        return returncode, output

    def _cached(self, key: list, compute):
        """compute(), a JSON value, through the cross-session cache."""
        if self.cache_dir is None:
            return compute()
        name = json.dumps([self.cylc.version, self._harness, *key])
        cache_file = self.cache_dir / (hashlib.sha256(name.encode()).hexdigest() + ".json")
        with contextlib.suppress(OSError, ValueError):
            return json.loads(cache_file.read_text())
        value = compute()
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(value))
        tmp.replace(cache_file)
        return value

    def expectation(self, case: Case, window: Window, expect: str) -> concurrent.futures.Future:
        pool = self._slow if expect == EXPECT_SCHEDULER else self._quick
        return self._submit(
            ("expect", case.directory, window, expect),
            pool,
            self._expectation,
            case,
            window,
            expect,
        )

    def _expectation(self, case: Case, window: Window, expect: str) -> Expectation:
        def compute() -> dict:
            graph_text = self.graph_text(case, window)
            if expect == EXPECT_SCHEDULER:
                points = {node.split("/", 1)[0] for node in parse_reference(graph_text).nodes}
                run = simulate(self.cylc, case, window, runahead=max(4, len(points)))
                expectation = restrict_to_scheduler(graph_text, run)
                if _FAILURE_OUTPUT.search(case.flow_file.read_text()):
                    expectation.source += (
                        "; NOTE simulated jobs all succeed, so instances reached only"
                        " through failure outputs (:fail?, :failed?) count as never run"
                    )
            else:
                expectation = Expectation(graph_text, graph_text, "cylc graph --reference as is")
            return expectation.to_json()

        key = ["expect", _case_digest(case), window.start, window.stop, expect]
        return Expectation.from_json(self._cached(key, compute))

    # prefect-cycles' side --------------------------------------------------

    def actual(self, case: Case, window: Window) -> concurrent.futures.Future:
        return self._submit(
            ("actual", case.directory, window), self._quick, run_prefect_cycles, case, window
        )
