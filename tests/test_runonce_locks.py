"""Run-once locks on their own: a dead holder's lock is broken, a live one's is held.

Real files and real processes, no Prefect server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from prefect_cycles.run import runonce
from prefect_cycles.run.runonce import RunOnceLocks, process_started


def held_by(path: Path, pid: int, host: str | None = None) -> None:
    """Write a lock file as a process ``pid`` (on ``host``) would have."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "holder": "someone",
        "expiration": None,
        "host": host or runonce._HOST,
        "pid": pid,
        "started": process_started(pid),
        "run": "a-flow-run",
    }
    path.write_text(json.dumps(record))


def test_a_lock_whose_process_is_gone_is_broken(tmp_path: Path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    locks = RunOnceLocks(tmp_path)
    held_by(tmp_path / "k.lock", gone.pid)
    assert not locks.is_locked("k")
    assert not (tmp_path / "k.lock").exists()
    assert locks.acquire_lock("k", "me") and locks.is_lock_holder("k", "me")
    locks.release_lock("k", "me")


def test_a_lock_whose_process_lives_is_held(tmp_path: Path):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        held_by(tmp_path / "k.lock", alive.pid)
        locks = RunOnceLocks(tmp_path)
        assert locks.is_locked("k")
        assert not locks.acquire_lock("k", "me", acquire_timeout=0.3)
    finally:
        alive.kill()
        alive.wait()
    assert not locks.is_locked("k")  # and once it dies, it is broken


def test_a_lock_of_another_host_follows_its_runs_lease(tmp_path: Path):
    locks = RunOnceLocks(tmp_path)
    held_by(tmp_path / "k.lock", 1, host="elsewhere")
    assert not locks.is_locked("k")  # no lease: that run is over
    held_by(tmp_path / "k.lock", 1, host="elsewhere")
    lease = tmp_path / "runs" / "a-flow-run.json"
    lease.parent.mkdir()
    lease.write_text("{}")
    assert locks.is_locked("k")  # a fresh heartbeat
    old = time.time() - runonce.STALE - 1
    os.utime(lease, (old, old))
    assert not locks.is_locked("k")  # no heartbeat for too long


def test_a_half_written_lock_is_held_until_it_is_plainly_abandoned(tmp_path: Path):
    locks = RunOnceLocks(tmp_path)
    (tmp_path / "k.lock").touch()
    assert locks.is_locked("k")
    old = time.time() - runonce.HALF_WRITTEN - 1
    os.utime(tmp_path / "k.lock", (old, old))
    assert not locks.is_locked("k")


def test_a_marker_key_has_a_lock_of_its_own(tmp_path: Path):
    locks = RunOnceLocks(tmp_path)
    assert locks.acquire_lock("abc", "me")
    assert not locks.is_locked("abc.stop")  # Prefect's with_suffix made these one file
    locks.release_lock("abc", "me")


@contextmanager
def unwritable(where: Path) -> Iterator[Path]:
    """A directory nobody can write in: read-only permissions, or for root (who writes
    anywhere) a read-only tmpfs."""
    where.mkdir()
    if os.geteuid() != 0:
        where.chmod(0o500)
        try:
            yield where
        finally:
            where.chmod(0o700)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(where)])
    if mounted.returncode != 0:
        pytest.skip("root here cannot mount a read-only tmpfs")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_an_unwritable_lock_directory_lets_the_work_go_on(tmp_path: Path):
    with unwritable(tmp_path / "ro") as where:
        locks = RunOnceLocks(where / "locks")
        assert locks.acquire_lock("k", "me")
        locks.release_lock("k", "me")
