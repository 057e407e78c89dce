"""One apply at a time: a second one fails at once naming the holder, or waits for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from reconciler.apply.lock import StateLock
from reconciler.errors import LockHeld


def test_a_second_apply_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    with StateLock(tmp_path, 0, print) as first:
        started = time.monotonic()
        with pytest.raises(LockHeld) as held, StateLock(tmp_path, 0, print):
            pass
        assert time.monotonic() - started < 1
        assert f"lock id {first.id}" in str(held.value)
        assert " pid " in str(held.value)
    assert not (tmp_path / ".reconcile.lock.info").exists()


def test_a_second_apply_waits_for_the_lock_when_asked(tmp_path: Path) -> None:
    said: list[str] = []
    holding = threading.Event()

    def first_apply() -> None:
        with StateLock(tmp_path, 0, print):
            holding.set()
            time.sleep(1.0)

    holder = threading.Thread(target=first_apply)
    holder.start()
    holding.wait()
    with StateLock(tmp_path, 10, said.append):
        pass
    holder.join()
    assert said and said[0].startswith("waiting for the lock held by ")
