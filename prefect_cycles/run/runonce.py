"""Run each instance once, however many runs of a workflow share its results.

Two runs of one workflow over the same window (two terminals, a served run
and a worker run, two machines on one shared disk) would each find no result
for an instance and each run it. Prefect's answer is a transaction with
``IsolationLevel.SERIALIZABLE`` and a lock manager: the task run takes the
lock of its cache key before it looks for a committed record, so the second
run waits for the first and then finds its result (``Cached``). Resume gives
every instance's cache policy that isolation level and a :class:`RunOnceLocks`
kept beside the results (``<storage>/.prefect-cycles/locks``).

A lock must not outlive its holder: a run killed with SIGKILL leaves its lock
files behind, and Prefect's ``FileSystemLockManager`` would make every later
run wait for them for ever. So each lock also records who took it (host,
process and its start time, flow run), and each flow run keeps a *lease*
file in ``locks/runs/`` whose modification time is its heartbeat. A lock is
dead when its process is gone (same host), or when its flow run's lease is
missing or has had no heartbeat for :data:`STALE` seconds (another host); a
dead lock is broken, and a later run that finds a dead lease marks that flow
run ``Crashed``, naming the run that took over (see :mod:`.lease`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
from logging import Logger
from pathlib import Path
from typing import Any

import pydantic_core
from prefect.locking.filesystem import FileSystemLockManager
from prefect.logging.loggers import get_logger

#: Seconds between heartbeats of a flow run's lease.
HEARTBEAT = 30.0

#: Seconds without a heartbeat after which a lease of another host counts as dead.
STALE = 10 * HEARTBEAT

#: Seconds a lock file may stay unreadable (Prefect creates it empty, then writes it).
HALF_WRITTEN = 30.0

#: Directory, under the lock directory, of the flow runs' lease files.
RUNS = "runs"

logger: Logger = get_logger(__name__)

_HOST = socket.gethostname()


def _log() -> Any:
    """The run's logger when there is a run (so the UI shows it), else this module's."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logger


def process_started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


_ME: tuple[int, str | None] | None = None


def me(run: str | None = None) -> dict[str, Any]:
    """Who this process is, as locks and leases record it."""
    global _ME
    pid = os.getpid()
    if _ME is None or _ME[0] != pid:  # a forked child is someone else
        _ME = (pid, process_started(pid))
    return {"host": _HOST, "pid": pid, "started": _ME[1], "run": run}


def _pid_gone(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, owned by someone else
    now_started = process_started(pid)
    return started is not None and now_started is not None and now_started != started


def why_dead(who: dict[str, Any], runs_dir: Path, now: float | None = None) -> str | None:
    """Why the process or flow run ``who`` describes is dead, or None when it may be alive.

    On this host the process itself says; on another, its flow run's lease.
    A record without the fields (a lock Prefect itself wrote) counts as alive.
    """
    host, pid = who.get("host"), who.get("pid")
    if host is None or pid is None:
        return None
    if host == _HOST:
        if int(pid) == os.getpid():
            return None  # this very process
        if _pid_gone(int(pid), who.get("started")):
            return f"its process {pid} on {host} is gone"
        return None
    run = who.get("run")
    if not run:
        return None  # nothing to check from here
    lease = runs_dir / f"{run}.json"
    try:
        age = (now or time.time()) - lease.stat().st_mtime
    except FileNotFoundError:
        return f"its flow run {run} on {host} has no lease any more"
    if age > STALE:
        return f"its flow run {run} on {host} has had no heartbeat for {age:.0f} s"
    return None


class RunOnceLocks(FileSystemLockManager):
    """Prefect's file locks, which also record their holder and are broken when it is dead.

    The current flow run (for the lease check) is read when a lock is taken.
    """

    def __init__(self, lock_files_directory: Path) -> None:
        super().__init__(lock_files_directory)
        self.runs_dir = self.lock_files_directory / RUNS
        self._unlocked: set[str] = set()  # keys run without a lock: the store is not writable
        self._told = False

    def _lock_path_for_key(self, key: str) -> Path:
        """``<key>.lock``: Prefect's ``with_suffix`` would give ``k.stop`` the lock of ``k``."""
        if (info := self._locks.get(key)) is not None:
            return info["path"]
        return self.lock_files_directory / f"{key}.lock"

    # -- who holds a lock ---------------------------------------------------------

    def _stamp(self, key: str) -> None:
        """Add the holder's host, process and flow run to the lock file Prefect wrote."""
        info = self._locks.get(key)
        if info is None:
            return
        from .lease import current_run

        record = {
            "holder": info["holder"],
            "expiration": None if info["expiration"] is None else str(info["expiration"]),
            **me(current_run()),
        }
        # In place: a reader that catches it half-written takes the lock as held.
        Path(info["path"]).write_bytes(json.dumps(record).encode())

    def acquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        try:
            taken = super().acquire_lock(key, holder, acquire_timeout, hold_timeout)
            if taken:
                self._stamp(key)
        except OSError as exc:
            return self._without_lock(key, exc)
        return taken

    async def aacquire_lock(
        self,
        key: str,
        holder: str,
        acquire_timeout: float | None = None,
        hold_timeout: float | None = None,
    ) -> bool:
        try:
            taken = await super().aacquire_lock(key, holder, acquire_timeout, hold_timeout)
            if taken:
                self._stamp(key)
        except OSError as exc:
            return self._without_lock(key, exc)
        return taken

    def _without_lock(self, key: str, exc: OSError) -> bool:
        """Go on without the lock of ``key`` when the store cannot take a lock file.

        A full or read-only store must not stop the work (its results are
        reported unsaved apart); the lock file this attempt left empty goes.
        """
        path = self._lock_path_for_key(key)
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:
                path.unlink()
        self._locks.pop(key, None)
        self._unlocked.add(key)
        if not self._told:
            self._told = True
            _log().warning(
                "Run-once locks cannot be written in %s (OSError [%s] %s): this run goes on "
                "without them, so a run of the same workflow at the same time may repeat "
                "instances",
                self.lock_files_directory,
                errno.errorcode.get(exc.errno or 0, "?"),
                exc.strerror or exc,
            )
        return True

    def release_lock(self, key: str, holder: str) -> None:
        if key in self._unlocked:
            self._unlocked.discard(key)
            return
        super().release_lock(key, holder)

    # -- reading locks, and breaking dead ones ----------------------------------

    def _get_lock_info(self, key: str, use_cache: bool = True) -> Any:
        """Prefect's reader, which also survives a lock file caught half-written.

        Prefect creates a lock file empty and writes it after, so another
        process can read nothing; that lock is being taken: it is held.
        """
        try:
            return super()._get_lock_info(key, use_cache)
        except ValueError:
            return {"holder": "", "expiration": None, "path": self._lock_path_for_key(key)}

    def _unreadable_too_long(self, info: dict[str, Any]) -> bool:
        """A lock file still unreadable after :data:`HALF_WRITTEN` seconds: its write failed."""
        try:
            return time.time() - Path(info["path"]).stat().st_mtime > HALF_WRITTEN
        except OSError:
            return False

    def is_locked(self, key: str, use_cache: bool = False) -> bool:
        info = self._get_lock_info(key, use_cache=use_cache)
        if info is None:
            self._locks.pop(key, None)  # gone: forget what was read before
            return False
        if info.get("holder"):
            reason = why_dead(info, self.runs_dir)
        elif self._unreadable_too_long(info):
            reason = f"its lock file has been unreadable for over {HALF_WRITTEN:.0f} s"
        else:
            return True  # being written as we look
        if reason is not None:
            self._break(key, info, reason)
            return False
        # Prefect's check of the expiration, on the record just read (not read again).
        return super().is_locked(key, use_cache=True)

    def _break(self, key: str, info: dict[str, Any], reason: str) -> None:
        """Remove a dead holder's lock, unless someone took it again meanwhile."""
        path = Path(info["path"])
        with contextlib.suppress(OSError, ValueError):
            try:
                holder = pydantic_core.from_json(path.read_bytes()).get("holder", "")
            except ValueError:
                holder = ""  # still unreadable
            if holder == info["holder"]:
                path.unlink()
                _log().warning(
                    "Broke the lock %s of an instance whose holder is dead (%s); it runs again",
                    path.name,
                    reason,
                )
        self._locks.pop(key, None)


#: Directory, under a file result storage, of the locks and leases.
LOCKS = Path(".prefect-cycles") / "locks"


def lock_directory(storage: Any) -> tuple[Path, bool]:
    """Where the locks of a result storage live, and whether they sit beside the results.

    A directory, or a ``LocalFileSystem`` block, keeps them beside the results,
    so every process that shares the results shares the locks. Any other
    storage (S3, GCS...) cannot hold file locks: they go under this machine's
    ``PREFECT_HOME``, which makes run-once hold only between runs on one machine
    (pass ``lock_manager=``, e.g. prefect-redis's ``RedisLockManager``, for more).
    """
    from prefect.filesystems import LocalFileSystem
    from prefect.results import get_default_result_storage, resolve_result_storage
    from prefect.settings import get_current_settings

    if storage is None:
        storage = get_default_result_storage()
    elif isinstance(storage, str) and not isinstance(storage, Path):
        storage = resolve_result_storage(storage, _sync=True)  # type: ignore[call-arg]
    if isinstance(storage, Path):
        return storage / LOCKS, True
    if isinstance(storage, LocalFileSystem) and storage.basepath:
        return Path(storage.basepath).expanduser() / LOCKS, True
    return get_current_settings().home / "prefect-cycles" / "locks", False
