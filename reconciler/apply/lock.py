"""One apply at a time per state: a file lock beside the state (DIR/.reconcile.lock, or the file
settings.lock names), with its holder (host, pid, start time, lock id) written next to it so a
waiting apply can name it; or, with settings.lock: s3://BUCKET/KEY, the S3 lock (s3_lock.py).
`state_lock` and `force_unlock` choose between them from the setting; with settings.backend
(s3://BUCKET/PREFIX) the lock is the S3 lock PREFIX/lock (`backend_lock`, `backend_force_unlock`)."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from reconciler.apply.s3_lock import NotUnlocked, S3Lock, describe, force_unlock_s3, lock_region
from reconciler.clients.backend import lock_url
from reconciler.clients.crashpoint import crash_point
from reconciler.clients.records import write_atomically
from reconciler.errors import LockHeld
from reconciler.model.spec import State

LOCK_NAME = ".reconcile.lock"


class StateLock:
    def __init__(self, state_dir: Path, timeout_seconds: float, say: Callable[[str], None], path: Path | None = None) -> None:
        self.path = path or state_dir / LOCK_NAME
        self.holder_path = self.path.with_name(f"{self.path.name}.info")
        self.timeout = timeout_seconds
        self.say = say
        self.lock = FileLock(str(self.path))
        self.id = uuid.uuid4().hex

    def recorded(self) -> dict[str, Any] | None:
        try:
            info = json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    def holder(self) -> str:
        info = self.recorded()
        return describe(info) if info else "another apply (holder unknown)"

    def __enter__(self) -> StateLock:
        deadline = time.monotonic() + self.timeout
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            if self.timeout <= 0:
                raise LockHeld(f"the state is locked by {self.holder()}; try again later, or wait with --lock-timeout") from None
            self.say(f"waiting for the lock held by {self.holder()}")
            try:
                self.lock.acquire(timeout=max(0.0, deadline - time.monotonic()), poll_interval=0.2)
            except Timeout:
                raise LockHeld(f"the state is still locked by {self.holder()} after {self.timeout:.0f}s") from None
        started = datetime.now(UTC).isoformat(timespec="seconds")
        holder = {"id": self.id, "host": socket.gethostname(), "pid": os.getpid(), "started": started}
        try:
            write_atomically(self.holder_path, json.dumps(holder).encode())
        except BaseException:
            self.lock.release()  # nothing was done: a lock whose holder cannot be named is not kept
            raise
        crash_point("lock.taken")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.holder_path.unlink(missing_ok=True)
        self.lock.release()


def _file_path(setting: str | None, state_dir: Path) -> Path:
    return state_dir / (setting or LOCK_NAME)


def state_lock(
    setting: str | None, state_dir: Path, aws_region: str | None, timeout_seconds: float, say: Callable[[str], None]
) -> AbstractContextManager[Any]:
    """The lock settings.lock names: s3://BUCKET/KEY, a file (relative to the state directory), or
    by default DIR/.reconcile.lock."""
    if setting and setting.startswith("s3://"):
        return S3Lock(setting, lock_region(aws_region), timeout_seconds, say)
    return StateLock(state_dir, timeout_seconds, say, _file_path(setting, state_dir))


def force_unlock(setting: str | None, state_dir: Path, aws_region: str | None, lock_id: str) -> str:
    """Remove a dead holder's lock if it has `lock_id`; raises NotUnlocked otherwise."""
    if setting and setting.startswith("s3://"):
        return force_unlock_s3(setting, lock_region(aws_region), lock_id)
    lock = StateLock(state_dir, 0, lambda _: None, _file_path(setting, state_dir))
    info = lock.recorded()
    if info is None:
        raise NotUnlocked(f"the state is not locked (no holder recorded in {lock.holder_path})")
    if info.get("id") != lock_id:
        raise NotUnlocked(f"the lock is held by {describe(info)}, not by lock id {lock_id}; nothing removed")
    try:
        lock.lock.acquire(timeout=0)
    except Timeout:
        raise NotUnlocked(
            f"the lock is held by {describe(info)}, a process that still runs; a file lock ends with its process: stop it"
        ) from None
    try:
        lock.holder_path.unlink(missing_ok=True)
    finally:
        lock.lock.release()
    return f"removed the lock of {describe(info)}"


def _backend_lock_url(state: State) -> str | None:
    backend = getattr(state.settings, "backend", None)
    return lock_url(backend) if backend else None


def backend_lock(
    state: State, state_dir: Path, timeout_seconds: float, say: Callable[[str], None]
) -> AbstractContextManager[Any]:
    """The state's lock: in its backend when settings.backend names one, else as settings.lock says."""
    return state_lock(_backend_lock_url(state) or state.settings.lock, state_dir, state.aws.region, timeout_seconds, say)


def backend_force_unlock(state: State, state_dir: Path, lock_id: str) -> str:
    return force_unlock(_backend_lock_url(state) or state.settings.lock, state_dir, state.aws.region, lock_id)
