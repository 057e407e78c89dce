"""The small JSON records reconcile keeps in the state's backend (DIR/.reconcile.* files, or S3):
read forgivingly, written atomically (a reader never sees half a file, a crash never leaves one)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcileError


class RecordConflict(Exception):
    """The record changed since it was read (or appeared, for a new one): read it again."""


@dataclass(frozen=True)
class Stored:
    document: Any
    version: str  # an S3 ETag, a file's digest; "" for a record not written to this backend yet


def write_record(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(document, out, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Record:
    """One record of a state's backend (clients/backend.py), read once and kept for the run, and
    changed by compare-and-swap: a write that finds the record changed since (another writer) reads
    it again and re-applies the change, a few times, then gives up with a message."""

    ATTEMPTS = 5

    def __init__(self, backend: Any, name: str) -> None:
        self.backend = backend
        self.name = name
        self._lock = threading.Lock()
        self._stored: Any = None
        self._read = False

    def _current(self) -> Any:
        if not self._read:
            self._stored, self._read = self.backend.read(self.name), True
        return self._stored

    def document(self) -> Any | None:
        with self._lock:
            stored = self._current()
            return stored.document if stored is not None else None

    def update(self, change: Callable[[Any | None], Any]) -> None:
        """Write ``change(document)``; ``change`` may run more than once (after a conflict)."""
        with self._lock:
            for _ in range(self.ATTEMPTS):
                stored = self._current()
                document = change(stored.document if stored is not None else None)
                try:
                    version = self.backend.write(self.name, document, stored.version if stored is not None else None)
                except RecordConflict:
                    self._read = False  # someone else wrote it: read it again, change that
                    continue
                self._stored = Stored(document, version)
                return
        raise ReconcileError(
            f"the record {self.name} in {self.backend.url} kept changing while reconcile wrote it "
            "(is another apply running without the lock?)"
        )
