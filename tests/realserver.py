"""A real ``prefect server start`` and real Prefect CLI processes, for tests and benchmarks.

Not a test module. Every process is started in its own process group and
stopped by that group's id (never by name), so a test leaves nothing behind.
The server gets its own ``PREFECT_HOME`` (SQLite database) and a free port;
the client processes get another home, so results they persist land in the
test's temporary directory too. The API is read with plain ``httpx`` (what a
user's tooling would see), paging through Prefect's filter endpoints.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

#: States in which a flow or task run is over.
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

#: Page size for the API's filter endpoints (the server's default limit is 200).
PAGE = 200


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(
    cmd: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen:
    """Start ``cmd`` in a process group of its own, output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            list(cmd),
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state, ppid, ...), or None."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid`` (Linux /proc), with its start time."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            if child not in found:
                found[child] = started
                todo.append(child)
    return found


def stop(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """Stop ``proc``, its process group, and any descendant that left the group.

    SIGTERM first, SIGKILL after ``grace`` seconds. Prefect's runner may start
    flow-run processes in sessions of their own; they are ours all the same,
    so they are found by ancestry before the leader goes, and signalled by pid
    only while that pid still has the same start time (not a reused pid).
    """
    strays = descendants(proc.pid)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        break
    # The leader is gone; whatever it left behind goes the same way.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    _kill_strays(strays)


def _kill_strays(strays: dict[int, str]) -> None:
    """SIGKILL each process that is still the one seen (same start time: not a reused pid)."""
    for pid, started in strays.items():
        fields = _stat(pid)
        if fields and fields[19] == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def kill_tree(proc: subprocess.Popen) -> list[int]:
    """SIGKILL ``proc``, its group and every descendant (a machine lost, not a stop); their pids.

    A worker's flow-run processes live in sessions of their own: killing the
    worker's group alone would leave them running.
    """
    strays = descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    _kill_strays(strays)
    proc.wait()
    return [proc.pid, *strays]


def run(
    cmd: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 180.0,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run a command to its end in its own process group; kill the group on timeout.

    With ``check``, a non-zero exit fails the test, showing the output.
    """
    proc = subprocess.Popen(
        list(cmd),
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc, grace=5.0)
        out, _ = proc.communicate()
        raise AssertionError(f"{' '.join(cmd)} did not finish in {timeout} s:\n{out}") from None
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, None)


def prefect_cli() -> list[str]:
    """The ``prefect`` command of this interpreter's environment."""
    exe = Path(sys.executable).with_name("prefect")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]


class PrefectServer:
    """``prefect server start`` on 127.0.0.1 with its own home, port and SQLite database."""

    def __init__(self, root: Path, extra_env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.home = root / "server-home"
        self.client_home = root / "client-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.client_home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.log = root / "server.log"
        self.extra_env = dict(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.started_in: float | None = None

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_CLI_PROMPT="false",
            PYTHONUNBUFFERED="1",
        )
        return env

    def server_env(self) -> dict[str, str]:
        env = self._base_env()
        env.update(
            PREFECT_HOME=str(self.home),
            PREFECT_SERVER_UI_ENABLED="false",
            # One log line per 503 the server answers, so a test can count them.
            PREFECT_API_LOG_RETRYABLE_ERRORS="true",
        )
        env.update(self.extra_env)
        return env

    def client_env(self, **more: str) -> dict[str, str]:
        """Environment for CLI, serve, worker and flow processes that use this server."""
        env = self._base_env()
        env.update(
            PREFECT_HOME=str(self.client_home),
            PREFECT_API_URL=self.url,
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_HEARTBEAT_SECONDS="5",
            PREFECT_RUNNER_POLL_FREQUENCY="1",
        )
        env.update(more)
        return env

    def start(self, timeout: float = 120.0) -> None:
        """Start the server and wait for ``/api/health``."""
        t0 = time.monotonic()
        cmd = [*prefect_cli(), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = start(cmd, self.server_env(), self.log)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"prefect server start exited {self.proc.returncode}:\n{self.log.read_text()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    self.started_in = time.monotonic() - t0
                    return
            time.sleep(0.25)
        self.stop()
        raise AssertionError(f"server not healthy after {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def retryable_errors(self) -> int:
        """How many 503 answers the server has logged so far."""
        if not self.log.exists():
            return 0
        return self.log.read_text(errors="replace").count("Encountered retryable exception")

    def __enter__(self) -> PrefectServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reading the API --------------------------------------------------------------

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def get(self, path: str) -> Any:
        with self.api() as http:
            r = http.get(path)
            r.raise_for_status()
            return r.json()

    def filter(
        self, what: str, body: Mapping[str, Any], sort: str = "ID_DESC"
    ) -> list[dict[str, Any]]:
        """Every object of ``/api/{what}/filter`` matching ``body``, page by page.

        ``sort`` keeps the pages stable (logs sort by ``TIMESTAMP_ASC``).
        """
        rows: list[dict[str, Any]] = []
        with self.api() as http:
            while True:
                r = http.post(
                    f"/{what}/filter",
                    json={**body, "limit": PAGE, "offset": len(rows), "sort": sort},
                )
                r.raise_for_status()
                page = r.json()
                rows += page
                if len(page) < PAGE:
                    return rows

    def task_runs(self, flow_run_id: str) -> list[dict[str, Any]]:
        return self.filter("task_runs", {"flow_runs": {"id": {"any_": [flow_run_id]}}})

    def wait_flow_run(self, flow_run_id: str, timeout: float = 180.0) -> dict[str, Any]:
        """Poll until the flow run is in a final state; return it."""
        deadline = time.monotonic() + timeout
        while True:
            fr = self.get(f"/flow_runs/{flow_run_id}")
            if fr["state_type"] in FINAL_STATES:
                return fr
            if time.monotonic() > deadline:
                raise AssertionError(f"flow run {flow_run_id} still {fr['state_type']}")
            time.sleep(0.5)

    def wait_task_runs(
        self, flow_run_id: str, expected: int, timeout: float = 180.0
    ) -> list[dict[str, Any]]:
        """Poll until ``expected`` task runs of the flow run are all in final states.

        Prefect 3 records task-run states from events, after the flow run has
        ended: the server catches up on its own time.
        """
        deadline = time.monotonic() + timeout
        while True:
            # Counting is cheap for the server; reading 2,000 task runs is not.
            if self.count_final_task_runs(flow_run_id) >= expected:
                runs = self.task_runs(flow_run_id)
                if all(t["state_type"] in FINAL_STATES for t in runs):
                    return runs
            if time.monotonic() > deadline:
                runs = self.task_runs(flow_run_id)
                pending = [t["name"] for t in runs if t["state_type"] not in FINAL_STATES]
                raise AssertionError(
                    f"after {timeout} s the server has {len(runs)} of {expected} task runs; "
                    f"not final: {pending[:10]}"
                )
            time.sleep(1.0)

    def count_final_task_runs(self, flow_run_id: str) -> int:
        """How many task runs of the flow run the server has in a final state."""
        body = {
            "flow_runs": {"id": {"any_": [flow_run_id]}},
            "task_runs": {"state": {"type": {"any_": sorted(FINAL_STATES)}}},
        }
        with self.api() as http:
            r = http.post("/task_runs/count", json=body)
            r.raise_for_status()
            return int(r.json())


def flow_run_id(cli_output: str) -> str:
    """The flow run id ``prefect deployment run`` prints."""
    m = re.search(r"UUID:\s*([0-9a-f-]{36})", cli_output)
    if not m:
        raise AssertionError(f"no flow run id in:\n{cli_output}")
    return m.group(1)


@contextlib.contextmanager
def running(
    cmd: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """A background process for the length of a ``with`` block, stopped by its group id."""
    proc = start(cmd, env, log, cwd)
    try:
        yield proc
    finally:
        stop(proc)
