"""Results that are safe to read back: plain JSON, and nothing else, from the result storage.

Resume reads every instance's saved record, and Prefect decodes a record with
the serializer *the record itself names*: pickle by default, and pickle
again for a record planted by whoever can write the storage, whatever the
task's own serializer. Unpickling runs code, so by default anyone who can
write the result storage can run code in the next run of the workflow.

``cyclic_flow(..., result_serializer="json")`` closes that door for a local
store (a directory, or Prefect's default local storage): each task saves its
results as plain JSON (no object hooks, so reading one imports nothing), and
the store is read through :class:`JsonOnlyFileSystem`, which refuses, with a
warning naming the file, any record that names another serializer. A refused
record is as good as missing: the instance runs again and its fresh result
replaces it. Results must then be JSON values (numbers, strings, lists,
dicts...); a task returning anything else gets a clear "could not be saved"
warning and runs again next time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect.filesystems import LocalFileSystem
from prefect.serializers import JSONSerializer

from ..errors import CycleError

#: The one value of ``result_serializer`` that prefect-cycles knows as safe.
SAFE = "json"


def strict_json() -> JSONSerializer:
    """Prefect's JSON serializer with its object hooks off: plain JSON values only."""
    return JSONSerializer(object_encoder=None, object_decoder=None)


def check_option(value: object) -> str | None:
    """Check ``cyclic_flow(result_serializer=...)``: None, or ``"json"``."""
    if value is None or value == SAFE:
        return value
    raise CycleError(
        f"result_serializer {value!r} is not one prefect-cycles can keep safe",
        fix="pass result_serializer='json' (results read back as plain JSON, never unpickled), "
        "or leave it out and give each task its own @task(result_serializer=...)",
    )


def _refusal(content: bytes) -> str | None:
    """Why a record may not be read under strict JSON, or None when it may."""
    try:
        serializer = json.loads(content)["metadata"]["serializer"]
    except (ValueError, KeyError, TypeError):
        return "it is not a JSON result record"
    kind = serializer.get("type") if isinstance(serializer, dict) else serializer
    if kind != "json":
        return f"it names the serializer {kind!r}"
    if serializer.get("object_decoder"):
        return f"it names the JSON object decoder {serializer['object_decoder']!r}"
    return None


class JsonOnlyFileSystem(LocalFileSystem):
    """A local result store that reads back only plain JSON result records."""

    _block_type_name = "prefect-cycles JSON-only local file system"

    def _checked(self, path: str, content: bytes) -> bytes:
        reason = _refusal(content)
        if reason is None:
            return content
        from .runonce import _log

        where = self._resolve_path(path)
        _log().warning(
            "Refused the result record %s: %s, and this workflow reads back only plain JSON "
            "(result_serializer='json'), so the instance runs again. Fix: find out who wrote "
            "it; only trusted users may write the result storage",
            where,
            reason,
        )
        raise ValueError(f"refused result record {where}: {reason}")

    def read_path(self, path: str, _sync: bool | None = None) -> bytes:  # type: ignore[override]
        content = LocalFileSystem.read_path(self, path, _sync=True)  # type: ignore[call-arg]
        return self._checked(path, content)  # type: ignore[arg-type]

    async def aread_path(self, path: str) -> bytes:
        return self._checked(path, await LocalFileSystem.aread_path(self, path))


def json_only(storage: Any) -> JsonOnlyFileSystem:
    """The result storage ``storage`` (None: Prefect's default), read as strict JSON."""
    from prefect.results import get_default_result_storage, resolve_result_storage

    if storage is None:
        storage = get_default_result_storage()
    elif isinstance(storage, str):
        storage = resolve_result_storage(storage, _sync=True)  # type: ignore[call-arg]
    if isinstance(storage, LocalFileSystem) and storage.basepath:
        storage = Path(storage.basepath)
    if not isinstance(storage, Path):
        raise CycleError(
            f"result_serializer='json' guards a local result storage, not {storage!r}",
            fix="pass result_storage= a directory (a Path), or leave out result_serializer",
        )
    return JsonOnlyFileSystem(basepath=str(storage.expanduser()))
