"""Named points where a test kills or signals the running command, so that what a kill or a
signal at an exact instant leaves behind can be tested deterministically:

- RECONCILE_TEST_KILL_AT=s3_bucket.created kills the process (SIGKILL, as `kill -9` does) right
  after CreateBucket returns;
- RECONCILE_TEST_SIGNAL_AT=container.waiting-healthy sends the process RECONCILE_TEST_SIGNAL
  (SIGTERM unless it says SIGINT) the first time it reaches that point, and waits (at most 5 s)
  until the handler has run, as if the signal came from outside at that instant.

Unset (always, outside tests), a crash point does nothing."""

from __future__ import annotations

import os
import signal
import threading

KILL_AT = "RECONCILE_TEST_KILL_AT"
SIGNAL_AT = "RECONCILE_TEST_SIGNAL_AT"
SIGNAL = "RECONCILE_TEST_SIGNAL"
DELIVERED = threading.Event()  # set by the command's signal handler (apply/interrupt.py)
_signalled: set[str] = set()
_lock = threading.Lock()


def crash_point(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(SIGNAL_AT) == name:
        with _lock:
            if name in _signalled:
                return
            _signalled.add(name)
        os.kill(os.getpid(), signal.Signals[os.environ.get(SIGNAL) or "SIGTERM"])
        DELIVERED.wait(5)
