"""Named points where a test kills the running apply (SIGKILL, as `kill -9` does), so that what a
kill at an exact instant leaves behind can be tested deterministically:
RECONCILE_TEST_KILL_AT=s3_bucket.created kills the process right after CreateBucket returns.
Unset (always, outside tests), a crash point does nothing."""

from __future__ import annotations

import os
import signal

KILL_AT = "RECONCILE_TEST_KILL_AT"


def crash_point(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
