"""One apply at a time per state: a file lock beside the state (DIR/.reconcile.lock), with its
holder (host, pid, start time, lock id) written next to it so a waiting apply can name it."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from reconciler.errors import LockHeld

LOCK_NAME = ".reconcile.lock"


class StateLock:
    def __init__(self, state_dir: Path, timeout_seconds: float, say: Callable[[str], None]) -> None:
        self.path = state_dir / LOCK_NAME
        self.holder_path = state_dir / f"{LOCK_NAME}.info"
        self.timeout = timeout_seconds
        self.say = say
        self.lock = FileLock(str(self.path))
        self.id = uuid.uuid4().hex

    def holder(self) -> str:
        try:
            info = json.loads(self.holder_path.read_text())
        except (OSError, ValueError):
            return "another apply (holder unknown)"
        return f"{info.get('host')} pid {info.get('pid')} since {info.get('started')} (lock id {info.get('id')})"

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
        self.holder_path.write_text(
            json.dumps({"id": self.id, "host": socket.gethostname(), "pid": os.getpid(), "started": started})
        )
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.holder_path.unlink(missing_ok=True)
        self.lock.release()
