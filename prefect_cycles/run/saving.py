"""Saving results, honestly: a result that could not be stored, or cannot be read back, is told.

Prefect persists each instance's result when its transaction commits and, if
that fails, logs the error and carries on: the work is done, only the rerun
will repeat it. What it leaves behind and what it says are not enough:

- a full or read-only store leaves empty or truncated record files, and the
  only hint was advice about serializers. :class:`Saving` finds the real cause
  (the ``OSError`` a write into the store gets now: no space, read-only file
  system, permission), removes the partial record, and lists the instance as
  *unsaved* in the run's summary and final message;
- a record that is there but cannot be read (truncated, garbage) is taken by
  Prefect for a missing one without a word. :class:`Saving` notes which
  records exist as each instance is submitted, and warns, naming the instance
  and the file, when one with a record came back run again instead of
  ``Cached``; its fresh result replaces the bad record.

Only a local store (a directory, a ``LocalFileSystem`` block, Prefect's default)
has files to look at; for other stores the unsaved instances are still listed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from pathlib import Path
from typing import Any

from prefect import Task
from prefect.results import ResultRecord, ResultStore

from ..graph.model import Workflow
from ..graph.unroll import Instance
from .resume import CACHED, Resume
from .stopped import instance_key

#: What to do about each errno a write into the result store can meet.
FIXES = {
    errno.ENOSPC: "free space in the result storage, or point result_storage at one with room",
    errno.EDQUOT: "raise the disk quota, or point result_storage at another store",
    errno.EROFS: "mount the result storage read-write, or point result_storage at a writable "
    "directory",
    errno.EACCES: "give this user write permission on the result storage, or point "
    "result_storage at a directory it may write",
    errno.EPERM: "give this user write permission on the result storage, or point "
    "result_storage at a directory it may write",
}


def record_file(store: ResultStore, key: str) -> Path | None:
    """The file that holds the record ``key`` in a local store, else None."""
    resolve = getattr(store.result_storage, "_resolve_path", None)
    if resolve is None or store.metadata_storage is not None:
        return None
    try:
        path = resolve(key)
    except ValueError:
        return None
    return path if isinstance(path, Path) else None


def write_error(directory: Path, size: int = 4096) -> OSError | None:
    """The error a write of ``size`` bytes into ``directory`` gets now, or None when it works."""
    probe = directory / f".prefect-cycles-probe-{uuid.uuid4().hex}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return exc
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None


def readable(store: ResultStore, key: str) -> bool:
    """True when the record ``key`` reads back whole."""
    try:
        store.read(key)
    except Exception:  # any failure to read means the record is no use
        return False
    return True


class Saving:
    """Follows what each instance's result record was before its run and after it."""

    def __init__(
        self, workflow: Workflow, resume: Resume, variants: dict[str, Task], own: dict[str, bool]
    ) -> None:
        self.workflow = workflow
        self.resume = resume
        self.variants = variants
        self.own = own  # tasks that keep the user's caching: their keys are theirs
        self.stores: dict[str, ResultStore] = {}
        self.had_record: dict[Instance, Path] = {}
        self.unsaved: list[str] = []
        self.cause: str | None = None

    def _store(self, task: str) -> ResultStore:
        store = self.stores.get(task)
        if store is None:
            store = self.stores[task] = self.resume.store_for(self.variants[task])
        return store

    def _file(self, inst: Instance) -> tuple[ResultStore, str, Path | None]:
        store = self._store(inst.task)
        if self.own[inst.task]:
            return store, "", None
        key = instance_key(
            self.resume, self.variants[inst.task], inst.task, self.workflow.fmt(inst.point)
        )
        return store, key or "", record_file(store, key) if key else None

    def submitted(self, inst: Instance, refresh: bool) -> None:
        """Note whether ``inst`` has a record file as it is submitted (a stat, local stores)."""
        if refresh:
            return
        _, _, path = self._file(inst)
        if path is not None and path.is_file():
            self.had_record[inst] = path

    def finished(self, inst: Instance, state: Any, persisted: bool, logger: Any) -> None:
        """Warn about a record that could not be read, and about a result not saved."""
        label = f"{inst.task}[{self.workflow.fmt(inst.point)}]"
        had = self.had_record.pop(inst, None)
        if state.name == CACHED:
            return
        if had is not None:
            logger.warning(
                "%s had a saved result in %s that could not be read (truncated, or not a "
                "result record), so it ran again%s",
                label,
                had,
                "; its new result replaced the bad one" if persisted else "",
            )
        if persisted or not _fresh_record(state):
            return
        self.unsaved.append(label)
        store, key, path = self._file(inst)
        if path is not None and path.exists() and not readable(store, key):
            with contextlib.suppress(OSError):
                path.unlink()  # no partial record for a rerun to trip on
        directory = path.parent if path is not None else None
        error = write_error(directory, _size(state)) if directory is not None else None
        if error is not None:
            self.cause = _describe(error, directory)
            logger.warning(
                "%s completed but its result could not be saved: %s. A rerun will run "
                "it again. Fix: %s",
                label,
                self.cause,
                FIXES.get(error.errno or 0, "make the result storage writable"),
            )
        else:
            logger.warning(
                "%s completed but its result could not be saved, so a rerun will run it again. "
                "Fix: see the error above; if the value cannot be serialized, return one the "
                "result serializer can save (pickle by default), or give the task another "
                "result_serializer (e.g. 'json')",
                label,
            )

    def report(self) -> str | None:
        """The line for the final message, when results went unsaved."""
        if not self.unsaved:
            return None
        cause = f" ({self.cause})" if self.cause else ""
        return (
            f"{len(self.unsaved)} results could not be saved{cause}, so a rerun runs them "
            f"again: {', '.join(self.unsaved)}"
        )


def _size(state: Any) -> int:
    """The bytes the unsaved record needed, so that the probe meets what the write met."""
    try:
        return max(len(state.data.serialize()), 4096)
    except Exception:  # a value that cannot be serialized: the probe tells storage faults apart
        return 4096


def _fresh_record(state: Any) -> bool:
    return isinstance(state.data, ResultRecord)


def _describe(error: OSError, directory: Path | None) -> str:
    name = errno.errorcode.get(error.errno or 0, "OSError")
    return f"OSError [{name}] {error.strerror or error}" + (
        f" writing to {directory}" if directory is not None else ""
    )
