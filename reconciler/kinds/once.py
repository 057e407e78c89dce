"""Work that the steps of one apply share: done once per key however many steps ask at once (an
image that 100 creates need is looked up, or pulled, by the first; the others wait for it). A
failure is not remembered: the next step that asks tries again, and says its own error."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable


class Once:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[Hashable, threading.Lock] = {}
        self._done: set[Hashable] = set()

    def run(self, key: Hashable, work: Callable[[], None]) -> None:
        """``work()`` unless it already succeeded for ``key`` in this run; callers of one key wait
        for each other, callers of different keys do not."""
        with self._lock:
            lock = self._keys.setdefault(key, threading.Lock())
        with lock:
            if key in self._done:
                return
            work()
            self._done.add(key)
