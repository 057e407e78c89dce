"""The threads that calls to an engine run in while their caller waits out a deadline
(transport.within_deadline), kept for the next call instead of started for each: a thread per call
cost about 0.4 ms of CPU, as much as the rest of an inspect over a local socket (a plan of 100
containers makes 100 of them).

They are daemon threads, as the thread per call was: a call that never answers holds its thread,
never the process's exit. A new thread is started only when no kept one is idle, so calls that hang
cost a thread each and the others go on."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

Job = tuple[Callable[[], Any], list[Any], threading.Event]


class CallThreads:
    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def start(self, call: Callable[[], Any], outcome: list[Any], done: threading.Event) -> None:
        """Run ``call`` in a kept thread: its result (or the exception it raised) is appended to
        ``outcome``, then ``done`` is set."""
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                threading.Thread(target=self._work, name=self.name, daemon=True).start()
        self._jobs.put((call, outcome, done))

    def _work(self) -> None:
        while True:
            call, outcome, done = self._jobs.get()
            try:
                outcome.append(call())
            except BaseException as error:  # handed to the caller's thread
                outcome.append(error)
            finally:
                done.set()
                del call, outcome, done
            with self._lock:
                self._idle += 1
