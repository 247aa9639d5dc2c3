"""Resume: a rerun of a cyclic flow skips the instances that already completed.

Built on Prefect's own caching, not beside it. Each instance's task run gets
a cache policy made of an instance key (the workflow's identity, see
``identity.py``; task name; cycle point) and the digest of the task's source
that Prefect's ``TASK_SOURCE`` gives (``SourceDigest``), and persists its result;
a later run of the same workflow finds the committed record and reports the
instance ``Cached`` with its old result, which feeds ``previous`` and the
children like a fresh one. The key leaves out the inputs and the window on
purpose: "this instance completed" is what counts, as in a Cylc restart;
changing the task's code starts it afresh. The transaction is SERIALIZABLE
under a lock manager, so two runs at once run an instance once (``runonce.py``).

One thing a cached state cannot carry is its original name, ``StopCycling``.
So ``stop_cycling`` also sets a flag in the task's transaction, and a commit
hook writes a small marker record beside the result *before* the result itself
is written: a result that exists therefore always has its marker, even after a
crash, and a cached instance that once stopped the cycling stops it again.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prefect import Task
from prefect.cache_policies import TASK_SOURCE, CachePolicy
from prefect.filesystems import WritableFileSystem
from prefect.locking.protocol import LockManager
from prefect.results import ResultRecord, ResultStore, get_result_store
from prefect.settings import get_current_settings
from prefect.states import State
from prefect.transactions import IsolationLevel, Transaction, get_transaction
from prefect.utilities.annotations import NotSet
from prefect.utilities.hashing import hash_objects

from ..errors import CycleError
from .runonce import RunOnceLocks, lock_directory
from .safety import JsonOnlyFileSystem, json_only, strict_json

#: Name of the transaction value ``stop_cycling`` sets.
STOP_FLAG = "prefect-cycles-stopped"

#: Suffix of the marker record saved beside a result that stopped (or once stopped) cycling.
STOP_SUFFIX = ".stop"

#: The state name of a task run whose result came from the cache.
CACHED = "Cached"

Storage = Path | str | WritableFileSystem


@dataclass
class InstanceKey(CachePolicy):
    """One cache key per instance: flow name, task name and cycle point, nothing else."""

    flow: str = ""
    task: str = ""
    point: str = ""

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return f"{self.flow}/{self.task}[{self.point}]"


@dataclass
class SourceDigest(CachePolicy):
    """Prefect's ``TASK_SOURCE`` key, computed once, where the workflow is defined.

    ``TASK_SOURCE`` reads the task's source in the process that runs it. A
    served flow runs in a child process that gets the flow pickled, and there
    the task's source cannot be read (``source_code`` is None), so Prefect
    hashed something else: a served run and a worker or plain run of the same
    flow got different keys and never resumed from each other. The digest is
    the same value ``TASK_SOURCE`` gives where the source can be read, so
    results saved before keep their keys.
    """

    digest: str = ""

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return self.digest


def source_digest(task: Task) -> str:
    """What ``TASK_SOURCE`` computes for ``task`` in a process that can read its source."""
    lines: object = getattr(task, "source_code", None)
    if lines is None:
        try:
            lines = inspect.getsource(task.fn)
        except (OSError, TypeError):  # no source to read: the code itself, as Prefect does
            from prefect.cache_policies import _normalize_code_location

            lines = _normalize_code_location(task.fn.__code__)
    return hash_objects(lines, raise_on_failure=True) or ""  # raises rather than give None


def result_storage(value: object) -> Storage | None:
    """Check and normalise ``cyclic_flow(result_storage=...)``.

    A ``Path`` or a string that starts with ``/``, ``~`` or ``.``, or has no
    ``/``, is a directory; any other string is a Prefect block slug
    (``local-file-system/results``); a storage block must already be saved.
    """
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        return Path(value).expanduser().absolute()
    if isinstance(value, str):
        if not value.strip():
            raise CycleError(
                "result_storage is an empty string",
                fix="pass a directory (a Path), a block slug 'type/name', or leave it out",
            )
        if value.startswith(("/", "~", ".")) or "/" not in value:
            return Path(value).expanduser().absolute()
        if value.count("/") != 1:
            raise CycleError(
                f"result_storage {value!r} is neither a block slug nor an absolute directory",
                text=value,
                fix="pass a Path for a directory, or a block slug such as "
                "'local-file-system/results'",
            )
        return value
    if isinstance(value, WritableFileSystem):
        if getattr(value, "_block_document_id", None) is None:
            raise CycleError(
                f"the result storage block {type(value).__name__} is not saved",
                fix="call .save('a-name') on the block first, or pass a directory Path",
            )
        return value
    raise CycleError(
        f"result_storage {value!r} is not a directory or a storage block",
        fix="pass a Path, a block slug 'type/name', or a saved WritableFileSystem block",
    )


def owns_caching(task: Task) -> bool:
    """True when the user set the task's caching; resume then respects it."""
    return (
        task.cache_key_fn is not None
        or task.result_storage_key is not None
        or task.persist_result is False
        or getattr(task, "_user_cache_policy", NotSet) is not NotSet
    )


def mark_stop() -> None:
    """Note in the running task's transaction that it stops the cycling."""
    txn = get_transaction()
    if txn is not None:
        txn.set(STOP_FLAG, True)


def record_stop(txn: Transaction) -> None:
    """Commit hook: keep the stop marker beside the result in step with this run.

    Runs before Prefect writes the result record. A run that did not stop
    rewrites a marker only if an older run left one (a deliberate rerun).
    """
    store = txn.store
    if not txn.key or not txn.write_on_commit or not isinstance(store, ResultStore):
        return
    marker = txn.key + STOP_SUFFIX
    if txn.get(STOP_FLAG, False):
        store.write(True, key=marker)
    elif store.exists(marker):
        store.write(False, key=marker)


# Prefect logs two INFO lines per hook per task run unless told not to; this
# hook is plumbing, not the user's. (``log_on_run`` is Prefect's own switch,
# used for its rollback hook; if it goes away, the cost is only log noise.)
record_stop.log_on_run = False  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Resume:
    """How one cyclic flow resumes: its identity (part of every key), storage and locks.

    ``flow`` is the workflow's identity key (:mod:`prefect_cycles.run.identity`).
    ``lock_manager`` makes each instance run once across the runs that share the
    results; without one, :meth:`locked` puts a :class:`RunOnceLocks` beside them.
    """

    flow: str
    storage: Storage | None = None
    lock_manager: LockManager | None = None
    #: ``"json"``: results saved and read back as plain JSON only (:mod:`.safety`).
    serializer: str | None = None
    #: Task name -> :func:`source_digest`, taken where the workflow was built.
    sources: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @staticmethod
    def active(resume: Resume | None) -> Resume | None:
        """``resume`` unless Prefect's own setting turns caching off for every task."""
        return None if resume is None or get_current_settings().tasks.disable_caching else resume

    def for_run(self) -> Resume:
        """This resume as one flow run uses it: its storage and lock manager found.

        Done at run time, since a block slug or Prefect's default storage needs
        the run's settings and API.
        """
        resume = self
        if resume.serializer is not None and not isinstance(resume.storage, JsonOnlyFileSystem):
            resume = replace(resume, storage=json_only(resume.storage))
        if resume.lock_manager is None:
            directory, _ = lock_directory(resume.storage)
            resume = replace(resume, lock_manager=RunOnceLocks(directory))
        return resume

    def prepare(self, task: Task) -> Task:
        """The task as the flow submits it: persisting its results, with the stop hook."""
        serializer = strict_json() if self.serializer and task.result_serializer is None else NotSet
        storage = self._storage_for(task)
        # Prefect wants a block given to a task saved on the server; the JSON-only
        # store is built afresh by each run, so it is set after, as Prefect's own value.
        unsaved = isinstance(storage, JsonOnlyFileSystem)
        given = NotSet if unsaved else storage
        if owns_caching(task):
            variant = task.with_options(result_storage=given, result_serializer=serializer)
        else:
            variant = task.with_options(
                cache_policy=TASK_SOURCE,  # a placeholder: each instance gets its own
                persist_result=True,
                result_storage=given,
                result_serializer=serializer,
            )
        if unsaved:
            variant.result_storage = storage
        from .emit import record_outputs  # the outputs it emitted, beside its result

        variant.on_commit_hooks = [*task.on_commit_hooks, record_stop, record_outputs]
        return variant

    def _storage_for(self, task: Task) -> Any:
        """The flow's storage, unless the task names its own (the more specific wins)."""
        return self.storage if self.storage is not None and task.result_storage is None else NotSet

    def policy(self, task: str, label: str) -> CachePolicy:
        """The cache policy of one instance: its key, plus the task's source code.

        With a lock manager, the instance's transaction is SERIALIZABLE: its run
        takes the key's lock before looking for a result, so of two runs at once
        one runs the body and the other waits, then finds the result (Cached).
        """
        digest = self.sources.get(task)
        source = TASK_SOURCE if digest is None else SourceDigest(digest=digest)
        policy = InstanceKey(flow=self.flow, task=task, point=label) + source
        if self.lock_manager is None:
            return policy
        return policy.configure(
            isolation_level=IsolationLevel.SERIALIZABLE, lock_manager=self.lock_manager
        )

    def store_for(self, variant: Task) -> ResultStore:
        """The result store the variant's runs write to, for reading markers back."""
        return task_result_store(variant)


def task_result_store(task: Task) -> ResultStore:
    """The result store ``task``'s runs write to in this flow run (read synchronously).

    Prefect's ``update_for_task`` hands back a coroutine when called from async code; the
    cyclic flow's loop is synchronous, so that would be a bug here, not a case to await.
    """
    store = get_result_store().update_for_task(task)
    if not isinstance(store, ResultStore):
        store.close()
        raise RuntimeError(f"the result store of {task.name!r} was asked for from async code")
    return store


def stopped_when_cached(state: State, store: ResultStore) -> bool:
    """True for a ``Cached`` instance whose original run stopped the cycling."""
    if state.name != CACHED:
        return False
    marker = _storage_key(state)
    if marker is None:
        return False
    marker += STOP_SUFFIX
    return store.exists(marker) and bool(store.read(marker).result)


def result_saved(state: State) -> bool:
    """False when a fresh result could not be persisted (so a rerun will run it again)."""
    data = state.data
    return not isinstance(data, ResultRecord) or data.is_persisted


def _storage_key(state: State) -> str | None:
    data = state.data
    meta = getattr(data, "metadata", data)
    return getattr(meta, "storage_key", None)
