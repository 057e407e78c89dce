"""The small JSON records reconcile keeps in the state's backend (DIR/.reconcile.* files, or S3):
written atomically (a reader never sees half a file, a crash or a full disk never leaves one), and
read strictly: a record that is there but damaged is an error naming it and how to repair it,
never read as "none" (that would silently forget what a killed apply began, or what was adopted)."""

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


class RecordNotWritten(ReconcileError):
    """A record file that could not be written (a full disk, no permission): it holds what it held."""

    def __init__(self, path: Path, cause: str) -> None:
        super().__init__(f"cannot write {path}: {cause}; the file is unchanged (nothing in it is lost)")
        self.path, self.cause = path, cause


class DamagedRecord(ReconcileError):
    """A record is there but cannot be read as one (cut short, not JSON, not the shape reconcile writes)."""


# what a user loses by removing each record, the one repair that is always possible
REPAIRS = {
    "journal": "it holds the steps a killed apply began: restore it from a backup, or, if you know what that apply "
    "left (a bucket or a NAME-reconcile-new container), remove it and clean up by hand",
    "adopted": "restore it from a backup, or remove it and adopt the containers again (`reconcile import`, then apply)",
    "restarts": "remove it: the on_unhealthy restart budget starts over",
    "applied": "remove it: `watch --apply` then waits for the next full `reconcile apply`",
}


def damaged(name: str, where: str, why: str) -> DamagedRecord:
    repair = REPAIRS.get(name, "restore it from a backup, or remove it")
    return DamagedRecord(f"the record {where} is damaged ({why}); reconcile will not guess what it held: {repair}")


def parsed(name: str, where: str, body: bytes) -> Any:
    """The record's document; a body that is not one reconcile wrote is DamagedRecord."""
    if not body.strip():
        raise damaged(name, where, "it is empty: a write was cut short")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise damaged(name, where, f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise damaged(name, where, f"a JSON {type(document).__name__}, not an object")
    return document


@dataclass(frozen=True)
class Stored:
    document: Any
    version: str  # an S3 ETag, a file's digest; "" for a record not written to this backend yet


def write_atomically(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` or what it held before, never a part of it, even after a crash or a
    full disk: a temporary file in the same directory, written and fsynced, renamed over it, and the
    directory fsynced (so the rename survives a power cut too). A failure names the file."""
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        temporary = None
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as error:
        raise RecordNotWritten(path, error.strerror or str(error)) from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def write_record(path: Path, document: Any) -> None:
    write_atomically(path, json.dumps(document, indent=1).encode())


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

    def damaged(self, why: str) -> DamagedRecord:
        """The record was read but does not hold what reconcile writes (``why``)."""
        return damaged(self.name, self.backend.where(self.name), why)

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
