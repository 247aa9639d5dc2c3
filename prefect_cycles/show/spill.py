"""Sorting more lines than memory should hold: sorted runs spilled to temporary files.

The reference text of a long window is sorted as Cylc sorts it, yet its size
grows with the window; :class:`SpillSort` keeps at most ``chunk`` lines in
memory, writes each sorted chunk to a temporary file and merges them back.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any

#: Lines held in memory before a sorted run is written out.
CHUNK = 50_000

#: Runs merged at once (below the usual limit of open files).
FAN_IN = 64

#: Lines per pickled batch in a run: a merge holds one batch of each run, so memory is
#: at most CHUNK + FAN_IN * BATCH lines however many lines there are.
BATCH = 1_000


class SpillSort:
    """Collect ``(key, line)`` pairs; iterate the lines in key order, duplicates dropped."""

    def __init__(self, chunk: int = CHUNK) -> None:
        self.chunk = chunk
        self._items: list[tuple[Any, str]] = []
        self._runs: list[IO[bytes]] = []

    def add(self, key: Any, line: str) -> None:
        self._items.append((key, line))
        if len(self._items) >= self.chunk:
            self._runs.append(_spill(sorted(self._items)))
            self._items = []
            if len(self._runs) >= FAN_IN:
                self._runs = [_spill_iter(heapq.merge(*(_read(r) for r in self._runs)))]

    def __iter__(self) -> Iterator[str]:
        self._items.sort()
        last = None
        for _, line in heapq.merge(self._items, *(_read(r) for r in self._runs)):
            if line != last:
                yield line
                last = line
        self._items, self._runs = [], []


def _spill(items: list[tuple[Any, str]]) -> IO[bytes]:
    return _spill_iter(iter(items))


def _spill_iter(items: Iterator[tuple[Any, str]]) -> IO[bytes]:
    f = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _read once merged
    batch: list[tuple[Any, str]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            pickle.dump(batch, f)
            batch = []
    if batch:
        pickle.dump(batch, f)
    f.seek(0)
    return f


def _read(f: IO[bytes]) -> Iterator[tuple[Any, str]]:
    try:
        while True:
            yield from pickle.load(f)
    except EOFError:
        f.close()
